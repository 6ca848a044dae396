"""The book builds (notebooks executed, warnings as errors), every page in _toc.yml exists, and
the publishing workflow runs the README's commands."""

import ast
import json
import re
import sys
from pathlib import Path

import pytest
import yaml
from conftest import BUILD_COMMAND, REAL_DATA, ROOT

sys.path.insert(0, str(ROOT / "tools"))
import sync_book  # noqa: E402

WORKFLOW = ROOT / ".github" / "workflows" / "publish.yml"
# The longest line of a code cell: what the content column shows at 1280 px wide in the theme's
# code font without scrolling (tests/test_browser.py measures the column).
MAX_CODE_LINE = sync_book.LINE


def toc_files() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]]
    for part in toc.get("parts", []):
        for chapter in part["chapters"]:
            files.append(chapter["file"])
            files += [section["file"] for section in chapter.get("sections", [])]
    return files


def notebooks() -> list[Path]:
    return sorted((ROOT / "book").glob("*.ipynb"))


def readme_shell_commands() -> list[str]:
    """The commands of the README's ```bash blocks, one per line, comments dropped."""
    blocks = re.findall(r"```bash\n(.*?)```", (ROOT / "README.md").read_text(), flags=re.S)
    lines = [line.split(" #")[0].strip() for block in blocks for line in block.splitlines()]
    return [line for line in lines if line]


def test_readme_states_the_build_command():
    assert " ".join(BUILD_COMMAND) in (ROOT / "README.md").read_text()


def test_publish_workflow_runs_the_readmes_setup_and_build_command():
    setup_and_build = [c for c in readme_shell_commands() if c.endswith(" ".join(BUILD_COMMAND))]
    assert len(setup_and_build) == 1, f"the README should state its set-up and build as one command: {setup_and_build}"
    workflow = yaml.safe_load(WORKFLOW.read_text())
    steps = [step for job in workflow["jobs"].values() for step in job.get("steps", [])]
    runs = [line.strip() for step in steps for line in step.get("run", "").splitlines()]
    assert setup_and_build[0] in runs, f"{WORKFLOW.name} does not run the README's command verbatim:\n{runs}"
    uses = [step.get("uses", "").split("@")[0] for step in steps]
    for action in ("actions/checkout", "actions/setup-python", "actions/upload-pages-artifact", "actions/deploy-pages"):
        assert action in uses, f"{WORKFLOW.name} lacks {action}"
    upload = next(step for step in steps if step.get("uses", "").startswith("actions/upload-pages-artifact"))
    assert upload["with"]["path"] == "_build/html"


def test_the_published_build_and_ci_restore_no_execution_cache():
    """Every published page and every CI run comes from executions of its own (a fresh clone)."""
    workflow = yaml.safe_load(WORKFLOW.read_text())
    steps = [step for job in workflow["jobs"].values() for step in job.get("steps", [])]
    cached = [str(step.get("with", {}).get("path", "")) for step in steps if "cache" in step.get("uses", "")]
    assert not [p for p in cached if "_build" in p or "jupyter_cache" in p], cached
    ci = (ROOT / ".ci" / "run").read_text()
    assert "_build" not in ci and "jupyter_cache" not in ci


@pytest.mark.parametrize("path", notebooks(), ids=lambda p: p.name)
def test_notebook_conventions(path):
    nb = json.loads(path.read_text())
    rel = path.relative_to(ROOT).with_suffix("").as_posix()
    assert rel in toc_files(), f"{rel} is not in _toc.yml"
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert all(not c["outputs"] and c["execution_count"] is None for c in code), "commit notebooks without outputs"
    version, repository = sync_book.settings()
    assert "".join(code[0]["source"]) == sync_book.setup_cell(version, repository), (
        "the first code cell must be the setup cell for this release: run python tools/book.py sync")
    title = "".join(nb["cells"][0]["source"]).splitlines()[0]
    assert title.startswith("# ") and re.search(r"[\u4e00-\u9fff]", title), f"title lacks the Chinese heading: {title}"


def test_milestone_sources_are_in_the_bibliography():
    from cvtutor.milestones import read_milestones

    bib = (ROOT / "book" / "references.bib").read_text()
    keys = set(re.findall(r"@\w+\{([^,]+),", bib))
    rows = read_milestones()
    assert rows and {r["source"] for r in rows} <= keys


@pytest.mark.skipif(not REAL_DATA, reason="the book's chapters need CIFAR-10: set CVTUTOR_DATA")
def test_book_builds_and_every_toc_entry_has_a_page(english_book):
    result = english_book
    assert result.returncode == 0, f"book build failed:\n{result.stdout[-6000:]}\n{result.stderr[-3000:]}"
    html = result.html
    missing = [f for f in toc_files() if not (html / f"{f}.html").is_file()]
    assert not missing, f"no HTML page for {missing}"
    for path in notebooks():
        page = (html / path.relative_to(ROOT).with_suffix(".html")).read_text()
        assert re.search(r'<img[^>]+src="[^"]*_images/', page), f"{path.name}: the executed notebook shows no figure"
        assert "Traceback" not in page or "raises-exception" in path.read_text(), f"{path.name}: an error was rendered"


