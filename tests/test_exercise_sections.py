"""The Exercises section at the end of chapters 1.2-1.5.4 (tools/exercise_sections.py, run as tools/book.py exercises): it is up to
date with cvtutor.exercises, every chapter has its graded exercises and open-ended experiments,
every reader cell answers "not yet" and every worked solution "correct" when run, and --check
catches a section that was edited by hand.

The cells run with ``exec`` on their sources in a fresh namespace, not as notebooks."""

import ast
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cvtutor import notebook
from cvtutor.exercises import EXERCISES, OPEN_ENDED, Result, solution

ROOT = Path(__file__).resolve().parent.parent
TOOL = ROOT / "tools" / "book.py"  # python tools/book.py exercises
sys.path.insert(0, str(ROOT / "tools"))
import exercise_sections as sections  # noqa: E402

REQUIRED = {c: 3 for c in ("1.2", "1.3.1", "1.3.2", "1.3.3", "1.3.4", "1.4.1", "1.4.2", "1.4.3", "1.4.4",
                                 "1.4.5")}
REQUIRED.update({c: 2 for c in ("1.5.1", "1.5.2", "1.5.3", "1.5.4", "1.5.5", "1.5.6", "summary")})
NOTEBOOKS = {"1.2": "core_concepts", "1.3.1": "convolution", "1.3.2": "recurrence", "1.3.3": "attention",
             "1.3.4": "backprop",
             "1.4.1": "cnn_classifier", "1.4.2": "rnn_classifier", "1.4.3": "attention_classifier",
             "1.4.4": "cnn_features",
             "1.4.5": "regularisation",
             "1.5.1": "bigger_models", "1.5.2": "complex_structures", "1.5.3": "efficient_training",
             "1.5.4": "challenges", "1.5.5": "pretrained",
             "1.5.6": "landscape", "summary": "summary"}


def source(cell) -> str:
    return cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])


def cells_of(chapter: str, root: Path = ROOT) -> list[dict]:
    return json.loads((root / "book" / f"{NOTEBOOKS[chapter]}.ipynb").read_text(encoding="utf-8"))["cells"]


def section_of(chapter: str) -> list[dict]:
    """The chapter's generated cells, checked to be its last ones, in one block."""
    cells = cells_of(chapter)
    marked = [i for i, c in enumerate(cells) if c.get("metadata", {}).get("cvtutor") == "exercises"]
    assert marked, f"{NOTEBOOKS[chapter]}.ipynb has no Exercises section"
    assert marked == list(range(marked[0], len(cells))), "the Exercises section must be the chapter's last cells"
    return cells[marked[0]:]


def is_solution_cell(cell) -> bool:
    return cell["cell_type"] == "code" and "hide-cell" in cell["metadata"].get("tags", [])


def run_cell(code: str, name: str):
    """Run ``code`` in a fresh namespace, as a notebook would; returns the last expression's value."""
    tree = ast.parse(code)
    last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
    namespace = {"__name__": "__main__"}
    exec(compile(tree, f"<{name}>", "exec"), namespace)  # noqa: S102 - the notebook's own cells
    return eval(compile(ast.Expression(last.value), f"<{name}>", "eval"), namespace) if last else None


# --- the section is up to date and complete ------------------------------------------------------


