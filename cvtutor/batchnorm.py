"""Batch-normalisation statistics that match the weights, for short training runs.

A ``BatchNormalization`` layer normalises with the statistics of the current
batch while training, and with running averages (``moving_mean``,
``moving_variance``) at inference. Keras updates those averages after every
step as ``moving = momentum * moving + (1 - momentum) * batch`` with
``momentum=0.99`` by default, so they carry about the last ``1 / (1 - 0.99)
= 100`` steps and start from 0 and 1. After a run of a few hundred steps, or
one whose weights still move fast, they lag the weights: test accuracy falls
far below training accuracy although nothing overfits. The symptom to look for
is training accuracy far above test accuracy after a few hundred steps.

:func:`recompute_batchnorm_statistics` fixes the averages after training: it
runs the training images through the model in training mode and sets every
layer's averages to the plain mean of its batch statistics over those
batches, the "precise BN" of Wu and Johnson, *Rethinking "Batch" in
BatchNorm* (2021), Section 3. Source of the update rule: the Keras
``BatchNormalization`` documentation.
"""

from __future__ import annotations

import numpy as np

from cvtutor import checks


def batchnorm_layers(model) -> list:
    """Every ``keras.layers.BatchNormalization`` inside ``model``, nested models included, in call order."""
    import keras

    return [layer for layer in model._flatten_layers(include_self=False, recursive=True)
            if isinstance(layer, keras.layers.BatchNormalization)]


def recompute_batchnorm_statistics(model, images, batch_size: int = 256, max_batches: int | None = None) -> int:
    """Set every BatchNormalization layer's moving mean and variance to the mean of its batch statistics.

    Each batch of ``images`` goes through ``model(batch, training=True)``, with
    each layer's momentum set to ``k / (k + 1)`` for the ``k``-th batch, so that
    after the last batch the moving averages are the equal-weight mean over all
    batches (the first batch replaces the old values entirely). Momentum is then
    restored. Trainable weights do not change; dropout is active during these
    passes, as in training. Frozen layers (``trainable=False``) are skipped:
    Keras runs them in inference mode, so their statistics stay as they were.

    Args:
        model: a built ``keras.Model``.
        images: training images, uint8 (N, H, W, C) in 0..255 (scaled to [0, 1] as
            :func:`cvtutor.data.make_dataset` does) or float32 already scaled as
            the model expects. Use the training set, never the test set.
        batch_size: images per forward pass; use about the training batch size, since
            batch statistics depend on it.
        max_batches: stop after this many batches (None: all of ``images``).

    Returns:
        the number of batches used (0 when the model has no BatchNormalization layer).

    Raises:
        TypeError: ``batch_size`` or ``max_batches`` is not an integer (``max_batches`` may be None).
        ValueError: ``images`` is not an array of at least one input (N >= 1, 2 or more axes), or
            ``batch_size`` or ``max_batches`` is below 1.
    """
    images = np.asarray(images)
    if images.ndim < 2 or len(images) == 0:
        raise ValueError(f"images must be an array of shape (N, H, W, C) (or (N, features)) with N >= 1, "
                         f"got shape {images.shape}")
    batch_size = checks.positive_int("batch_size", batch_size)
    if max_batches is not None:
        max_batches = checks.positive_int("max_batches", max_batches)
    layers = [layer for layer in batchnorm_layers(model) if layer.trainable]
    if not layers:
        return 0
    starts = range(0, len(images), batch_size)
    if max_batches is not None:
        starts = starts[:max_batches]
    momenta = [layer.momentum for layer in layers]
    try:
        for k, start in enumerate(starts):
            for layer in layers:
                layer.momentum = k / (k + 1)
            batch = images[start:start + batch_size]
            if batch.dtype == np.uint8:
                batch = batch.astype(np.float32) / 255.0
            model(batch, training=True)
    finally:
        for layer, momentum in zip(layers, momenta):
            layer.momentum = momentum
    return len(starts)
