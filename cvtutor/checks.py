"""Argument checks shared by the package's public functions: one wording for every error.

In the manner of scikit-learn's ``sklearn.utils.check_scalar``: a value of the wrong kind raises
``TypeError``, a value of the right kind out of range ``ValueError``, and every message says what
was expected, what arrived and the argument's name: ``"<name> must be <expected>, got <what
arrived>"``. A ``TypeError`` names what arrived by its type (and its value when short), a
``ValueError`` by its value. Booleans are not integers here (``True`` is no count of epochs).

Arrays are checked where they are used, by shape and dtype: since almost anything converts to an
array, an array of the wrong shape or dtype is a ``ValueError``, as in NumPy and scikit-learn.
Errors in data files (:class:`cvtutor.data.CorruptDataError`, ...) are not argument errors and
keep their own classes.
"""

from __future__ import annotations

import math
import numbers


def is_int(value) -> bool:
    """True for integers (NumPy's too), False for booleans."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def describe(value) -> str:
    """What arrived, for a ``TypeError``'s message: its type, then its ``repr`` if that is short
    (``"str '3'"``; a long list: ``"list"``)."""
    text = repr(value)
    return f"{type(value).__name__} {text}" if len(text) <= 60 else type(value).__name__


_KIND_NAMES = {numbers.Integral: "an integer", numbers.Real: "a number"}


def scalar(name: str, value, kind=numbers.Real, *, minimum=None, maximum=None, include_minimum: bool = True,
           include_maximum: bool = True):
    """``value``, checked to be one number of ``kind`` within the bounds given.

    Args:
        name: the argument's name, for the message.
        value: what arrived.
        kind: ``numbers.Integral`` or ``numbers.Real`` (booleans count as neither).
        minimum, maximum: bounds, or None for none; ``maximum=math.inf, include_maximum=False``
            asks for a finite number.
        include_minimum, include_maximum: whether a bound itself is allowed.

    Returns:
        ``value`` as ``int`` (``numbers.Integral``) or ``float``.

    Raises:
        TypeError: ``"<name> must be an integer, got str 'x'"``: not a number of ``kind``.
        ValueError: ``"<name> must be in [0, 100], got 101"``: out of range (NaN is never in range).

    Source: scikit-learn's ``sklearn.utils.check_scalar`` (its errors and message shape).
    """
    if isinstance(value, bool) or not isinstance(value, kind):
        raise TypeError(f"{name} must be {_KIND_NAMES.get(kind, kind.__name__)}, got {describe(value)}")
    value = int(value) if kind is numbers.Integral else float(value)
    low_ok = minimum is None or (value >= minimum if include_minimum else value > minimum)
    high_ok = maximum is None or (value <= maximum if include_maximum else value < maximum)
    if not (low_ok and high_ok) or math.isnan(value):
        low = "(-inf" if minimum is None else ("[" if include_minimum else "(") + f"{minimum:g}"
        high = "inf)" if maximum is None else f"{maximum:g}" + ("]" if include_maximum else ")")
        raise ValueError(f"{name} must be in {low}, {high}, got {value!r}")
    return value


def positive_int(name: str, value) -> int:
    """``value`` as an int >= 1 (a count: epochs, units, a batch size).

    Raises:
        TypeError: ``"<name> must be a positive integer, got float 2.5"``: not an integer.
        ValueError: ``"<name> must be a positive integer, got 0"``: below 1.
    """
    if not is_int(value):
        raise TypeError(f"{name} must be a positive integer, got {describe(value)}")
    if value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def rate(name: str, value) -> float:
    """``value`` as a float in [0, 1) (a dropout rate, label smoothing, a warm-up fraction).

    Raises:
        TypeError: ``"<name> must be a float in [0, 1), got str '0.1'"``: not a number.
        ValueError: ``"<name> must be a float in [0, 1), got 1.0"``: out of range, or NaN.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a float in [0, 1), got {describe(value)}")
    if not 0.0 <= value < 1.0:
        raise ValueError(f"{name} must be a float in [0, 1), got {value!r}")
    return float(value)


def one_of(name: str, value, choices):
    """``value``, checked to be one of ``choices`` (strings, or integers: returned as ``int``).

    Raises:
        TypeError: ``"<name> must be one of 'valid', 'same', got int 3"``: not of the choices'
            type (``str``, or an integer other than a boolean).
        ValueError: ``"<name> must be one of 'valid', 'same', got 'full'"``: of that type, but
            none of them.
    """
    choices = tuple(choices)
    expected = ", ".join(map(repr, choices))
    integers = all(is_int(c) for c in choices)
    kind_ok = (isinstance(value, str) if all(isinstance(c, str) for c in choices)
               else is_int(value) if integers else True)
    if not kind_ok:
        raise TypeError(f"{name} must be one of {expected}, got {describe(value)}")
    if value not in choices:
        raise ValueError(f"{name} must be one of {expected}, got {value!r}")
    return int(value) if integers else value


