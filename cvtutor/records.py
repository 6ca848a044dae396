"""Benchmark records: read the JSON files ``python -m benchmarks.run`` writes and summarise them.

One record is one training run of one recipe with one seed (see
``benchmarks/run.py`` for its fields). Runs of one invocation share a
``run_id``; ratios against the baseline recipe are only taken within a run,
because the same machine can be twice as fast on a quiet day.
"""

from __future__ import annotations

import copy
import functools
import json
import math
import os
import statistics
from importlib import resources
from pathlib import Path

from cvtutor.files import atomic_write, checkout_root, portable

REQUIRED = ("recipe", "seed", "wall_seconds", "test_accuracy", "curve", "command")


#: The book's benchmarks/results, as the package ships it (written by tools/book.py run-times), the
#: folders the chapters read (training records, longer runs, book builds, backends, the pipeline).
RESULTS_RESOURCE = "benchmark_results.json"
SHIPPED_FOLDERS = ("", "backends", "book-builds", "experiments", "pipeline")


def bundle_results(folder: str | os.PathLike, subfolders=SHIPPED_FOLDERS) -> dict:
    """The ``*.json`` files directly in ``folder``'s ``subfolders`` as ``{"files": {relative path:
    parsed JSON}}``: the form in which the package ships the book's ``benchmarks/results``
    (:data:`cvtutor.records.RESULTS_RESOURCE`).

    Raises:
        FileNotFoundError: ``folder`` does not exist.
        ValueError: a file is not JSON (the message names it).
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"no benchmark results folder at {folder}")
    files = {}
    for path in sorted(p for sub in subfolders for p in (folder / sub).glob("*.json")):
        try:
            files[path.relative_to(folder).as_posix()] = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise ValueError(f"{path} is not JSON: {error}") from None
    return {"files": files}


@functools.cache
def _shipped_bundle() -> dict:
    return json.loads(resources.files("cvtutor").joinpath("resources", RESULTS_RESOURCE).read_text(encoding="utf-8"))


def _result_items(subfolder: str, folder) -> list[tuple[str, dict]]:
    """``(name, parsed JSON)`` of the ``*.json`` files directly in ``<folder>/<subfolder>``, by name."""
    if folder is None:
        prefix = f"{subfolder.strip('/')}/" if subfolder.strip("/") else ""
        files = _shipped_bundle()["files"]
        items = [(f"{RESULTS_RESOURCE}:{name}", copy.deepcopy(record)) for name, record in files.items()
                 if name.startswith(prefix) and "/" not in name[len(prefix):]]
        if not items and not any(name.startswith(prefix) for name in files):
            raise FileNotFoundError(f"the shipped benchmark results have no folder {subfolder!r}")
        return sorted(items)
    where = Path(folder) / subfolder
    if not where.is_dir():
        raise FileNotFoundError(f"no benchmark results folder at {where}")
    items = []
    for path in sorted(where.glob("*.json")):
        try:
            items.append((str(path), json.loads(path.read_text(encoding="utf-8"))))
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise ValueError(f"{path} is not a JSON benchmark record: {error}") from None
    return items


def result_files(subfolder: str = "", folder: str | os.PathLike | None = None) -> list[dict]:
    """The JSON files directly in ``<folder>/<subfolder>``, parsed, in the order of their names
    (which begin with what they record and end with when it finished).

    Args:
        subfolder: ``"book-builds"``, ``"backends"``, ``"pipeline"``, ``"experiments"``, or ``""``
            for the folder itself.
        folder: a results folder such as a checkout's ``benchmarks/results``; ``None`` (the
            default) reads the copy of the book's ``benchmarks/results`` that ships inside the
            package, so a chapter opened alone (Colab, the wheel) reads what the book reads.

    Raises:
        FileNotFoundError: no such folder (on disk, or in the shipped copy).
        ValueError: a file is not JSON (the message names it).
    """
    return [record for _, record in _result_items(subfolder, folder)]


def load_records(folder: str | os.PathLike | None = None, subfolder: str = "") -> list[dict]:
    """Every training record (``*.json`` written by ``python -m benchmarks.run``) in
    ``<folder>/<subfolder>``, oldest first.

    Args:
        folder: a results folder; ``None`` reads the copy shipped with the package
            (:func:`result_files`).
        subfolder: e.g. ``"experiments"``; ``""`` for the folder itself.

    Raises:
        FileNotFoundError: the folder does not exist.
        ValueError: a file is not JSON or lacks a required field (the message names it).
    """
    records = []
    for name, record in _result_items(subfolder, folder):
        missing = [key for key in REQUIRED if not isinstance(record, dict) or key not in record]
        if missing:
            raise ValueError(f"{name} is not a benchmark record: it lacks {missing}")
        record.setdefault("run_id", record.get("finished", Path(name).stem))
        records.append(record)
    return sorted(records, key=lambda r: (r.get("finished", ""), r["recipe"], r["seed"]))


def write_record(record: dict, folder: str | os.PathLike, prefix: str,
                 data_dir: str | os.PathLike | None = None) -> Path:
    """Write ``record`` as ``<folder>/<prefix>-<finished time>.json`` and return the path.

    Text values name no folder of this machine: paths inside the repository that holds
    ``folder`` are written relative to its root; the data folder (``data_dir``, default
    ``$CVTUTOR_DATA``), the temporary and the home folder as ``$CVTUTOR_DATA``,
    ``$TMPDIR`` and ``~`` (:func:`cvtutor.files.portable`), so a record reads the same on any machine.

    The file appears whole or not at all (:func:`cvtutor.files.atomic_write`),
    with the permissions a plain write gives; a second record with the same name in the same second gets the
    process id appended instead of replacing the first.

    Raises:
        KeyError: ``record`` has no ``"finished"`` time.
        OSError: the folder or the file cannot be written (no partial file is left).
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    stamp = record["finished"].replace(":", "").replace("-", "")[:15]
    path = folder / f"{prefix}-{stamp}.json"
    if path.exists():
        path = folder / f"{prefix}-{stamp}-{os.getpid()}.json"
    checkout = checkout_root(folder)
    with atomic_write(path, "w") as f:
        f.write(json.dumps(_portable(record, data_dir, checkout), indent=2))
    return path


