"""Decoding class-folder trees (a folder tree or a tarball of one): CIFAR-10's copy and the reader's own.

CIFAR-10's copy (:func:`read_class_folders`), as
``keras.utils.image_dataset_from_directory`` reads it::

    [top/]train/<class>/<image>   [top/]test/<class>/<image>

with ``<class>`` one of :data:`CLASS_NAMES`. Every image must decode to 32x32
pixels. Files whose names start with a dot (``.DS_Store``) are skipped; any
other file that is not a 32x32 image is an error naming that file.

Any other class-folder tree (:func:`load_image_folder`): any class names, any
image sizes and formats, resized on the way in; see its docstring for the rules.
"""

from __future__ import annotations

import collections
import concurrent.futures
import functools
import hashlib
import io
import numbers
import os
import tarfile
import warnings
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path, PurePosixPath

import numpy as np
from PIL import Image

from cvtutor import checks
from cvtutor.data import cache, images
from cvtutor.data.errors import CorruptDataError
from cvtutor.data.splits import validation_count

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
    """Decode one image file's bytes to a (32, 32, 3) uint8 array.

    Raises:
        CorruptDataError: (a ``ValueError``) the bytes are not an image Pillow reads, or not 32x32
            pixels; the message names ``name``.
    """
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


# --- any class-folder tree: load_image_folder -------------------------------------------------

# Skipped wherever they appear, as Keras and file managers skip them: besides any name
# starting with a dot (.DS_Store, ._IMG_1.jpg, .git/), the files and folders that macOS,
# Windows and NAS boxes leave behind. Compared in lower case.
JUNK_NAMES = frozenset({
    "__macosx", "thumbs.db", "ehthumbs.db", "desktop.ini", "@eadir", "$recycle.bin", "system volume information",
})
# The held-out split beside train/: test/ first, else val/ or validation/.
HELD_OUT_NAMES = ("test", "val", "validation")
# Threads decoding at once (Pillow releases the GIL while it decodes and resizes).
WORKERS = 2
# Bump when decoding changes, so caches of the old decoding are not trusted.
IMAGE_CACHE_VERSION = 1

_Parts = tuple  # a file's or folder's path inside the source, as a tuple of names


def is_junk(name: str) -> bool:
    """Whether a file or folder name is OS junk or hidden (skipped with everything inside)."""
    return name.startswith(".") or name.lower() in JUNK_NAMES


def _list_tree(directory: Path) -> tuple[dict, set]:
    """``({parts: path}, {folder parts})`` of every non-junk file and folder under ``directory``.

    Symbolic links are followed (a class folder may be a link to where the photos
    are), each real folder once, so a link back up the tree cannot loop. A link that
    points nowhere (a drive that is not mounted) is an error, never a class or an image
    silently left out.

    Raises:
        CorruptDataError: a symbolic link whose target does not exist.
    """
    files: dict[_Parts, object] = {}
    folders: set[_Parts] = set()
    seen = {os.path.realpath(directory)}
    for top, dirnames, filenames in os.walk(directory, followlinks=True):
        for name in filenames:
            link = os.path.join(top, name)
            if not is_junk(name) and os.path.islink(link) and not os.path.exists(link):
                raise CorruptDataError(link, f"a symbolic link to {os.readlink(link)}, which does not exist "
                                             f"(a drive or share that is not mounted?)")
        kept = []
        for d in dirnames:
            real = os.path.realpath(os.path.join(top, d))
            if not is_junk(d) and real not in seen:
                seen.add(real)
                kept.append(d)
        dirnames[:] = kept
        rel = Path(top).relative_to(directory).parts
        folders.update(rel + (d,) for d in dirnames)
        for name in filenames:
            if not is_junk(name) and os.path.isfile(os.path.join(top, name)):
                files[rel + (name,)] = Path(top, name)
    return files, folders


def _tree_fingerprint(files: dict, folders: set) -> str:
    """A digest of a listed tree: every folder, and every file's place, size and modification time."""
    digest = hashlib.sha256()
    for parts in sorted(folders):
        digest.update(("/".join(parts) + "/\n").encode("utf-8", "surrogateescape"))
    for parts in sorted(files):
        st = os.stat(files[parts])
        digest.update(f"{'/'.join(parts)}\0{st.st_size}\0{st.st_mtime_ns}\n".encode("utf-8", "surrogateescape"))
    return digest.hexdigest()


def _member_parts(name: str) -> _Parts | None:
    parts = tuple(p for p in PurePosixPath(name).parts if p not in ("/", ""))
    if any(p == ".." for p in parts):
        return None  # never trust a path leading out of the archive
    return parts


