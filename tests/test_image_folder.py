"""``cvtutor.data.load_image_folder``: any class-folder tree or tarball, the split, the cache, every bad input.

Each image is a flat colour that encodes its class (red = 40 * label) and its
number, so any mix-up of images and labels shows.
"""

import tarfile
import threading

import numpy as np
import pytest
from PIL import Image

from cvtutor.data import CorruptDataError, load_image_folder
from cvtutor.data import cache, images


def colour(label: int, index: int) -> tuple[int, int, int]:
    return 40 * label, (7 * index) % 256, 100


def write_class(folder, label: int, count: int, *, start: int = 0, fmt: str = "png", size=(12, 10)) -> list:
    """``count`` flat-colour images of class ``label`` in ``folder``, of varying sizes."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for index in range(start, start + count):
        path = folder / f"{index:03d}.{fmt}"
        Image.new("RGB", (size[0] + index % 3, size[1] + index % 2), colour(label, index)).save(path)
        written.append(path)
    return written


def write_tree(root, counts: dict) -> None:
    """``root/<class>/NNN.png`` for each class name in sorted order (label = sorted position)."""
    for label, name in enumerate(sorted(counts)):
        write_class(root / name, label, counts[name])


def tar_of(root, tarball, top: str | None = "photos"):
    """A tarball of ``root``'s content, under the folder ``top`` (or ``./``) as ``tar`` makes them."""
    with tarfile.open(tarball, "w:gz") as tar:
        tar.add(root, arcname=top or ".")
    return tarball


