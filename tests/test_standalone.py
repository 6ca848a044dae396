"""CI stands in for Colab: every notebook runs alone, from the released wheel, in an empty folder.

A reader who opens a chapter in Colab (or downloads one ``.ipynb``) has no checkout: no ``book/``
beside the notebook, no editable install, no ``cvtutor`` at all until the notebook's setup cell
installs it. Here each notebook is copied alone into an empty folder and executed with nbclient in
a fresh virtual environment that holds only the wheel's dependencies; its setup cell installs the
wheel itself (pip pointed at it by ``PIP_NO_INDEX``/``PIP_FIND_LINKS``, since CI has no PyPI
release to fetch), and the notebook then imports that installed copy.

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
from conftest import REAL_DATA, ROOT, make_venv

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


def test_setup_cell_is_a_no_op_where_the_right_version_is_installed(tmp_path):
    site = tmp_path / "site"
    _fake_distribution(site, VERSION)
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


def test_the_repository_in_the_setup_cell_is_the_launch_buttons_repository():
    import yaml

    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert f'CVTUTOR_SOURCE = "git+{config["repository"]["url"].rstrip("/")}@v{VERSION}"' in SETUP
    import cvtutor

    assert f'CVTUTOR_VERSION = "{cvtutor.__version__}"' in SETUP  # the installed metadata's version


# --- every notebook alone, from the wheel ------------------------------------------------------


@pytest.fixture(scope="session")
def standalone(wheel, tmp_path_factory):
    """A fresh venv with the wheel's dependencies (and a Jupyter kernel) but not cvtutor itself,
    and a kernel spec that runs notebooks in it with pip pointed at the wheel."""
    folder = tmp_path_factory.mktemp("standalone")
    python = make_venv(folder / "venv", f"{wheel}[notebooks]", "ipykernel")
    subprocess.run([str(python), "-m", "pip", "uninstall", "--quiet", "--yes", "cvtutor"], check=True)
    spec = folder / "kernels" / "standalone"
    spec.mkdir(parents=True)
    env = {"PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(wheel.parent), "CVTUTOR_PROFILE": "quick",
           "CVTUTOR_DATA": REAL_DATA or "", "CVTUTOR_CACHE": str(folder / "cvtutor-cache"),
           "KERAS_HOME": str(folder / "keras-home"), "MPLBACKEND": "module://matplotlib_inline.backend_inline"}
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "cvtutor stand-in for Colab", "language": "python", "env": env}))
    return python, folder / "kernels"


@pytest.mark.skipif(not REAL_DATA, reason="the chapters need CIFAR-10: set CVTUTOR_DATA")
@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs_alone_from_the_wheel(standalone, notebook, tmp_path, monkeypatch):
    import nbformat
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager
    from nbclient import NotebookClient

    python, kernels = standalone
    monkeypatch.delenv("PYTHONPATH", raising=False)
    subprocess.run([str(python), "-m", "pip", "uninstall", "--quiet", "--yes", "cvtutor"], capture_output=True)
    alone = tmp_path / "alone"
    alone.mkdir()
    shutil.copy(notebook, alone)
    nb = nbformat.read(alone / notebook.name, as_version=4)
    # A last cell reports where cvtutor came from.
    nb.cells.append(nbformat.v4.new_code_cell("import cvtutor; print('cvtutor from', cvtutor.__file__)"))
    km = KernelManager(kernel_name="standalone", kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(kernels)]))
    client = NotebookClient(nb, km=km, timeout=900, resources={"metadata": {"path": str(alone)}})
    client.execute()

    def text(cell):
        return "".join(o.get("text", "") for o in cell.outputs if o.get("output_type") == "stream")

    setup = next(c for c in nb.cells if c.cell_type == "code")
    assert text(setup).strip().splitlines()[-1] == f"cvtutor {VERSION}", text(setup)
    where = Path(text(nb.cells[-1]).split("cvtutor from", 1)[1].strip())
    assert where.is_relative_to(python.parent.parent), f"{notebook.name} imported cvtutor from {where}, not the wheel"
    assert not where.is_relative_to(ROOT)
