"""The machinery of :mod:`cvtutor.exercises`: exercises, results, checking.

A *function exercise* asks for a function; the checker calls it on a few
seeded random inputs (edge cases included) and compares each output with
the reference's. A *value exercise* asks for a number; the checker compares
it with the number the package computes. Whatever the answer does (returns
the wrong shape or type, raises, is not a function), :func:`check` returns a
one-line :class:`Result` and never lets an exception from the reader's code
escape.
"""

from __future__ import annotations

import difflib
import numbers
import os
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from cvtutor import checks

SEED = 1234


@dataclass(frozen=True)
class Exercise:
    """One graded exercise.

    Attributes:
        id: ``"<chapter>-<name>"``, e.g. ``"1.3.1-dilated-conv"``.
        chapter: the chapter's number, e.g. ``"1.3.1"``.
        title: a short name for the chapter's exercise heading, e.g.
            ``"A dilated convolution"``.
        task: the task in one line of Markdown (code names in backticks),
            with the signature and shapes asked for.
        hint: one paragraph of Markdown that helps without giving the
            answer away (the chapter shows it in a collapsed toggle).
        kind: ``"function"`` (the answer is a function) or ``"value"`` (a number).
        solution: the worked solution. For a function exercise, a function of
            the arguments the task names; for a value exercise, a function of
            no arguments that computes the number by hand.
        wrong: plausible wrong answers, ``{what is wrong: function}``, in the
            same form as ``solution``; each must fail the checker (the tests
            make sure).
        inputs: function exercises: ``inputs(rng) -> list of dicts``, the
            argument names and values of each test input, in call order.
        reference: function exercises: ``reference(**arguments)``, the
            correct output; value exercises: ``reference()``, the correct
            number, computed by the package (Keras may be imported).
        rtol, atol: tolerances of a float comparison
            (``|yours - reference| <= atol + rtol * |reference|``); integer
            references are compared exactly.
        returns: what the answer must return, in words (for messages).
        signature: function exercises: how the function is called, e.g.
            ``"conv2d_dilated(x, kernel, dilation)"``.
    """

    id: str
    chapter: str
    title: str
    task: str
    hint: str
    kind: str
    solution: Callable
    wrong: dict = field(default_factory=dict)
    inputs: Callable | None = None
    reference: Callable | None = None
    rtol: float = 1e-4
    atol: float = 1e-4
    returns: str = "an array"
    signature: str = ""


@dataclass(frozen=True)
class Result:
    """What :func:`check` says: ``passed`` and a one-line ``message``.

    Truthy when the answer is correct; printing it (or showing it as a
    notebook cell's value) shows the message.
    """

    exercise: str
    passed: bool
    message: str

    def __bool__(self) -> bool:
        return self.passed

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return self.message


# Registry ---------------------------------------------------------------------

EXERCISES: dict[str, Exercise] = {}


def register(exercise: Exercise) -> Exercise:
    """Add ``exercise`` to :data:`EXERCISES` under its id and return it.

    Raises:
        ValueError: the id is registered already; a title, task or hint that is not one non-empty
            line; a kind other than ``"function"`` and ``"value"``; a function exercise without
            inputs or reference.
    """
    if exercise.id in EXERCISES:
        raise ValueError(f"exercise {exercise.id!r} is registered twice")
    for name in ("title", "task", "hint"):
        text = getattr(exercise, name)
        if not isinstance(text, str) or not text.strip() or "\n" in text:
            raise ValueError(f"exercise {exercise.id!r}: {name} must be one non-empty line, got {text!r}")
    if exercise.kind not in ("function", "value"):
        raise ValueError(f"exercise {exercise.id!r}: kind must be 'function' or 'value', got {exercise.kind!r}")
    if exercise.kind == "function" and (exercise.inputs is None or exercise.reference is None):
        raise ValueError(f"function exercise {exercise.id!r} needs inputs and reference")
    EXERCISES[exercise.id] = exercise
    return exercise


def get_exercise(exercise_id: str) -> Exercise:
    """The :class:`Exercise` registered as ``exercise_id``.

    Raises:
        TypeError: ``exercise_id`` is not a str.
        ValueError: no exercise has that id (the message lists close ids).
    """
    checks.instance("exercise_id", exercise_id, str, "a str such as '1.3.1-dilated-conv'")
    if exercise_id not in EXERCISES:
        close = difflib.get_close_matches(exercise_id, list(EXERCISES), n=3, cutoff=0.5)
        hint = f"; did you mean {', '.join(map(repr, close))}?" if close else f"; known: {', '.join(EXERCISES)}"
        raise ValueError(f"exercise_id must be the id of an exercise, got {exercise_id!r}{hint}")
    return EXERCISES[exercise_id]


# Describing inputs and answers ------------------------------------------------


def _describe_value(name: str, value) -> str:
    if isinstance(value, np.ndarray):
        return f"{name} of shape {value.shape}"
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{name}={text}"


