"""Prediction: a trained model's logits for uint8 images, with test-time augmentation.

Test-time augmentation asks the model about each test image more than once (its mirror image,
the image shifted by a few pixels) and averages the logits, as airbench does (Jordan 2024,
arXiv:2404.00498). :func:`flip_accuracy` is what the recipes with ``test_time_flip`` report.
"""

from __future__ import annotations

import numpy as np

from cvtutor import checks
from cvtutor.checks import images_and_labels


def predict_logits(model, images, batch_size: int = 512, verbose: int = 0, flip: bool = False,
                   translate: int = 0) -> np.ndarray:
    """Logits (N, num_classes) for uint8 images (N, H, W, C), optionally averaged over test-time augmentations.

    Args:
        flip: average the logits of each image and of its mirror image (left-right),
            which costs a second forward pass.
        translate: also average over the image shifted by this many pixels (0: not), up-left
            and down-right, its border filled by reflection, as airbench's test-time
            augmentation does (Jordan 2024, arXiv:2404.00498): half the weight on the image
            (with its mirror if ``flip``), a quarter on each shift (with its mirror if ``flip``).
            Costs two (``flip``: four) more forward passes.

    Raises:
        TypeError: ``translate`` is not an integer.
        ValueError: ``translate`` is negative or not smaller than the images' height and width.
    """
    from cvtutor.data import make_dataset

    images = np.asarray(images)
    if not checks.is_int(translate):
        raise TypeError(f"translate must be a whole number of pixels, got {checks.describe(translate)}")
    if translate < 0 or (translate and translate >= min(images.shape[1:3])):
        raise ValueError(f"translate must be a whole number of pixels from 0 to below the images' size "
                         f"{images.shape[1:3]}, got {translate!r}")

    views = [images]  # the image, then its shifts; each followed by its mirror image if flip
    if translate:
        views += [shift_images(images, d, d) for d in (-translate, translate)]
    if flip:
        views = [v for view in views for v in (view, np.ascontiguousarray(view[:, :, ::-1]))]
    # One pass of Keras's predict loop over every view, not one per view.
    stacked = views[0] if len(views) == 1 else np.concatenate(views)
    logits = np.asarray(model.predict(make_dataset(stacked, batch_size=batch_size), verbose=verbose))
    per_view = logits.reshape(len(views), len(images), -1)
    if flip:
        per_view = (per_view[0::2] + per_view[1::2]) / 2
    if translate:
        return per_view[0] / 2 + (per_view[1] + per_view[2]) / 4
    return per_view[0]


def shift_images(images, dy: int, dx: int) -> np.ndarray:
    """``images`` (N, H, W, C) with their content moved ``dy`` pixels down and ``dx`` right, the
    uncovered border filled by reflecting the image (``numpy.pad(mode="reflect")``); same shape and dtype."""
    images = np.asarray(images)
    pad_y, pad_x = abs(int(dy)), abs(int(dx))
    padded = np.pad(images, ((0, 0), (pad_y, pad_y), (pad_x, pad_x), (0, 0)), mode="reflect")
    height, width = images.shape[1:3]
    top, left = pad_y - int(dy), pad_x - int(dx)
    return np.ascontiguousarray(padded[:, top:top + height, left:left + width])


def flip_accuracy(model, test, batch_size: int = 512, translate: int = 0) -> float:
    """Test accuracy (0..1) with test-time flipping, and shifts of ``translate`` pixels if above 0
    (see :func:`predict_logits`).

    Raises:
        TypeError: ``test`` is not a pair, or ``translate`` or ``batch_size`` not an integer.
        ValueError: images that are not uint8 (N, H, W, C), labels that are not (N,), or a
            ``translate`` out of range (as :func:`predict_logits`).
    """
    x, y = images_and_labels("test", test)
    return float(np.mean(predict_logits(model, x, batch_size, flip=True, translate=translate).argmax(axis=-1) == y))
