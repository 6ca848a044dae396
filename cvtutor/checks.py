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
