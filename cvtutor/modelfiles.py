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

from cvtutor.files import atomic_path, ensure_room


class ModelFileError(ValueError):
    """A model file exists but is not a readable ``.keras`` model (truncated, damaged, foreign)."""

    def __init__(self, path, problem: str):
        super().__init__(f"{path}: {problem}")
        self.path = str(path)


def _check_suffix(path: Path) -> None:
    if path.suffix != ".keras":
        raise ValueError(f"path must be a model file ending in .keras, got {str(path)!r}")


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
        OSError: ``errno.ENOSPC`` before anything is written, when the disk has less room than the
            file needs (:func:`cvtutor.files.ensure_room`); any other error of the write, the
            previous file then untouched.
    """
    path = Path(path)
    _check_suffix(path)
    ensure_room(path, saved_bytes(model))
    with atomic_path(path, suffix=".keras") as tmp:
        model.save(tmp)
    return path


def saved_bytes(model) -> int:
    """About the bytes a save of ``model`` writes: its variables and its optimizer's, plus room for
    the configuration and the file's own structure."""
    import numpy as np

    variables = list(model.weights)
    optimizer = getattr(model, "optimizer", None)
    if optimizer is not None and getattr(optimizer, "built", False):
        variables += list(optimizer.variables)
    def itemsize(variable) -> int:
        try:
            return np.dtype(str(getattr(variable, "dtype", "float32"))).itemsize
        except TypeError:  # a dtype NumPy does not know (bfloat16 without ml_dtypes): at most 4 bytes
            return 4

    payload = sum(int(np.prod(v.shape)) * itemsize(v) for v in variables)
    return int(payload * 1.05) + (1 << 20)


def load_model(path: str | os.PathLike, compile: bool = True):
    """Load a ``.keras`` file written by :func:`save_model` or ``model.save``.

    Raises:
        FileNotFoundError: no file at ``path`` (the message names it).
        ValueError: ``path`` does not end in ``.keras``.
        ModelFileError: the file is truncated, damaged or not a Keras model, or Keras cannot build it
            (e.g. written by a newer Keras or cvtutor); one line naming the file, Keras's reason, the
            Keras and cvtutor versions that wrote it and the installed ones.
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
        raise ModelFileError(path, f"could not be loaded: {_root_cause(e)}; {_versions(path)}") from None


def _root_cause(error: BaseException) -> str:
    """The part of a Keras loading error that says what went wrong: Keras wraps the cause in advice
    (``... Exception encountered: <cause>``); the cause, on one line, at most 300 characters."""
    text = str(error)
    if "Exception encountered:" in text:
        text = text.rsplit("Exception encountered:", 1)[1]
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    cause = " ".join(lines[:3]) if lines else type(error).__name__
    cause = cause if cause.startswith(type(error).__name__) else f"{type(error).__name__}: {cause}"
    return cause if len(cause) <= 300 else cause[:297] + "..."


def writer_versions(path: str | os.PathLike) -> dict:
    """The versions that wrote a ``.keras`` file, read from the archive without loading it:
    ``{"keras": ... (its metadata.json), "cvtutor": ... (its contract's metadata)}``, None where absent."""
    import json
    import re

    found = {"keras": None, "cvtutor": None}
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            if "metadata.json" in names:
                found["keras"] = json.loads(archive.read("metadata.json")).get("keras_version")
            if "config.json" in names:
                match = re.search(r'"cvtutor_version":\s*"([^"]+)"', archive.read("config.json").decode("utf-8", "replace"))
                found["cvtutor"] = match.group(1) if match else None
    except (OSError, ValueError, zipfile.BadZipFile):
        pass
    return found


def _newer(written: str | None, installed: str) -> bool:
    if not written:
        return False
    try:
        from packaging.version import Version

        return Version(written) > Version(installed)
    except Exception:  # noqa: BLE001 - an unparsable version is not known to be newer
        return False


def _versions(path) -> str:
    """Which Keras and cvtutor wrote ``path`` and which are installed, and what to do if newer."""
    import keras

    from cvtutor import __version__

    writer = writer_versions(path)
    wrote = f"written by Keras {writer['keras'] or '(unknown)'}" + (
        f" and cvtutor {writer['cvtutor']}" if writer["cvtutor"] else "")
    text = f"{wrote}; installed: Keras {keras.__version__}, cvtutor {__version__}"
    if _newer(writer["keras"], keras.__version__) or _newer(writer["cvtutor"], __version__):
        text += " (the file is newer: pip install --upgrade keras cvtutor)"
    return text
