"""CI stands in for Colab: every notebook runs from the released wheel, in an empty folder.

A reader who opens a chapter in Colab (or downloads one ``.ipynb``) has no checkout: no ``book/``
beside the notebook, no editable install, no ``cvtutor`` at all until the notebook's setup cell
installs it. The book build of the test session is that stand-in (``conftest.standin``): its kernel
runs in a fresh virtual environment holding only the wheel, its ``notebooks`` extra and ipykernel,
and myst-nb runs each notebook in an empty temporary folder (``run_in_temp``). The claims about
every notebook are read from that one build; one chapter, the shortest, also runs truly alone,
with cvtutor uninstalled first so that its setup cell installs the wheel itself.

The setup cell's other paths (a wrong version installed, PyPI failing so the repository is used)
are tested by running the cell as a script against a stand-in ``pip``.
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REAL_DATA, ROOT

sys.path.insert(0, str(ROOT / "tools"))
import sync_book  # noqa: E402

VERSION, REPOSITORY = sync_book.settings()
SETUP = sync_book.setup_cell(VERSION, REPOSITORY)
NOTEBOOKS = sync_book.notebooks()


def _run_setup_cell(tmp_path, site, env_extra=None):
    """Run the setup cell as a script with ``site`` first on the path and no site-packages (``-S``):
    the only cvtutor or pip it can see is what the test put into ``site``."""
    script = tmp_path / "setup_cell.py"
    script.write_text(SETUP)
    env = dict(os.environ, PYTHONPATH=str(site), **(env_extra or {}))
    return subprocess.run([sys.executable, "-S", str(script)], cwd=tmp_path, env=env, capture_output=True, text=True)


def _fake_distribution(site: Path, version: str) -> None:
    info = site / f"cvtutor-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: cvtutor\nVersion: {version}\n")


# A stand-in for `python -m pip`: logs its arguments, fails for PyPI's release, and for the
# repository "installs" the right version (a dist-info folder), as a git install would.
FAKE_PIP = '''
import json, pathlib, sys
site = pathlib.Path(__file__).resolve().parent.parent
with open(site / "pip-calls.jsonl", "a") as log:
    log.write(json.dumps(sys.argv[1:]) + "\\n")
spec = sys.argv[-1]
if "==" in spec:
    print("ERROR: No matching distribution found for " + spec, file=sys.stderr)
    sys.exit(1)
info = site / "cvtutor-{version}.dist-info"
info.mkdir()
(info / "METADATA").write_text("Metadata-Version: 2.1\\nName: cvtutor\\nVersion: {version}\\n")
'''


def test_setup_cell_names_the_fix_when_another_version_is_installed(tmp_path):
    site = tmp_path / "site"
    _fake_distribution(site, "0.0.1")
    result = _run_setup_cell(tmp_path, site)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1, result.stdout
    assert f"needs cvtutor {VERSION}, but 0.0.1 is installed" in lines[0]
    assert f'%pip install "cvtutor[notebooks]=={VERSION}"' in lines[0] and "restart the kernel" in lines[0]


def _fake_modules(site: Path) -> None:
    """The notebooks extra's modules, as empty packages the setup cell's find_spec finds."""
    for module in sync_book.extra_modules():
        (site / module).mkdir(parents=True)
        (site / module / "__init__.py").write_text("")


def test_setup_cell_is_a_no_op_where_the_right_version_is_installed(tmp_path):
    site = tmp_path / "site"
    _fake_distribution(site, VERSION)
    _fake_modules(site)
    (site / "pip").mkdir()
    (site / "pip" / "__init__.py").write_text("")
    (site / "pip" / "__main__.py").write_text("raise SystemExit('pip must not run')")
    result = _run_setup_cell(tmp_path, site)
    assert result.returncode == 0 and result.stdout.strip() == f"cvtutor {VERSION}", result.stdout + result.stderr


def test_setup_cell_falls_back_to_the_repository_tag_when_pypi_has_no_release(tmp_path):
    site = tmp_path / "site"
    (site / "pip").mkdir(parents=True)
    (site / "pip" / "__init__.py").write_text("")  # a regular package: it wins over the real pip
    (site / "pip" / "__main__.py").write_text(FAKE_PIP.replace("{version}", VERSION))
    result = _run_setup_cell(tmp_path, site)
    assert result.returncode == 0, result.stderr
    calls = [json.loads(line) for line in (site / "pip-calls.jsonl").read_text().splitlines()]
    assert [c[-1] for c in calls] == [f"cvtutor[notebooks]=={VERSION}", f"cvtutor[notebooks] @ git+{REPOSITORY}@v{VERSION}"]
    assert all(c[:2] == ["install", "--quiet"] for c in calls)
    assert result.stdout.strip().splitlines()[-1] == f"cvtutor {VERSION}"


# A stand-in for `python -m pip` that installs the notebooks extra: logs its arguments, makes the modules.
FAKE_PIP_EXTRA = """
import json, pathlib, sys
site = pathlib.Path(__file__).resolve().parent.parent
with open(site / "pip-calls.jsonl", "a") as log:
    log.write(json.dumps(sys.argv[1:]) + "\\n")
for module in MODULES:
    (site / module).mkdir(exist_ok=True)
    (site / module / "__init__.py").write_text("")
