"""Patch whitening: a frozen first layer whose outputs have uncorrelated, unit-variance channels.

Neighbouring pixels and the three colour channels of natural images are strongly
correlated, so a first convolution trained from scratch spends its early steps
on an ill-conditioned problem. The fastest CIFAR-10 trainers (Page's
"How to train your ResNet", 2018; Jordan's airbench, 2024, arXiv:2404.00498)
fix the first layer instead: a ``k x k`` convolution whose filters are the
principal components of the training images' ``k x k`` patches, each scaled
by ``1 / sqrt(eigenvalue + epsilon)``. After it, the patch features have
(nearly) the identity as covariance; see :meth:`PatchWhitening.adapt`.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from cvtutor import checks
from cvtutor.data import to_float

__all__ = ["PatchWhitening", "patch_covariance", "adapt_whitening"]


def _patches(images: np.ndarray, patch_size: int) -> np.ndarray:
    """Every ``patch_size x patch_size`` patch of ``images`` (N, H, W, C), flattened in the order of
    a Conv2D kernel (row, column, channel): ``(N * (H - k + 1) * (W - k + 1), k * k * C)``."""
    windows = np.lib.stride_tricks.sliding_window_view(images, (patch_size, patch_size), axis=(1, 2))
    # (N, H', W', C, k, k) -> (N, H', W', k, k, C)
    windows = windows.transpose(0, 1, 2, 4, 5, 3)
    return windows.reshape(-1, patch_size * patch_size * images.shape[-1])


def patch_covariance(images, patch_size: int = 2, chunk: int = 512):
    """Mean and covariance of the ``patch_size x patch_size`` patches of ``images``.

    Args:
        images: ``(N, H, W, C)`` array, float (the scale the model sees, e.g. [0, 1]).
        patch_size: side of the square patches, in pixels.
        chunk: images per step (bounds the memory the patches take).

    Returns:
        ``(mean, covariance)``: shapes ``(k * k * C,)`` and ``(k * k * C, k * k * C)``, float64,
        features in Conv2D kernel order (row, column, channel).

    Raises:
        TypeError: ``patch_size`` or ``chunk`` is not an integer.
        ValueError: ``images`` is not 4-D or is smaller than one patch, or ``patch_size`` or
            ``chunk`` is below 1.
    """
    patch_size = checks.positive_int("patch_size", patch_size)
    chunk = checks.positive_int("chunk", chunk)
    images = np.asarray(images)
    if images.ndim != 4:
        raise ValueError(f"images must be (N, H, W, C), got shape {images.shape}")
    if images.shape[0] == 0 or min(images.shape[1:3]) < patch_size:
        raise ValueError(f"images of shape {images.shape} hold no {patch_size}x{patch_size} patch")
    dim = patch_size * patch_size * images.shape[-1]
    total, outer, count = np.zeros(dim), np.zeros((dim, dim)), 0
    for start in range(0, len(images), chunk):
        patches = _patches(images[start:start + chunk].astype(np.float64), patch_size)
        total += patches.sum(axis=0)
        outer += patches.T @ patches
        count += len(patches)
    mean = total / count
    return mean, outer / count - np.outer(mean, mean)


@keras.saving.register_keras_serializable(package="cvtutor")
class PatchWhitening(keras.layers.Layer):
    """A frozen ``k x k`` convolution that whitens image patches (PCA whitening).

    With ``mean`` and covariance ``Sigma = V diag(lambda) V^T`` of the training
    images' ``k x k`` patches (flattened to ``d = k * k * C`` values), output
    channel ``j`` at each position is ``v_j . (patch - mean) / sqrt(lambda_j + epsilon)``,
    so over the training patches the ``d`` output channels have zero mean and
    covariance ``diag(lambda / (lambda + epsilon))``, close to the identity.
    Its weights are set by :meth:`adapt` (as ``keras.layers.Normalization``'s are)
    and never trained. Before ``adapt`` it passes each patch through unchanged
    (identity filters, zero offset).

    Args:
        patch_size: side ``k`` of the patches, in pixels (2 in airbench).
        epsilon: added to each eigenvalue; keeps the near-zero-variance
            directions (pixel noise) from being amplified.
        **kwargs: base layer arguments.

    Call arguments:
        images: ``(batch, H, W, C)`` floats on the scale ``adapt`` saw.

    Returns:
        ``(batch, H, W, k * k * C)``: ``"same"`` padding (zeros on the bottom and right edge).

    Raises:
        TypeError: a ``patch_size`` that is not an integer, or an ``epsilon`` that is not a number.
        ValueError: a ``patch_size`` below 1, an ``epsilon`` that is not positive, or inputs that
            are not ``(batch, H, W, C)``.
    """

    def __init__(self, patch_size=2, epsilon=5e-4, **kwargs):
        super().__init__(**kwargs)
        self.patch_size = checks.positive_int("patch_size", patch_size)
        self.epsilon = checks.scalar("epsilon", epsilon, minimum=0, include_minimum=False)
        self.trainable = False

    def build(self, input_shape):
        channels = input_shape[-1]
        if len(input_shape) != 4 or channels is None:
            raise ValueError(f"PatchWhitening expects images (batch, H, W, C) with known C, got {input_shape}")
        k, dim = self.patch_size, self.patch_size**2 * channels
        identity = np.eye(dim, dtype="float32").reshape(k, k, channels, dim)
        self.kernel = self.add_weight(shape=(k, k, channels, dim), initializer=keras.initializers.Constant(identity),
                                      trainable=False, name="kernel")
        self.offset = self.add_weight(shape=(dim,), initializer="zeros", trainable=False, name="offset")

    def adapt(self, images):
        """Set the filters from ``images`` (N, H, W, C), on the scale the layer will see.

        Raises:
            ValueError: images of another channel count than the layer was built for, or
                smaller than one patch.
        """
        images = np.asarray(images)
        if not self.built:
            self.build((None, *images.shape[1:]))
        channels = self.kernel.shape[2]
        if images.ndim != 4 or images.shape[-1] != channels:
            raise ValueError(f"PatchWhitening was built for {channels}-channel images (N, H, W, {channels}), "
                             f"got an array of shape {images.shape}")
        mean, covariance = patch_covariance(images, self.patch_size)
        eigenvalues, eigenvectors = np.linalg.eigh(covariance)
        order = np.argsort(eigenvalues)[::-1]  # the largest principal component first
        filters = eigenvectors[:, order] / np.sqrt(np.clip(eigenvalues[order], 0, None) + self.epsilon)
        k = self.patch_size
        self.kernel.assign(filters.reshape(k, k, channels, -1).astype("float32"))
        self.offset.assign((-mean @ filters).astype("float32"))

    def call(self, images):
        return ops.conv(images, ops.cast(self.kernel, images.dtype), padding="same") + ops.cast(self.offset,
                                                                                                 images.dtype)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:3], self.patch_size**2 * input_shape[-1])

    def get_config(self):
        config = super().get_config()
        config.update({"patch_size": self.patch_size, "epsilon": self.epsilon})
        return config


def _whitening_layers(model) -> list:
    """The :class:`PatchWhitening` layers of ``model``, nested models included."""
    layers, stack = [], list(model.layers)
    while stack:
        layer = stack.pop()
        if isinstance(layer, PatchWhitening):
            layers.append(layer)
        stack.extend(getattr(layer, "layers", []))
    return layers


def adapt_whitening(model, images, max_images: int = 5000) -> int:
    """Adapt every :class:`PatchWhitening` layer of ``model`` to ``images`` (uint8 or [0, 1] floats).

    The model's inputs are uint8-scaled images divided by 255 (:func:`cvtutor.data.make_dataset`),
    so uint8 ``images`` are scaled the same way. At most ``max_images`` of them are used (the
    first ones; :func:`cvtutor.data.load_cifar10` returns them in a mixed class order).

    Give it the images the model trains on, without the validation split, so that the validation
    images stay unseen: :meth:`cvtutor.recipes.RunStart.build_model` does.

    Returns:
        the number of layers adapted (0 for a model without patch whitening).

    Raises:
        TypeError: ``max_images`` is not an integer.
        ValueError: ``max_images`` is below 1, or as :meth:`PatchWhitening.adapt`.
    """
    max_images = checks.positive_int("max_images", max_images)
    layers = _whitening_layers(model)
    if not layers:
        return 0
    sample = np.asarray(images[:max_images])
    if sample.dtype == np.uint8:
        sample = to_float(sample)  # the scaling make_dataset applies
    for layer in layers:
        layer.adapt(sample)
    return len(layers)
