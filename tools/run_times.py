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

    python tools/book.py run-times           # rewrite what is out of date
    python tools/book.py run-times --check   # exit 1 naming what is out of date (tests/test_run_times.py)
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from notebook_files import ROOT, read_notebook, update_text, write_notebook

from cvtutor.profiles import get_profile
from cvtutor.records import RESULTS_RESOURCE, bundle_results
from cvtutor.run_times import RESOURCE, profile_substitutions, summarize_builds

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


def _sync_notebook(path: Path, write: bool) -> bool:
    """True when the notebook's run-time cell is missing, differs or is not right after the
    setup cell (the first code cell); fixed if ``write``."""
    nb = read_notebook(path)
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
        write_notebook(path, nb)
    return True


def sync(root: Path = ROOT, write: bool = True) -> list[str]:
    """Bring the summary and the notebooks up to date (only report with ``write=False``)."""
    stale = []
    for name, text in ((RESULTS_RESOURCE, bundle_text(root)), (RESOURCE, summary_text(root))):
        resource = root / "cvtutor" / "resources" / name
        if update_text(resource, text, write):
            stale.append(str(resource.relative_to(root)))
    stale += [str(p.relative_to(root)) for p in sorted((root / "book").glob("*.ipynb")) if _sync_notebook(p, write)]
    config = root / "_config.yml"
    quick = get_profile("quick")
    values = profile_substitutions(summarize_builds(records(root))) | {
        "quick_train_images": f"{quick.train_size:,}", "quick_max_epochs": str(quick.max_epochs)}
    if config.is_file() and update_text(config, with_substitutions(config.read_text(encoding="utf-8"), values), write):
        stale.append("_config.yml (the run profiles' times)")
    return stale


def with_substitutions(config: str, values: dict[str, str]) -> str:
    """``_config.yml``'s text with ``values`` as MyST substitutions (replaced where present, else
    added after ``cvtutor_version``), its comments and layout kept."""
    for key, value in sorted(values.items()):
        line = re.compile(rf'(?m)^(\s*){re.escape(key)}:\s*".*"$')
        if line.search(config):
            config = line.sub(lambda m: f'{m.group(1)}{key}: {json.dumps(value)}', config)
        else:
            anchor = re.search(r'(?m)^(\s*)cvtutor_version:\s*".*"$', config)
            config = config[:anchor.end()] + f"\n{anchor.group(1)}{key}: {json.dumps(value)}" + config[anchor.end():]
    return config