def _portable(value, data_dir, checkout):
    if isinstance(value, str):
        return portable(value, data_dir, checkout)
    if isinstance(value, dict):
        return {key: _portable(item, data_dir, checkout) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_portable(item, data_dir, checkout) for item in value]
    return value


def time_to_accuracy(record: dict, target: float) -> float | None:
    """Seconds from start until the per-epoch test accuracy first reached ``target`` (0..1), or None."""
    return next((p["seconds"] for p in record["curve"] if p["test_accuracy"] >= target), None)


def epoch_seconds(record: dict) -> list[float]:
    """Seconds each epoch after the first took, its test evaluation included.

    The first epoch is left out: it also holds data loading and compilation.
    On a quiet machine the spread of the rest is the machine's own change of speed.
    """
    times = [point["seconds"] for point in record["curve"]]
    return [later - earlier for earlier, later in zip(times, times[1:])]


def _median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def _median_time(times):
    """Median of times to an accuracy; a seed that never reached it (None) counts as slower than any
    that did. None when the median itself is such a seed (e.g. 2 of 3 seeds never got there)."""
    values = [math.inf if t is None else t for t in times]
    median = statistics.median(values) if values else math.inf
    return None if math.isinf(median) else median


def summarize(records: list[dict], baseline: str = "tf-tutorial", accuracy: float = 0.67) -> list[dict]:
    """One row per (run, recipe): medians over seeds, targets, and the time ratio to the baseline.

    Args:
        records: from :func:`load_records`.
        baseline: the recipe whose time-to-``accuracy`` is the denominator.
        accuracy: the test accuracy (0..1) the time ratio is taken at.

    Returns:
        dicts with ``run_id``, ``recipe``, ``seeds``, ``test_accuracy`` (median), ``wall_seconds``
        (median), ``seconds_to_accuracy`` (median over seeds, a seed that never reached the accuracy
        counting as the slowest; None when the median is such a seed), ``ratio_to_baseline``
        (None without the baseline in the same run), ``wall_ratio`` (median wall time over the
        baseline's median wall time in the same run: the time in units of T, or None),
        ``target``, ``target_text`` (``"85% in 1.5 T"``), ``target_met`` (see
        :func:`target_met`) and ``target_measured`` (what it was judged on, in the target's own
        terms: see :func:`target_measured`), ``load_average`` (median over the runs' starts),
        ``epoch_seconds`` (the shortest and longest epoch after the first over all seeds, see
        :func:`epoch_seconds`; None for one-epoch runs),
        ``test_accuracy_range`` (the lowest and highest final test accuracy over the seeds: the
        seed spread), ``description`` and ``command`` (the first record's: what the recipe
        was when it ran, and how) and ``commands`` (every distinct one, in order).
    """
    groups: dict[tuple, list[dict]] = {}
    for record in records:
        groups.setdefault((record["run_id"], record["recipe"]), []).append(record)
    baselines = {run: group for (run, recipe), group in groups.items() if recipe == baseline}
    baseline_time = {run: _median_time([time_to_accuracy(r, accuracy) for r in group])
                     for run, group in baselines.items()}
    rows = []
    for (run, recipe), group in groups.items():
        seconds = _median_time([time_to_accuracy(r, accuracy) for r in group])
        base = baseline_time.get(run)
        target = group[0].get("target")
        accuracy_median = _median(r["test_accuracy"] for r in group)
        wall = _median(r["wall_seconds"] for r in group)
        base_wall = _median(r["wall_seconds"] for r in baselines.get(run, []))
        epochs = [s for r in group for s in epoch_seconds(r)]
        rows.append({
            "run_id": run,
            "recipe": recipe,
            "seeds": sorted(r["seed"] for r in group),
            "test_accuracy": accuracy_median,
            "test_accuracy_range": (min(r["test_accuracy"] for r in group),
                                    max(r["test_accuracy"] for r in group)),
            "wall_seconds": wall,
            "seconds_to_accuracy": seconds,
            "ratio_to_baseline": seconds / base if seconds is not None and base else None,
            "wall_ratio": wall / base_wall if base_wall else None,
            "target": target,
            "target_text": target_text(target),
            "target_met": target_met(group, target, baselines.get(run)),
            "target_measured": target_measured(group, target, baselines.get(run)),
            "load_average": _median(r.get("load_average_start") for r in group),
            "epoch_seconds": (min(epochs), max(epochs)) if epochs else None,
            "description": group[0].get("description", ""),
            "command": group[0]["command"],
            "commands": list(dict.fromkeys(r["command"] for r in group)),
        })
    return rows


