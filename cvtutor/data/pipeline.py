"""``tf.data`` input pipelines: scale, shuffle, augment, batch, prefetch.

Models in :mod:`cvtutor.models` take float32 images scaled to [0, 1]; these
helpers do that scaling, so raw uint8 arrays from :func:`load_cifar10` go in.
TensorFlow is imported on first use, not when :mod:`cvtutor.data` is imported.
"""

from __future__ import annotations

import numpy as np

from cvtutor import checks


def to_float(images: np.ndarray) -> np.ndarray:
    """uint8 images (any shape) to float32 in [0, 1].

    Raises:
        ValueError: ``images`` are not uint8.
    """
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


#: Largest shift of a training image in :func:`augment_images`, in pixels (the ResNet paper's CIFAR-10 padding).
AUGMENT_PAD = 4


def augment_images(images, pad: int = AUGMENT_PAD, seed: int | None = None):
    """Random horizontal flips and shifts of up to ``pad`` pixels (zero fill), per image.

    Works on a whole batch at once: one flip and one shift drawn for each
    image, applied with a few batched tensor operations (much cheaper than
    transforming images one by one in a ``tf.data`` map).

    Args:
        images: float32 tensor (N, H, W, C).
        pad: largest shift in pixels, in each direction.
        seed: operation seed for the random draws (repeatable sequences).
    Returns:
        a float32 tensor (N, H, W, C).
    """
    import tensorflow as tf

    height, width = images.shape[1], images.shape[2]
    n = tf.shape(images)[0]
    flip = tf.random.uniform((n, 1, 1, 1), seed=seed) < 0.5
    images = tf.where(flip, tf.reverse(images, axis=[2]), images)
    padded = tf.pad(images, [[0, 0], [pad, pad], [pad, pad], [0, 0]])
    # Top-left corner of each image's window in the padded batch: 0..2*pad.
    offsets = tf.random.uniform((2, n), 0, 2 * pad + 1, dtype=tf.int32, seed=None if seed is None else seed + 1)
    rows = offsets[0][:, None] + tf.range(height)  # (N, H)
    cols = offsets[1][:, None] + tf.range(width)  # (N, W)
    shifted = tf.gather(padded, rows, axis=1, batch_dims=1)  # (N, H, W + 2 pad, C)
    return tf.gather(shifted, cols, axis=2, batch_dims=1)  # (N, H, W, C)


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

    Raises:
        TypeError: ``batch_size`` is not an integer.
        ValueError: ``x`` is not uint8 (N, H, W, C), ``y`` not N integer labels, or
            ``batch_size`` below 1.
    """
    import tensorflow as tf

    x, y = _check_arrays(x, y)
    batch_size = checks.positive_int("batch_size", batch_size)
    ds = tf.data.Dataset.from_tensor_slices(x if y is None else (x, y.astype(np.int32)))
    if shuffle:
        ds = ds.shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
    # Batch first, then scale (and augment) whole batches: one map call per batch
    # instead of per image keeps the input pipeline from competing with training for the CPU.
    ds = ds.batch(batch_size, drop_remainder=drop_remainder)

    def prepare(images, *labels):
        images = tf.cast(images, tf.float32) / 255.0
        if augment:
            images = augment_images(images, seed=seed)
        return (images, *labels) if labels else images

    # Batches leave the parallel map in order unless the order is random anyway (shuffled,
    # no seed): predictions must line up with the images' labels.
    in_order = not shuffle or seed is not None
    ds = ds.map(prepare, num_parallel_calls=tf.data.AUTOTUNE, deterministic=in_order)
    return ds.prefetch(tf.data.AUTOTUNE)
