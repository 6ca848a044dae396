"""Writing files atomically: a file appears whole, with the permissions a plain write gives, or not at all.

Every file cvtutor writes that a later run trusts (model files, checkpoints,
the decoded-data cache, benchmark records, the command line's JSON) goes
through :func:`atomic_path` or :func:`atomic_write`::

    with atomic_write("record.json", "w") as f:
        json.dump(record, f)

    with atomic_path("model.keras", suffix=".keras") as tmp:
        model.save(tmp)          # a writer that wants a path, not a file object

The data goes to a temporary file in the target's folder, is flushed to disk
(``fsync``), given the target's permissions and renamed over the target
(``os.replace``, atomic on POSIX and Windows within one file system). A
process killed at any moment leaves either the previous file or the new one,
never a half-written one; an exception inside the block removes the
temporary file and leaves the previous file as it was.

Permissions: ``tempfile.mkstemp`` creates files readable by their owner only
(``0o600``). A file written here instead gets what ``open(path, "w")`` would
give it: an existing file keeps its mode (e.g. ``0o640`` stays ``0o640``), a
new file gets ``0o666`` less the process's umask (``0o644`` under the usual
umask ``022``). Keras' ``model.save`` gives the same.

Imports only the standard library (the data loader uses it without TensorFlow).
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

from cvtutor import checks

__all__ = ["atomic_path", "atomic_write", "ensure_room", "plain_write_mode", "fitting_name", "portable", "write_target"]

# The longest file name (in bytes) that the common file systems take (ext4, APFS, NTFS's 255 UTF-16
# units are at least as many): a temporary name built from a long legal name must stay within it.
NAME_MAX = 255

_UMASK_LOCK = threading.Lock()


def _umask() -> int:
    """The process's umask (read by setting it and putting it back; guarded against other threads here)."""
    with _UMASK_LOCK:
        mask = os.umask(0o022)
        os.umask(mask)
    return mask


def plain_write_mode(path: str | os.PathLike) -> int:
    """The permission bits a plain ``open(path, "w")`` would leave ``path`` with.

    Args:
        path: the file about to be written.

    Returns:
        the existing file's mode bits (``stat.S_IMODE``) if ``path`` exists,
        else ``0o666 & ~umask``.
    """
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        return 0o666 & ~_umask()


