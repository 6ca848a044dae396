"""Decoding a class-folder copy of CIFAR-10 (a folder tree or a tarball of one).

Layout, as ``keras.utils.image_dataset_from_directory`` reads it::

    [top/]train/<class>/<image>   [top/]test/<class>/<image>

with ``<class>`` one of :data:`CLASS_NAMES`. Every image must decode to 32x32
pixels. Files whose names start with a dot (``.DS_Store``) are skipped; any
other file that is not a 32x32 image is an error naming that file.
"""

from __future__ import annotations

import hashlib
import io
import os
import tarfile
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path, PurePosixPath

import numpy as np
from PIL import Image

from cvtutor.data.errors import CorruptDataError

CLASS_NAMES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
SPLITS = ("train", "test")
IMAGE_SHAPE = (32, 32, 3)
TARBALL_SUFFIXES = (".tar.gz", ".tgz", ".tar", ".tar.bz2", ".tar.xz")
# A fixed shuffle, so that x_train[:n] holds every class in about equal numbers.
ORDER_SEED = 0


def find_tree_root(directory: Path) -> Path | None:
    """``directory`` or its single child that holds ``train/`` and ``test/``, else None."""
    candidates = [directory] + sorted(p for p in directory.iterdir() if p.is_dir())
    for root in candidates:
        if all((root / split).is_dir() for split in SPLITS):
            return root
    return None


def is_tarball(path: Path) -> bool:
    return path.is_file() and path.name.endswith(TARBALL_SUFFIXES)


def fingerprint(source: Path) -> str:
    """A hex digest that changes whenever the source's content may have changed.

    A tarball is hashed byte for byte (19 MB take a fraction of a second); a
    tree by every file's relative path, size and modification time.
    """
    digest = hashlib.sha256()
    if source.is_file():
        with open(source, "rb") as f:
            while block := f.read(1 << 20):
                digest.update(block)
    else:
        for path in sorted(source.rglob("*")):
            if path.is_file():
                st = path.stat()
                digest.update(f"{path.relative_to(source).as_posix()}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def _split_and_class(parts: tuple[str, ...]) -> tuple[str, str] | None:
    """``(split, class)`` for a path ending ``split/class/file``, else None."""
    if len(parts) >= 3 and parts[-3] in SPLITS:
        return parts[-3], parts[-2]
    return None


def _iter_tree(root: Path) -> Iterator[tuple[str, str, str, bytes, float]]:
    total = max(1, sum(1 for split in SPLITS for p in (root / split).rglob("*") if p.is_file()))
    seen = 0
    for split in SPLITS:
        for class_dir in sorted((root / split).iterdir()):
            if class_dir.name.startswith("."):
                continue
            if not class_dir.is_dir():
                raise CorruptDataError(str(class_dir), f"expected only class folders in {root / split}")
            for file in sorted(class_dir.iterdir()):
                seen += 1
                if not file.name.startswith("."):
                    yield split, class_dir.name, str(file), file.read_bytes(), seen / total


def _iter_tarball(path: Path) -> Iterator[tuple[str, str, str, bytes, float]]:
    size = max(1, path.stat().st_size)
    try:
        with open(path, "rb") as raw, tarfile.open(fileobj=raw, mode="r:*") as tar:
            for member in tar:
                parts = PurePosixPath(member.name).parts
                where = _split_and_class(parts)
                if where is None or not member.isfile() or parts[-1].startswith("."):
                    continue
                data = tar.extractfile(member).read()
                yield where[0], where[1], f"{path}:{member.name}", data, min(raw.tell() / size, 1.0)
    except (tarfile.TarError, EOFError, zlib.error, OSError) as e:
        raise CorruptDataError(str(path), f"archive is truncated or damaged ({type(e).__name__}: {e})") from None


def decode_image(data: bytes, name: str) -> np.ndarray:
    """Decode one image file's bytes to a (32, 32, 3) uint8 array, or raise CorruptDataError."""
    try:
        with Image.open(io.BytesIO(data)) as im:
            im.load()
            if im.size != IMAGE_SHAPE[1::-1]:
                raise CorruptDataError(name, f"image is {im.size[0]}x{im.size[1]} pixels, expected 32x32")
            pixels = np.asarray(im if im.mode == "RGB" else im.convert("RGB"), dtype=np.uint8)
    except CorruptDataError:
        raise
    except Exception as e:  # Pillow raises many types for bad bytes
        raise CorruptDataError(name, f"not a readable image ({type(e).__name__}: {e})") from None
    return pixels


def read_class_folders(source: str | os.PathLike, progress: Callable[[float], None] | None = None):
    """Decode a class-folder tree or tarball.

    Args:
        source: a folder whose tree holds ``train/<class>/`` and ``test/<class>/``
            (directly or one level down), or a tarball of such a tree.
        progress: called now and then with the fraction decoded so far (0..1).

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: images (N, 32, 32, 3) uint8,
        labels (N,) uint8 in :data:`CLASS_NAMES` order, examples in a fixed
        mixed-class order.

    Raises:
        CorruptDataError: a damaged archive, an unknown class folder, an empty
            split or class, or a file that is not a 32x32 image.
    """
    source = Path(source)
    if is_tarball(source):
        entries = _iter_tarball(source)
    else:
        root = find_tree_root(source)
        if root is None:
            raise CorruptDataError(str(source), "expected train/<class>/ and test/<class>/ folders")
        entries = _iter_tree(root)

    images: dict[str, list[np.ndarray]] = {s: [] for s in SPLITS}
    labels: dict[str, list[int]] = {s: [] for s in SPLITS}
    names: dict[str, list[str]] = {s: [] for s in SPLITS}
    for count, (split, class_name, name, data, done) in enumerate(entries, 1):
        if progress is not None and count % 1000 == 0:
            progress(done)
        if class_name not in CLASS_NAMES:
            raise CorruptDataError(name, f"unknown class folder {class_name!r}; expected one of {', '.join(CLASS_NAMES)}")
        images[split].append(decode_image(data, name))
        labels[split].append(CLASS_NAMES.index(class_name))
        names[split].append(name)
    if progress is not None:
        progress(1.0)

    result = []
    for split in SPLITS:
        counts = np.bincount(labels[split], minlength=len(CLASS_NAMES))
        if not counts.all():
            empty = [c for c, n in zip(CLASS_NAMES, counts) if n == 0]
            raise CorruptDataError(str(source), f"no {split} images for class(es) {', '.join(empty)}")
        # Sort by file name first so the order does not depend on the archive's member order.
        by_name = np.argsort(np.array(names[split]), kind="stable")
        order = by_name[np.random.default_rng(ORDER_SEED).permutation(len(by_name))]
        result.append((np.stack(images[split])[order], np.array(labels[split], dtype=np.uint8)[order]))
    return tuple(result)