def assert_labels_match_pixels(x, y):
    assert x.dtype == np.uint8 and y.shape == (len(x),) and np.issubdtype(y.dtype, np.integer)
    np.testing.assert_array_equal(x[:, 0, 0, 0] // 40, y)
    assert (x == x[:, :1, :1]).all(), "flat images stay flat through the resize"


def test_class_tree_split_per_class(tmp_path):
    write_tree(tmp_path / "pets", {"cat": 10, "dog": 10, "fish": 5})
    (x_train, y_train), (x_test, y_test), names = load_image_folder(tmp_path / "pets", image_size=(8, 6))
    assert names == ("cat", "dog", "fish")
    assert x_train.shape == (20, 8, 6, 3) and x_test.shape == (5, 8, 6, 3)
    assert np.bincount(y_train).tolist() == [8, 8, 4] and np.bincount(y_test).tolist() == [2, 2, 1]
    assert_labels_match_pixels(x_train, y_train)
    assert_labels_match_pixels(x_test, y_test)
    # Every image once: train and validation are disjoint and complete.
    seen = sorted(map(tuple, np.concatenate([x_train, x_test])[:, 0, 0].tolist()))
    assert seen == sorted(colour(label, i) for label, n in enumerate((10, 10, 5)) for i in range(n))
    assert set(y_train[:3].tolist()) == {0, 1, 2}, "a mixed-class order, not one class after another"


@pytest.mark.parametrize("fraction", [0.1, 0.25, 0.5])
def test_the_split_fraction_is_kept_in_every_class(tmp_path, fraction):
    write_tree(tmp_path / "data", {"a": 20, "b": 40, "c": 3, "d": 2, "e": 1})
    (_, y_train), (_, y_test), _ = load_image_folder(tmp_path / "data", (4, 4), validation_split=fraction)
    held = np.bincount(y_test, minlength=5).tolist()
    assert held[:2] == [round(20 * fraction), round(40 * fraction)]
    assert held[2:] == [max(1, min(2, round(3 * fraction))), 1, 0], "at least one when possible, never the whole class"
    assert np.bincount(y_train, minlength=5).tolist() == [20 - held[0], 40 - held[1], 3 - held[2], 1, 1]


def test_the_seed_fixes_the_split_and_order(tmp_path, monkeypatch):
    write_tree(tmp_path / "data", {"a": 12, "b": 12})
    first = load_image_folder(tmp_path / "data", (4, 4), seed=3)
    monkeypatch.setenv("CVTUTOR_CACHE", str(tmp_path / "other-cache"))  # decode again, not from the cache
    again = load_image_folder(tmp_path / "data", (4, 4), seed=3)
    for (x1, y1), (x2, y2) in zip(first[:2], again[:2]):
        np.testing.assert_array_equal(x1, x2)
        np.testing.assert_array_equal(y1, y2)
    other = load_image_folder(tmp_path / "data", (4, 4), seed=4)
    held_out = {tuple(p) for p in first[1][0][:, 0, 0].tolist()}
    assert held_out != {tuple(p) for p in other[1][0][:, 0, 0].tolist()}, "another seed holds out other images"


def test_class_names_any_names_in_sorted_order(tmp_path):
    names = ["zebra", "Ünï cörn", "a cat", "Dog", "猫", "x-ray 2"]
    for name in reversed(names):  # created in another order
        write_class(tmp_path / "data" / name, 0, 2)
    (_, _), (_, _), found = load_image_folder(tmp_path / "data", (4, 4))
    assert found == tuple(sorted(names)) and all(isinstance(n, str) for n in found)


def test_train_and_test_folders_are_used_as_given(tmp_path):
    for split, count in (("train", 6), ("test", 2)):
        for label, name in enumerate(("bird", "cat", "dog")):
            write_class(tmp_path / "data" / split / name, label, count, start=0 if split == "train" else 100)
    (x_train, y_train), (x_test, y_test), names = load_image_folder(tmp_path / "data", (5, 5), validation_split=0.5)
    assert names == ("bird", "cat", "dog")
    assert np.bincount(y_train).tolist() == [6, 6, 6] and np.bincount(y_test).tolist() == [2, 2, 2]
    assert_labels_match_pixels(x_train, y_train)
    assert_labels_match_pixels(x_test, y_test)
    assert set(x_test[:, 0, 0, 1].tolist()) == {colour(0, 100)[1], colour(0, 101)[1]}, "test/ images, none from train/"


def test_val_folder_is_taken_for_test(tmp_path):
    for split in ("train", "val"):
        write_tree(tmp_path / "data" / "kaggle" / split, {"no": 3, "yes": 3})
    (x_train, _), (x_test, _), names = load_image_folder(tmp_path / "data", (4, 4))
    assert names == ("no", "yes") and len(x_train) == len(x_test) == 6


def test_train_and_test_must_hold_the_same_classes(tmp_path):
    write_tree(tmp_path / "data" / "train", {"cat": 2, "dog": 2, "cow": 2})
    write_tree(tmp_path / "data" / "test", {"cat": 2, "dog": 2, "pig": 2})
    with pytest.raises(CorruptDataError, match=r"class folders differ from train/ \(missing there: cow; not in train/: pig\)") as info:
        load_image_folder(tmp_path / "data", (4, 4))
    assert info.value.path == str(tmp_path / "data" / "test") and "\n" not in str(info.value)


@pytest.mark.parametrize("as_tarball", [False, True])
def test_nested_sub_folders_belong_to_their_class(tmp_path, as_tarball):
    write_class(tmp_path / "tree" / "train" / "cat", 0, 2)
    write_class(tmp_path / "tree" / "train" / "cat" / "kittens" / "2024", 0, 2, start=10)
    write_class(tmp_path / "tree" / "train" / "dog", 1, 2)
    for label, name in enumerate(("cat", "dog")):
        write_class(tmp_path / "tree" / "test" / name, label, 1)
    source = tar_of(tmp_path / "tree", tmp_path / "t.tgz") if as_tarball else tmp_path / "tree"
    (x_train, y_train), _, names = load_image_folder(source, (4, 4))
    assert names == ("cat", "dog"), "kittens/ is part of cat, not a class"
    assert np.bincount(y_train).tolist() == [4, 2]
    assert_labels_match_pixels(x_train, y_train)


@pytest.mark.parametrize("as_tarball", [False, True])
def test_os_junk_and_hidden_files_are_skipped(tmp_path, as_tarball):
    tree = tmp_path / "tree"
    write_tree(tree, {"cat": 3, "dog": 3})
    for junk in (".DS_Store", "Thumbs.db", "desktop.ini", "._000.png"):
        (tree / "cat" / junk).write_bytes(b"\x00\x05Bud1 junk")
    write_class(tree / "cat" / ".thumbnails", 1, 2)  # hidden folder: images of the wrong look, skipped
    write_class(tree / "dog" / "@eaDir", 0, 2)
    write_class(tree / "__MACOSX" / "cat", 0, 1)
    write_class(tree / ".Trash", 0, 1)
    (tree / "README.txt").write_text("my photos")  # beside the class folders, not in one
    source = tar_of(tree, tmp_path / "t.tar.gz") if as_tarball else tree
    (x_train, y_train), (x_test, y_test), names = load_image_folder(source, (4, 4))
    assert names == ("cat", "dog")
    assert len(x_train) + len(x_test) == 6
    assert_labels_match_pixels(np.concatenate([x_train, x_test]), np.concatenate([y_train, y_test]))


@pytest.mark.parametrize("top", ["photos", None])
def test_tarball_and_tree_give_identical_arrays(tmp_path, top):
    tree = tmp_path / "tree"
    write_tree(tree, {"b": 5, "a": 6, "c c": 4})
    write_class(tree / "a" / "more", 0, 3, start=50)
    from_tree = load_image_folder(tree, (6, 7), seed=1)
    from_tar = load_image_folder(tar_of(tree, tmp_path / "copy.tar.gz", top), (6, 7), seed=1)
    assert from_tree[2] == from_tar[2] == ("a", "b", "c c")
    for (x1, y1), (x2, y2) in zip(from_tree[:2], from_tar[:2]):
        np.testing.assert_array_equal(x1, x2)
        np.testing.assert_array_equal(y1, y2)


def test_a_wrapping_folder_is_looked_into(tmp_path):
    write_tree(tmp_path / "download" / "flowers", {"daisy": 2, "rose": 2})
    assert load_image_folder(tmp_path / "download", (4, 4))[2] == ("daisy", "rose")


def test_mixed_formats_sizes_and_modes_in_one_folder(tmp_path):
    cat, dog = tmp_path / "data" / "cat", tmp_path / "data" / "dog"
    write_class(cat, 0, 2, fmt="jpg", size=(300, 200))
    write_class(dog, 1, 2, fmt="gif")
    Image.fromarray(np.full((9, 5), 40 * 257, np.uint16)).save(cat / "scan16.png")  # 16-bit grey of level 40
    rgba = np.zeros((6, 6, 4), np.uint8)
    rgba[..., 0] = 40
    Image.fromarray(rgba, "RGBA").save(dog / "clear.png")  # fully transparent: white
    Image.new("CMYK", (20, 30), (0, 0, 0, 0)).save(dog / "print.jpg")  # no ink: white
    (x_train, y_train), (x_test, y_test), _ = load_image_folder(tmp_path / "data", (8, 8), validation_split=0.4)
    x, y = np.concatenate([x_train, x_test]), np.concatenate([y_train, y_test])
    assert x.shape == (7, 8, 8, 3)
    assert any((im == 40).all() for im in x), "the 16-bit scan at its own grey, not white"
    assert sum((im >= 250).all() for im in x[y == 1]) == 2, "transparent and un-inked pixels are white"


def test_one_channel(tmp_path):
    write_tree(tmp_path / "data", {"a": 3, "b": 3})
    (x_train, _), (x_test, _), _ = load_image_folder(tmp_path / "data", (5, 4), channels=1)
    assert x_train.shape[1:] == x_test.shape[1:] == (5, 4, 1)


# --- bad input: one line naming the file or folder ----------------------------------------------


def break_tree(tree, what: str):
    """Damage a good two-class tree in one way; return the name the error must contain."""
    write_tree(tree, {"cat": 3, "dog": 3})
    if what == "not an image":
        (tree / "dog" / "notes.txt").write_text("to do")
        return "notes.txt"
    if what == "unreadable image":
        victim = tree / "dog" / "001.png"
        victim.write_bytes(victim.read_bytes()[:50])
        return "001.png"
    if what == "empty class folder":
        (tree / "owl" / "sub").mkdir(parents=True)
        (tree / "owl" / ".DS_Store").write_bytes(b"junk")
        return "owl"
    if what == "fewer than 2 classes":
        for f in (tree / "dog").iterdir():
            f.unlink()
        (tree / "dog").rmdir()
        return str(tree.name)
    if what == "too large":
        Image.new("RGB", (60, 50)).save(tree / "cat" / "huge.png")
        return "huge.png"
    raise AssertionError(what)


@pytest.mark.parametrize(
    "what, message",
    [
        ("not an image", "not an image file; expected one of .jpg"),
        ("unreadable image", r"unreadable image: expected a complete \.png file"),
        ("empty class folder", "class folder holds no images"),
        ("fewer than 2 classes", r"found 1 class folder\(s\): cat; expected at least 2 class folders"),
        ("too large", "image too large to decode safely: 60x50 = 3,000 pixels"),
    ],
)
@pytest.mark.parametrize("as_tarball", [False, True])
def test_bad_input_is_one_line_naming_the_file(tmp_path, monkeypatch, what, message, as_tarball):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 2000)
    name = break_tree(tmp_path / "tree", what)
    source = tar_of(tmp_path / "tree", tmp_path / "t.tgz", "tree") if as_tarball else tmp_path / "tree"
    with pytest.raises(CorruptDataError, match=message) as info:
        load_image_folder(source, (4, 4))
    text = str(info.value)
    assert name in info.value.path and name in text and "\n" not in text and "Traceback" not in text
    assert info.value.__cause__ is None and isinstance(info.value, ValueError)
    assert not list(cache.cache_dir().glob("*.npz")), "nothing cached from a bad source"


