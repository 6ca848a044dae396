"""The test session's wheel, its stand-in for Colab and its one book build, made in the background.

Making them is mostly waiting on other processes (``python -m build``, pip installing TensorFlow into
a fresh virtual environment, the book build executing every notebook), so
``tests/conftest.py`` starts a :class:`BookPipeline` as soon as the session knows it will need one of
them, and the unit tests run while it works; the tests that read the build run last
(``conftest.pytest_collection_modifyitems``) and wait for it there. The three stages run one after
the other, each from the one before: the wheel, the virtual environment with only that wheel, its
``notebooks`` extra and ipykernel (:class:`StandIn`), and the README's build command whose notebooks
execute in that environment (:class:`BookBuild`). That command builds the English edition, then the
Chinese one; the English edition is a stage of its own (``english``), so that the tests that read
only English pages run while the Chinese edition builds.

The pipeline reads the environment as it was when the session started, never ``os.environ`` while
tests run (they change it with ``monkeypatch``).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The README's build command, run exactly as written there (tests/test_book.py checks that): both
# editions, the English one with `jupyter-book build . --all -W --keep-going`, then the Chinese one.
BUILD_COMMAND = ["python", "tools/book.py", "build"]
HTML = ROOT / "_build" / "html"
STAGES = ("wheel", "standin", "english", "book")
# The line the build command prints when the English edition is done (tools/book.py build).
ENGLISH_DONE = re.compile(r"The English edition took \d+ s \(exit (-?\d+)\)")

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
class BookBuild:
    """The outcome of one run of the README's build command."""

    returncode: int
    stdout: str
    stderr: str
    seconds: float
    html: Path = HTML

    def require_success(self) -> None:
        """Fail the calling test (without repeating the whole log) when the build failed."""
        import pytest

        if self.returncode != 0:
            pytest.fail(f"the book build failed (exit {self.returncode}):\n{self.stdout[-3000:]}\n{self.stderr[-2000:]}")


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
        """Write the kernel spec ``python3`` under ``jupyter_path/kernels``, logging to ``origins``;
        returns the ``kernels`` folder.

        Its kernels get pip pointed at the wheel (``PIP_NO_INDEX``/``PIP_FIND_LINKS``: CI has no
        PyPI release to fetch), so a setup cell that finds no cvtutor installs this wheel.
        """
        spec = jupyter_path / "kernels" / "python3"
        spec.mkdir(parents=True, exist_ok=True)
        env = {"PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(self.wheel.parent),
               "IPYTHONDIR": str(self.folder / "ipython"), "CVTUTOR_ORIGIN_LOG": str(origins)}
        (spec / "kernel.json").write_text(json.dumps({
            "argv": [str(self.python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": "Python 3 (cvtutor stand-in for Colab)", "language": "python", "env": env}))
        return jupyter_path / "kernels"

    def reinstall_wheel(self) -> None:
        """Put the wheel and its notebooks extra back (after a test uninstalled them), offline: the
        extra's wheels lie beside cvtutor's (:meth:`BookPipeline._standin` downloaded them)."""
        subprocess.run([str(self.python), "-m", "pip", "install", "--quiet", "--no-index", "--find-links",
                        str(self.wheel.parent), f"{self.wheel}[notebooks]"], check=True, capture_output=True)

    @staticmethod
    def origin_lines(origins: Path) -> list[dict]:
        return [json.loads(line) for line in origins.read_text().splitlines()] if origins.exists() else []


class StageFailed(RuntimeError):
    """A stage of the pipeline (or one before it) failed; the message says which and why."""


class BookPipeline:
    """Makes the wheel, the stand-in and the book build in a background thread, in that order.

    Args:
        folder: an empty folder for the wheel, the virtual environment and the Keras home.
        env: the environment of the session's start.
        data: the real CIFAR-10 copy (``$CVTUTOR_DATA``); without it the book is not built.
    """

    def __init__(self, folder: Path, env: dict[str, str], data: str | None):
        self.folder, self.env, self.data = folder, dict(env), data
        self._done = {stage: threading.Event() for stage in STAGES}
        self._made: dict[str, object] = {}
        self.seconds: dict[str, float] = {}  # each finished stage's wall time
        self._error: str | None = None
        self._process: subprocess.Popen | None = None
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name="book-pipeline", daemon=True)

    def start(self) -> None:
        if not self._thread.is_alive() and not self._done["book"].is_set():
            self._thread.start()

    def wait(self, stage: str):
        """What ``stage`` made (a wheel path, a :class:`StandIn`, a :class:`BookBuild`), once it is made.

        Raises:
            StageFailed: the stage or one before it failed.
        """
        self.start()
        self._done[stage].wait()
        if stage in self._made:
            return self._made[stage]
        raise StageFailed(f"the session's {stage} was not made: {self._error or 'no CIFAR-10 copy'}")

    def summary(self) -> str:
        """One line: how long each stage took (and each edition, as the build command printed it),
        so that a CI log shows where the pipeline's time went."""
        parts = [f"{stage} {seconds:.0f} s" for stage, seconds in self.seconds.items()]
        book = self._made.get("book")
        if book is not None:
            parts += re.findall(r"The (\w+) edition took (\d+ s)", book.stdout)
        return "the book pipeline: " + ", ".join(" ".join(p) if isinstance(p, tuple) else p for p in parts)

    def stop(self) -> None:
        """Stop the running stage's process (the session is ending)."""
        self._stopped = True
        if self._process is not None and self._process.poll() is None:
            # The whole process group: the build command's own children (jupyter-book, the kernels)
            # would otherwise go on building after the session has ended.
            os.killpg(self._process.pid, signal.SIGKILL)

    def _run(self) -> None:
        try:
            for stage, make in (("wheel", self._wheel), ("standin", self._standin), ("book", self._book)):
                if stage == "book" and not self.data:
                    break
                start = time.monotonic()
                self._made[stage] = make()
                self.seconds[stage] = time.monotonic() - start
                self._done[stage].set()
        except Exception as error:  # noqa: BLE001 - reported to every test that waits for it
            self._error = f"{type(error).__name__}: {error}"
        finally:
            for done in self._done.values():
                done.set()

    def _call(self, command: list[str], **kwargs) -> subprocess.CompletedProcess:
        if self._stopped:
            raise StageFailed("the session ended")
        self._process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                         start_new_session=True, **kwargs)
        stdout, stderr = self._process.communicate()
        return subprocess.CompletedProcess(command, self._process.returncode, stdout, stderr)

    def _check(self, result: subprocess.CompletedProcess, what: str) -> None:
        if result.returncode != 0:
            raise StageFailed(f"{what} failed (exit {result.returncode}):\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")

    def _wheel(self) -> Path:
        """The wheel (and sdist) of this checkout, with ``python -m build``."""
        dist = self.folder / "dist"
        self._check(self._call([sys.executable, "-m", "build", "--outdir", str(dist), str(ROOT)], env=self.env),
                    "python -m build")
        (built,) = dist.glob("cvtutor-*.whl")
        return built

    def _standin(self) -> StandIn:
        wheel = self._made["wheel"]
        folder = self.folder / "standin"
        python = self.make_venv(folder / "venv", f"{wheel}[notebooks]", "ipykernel")
        # The notebooks extra's wheels beside cvtutor's, for a setup cell that installs the extra
        # offline (PIP_NO_INDEX, as CI has no release of cvtutor to fetch from PyPI).
        versions = self._call([str(python), "-c", "import importlib.metadata as m; print(' '.join("
                               "f'{d}=={m.version(d)}' for d in ('scipy', 'scikit-image')))"])
        self._check(versions, "reading the notebooks extra's versions")
        pins = versions.stdout.split()
        env = {k: v for k, v in self.env.items() if k not in ("PIP_NO_INDEX", "PIP_FIND_LINKS")}
        self._check(self._call([str(python), "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
                                "--dest", str(wheel.parent), *pins], env=env), "pip download of the notebooks extra")
        startup = folder / "ipython" / "profile_default" / "startup"
        startup.mkdir(parents=True)
        (startup / "00-cvtutor-origin.py").write_text(ORIGIN_STARTUP)
        made = StandIn(folder, python, wheel, folder / "jupyter", folder / "origins.jsonl")
        made.write_kernel(made.jupyter_path, made.origins)
        return made

    def make_venv(self, folder: Path, *requirements: str) -> Path:
        """A new virtual environment in ``folder`` with pip (a setup cell's installer) and
        ``requirements`` installed; returns its python.

        Nothing of this checkout is on its path: it sees cvtutor only if a requirement installs it.
        uv makes it (https://docs.astral.sh/uv/pip/environments/): pip took 140 s to unpack TensorFlow
        once more, uv links the files from its cache in seconds. ``--compile-bytecode`` because
        CI sets ``PYTHONDONTWRITEBYTECODE``: without the ``.pyc`` files pip would have written, every
        kernel compiles TensorFlow's sources again (10 s against 4 s per import).
        """
        uv = [sys.executable, "-m", "uv"]
        env = {k: v for k, v in self.env.items() if k not in ("PYTHONPATH", "PIP_NO_INDEX", "PIP_FIND_LINKS")}
        self._check(self._call([*uv, "venv", "--quiet", "--seed", str(folder)], env=env), "uv venv")
        python = folder / "bin" / "python"
        self._check(self._call([*uv, "pip", "install", "--quiet", "--compile-bytecode", "--python", str(python),
                                *requirements], env=env), f"uv pip install {' '.join(requirements)}")
        return python

    def _book(self) -> BookBuild:
        """The README's build command, its notebooks executed in the stand-in (Jupyter finds its kernel
        ``python3`` first, through ``JUPYTER_PATH``), CIFAR-10 read only from the real copy (an empty
        Keras cache), the decoded data in the user's cvtutor cache as in a reader's build.
        ``_build/html`` is emptied first, so every page in it comes from this build."""
        standin = self._made["standin"]
        keras_home = self.folder / "keras-home"
        keras_home.mkdir()
        env = dict(self.env, CVTUTOR_DATA=self.data, KERAS_HOME=str(keras_home), JUPYTER_PATH=str(standin.jupyter_path))
        env.pop("CVTUTOR_CACHE", None)
        # This interpreter for `python` (and its jupyter-book), so the tests need no activated environment.
        command = [sys.executable, *BUILD_COMMAND[1:]]
        shutil.rmtree(HTML, ignore_errors=True)
        start = time.monotonic()
        if self._stopped:
            raise StageFailed("the session ended")
        self._process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                         start_new_session=True, cwd=ROOT, env=env)
        stderr: list[str] = []
        reader = threading.Thread(target=lambda: stderr.extend(self._process.stderr), daemon=True)
        reader.start()
        stdout: list[str] = []
        for line in self._process.stdout:
            stdout.append(line)
            done = ENGLISH_DONE.search(line)
            if done and not self._done["english"].is_set():
                # What the build printed so far: the English edition's whole log.
                self._made["english"] = BookBuild(int(done.group(1)), "".join(stdout), "".join(list(stderr)),
                                                  time.monotonic() - start)
                self._done["english"].set()
        self._process.wait()
        reader.join()
        made = BookBuild(self._process.returncode, "".join(stdout), "".join(stderr), time.monotonic() - start)
        if not self._done["english"].is_set():  # the command ended before the English edition did
            self._made["english"] = made
            self._done["english"].set()
        return made
