"""Losses the book's recipes use that Keras does not ship in the form needed.

Keras' ``CategoricalCrossentropy`` smooths labels but wants one-hot targets;
``SparseCategoricalCrossentropy`` takes the integer labels the data pipeline
yields but cannot smooth. :class:`SmoothedSparseCrossentropy` does both.
"""

from __future__ import annotations

import keras
from keras import ops

from cvtutor import checks


@keras.saving.register_keras_serializable(package="cvtutor")
class SmoothedSparseCrossentropy(keras.losses.Loss):
    """Cross-entropy of logits against integer labels smoothed towards uniform.

    With ``K`` classes and smoothing ``s`` the target of an example with label
    ``y`` is ``(1 - s) * one_hot(y) + s / K``, so the loss is
    ``-(1 - s) * log p[y] - s * mean_k(log p[k])``: exactly
    ``keras.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=s)``
    on one-hot labels (the tests check this).

    Args:
        label_smoothing: ``s`` in [0, 1); 0 is the plain sparse cross-entropy.

    Raises:
        TypeError: ``label_smoothing`` is not a number.
        ValueError: ``label_smoothing`` is outside [0, 1).
    """

    def __init__(self, label_smoothing: float = 0.1, name: str = "smoothed_sparse_crossentropy", **kwargs):
        super().__init__(name=name, **kwargs)
        self.label_smoothing = checks.rate("label_smoothing", label_smoothing)

    def call(self, y_true, y_pred):
        """``y_true``: (N,) or (N, 1) integer labels; ``y_pred``: (N, K) logits; returns (N,) losses."""
        log_probs = ops.log_softmax(ops.cast(y_pred, "float32"), axis=-1)
        labels = ops.cast(ops.reshape(y_true, (-1,)), "int32")
        picked = ops.take_along_axis(log_probs, ops.expand_dims(labels, -1), axis=-1)[:, 0]
        return -(1.0 - self.label_smoothing) * picked - self.label_smoothing * ops.mean(log_probs, axis=-1)

    def get_config(self):
        return {**super().get_config(), "label_smoothing": self.label_smoothing}