def test_check_passes_on_the_repository():
    done = subprocess.run([sys.executable, str(TOOL), "exercises", "--check"], capture_output=True, text=True, cwd=ROOT,
                          check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_tool_knows_every_chapter():
    assert sections.CHAPTERS == NOTEBOOKS
    assert sections.REQUIRED == REQUIRED


@pytest.mark.parametrize("chapter", list(NOTEBOOKS))
def test_each_chapter_has_its_graded_exercises_and_open_ended_experiments(chapter):
    cells = section_of(chapter)
    assert source(cells[0]).startswith("## Exercises\n")
    headings = [re.match(r"### Exercise (\d+): (.+)", source(c)) for c in cells if c["cell_type"] == "markdown"]
    numbers = [int(m.group(1)) for m in headings if m]
    assert len(numbers) >= REQUIRED[chapter], f"chapter {chapter} shows {len(numbers)} graded exercises"
    assert numbers == list(range(1, len(numbers) + 1)), numbers
    assert len([c for c in cells if is_solution_cell(c)]) == len(numbers)
    hints = [c for c in cells if source(c).startswith("<details>\n<summary>Hint</summary>\n\n")]
    assert len(hints) == len(numbers) and all(source(c).endswith("\n\n</details>") for c in hints)
    last = source(cells[-1])
    assert last.startswith("### Open-ended experiments\n") and "not graded" in last
    assert [line[2:] for line in last.splitlines() if line.startswith("- ")] == list(OPEN_ENDED[chapter])
    assert OPEN_ENDED[chapter]


@pytest.mark.parametrize("exercise_id", list(EXERCISES))
def test_every_exercise_appears_in_its_chapter(exercise_id):
    exercise = EXERCISES[exercise_id]
    cells = section_of(exercise.chapter)
    quoted = json.dumps(exercise_id)
    task = [i for i, c in enumerate(cells) if c["cell_type"] == "markdown"
            and re.match(rf"### Exercise \d+: {re.escape(exercise.title)}\n\n{re.escape(exercise.task)}$", source(c))]
    assert len(task) == 1, f"{exercise_id}: no heading with its title and task"
    reader, hint, label, worked = cells[task[0] + 1: task[0] + 5]
    assert reader["cell_type"] == "code" and not is_solution_cell(reader)
    assert f"check({quoted}, " in source(reader) and "solution(" not in source(reader)
    assert exercise.hint in source(hint)
    assert source(label) == "Worked solution:"
    assert is_solution_cell(worked) and f"show_source(solution({quoted}), docstring=True)" in source(worked)
    assert worked["metadata"]["jupyter"] == {"source_hidden": True, "outputs_hidden": True}
    for cell in (reader, worked):
        assert cell["outputs"] == [] and cell["execution_count"] is None
        assert max(map(len, source(cell).splitlines())) <= 88


def test_markdown_of_the_registry_renders():
    """Titles, tasks, hints and open-ended experiments are Markdown: code spans closed, and no
    ``$``, which the book's dollarmath would read as the start of math."""
    texts = [(f"{i} {what}", getattr(e, what)) for i, e in EXERCISES.items() for what in ("title", "task", "hint")]
    texts += [(f"open-ended {c}", t) for c, items in OPEN_ENDED.items() for t in items]
    bad = [name for name, text in texts if text.count("`") % 2 or "$" in text or "\n" in text]
    assert not bad, bad


# --- the cells run: "not yet" for the stub, "correct" for the worked solution ------------------


def _code_cells(exercise_id):
    cells = section_of(EXERCISES[exercise_id].chapter)
    quoted = json.dumps(exercise_id)
    reader = [c for c in cells if c["cell_type"] == "code" and not is_solution_cell(c) and quoted in source(c)]
    worked = [c for c in cells if is_solution_cell(c) and quoted in source(c)]
    assert len(reader) == len(worked) == 1
    return source(reader[0]), source(worked[0])


@pytest.mark.parametrize("exercise_id", list(EXERCISES))
def test_reader_cell_answers_not_yet(exercise_id):
    result = run_cell(_code_cells(exercise_id)[0], f"{exercise_id} reader cell")
    assert isinstance(result, Result) and not result, result
    assert str(result).startswith("not yet: ") and "\n" not in str(result)


@pytest.mark.parametrize("exercise_id", list(EXERCISES))
def test_worked_solution_cell_shows_the_solution_and_passes(exercise_id, monkeypatch, capsys):
    shown = []
    real = getattr(notebook, "show_source", None)

    def show_source(obj, *args, **kwargs):  # the real one (if there) outside IPython prints the code
        shown.append(obj)
        if real is not None:
            return real(obj, *args, **kwargs)

    monkeypatch.setattr(notebook, "show_source", show_source, raising=False)
    result = run_cell(_code_cells(exercise_id)[1], f"{exercise_id} solution cell")
    assert isinstance(result, Result) and result, result
    assert str(result).startswith("correct: ")
    assert shown == [solution(exercise_id)]
    if real is not None:
        assert f"def {solution(exercise_id).__name__}(" in capsys.readouterr().out


# --- --check catches a hand-edited section, and a rerun restores it ------------------------------


def _run_tool(root: Path, *args):
    return subprocess.run([sys.executable, str(TOOL), "--root", str(root), "exercises", *args],
                          capture_output=True, text=True, cwd=ROOT, check=False)


def test_check_names_a_notebook_whose_section_was_edited(tmp_path):
    (tmp_path / "book").mkdir()
    for name in NOTEBOOKS.values():
        shutil.copy(ROOT / "book" / f"{name}.ipynb", tmp_path / "book")
    path = tmp_path / "book" / "convolution.ipynb"
    original = path.read_bytes()
    assert _run_tool(tmp_path, "--check").returncode == 0

    edits = {
        "hint edited": lambda cells: cells[-4]["source"].insert(-1, "My own note.\n\n"),
        "a cell added after the section": lambda cells: cells.append(
            {"cell_type": "markdown", "id": "mine", "metadata": {}, "source": ["A note."]}),
        "section removed": lambda cells: cells.__setitem__(slice(None), [
            c for c in cells if c.get("metadata", {}).get("cvtutor") != "exercises"]),
    }
    for what, edit in edits.items():
        nb = json.loads(original)
        edit(nb["cells"])
        path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        done = _run_tool(tmp_path, "--check")
        assert done.returncode == 1, what
        assert "book/convolution.ipynb" in done.stdout and "core_concepts" not in done.stdout, (what, done.stdout)
        assert path.read_bytes() != original, "--check changes nothing"

        assert _run_tool(tmp_path).returncode == 0
        assert _run_tool(tmp_path, "--check").returncode == 0, what
        if what != "a cell added after the section":  # that cell is kept, above the section
            assert path.read_bytes() == original, f"{what}: a rerun restores the notebook byte for byte"
        else:
            cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
            assert [c.get("id") for c in cells].index("mine") < [c.get("id") for c in cells].index("exercises-intro")