def describe_inputs(arguments: dict) -> str:
    """``"x of shape (1, 5, 5, 2), stride=2"``: a test input in words."""
    return ", ".join(_describe_value(name, value) for name, value in arguments.items())


def _kind(value) -> str:
    """``"an int"``, ``"a tensorflow EagerTensor"``: the kind of ``value``, with its article."""
    kind = type(value).__name__
    module = type(value).__module__.split(".")[0]
    text = kind if module in ("builtins", "numpy") else f"{module} {kind}"
    return ("an " if text[0].lower() in "aeiou" else "a ") + text


def summarize_exception(error: BaseException) -> str:
    """``"ValueError: message (line 5 of <cell>: return x @ w)"``: the reader's exception in one line.

    The line is the last frame outside NumPy, Keras, TensorFlow, JAX and this
    package, i.e. the reader's own code, when there is one.
    """
    message = str(error).strip().splitlines()[0] if str(error).strip() else ""
    if len(message) > 200:
        message = message[:197] + "..."
    text = type(error).__name__ + (f": {message}" if message else "")
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    frames = traceback.extract_tb(error.__traceback__)
    mine = [f for f in frames if not os.path.abspath(f.filename).startswith(here)
            and "site-packages" not in f.filename and "dist-packages" not in f.filename]
    if mine:
        frame = mine[-1]
        if "ipykernel" in frame.filename or frame.filename.startswith("<ipython"):
            where = "your cell"  # a notebook cell: its file name means nothing to the reader
        elif frame.filename.startswith("<"):
            where = frame.filename
        else:
            where = os.path.basename(frame.filename)
        code = f": {frame.line.strip()}" if frame.line else ""
        text += f" (line {frame.lineno} of {where}{code})"
    return text


def to_numpy(value):
    """``value`` as a NumPy array: NumPy arrays, numbers, lists, Keras, TensorFlow or JAX tensors.

    Returns None when it is not a numeric array of any of those kinds.
    """
    if isinstance(value, (str, bytes, dict, set)) or value is None or callable(value) and not hasattr(value, "__array__"):
        return None
    try:
        array = np.asarray(value)
    except Exception:  # noqa: BLE001 - a tensor NumPy cannot read: try Keras below
        array = None
    if array is None or array.dtype == object:
        keras = sys.modules.get("keras")
        if keras is None:
            return None
        try:
            array = np.asarray(keras.ops.convert_to_numpy(value))
        except Exception:  # noqa: BLE001
            return None
    if not (np.issubdtype(array.dtype, np.number) or array.dtype == bool):
        return None
    return array


# Comparing -------------------------------------------------------------------


def _compare(yours, expected, exercise: Exercise, what: str = "your output"):
    """None when equal (within tolerance), else what differs, in words."""
    array = to_numpy(yours)
    if array is None:
        return f"{what} is {_kind(yours)}, expected {exercise.returns}"
    expected = np.asarray(expected)
    if array.shape != expected.shape:
        if array.size == expected.size == 1:
            array = array.reshape(expected.shape)
        else:
            return f"{what} has shape {array.shape}, expected shape {expected.shape}"
    if np.issubdtype(expected.dtype, np.integer) or expected.dtype == bool:
        if not np.issubdtype(array.dtype, np.floating) or np.all(np.isfinite(array)):
            diff = np.abs(array.astype(np.float64) - expected.astype(np.float64))
            bad = diff > 0
        else:
            return f"{what} contains NaN or infinity"
    else:
        array = array.astype(np.float64)
        diff = np.abs(array - expected)
        bad = ~(diff <= exercise.atol + exercise.rtol * np.abs(expected))  # NaN counts as bad
    if not bad.any():
        return None
    index = np.unravel_index(np.argmax(np.where(np.isnan(diff), np.inf, diff)), diff.shape) if diff.ndim else ()
    worst = diff[index] if diff.ndim else diff
    place = f" at index {tuple(int(i) for i in index)}" if diff.ndim else ""
    yours_at, ref_at = (array[index], expected[index]) if diff.ndim else (array, expected)
    if not np.isfinite(float(yours_at)):
        return f"{what} is {float(yours_at)}{place} where the reference is {float(ref_at):.6g}"
    return (f"{what} differs from the reference by max |diff| = {float(worst):.3g}{place} "
            f"(yours {float(yours_at):.6g}, reference {float(ref_at):.6g})")


