"""Timing a step that repeats (a training step, a prediction, a function): seconds per call and images/s.

One implementation for every chapter and benchmark that measures speed::

    from cvtutor.timing import images_per_second

    speed = images_per_second(lambda: model.train_on_batch(x, y), batch_size=len(x))

The step is called a few times untimed first (the first call of a Keras step traces and
compiles its graph), then timed in ``repeats`` loops of ``calls`` calls, and the median loop
gives the figure: the median is not moved by one loop that another process slowed down.
Timing loops of several calls, rather than single calls, keeps ``time.perf_counter``'s
resolution and the loop's own cost negligible for steps of a millisecond or less.

Times are wall-clock seconds on this machine, under whatever else it is running; compare two
steps measured in the same run (interleave them where it matters), never with a figure from
another day.
"""

from __future__ import annotations

import numbers
import statistics
import time
from collections.abc import Callable

from cvtutor import checks


def seconds_per_call(step: Callable[[], object], *, warmup: int = 2, repeats: int = 5,
                     calls: int | None = None, loop_seconds: float = 0.5) -> float:
    """Median wall-clock seconds that one call of ``step()`` takes.

    Args:
        step: a function of no arguments; what it returns is ignored.
        warmup: untimed calls first (0 or more): tracing, compiling, filling caches.
        repeats: timed loops; the median loop counts.
        calls: calls per timed loop; by default as many as fill about ``loop_seconds``
            (from one more timed call, at least 1).
        loop_seconds: the length to aim each loop at when ``calls`` is not given.

    Returns:
        Seconds per call (a float > 0).

    Raises:
        TypeError: ``step`` is not callable, ``warmup``, ``repeats`` or ``calls`` is not an
            integer, or ``loop_seconds`` is not a number.
        ValueError: ``warmup`` is negative, ``repeats`` or ``calls`` is below 1, or
            ``loop_seconds`` is not positive.
        Exception: whatever ``step`` raises, unchanged (it is the caller's code).
    """
    checks.instance("step", step, Callable, "a function of no arguments")
    warmup = checks.scalar("warmup", warmup, numbers.Integral, minimum=0)
    repeats = checks.positive_int("repeats", repeats)
    if calls is not None:
        calls = checks.positive_int("calls", calls)
    loop_seconds = checks.scalar("loop_seconds", loop_seconds, minimum=0, include_minimum=False)
    for _ in range(warmup):
        step()
    if calls is None:
        start = time.perf_counter()
        step()
        once = max(time.perf_counter() - start, 1e-9)
        calls = max(1, round(loop_seconds / once))
    loops = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(calls):
            step()
        loops.append(time.perf_counter() - start)
    return max(statistics.median(loops) / calls, 1e-12)


def images_per_second(step: Callable[[], object], batch_size: int, **timing) -> float:
    """Images per second of a step that processes ``batch_size`` images per call.

    ``batch_size / seconds_per_call(step, **timing)``; same arguments and errors as
    :func:`seconds_per_call`.

    Raises:
        TypeError: ``batch_size`` is not an integer (and as :func:`seconds_per_call`).
        ValueError: ``batch_size`` is below 1 (and as :func:`seconds_per_call`).
    """
    batch_size = checks.positive_int("batch_size", batch_size)
    return batch_size / seconds_per_call(step, **timing)
