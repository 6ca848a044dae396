"""What decides a notebook's outputs besides its code cells, printed as one JSON object.

jupyter-cache, which executes and caches the book's notebooks, matches a notebook by its code
cells, their metadata and its kernel's name only. Everything else that can change an output is
read here, by the Python of the kernel that will run the notebooks and with that kernel's
environment (``execution_cache.py`` runs this file that way), so the answer describes the
environment the notebooks really execute in:

- ``cvtutor``: where the package is installed, its version and a SHA-256 of every file of it
  (source and shipped resources, ``__pycache__`` left out), or ``null`` where it is not installed;
- ``distributions``: the versions of what cvtutor requires (with its ``notebooks`` extra) and of
  the other Keras backends, as installed;
- ``python``: the interpreter's version and machine;
- ``profile``: the run profile (``$CVTUTOR_PROFILE``, default ``full``), ``keras_backend`` and
  ``keras_config`` (``$KERAS_BACKEND`` and the settings of ``$KERAS_HOME/keras.json``, Keras's
  defaults where it is absent, as it is before Keras first runs);
- ``data``: the identity of the CIFAR-10 copy the chapters will load (the official archive's
  published checksum, which the loader verifies; a class-folder tarball's SHA-256; a folder
  tree's listing of paths, sizes and modification times), found the way
  ``cvtutor.data.find_cifar10`` finds it, never downloading.

Standard library only, apart from cvtutor's own data finder where cvtutor is installed: the
kernel's environment may hold nothing else.
"""

from __future__ import annotations

import hashlib
import importlib.metadata as metadata
import importlib.util
import json
import os
import platform
import re
import sys
from pathlib import Path

# Keras backends a chapter could run on besides TensorFlow (KERAS_BACKEND picks one).
BACKENDS = ("jax", "jaxlib", "torch")


def package_digest(root: Path) -> str:
    """SHA-256 over every file below ``root``: its path relative to ``root`` and its bytes."""
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
            digest.update(path.relative_to(root).as_posix().encode() + b"\0")
            digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def requirement_names(requirements: list[str]) -> list[str]:
    """The distribution names among ``Requires-Dist`` lines: the unconditional ones and the
    ``notebooks`` extra's (not the book's tooling or the developers')."""
    names = set()
    for line in requirements:
        spec, _, marker = line.partition(";")
        if marker and 'extra == "notebooks"' not in marker:
            continue
        name = re.match(r"[A-Za-z0-9._-]+", spec.strip()).group(0)
        if name.lower() != "cvtutor":
            names.add(name.lower())
    return sorted(names)


def distribution_versions(names) -> dict[str, str | None]:
    versions = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def data_identity() -> dict:
    """The CIFAR-10 copy the chapters will read, as cvtutor finds it, and its fingerprint."""
    try:
        from cvtutor.data import cifar10, folders, official
    except ImportError as error:  # cvtutor absent (its setup cell will install it) or broken
        return {"kind": None, "problem": f"{type(error).__name__}: {error}"}
    try:
        source = cifar10.find_cifar10(allow_download=False)
    except cifar10.CIFAR10NotFoundError as error:
        if os.environ.get(cifar10.ENV_VAR):  # the chapters that read CIFAR-10 will fail
            return {"kind": None, "problem": str(error)}
        return {"kind": "download", "sha256": official.ARCHIVE_SHA256}  # Keras checks it
    if source.kind == "official-archive":
        # The loader refuses any other bytes, so the published checksum names the content.
        return {"kind": source.kind, "sha256": official.ARCHIVE_SHA256}
    return {"kind": source.kind, "fingerprint": folders.fingerprint(source.path)}


# What Keras uses when $KERAS_HOME/keras.json is absent; it writes this file on first import, so
# a build that starts without it and one that starts after it must get the same key.
KERAS_DEFAULTS = {"floatx": "float32", "epsilon": 1e-07, "backend": "tensorflow", "image_data_format": "channels_last"}


def keras_config() -> dict | str:
    """The settings Keras will read from ``$KERAS_HOME/keras.json``, its defaults filled in; the
    file's text where it is not a JSON object (Keras then falls back to its defaults too, but
    an unreadable file is worth a key of its own)."""
    path = Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")).expanduser() / "keras.json"
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return dict(KERAS_DEFAULTS)
    try:
        settings = json.loads(text)
    except ValueError:
        return text
    return {**KERAS_DEFAULTS, **settings} if isinstance(settings, dict) else text


def components() -> dict:
    spec = importlib.util.find_spec("cvtutor")
    if spec is None or not spec.submodule_search_locations:
        package, names = None, []
    else:
        root = Path(next(iter(spec.submodule_search_locations))).resolve()
        try:
            version, names = metadata.version("cvtutor"), requirement_names(metadata.requires("cvtutor") or [])
        except metadata.PackageNotFoundError:  # a source tree on sys.path
            version, names = None, []
        package = {"location": str(root), "version": version, "sha256": package_digest(root)}
    names = sorted(set(names) | {"keras", "tensorflow", "numpy", *BACKENDS})
    return {
        "cvtutor": package,
        "distributions": distribution_versions(names),
        "python": f"{platform.python_implementation()} {platform.python_version()} {platform.machine()}",
        "profile": os.environ.get("CVTUTOR_PROFILE", "").strip().lower() or "full",
        "keras_backend": os.environ.get("KERAS_BACKEND", "").strip() or None,
        "keras_config": keras_config(),
        "data": data_identity(),
    }


if __name__ == "__main__":
    json.dump(components(), sys.stdout, sort_keys=True)