def test_bad_arguments_and_sources(tmp_path):
    write_tree(tmp_path / "ok", {"a": 2, "b": 2})
    with pytest.raises(FileNotFoundError, match="missing: no such folder or tarball"):
        load_image_folder(tmp_path / "missing")
    (tmp_path / "photo.zip").write_bytes(b"PK")
    with pytest.raises(ValueError, match=r"photo\.zip: expected a folder of class folders or a tarball"):
        load_image_folder(tmp_path / "photo.zip")
    (tmp_path / "broken.tar.gz").write_bytes(b"\x1f\x8b\x08\x00 not gzip at all")
    with pytest.raises(CorruptDataError, match="broken.tar.gz: archive is truncated or damaged"):
        load_image_folder(tmp_path / "broken.tar.gz")
    for kwargs, error, message in [
        ({"validation_split": 0}, ValueError, r"validation_split must be in \(0, 1\), got 0.0"),
        ({"validation_split": 1.0}, ValueError, r"validation_split must be in \(0, 1\), got 1.0"),
        ({"validation_split": "0.2"}, TypeError, "validation_split must be a number, got str '0.2'"),
        ({"image_size": None}, TypeError, r"image_size must be \(height, width\), 2 integers >= 1, got NoneType None"),
        ({"image_size": (4, 0)}, ValueError, r"image_size must be \(height, width\), 2 integers >= 1, got \(4, 0\)"),
        ({"channels": 4}, ValueError, "channels must be one of 1, 3, got 4"),
        ({"channels": 3.0}, TypeError, "channels must be one of 1, 3, got float 3.0"),
        ({"seed": -1}, ValueError, r"seed must be in \[0, inf\), got -1"),
        ({"seed": 1.5}, TypeError, "seed must be an integer, got float 1.5"),
        ({"progress": "yes"}, TypeError, "progress must be a callable taking a fraction, or None, got str 'yes'"),
    ]:
        with pytest.raises(error, match=message):
            load_image_folder(tmp_path / "ok", **{"image_size": (4, 4), **kwargs})


