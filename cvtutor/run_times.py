"""How long each chapter takes to run, from the book's recorded builds.

``python -m benchmarks.book_build --profile full`` (and ``quick``) times a whole build of the
book and records each notebook's execution seconds in ``benchmarks/results/book-builds/``.
``tools/book.py run-times`` condenses the latest successful record of each profile into
``cvtutor/resources/run_times.json``, which ships inside the package, so that a chapter opened
alone (in Colab, from the wheel) can still say what it costs::

    from cvtutor.run_times import show_run_time

    show_run_time("convolution.ipynb")
    # Run time of this chapter on the reference machine (2 CPU cores, no GPU): 20 s in the
    # full profile (book build of 2026-11-30, commit 8bef716), 17 s in the quick profile ...

No figure is typed by hand: every one comes from a record, with its date.
"""

from __future__ import annotations

import json
import textwrap
from importlib import resources
from pathlib import Path

PROFILES = ("full", "quick")
RESOURCE = "run_times.json"


def summarize_builds(records: list[dict]) -> dict:
    """The summary ``tools/book.py run-times`` writes, from book-build records (dicts as written by
    ``benchmarks/book_build.py``).

    For each profile the latest record (by ``finished``) whose build succeeded (return code 0,
    no notebook failed) counts. Returns ``{"builds": {profile: {...}}, "chapters": {notebook:
    {profile: seconds}}}``, notebooks named by file (``"convolution.ipynb"``).
    """
    builds, chapters = {}, {}
    for profile in PROFILES:
        good = [r for r in records if r.get("kind") == "book-build" and r.get("profile") == profile
                and r.get("returncode") == 0 and not r.get("notebook_failures")]
        if not good:
            continue
        latest = max(good, key=lambda r: r["finished"])
        builds[profile] = {
            "finished": latest["finished"],
            "commit": latest.get("commit"),
            "cpus": latest.get("cpus"),
            "gpu": latest.get("gpu"),
            "seconds": round(float(latest["seconds"]), 1),
            "command": latest.get("command"),
        }
        for page, seconds in latest["notebook_seconds"].items():
            chapters.setdefault(Path(page).name, {})[profile] = round(float(seconds), 1)
    return {"builds": builds, "chapters": dict(sorted(chapters.items()))}


def load() -> dict:
    """The summary that ships with the package (``cvtutor/resources/run_times.json``)."""
    return json.loads(resources.files("cvtutor").joinpath("resources", RESOURCE).read_text(encoding="utf-8"))


def duration(seconds: float) -> str:
    """``seconds`` as a reader says it: ``"45 s"``, ``"15 min"``, ``"1 h 20 min"``."""
    if seconds < 100:
        return f"{seconds:.0f} s"
    minutes = round(seconds / 60)
    return f"{minutes} min" if minutes < 60 else f"{minutes // 60} h {minutes % 60} min"


def profile_substitutions(summary: dict | None = None) -> dict[str, str]:
    """What the preface says of each recorded profile, as MyST substitutions: ``<profile>_build_time``
    (the whole build), ``<profile>_slowest_time`` and ``<profile>_slowest_chapter`` (its slowest
    notebook, by file name), e.g. ``{"quick_slowest_time": "2 min", ...}``. ``tools/book.py
    run-times`` writes them into ``_config.yml``, so the claim follows the latest recorded build."""
    summary = load() if summary is None else summary
    found = {}
    for profile, build in summary["builds"].items():
        times = {name: t[profile] for name, t in summary["chapters"].items() if profile in t and name.endswith(".ipynb")}
        if not times:
            continue
        slowest = max(times, key=times.get)
        found |= {f"{profile}_build_time": duration(build["seconds"]), f"{profile}_slowest_time": duration(times[slowest]),
                  f"{profile}_slowest_chapter": slowest}
    return found


def _build_label(build: dict) -> str:
    label = f"book build of {build['finished'][:10]}"
    return label + (f", commit {build['commit'][:7]}" if build.get("commit") else "")


def describe(notebook: str, summary: dict | None = None) -> str:
    """One line: what ``notebook`` (e.g. ``"convolution.ipynb"``) took to run in each recorded
    profile, on which machine, and from which build.

    Raises:
        ValueError: ``notebook`` is in no recorded build.
    """
    summary = load() if summary is None else summary
    name = Path(notebook).name
    times = summary["chapters"].get(name)
    if not times:
        known = ", ".join(summary["chapters"]) or "none"
        raise ValueError(f"no recorded book build ran {name!r}; recorded chapters: {known}")
    parts, machine = [], None
    for profile in PROFILES:
        if profile in times:
            build = summary["builds"][profile]
            machine = machine or (build.get("cpus"), build.get("gpu"))
            parts.append(f"{duration(times[profile])} in the {profile} profile ({_build_label(build)})")
    cpus, gpu = machine
    where = f"{cpus} CPU cores" if cpus else "a CPU"
    where += f", GPU {gpu}" if gpu else ", no GPU"
    line = f"Run time of this chapter on the reference machine ({where}): " + "; ".join(parts) + "."
    if not any(build.get("gpu") for build in summary["builds"].values()):
        line += " No build on a GPU has been recorded."
    return line


#: Chapters added since the last recorded book build, for which :func:`show_run_time` says that no build has
#: run them yet, instead of failing. The next recorded build (``python -m benchmarks.book_build``,
#: then ``python tools/book.py run-times``) records them; then they leave this set.
AWAITING_FIRST_BUILD = frozenset({"pretrained.ipynb", "backprop.ipynb", "cnn_features.ipynb",
                                 "regularisation.ipynb", "landscape.ipynb", "summary.ipynb"})


def show_run_time(notebook: str) -> None:
    """Print :func:`describe`'s line for ``notebook`` (the first cells of every chapter call it).

    Raises:
        ValueError: ``notebook`` is in no recorded build and not in :data:`AWAITING_FIRST_BUILD`.
    """
    if Path(notebook).name in AWAITING_FIRST_BUILD and Path(notebook).name not in load()["chapters"]:
        print("No recorded book build has run this chapter yet; the next one records its run time.")
        return
    print(textwrap.fill(describe(notebook), width=88))