def _source(cell) -> str:
    return cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])


def _tags(cell) -> list[str]:
    return cell.get("metadata", {}).get("tags", [])


@pytest.mark.parametrize("path", notebooks(), ids=lambda p: p.name)
def test_code_lines_fit_the_page(path):
    """No line of a code cell is longer than the content column shows: nothing scrolls sideways."""
    nb = json.loads(path.read_text())
    long = [f"cell {i}: {len(line)} chars: {line[:60]}..."
            for i, cell in enumerate(nb["cells"]) if cell["cell_type"] == "code"
            for line in _source(cell).splitlines() if len(line) > MAX_CODE_LINE]
    assert not long, f"{len(long)} code lines longer than {MAX_CODE_LINE} characters:\n" + "\n".join(long)


@pytest.mark.parametrize("path", notebooks(), ids=lambda p: p.name)
def test_cells_that_only_glue_or_assert_are_hidden(path):
    """A cell of nothing but glue(...) calls and asserts is tagged remove-cell (tools/sync_book.py
    tags it): the page shows its numbers in the prose, not its code."""
    cells = json.loads(path.read_text())["cells"]
    shown = [f"cell {i}: {_source(c)[:80]!r}" for i, c in enumerate(cells)
             if c["cell_type"] == "code" and sync_book.glue_or_assert_only(cells, i) and "remove-cell" not in _tags(c)]
    assert not shown, "tag these remove-cell:\n" + "\n".join(shown)


def visible_outputs(cell) -> list[dict]:
    """The outputs a page shows: not glue's (scrapbook metadata), not stderr (removed by _config.yml)."""
    return [o for o in cell.get("outputs", [])
            if not ("scrapbook" in o.get("metadata", {}) or (o.get("name") == "stderr"))]


@pytest.mark.skipif(not REAL_DATA, reason="the book's chapters need CIFAR-10: set CVTUTOR_DATA")
def test_executed_cells_that_only_glue_or_assert_are_hidden(english_book):
    """In the executed notebooks: a cell that showed nothing and whose code only glues, asserts
    or assigns temporaries of those is tagged remove-cell (its numbers still come from it)."""
    english_book.require_success()
    executed = english_book.html.parent / "jupyter_execute"
    problems = []
    for path in notebooks():
        cells = json.loads((executed / path.relative_to(ROOT)).read_text())["cells"]
        problems += [f"{path.name}, cell {i}: {_source(c)[:80]!r}" for i, c in enumerate(cells)
                     if c["cell_type"] == "code" and not visible_outputs(c) and "remove-cell" not in _tags(c)
                     and sync_book.glue_or_assert_only(cells, i, strict=False)]
    assert not problems, "tag these remove-cell:\n" + "\n".join(problems)


def _nb(*cells) -> dict:
    made = []
    for i, (kind, text) in enumerate(cells):
        cell = {"cell_type": kind, "id": f"c{i}", "metadata": {}, "source": text}
        if kind == "code":
            cell.update(outputs=[], execution_count=None)
        made.append(cell)
    return {"cells": made, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}


def test_sync_book_keeps_one_show_quoted_cell_above_each_quoting_paragraph(tmp_path):
    version, repository = sync_book.settings()
    path = tmp_path / "chapter.ipynb"
    path.write_text(json.dumps(_nb(
        ("markdown", "# Title {glue:text}`early`"),  # above the setup cell: nothing to show yet
        ("code", sync_book.setup_cell(version, repository)),
        ("code", "glue('acc', 0.5)\nglue('n', 3)"),
        ("markdown", "Accuracy {glue:text}`acc:.1%` on {glue:text}`n` images, {glue:text}`acc:.1%`."),
        ("markdown", "No numbers here."),
        ("markdown", "Elsewhere: {glue:text}`other.ipynb::speed:,.0f`."),
    )))
    assert sync_book._sync_notebook(path, sync_book.setup_cell(version, repository), write=True)
    cells = json.loads(path.read_text())["cells"]
    generated = [i for i, c in enumerate(cells) if sync_book.is_quoted_cell(c)]
    assert [cells[i + 1]["id"] for i in generated] == ["c3", "c5"]
    first = _source(cells[generated[0]])
    assert 'show_quoted("acc:.1%", "n", chapter="chapter.ipynb")' in first
    assert 'show_quoted("other.ipynb::speed:,.0f", chapter="chapter.ipynb")' in _source(cells[generated[1]])
    assert all(_tags(cells[i]) == ["remove-cell"] for i in generated)
    assert "remove-cell" in _tags(cells[2]), "a cell of glue calls only is hidden"
    # idempotent: a second run changes nothing
    before = path.read_text()
    assert not sync_book._sync_notebook(path, sync_book.setup_cell(version, repository), write=True)
    assert path.read_text() == before
    # a paragraph's references change, another's go: the check notices, the run repairs
    nb = json.loads(before)
    nb["cells"][generated[0] + 1]["source"] = "Accuracy {glue:text}`acc:.2f` only."
    nb["cells"][generated[1] + 1]["source"] = "No numbers any more."
    path.write_text(json.dumps(nb))
    assert sync_book._sync_notebook(path, sync_book.setup_cell(version, repository), write=False)
    sync_book._sync_notebook(path, sync_book.setup_cell(version, repository), write=True)
    cells = json.loads(path.read_text())["cells"]
    generated = [c for c in cells if sync_book.is_quoted_cell(c)]
    assert len(generated) == 1 and 'show_quoted("acc:.2f", chapter="chapter.ipynb")' in _source(generated[0])


