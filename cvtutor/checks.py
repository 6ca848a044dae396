"""Argument checks shared by the package's public functions: one wording for every error.

In the manner of scikit-learn's ``sklearn.utils.check_scalar``: a value of the wrong kind raises
``TypeError``, a value of the right kind out of range ``ValueError``, and every message says what
was expected, what arrived and the argument's name.
"""

from __future__ import annotations

import math
import numbers


def is_int(value) -> bool:
    """True for integers (NumPy's too), False for booleans."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


_KIND_NAMES = {numbers.Integral: "an integer", numbers.Real: "a number"}


def scalar(name: str, value, kind=numbers.Real, *, minimum=None, maximum=None, include_minimum: bool = True,
           include_maximum: bool = True):
    """``value``, checked to be one number of ``kind`` within the bounds given.

    Args:
        name: the argument's name, for the message.
        value: what arrived.
        kind: ``numbers.Integral`` or ``numbers.Real`` (booleans count as neither).
        minimum, maximum: bounds, or None for none.
        include_minimum, include_maximum: whether a bound itself is allowed.

    Returns:
        ``value`` as ``int`` (``numbers.Integral``) or ``float``.

    Raises:
        TypeError: ``"<name> must be an integer, got str 'x'"``: not a number of ``kind``.
        ValueError: ``"<name> must be in [0, 100], got 101"``: out of range (NaN is never in range).

    Source: scikit-learn's ``sklearn.utils.check_scalar`` (its errors and message shape).
    """
    if isinstance(value, bool) or not isinstance(value, kind):
        raise TypeError(f"{name} must be {_KIND_NAMES.get(kind, kind.__name__)}, got {type(value).__name__} {value!r}")
    value = int(value) if kind is numbers.Integral else float(value)
    low_ok = minimum is None or (value >= minimum if include_minimum else value > minimum)
    high_ok = maximum is None or (value <= maximum if include_maximum else value < maximum)
    if not (low_ok and high_ok) or math.isnan(value):
        low = "(-inf" if minimum is None else ("[" if include_minimum else "(") + f"{minimum:g}"
        high = "inf)" if maximum is None else f"{maximum:g}" + ("]" if include_maximum else ")")
        raise ValueError(f"{name} must be in {low}, {high}, got {value!r}")
    return value


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
