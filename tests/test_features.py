"""cvtutor.features on inputs whose answer is known by construction, and against brute force."""

import itertools

import keras
import numpy as np
import pytest

from cvtutor import features as F
from cvtutor.models import build_cnn


@pytest.fixture(scope="module")
def cnn():
    keras.utils.set_random_seed(0)
    return build_cnn()


def _images(n=5, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, 32, 32, 3), dtype=np.uint8)


# Layers and their outputs --------------------------------------------------------------------------


@pytest.mark.backend
def test_conv_layer_names_and_penultimate_layer_of_the_chapter_cnn(cnn):
    convs = F.conv_layer_names(cnn)
    assert [type(cnn.get_layer(n)).__name__ for n in convs] == ["Conv2D"] * 3
    assert [cnn.get_layer(n).filters for n in convs] == [32, 64, 64]
    penultimate = cnn.get_layer(F.penultimate_layer(cnn))
    assert isinstance(penultimate, keras.layers.Dense) and penultimate.units == 64


@pytest.mark.backend
def test_layer_outputs_equal_the_layers_own_outputs_in_any_batch_size(cnn):
    x = _images(5)
    names = [*F.conv_layer_names(cnn), F.penultimate_layer(cnn)]
    whole = F.layer_outputs(cnn, x, names, batch_size=256)
    assert list(whole) == names
    assert [v.shape for v in whole.values()] == [(5, 30, 30, 32), (5, 13, 13, 64), (5, 4, 4, 64), (5, 64)]
    assert all(v.dtype == np.float32 for v in whole.values())
    reference = keras.Model(cnn.inputs[0], cnn.get_layer(names[1]).output)(x.astype("float32") / 255)
    np.testing.assert_allclose(whole[names[1]], keras.ops.convert_to_numpy(reference), rtol=1e-5, atol=1e-6)
    pieces = F.layer_outputs(cnn, x.astype("float32") / 255, names, batch_size=2)  # floats are taken as they are
    for name in names:
        np.testing.assert_allclose(pieces[name], whole[name], rtol=1e-5, atol=1e-6)
    means = F.layer_outputs(cnn, x, names, spatial_mean=True)
    assert [v.shape for v in means.values()] == [(5, 32), (5, 64), (5, 64), (5, 64)]
    np.testing.assert_allclose(means[names[0]], whole[names[0]].mean(axis=(1, 2)), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(means[names[3]], whole[names[3]])  # already one value per channel


@pytest.mark.backend
def test_layer_outputs_and_names_reject_bad_input(cnn):
    conv = F.conv_layer_names(cnn)[0]
    with pytest.raises(TypeError, match="model must be a keras.Model, got str 'cnn'"):
        F.conv_layer_names("cnn")
    with pytest.raises(TypeError, match="layer_names must be a list of layer names, got str"):
        F.layer_outputs(cnn, _images(1), conv)
    with pytest.raises(ValueError, match="'nope' is not a layer of model 'cnn'"):
        F.layer_outputs(cnn, _images(1), ["nope"])
    with pytest.raises(ValueError, match="one or more distinct layers"):
        F.layer_outputs(cnn, _images(1), [conv, conv])
    expected = r"images must have shape \(N, 32, 32, 3\), N >= 1, for model 'cnn', got \(32, 32, 3\)"
    with pytest.raises(ValueError, match=expected):
        F.layer_outputs(cnn, _images(1)[0], [conv])
    with pytest.raises(ValueError, match="N >= 1"):
        F.layer_outputs(cnn, _images(1)[:0], [conv])
    with pytest.raises(ValueError, match="batch_size must be a positive integer, got 0"):
        F.layer_outputs(cnn, _images(1), [conv], batch_size=0)
    dense_only = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    with pytest.raises(ValueError, match="has no Conv2D layer"):
        F.conv_layer_names(dense_only)
    with pytest.raises(ValueError, match="reads the images directly"):
        F.penultimate_layer(dense_only)


# Neighbour contrast ---------------------------------------------------------------------------------


def test_neighbour_contrast_of_kernels_known_by_construction():
    ramp = np.broadcast_to(np.arange(3.0)[:, None, None, None], (3, 3, 2, 4))  # rows 0, 1, 2
    # adjacent pairs: 6 across (difference 0) and 6 down (difference 1): mean 0.5; all 36 pairs: 1.5
    assert F.neighbour_contrast(ramp) == pytest.approx(1 / 3)
    checkerboard = np.indices((3, 3)).sum(axis=0) % 2
    # every adjacent pair differs by 1; of all 36 pairs, the 5 ones and 4 zeros make 20 that differ
    assert F.neighbour_contrast(checkerboard[..., None, None]) == pytest.approx(1 / (20 / 36))
    assert F.neighbour_contrast(np.ones((3, 3, 1, 1))) == 1.0  # nothing to compare: as if at random
    assert F.neighbour_contrast(ramp * 10 + 3) == pytest.approx(1 / 3)  # scale and offset do not matter


def test_neighbour_contrast_is_one_on_average_over_every_rearrangement():
    # a 2x2 kernel has 4! arrangements; over all of them, adjacent pairs are random pairs
    values = np.array([0.3, -1.2, 2.0, 0.7])
    contrasts = [F.neighbour_contrast(np.array(p).reshape(2, 2, 1, 1)) for p in itertools.permutations(values)]
    assert np.mean(contrasts) == pytest.approx(1.0)


def test_rearranged_contrast_is_a_permutation_null_around_one():
    rng = np.random.default_rng(0)
    noise = rng.normal(size=(3, 3, 3, 32))
    null = F.rearranged_contrast(noise, rearrangements=250, seed=1)
    assert null.shape == (250,) and abs(null.mean() - 1) < 0.02
    np.testing.assert_array_equal(null, F.rearranged_contrast(noise, rearrangements=250, seed=1))
    # a smooth bank is far below its own rearrangements: the test tells it apart
    smooth = np.cumsum(np.cumsum(noise, axis=0), axis=1)
    assert F.neighbour_contrast(smooth) < np.percentile(F.rearranged_contrast(smooth, 250), 1)
    # each kernel keeps its own weights: a rearranged ramp has the ramp's all-pairs spread
    ramp = np.broadcast_to(np.arange(3.0)[:, None, None, None], (3, 3, 1, 1))
    assert F.rearranged_contrast(ramp, 100).min() >= 1 / 3 - 1e-12


def test_contrast_functions_reject_bad_input():
    with pytest.raises(ValueError, match=r"\(kh, kw, C_in, C_out\)"):
        F.neighbour_contrast(np.zeros((3, 3, 3)))
    with pytest.raises(ValueError, match=r"kh \* kw >= 2"):
        F.neighbour_contrast(np.zeros((1, 1, 3, 4)))
    with pytest.raises(ValueError, match="NaN"):
        F.neighbour_contrast(np.full((3, 3, 1, 1), np.nan))
    with pytest.raises(ValueError, match="rearrangements must be a positive integer, got 0"):
        F.rearranged_contrast(np.zeros((3, 3, 1, 1)), 0)
    with pytest.raises(TypeError, match="seed must be an integer"):
        F.rearranged_contrast(np.zeros((3, 3, 1, 1)), 10, seed=0.5)


# Top-activating images -------------------------------------------------------------------------------


def test_top_activating_ranks_images_by_a_channels_mean():
    activations = np.array([[0.0, 5.0], [3.0, 1.0], [1.0, 5.0], [2.0, 0.0]])
    indices, values = F.top_activating(activations, [0, 1], k=3)
    np.testing.assert_array_equal(indices, [[1, 3, 2], [0, 2, 1]])  # the tie in channel 1: image order
    np.testing.assert_array_equal(values, [[3.0, 2.0, 1.0], [5.0, 5.0, 1.0]])
    maps = np.zeros((4, 2, 2, 2))
    maps[:, 0, 0, :] = activations * 4  # one corner holds it all: the mean over space is activations
    np.testing.assert_array_equal(F.top_activating(maps, [1], k=2)[0], [[0, 2]])


@pytest.mark.parametrize(
    "activations, channels, k, error, match",
    [
        (np.zeros(4), [0], 1, ValueError, r"activations must have shape \(N, C\)"),
        (np.full((4, 2), np.nan), [0], 1, ValueError, "NaN"),
        (np.zeros((4, 2)), [2], 1, ValueError, r"channels\[...\] must be in \[0, 1\], got 2"),
        (np.zeros((4, 2)), [], 1, ValueError, "at least one channel"),
        (np.zeros((4, 2)), 0, 1, TypeError, "channels must be a list of channel indices"),
        (np.zeros((4, 2)), [0], 5, ValueError, r"k must be in \[1, 4\], got 5"),
        (np.zeros((4, 2)), [0], 1.0, TypeError, "k must be an integer"),
    ],
)
def test_top_activating_rejects_bad_input(activations, channels, k, error, match):
    with pytest.raises(error, match=match):
        F.top_activating(activations, channels, k)


# Neighbours --------------------------------------------------------------------------------------------


def test_nearest_neighbours_are_brute_force_cosine_neighbours():
    rng = np.random.default_rng(0)
    references, queries = rng.normal(size=(40, 6)), rng.normal(size=(7, 6))
    indices, distances = F.nearest_neighbours(queries, references, k=4)
    unit = lambda a: a / np.linalg.norm(a, axis=1, keepdims=True)  # noqa: E731
    cosine = unit(queries) @ unit(references).T
    np.testing.assert_array_equal(indices, np.argsort(-cosine, axis=1)[:, :4])
    np.testing.assert_allclose(distances, 1 - np.take_along_axis(cosine, indices, axis=1), atol=1e-5)
    # the length of a feature vector does not matter; images of any shape are flattened
    scaled, _ = F.nearest_neighbours(queries * rng.uniform(0.1, 10, (7, 1)), references * 3, k=4)
    np.testing.assert_array_equal(scaled, indices)
    flat, _ = F.nearest_neighbours(queries.reshape(7, 2, 3), references.reshape(40, 2, 3), k=4)
    np.testing.assert_array_equal(flat, indices)


def test_label_agreement_and_its_chance_level():
    reference_labels = np.array([0, 0, 1, 2])
    shares = F.label_agreement(np.array([[0, 1], [2, 3], [3, 3]]), reference_labels, np.array([0, 1, 1]))
    np.testing.assert_allclose(shares, [1.0, 0.5, 0.0])
    # random neighbours: a query of class c meets class c with the references' share of c
    assert F.chance_agreement(np.array([0, 1, 1]), reference_labels) == pytest.approx(1 / 3 * 2 / 4 + 2 / 3 * 1 / 4)
    balanced = np.repeat(np.arange(10), 7)
    assert F.chance_agreement(balanced, np.tile(np.arange(10), 3)) == pytest.approx(0.1)


def test_knn_accuracy_is_a_majority_vote_among_cosine_neighbours():
    rng = np.random.default_rng(1)
    centres = rng.normal(size=(3, 8)) * 3
    train_labels, test_labels = rng.integers(0, 3, 60), rng.integers(0, 3, 20)
    train = centres[train_labels] + rng.normal(size=(60, 8))
    test = centres[test_labels] + rng.normal(size=(20, 8))
    accuracy, correct = F.knn_accuracy(train, train_labels, test, test_labels, k=5)
    indices, _ = F.nearest_neighbours(test, train, k=5)
    votes = np.array([np.bincount(train_labels[row], minlength=3).argmax() for row in indices])
    np.testing.assert_array_equal(correct, votes == test_labels)
    assert accuracy == pytest.approx(correct.mean()) and accuracy > 0.8  # well separated classes


def test_neighbour_functions_reject_bad_input():
    with pytest.raises(ValueError, match="same size per image"):
        F.nearest_neighbours(np.zeros((2, 3)), np.zeros((4, 5)))
    with pytest.raises(ValueError, match=r"k must be in \[1, 4\], got 5"):
        F.nearest_neighbours(np.zeros((2, 3)), np.ones((4, 3)), k=5)
    with pytest.raises(ValueError, match="queries must have shape"):
        F.nearest_neighbours(np.zeros(3), np.ones((4, 3)))
    with pytest.raises(ValueError, match="NaN or infinite"):
        F.nearest_neighbours(np.full((2, 3), np.inf), np.ones((4, 3)))
    with pytest.raises(ValueError, match=r"query_labels must be 2 integer labels"):
        F.label_agreement(np.zeros((2, 1), int), np.zeros(3, int), np.zeros(3, int))
    with pytest.raises(ValueError, match=r"neighbour_indices must be in \[0, 3\)"):
        F.label_agreement(np.array([[3]]), np.zeros(3, int), np.zeros(1, int))
    with pytest.raises(ValueError, match="must not be empty"):
        F.chance_agreement(np.zeros(0, int), np.zeros(3, int))
    with pytest.raises(ValueError, match=r"train_labels must be 4 integer labels"):
        F.knn_accuracy(np.ones((4, 3)), np.zeros(3, int), np.ones((2, 3)), np.zeros(2, int))
