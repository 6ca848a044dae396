"""``tf.data`` input pipelines: scale, shuffle, augment, batch, prefetch.

Models in :mod:`cvtutor.models` take float32 images scaled to [0, 1]; these
helpers do that scaling, so raw uint8 arrays from :func:`load_cifar10` go in.
TensorFlow is imported on first use, not when :mod:`cvtutor.data` is imported.
"""

from __future__ import annotations

import numpy as np


def to_float(images: np.ndarray) -> np.ndarray:
    """uint8 images (any shape) to float32 in [0, 1]."""
    images = np.asarray(images)
    if images.dtype != np.uint8:
        raise ValueError(f"to_float expects uint8 pixels 0..255, got dtype {images.dtype}")
    return images.astype(np.float32) / 255.0


def _check_arrays(x, y):
    x = np.asarray(x)
    if x.ndim != 4 or x.dtype != np.uint8:
        raise ValueError(f"images must be a uint8 array of shape (N, H, W, C), got {x.dtype} of shape {x.shape}")
    if y is not None:
        y = np.asarray(y)
        if y.shape != (len(x),) or not np.issubdtype(y.dtype, np.integer):
            raise ValueError(f"labels must be {len(x)} integers of shape ({len(x)},), got {y.dtype} of shape {y.shape}")
    return x, y


def augment_image(image, pad: int = 4, seed: int | None = None):
    """Random horizontal flip and a random shift of up to ``pad`` pixels (zero fill).

    Args:
        image: float32 tensor (H, W, C).
    Returns:
        a float32 tensor of the same shape.
    """
    import tensorflow as tf

    height, width = image.shape[0], image.shape[1]
    image = tf.image.random_flip_left_right(image, seed=seed)
    image = tf.image.pad_to_bounding_box(image, pad, pad, height + 2 * pad, width + 2 * pad)
    return tf.image.random_crop(image, (height, width, image.shape[-1]), seed=seed)


def make_dataset(
    x,
    y=None,
    batch_size: int = 128,
    *,
    shuffle: bool = False,
    augment: bool = False,
    seed: int | None = None,
    drop_remainder: bool = False,
):
    """A batched ``tf.data.Dataset`` of float32 images in [0, 1] (and int32 labels).

    Args:
        x: uint8 images (N, H, W, C), e.g. from :func:`load_cifar10`.
        y: integer labels (N,), or None for images only (prediction).
        batch_size: examples per batch.
        shuffle: reshuffle every epoch (use for training).
        augment: random flips and shifts (use for training only).
        seed: makes shuffling and augmentation repeatable.
        drop_remainder: drop a last, smaller batch.

    Returns:
        a dataset of ``(images, labels)`` batches, or of image batches when ``y``
        is None, prefetched so the next batch is ready while one trains.
    """
    import tensorflow as tf

    x, y = _check_arrays(x, y)
    if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    ds = tf.data.Dataset.from_tensor_slices(x if y is None else (x, y.astype(np.int32)))
    if shuffle:
        ds = ds.shuffle(len(x), seed=seed, reshuffle_each_iteration=True)

    def prepare(image, *label):
        image = tf.cast(image, tf.float32) / 255.0
        if augment:
            image = augment_image(image, seed=seed)
        return (image, *label) if label else image

    ds = ds.map(prepare, num_parallel_calls=tf.data.AUTOTUNE, deterministic=seed is not None)
    return ds.batch(batch_size, drop_remainder=drop_remainder).prefetch(tf.data.AUTOTUNE)