def baseline_walls(records: list[dict], baseline: str = "tf-tutorial") -> dict[str, list[float]]:
    """The measurements of T in each run that timed ``baseline``: its wall times there, sorted.

    T, the unit of :func:`summarize_with_baselines`'s ``wall_ratio`` and of a target such as
    ``"85% in 1.5 T"``, is their median. Pass the records of every folder that may hold the run's
    baseline (the headline records and ``experiments``), so that every table divides by the same T.
    """
    walls: dict[str, list[float]] = {}
    for record in records:
        if record["recipe"] == baseline:
            walls.setdefault(record["run_id"], []).append(record["wall_seconds"])
    return {run: sorted(times) for run, times in walls.items()}


def summarize_with_baselines(records: list[dict], others: list[dict] | None = None, baseline: str = "tf-tutorial",
                             accuracy: float = 0.67) -> list[dict]:
    """:func:`summarize` ``records``, each compared with every record of the baseline in its run,
    whether in ``records`` or in ``others``.

    Some runs timed the baseline again beside their longer runs (the ``experiments`` folder), before
    and after them, since a machine changes speed within an hour. Here T is the median of all those
    measurements (:func:`baseline_walls`), the same T that a table of ``others`` reads from it, and
    ``wall_ratio``, ``ratio_to_baseline`` and a target relative to the baseline are all taken against
    those records.

    Args:
        records: the records to summarise, from :func:`load_records`.
        others: more records of the same runs; only their ``baseline`` records are used.
        baseline, accuracy: as for :func:`summarize`.

    Returns:
        :func:`summarize`'s rows, one per run and recipe of ``records``; the baseline's own rows
        still summarise its records in ``records`` alone, compared with that T.
    """
    extra = [r for r in others or [] if r["recipe"] == baseline]
    walls = baseline_walls([*records, *extra], baseline)
    judged = {(row["run_id"], row["recipe"]): row for row in summarize([*records, *extra], baseline, accuracy)}
    rows = []
    for row in summarize(records, baseline, accuracy):
        run = row["run_id"]
        if row["recipe"] != baseline:
            row = judged[run, row["recipe"]]  # the same seeds, judged against every baseline record
        else:
            seconds, base = row["seconds_to_accuracy"], judged[run, baseline]["seconds_to_accuracy"]
            row["ratio_to_baseline"] = seconds / base if seconds is not None and base else None
        t = statistics.median(walls[run]) if run in walls else None
        rows.append(row | {"wall_ratio": row["wall_seconds"] / t if t else None})
    return rows