def _list_tarball(path: Path) -> tuple[dict, set]:
    """Like :func:`_list_tree` for a tarball: ``({parts: TarInfo}, {folder parts})``."""
    files: dict[_Parts, object] = {}
    folders: set[_Parts] = set()
    try:
        with tarfile.open(path, mode="r:*") as tar:
            for member in tar:
                parts = _member_parts(member.name)
                if not parts or any(is_junk(p) for p in parts):
                    continue
                if member.isdir():
                    folders.add(parts)
                elif member.isfile():
                    files[parts] = member
                    folders.update(parts[:i] for i in range(1, len(parts)))
                elif member.issym() or member.islnk():
                    raise CorruptDataError(f"{path}: {member.name}", f"a link (to {member.linkname}) inside the "
                                                                      f"archive: store the files themselves")
    except (tarfile.TarError, EOFError, zlib.error, OSError) as e:
        raise CorruptDataError(str(path), f"archive is truncated or damaged ({type(e).__name__}: {e})") from None
    return files, folders


def _child_folders(folders: set, parent: _Parts) -> list[str]:
    return sorted(f[-1] for f in folders if len(f) == len(parent) + 1 and f[: len(parent)] == parent)


def _resolve_layout(files: dict, folders: set, show) -> tuple[tuple[str, ...], dict]:
    """Class names and ``{split: {class: [file parts, ...]}}`` for the layouts :func:`load_image_folder` reads.

    ``show(parts)`` renders a place inside the source for error messages.
    Split ``"all"`` means one tree still to be split; ``"train"``/``"test"`` a split given by folders.
    """
    root: _Parts = ()
    top = _child_folders(folders, root)
    held_out = [n for n in HELD_OUT_NAMES if n in top]
    if not ("train" in top and held_out) and len(top) == 1 and _child_folders(folders, (top[0],)):
        root = (top[0],)  # one wrapping folder (``photos/cat/...``, as tarballs usually are): look inside
        top = _child_folders(folders, root)
        held_out = [n for n in HELD_OUT_NAMES if n in top]
    if "train" in top and held_out:
        splits = {"train": root + ("train",), "test": root + (held_out[0],)}
    else:
        splits = {"all": root}
    class_names = {split: _child_folders(folders, place) for split, place in splits.items()}
    first = next(iter(splits))
    names = class_names[first]
    if len(names) < 2:
        found = f": {', '.join(names)}" if names else ""
        raise CorruptDataError(
            show(splits[first]), f"found {len(names)} class folder(s){found}; expected at least 2 class folders, "
            "each holding the images of one class")
    if "test" in splits and class_names["test"] != names:
        missing = sorted(set(names) - set(class_names["test"]))
        extra = sorted(set(class_names["test"]) - set(names))
        differences = "; ".join(
            ([f"missing there: {', '.join(missing)}"] if missing else [])
            + ([f"not in train/: {', '.join(extra)}"] if extra else []))
        raise CorruptDataError(
            show(splits["test"]), f"class folders differ from train/ ({differences}); expected the same class "
            f"folders in train/ and {held_out[0]}/")
    grouped = {split: {name: [] for name in names} for split in splits}
    for parts in files:
        for split, place in splits.items():
            depth = len(place)
            if len(parts) > depth + 1 and parts[:depth] == place and parts[depth] in grouped[split]:
                grouped[split][parts[depth]].append(parts)
    known = images.image_extensions()
    for split, by_class in grouped.items():
        for name, members in by_class.items():
            if not members:
                raise CorruptDataError(
                    show(splits[split] + (name,)), "class folder holds no images; expected at least one image "
                    "file in it or in its sub-folders")
            members.sort()
            for parts in members:
                if os.path.splitext(parts[-1])[1].lower() not in known:
                    raise CorruptDataError(show(parts), f"not an image file; expected one of {images.EXPECTED_FORMATS}")
    return tuple(names), grouped


def _split_by_class(by_class: dict, fraction: float, rng: np.random.Generator) -> tuple[list, list]:
    """Each class's files to ``(train, validation)`` lists of ``(parts, label)``: round(n * fraction)
    of a class's n files to validation, at least 1 and at most n - 1 (a class of one file stays in train)."""
    train, validation = [], []
    for label, members in enumerate(by_class.values()):
        n = len(members)
        chosen = set(rng.permutation(n)[:validation_count(n, fraction)].tolist())
        for i, parts in enumerate(members):
            (validation if i in chosen else train).append((parts, label))
    return train, validation


