"""An on-disk cache of decoded arrays, written atomically.

A cache file is written to a temporary name in the same folder, flushed to
disk, then renamed over the final name (:mod:`cvtutor.files`), so a crash mid-write never leaves a
file that a later run trusts. Each file records the fingerprint of the source
it was decoded from; a file whose fingerprint differs (the source changed) or
that cannot be read is ignored and rebuilt.
"""

from __future__ import annotations

import hashlib
import os
import zipfile
from pathlib import Path

import numpy as np

from cvtutor.files import atomic_write

ENV_VAR = "CVTUTOR_CACHE"
_KEYS = ("x_train", "y_train", "x_test", "y_test")


def cache_dir() -> Path:
    """``$CVTUTOR_CACHE``, else ``$XDG_CACHE_HOME/cvtutor``, else ``~/.cache/cvtutor``."""
    if os.environ.get(ENV_VAR):
        return Path(os.environ[ENV_VAR]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "cvtutor"


def cache_path(source: Path, prefix: str = "cifar10", params: str = "") -> Path:
    """The cache file for one source: named by its absolute path, so re-decoding replaces it.

    ``params`` (e.g. the image size and channels a loader decoded to) joins the
    path in the name, so each set of parameters has its own file; ``prefix`` says
    which loader wrote it.
    """
    key = str(source.resolve()) + (f"\0{params}" if params else "")
    return cache_dir() / f"{prefix}-{hashlib.sha256(key.encode()).hexdigest()[:16]}.npz"


def load(path: Path, fingerprint: str):
    """The cached ``(x_train, y_train), (x_test, y_test)``, or None if absent, stale or unreadable."""
    entry = load_with_extra(path, fingerprint)
    return None if entry is None else entry[:2]


def load_with_extra(path: Path, fingerprint: str, extra: tuple[str, ...] = ()):
    """Like :func:`load`, plus the arrays named ``extra`` (as :func:`save` got them):
    ``(train, test, {name: array})``, or None if absent, stale, unreadable or lacking one."""
    try:
        with np.load(path, allow_pickle=False) as f:
            if str(f["fingerprint"]) != fingerprint:
                return None
            arrays = [f[k] for k in _KEYS]
            extras = {k: f[k] for k in extra}
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        return None  # missing, truncated or foreign file: decode again
    return (arrays[0], arrays[1]), (arrays[2], arrays[3]), extras


class CacheNotWritten(RuntimeWarning):
    """The decoded data could not be cached (a folder that cannot be written, a full disk): the data
    is used all the same, and decoded again next time."""


def save(path: Path, fingerprint: str, train, test, **extra) -> bool:
    """Write the arrays atomically (:func:`cvtutor.files.atomic_write`); a failure leaves any previous file intact.

    ``extra`` names more arrays to store beside them (read back by :func:`load_with_extra`).

    The file gets the permissions a plain write would give it (umask
    respected for a new file, an existing file's mode kept). Where the cache cannot be
    written (its folder read-only or not creatable, as in a container run as another user
    whose home does not exist; a full disk), nothing is lost: a :class:`CacheNotWritten`
    warning names the folder and ``$CVTUTOR_CACHE``, and the caller goes on without a cache.

    Returns:
        whether the file was written.
    """
    try:
        with atomic_write(path, "wb") as f:
            np.savez(f, fingerprint=np.array(fingerprint), **dict(zip(_KEYS, (*train, *test))), **extra)
    except OSError as error:
        import warnings

        reason = error.strerror or type(error).__name__
        warnings.warn(f"the decoded images were not cached in {path.parent} ({reason}): they are decoded again "
                      f"next time; set ${ENV_VAR} to a folder you can write to keep them", CacheNotWritten,
                      stacklevel=2)
        return False
    return True