def target_text(target) -> str | None:
    """A record's ``target`` in words: ``"85% in 600 s"``, ``"85% in 1.5 T"``, or
    ``"T's accuracy in 0.5 x T's time, every seed"`` (T: the baseline of the same run)."""
    if not target:
        return None
    if isinstance(target, dict) and "time_ratio" in target:
        return f"{100 * target['accuracy']:.0f}% in {target['time_ratio']:g} T"
    if isinstance(target, dict) and "baseline_accuracy_time_ratio" in target:
        return f"T's accuracy in {target['baseline_accuracy_time_ratio']:g} x T's time, every seed"
    return f"{100 * target[0]:.0f}% in {target[1]:.0f} s"


def target_point(target, baseline: list[dict] | None = None) -> tuple[float, float] | None:
    """A record's ``target`` (any form :func:`target_met` reads) as ``(accuracy 0..1, seconds)``:
    the corner a run's curve has to pass above and left of.

    ``[accuracy, seconds]`` is taken as it is; ``{"accuracy": a, "time_ratio": r}`` becomes
    ``(a, r * T)`` with T the baseline's median wall time; ``{"baseline_accuracy_time_ratio": r}``
    becomes the baseline's median final accuracy and ``r`` times its median time to that accuracy.
    None without a target, or for a relative target without ``baseline`` records of the same run.
    """
    if not target:
        return None
    if not isinstance(target, dict):
        accuracy, seconds = target
        return float(accuracy), float(seconds)
    if not baseline:
        return None
    if "time_ratio" in target:
        return float(target["accuracy"]), target["time_ratio"] * _median(r["wall_seconds"] for r in baseline)
    accuracy = _median(r["test_accuracy"] for r in baseline)
    base_time = _median_time([time_to_accuracy(r, accuracy) for r in baseline])
    return None if base_time is None else (accuracy, target["baseline_accuracy_time_ratio"] * base_time)


def target_met(group: list[dict], target, baseline: list[dict] | None) -> bool | None:
    """Whether the seeds of one recipe in one run reached ``target``; None without a target,
    or for a target relative to a baseline that this run did not train.

    The forms of ``target`` (written into each record by ``benchmarks/run.py``):

    - ``[accuracy, seconds]``: the median final test accuracy is at least ``accuracy`` and
      the median time at most ``seconds``; the time is ``wall_seconds`` unless the records
      name another field in ``target_clock`` (the GPU benchmark: training time). An absolute
      time holds only on the machine it was set for.
    - ``{"accuracy": a, "time_ratio": r}``: median accuracy at least ``a``, median wall time at
      most ``r`` times the baseline's median wall time in the same run (T).
    - ``{"baseline_accuracy_time_ratio": r}``: every seed reaches the baseline's median final
      accuracy within ``r`` times the baseline's median time to that accuracy
      (:func:`time_to_accuracy`; a baseline seed that never gets there counts as the slowest).
    """
    judged = _judged(group, target, baseline)
    if judged is None:
        return None
    (accuracy, seconds), measured = judged
    if isinstance(measured, list):
        return all(t is not None and t <= seconds for t in measured)
    median_accuracy, clock = measured
    return bool(median_accuracy >= accuracy and clock <= seconds)


def _judged(group: list[dict], target, baseline: list[dict] | None):
    """``((accuracy, seconds), measured)`` for :func:`target_met` and :func:`target_measured`: the
    target's corner, and what the run measured against it: each seed's time to that accuracy (a
    target at the baseline's own accuracy), else ``(median accuracy, median time)``. None where
    :func:`target_point` is None."""
    point = target_point(target, baseline)
    if point is None:
        return None
    if isinstance(target, dict) and "baseline_accuracy_time_ratio" in target:
        return point, [time_to_accuracy(r, point[0]) for r in group]
    # A target's time is wall time, unless the record says another clock (the GPU recipe: training time).
    clock = _median(r[r.get("target_clock", "wall_seconds")] for r in group)
    return point, (_median(r["test_accuracy"] for r in group), clock)


