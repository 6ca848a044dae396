"""Shared fixtures: every test gets its own cache folder and no ambient CIFAR-10 copy.

The book is built once per session (``built_book``), and that one build is also the stand-in for
Colab (``standin``): its notebooks execute in a fresh virtual environment that holds only the
released wheel, its ``notebooks`` extra and ipykernel, each in an empty temporary folder. The page
checks, the browser test and the stand-in checks all read that one build.
"""

import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import matplotlib
import pytest

# Figures are drawn off screen and closed after every test.
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

# The real offline copy (set by .ci/run), captured before the fixtures below hide it.
REAL_DATA = os.environ.get("CVTUTOR_DATA")
ROOT = Path(__file__).resolve().parent.parent

# benchmarks/ and tools/ are imported by some tests, also under a bare `pytest` (python -m adds it).
if str(ROOT) not in sys.path:
    sys.path.append(str(ROOT))

# The README's build command, run exactly as written there (tests/test_book.py checks that).
BUILD_COMMAND = ["jupyter-book", "build", ".", "--all", "-W", "--keep-going"]
HTML = ROOT / "_build" / "html"


# Tests that need these fixtures get the marker, so that no such test is left out of its tier.
FIXTURE_MARKERS = {"built_book": "book", "standin": "slow", "wheel": "slow"}