def _check_function(exercise: Exercise, answer) -> Result:
    rng = np.random.default_rng(SEED)
    cases = exercise.inputs(rng)
    for number, arguments in enumerate(cases, start=1):
        # The reference computes in float64; the answer gets float32 arrays, as Keras layers use.
        expected = exercise.reference(**{k: _as(v, np.float64) for k, v in arguments.items()})
        where = f"on input #{number} ({describe_inputs(arguments)})"
        try:
            output = answer(*[_as(v, np.float32) for v in arguments.values()])
        except Exception as error:  # noqa: BLE001 - the reader's code: summarised, never re-raised
            return Result(exercise.id, False, f"not yet: your function raised {summarize_exception(error)} {where}")
        if isinstance(expected, tuple):
            if not isinstance(output, (tuple, list)) or len(output) != len(expected):
                got = _kind(output) if not isinstance(output, (tuple, list)) else f"{len(output)} values"
                return Result(exercise.id, False, f"not yet: {where}, your function returned {got}, "
                                                  f"expected {exercise.returns}")
            for k, (mine, ref) in enumerate(zip(output, expected)):
                problem = _compare(mine, ref, exercise, f"your output [{k}]")
                if problem:
                    return Result(exercise.id, False, f"not yet: {where}, {problem}")
        else:
            problem = _compare(output, expected, exercise)
            if problem:
                return Result(exercise.id, False, f"not yet: {where}, {problem}")
    return Result(exercise.id, True, f"correct: {exercise.id} matches the reference on all {len(cases)} inputs")


def _as(value, dtype):
    """A fresh copy of an array argument, floating-point ones cast to ``dtype``; other arguments as they are."""
    if not isinstance(value, np.ndarray):
        return value
    return value.astype(dtype) if np.issubdtype(value.dtype, np.floating) else value.copy()


def _check_value(exercise: Exercise, answer) -> Result:
    if callable(answer) and not hasattr(answer, "__array__"):
        return Result(exercise.id, False,
                      f"not yet: the answer is {exercise.returns}, not a function; pass its value (f() rather than f)")
    if isinstance(answer, bool):
        return Result(exercise.id, False, f"not yet: the answer is {exercise.returns}, got a bool ({answer})")
    array = to_numpy(answer)
    if array is None or array.size != 1:
        got = _kind(answer) if array is None else f"an array of shape {array.shape}"
        return Result(exercise.id, False, f"not yet: the answer is {exercise.returns}, got {got}")
    value = array.reshape(()).item()
    expected = exercise.reference()
    if isinstance(expected, numbers.Integral):
        ok = float(value) == float(expected)
    else:
        ok = abs(value - expected) <= exercise.atol + exercise.rtol * abs(expected)
    if ok:
        return Result(exercise.id, True, f"correct: {exercise.id} = {_format_number(expected)}")
    if not np.isfinite(value):
        return Result(exercise.id, False, f"not yet: {value} is not a finite number")
    side = "too low" if value < expected else "too high"
    off = abs(value - expected) / max(abs(expected), 1e-12)
    size = "by less than 1%" if off < 0.01 else "by less than 10%" if off < 0.1 else "by 10% or more"
    return Result(exercise.id, False, f"not yet: {_format_number(value)} is {side} ({size})")


def _format_number(value) -> str:
    if isinstance(value, numbers.Integral) or float(value).is_integer() and abs(value) < 1e15:
        return f"{int(value):,}"
    return f"{value:.6g}"


def check(exercise_id: str, answer) -> Result:
    """Check ``answer`` to the exercise ``exercise_id``; one line says whether it is right.

    Function exercises call ``answer`` on several seeded random inputs (edge
    cases included: batch 1, odd sizes, strides and paddings; float arrays are
    float32, as Keras layers use) and compare with the reference, computed in
    float64, within ``atol + rtol * |reference|`` (both 1e-4 by default). It may take and return NumPy arrays or Keras, TensorFlow or
    JAX tensors. Value exercises compare the number with the package's.

    Args:
        exercise_id: e.g. ``"1.3.1-dilated-conv"``; see :data:`EXERCISES`.
        answer: a function (function exercises) or a number (value exercises).

    Returns:
        A :class:`Result`: ``"correct: ..."``, or ``"not yet: on input #k (its
        shapes), your output differs from the reference by max |diff| = ... at
        index ..."``, or one line for a wrong shape or type, an exception the
        answer raised (type, message and the line of the reader's code), or an
        answer that is not a function. The reader's exceptions never escape.

    Raises:
        TypeError: ``exercise_id`` is not a str.
        ValueError: ``exercise_id`` is not an exercise's id.
    """
    exercise = get_exercise(exercise_id)
    if exercise.kind == "value":
        return _check_value(exercise, answer)
    if not callable(answer):
        return Result(exercise.id, False,
                      f"not yet: the answer must be a function {exercise.signature}, got {_kind(answer)}")
    return _check_function(exercise, answer)


def solution(exercise_id: str) -> Callable:
    """The worked solution of ``exercise_id``: a function (for a value exercise, one of no arguments).

    Raises:
        TypeError: ``exercise_id`` is not a str.
        ValueError: ``exercise_id`` is not an exercise's id.
    """
    return get_exercise(exercise_id).solution


def exercises_for(chapter: str) -> list[Exercise]:
    """The exercises of a chapter (``"1.3.1"``), in the order the chapter asks them."""
    return [e for e in EXERCISES.values() if e.chapter == chapter]
