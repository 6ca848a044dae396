"""How long a student waits for ``cvtutor.exercises.check``: seconds per check of each worked solution.

    python -m benchmarks.exercise_checks

A check should answer at once (target: every check under ``TARGET_SECONDS`` once Keras is
imported), including the first parameter count of a model, which builds it once and caches the
count. The script imports Keras, times that first count from an empty cache, then warms every
check once and times each again (the median of ``--repeats`` calls). One JSON record per run goes
to ``benchmarks/results/exercise-checks/``, with the load average, since other work on the
machine slows every check.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import statistics
import sys
import time
from pathlib import Path

from cvtutor.records import write_record

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "exercise-checks"
TARGET_SECONDS = 1.0


def _seconds(call, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def measure(repeats: int = 3) -> dict:
    """The record: the first (uncached) model count and every check's median seconds."""
    import keras

    from cvtutor import exercises
    from cvtutor.exercises import EXERCISES, check

    def answer(exercise_id):
        solution = EXERCISES[exercise_id].solution
        return solution() if EXERCISES[exercise_id].kind == "value" else solution

    load_before = os.getloadavg()
    exercises._basics.keras_params.cache_clear()
    start = time.perf_counter()
    first = check("1.4.3-attention-params", exercises.attention_model_params())
    first_count = time.perf_counter() - start
    answers = {exercise_id: answer(exercise_id) for exercise_id in EXERCISES}
    failed = [i for i, a in answers.items() if not check(i, a).passed]  # also warms every check
    seconds = {i: _seconds(lambda i=i: check(i, answers[i]), repeats) for i in answers}
    slowest = max(seconds, key=seconds.get)
    return {
        "benchmark": "exercise-checks",
        "checks": len(seconds),
        "repeats": repeats,
        "seconds": seconds,
        "slowest": slowest,
        "slowest_seconds": seconds[slowest],
        "first_count_seconds": first_count,
        "first_count_passed": bool(first.passed),
        "failed": failed,
        "target_seconds": TARGET_SECONDS,
        "within_target": max(seconds[slowest], first_count) < TARGET_SECONDS,
        "load_average_before": list(load_before),
        "load_average_after": list(os.getloadavg()),
        "hardware": {"cpus": os.cpu_count(), "machine": platform.machine()},
        "versions": {"python": platform.python_version(), "keras": keras.__version__},
        "finished": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "command": " ".join(["python", "-m", "benchmarks.exercise_checks", *sys.argv[1:]]),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.exercise_checks", description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3, help="timed calls per check (the median counts)")
    parser.add_argument("--out", type=Path, default=RESULTS, help=f"folder for the JSON record (default {RESULTS})")
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error(f"--repeats must be at least 1, got {args.repeats}")
    record = measure(args.repeats)
    path = write_record(record, args.out, "exercise-checks")
    print(f"wrote {path}: {record['checks']} checks, slowest {record['slowest']} "
          f"{1000 * record['slowest_seconds']:.1f} ms, first model count {1000 * record['first_count_seconds']:.0f} ms; "
          f"target under {TARGET_SECONDS:.0f} s: {'met' if record['within_target'] else 'NOT met'}")
    return 0 if not record["failed"] else 1


if __name__ == "__main__":
    sys.exit(main())