def test_truncated_tarball(tmp_path):
    write_tree(tmp_path / "tree", {"a": 20, "b": 20})
    tarball = tar_of(tmp_path / "tree", tmp_path / "t.tar.gz")
    data = tarball.read_bytes()
    tarball.write_bytes(data[: len(data) * 2 // 3])
    with pytest.raises(CorruptDataError, match="truncated or damaged") as info:
        load_image_folder(tarball, (4, 4))
    assert info.value.path == str(tarball)


# --- decoded once, cached, with a progress bar ---------------------------------------------------


@pytest.mark.parametrize("as_tarball", [False, True])
def test_decoded_once_then_cached_with_progress(tmp_path, monkeypatch, as_tarball):
    write_tree(tmp_path / "tree", {"a": 150, "b": 150})
    source = tar_of(tmp_path / "tree", tmp_path / "t.tgz") if as_tarball else tmp_path / "tree"
    threads, real_decode = set(), images.decode

    def spy(*args, **kwargs):
        threads.add(threading.current_thread().name)
        return real_decode(*args, **kwargs)

    monkeypatch.setattr(images, "decode", spy)
    seen = []
    first = load_image_folder(source, (4, 4), progress=seen.append)
    assert seen == sorted(seen) and seen[-1] == 1.0 and 20 < len(seen) <= 101
    assert threads and all(name.startswith("cvtutor-decode") for name in threads), "decoded on the worker threads"
    assert len(list(cache.cache_dir().glob("images-*.npz"))) == 1

    def no_decoding(*args, **kwargs):
        raise AssertionError("decoded again although the cache was valid")

    monkeypatch.setattr(images, "decode", no_decoding)
    quiet = []
    again = load_image_folder(source, (4, 4), progress=quiet.append)
    assert quiet == [], "a cached load has nothing to decode"
    assert again[2] == first[2] == ("a", "b")
    for (x1, y1), (x2, y2) in zip(first[:2], again[:2]):
        np.testing.assert_array_equal(x1, x2)
        np.testing.assert_array_equal(y1, y2)
        assert y1.dtype == y2.dtype
    # Another size or channel count is another cache entry, decoded anew.
    monkeypatch.setattr(images, "decode", real_decode)
    assert load_image_folder(source, (6, 6))[0][0].shape[1:] == (6, 6, 3)
    assert len(list(cache.cache_dir().glob("images-*.npz"))) == 2


def test_a_changed_folder_is_decoded_again(tmp_path):
    write_tree(tmp_path / "data", {"a": 4, "b": 4})
    load_image_folder(tmp_path / "data", (4, 4))
    write_class(tmp_path / "data" / "c", 2, 4)
    (_, y_train), _, names = load_image_folder(tmp_path / "data", (4, 4))
    assert names == ("a", "b", "c") and 2 in y_train.tolist()



def test_an_added_empty_class_folder_is_not_hidden_by_the_cache(tmp_path):
    write_tree(tmp_path / "data", {"a": 4, "b": 4})
    load_image_folder(tmp_path / "data", (4, 4))
    (tmp_path / "data" / "c").mkdir()
    with pytest.raises(CorruptDataError, match="class folder holds no images"):
        load_image_folder(tmp_path / "data", (4, 4))


def test_symbolic_links_are_followed_once(tmp_path):
    write_class(tmp_path / "elsewhere" / "dogs", 1, 3)
    write_class(tmp_path / "data" / "cat", 0, 3)
    (tmp_path / "data" / "dog").symlink_to(tmp_path / "elsewhere" / "dogs")
    (tmp_path / "data" / "cat" / "loop").symlink_to(tmp_path / "data")  # a link back up: not read twice
    (x_train, y_train), (x_test, y_test), names = load_image_folder(tmp_path / "data", (4, 4))
    assert names == ("cat", "dog")
    assert np.bincount(np.concatenate([y_train, y_test])).tolist() == [3, 3]
    assert_labels_match_pixels(np.concatenate([x_train, x_test]), np.concatenate([y_train, y_test]))
    # A change behind the link is a change of the source: decoded again.
    write_class(tmp_path / "elsewhere" / "dogs", 1, 2, start=10)
    (_, y_train), (_, y_test), _ = load_image_folder(tmp_path / "data", (4, 4))
    assert np.bincount(np.concatenate([y_train, y_test])).tolist() == [3, 5]
