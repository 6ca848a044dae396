"""Write the "Exercises" section at the end of every chapter from 1.2 to 1.5.6 and the one-page summary, from :mod:`cvtutor.exercises`.

One source of truth: each exercise's title, task, hint and worked solution live in the package
(:data:`cvtutor.exercises.EXERCISES`, :data:`cvtutor.exercises.OPEN_ENDED`), where the tests
run every solution and every plausible wrong answer against the checker. This tool writes them
into the chapter, as the last cells of its notebook, after the Summary:

- ``## Exercises`` and how the checker works;
- per graded exercise, numbered within the chapter: ``### Exercise k: <title>`` and the task;
  a code cell for the reader (a stub that raises, then ``check(id, answer)``, which answers
  "not yet: ..." until the stub is replaced); the hint in a collapsed ``<details>`` toggle
  (Jupyter Book, JupyterLab and Colab all render it); the worked solution, a code cell that
  shows the solution's source (:func:`cvtutor.notebook.show_source`) and checks it, folded
  away by the ``hide-cell`` tag (Jupyter Book) and ``jupyter.source_hidden`` /
  ``outputs_hidden`` (JupyterLab);
- ``### Open-ended experiments``: what the chapter suggests beyond them, ungraded.

Every cell it writes carries ``"cvtutor": "exercises"`` in its metadata, so a rerun replaces
exactly those cells and puts the section back at the end; every other cell is kept byte for
byte. Run it after changing an exercise in the package::

    python tools/book.py exercises           # rewrite the sections that are out of date
    python tools/book.py exercises --check   # exit 1 naming them (tests/test_exercise_sections.py)

Only notebooks that are out of date are rewritten, each read and written back in one step
(written to a temporary file, then renamed over it); running it twice changes nothing.
"""

from __future__ import annotations

import json
from pathlib import Path

from notebook_files import ROOT, read_notebook, write_notebook

from cvtutor.exercises import EXERCISES, OPEN_ENDED, Exercise, exercises_for

# Chapter -> notebook (book/<name>.ipynb).
CHAPTERS = {
    "1.2": "core_concepts",
    "1.3.1": "convolution",
    "1.3.2": "recurrence",
    "1.3.3": "attention",
    "1.3.4": "backprop",
    "1.4.1": "cnn_classifier",
    "1.4.2": "rnn_classifier",
    "1.4.3": "attention_classifier",
    "1.4.4": "cnn_features",
    "1.4.5": "regularisation",
    "1.5.1": "bigger_models",
    "1.5.2": "complex_structures",
    "1.5.3": "efficient_training",
    "1.5.4": "challenges",
    "1.5.5": "pretrained",
    "1.5.6": "landscape",
    "summary": "summary",
}
# Graded exercises each chapter needs at least (issue #18, item 2).
REQUIRED = {chapter: (2 if chapter.startswith("1.5.") or chapter == "summary" else 3) for chapter in CHAPTERS}

MARK = "exercises"  # the value of the generated cells' "cvtutor" metadata
SOLUTION_TAGS = ["hide-cell"]
LINE = 88  # the longest line of a generated code cell (tests/test_book.py checks every code cell)

INTRO = """\
## Exercises

The graded exercises below are checked offline by `cvtutor.exercises.check`, each in under a
second once Keras is loaded: it runs your answer on seeded random inputs, edge cases included,
compares it with the package's reference (or with Keras) and answers in one line. Replace the
stub in an exercise's code cell with your code and run the cell; until then it answers
"not yet". A hint and a worked solution sit in collapsed toggles below each exercise."""

OPEN_ENDED_INTRO = """\
### Open-ended experiments

These are not graded: the answer to each is a plot, a measurement on your machine or an
argument, which no checker can compare with a reference."""

STUB = 'raise NotImplementedError("replace with your code")'


def function_name(exercise: Exercise) -> str:
    """The name the reader's function takes: the task's signature, e.g. ``conv2d_dilated``."""
    return exercise.signature.split("(")[0]


def reader_source(exercise: Exercise) -> str:
    """The reader's code cell: imports, a stub, and the check."""
    quoted = json.dumps(exercise.id)
    if exercise.kind == "value":
        return (f"from cvtutor.exercises import check\n\nanswer = None  # your count\n\n"
                f"check({quoted}, answer)")
    return (f"import numpy as np\n\nfrom cvtutor.exercises import check\n\n\n"
            f"def {exercise.signature}:\n    {STUB}\n\n\n"
            f"check({quoted}, {function_name(exercise)})")


