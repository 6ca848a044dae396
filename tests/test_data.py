"""The CIFAR-10 loader on every source, and every bad input it documents."""

import os
import pickle
import subprocess
import sys
import time

import numpy as np
import pytest
from cifar_fakes import (
    batch_pickle,
    official_batches,
    png_bytes,
    same_examples,
    tar_tree,
    write_batches_dir,
    write_class_tree,
    write_official_archive,
)
from conftest import REAL_DATA

from cvtutor.data import CLASS_NAMES, CIFAR10NotFoundError, CorruptDataError, find_cifar10, load_cifar10
from cvtutor.data import cache, cifar10, folders, official
from cvtutor.data.official import ARCHIVE_NAME, TEST_BATCH, TRAIN_BATCHES, sha256_of


def expected_split(batches):
    train = [batches[n] for n in TRAIN_BATCHES]
    return (np.concatenate([b[0] for b in train]), np.concatenate([b[1] for b in train])), batches[TEST_BATCH]


def accept_checksum_of(path, monkeypatch):
    """Make the loader trust this fake archive as if it were the official one."""
    monkeypatch.setattr(official, "ARCHIVE_SHA256", sha256_of(path))


def assert_arrays(result, expected):
    for (x, y), (ex, ey) in zip(result, expected):
        assert x.dtype == np.uint8 and y.dtype == np.uint8
        assert y.shape == (len(x),)
        np.testing.assert_array_equal(x, ex)
        np.testing.assert_array_equal(y, ey)


# --- the official archive and its extracted batches -------------------------------------------


def test_official_archive_round_trip(tmp_path, monkeypatch):
    batches = official_batches()
    archive = write_official_archive(tmp_path / ARCHIVE_NAME, batches)
    accept_checksum_of(archive, monkeypatch)
    assert find_cifar10(tmp_path).kind == "official-archive"
    assert_arrays(load_cifar10(tmp_path), expected_split(batches))
    assert_arrays(load_cifar10(archive), expected_split(batches))  # the archive named directly


def test_pixel_layout_is_rgb_planes_to_nhwc():
    image = np.zeros((1, 32, 32, 3), np.uint8)
    image[0, 1, 2] = (10, 20, 30)  # row 1, column 2
    x, _ = official.parse_batch(batch_pickle(image, np.array([3])), "one")
    assert tuple(x[0, 1, 2]) == (10, 20, 30)
    # The raw row holds the red plane first: red of pixel (1, 2) is at 1*32 + 2.
    raw = pickle.loads(batch_pickle(image, np.array([3])), encoding="bytes")[b"data"][0]
    assert raw[34] == 10 and raw[1024 + 34] == 20 and raw[2048 + 34] == 30


def test_batches_dir(tmp_path):
    batches = official_batches(seed=5)
    write_batches_dir(tmp_path, batches)
    assert find_cifar10(tmp_path).kind == "batches-dir"
    assert_arrays(load_cifar10(tmp_path), expected_split(batches))


def test_checksum_is_checked_before_anything_is_unpickled(tmp_path, monkeypatch):
    archive = write_official_archive(tmp_path / ARCHIVE_NAME, official_batches())

    def must_not_run(*args, **kwargs):
        raise AssertionError("unpickled before the checksum was verified")

    monkeypatch.setattr(official, "parse_batch", must_not_run)
    monkeypatch.setattr(official._BatchUnpickler, "load", must_not_run)
    with pytest.raises(CorruptDataError, match="SHA-256") as info:
        load_cifar10(tmp_path)
    assert info.value.path == str(archive)
    assert official.ARCHIVE_SHA256 in str(info.value)


class _Boom:
    def __reduce__(self):
        return (os.system, ("echo pwned > pwned.txt",))


@pytest.mark.parametrize("payload", [{b"data": _Boom(), b"labels": []}, _Boom()])
def test_unpickler_refuses_foreign_classes(tmp_path, monkeypatch, payload):
    batches = official_batches()
    archive = write_official_archive(
        tmp_path / ARCHIVE_NAME, batches, extra={"data_batch_3": pickle.dumps(payload, protocol=2)}
    )
    accept_checksum_of(archive, monkeypatch)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(CorruptDataError, match=r"data_batch_3.*refusing to load posix\.system|nt\.system"):
        load_cifar10(tmp_path)
    assert not (tmp_path / "pwned.txt").exists()