def _decode_into(jobs, arrays, total: int, progress) -> None:
    """Run ``jobs`` (yielding ``(split, slot, decode_callable)``) on a small thread pool,
    writing each image straight into ``arrays[split][slot]``.

    At most ``2 * WORKERS + 2`` images are in flight, so a tarball's bytes are never all
    in memory. Results are taken in submission order, so the first bad file in that order
    is the one reported.
    """
    pending: collections.deque = collections.deque()
    done, shown = 0, -1

    def finish_oldest():
        nonlocal done, shown
        pending.popleft().result()
        done += 1
        percent = 100 * done // total
        if progress is not None and percent != shown and done < total:
            shown = percent
            progress(done / total)

    def work(split, slot, decode_one):
        arrays[split][slot] = decode_one()

    # The warning filter is process-wide, so it is set once here, around every worker thread's life.
    with warnings.catch_warnings(), \
            concurrent.futures.ThreadPoolExecutor(WORKERS, thread_name_prefix="cvtutor-decode") as pool:
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # refused with a clear error instead
        try:
            for split, slot, decode_one in jobs:
                pending.append(pool.submit(work, split, slot, decode_one))
                if len(pending) >= 2 * WORKERS + 2:
                    finish_oldest()
            while pending:
                finish_oldest()
        except BaseException:
            for future in pending:
                future.cancel()
            raise
    if progress is not None:
        progress(1.0)


def _tree_jobs(files: dict, order: list, image_size, channels):
    for split, slot, parts in order:
        path = files[parts]
        yield split, slot, functools.partial(images.decode, path, str(path), image_size, channels)


def _tarball_jobs(path: Path, files: dict, order: list, image_size, channels):
    """Read members in archive order in this thread (tarfile is not thread-safe); decode in workers."""
    by_offset = sorted(order, key=lambda job: files[job[2]].offset_data)
    try:
        with tarfile.open(path, mode="r:*") as tar:
            for split, slot, parts in by_offset:
                member = files[parts]
                name = f"{path}:{member.name}"
                data = io.BytesIO(tar.extractfile(member).read())
                yield split, slot, functools.partial(images.decode, data, name, image_size, channels)
    except (tarfile.TarError, EOFError, zlib.error, OSError) as e:
        raise CorruptDataError(str(path), f"archive is truncated or damaged ({type(e).__name__}: {e})") from None


def _check_split(validation_split) -> float:
    return checks.scalar("validation_split", validation_split, minimum=0, maximum=1, include_minimum=False,
                         include_maximum=False)


