"""Reading the official CIFAR-10 Python release (``cifar-10-python.tar.gz``).

The release holds Python 2 pickles. Unpickling runs code named in the file, so
the archive's SHA-256 is checked before anything in it is read, and the
unpickler only resolves the few NumPy names that CIFAR batches contain.
"""

from __future__ import annotations

import hashlib
import io
import os
import pickle
import tarfile
import zlib
from pathlib import Path

import numpy as np

from cvtutor.data.errors import CorruptDataError

ARCHIVE_NAME = "cifar-10-python.tar.gz"
BATCHES_DIR = "cifar-10-batches-py"
ARCHIVE_SHA256 = "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce"
TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_BATCH = "test_batch"
IMAGES_PER_BATCH = 10_000

try:  # NumPy 2 moved the module; old pickles still name numpy.core.
    from numpy._core.multiarray import _reconstruct
except ImportError:  # pragma: no cover - NumPy 1.x
    from numpy.core.multiarray import _reconstruct

import codecs

# What CIFAR batches pickle: NumPy arrays, and (when written by Python 3 with
# protocol 2) bytes rebuilt through codecs.encode. Nothing else may be called.
_ALLOWED_GLOBALS = {
    ("_codecs", "encode"): codecs.encode,
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
}


class _BatchUnpickler(pickle.Unpickler):
    """Resolves only the NumPy names a CIFAR batch needs; anything else is refused."""

    def find_class(self, module, name):
        try:
            return _ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}: not part of a CIFAR batch") from None


def sha256_of(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def parse_batch(raw: bytes, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Decode one pickled batch into images (N, 32, 32, 3) uint8 and labels (N,) uint8.

    Args:
        raw: the pickle's bytes.
        name: the file's name, used in error messages.

    Raises:
        CorruptDataError: (a ``ValueError``) not a CIFAR-10 batch: a pickle that does not load (or
            names anything but NumPy arrays), a ``b'data'`` that is not uint8 ``(N, 3072)``, labels
            that are not N integers in 0..9; the message names ``name``.
    """
    try:
        batch = _BatchUnpickler(io.BytesIO(raw), encoding="bytes").load()
    except Exception as e:  # any failure to unpickle means a damaged or foreign file
        raise CorruptDataError(name, f"not a CIFAR-10 batch ({type(e).__name__}: {e})") from None
    if not isinstance(batch, dict) or b"data" not in batch or b"labels" not in batch:
        raise CorruptDataError(name, "not a CIFAR-10 batch (expected a dict with b'data' and b'labels')")
    data, labels = batch[b"data"], batch[b"labels"]
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072:
        got = f"{data.dtype} array of shape {data.shape}" if isinstance(data, np.ndarray) else type(data).__name__
        raise CorruptDataError(name, f"b'data' must be a uint8 array of shape (N, 3072), got {got}")
    labels = np.asarray(labels)
    if labels.shape != (len(data),) or not np.issubdtype(labels.dtype, np.integer):
        raise CorruptDataError(name, f"b'labels' must be {len(data)} integers, got {labels.dtype} of shape {labels.shape}")
    if labels.size and (labels.min() < 0 or labels.max() > 9):
        raise CorruptDataError(name, f"labels must lie in 0..9, got {labels.min()}..{labels.max()}")
    # Each row is 1024 red, then 1024 green, then 1024 blue values, row-major 32x32 planes.
    images = data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return np.ascontiguousarray(images), labels.astype(np.uint8)


def _join(parts: list[tuple[np.ndarray, np.ndarray]]):
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def read_archive(path: str | os.PathLike, expected_sha256: str | None = None):
    """Read the official archive after checking its SHA-256.

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: uint8 arrays, images NHWC.

    Raises:
        CorruptDataError: checksum mismatch, truncated archive, or a damaged batch.
    """
    path = Path(path)
    expected_sha256 = expected_sha256 or ARCHIVE_SHA256
    actual = sha256_of(path)
    if actual != expected_sha256:
        raise CorruptDataError(
            str(path),
            f"SHA-256 is {actual}, expected {expected_sha256} (the official CIFAR-10 release); "
            "the file is damaged or not the official archive: delete it and download it again",
        )
    wanted = {f"{BATCHES_DIR}/{n}" for n in (*TRAIN_BATCHES, TEST_BATCH)}
    raw: dict[str, bytes] = {}
    try:
        with tarfile.open(path, "r:gz") as tar:
            for member in tar:
                if member.name in wanted and member.isfile():
                    raw[member.name.rsplit("/", 1)[1]] = tar.extractfile(member).read()
    except (tarfile.TarError, EOFError, zlib.error, OSError) as e:
        raise CorruptDataError(str(path), f"archive is truncated or damaged ({type(e).__name__}: {e})") from None
    missing = sorted(n for n in (*TRAIN_BATCHES, TEST_BATCH) if n not in raw)
    if missing:
        raise CorruptDataError(str(path), f"archive lacks {', '.join(f'{BATCHES_DIR}/{m}' for m in missing)}")
    train = _join([parse_batch(raw[n], f"{path}:{BATCHES_DIR}/{n}") for n in TRAIN_BATCHES])
    test = parse_batch(raw[TEST_BATCH], f"{path}:{BATCHES_DIR}/{TEST_BATCH}")
    return train, test


def read_batches_dir(directory: str | os.PathLike):
    """Read an extracted ``cifar-10-batches-py/`` folder (no checksum is published for its files).

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: uint8 arrays, images NHWC.

    Raises:
        CorruptDataError: (a ``ValueError``) a batch file is missing or damaged (as :func:`parse_batch`);
            the message names the file.
    """
    directory = Path(directory)
    parts = {}
    for name in (*TRAIN_BATCHES, TEST_BATCH):
        file = directory / name
        if not file.is_file():
            raise CorruptDataError(str(file), f"missing: {directory} must hold {', '.join((*TRAIN_BATCHES, TEST_BATCH))}")
        parts[name] = parse_batch(file.read_bytes(), str(file))
    return _join([parts[n] for n in TRAIN_BATCHES]), parts[TEST_BATCH]
