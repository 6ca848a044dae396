"""An on-disk cache of decoded arrays, written atomically.

A cache file is written to a temporary name in the same folder, flushed to
disk, then renamed over the final name, so a crash mid-write never leaves a
file that a later run trusts. Each file records the fingerprint of the source
it was decoded from; a file whose fingerprint differs (the source changed) or
that cannot be read is ignored and rebuilt.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np

ENV_VAR = "CVTUTOR_CACHE"
_KEYS = ("x_train", "y_train", "x_test", "y_test")


def cache_dir() -> Path:
    """``$CVTUTOR_CACHE``, else ``$XDG_CACHE_HOME/cvtutor``, else ``~/.cache/cvtutor``."""
    if os.environ.get(ENV_VAR):
        return Path(os.environ[ENV_VAR]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "cvtutor"


def cache_path(source: Path) -> Path:
    """The cache file for one source: named by its absolute path, so re-decoding replaces it."""
    key = hashlib.sha256(str(source.resolve()).encode()).hexdigest()[:16]
    return cache_dir() / f"cifar10-{key}.npz"


def load(path: Path, fingerprint: str):
    """The cached ``(x_train, y_train), (x_test, y_test)``, or None if absent, stale or unreadable."""
    try:
        with np.load(path, allow_pickle=False) as f:
            if str(f["fingerprint"]) != fingerprint:
                return None
            arrays = [f[k] for k in _KEYS]
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        return None  # missing, truncated or foreign file: decode again
    return (arrays[0], arrays[1]), (arrays[2], arrays[3])


def save(path: Path, fingerprint: str, train, test) -> None:
    """Write the arrays atomically; a failure leaves any previous file intact."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, fingerprint=np.array(fingerprint), **dict(zip(_KEYS, (*train, *test))))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