def solution_source(exercise: Exercise) -> str:
    """The worked solution's cell: its source, shown from the package, and its check."""
    quoted = json.dumps(exercise.id)
    # A value exercise's solution is a function of no arguments that computes the number.
    answer = f"solution({quoted})" + ("()" if exercise.kind == "value" else "")
    return (f"from cvtutor.exercises import check, solution\nfrom cvtutor.notebook import show_source\n\n"
            f"show_source(solution({quoted}), docstring=True)\ncheck({quoted}, {answer})")


def hint_source(exercise: Exercise) -> str:
    return f"<details>\n<summary>Hint</summary>\n\n{exercise.hint}\n\n</details>"


def open_ended_source(chapter: str) -> str:
    return OPEN_ENDED_INTRO + "\n\n" + "\n".join(f"- {item}" for item in OPEN_ENDED[chapter])


def _cell(kind: str, source: str, cell_id: str | None, tags=None, hidden: bool = False) -> dict:
    """A notebook cell, its keys in the order nbformat writes them."""
    if kind == "code":
        long = [line for line in source.splitlines() if len(line) > LINE]
        if long:
            raise ValueError(f"generated code lines longer than {LINE} characters: {long}")
    metadata: dict = {"cvtutor": MARK}
    if hidden:
        metadata["jupyter"] = {"outputs_hidden": True, "source_hidden": True}
    if tags:
        metadata["tags"] = list(tags)
    cell: dict = {"cell_type": kind}
    if kind == "code":
        cell["execution_count"] = None
    if cell_id is not None:  # nbformat 4.5: ids are required and unique
        cell["id"] = cell_id
    cell["metadata"] = metadata
    if kind == "code":
        cell["outputs"] = []
    cell["source"] = source.splitlines(keepends=True)
    return cell


def section_cells(chapter: str, with_ids: bool = True) -> list[dict]:
    """The cells of chapter ``chapter``'s Exercises section, in order."""
    def cell_id(name: str) -> str | None:
        return f"exercises-{name}" if with_ids else None

    cells = [_cell("markdown", INTRO, cell_id("intro"))]
    for number, exercise in enumerate(exercises_for(chapter), start=1):
        name = exercise.id[len(chapter) + 1:]
        cells += [
            _cell("markdown", f"### Exercise {number}: {exercise.title}\n\n{exercise.task}", cell_id(f"{name}-task")),
            _cell("code", reader_source(exercise), cell_id(f"{name}-try")),
            _cell("markdown", hint_source(exercise), cell_id(f"{name}-hint")),
            _cell("markdown", "Worked solution:", cell_id(f"{name}-solution-label")),
            _cell("code", solution_source(exercise), cell_id(f"{name}-solution"), tags=SOLUTION_TAGS, hidden=True),
        ]
    cells.append(_cell("markdown", open_ended_source(chapter), cell_id("open-ended")))
    return cells


def is_section_cell(cell: dict) -> bool:
    return cell.get("metadata", {}).get("cvtutor") == MARK


def _normal(cell: dict) -> dict:
    """``cell`` with its source as one string (notebooks may store it either way)."""
    source = cell.get("source", "")
    return {**cell, "source": source if isinstance(source, str) else "".join(source)}


def with_section(nb: dict, chapter: str) -> list[dict]:
    """``nb``'s cells without any generated cell, then the chapter's section."""
    with_ids = nb.get("nbformat", 4) > 4 or nb.get("nbformat_minor", 0) >= 5
    return [c for c in nb["cells"] if not is_section_cell(c)] + section_cells(chapter, with_ids)


def sync_notebook(path: Path, chapter: str, write: bool = True) -> bool:
    """True when ``path``'s section is missing, differs, or is not last (rewritten if ``write``)."""
    nb = read_notebook(path)
    cells = with_section(nb, chapter)
    if [_normal(c) for c in nb["cells"]] == [_normal(c) for c in cells]:
        return False
    if write:
        nb["cells"] = cells
        write_notebook(path, nb)
    return True


def check_registry() -> list[str]:
    """What the registry lacks: chapters below their required count or without open-ended experiments."""
    problems = []
    for chapter, needed in REQUIRED.items():
        if len(exercises_for(chapter)) < needed:
            problems.append(f"chapter {chapter} has {len(exercises_for(chapter))} graded exercises, needs {needed}")
        if not OPEN_ENDED.get(chapter):
            problems.append(f"chapter {chapter} lists no open-ended experiments")
    unplaced = sorted({e.chapter for e in EXERCISES.values()} - set(CHAPTERS))
    if unplaced:
        problems.append(f"exercises of chapters with no notebook here: {', '.join(unplaced)}")
    return problems


def sync(root: Path = ROOT, write: bool = True) -> list[str]:
    """Bring every chapter's section up to date (or only report, with ``write=False``); returns
    the notebooks that were out of date."""
    return [f"book/{name}.ipynb" for chapter, name in CHAPTERS.items()
            if sync_notebook(root / "book" / f"{name}.ipynb", chapter, write)]
