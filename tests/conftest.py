"""Shared fixtures: every test gets its own cache folder and no ambient CIFAR-10 copy."""

import os
from pathlib import Path

import pytest

# The real offline copy (set by .ci/run), captured before the fixtures below hide it.
REAL_DATA = os.environ.get("CVTUTOR_DATA")
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def isolated_data_env(tmp_path, monkeypatch):
    """No $CVTUTOR_DATA, an empty Keras cache and a private cvtutor cache."""
    monkeypatch.delenv("CVTUTOR_DATA", raising=False)
    monkeypatch.setenv("CVTUTOR_CACHE", str(tmp_path / "cvtutor-cache"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras-home"))