def target_measured(group: list[dict], target, baseline: list[dict] | None) -> str | None:
    """What :func:`target_met` judged, in the target's own terms (its accuracy and clock), for a
    table to show beside the verdict: ``"85.2% in 1.43 T"``, ``"94.1% in 28 s"``, or for a target at
    the baseline's own accuracy ``"slowest seed 0.48 x T's time to 67.6%"`` (or ``"a seed never
    reached 67.6%"``). That accuracy is the baseline's final one, not the one a table's time ratio
    column may be taken at. None where :func:`target_met` is None."""
    judged = _judged(group, target, baseline)
    if judged is None:
        return None
    (accuracy, seconds), measured = judged
    if isinstance(measured, list):
        if any(t is None for t in measured):
            return f"a seed never reached {100 * accuracy:.1f}%"
        base_time = seconds / target["baseline_accuracy_time_ratio"]
        return f"slowest seed {max(measured) / base_time:.2f} x T's time to {100 * accuracy:.1f}%"
    median_accuracy, clock = measured
    if isinstance(target, dict):  # in units of T
        return f"{100 * median_accuracy:.1f}% in {clock / (seconds / target['time_ratio']):.2f} T"
    return f"{100 * median_accuracy:.1f}% in {clock:.0f} s"


def seed_spread(records: list[dict], recipe: str, plain: bool = False) -> dict | None:
    """How far the final test accuracy of one recipe moves between seeds, in its latest run.

    A difference between two models trained once each means something only when it is larger
    than what changing the seed alone does; this is that yardstick, read from the benchmark
    records (the latest run of ``recipe`` with at least two seeds).

    Args:
        records: from :func:`load_records`.
        recipe: the recipe's name (``benchmarks/recipes.py``).
        plain: use the accuracy without test-time flipping (``test_accuracy_plain``) where a
            record has it.

    Returns:
        None when no run of ``recipe`` has two seeds; else a dict with ``recipe``, ``run_id``,
        ``seeds`` (sorted), ``accuracies`` (0..1, in the order of ``seeds``), ``low``, ``high``,
        ``spread`` (``high - low``, 0..1), ``epochs``, ``batch_size``, ``train_images`` and
        ``description`` (the first record's, None where absent).
    """
    runs: dict[str, list[dict]] = {}
    for record in records:
        if record["recipe"] == recipe:
            runs.setdefault(record["run_id"], []).append(record)
    runs = {run: group for run, group in runs.items() if len({r["seed"] for r in group}) >= 2}
    if not runs:
        return None
    group = runs[max(runs, key=lambda run: max(r.get("finished", "") for r in runs[run]))]
    group = sorted(group, key=lambda r: r["seed"])
    key = "test_accuracy_plain" if plain else "test_accuracy"
    accuracies = [r.get(key, r["test_accuracy"]) for r in group]
    first = group[0]
    return {
        "recipe": recipe,
        "run_id": first["run_id"],
        "seeds": [r["seed"] for r in group],
        "accuracies": accuracies,
        "low": min(accuracies),
        "high": max(accuracies),
        "spread": max(accuracies) - min(accuracies),
        "epochs": first.get("epochs"),
        "batch_size": first.get("batch_size"),
        "train_images": first.get("train_images"),
        "description": first.get("description"),
    }


def shift_gains(records: list[dict], recipe: str) -> tuple[str | None, list[float]]:
    """What 1-pixel test-time shifts add to test-time flips, on the same trained models of
    ``recipe``'s latest run that measured both (``benchmarks/run.py`` records both accuracies of
    each model, whichever its recipe reports).

    Returns:
        ``(run_id, gains)``: one gain per seed in percentage points (flips and shifts minus flips
        alone), in seed order; ``(None, [])`` when no run of ``recipe`` measured both.
    """
    runs: dict[str, list[dict]] = {}
    for record in records:
        if record["recipe"] != recipe or record.get("test_accuracy_flip_translate") is None:
            continue
        # Records made before a recipe could report shifts hold flips alone as test_accuracy.
        flips = record.get("test_accuracy_flip", record["test_accuracy"] if not record.get("shift") else None)
        if flips is not None:
            runs.setdefault(record["run_id"], []).append({**record, "_flips": flips})
    if not runs:
        return None, []
    run = max(runs, key=lambda r: max(x.get("finished", "") for x in runs[r]))
    group = sorted(runs[run], key=lambda r: r["seed"])
    return run, [100 * (r["test_accuracy_flip_translate"] - r["_flips"]) for r in group]



