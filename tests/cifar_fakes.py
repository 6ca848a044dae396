"""Small stand-ins for CIFAR-10 in its three on-disk formats, made inside the tests."""

from __future__ import annotations

import io
import pickle
import tarfile
from pathlib import Path

import numpy as np
from PIL import Image

from cvtutor.data import CLASS_NAMES
from cvtutor.data.official import BATCHES_DIR, TEST_BATCH, TRAIN_BATCHES


def make_images(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """n random uint8 images (n, 32, 32, 3) and labels covering every class."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8), (np.arange(n) % 10).astype(np.uint8)


def batch_pickle(images: np.ndarray, labels: np.ndarray, protocol: int = 2) -> bytes:
    """A batch in the official format: a dict with bytes keys, rows of 1024 R, 1024 G, 1024 B."""
    data = images.transpose(0, 3, 1, 2).reshape(len(images), 3072)
    batch = {
        b"batch_label": b"testing batch",
        b"labels": [int(v) for v in labels],
        b"data": np.ascontiguousarray(data),
        b"filenames": [f"img_{i}.png".encode() for i in range(len(images))],
    }
    return pickle.dumps(batch, protocol=protocol)


def official_batches(per_batch: int = 20, seed: int = 0):
    """{file name: (images, labels)} for the five training batches and the test batch."""
    return {name: make_images(per_batch, seed + i) for i, name in enumerate((*TRAIN_BATCHES, TEST_BATCH))}


def write_batches_dir(root: Path, batches) -> Path:
    folder = root / BATCHES_DIR
    folder.mkdir(parents=True)
    for name, (x, y) in batches.items():
        (folder / name).write_bytes(batch_pickle(x, y))
    (folder / "batches.meta").write_bytes(pickle.dumps({b"label_names": [c.encode() for c in CLASS_NAMES]}, protocol=2))
    return folder


def write_official_archive(path: Path, batches, extra: dict[str, bytes] | None = None) -> Path:
    files = {name: batch_pickle(x, y) for name, (x, y) in batches.items()} | (extra or {})
    with tarfile.open(path, "w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(f"{BATCHES_DIR}/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def png_bytes(image: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="PNG")
    return buf.getvalue()


def write_class_tree(root: Path, n_train: int = 30, n_test: int = 20, seed: int = 0) -> dict[str, tuple]:
    """A lossless (PNG) class-folder tree under root/top/; returns {split: (images, labels)}."""
    content = {"train": make_images(n_train, seed), "test": make_images(n_test, seed + 1)}
    for split, (x, y) in content.items():
        for i, (image, label) in enumerate(zip(x, y)):
            folder = root / "top" / split / CLASS_NAMES[label]
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"{i:04d}.png").write_bytes(png_bytes(image))
    return content


def tar_tree(root: Path, path: Path) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        tar.add(root / "top", arcname="top")
    return path


def same_examples(x, y, expected_x, expected_y) -> bool:
    """True when (x, y) holds exactly the expected examples, in any order."""
    if x.shape != expected_x.shape or y.shape != expected_y.shape:
        return False
    key = lambda xs, ys: sorted(zip((im.tobytes() for im in xs), ys.tolist()))  # noqa: E731
    return key(x, y) == key(expected_x, expected_y)