def _fsync_folder(folder: Path) -> None:
    """Make a rename in ``folder`` durable (POSIX); a no-op where folders cannot be opened (Windows)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def fitting_name(name: str, extra: int) -> str:
    """``name`` shortened, if need be, so that ``extra`` more bytes still fit a file name (``NAME_MAX``).

    A shortened name keeps its start, cut at a character boundary, and ends in 8 hex digits of
    its SHA-256, so that two long names that share a start stay apart.

    Raises:
        ValueError: ``extra`` leaves no room for a name.
    """
    import hashlib

    room = NAME_MAX - extra
    encoded = name.encode("utf-8", "surrogateescape")
    if len(encoded) <= room:
        return name
    if room < 16:
        raise ValueError(f"no room for a file name: {extra} of {NAME_MAX} bytes are taken")
    digest = hashlib.sha256(encoded).hexdigest()[:8]
    return encoded[: room - 9].decode("utf-8", "ignore") + "-" + digest


def ensure_room(path: str | os.PathLike, needed_bytes: int) -> None:
    """Refuse to start a write of about ``needed_bytes`` to ``path`` that the disk cannot take.

    Some writers cannot fail cleanly half way: h5py, which Keras saves weights with, is left in a
    broken state by a full disk (error messages at every later garbage collection, and a
    segmentation fault at exit). Checking the free space first turns the common case into one
    clean error, before anything is written.

    Raises:
        OSError: ``errno.ENOSPC``, naming ``path``, the bytes needed and the bytes free.
    """
    import errno
    import shutil

    folder = write_target(path).parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    free = shutil.disk_usage(folder).free
    if free < needed_bytes:
        raise OSError(errno.ENOSPC, f"No space left on device: writing {path} needs about "
                      f"{needed_bytes / 2**20:.1f} MiB, {free / 2**20:.1f} MiB are free", str(path))


def write_target(path: str | os.PathLike) -> Path:
    """The file a write to ``path`` changes: ``path`` itself, or, where ``path`` is a symbolic link
    (to a shared model, say), the file it points to, so that the link stays a link. A plain
    ``open(path, "w")`` writes through links the same way."""
    path = Path(path)
    return Path(os.path.realpath(path)) if path.is_symlink() else path


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, *, suffix: str = ".tmp") -> Iterator[Path]:
    """A temporary path to write instead of ``path``; on success it replaces ``path`` atomically.

    Use it for writers that take a file name (``model.save``,
    ``model.save_weights``, ``np.savez`` with a name). The temporary file is
    created empty (so the name is reserved); the writer may replace it.

    A ``path`` that is a symbolic link is written where it points (:func:`write_target`): the
    link stays. A name near the file-name limit gets a shortened temporary name
    (:func:`fitting_name`), so every legal name can be written.

    Args:
        path: the file to write. Its folder is created if missing.
        suffix: the temporary name's ending, for writers that check it
            (``".keras"`` for ``model.save``, ``".weights.h5"`` for ``save_weights``).

    Yields:
        the temporary ``Path``, ``.<name>.<random><suffix>`` beside ``path``.

    Raises:
        FileNotFoundError: the writer left no file at the temporary path.
        OSError: from creating, syncing or renaming the file; the previous
            ``path`` is then untouched and the temporary file removed.
    """
    path = write_target(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # mkstemp adds 8 random characters; a dot before and after the name
    stem = fitting_name(path.name, 2 + 8 + len(suffix.encode()))
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{stem}.", suffix=suffix)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        with open(tmp, "rb") as f:  # FileNotFoundError if the writer removed it and wrote nothing
            os.fsync(f.fileno())
        os.chmod(tmp, plain_write_mode(path))
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_folder(path.parent)


@contextlib.contextmanager
def atomic_folder(path: str | os.PathLike) -> Iterator[Path]:
    """A staging folder to fill instead of the folder ``path``; on success it becomes ``path`` in
    one rename (atomic on POSIX within a file system), so a reader never sees a half-written
    folder (e.g. a KerasHub preset: :func:`cvtutor.pretrained.save_local_preset`).

    Args:
        path: the folder to write; absent or empty (a rename cannot replace a folder that holds
            files: remove an old one first). Its parent is created if missing.

    Yields:
        the staging ``Path``, ``.<name>-<random>`` beside ``path``.

    Raises:
        OSError: from creating or renaming the folder (``path`` holds files, for one); the
            staging folder is then removed and ``path`` untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{fitting_name(path.name, 10)}-"))
    try:
        yield staging
        os.replace(staging, path)
    except BaseException:
        import shutil

        shutil.rmtree(staging, ignore_errors=True)
        raise
    _fsync_folder(path.parent)


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "wb", *, encoding: str | None = None,
                 suffix: str = ".tmp") -> Iterator:
    """Open a temporary file for writing; on success it replaces ``path`` atomically.

    Args:
        path: the file to write. Its folder is created if missing.
        mode: ``"wb"`` (bytes) or ``"w"`` (text).
        encoding: for text mode; default UTF-8.
        suffix: the temporary name's ending (see :func:`atomic_path`).

    Yields:
        the open file object; it is flushed, synced and closed when the block ends.

    Raises:
        TypeError: ``mode`` is not a string.
        ValueError: ``mode`` is not ``"w"`` or ``"wb"``.
        OSError: as :func:`atomic_path`.
    """
    checks.one_of("mode", mode, ("w", "wb"))
    if mode == "w" and encoding is None:
        encoding = "utf-8"
    with atomic_path(path, suffix=suffix) as tmp:
        with open(tmp, mode, encoding=encoding) as f:
            yield f
            f.flush()


def portable(text: str, data_dir: str | os.PathLike | None = None,
             checkout: str | os.PathLike | None = None) -> str:
    """``text`` without this machine's folders, for a page, a log or a record that others read.

    ``--data-dir <folder>`` (in a recorded command) becomes ``--data-dir $CVTUTOR_DATA``;
    paths inside ``checkout`` (a repository's root, see ``checkout_root``) become relative
    to it; ``data_dir`` (default: ``$CVTUTOR_DATA``), the temporary folder and the home folder
    become ``$CVTUTOR_DATA``, ``$TMPDIR`` and ``~``, e.g.
    ``/srv/shared/data/cifar10-jpeg.tar.gz`` -> ``$CVTUTOR_DATA/cifar10-jpeg.tar.gz`` and, with
    ``checkout="/srv/cvtutor"``, ``--out /srv/cvtutor/benchmarks/results`` -> ``--out benchmarks/results``.
    """
    text = re.sub(r"(--data-dir[= ])(?!\$)\S+", r"\1$CVTUTOR_DATA", str(text))
    if checkout and len(os.fspath(checkout).rstrip("/")) > 1:
        # Before the temporary folder: a checkout may sit inside it.
        root = re.escape(os.fspath(checkout).rstrip("/"))
        text = re.sub(root + r"/(?=\S)", "", text)
        text = re.sub(root + r"(?=\s|$|[\"')])", ".", text)
    data_dir = os.fspath(data_dir) if data_dir else os.environ.get("CVTUTOR_DATA")
    folders = [(data_dir, "$CVTUTOR_DATA"), (tempfile.gettempdir(), "$TMPDIR"),
               (os.path.expanduser("~"), "~")]
    for folder, name in folders:
        if folder and len(folder.rstrip("/")) > 1:
            text = re.sub(re.escape(folder.rstrip("/")) + r"(?=/|\b|$)", lambda _: name, text)
    return text


def checkout_root(path: str | os.PathLike) -> Path | None:
    """The repository that holds ``path``: the nearest folder at or above it with a ``.git``
    entry, or None outside any repository."""
    path = Path(path).resolve()
    return next((folder for folder in (path, *path.parents) if (folder / ".git").exists()), None)
