"""Ship the book's benchmark records with the package, and write what each chapter costs to run.

Three places, one source (``benchmarks/results/``, written by ``python -m benchmarks.run`` and
``python -m benchmarks.book_build``):

- ``cvtutor/resources/benchmark_results.json``: every record under ``benchmarks/results``
  (:func:`cvtutor.records.bundle_results`). The chapters read it
  (:func:`cvtutor.records.load_records`), so a chapter opened alone (Colab, the wheel) shows
  the numbers the book shows; and since it is part of cvtutor's source, a new record also
  changes the book's execution-cache key.
- ``cvtutor/resources/run_times.json``: the latest successful build of each profile, condensed
  by :func:`cvtutor.run_times.summarize_builds`.
- in every notebook of the book, right after the setup cell, a cell that prints the chapter's
  line (:func:`cvtutor.run_times.show_run_time`), tagged ``hide-input`` (the page shows the
  line, not the call) and marked ``"cvtutor": "run_time"``.

Run after recording a benchmark or a book build::

    python tools/run_times.py           # rewrite what is out of date
    python tools/run_times.py --check   # exit 1 naming what is out of date (tests/test_run_times.py)
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the checkout's package, also where another cvtutor is installed

from cvtutor.files import atomic_write  # noqa: E402
from cvtutor.records import RESULTS_RESOURCE, bundle_results  # noqa: E402
from cvtutor.run_times import RESOURCE, summarize_builds  # noqa: E402

MARK = "run_time"  # the value of the generated cells' "cvtutor" metadata
CELL = '''\
# How long this chapter takes to run, read from the book's recorded builds.
from cvtutor.run_times import show_run_time

show_run_time("{notebook}")'''


def records(root: Path = ROOT) -> list[dict]:
    return [json.loads(p.read_text(encoding="utf-8"))
            for p in sorted((root / "benchmarks" / "results" / "book-builds").glob("*.json"))]


def summary_text(root: Path = ROOT) -> str:
    return json.dumps(summarize_builds(records(root)), indent=1, ensure_ascii=False) + "\n"


def bundle_text(root: Path = ROOT) -> str:
    """The records as shipped: one compact line per file, so that a diff shows which changed."""
    files = bundle_results(root / "benchmarks" / "results")["files"]
    lines = [f" {json.dumps(name)}: {json.dumps(record, ensure_ascii=False, sort_keys=True)}"
             for name, record in files.items()]
    return '{"files": {\n' + ",\n".join(lines) + "\n}}\n"


def run_time_cell(notebook: str) -> dict:
    return {"cell_type": "code", "execution_count": None, "id": "run-time",
            "metadata": {"cvtutor": MARK, "tags": ["hide-input"]}, "outputs": [],
            "source": CELL.format(notebook=notebook).splitlines(keepends=True)}


def _write(path: Path, text: str) -> None:
    with atomic_write(path, "w") as f:  # whole or not at all, the file's permissions kept
        f.write(text)


def _sync_notebook(path: Path, write: bool) -> bool:
    """True when the notebook's run-time cell is missing, differs or is not right after the
    setup cell (the first code cell); fixed if ``write``."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    cells = [c for c in nb["cells"] if c.get("metadata", {}).get("cvtutor") != MARK]
    setup = next(i for i, c in enumerate(cells) if c["cell_type"] == "code")
    wanted = run_time_cell(path.name)
    old = [c for c in nb["cells"] if c.get("metadata", {}).get("cvtutor") == MARK]
    if old:  # keep what Jupyter added (outputs, execution count); compare what we write
        wanted = old[0] | {k: wanted[k] for k in ("cell_type", "id", "metadata", "source")}
    new = cells[: setup + 1] + [wanted] + cells[setup + 1:]
    if new == nb["cells"]:
        return False
    if write:
        nb["cells"] = new
        _write(path, json.dumps(nb, indent=1, ensure_ascii=False) + "\n")
    return True


def sync(root: Path = ROOT, write: bool = True) -> list[str]:
    """Bring the summary and the notebooks up to date (only report with ``write=False``)."""
    stale = []
    for name, text in ((RESULTS_RESOURCE, bundle_text(root)), (RESOURCE, summary_text(root))):
        resource = root / "cvtutor" / "resources" / name
        if not resource.exists() or resource.read_text(encoding="utf-8") != text:
            stale.append(str(resource.relative_to(root)))
            if write:
                _write(resource, text)
    stale += [str(p.relative_to(root)) for p in sorted((root / "book").glob("*.ipynb")) if _sync_notebook(p, write)]
    return stale


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if anything is out of date")
    parser.add_argument("--root", type=Path, default=ROOT, help="the checkout (default: this one)")
    args = parser.parse_args(argv)
    stale = sync(args.root, write=not args.check)
    if stale and args.check:
        print("out of date (run python tools/run_times.py): " + ", ".join(stale))
        return 1
    print("updated: " + ", ".join(stale) if stale else "every chapter's run time matches the recorded builds")
    return 0


if __name__ == "__main__":
    sys.exit(main())
