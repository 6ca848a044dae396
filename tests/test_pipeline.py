"""The tf.data input pipeline and the run profiles."""

import numpy as np
import pytest
from cifar_fakes import make_images

from cvtutor import get_profile
from cvtutor.data import augment_images, make_dataset, to_float


def test_batches_are_scaled_floats_with_labels_in_order():
    x, y = make_images(50, seed=1)
    batches = list(make_dataset(x, y, batch_size=16))
    assert [len(b[0]) for b in batches] == [16, 16, 16, 2]
    images = np.concatenate([b[0].numpy() for b in batches])
    labels = np.concatenate([b[1].numpy() for b in batches])
    assert images.dtype == np.float32 and images.shape == (50, 32, 32, 3)
    np.testing.assert_allclose(images, x / 255.0, atol=1e-7)
    np.testing.assert_array_equal(labels, y)
    np.testing.assert_allclose(to_float(x), images)


def test_shuffle_is_repeatable_with_a_seed_and_keeps_pairs():
    x, y = make_images(64, seed=2)
    first = [b[1].numpy() for b in make_dataset(x, y, batch_size=64, shuffle=True, seed=3)][0]
    second = [b[1].numpy() for b in make_dataset(x, y, batch_size=64, shuffle=True, seed=3)][0]
    np.testing.assert_array_equal(first, second)
    images, labels = next(iter(make_dataset(x, y, batch_size=64, shuffle=True, seed=3)))
    assert not np.array_equal(labels.numpy(), y), "a shuffle of 64 examples left them in order"
    # Each image still carries its own label.
    index = {im.tobytes(): lab for im, lab in zip(x, y)}
    restored = np.round(images.numpy() * 255).astype(np.uint8)
    assert [index[im.tobytes()] for im in restored] == labels.numpy().tolist()


def test_augmentation_flips_and_shifts_but_keeps_shape_and_range():
    x = np.zeros((8, 32, 32, 3), np.uint8)
    x[:, :, :16] = 255  # left half white
    images, _ = next(iter(make_dataset(x, np.zeros(8, np.int64), batch_size=8, augment=True, seed=0)))
    images = images.numpy()
    assert images.shape == (8, 32, 32, 3) and 0.0 <= images.min() and images.max() <= 1.0
    assert not np.allclose(images, x / 255.0), "augmentation changed nothing"
    # Shifts move at most 4 pixels and zero-fill; flips mirror: the white area stays 16 columns wide +-4.
    white_columns = (images[:, 16, :, 0] > 0.5).sum(axis=1)
    assert ((12 <= white_columns) & (white_columns <= 16)).all()


def _flip_and_shift(image, flip, dy, dx, pad=4):
    """Reference: mirror (if flip), zero-pad by ``pad``, cut the window at (dy, dx)."""
    image = image[:, ::-1] if flip else image
    padded = np.pad(image, [(pad, pad), (pad, pad), (0, 0)])
    return padded[dy : dy + image.shape[0], dx : dx + image.shape[1]]


def test_augment_images_gives_each_image_its_own_flip_and_shift():
    x = np.random.default_rng(5).random((64, 8, 6, 3)).astype(np.float32)  # non-square: rows and columns differ
    out = augment_images(x, pad=2, seed=7).numpy()
    assert out.shape == x.shape and out.dtype == np.float32
    found = set()
    for image, augmented in zip(x, out):
        matches = [(f, dy, dx) for f in (0, 1) for dy in range(5) for dx in range(5)
                   if np.array_equal(_flip_and_shift(image, f, dy, dx, pad=2), augmented)]
        assert matches, "an output image is not a flipped/shifted copy of its input"
        found.update(matches)
    # 64 images: both flips and several shifts must occur (a constant transform would fail).
    assert {f for f, _, _ in found} == {0, 1} and len({(dy, dx) for _, dy, dx in found}) > 5
    np.testing.assert_array_equal(
        next(iter(make_dataset((x * 255).astype(np.uint8), batch_size=64, augment=True, seed=1))).numpy(),
        next(iter(make_dataset((x * 255).astype(np.uint8), batch_size=64, augment=True, seed=1))).numpy(),
    )