def test_batches_dir_refuses_foreign_classes(tmp_path):
    folder = write_batches_dir(tmp_path, official_batches())
    (folder / "test_batch").write_bytes(pickle.dumps(_Boom(), protocol=2))
    with pytest.raises(CorruptDataError, match="test_batch.*refusing"):
        load_cifar10(tmp_path)


def test_truncated_official_archive(tmp_path, monkeypatch):
    archive = write_official_archive(tmp_path / ARCHIVE_NAME, official_batches(per_batch=200))
    data = archive.read_bytes()
    archive.write_bytes(data[: len(data) // 2])
    accept_checksum_of(archive, monkeypatch)
    with pytest.raises(CorruptDataError, match="truncated or damaged") as info:
        load_cifar10(tmp_path)
    assert info.value.path == str(archive)


@pytest.mark.parametrize(
    "batch, message",
    [
        ({b"data": np.zeros((4, 100), np.uint8), b"labels": [0] * 4}, r"shape \(N, 3072\)"),
        ({b"data": np.zeros((4, 3072), np.float32), b"labels": [0] * 4}, "uint8"),
        ({b"data": np.zeros((4, 3072), np.uint8), b"labels": [0] * 3}, "4 integers"),
        ({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0, 12]}, r"0\.\.9"),
        ([1, 2, 3], "expected a dict"),
    ],
)
def test_malformed_batches(tmp_path, batch, message):
    folder = write_batches_dir(tmp_path, official_batches())
    (folder / "data_batch_2").write_bytes(pickle.dumps(batch, protocol=2))
    with pytest.raises(CorruptDataError, match=message) as info:
        load_cifar10(tmp_path)
    assert info.value.path.endswith("data_batch_2")


def test_missing_batch_file(tmp_path):
    folder = write_batches_dir(tmp_path, official_batches())
    (folder / "data_batch_4").unlink()
    with pytest.raises(CorruptDataError, match="data_batch_4"):
        load_cifar10(tmp_path)


# --- class-folder copies -----------------------------------------------------------------------


def test_class_tree_and_tarball_give_the_same_arrays(tmp_path):
    content = write_class_tree(tmp_path / "tree")
    from_tree = load_cifar10(tmp_path / "tree")
    for (x, y), split in zip(from_tree, ("train", "test")):
        assert same_examples(x, y, *content[split])
    tarball = tar_tree(tmp_path / "tree", tmp_path / "copy.tar.gz")
    assert find_cifar10(tmp_path / "copy.tar.gz").kind == "class-folders"
    assert_arrays(load_cifar10(tarball), from_tree)


def test_class_order_is_mixed_so_a_prefix_has_every_class(tmp_path):
    write_class_tree(tmp_path, n_train=200, n_test=20)
    (_, y_train), _ = load_cifar10(tmp_path)
    assert set(y_train[:50].tolist()) == set(range(10))


def test_folder_holding_a_tarball_is_found(tmp_path):
    write_class_tree(tmp_path / "tree")
    (tmp_path / "data").mkdir()
    tar_tree(tmp_path / "tree", tmp_path / "data" / "cifar10-jpeg.tar.gz")
    assert find_cifar10(tmp_path / "data").kind == "class-folders"
    assert len(load_cifar10(tmp_path / "data")[0][0]) == 30


def test_hidden_files_are_skipped(tmp_path):
    write_class_tree(tmp_path)
    (tmp_path / "top" / "train" / "cat" / ".DS_Store").write_bytes(b"\x00\x01junk")
    assert len(load_cifar10(tmp_path)[0][0]) == 30


def _break(tmp_path, what):
    write_class_tree(tmp_path)
    cat = tmp_path / "top" / "train" / "cat"
    victim = sorted(cat.iterdir())[0]
    if what == "truncated image":
        victim.write_bytes(victim.read_bytes()[:40])
    elif what == "flipped bytes":
        data = bytearray(victim.read_bytes())
        data[:8] = bytes(b ^ 0xFF for b in data[:8])
        victim.write_bytes(bytes(data))
    elif what == "not an image":
        victim = cat / "notes.txt"
        victim.write_text("hello")
    elif what == "wrong size":
        victim.write_bytes(png_bytes(np.zeros((16, 40, 3), np.uint8)))
    elif what == "empty class folder":
        for f in cat.iterdir():
            f.unlink()
        victim = tmp_path
    elif what == "unknown class":
        victim = tmp_path / "top" / "train" / "unicorn" / "0.png"
        victim.parent.mkdir()
        victim.write_bytes(png_bytes(np.zeros((32, 32, 3), np.uint8)))
    return victim


@pytest.mark.parametrize(
    "what, message",
    [
        ("truncated image", "not a readable image"),
        ("flipped bytes", "not a readable image"),
        ("not an image", "not a readable image"),
        ("wrong size", "40x16 pixels, expected 32x32"),
        ("empty class folder", "no train images for class.*cat"),
        ("unknown class", "unknown class folder 'unicorn'"),
    ],
)
@pytest.mark.parametrize("as_tarball", [False, True])
def test_damaged_class_folders_name_the_file(tmp_path, what, message, as_tarball):
    victim = _break(tmp_path / "tree", what)
    source = tar_tree(tmp_path / "tree", tmp_path / "copy.tgz") if as_tarball else tmp_path / "tree"
    with pytest.raises(CorruptDataError, match=message) as info:
        load_cifar10(source)
    if what not in ("empty class folder",):
        assert victim.name in info.value.path
    assert not list(cache.cache_dir().glob("*.npz")), "a damaged source must not be cached"


def test_truncated_class_tarball(tmp_path):
    write_class_tree(tmp_path / "tree", n_train=100)
    tarball = tar_tree(tmp_path / "tree", tmp_path / "copy.tar.gz")
    data = tarball.read_bytes()
    tarball.write_bytes(data[: len(data) * 2 // 3])
    with pytest.raises(CorruptDataError, match="truncated or damaged") as info:
        load_cifar10(tarball)
    assert info.value.path == str(tarball)


# --- the decode cache --------------------------------------------------------------------------


def test_decoding_happens_once_then_the_cache_is_used(tmp_path, monkeypatch):
    write_class_tree(tmp_path / "tree")
    first = load_cifar10(tmp_path / "tree")
    assert len(list(cache.cache_dir().glob("*.npz"))) == 1

    def no_decoding(*args, **kwargs):
        raise AssertionError("decoded again although the cache was valid")

    monkeypatch.setattr(folders, "decode_image", no_decoding)
    assert_arrays(load_cifar10(tmp_path / "tree"), first)


def test_changed_source_invalidates_the_cache(tmp_path):
    write_class_tree(tmp_path / "tree")
    first = load_cifar10(tmp_path / "tree")
    extra = tmp_path / "tree" / "top" / "test" / "ship" / "9999.png"
    extra.write_bytes(png_bytes(np.full((32, 32, 3), 7, np.uint8)))
    (x_train, _), (x_test, y_test) = load_cifar10(tmp_path / "tree")
    assert len(x_test) == len(first[1][0]) + 1
    assert any((im == 7).all() for im in x_test)


def test_crash_while_writing_the_cache_leaves_nothing_trusted(tmp_path, monkeypatch):
    write_class_tree(tmp_path / "tree")
    good = load_cifar10(tmp_path / "tree")
    target = cache.cache_path(find_cifar10(tmp_path / "tree").path)
    before = target.read_bytes()
    # Change the source, then crash half-way through writing the new cache file.
    (tmp_path / "tree" / "top" / "test" / "ship" / "9999.png").write_bytes(png_bytes(np.zeros((32, 32, 3), np.uint8)))
    real_savez = np.savez

    def crash_mid_write(file, **arrays):
        real_savez(file, **arrays)
        file.truncate(100)
        raise KeyboardInterrupt("killed mid-write")

    monkeypatch.setattr(np, "savez", crash_mid_write)
    with pytest.raises(KeyboardInterrupt):
        load_cifar10(tmp_path / "tree")
    assert target.read_bytes() == before, "the previous cache file must survive"
    assert [p.name for p in cache.cache_dir().iterdir()] == [target.name], "no temporary file may be left"
    monkeypatch.setattr(np, "savez", real_savez)
    assert len(load_cifar10(tmp_path / "tree")[1][0]) == len(good[1][0]) + 1


def test_garbage_cache_file_is_ignored_and_rebuilt(tmp_path):
    write_class_tree(tmp_path / "tree")
    good = load_cifar10(tmp_path / "tree")
    target = cache.cache_path(find_cifar10(tmp_path / "tree").path)
    target.write_bytes(target.read_bytes()[:1000])
    assert_arrays(load_cifar10(tmp_path / "tree"), good)
    assert cache.load(target, folders.fingerprint(find_cifar10(tmp_path / "tree").path)) is not None


# --- nothing found -----------------------------------------------------------------------------


def test_offline_without_a_copy_fails_fast_and_says_how_to_fix(monkeypatch):
    monkeypatch.setattr(cifar10, "DOWNLOAD_URL", "https://cifar10.invalid/cifar-10-python.tar.gz")
    start = time.monotonic()
    with pytest.raises(CIFAR10NotFoundError) as info:
        load_cifar10()
    assert time.monotonic() - start < 2 * cifar10.CONNECT_TIMEOUT_S
    message = str(info.value)
    assert isinstance(info.value, FileNotFoundError)
    assert "$CVTUTOR_DATA" in message and "internet" in message
    assert str(cifar10.keras_datasets_dir()) in message and "cifar10.invalid" in message
    assert len(info.value.places) == 4


def test_keras_cache_is_used_before_downloading(tmp_path, monkeypatch):
    batches = official_batches(seed=9)
    write_batches_dir(cifar10.keras_datasets_dir(), batches)
    monkeypatch.setattr(cifar10, "_can_reach", lambda *a: pytest.fail("tried the network"))
    assert_arrays(load_cifar10(), expected_split(batches))


@pytest.mark.parametrize("via_env", [False, True])
def test_a_named_place_without_data_is_an_error(tmp_path, monkeypatch, via_env):
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setattr(cifar10, "_can_reach", lambda *a: pytest.fail("tried the network"))
    if via_env:
        monkeypatch.setenv("CVTUTOR_DATA", str(empty))
    with pytest.raises(CIFAR10NotFoundError, match="holds no copy of CIFAR-10") as info:
        load_cifar10(None if via_env else empty)
    assert ("$CVTUTOR_DATA" in str(info.value)) == via_env
    with pytest.raises(CIFAR10NotFoundError, match="does not exist"):
        load_cifar10(tmp_path / "missing")


# --- the real offline copy ---------------------------------------------------------------------


@pytest.mark.skipif(not REAL_DATA, reason="set CVTUTOR_DATA to the offline copy (../shared/data)")
def test_real_offline_copy(monkeypatch):
    monkeypatch.delenv("CVTUTOR_CACHE")  # share the decode cache with the notebooks
    monkeypatch.setenv("CVTUTOR_DATA", REAL_DATA)
    (x_train, y_train), (x_test, y_test) = load_cifar10()
    assert x_train.shape == (50_000, 32, 32, 3) and x_test.shape == (10_000, 32, 32, 3)
    assert x_train.dtype == x_test.dtype == y_train.dtype == y_test.dtype == np.uint8
    assert y_train.shape == (50_000,) and y_test.shape == (10_000,)
    assert np.bincount(y_train).tolist() == [5000] * 10
    assert np.bincount(y_test).tolist() == [1000] * 10
    assert 100 < x_train.mean() < 150  # real photos, not zeros or noise around 127.5 with no spread
    assert x_train.std() > 40


def test_importing_cvtutor_data_does_not_import_tensorflow():
    code = "import sys, cvtutor, cvtutor.data; assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_class_names_are_cifar10_label_order():
    assert CLASS_NAMES[0] == "airplane" and CLASS_NAMES[9] == "truck" and len(CLASS_NAMES) == 10


@pytest.mark.parametrize("as_tarball", [False, True])
def test_progress_is_reported_while_decoding_and_not_from_the_cache(tmp_path, as_tarball):
    write_class_tree(tmp_path / "tree", n_train=2500, n_test=10)
    source = tar_tree(tmp_path / "tree", tmp_path / "copy.tgz") if as_tarball else tmp_path / "tree"
    seen = []
    load_cifar10(source, progress=seen.append)
    assert len(seen) == 3 and seen == sorted(seen) and 0 < seen[0] < seen[1] < seen[2] == 1.0
    again = []
    load_cifar10(source, progress=again.append)
    assert again == [], "a cached load has nothing to decode"