#: Recipes that took over the procedure of another recipe, each as name -> (former name, when).
#: Records finished up to ``when`` hold that procedure under the former name, and the recipe's own
#: records up to then are of what it replaced. fast-cnn adopted fast-cnn-whiten's patch-whitening
#: stem after the run that compared the two (see ``cvtutor/recipes.py``).
ADOPTIONS = {"fast-cnn": ("fast-cnn-whiten", "2026-12-08T01:29:25+00:00")}


def current_records(records: list[dict], recipe: str) -> list[dict]:
    """The records of ``recipe`` as it is now: its own, except those made before it adopted another
    recipe's procedure (:data:`ADOPTIONS`), and that recipe's records up to then.

    Returns:
        the records, unchanged (each keeps the name it was recorded under), in their order.
    """
    if recipe not in ADOPTIONS:
        return [r for r in records if r["recipe"] == recipe]
    former, when = ADOPTIONS[recipe]
    return [r for r in records if (r["recipe"] == recipe and r.get("finished", "") > when)
            or (r["recipe"] == former and r.get("finished", "") <= when)]


def run_comparison(records: list[dict], candidate: str, incumbent: str,
                   baseline: str = "tf-tutorial") -> tuple[str, dict, dict] | None:
    """Two recipes as the latest run that trained both measured them, each against T in that run.

    A change is judged against what it would replace in the same run only (:func:`summarize`'s
    rule), since the machine's speed moves between runs.

    Args:
        records: from :func:`load_records`.
        candidate, incumbent: the recipes' names as the records hold them.
        baseline: the recipe whose median wall time is T.

    Returns:
        ``(run_id, candidate_row, incumbent_row)`` with :func:`summarize`'s rows (``test_accuracy``,
        ``test_accuracy_range``, ``wall_ratio``, ``seeds``, ...), or None when no run trained both.
    """
    finished: dict[str, str] = {}
    names: dict[str, set] = {}
    for record in records:
        run = record["run_id"]
        names.setdefault(run, set()).add(record["recipe"])
        finished[run] = max(finished.get(run, ""), record.get("finished", ""))
    both = [run for run, held in names.items() if {candidate, incumbent} <= held]
    if not both:
        return None
    run = max(both, key=finished.get)
    rows = {row["recipe"]: row for row in summarize([r for r in records if r["run_id"] == run], baseline)}
    return run, rows[candidate], rows[incumbent]

_BACKEND_NAMES = {"tensorflow": "TensorFlow", "jax": "JAX", "torch": "PyTorch"}


def configuration_label(backend: str, xla: bool, precision: str) -> str:
    """``"TensorFlow + XLA, bfloat16"``: one configuration of ``python -m benchmarks.backends``
    (JAX always compiles with XLA, so its label does not repeat it)."""
    name = _BACKEND_NAMES.get(backend, backend)
    compiled = " + XLA" if xla and backend != "jax" else ""
    return f"{name}{compiled}, {'bfloat16' if 'bfloat16' in precision else precision}"


def backend_table(record: dict) -> tuple[list[str], list[dict], dict]:
    """A backends record (``python -m benchmarks.backends``) as one row per configuration.

    Args:
        record: the JSON record; its ``summary`` holds, per model and configuration, the
            median training throughput over the rounds (``images_per_second``) and its ratio
            to TensorFlow, float32, no XLA in the same run.

    Returns:
        ``(columns, rows, fastest)``: the columns are ``"configuration"`` and the models in the
        record's order; each row is one configuration (:func:`configuration_label`), its cells
        ``"1,234 (1.20x)"`` (images/s and the ratio), ``"failed"`` where that configuration
        could not train the model, ``"-"`` where it did not run. ``fastest`` maps each model
        to its fastest configuration's label and images/s (None where none trained it).
    """
    models, rows, fastest = [], {}, {}
    for entry in record["summary"]:
        label = configuration_label(entry["backend"], entry["xla"], entry["precision"])
        model = entry["model"]
        if model not in models:
            models.append(model)
            fastest[model] = None
        row = rows.setdefault(label, {"configuration": label})
        speed, ratio = entry["images_per_second"], entry["ratio_to_tensorflow_float32"]
        if speed is None:
            row[model] = "failed"
            continue
        row[model] = f"{speed:,.0f}" + (f" ({ratio:.2f}x)" if ratio else "")
        if fastest[model] is None or speed > fastest[model][1]:
            fastest[model] = (label, speed)
    for row in rows.values():
        for model in models:
            row.setdefault(model, "-")
    return ["configuration", *models], list(rows.values()), fastest
