"""The book builds (notebooks executed, warnings as errors) and every page in _toc.yml exists."""

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import REAL_DATA, ROOT

BUILD_COMMAND = ["jupyter-book", "build", ".", "--all", "-W", "--keep-going"]


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


def test_readme_states_the_build_command():
    assert " ".join(BUILD_COMMAND) in (ROOT / "README.md").read_text()


@pytest.mark.parametrize("path", notebooks(), ids=lambda p: p.name)
def test_notebook_conventions(path):
    nb = json.loads(path.read_text())
    rel = path.relative_to(ROOT).with_suffix("").as_posix()
    assert rel in toc_files(), f"{rel} is not in _toc.yml"
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert all(not c["outputs"] and c["execution_count"] is None for c in code), "commit notebooks without outputs"
    assert 'find_spec("cvtutor") is None' in "".join(code[0]["source"]), "the first code cell must be the setup cell"
    title = "".join(nb["cells"][0]["source"]).splitlines()[0]
    assert title.startswith("# ") and re.search(r"[\u4e00-\u9fff]", title), f"title lacks the Chinese heading: {title}"


def test_milestone_sources_are_in_the_bibliography():
    from cvtutor.plots import read_milestones

    bib = (ROOT / "book" / "references.bib").read_text()
    keys = set(re.findall(r"@\w+\{([^,]+),", bib))
    rows = read_milestones(ROOT / "book" / "data" / "milestones.csv")
    assert rows and {r["source"] for r in rows} <= keys


@pytest.mark.skipif(not REAL_DATA, reason="the book's chapters need CIFAR-10: set CVTUTOR_DATA")
def test_book_builds_and_every_toc_entry_has_a_page(monkeypatch):
    monkeypatch.setenv("CVTUTOR_DATA", REAL_DATA)
    monkeypatch.delenv("CVTUTOR_CACHE")
    # The jupyter-book beside this interpreter, so the test needs no activated environment.
    program = Path(sys.executable).with_name("jupyter-book")
    command = [str(program) if program.exists() else shutil.which("jupyter-book"), *BUILD_COMMAND[1:]]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, f"book build failed:\n{result.stdout[-6000:]}\n{result.stderr[-3000:]}"
    html = ROOT / "_build" / "html"
    missing = [f for f in toc_files() if not (html / f"{f}.html").is_file()]
    assert not missing, f"no HTML page for {missing}"
    for path in notebooks():
        page = (html / path.relative_to(ROOT).with_suffix(".html")).read_text()
        assert re.search(r'<img[^>]+src="[^"]*_images/', page), f"{path.name}: the executed notebook shows no figure"
        assert "Traceback" not in page or "raises-exception" in path.read_text(), f"{path.name}: an error was rendered"
