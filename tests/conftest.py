"""Shared fixtures: every test gets its own cache folder and no ambient CIFAR-10 copy.

The book is built once per session (``built_book``); the page checks and the browser test
both read that one build.
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

# The README's build command, run exactly as written there (tests/test_book.py checks that).
BUILD_COMMAND = ["jupyter-book", "build", ".", "--all", "-W", "--keep-going"]
HTML = ROOT / "_build" / "html"


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
def built_book(tmp_path_factory) -> BookBuild:
    """Build the book once per test session with the README's command, into ``_build/html``.

    The build reads CIFAR-10 only from the real offline copy (an empty Keras cache) and keeps
    the decoded data in the user's cvtutor cache, as a reader's build does. ``_build/html`` is
    emptied first, so every page in it comes from this build.
    """
    if not REAL_DATA:
        pytest.skip("the book's chapters need CIFAR-10: set CVTUTOR_DATA")
    env = dict(os.environ, CVTUTOR_DATA=REAL_DATA, KERAS_HOME=str(tmp_path_factory.mktemp("keras-home")))
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
