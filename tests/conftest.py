"""Shared fixtures: every test gets its own cache folder and no ambient CIFAR-10 copy.

The book is built once per session (``built_book``), and that one build is also the stand-in for
Colab (``standin``): its notebooks execute in a fresh virtual environment that holds only the
released wheel, its ``notebooks`` extra and ipykernel, each in an empty temporary folder. The page
checks, the browser test and the stand-in checks all read that one build. It is made in the
background while the other tests run (``book_session.BookPipeline``); the tests that read it run
last, those that read only the English edition (``english_book``) first, while the Chinese edition
builds.
"""

import os
import sys
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

from book_session import BUILD_COMMAND, HTML, BookBuild, BookPipeline, StandIn  # noqa: E402, F401

# Tests that need these fixtures get the marker, so that no such test is left out of its tier.
FIXTURE_MARKERS = {"built_book": "book", "english_book": "book", "standin": "slow", "wheel": "slow"}
PIPELINE: BookPipeline | None = None


def pytest_collection_modifyitems(config, items):
    for item in items:
        for fixture, marker in FIXTURE_MARKERS.items():
            if fixture in getattr(item, "fixturenames", ()):
                item.add_marker(marker)
    # The tests that read the book build run last: the build is made while the others run; those
    # that read only the English edition come first among them, while the Chinese edition builds.
    items.sort(key=lambda item: (item.get_closest_marker("book") is not None,
                                 "built_book" in getattr(item, "fixturenames", ())))


def pytest_collection_finish(session):
    """Start the pipeline when a selected test will need the wheel, the stand-in or the build (with
    the environment as it is now, before any test changed it)."""
    global PIPELINE
    needed = any(set(FIXTURE_MARKERS) & set(getattr(item, "fixturenames", ())) for item in session.items)
    if needed and os.environ.get("PYTEST_XDIST_WORKER"):
        # Each pytest-xdist worker would make its own wheel, stand-in and book build.
        raise pytest.UsageError('the book and slow tests share one build per session: run them without -n '
                                '(-n 2 is for the inner loop, -m "not book and not slow")')
    if needed and not session.config.option.collectonly:
        folder = session.config._tmp_path_factory.mktemp("book-session")  # under the session's basetemp
        PIPELINE = BookPipeline(folder, dict(os.environ), REAL_DATA)
        PIPELINE.start()


def pytest_sessionfinish(session):
    if PIPELINE is not None:
        PIPELINE.stop()


def pytest_terminal_summary(terminalreporter):
    if PIPELINE is not None and PIPELINE.seconds:
        terminalreporter.write_line(PIPELINE.summary())


@pytest.fixture(scope="session")
def wheel() -> Path:
    """The wheel (and sdist beside it) of this checkout, built once per session with ``python -m build``."""
    return PIPELINE.wait("wheel")


@pytest.fixture(scope="session")
def standin() -> StandIn:
    """The stand-in for Colab, made once per session (the release checks use it too)."""
    return PIPELINE.wait("standin")


@pytest.fixture(scope="session")
def built_book() -> BookBuild:
    """The session's one build of the book with the README's command, into ``_build/html``, its
    notebooks executed in the stand-in for Colab (see ``book_session.BookPipeline``)."""
    if not REAL_DATA:
        pytest.skip("the book's chapters need CIFAR-10: set CVTUTOR_DATA")
    return PIPELINE.wait("book")


@pytest.fixture(scope="session")
def english_book() -> BookBuild:
    """The English edition of the session's build (``_build/html`` but ``zh/``), as soon as it is
    made: its log and exit code are the build command's up to then. The Chinese edition may still
    be building: a test that needs it takes ``built_book``."""
    if not REAL_DATA:
        pytest.skip("the book's chapters need CIFAR-10: set CVTUTOR_DATA")
    return PIPELINE.wait("english")


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


