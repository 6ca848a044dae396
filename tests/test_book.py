"""The book builds (notebooks executed, warnings as errors), every page in _toc.yml exists, and
the publishing workflow runs the README's commands."""

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


@pytest.mark.parametrize("path", notebooks(), ids=lambda p: p.name)
def test_notebook_conventions(path):
    nb = json.loads(path.read_text())
    rel = path.relative_to(ROOT).with_suffix("").as_posix()
    assert rel in toc_files(), f"{rel} is not in _toc.yml"
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert all(not c["outputs"] and c["execution_count"] is None for c in code), "commit notebooks without outputs"
    version, repository = sync_book.settings()
    assert "".join(code[0]["source"]) == sync_book.setup_cell(version, repository), (
        "the first code cell must be the setup cell for this release: run python tools/sync_book.py")
    title = "".join(nb["cells"][0]["source"]).splitlines()[0]
    assert title.startswith("# ") and re.search(r"[\u4e00-\u9fff]", title), f"title lacks the Chinese heading: {title}"


def test_milestone_sources_are_in_the_bibliography():
    from cvtutor.milestones import read_milestones

    bib = (ROOT / "book" / "references.bib").read_text()
    keys = set(re.findall(r"@\w+\{([^,]+),", bib))
    rows = read_milestones()
    assert rows and {r["source"] for r in rows} <= keys


@pytest.mark.skipif(not REAL_DATA, reason="the book's chapters need CIFAR-10: set CVTUTOR_DATA")
def test_book_builds_and_every_toc_entry_has_a_page(built_book):
    result = built_book
    assert result.returncode == 0, f"book build failed:\n{result.stdout[-6000:]}\n{result.stderr[-3000:]}"
    html = result.html
    missing = [f for f in toc_files() if not (html / f"{f}.html").is_file()]
    assert not missing, f"no HTML page for {missing}"
    for path in notebooks():
        page = (html / path.relative_to(ROOT).with_suffix(".html")).read_text()
        assert re.search(r'<img[^>]+src="[^"]*_images/', page), f"{path.name}: the executed notebook shows no figure"
        assert "Traceback" not in page or "raises-exception" in path.read_text(), f"{path.name}: an error was rendered"
