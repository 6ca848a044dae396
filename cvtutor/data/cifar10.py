"""Finding and loading CIFAR-10.

Sources, in order:

1. ``data_dir`` (or ``$CVTUTOR_DATA`` when ``data_dir`` is None), holding any of:
   the official ``cifar-10-python.tar.gz`` (SHA-256 checked), an extracted
   ``cifar-10-batches-py/``, or a class-folder tree or tarball (decoded once,
   then cached). ``data_dir`` may also name such an archive directly.
2. Otherwise a copy Keras already downloaded (``~/.keras/datasets``), else the
   Keras download of the official archive (checked the same way).
"""

from __future__ import annotations

import dataclasses
import os
import socket
from pathlib import Path
from urllib.parse import urlparse

from cvtutor.data import cache, folders, official
from cvtutor.data.errors import CIFAR10NotFoundError

CLASS_NAMES = folders.CLASS_NAMES
ENV_VAR = "CVTUTOR_DATA"
DOWNLOAD_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
# How long to wait for the download server to answer before saying we are offline.
CONNECT_TIMEOUT_S = 5.0


@dataclasses.dataclass(frozen=True)
class Source:
    """Where CIFAR-10 comes from.

    Attributes:
        kind: ``"official-archive"``, ``"batches-dir"``, ``"class-folders"`` or ``"download"``.
        path: the archive, folder or download target.
    """

    kind: str
    path: Path

    def describe(self) -> str:
        what = {
            "official-archive": "official CIFAR-10 archive",
            "batches-dir": "extracted official batches",
            "class-folders": "class-folder copy (decoded once, then cached)",
            "download": f"Keras download from {DOWNLOAD_URL}",
        }[self.kind]
        return f"{what}: {self.path}"


def _source_in(place: Path) -> Source | None:
    """The copy of CIFAR-10 that ``place`` (a folder or an archive) holds, if any."""
    if place.is_file():
        if place.name == official.ARCHIVE_NAME:
            return Source("official-archive", place)
        if folders.is_tarball(place):
            return Source("class-folders", place)
        return None
    if not place.is_dir():
        return None
    if (place / official.ARCHIVE_NAME).is_file():
        return Source("official-archive", place / official.ARCHIVE_NAME)
    if (place / official.BATCHES_DIR).is_dir():
        return Source("batches-dir", place / official.BATCHES_DIR)
    if place.name == official.BATCHES_DIR:
        return Source("batches-dir", place)
    root = folders.find_tree_root(place)
    if root is not None:
        return Source("class-folders", root)
    tarballs = sorted(p for p in place.iterdir() if folders.is_tarball(p))
    if tarballs:
        return Source("class-folders", tarballs[0])
    return None


def keras_datasets_dir() -> Path:
    """Where Keras keeps its downloads (``$KERAS_HOME/datasets``, default ``~/.keras/datasets``)."""
    return Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")).expanduser() / "datasets"


def _keras_places() -> list[Path]:
    base = keras_datasets_dir()
    return [base / official.ARCHIVE_NAME, base / "cifar-10-batches-py-target" / official.BATCHES_DIR, base / official.BATCHES_DIR]


def _can_reach(url: str, timeout: float) -> bool:
    host = urlparse(url).hostname
    try:
        with socket.create_connection((host, 443), timeout=timeout):
            return True
    except OSError:
        return False


def find_cifar10(data_dir: str | os.PathLike | None = None, *, allow_download: bool = True) -> Source:
    """Locate CIFAR-10 without reading it.

    Args:
        data_dir: a folder or archive to use; None means ``$CVTUTOR_DATA``, then
            the Keras cache, then the Keras download.
        allow_download: whether the download counts as a source; when it does,
            the server is contacted (at most ``CONNECT_TIMEOUT_S`` seconds).

    Raises:
        CIFAR10NotFoundError: nothing usable at ``data_dir``/``$CVTUTOR_DATA``, or
            no local copy and no connection. Its ``places`` lists what was tried.
    """
    if data_dir is None and os.environ.get(ENV_VAR):
        data_dir, origin = os.environ[ENV_VAR], f"${ENV_VAR}"
    else:
        origin = "data_dir"
    if data_dir is not None:
        place = Path(data_dir).expanduser()
        source = _source_in(place)
        if source is not None:
            return source
        state = "does not exist" if not place.exists() else "holds no copy of CIFAR-10"
        raise CIFAR10NotFoundError(
            f"{origin}={str(data_dir)!r} {state}. Expected there: {official.ARCHIVE_NAME}, "
            f"an extracted {official.BATCHES_DIR}/, or a class-folder tree or tarball "
            "(train/<class>/*, test/<class>/*).",
            places=[str(place)],
        )
    places = _keras_places()
    for place in places:
        source = _source_in(place)
        if source is not None:
            return source
    tried = [str(p) for p in places] + [DOWNLOAD_URL]
    if allow_download and _can_reach(DOWNLOAD_URL, CONNECT_TIMEOUT_S):
        return Source("download", keras_datasets_dir() / official.ARCHIVE_NAME)
    raise CIFAR10NotFoundError(
        "CIFAR-10 was not found and could not be downloaded. Looked in: "
        + "; ".join(tried)
        + f". Fix it either way: (1) point ${ENV_VAR} (or data_dir) at a folder holding "
        f"{official.ARCHIVE_NAME}, {official.BATCHES_DIR}/ or a class-folder copy; or "
        "(2) connect to the internet so that Keras can download the official archive (163 MiB).",
        places=tried,
    )


def _download(target: Path) -> Path:
    import keras  # imported here: only a download needs it

    path = keras.utils.get_file(
        fname=target.name, origin=DOWNLOAD_URL, file_hash=official.ARCHIVE_SHA256, cache_dir=str(target.parent.parent)
    )
    return Path(path)


def read_source(source: Source, progress=None):
    """Read a located source into ``(x_train, y_train), (x_test, y_test)``.

    ``progress``, if given, is called with the fraction done (0..1) while a
    class-folder copy is decoded (the one slow case; the result is cached).
    """
    if source.kind == "download":
        return official.read_archive(_download(source.path))
    if source.kind == "official-archive":
        return official.read_archive(source.path)
    if source.kind == "batches-dir":
        return official.read_batches_dir(source.path)
    stamp = folders.fingerprint(source.path)
    target = cache.cache_path(source.path)
    cached = cache.load(target, stamp)
    if cached is not None:
        return cached
    train, test = folders.read_class_folders(source.path, progress)
    cache.save(target, stamp, train, test)
    return train, test


def load_cifar10(data_dir: str | os.PathLike | None = None, *, progress=None):
    """Load CIFAR-10 as NumPy arrays.

    Args:
        data_dir: a folder (or archive) holding a copy; None means
            ``$CVTUTOR_DATA``, else the Keras cache or download.
        progress: optional callable taking the fraction decoded (0..1), called
            while a class-folder copy is decoded for the first time.

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: images uint8 (N, 32, 32, 3)
        with values 0..255, labels uint8 (N,) indexing :data:`CLASS_NAMES`;
        50,000 training and 10,000 test images for the full data set.

    Raises:
        CIFAR10NotFoundError: no copy found and no download possible.
        CorruptDataError: a copy was found but is damaged (the message names the file).
    """
    return read_source(find_cifar10(data_dir), progress)