def _map_determinism(ds):
    """The ``deterministic`` attribute of every parallel map in a tf.data graph."""
    import tensorflow as tf

    graph = tf.compat.v1.GraphDef.FromString(ds._as_serialized_graph().numpy())
    return [node.attr["deterministic"].s.decode() for node in graph.node if node.op.startswith("ParallelMapDataset")]


@pytest.mark.parametrize("labels", [True, False])
def test_unshuffled_batches_leave_the_parallel_map_in_order(labels):
    # Under CPU load a non-deterministic parallel map may swap batches; predictions made from an
    # unshuffled dataset would then no longer line up with the labels (a bug the book build caught).
    x, y = make_images(10, seed=0)
    assert _map_determinism(make_dataset(x, y if labels else None, 4)) == ["true"]
    assert _map_determinism(make_dataset(x, y if labels else None, 4, shuffle=True, seed=1)) == ["true"]
    assert _map_determinism(make_dataset(x, y if labels else None, 4, shuffle=True)) == ["false"]


def test_images_only_dataset_for_prediction():
    x, _ = make_images(10, seed=4)
    batch = next(iter(make_dataset(x, batch_size=10)))
    assert batch.shape == (10, 32, 32, 3)


@pytest.mark.parametrize(
    "x, y, kwargs, message",
    [
        (np.zeros((4, 32, 32, 3), np.float32), np.zeros(4, int), {}, "uint8 array of shape"),
        (np.zeros((32, 32, 3), np.uint8), np.zeros(4, int), {}, r"\(N, H, W, C\), got uint8 of shape \(32, 32, 3\)"),
        (np.zeros((4, 32, 32, 3), np.uint8), np.zeros(5, int), {}, r"4 integers"),
        (np.zeros((4, 32, 32, 3), np.uint8), np.zeros(4, int), {"batch_size": 0}, "positive integer"),
    ],
)
def test_bad_inputs(x, y, kwargs, message):
    with pytest.raises(ValueError, match=message):
        make_dataset(x, y, **kwargs)


def test_a_batch_size_of_the_wrong_kind_is_a_type_error():
    with pytest.raises(TypeError, match="batch_size must be a positive integer, got float 32.0"):
        make_dataset(np.zeros((4, 32, 32, 3), np.uint8), batch_size=32.0)


def test_to_float_rejects_floats():
    with pytest.raises(ValueError, match="uint8"):
        to_float(np.zeros(3, np.float64))


def test_profiles(monkeypatch):
    monkeypatch.delenv("CVTUTOR_PROFILE", raising=False)
    assert get_profile().name == "full"
    monkeypatch.setenv("CVTUTOR_PROFILE", "quick")
    quick = get_profile()
    assert quick.is_quick and quick.epochs(10) == 1 and get_profile("full").epochs(10) == 10
    x, y = make_images(5000, seed=0)
    xs, ys = quick.subset(x, y)
    assert len(xs) == quick.train_size < 5000 and len(ys) == len(xs)
    assert len(quick.subset(x, y, "test")[0]) == quick.test_size
    monkeypatch.setenv("CVTUTOR_PROFILE", "fast")
    with pytest.raises(ValueError, match=r"\$CVTUTOR_PROFILE must be one of 'full', 'quick', got 'fast'"):
        get_profile()
    with pytest.raises(ValueError, match="name must be one of 'full', 'quick', got 'slow'"):
        get_profile("Slow")
    with pytest.raises(TypeError, match="name must be one of 'full', 'quick', got int 1"):
        get_profile(1)
    with pytest.raises(ValueError, match="full_epochs must be a positive integer, got 0"):
        quick.epochs(0)
    with pytest.raises(TypeError, match="full_epochs must be a positive integer, got float 2.0"):
        quick.epochs(2.0)
    with pytest.raises(ValueError, match="split must be one of 'train', 'test', got 'val'"):
        quick.subset(x, y, "val")