def test_glue_refs_read_every_glue_role():
    text = "a {glue:text}`x:.1f`, b {glue}`y`, c {glue:any}`other.ipynb::z`, d {glue:text}`x:.1f`"
    assert sync_book.glue_refs(text) == ["x:.1f", "y:s", "other.ipynb::z:s"]


def test_quoted_cells_keep_lines_short():
    refs = [f"challenges.ipynb::a_rather_long_name_{i}:.1f" for i in range(12)]
    source = sync_book.quoted_cell_source(refs, "faq.ipynb")
    assert max(map(len, source.splitlines())) <= MAX_CODE_LINE
    assert all(f'"{ref}"' in source for ref in refs)
    compile(source, "cell", "exec")


# Matplotlib calls that return an artist: as a cell's last line they show its repr, e.g.
# Text(0.5, 1.01, 'CNN'), under the figure (tests/test_browser.py checks the built pages).
ARTIST_CALLS = {"suptitle", "set_title", "title", "text", "legend", "annotate", "colorbar", "xlabel",
                "ylabel", "set_xlabel", "set_ylabel", "plot", "imshow", "scatter", "bar", "hist"}


@pytest.mark.parametrize("path", notebooks(), ids=lambda p: p.name)
def test_no_cell_ends_in_a_plotting_call_that_shows_its_repr(path):
    shown = []
    for i, cell in enumerate(json.loads(path.read_text())["cells"]):
        source = _source(cell).rstrip()
        if cell["cell_type"] != "code" or source.endswith(";"):
            continue
        try:
            last = ast.parse(source).body[-1]
        except (SyntaxError, IndexError):
            continue
        if isinstance(last, ast.Expr) and isinstance(last.value, ast.Call) \
                and getattr(last.value.func, "attr", None) in ARTIST_CALLS:
            shown.append(f"cell {i}: {source.splitlines()[-1]}")
    assert not shown, "end these lines with ';' (or assign them):\n" + "\n".join(shown)


def test_every_line_a_listing_marks_is_in_the_code_it_shows():
    """A chapter's show_source(target, mark={line text: note}) fails at build time when the code no
    longer has the line (CI found one only in the book build, after fit changed); checked here, fast."""
    import ast
    import importlib
    import inspect

    missing, checked = [], 0
    for path in notebooks():
        cells = json.loads(path.read_text())["cells"]
        code = "\n".join(_source(c) for c in cells if c["cell_type"] == "code")
        names = {}
        for line in code.splitlines():
            line = line.strip()
            if line.startswith("from cvtutor") and " import " in line:
                module, items = line[len("from "):].split(" import ")
                for item in items.split(","):
                    parts = item.strip().split(" as ")
                    if parts[0] and parts[0] not in "()":
                        names[parts[-1]] = (module.strip(), parts[0])
        for cell in cells:
            if cell["cell_type"] != "code" or "show_source(" not in _source(cell):
                continue
            for node in ast.walk(ast.parse(_source(cell))):
                if not (isinstance(node, ast.Call) and getattr(node.func, "id", None) == "show_source" and node.args):
                    continue
                target = ast.unparse(node.args[0])
                if target.startswith("solution("):
                    continue
                if target.split(".")[0] in names:
                    module, item = names[target.split(".")[0]]
                    try:
                        obj = importlib.import_module(f"{module}.{item}")
                    except ImportError:
                        obj = getattr(importlib.import_module(module), item)
                else:  # another library's code, imported whole (1.3.4 shows keras.optimizers.Adam's)
                    obj = importlib.import_module(target.split(".")[0])
                for part in target.split(".")[1:]:
                    obj = getattr(obj, part)
                source = inspect.getsource(obj)
                for keyword in node.keywords:
                    texts = []
                    if keyword.arg == "mark" and isinstance(keyword.value, ast.Dict):
                        texts = [ast.literal_eval(key) for key in keyword.value.keys]
                    elif keyword.arg == "excerpt":
                        texts = list(ast.literal_eval(keyword.value))
                    for text in texts:
                        checked += 1
                        if text not in source:
                            missing.append(f"{path.name}: {target} has no line {text!r}")
    assert checked > 50 and not missing, missing
