"""Saving and loading ``.keras`` model files safely.

:func:`save_model` writes to a temporary file in the target folder and renames
it over the target, so a process killed mid-save leaves the previous file
intact (see :mod:`cvtutor.files`). :func:`load_model` turns Keras' many failure modes for a damaged file
into one :class:`ModelFileError` that names the file.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

from cvtutor.files import atomic_path


class ModelFileError(ValueError):
    """A model file exists but is not a readable ``.keras`` model (truncated, damaged, foreign)."""

    def __init__(self, path, problem: str):
        super().__init__(f"{path}: {problem}")
        self.path = str(path)


def _check_suffix(path: Path) -> None:
    if path.suffix != ".keras":
        raise ValueError(f"model files must end in .keras, got {str(path)!r}")


def save_model(model, path: str | os.PathLike) -> Path:
    """Save ``model`` (architecture, weights, optimizer state) to ``path`` atomically.

    Written through :func:`cvtutor.files.atomic_path`: a process killed
    mid-save leaves the previous file intact, and the file gets the
    permissions ``model.save`` would give it (umask respected for a new file,
    an existing file's mode kept). A model carrying a
    :mod:`cvtutor.contract` keeps it in the file.

    Args:
        model: a ``keras.Model``.
        path: where to write; must end in ``.keras``.

    Returns:
        the path written.

    Raises:
        ValueError: ``path`` does not end in ``.keras``.
    """
    path = Path(path)
    _check_suffix(path)
    with atomic_path(path, suffix=".keras") as tmp:
        model.save(tmp)
    return path


def load_model(path: str | os.PathLike, compile: bool = True):
    """Load a ``.keras`` file written by :func:`save_model` or ``model.save``.

    Raises:
        FileNotFoundError: no file at ``path`` (the message names it).
        ModelFileError: the file is truncated, damaged or not a Keras model.
    """
    import keras

    import cvtutor.contract  # noqa: F401  (registers the contract layer for deserialization)
    import cvtutor.layers  # noqa: F401  (registers the custom layers for deserialization)
    import cvtutor.losses  # noqa: F401  (registers the custom losses of compiled models)

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no model file at {str(path)!r}")
    _check_suffix(path)
    if not zipfile.is_zipfile(path):
        raise ModelFileError(path, "not a .keras model file (not a zip archive; truncated or damaged?)")
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            bad = archive.testzip()
        if bad is not None:
            raise ModelFileError(path, f"damaged: the member {bad!r} fails its checksum")
        if "config.json" not in names:
            raise ModelFileError(path, "not a .keras model file (no config.json inside)")
        return keras.saving.load_model(path, compile=compile)
    except ModelFileError:
        raise
    except Exception as e:  # Keras raises many types for damaged content
        raise ModelFileError(path, f"could not be loaded ({type(e).__name__}: {str(e)[:300]})") from None
