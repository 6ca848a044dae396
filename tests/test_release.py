"""The release: ``python -m build`` makes a wheel and an sdist that pass ``twine check`` and install anywhere.

The publishing workflow (.github/workflows/release.yml) runs the README's release commands, so what it
uploads to PyPI on a version tag is what these tests build and check.
"""

import os
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest
import yaml
from conftest import ROOT
from test_book import readme_shell_commands

sys.path.insert(0, str(ROOT / "tools"))
import sync_book  # noqa: E402

VERSION, _ = sync_book.settings()  # pyproject.toml's [project] version
WORKFLOW = ROOT / ".github" / "workflows" / "release.yml"
BUILD = "python -m build"
CHECK = "twine check dist/*"


def test_wheel_and_sdist_pass_twine_check(wheel):
    sdist = next(wheel.parent.glob("cvtutor-*.tar.gz"))
    assert wheel.name == f"cvtutor-{VERSION}-py3-none-any.whl"
    result = subprocess.run([sys.executable, "-m", "twine", "check", "--strict", str(wheel), str(sdist)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_data_the_chapters_read_ships_inside_both(wheel):
    sdist = next(wheel.parent.glob("cvtutor-*.tar.gz"))
    in_wheel = set(zipfile.ZipFile(wheel).namelist())
    in_sdist = {name.split("/", 1)[1] for name in tarfile.open(sdist).getnames() if "/" in name}
    for packaged in sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "cvtutor" / "resources").iterdir()):
        assert packaged in in_wheel and packaged in in_sdist, packaged


@pytest.mark.slow
def test_the_wheel_installed_in_a_fresh_venv_prints_the_pyproject_version(standin, tmp_path):
    """In the stand-in for Colab (a fresh venv: the wheel, its notebooks extra, ipykernel)."""
    code = ("import cvtutor; from cvtutor.milestones import read_milestones; from cvtutor.records import load_records; "
            "print(cvtutor.__version__, len(read_milestones()), len(load_records()), cvtutor.__file__)")
    out = subprocess.run([str(standin.python), "-c", code], cwd=tmp_path, capture_output=True, text=True,
                         env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"})
    assert out.returncode == 0, out.stderr[-2000:]
    version, rows, records, where = out.stdout.split()
    assert version == VERSION and int(rows) > 5 and int(records) > 0
    assert not Path(where).is_relative_to(ROOT), f"cvtutor came from the checkout: {where}"
    # the command line came with it
    help_text = subprocess.run([str(standin.python.with_name("cvtutor")), "--version"], capture_output=True, text=True)
    assert VERSION in help_text.stdout + help_text.stderr


def test_the_book_matches_the_release():
    """Setup cells and the preface carry pyproject.toml's version and _config.yml's repository; so is
    every other generated part of the notebooks current (the one tool's one check)."""
    result = subprocess.run([sys.executable, str(ROOT / "tools" / "book.py"), "check"], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert config["parse"]["myst_substitutions"]["cvtutor_version"] == VERSION
    assert "{{ cvtutor_version }}" in (ROOT / "book" / "intro.md").read_text()


def test_sync_book_reports_and_repairs_drift(tmp_path):
    """The check above could fail: a changed version is found, named and written everywhere."""
    import shutil

    for name in ("pyproject.toml", "_config.yml"):
        shutil.copy(ROOT / name, tmp_path / name)
    shutil.copytree(ROOT / "book", tmp_path / "book", ignore=shutil.ignore_patterns("_build", "*.md", "*.bib"))
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace(f'version = "{VERSION}"', 'version = "9.8.7"'))
    assert len(sync_book.sync(tmp_path, write=False)) == len(sync_book.notebooks(tmp_path)) + 1
    sync_book.sync(tmp_path)
    assert sync_book.sync(tmp_path, write=False) == []
    cell = sync_book.setup_cell("9.8.7", "https://github.com/cvtutor/cvtutor")
    assert 'CVTUTOR_VERSION = "9.8.7"' in cell and "@v9.8.7" in cell
    assert '"9.8.7"' in (tmp_path / "_config.yml").read_text()


def test_release_workflow_publishes_what_ci_builds_on_a_version_tag():
    workflow = yaml.safe_load(WORKFLOW.read_text())
    triggers = workflow[True] if True in workflow else workflow["on"]  # YAML 1.1 reads `on:` as True
    assert any(tag.startswith("v") for tag in triggers["push"]["tags"])
    commands = readme_shell_commands()
    assert BUILD in commands and CHECK in commands, "the README states the release commands"
    steps = [step for job in workflow["jobs"].values() for step in job.get("steps", [])]
    runs = [line.strip() for step in steps for line in step.get("run", "").splitlines()]
    assert BUILD in runs and CHECK in runs, f"{WORKFLOW.name} does not run the README's release commands"
    uses = [step.get("uses", "").split("@")[0] for step in steps]
    assert "pypa/gh-action-pypi-publish" in uses
    publish_job = next(job for job in workflow["jobs"].values()
                       if any(s.get("uses", "").startswith("pypa/gh-action-pypi-publish") for s in job["steps"]))
    assert publish_job["permissions"]["id-token"] == "write", "trusted publishing needs an OIDC token"
    assert not any("password" in s.get("with", {}) for s in publish_job["steps"]), "trusted publishing: no API token"