"""


def test_setup_cell_installs_the_notebooks_extra_where_only_cvtutor_is_installed(tmp_path):
    """`pip install cvtutor`, then a chapter: the chapters' own imports (scipy, scikit-image) come too."""
    site = tmp_path / "site"
    _fake_distribution(site, VERSION)
    (site / "pip").mkdir()
    (site / "pip" / "__init__.py").write_text("")
    (site / "pip" / "__main__.py").write_text(FAKE_PIP_EXTRA.replace("MODULES", repr(sync_book.extra_modules())))
    result = _run_setup_cell(tmp_path, site)
    assert result.returncode == 0 and result.stdout.strip() == f"cvtutor {VERSION}", result.stdout + result.stderr
    calls = [json.loads(line) for line in (site / "pip-calls.jsonl").read_text().splitlines()]
    assert calls == [["install", "--quiet", f"cvtutor[notebooks]=={VERSION}"]]
    assert sorted(sync_book.extra_modules()) == ["scipy", "skimage"], "pyproject.toml's notebooks extra"


def test_the_repository_in_the_setup_cell_is_the_launch_buttons_repository():
    import yaml

    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert f'CVTUTOR_SOURCE = "git+{config["repository"]["url"].rstrip("/")}@v{VERSION}"' in SETUP
    import cvtutor

    assert f'CVTUTOR_VERSION = "{cvtutor.__version__}"' in SETUP  # the installed metadata's version


# --- every notebook from the wheel, in the one build; the shortest one truly alone ------------------


def setup_cell_lines(nb: dict) -> list[str]:
    setup = next(c for c in nb["cells"] if c["cell_type"] == "code")
    text = "".join("".join(o.get("text", "")) for o in setup.get("outputs", []) if o.get("output_type") == "stream")
    return text.strip().splitlines()


@pytest.mark.book
def test_every_notebook_ran_once_from_the_wheel_in_an_empty_folder(built_book, standin):
    from benchmarks.book_build import notebook_outcomes

    built_book.require_success()
    log = built_book.stdout + built_book.stderr
    executed = [line for line in log.splitlines() if "Executed notebook in" in line]
    seconds, failed = notebook_outcomes(log, ROOT)  # every executed page: the chapters and book/api/cli.md
    names = sorted(p.relative_to(ROOT).as_posix() for p in NOTEBOOKS)
    assert sorted(page for page in seconds if page.endswith(".ipynb")) == names and not failed, seconds
    assert len(executed) == len(seconds), f"each notebook executes exactly once per build: {executed}"
    for notebook in NOTEBOOKS:
        nb = json.loads((built_book.html.parent / "jupyter_execute" / notebook.relative_to(ROOT)).read_text())
        assert setup_cell_lines(nb)[-1:] == [f"cvtutor {VERSION}"], (notebook.name, setup_cell_lines(nb))
    origins = standin.origin_lines(standin.origins)
    assert len({o["pid"] for o in origins}) == len(origins) == len(seconds), origins
    venv = standin.python.parent.parent
    for origin in origins:
        where, cwd = Path(origin["cvtutor"]), Path(origin["cwd"])
        assert where.is_relative_to(venv) and not where.is_relative_to(ROOT), f"cvtutor imported from {where}"
        assert not cwd.is_relative_to(ROOT), f"a notebook ran in {cwd}, inside the checkout"
    assert len({o["cwd"] for o in origins}) == len(origins), "each notebook gets its own empty folder"


def shortest_chapter() -> Path:
    """The notebook with the shortest recorded quick-profile run time."""
    from cvtutor.run_times import load

    chapters = load()["chapters"]
    return min(NOTEBOOKS, key=lambda p: chapters.get(p.name, {}).get("quick", float("inf")))


@pytest.mark.book
@pytest.mark.skipif(not REAL_DATA, reason="the chapters need CIFAR-10: set CVTUTOR_DATA")
def test_the_shortest_chapter_runs_alone_and_its_setup_cell_installs_the_wheel(built_book, standin, tmp_path,
                                                                               monkeypatch):
    """cvtutor and its notebooks extra uninstalled, as in a fresh environment: the setup cell installs
    both. After the build (it changes the environment the build's notebooks use)."""
    import nbformat
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager
    from nbclient import NotebookClient

    notebook = shortest_chapter()
    monkeypatch.delenv("PYTHONPATH", raising=False)
    monkeypatch.setenv("CVTUTOR_DATA", REAL_DATA)
    origins = tmp_path / "origins.jsonl"
    kernels = standin.write_kernel(tmp_path / "jupyter", origins)
    # As after `pip install cvtutor` (no extra) in a fresh environment: the setup cell must bring the rest.
    extra = ["scipy", "scikit-image"]
    subprocess.run([str(standin.python), "-m", "pip", "uninstall", "--quiet", "--yes", "cvtutor", *extra], check=True)
    try:
        alone = tmp_path / "alone"
        alone.mkdir()
        shutil.copy(notebook, alone)
        nb = nbformat.read(alone / notebook.name, as_version=4)
        km = KernelManager(kernel_name="python3", kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(kernels)]))
        NotebookClient(nb, km=km, timeout=900, resources={"metadata": {"path": str(alone)}}).execute()
    finally:
        standin.reinstall_wheel()
    assert setup_cell_lines(nb)[-1:] == [f"cvtutor {VERSION}"], setup_cell_lines(nb)
    have = subprocess.run([str(standin.python), "-c", "import scipy, skimage"], capture_output=True, text=True)
    assert have.returncode == 0, f"the setup cell did not install the notebooks extra: {have.stderr[-500:]}"
    (origin,) = standin.origin_lines(origins)
    where = Path(origin["cvtutor"])
    assert where.is_relative_to(standin.python.parent.parent) and not where.is_relative_to(ROOT), where
    assert Path(origin["cwd"]) == alone
