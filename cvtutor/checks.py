"""Argument checks shared by the layers, models and losses: one wording for every error."""

from __future__ import annotations

import numbers


def is_int(value) -> bool:
    """True for integers (NumPy's too), False for booleans."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def positive_int(name: str, value) -> int:
    """``value`` as an int, or ``ValueError("<name> must be a positive integer, got ...")``."""
    if not is_int(value) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def rate(name: str, value) -> float:
    """``value`` as a float in [0, 1), or ``ValueError("<name> must be a float in [0, 1), got ...")``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0.0 <= value < 1.0:
        raise ValueError(f"{name} must be a float in [0, 1), got {value!r}")
    return float(value)


def images_and_labels(name: str, pair):
    """``pair`` as NumPy ``(images, labels)``: uint8 images ``(N, H, W, C)`` as
    :func:`cvtutor.data.load_cifar10` returns them and labels ``(N,)``.

    Raises:
        ValueError: ``"<name> must be a pair (images, labels), got ..."``, or the images'
            dtype or shape, or the labels' shape, named with what arrived.
    """
    import numpy as np

    try:
        x, y = pair
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a pair (images, labels), got {type(pair).__name__}") from None
    x, y = np.asarray(x), np.asarray(y)
    if x.ndim != 4 or x.dtype != np.uint8:
        raise ValueError(f"{name} images must be uint8 (N, H, W, C) as load_cifar10 returns, got {x.dtype} {x.shape}")
    if y.shape != (len(x),):
        raise ValueError(f"{name} labels must have shape ({len(x)},), got {y.shape}")
    return x, y