def load_image_folder(directory, image_size=(64, 64), *, validation_split=0.2, seed=0, channels=3, progress=None):
    """Load a folder of class folders (or a tarball of one) as uint8 arrays ready for training.

    Layouts (``keras.utils.image_dataset_from_directory``'s rule: one folder
    per class, class names from the folder names):

    - ``DIR/<class>/...``: split here into training and validation sets.
      Each class is split on its own (stratified): of its n images,
      round(n * ``validation_split``) go to validation, but at least 1 and at
      most n - 1, so every class with 2 or more images is in both sets (a
      class of one image stays in training). Which images go where is drawn
      with ``seed`` and is the same on every call.
    - ``DIR/train/<class>/...`` and ``DIR/test/<class>/...`` (``val/`` or
      ``validation/`` are accepted for ``test/``): used as given,
      ``validation_split`` ignored; both must hold the same class folders
      (other folders beside train/ and test/ are not read).

    ``DIR`` may also hold its tree inside one wrapping folder
    (``DIR/photos/<class>/...``), as tarballs usually do. Any number (2 or
    more) of class folders with any names; sub-folders inside a class folder
    belong to that class, at any depth. Skipped: every hidden file or folder
    (a name starting with a dot, such as ``.DS_Store``), ``__MACOSX``,
    ``Thumbs.db``, ``desktop.ini``, ``@eaDir``, and files lying beside the
    class folders rather than in one (``README.txt``). Symbolic links are
    followed (each real folder read once). Every other file must
    be an image; each is decoded by :func:`cvtutor.data.load_image`'s
    steps (EXIF orientation, 16-bit scaling, transparency on white, RGB or
    luminance, bilinear resize without keeping the aspect ratio).

    Decoding runs on ``WORKERS`` (2) threads straight into preallocated arrays,
    JPEGs at reduced scale (Pillow's draft mode), once: the arrays are cached
    (``$CVTUTOR_CACHE``) under the source's path and these arguments, and
    rebuilt when the source changes (a tree: any file's name, size or
    modification time, or its folders; a tarball: its bytes).

    Args:
        directory: a folder, or a tarball (``.tar``, ``.tar.gz``, ``.tgz``,
            ``.tar.bz2``, ``.tar.xz``) of one; tree and tarball give the same arrays.
        image_size: ``(height, width)`` every image is resized to.
        validation_split: fraction of each class held out, strictly between 0 and 1.
        seed: integer fixing the split and the order of examples.
        channels: 3 for RGB, 1 for luminance.
        progress: optional callable taking the fraction decoded (0..1), called
            at most about 100 times while decoding (never for a cached load).

    Returns:
        ``((x_train, y_train), (x_test, y_test), class_names)``: images uint8
        ``(N, height, width, channels)``, values 0..255; labels int32 ``(N,)``
        indexing ``class_names``, a tuple of the class folder names in sorted
        order. Examples come in a fixed mixed-class order (drawn with ``seed``),
        so that ``x_train[:n]`` holds every class.

    Raises:
        FileNotFoundError: ``directory`` does not exist.
        CorruptDataError: (a ``ValueError``) one line naming the file or folder:
            a file that is not an image, an unreadable (damaged, truncated)
            image, an image over ``PIL.Image.MAX_IMAGE_PIXELS`` pixels, a class
            folder with no images, fewer than 2 class folders, train/ and test/
            with different class folders, a damaged tarball.
        ValueError: a file that is not a tarball, or a bad argument value (a ``validation_split``
            outside (0, 1), a negative ``seed``, a size below 1, other than 1 or 3 channels).
        TypeError: an argument of the wrong kind (``image_size`` not two integers, ``seed``
            or ``channels`` not an integer, ``validation_split`` not a number, ``progress``
            not callable).
    """
    # no None here: every image is resized to one size, to stack them in one array
    size = checks.integers("image_size", image_size, 2, minimum=1, expected="(height, width)")
    channels = images._check_channels(channels)
    fraction = _check_split(validation_split)
    seed = checks.scalar("seed", seed, numbers.Integral, minimum=0)
    if progress is not None:
        checks.instance("progress", progress, Callable, "a callable taking a fraction, or None")
    source = Path(directory).expanduser()
    if not source.exists():
        raise FileNotFoundError(f"{source}: no such folder or tarball")
    if source.is_file() and not is_tarball(source):
        raise ValueError(f"{source}: expected a folder of class folders or a tarball of one "
                         f"({', '.join(TARBALL_SUFFIXES)})")

    params = f"v{IMAGE_CACHE_VERSION} size={size[0]}x{size[1]} channels={channels} split={fraction!r} seed={int(seed)}"
    tarred = source.is_file()
    if tarred:
        stamp = fingerprint(source)  # the tarball's bytes; listing it waits until the cache proves stale
    else:
        files, folder_set = _list_tree(source)
        stamp = _tree_fingerprint(files, folder_set)
    stamp = f"{stamp} {params}"
    target = cache.cache_path(source, prefix="images", params=params)
    cached = cache.load_with_extra(target, stamp, ("class_names",))
    if cached is not None:
        train, test, extra = cached
        return train, test, tuple(str(name) for name in extra["class_names"].tolist())
    if tarred:
        files, folder_set = _list_tarball(source)

    def show(parts):
        return f"{source}:{'/'.join(parts)}" if tarred else str(source.joinpath(*parts))

    class_names, grouped = _resolve_layout(files, folder_set, show)
    rng = np.random.default_rng(int(seed))
    if "all" in grouped:
        splits = _split_by_class(grouped["all"], fraction, rng)
    else:
        splits = tuple([(parts, label) for label, members in enumerate(grouped[s].values()) for parts in members]
                       for s in ("train", "test"))
    arrays, labels, order = [], [], []
    for index, examples in enumerate(splits):
        slots = rng.permutation(len(examples))  # a fixed mixed-class order
        arrays.append(np.empty((len(examples), *size, channels), np.uint8))
        y = np.empty(len(examples), np.int32)
        for slot, (parts, label) in zip(slots.tolist(), examples):
            y[slot] = label
            order.append((index, slot, parts))
        labels.append(y)
    if tarred:
        jobs = _tarball_jobs(source, files, order, size, channels)
    else:
        jobs = _tree_jobs(files, order, size, channels)
    _decode_into(jobs, arrays, len(order), progress)
    train, test = (arrays[0], labels[0]), (arrays[1], labels[1])
    cache.save(target, stamp, train, test, class_names=np.array(class_names, dtype=str))
    return train, test, class_names