def instance(name: str, value, kind, expected: str):
    """``value``, checked to be an instance of ``kind`` (a class, a tuple of classes, or an
    abstract class such as ``collections.abc.Callable`` or ``Mapping``).

    Args:
        expected: what it must be, in words, for the message: ``"a keras.Model"``.

    Raises:
        TypeError: ``"<name> must be a keras.Model, got str 'cnn'"``.
    """
    if not isinstance(value, kind):
        raise TypeError(f"{name} must be {expected}, got {describe(value)}")
    return value



def not_instance(name: str, value, kind, expected: str, advice: str):
    """``value``, checked not to be an instance of ``kind``: a kind that looks right but is not
    (raw bytes where a file object is wanted, a file opened as text where bytes are read).

    Args:
        expected: what it must be, in words: ``"a path or a binary file object"``.
        advice: what to do instead: ``"wrap raw bytes in io.BytesIO(...)"``.

    Raises:
        TypeError: ``"<name> must be <expected>, got bytes b'...': <advice>"``.
    """
    if isinstance(value, kind):
        raise TypeError(f"{name} must be {expected}, got {describe(value)}: {advice}")
    return value

def functional_model(name: str, model):
    """``model``, checked to be a functional ``keras.Model`` with one input and one output, as
    :mod:`cvtutor.models` builds them (what reading a layer's output or replacing a head needs).

    Raises:
        TypeError: ``"<name> must be a keras.Model, got str 'cnn.keras'"``.
        ValueError: a model without one symbolic input and one output (a subclassed model that
            was never called, or several inputs or outputs); the message names it.
    """
    import keras

    instance(name, model, keras.Model, "a keras.Model")
    try:
        inputs, outputs = model.inputs, model.outputs
    except (AttributeError, ValueError):
        inputs = outputs = None
    if not inputs or not outputs or len(inputs) != 1 or len(outputs) != 1:
        raise ValueError(f"{name} must be a functional keras.Model with one input and one output (as "
                         f"cvtutor.models builds); got {type(model).__name__} '{model.name}'")
    return model


def integers(name: str, value, length: int, *, minimum=None, maximum=None,
             expected: str = "") -> tuple[int, ...]:
    """``value`` (a list, tuple or 1-D array) as a tuple of ``length`` integers, each within
    ``[minimum, maximum]`` (None: no bound).

    Args:
        expected: the parts' names for the message, such as ``"(height, width)"``.

    Raises:
        TypeError: ``"<name> must be (height, width), 2 integers >= 1, got int 32"``: not a
            sequence, or one of its items is not an integer (booleans are not).
        ValueError: ``"<name> must be (height, width), 2 integers >= 1, got (32, 0)"``: the
            wrong number of items, or an item out of bounds.
    """
    bounds = ("" if minimum is None and maximum is None else f" >= {minimum}" if maximum is None
              else f" <= {maximum}" if minimum is None else f" in [{minimum}, {maximum}]")
    want = (f"{expected}, " if expected else "") + f"{length} integers{bounds}"
    if isinstance(value, (str, bytes)) or not hasattr(value, "__len__") or not hasattr(value, "__iter__"):
        raise TypeError(f"{name} must be {want}, got {describe(value)}")
    items = tuple(value)
    if not all(is_int(v) for v in items):
        raise TypeError(f"{name} must be {want}, got {describe(value)}")
    if (len(items) != length or (minimum is not None and any(v < minimum for v in items))
            or (maximum is not None and any(v > maximum for v in items))):
        raise ValueError(f"{name} must be {want}, got {value!r}")
    return tuple(int(v) for v in items)


def images_and_labels(name: str, pair):
    """``pair`` as NumPy ``(images, labels)``: uint8 images ``(N, H, W, C)`` as
    :func:`cvtutor.data.load_cifar10` returns them and labels ``(N,)``.

    Raises:
        TypeError: ``"<name> must be a pair (images, labels), got int"``: not a pair at all.
        ValueError: a sequence of other than two items, or the images' dtype or shape, or the
            labels' shape, named with what arrived.
    """
    import numpy as np

    try:
        x, y = pair
    except TypeError:
        raise TypeError(f"{name} must be a pair (images, labels), got {type(pair).__name__}") from None
    except ValueError:
        size = f" of {len(pair)}" if hasattr(pair, "__len__") else ""
        raise ValueError(f"{name} must be a pair (images, labels), got {type(pair).__name__}{size}") from None
    x, y = np.asarray(x), np.asarray(y)
    if x.ndim != 4 or x.dtype != np.uint8:
        raise ValueError(f"{name} images must be uint8 (N, H, W, C) as load_cifar10 returns, got {x.dtype} {x.shape}")
    if y.shape != (len(x),):
        raise ValueError(f"{name} labels must have shape ({len(x)},), got {y.shape}")
    return x, y