def pytest_collection_modifyitems(config, items):
    for item in items:
        for fixture, marker in FIXTURE_MARKERS.items():
            if fixture in getattr(item, "fixturenames", ()):
                item.add_marker(marker)


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.fixture(autouse=True)
def isolated_data_env(tmp_path, monkeypatch):
    """No $CVTUTOR_DATA, an empty Keras cache and a private cvtutor cache."""
    monkeypatch.delenv("CVTUTOR_DATA", raising=False)
    monkeypatch.setenv("CVTUTOR_CACHE", str(tmp_path / "cvtutor-cache"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras-home"))


@dataclass
class BookBuild:
    """The outcome of one run of the README's build command."""

    returncode: int
    stdout: str
    stderr: str
    seconds: float
    html: Path = HTML

    def require_success(self) -> None:
        """Fail the calling test (without repeating the whole log) when the build failed."""
        if self.returncode != 0:
            pytest.fail(f"the book build failed (exit {self.returncode}):\n{self.stdout[-3000:]}\n{self.stderr[-2000:]}")


@pytest.fixture(scope="session")
def built_book(standin, tmp_path_factory) -> BookBuild:
    """Build the book once per test session with the README's command, into ``_build/html``.

    Its notebooks execute in the stand-in for Colab (``standin``: Jupyter finds the kernel
    ``python3`` there first, through ``JUPYTER_PATH``). The build reads CIFAR-10 only from the
    real offline copy (an empty Keras cache) and keeps the decoded data in the user's cvtutor
    cache, as a reader's build does. ``_build/html`` is emptied first, so every page in it comes
    from this build; the execution cache is the book's own (``_build/.jupyter_cache``), keyed on,
    among others, where cvtutor is installed, so nothing executed outside this session's
    stand-in is reused.
    """
    if not REAL_DATA:
        pytest.skip("the book's chapters need CIFAR-10: set CVTUTOR_DATA")
    env = dict(os.environ, CVTUTOR_DATA=REAL_DATA, KERAS_HOME=str(tmp_path_factory.mktemp("keras-home")),
               JUPYTER_PATH=str(standin.jupyter_path))
    env.pop("CVTUTOR_CACHE", None)
    # The jupyter-book beside this interpreter, so the tests need no activated environment.
    program = Path(sys.executable).with_name("jupyter-book")
    command = [str(program) if program.exists() else shutil.which("jupyter-book"), *BUILD_COMMAND[1:]]
    shutil.rmtree(HTML, ignore_errors=True)
    start = time.monotonic()
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    return BookBuild(result.returncode, result.stdout, result.stderr, time.monotonic() - start)


@pytest.fixture(scope="session")
def wheel(tmp_path_factory) -> Path:
    """The wheel (and sdist) of this checkout, built once per session with ``python -m build``."""
    dist = tmp_path_factory.mktemp("dist")
    result = subprocess.run([sys.executable, "-m", "build", "--outdir", str(dist), str(ROOT)],
                            capture_output=True, text=True)
    assert result.returncode == 0, f"python -m build failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    (built,) = dist.glob("cvtutor-*.whl")
    return built


def make_venv(folder: Path, *requirements: str) -> Path:
    """A new virtual environment in ``folder`` with ``requirements`` pip-installed; returns its python.

    Nothing of this checkout is on its path: it sees cvtutor only if a requirement installs it.
    """
    subprocess.run([sys.executable, "-m", "venv", str(folder)], check=True)
    python = folder / "bin" / "python"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PIP_NO_INDEX", "PIP_FIND_LINKS")}
    result = subprocess.run([str(python), "-m", "pip", "install", "--quiet", *requirements],
                            capture_output=True, text=True, env=env)
    assert result.returncode == 0, f"pip install {requirements} failed:\n{result.stderr[-3000:]}"
    return python


# An IPython start-up file for the stand-in's kernels: after the first cell that leaves cvtutor
# imported, it logs where cvtutor came from and the folder the notebook ran in.
ORIGIN_STARTUP = """\
def _log_cvtutor_origin():
    import json, os, sys

    shell = get_ipython()

    def log(result=None):
        module = sys.modules.get("cvtutor")
        if module is None:
            return
        with open(os.environ["CVTUTOR_ORIGIN_LOG"], "a") as f:
            f.write(json.dumps({"pid": os.getpid(), "cwd": os.getcwd(), "cvtutor": module.__file__}) + "\\n")
        shell.events.unregister("post_run_cell", log)

    shell.events.register("post_run_cell", log)


_log_cvtutor_origin()
del _log_cvtutor_origin
"""


@dataclass
class StandIn:
    """The stand-in for Colab: a virtual environment with only the wheel, its ``notebooks`` extra and
    ipykernel, and a Jupyter kernel ``python3`` (the notebooks' kernel) that runs in it."""

    folder: Path
    python: Path  # the environment's interpreter
    wheel: Path
    jupyter_path: Path  # for JUPYTER_PATH: holds kernels/python3/kernel.json
    origins: Path  # one JSON line per kernel: where its cvtutor came from, its working folder

    def write_kernel(self, jupyter_path: Path, origins: Path) -> Path:
        """Write the kernel spec ``python3`` under ``jupyter_path/kernels``, logging to ``origins``.

        Its kernels get pip pointed at the wheel (``PIP_NO_INDEX``/``PIP_FIND_LINKS``: CI has no
        PyPI release to fetch), so a setup cell that finds no cvtutor installs this wheel.
        """
        import json

        spec = jupyter_path / "kernels" / "python3"
        spec.mkdir(parents=True, exist_ok=True)
        env = {"PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(self.wheel.parent),
               "IPYTHONDIR": str(self.folder / "ipython"), "CVTUTOR_ORIGIN_LOG": str(origins)}
        (spec / "kernel.json").write_text(json.dumps({
            "argv": [str(self.python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": "Python 3 (cvtutor stand-in for Colab)", "language": "python", "env": env}))
        return jupyter_path / "kernels"

    def reinstall_wheel(self) -> None:
        """Put the wheel back (after a test uninstalled cvtutor), offline."""
        subprocess.run([str(self.python), "-m", "pip", "install", "--quiet", "--no-deps", "--force-reinstall",
                        "--no-index", str(self.wheel)], check=True, capture_output=True)

    @staticmethod
    def origin_lines(origins: Path) -> list[dict]:
        import json

        return [json.loads(line) for line in origins.read_text().splitlines()] if origins.exists() else []


@pytest.fixture(scope="session")
def standin(wheel, tmp_path_factory) -> StandIn:
    """Make the stand-in for Colab once per session (the release checks use it too)."""
    folder = tmp_path_factory.mktemp("standin")
    python = make_venv(folder / "venv", f"{wheel}[notebooks]", "ipykernel")
    startup = folder / "ipython" / "profile_default" / "startup"
    startup.mkdir(parents=True)
    (startup / "00-cvtutor-origin.py").write_text(ORIGIN_STARTUP)
    made = StandIn(folder, python, wheel, folder / "jupyter", folder / "origins.jsonl")
    made.write_kernel(made.jupyter_path, made.origins)
    return made
