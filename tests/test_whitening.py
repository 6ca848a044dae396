"""Patch whitening (cvtutor.whitening): the covariance, the whitened outputs, saving, the stem option."""

import keras
import numpy as np
import pytest

from cvtutor.models import build_resnet
from cvtutor.data import split_validation
from cvtutor.recipes import get_recipe, start_run
from cvtutor.whitening import PatchWhitening, adapt_whitening, patch_covariance


def correlated_images(n=64, size=8, seed=0):
    # Smooth, colour-correlated images: neighbouring pixels and channels far from independent.
    rng = np.random.default_rng(seed)
    base = rng.normal(size=(n, size + 1, size + 1, 1))
    smooth = (base[:, 1:, 1:] + base[:, :-1, 1:] + base[:, 1:, :-1]) / 3
    colours = smooth * np.array([1.0, 0.8, 0.5]) + 0.1 * rng.normal(size=(n, size, size, 3))
    return (0.5 + 0.2 * colours).astype("float32")


def test_patch_covariance_is_the_covariance_of_the_flattened_patches():
    images = correlated_images(n=5, size=6)
    patches = np.array([images[n, i:i + 2, j:j + 2, :].ravel()
                        for n in range(5) for i in range(5) for j in range(5)], dtype=np.float64)
    mean, covariance = patch_covariance(images, 2, chunk=2)
    np.testing.assert_allclose(mean, patches.mean(axis=0), atol=1e-10)
    np.testing.assert_allclose(covariance, np.cov(patches, rowvar=False, bias=True), atol=1e-10)


@pytest.mark.backend
def test_adapted_layer_outputs_have_zero_mean_and_identity_covariance():
    images = correlated_images()
    layer = PatchWhitening(2, epsilon=1e-8)
    layer.adapt(images)
    out = keras.ops.convert_to_numpy(layer(images))[:, :-1, :-1, :]  # the valid positions: whole patches
    assert out.shape == (64, 7, 7, 12)
    features = out.reshape(-1, 12)
    np.testing.assert_allclose(features.mean(axis=0), 0, atol=1e-3)
    np.testing.assert_allclose(np.cov(features, rowvar=False, bias=True), np.eye(12), atol=1e-3)
    # Before: strongly correlated patch values; the largest principal component comes first.
    raw = np.linalg.eigvalsh(patch_covariance(images, 2)[1])
    assert raw.max() / raw.min() > 100
    # The filters are the principal directions, the largest first.
    filters = keras.ops.convert_to_numpy(layer.kernel).reshape(12, 12)
    directions = filters / np.linalg.norm(filters, axis=0)
    np.testing.assert_allclose(np.linalg.norm(filters, axis=0), 1 / np.sqrt(raw[::-1] + 1e-8), rtol=1e-3)
    assert np.abs(directions.T @ directions - np.eye(12)).max() < 1e-4
    assert layer.trainable_weights == []


@pytest.mark.backend
def test_epsilon_damps_the_low_variance_directions():
    images = correlated_images()
    layer = PatchWhitening(2, epsilon=1.0)
    layer.adapt(images)
    out = keras.ops.convert_to_numpy(layer(images))[:, :-1, :-1, :].reshape(-1, 12)
    eigenvalues = np.sort(np.linalg.eigvalsh(patch_covariance(images, 2)[1]))[::-1]
    np.testing.assert_allclose(out.var(axis=0), eigenvalues / (eigenvalues + 1.0), rtol=1e-3, atol=1e-6)


@pytest.mark.backend
def test_before_adapt_the_layer_passes_patches_through():
    images = correlated_images(n=2, size=4)
    out = keras.ops.convert_to_numpy(PatchWhitening(2)(images))
    np.testing.assert_allclose(out[0, 1, 2], images[0, 1:3, 2:4, :].ravel(), atol=1e-6)


@pytest.mark.backend
def test_whitened_resnet_saves_and_loads(tmp_path):
    images = (correlated_images(n=16, size=32) * 255).clip(0, 255).astype("uint8")
    model = build_resnet(width=4, blocks=(0, 0, 0), stem="whiten")
    assert adapt_whitening(model, images) == 1
    assert "stem_whiten" in [layer.name for layer in model.layers]
    assert not any("stem_whiten" in w.path for w in model.trainable_weights)
    path = tmp_path / "whitened.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    x = images[:4].astype("float32") / 255
    np.testing.assert_allclose(keras.ops.convert_to_numpy(loaded(x)), keras.ops.convert_to_numpy(model(x)), atol=1e-5)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(loaded.get_layer("stem_whiten").kernel),
                               keras.ops.convert_to_numpy(model.get_layer("stem_whiten").kernel))


@pytest.mark.backend
def test_adapt_whitening_leaves_other_models_alone():
    assert adapt_whitening(build_resnet(width=4, blocks=(0, 0, 0)), np.zeros((2, 32, 32, 3), "uint8")) == 0


@pytest.mark.backend
def test_a_runs_whitening_is_fitted_without_the_validation_split():
    images = (correlated_images(n=40, size=32) * 255).clip(0, 255).astype("uint8")
    labels = np.arange(40) % 4
    (fit_index, _), (held_out, _) = split_validation(np.arange(40), labels, 0.25)
    # The held-out images made wildly different: had the whitening seen them, its filters would change.
    images[held_out] = 255 - images[held_out] // 8
    recipe = get_recipe("fast-cnn").replace(model_args={"width": 4, "blocks": (0, 0, 0), "stem": "whiten"})
    start = start_run(recipe, (images, labels), validation_split=0.25, num_classes=4)
    np.testing.assert_array_equal(start.train[0], images[fit_index])
    model = start.build_model()
    expected, everything = (build_resnet(width=4, blocks=(0, 0, 0), stem="whiten") for _ in range(2))
    adapt_whitening(expected, images[fit_index])
    adapt_whitening(everything, images)

    def kernel(m):
        return keras.ops.convert_to_numpy(m.get_layer("stem_whiten").kernel)

    np.testing.assert_allclose(kernel(model), kernel(expected), rtol=1e-5, atol=1e-6)
    assert not np.allclose(kernel(model), kernel(everything), rtol=1e-2)
    with pytest.raises(ValueError, match=r"validation fraction must be a float in \[0, 1\), got 1.5"):
        start_run(recipe, (images, labels), validation_split=1.5)


@pytest.mark.backend
def test_bad_input_is_named():
    with pytest.raises(ValueError, match="stem must be one of 'conv', 'whiten', got 'pca'"):
        build_resnet(width=4, stem="pca")
    layer = PatchWhitening(2)
    layer.build((None, 8, 8, 3))
    with pytest.raises(ValueError, match=r"built for 3-channel images .* got an array of shape \(2, 8, 8, 1\)"):
        layer.adapt(np.zeros((2, 8, 8, 1), "float32"))
    with pytest.raises(ValueError, match=r"epsilon must be in \(0, inf\), got 0.0"):
        PatchWhitening(2, epsilon=0)
    with pytest.raises(TypeError, match="epsilon must be a number, got str '1e-3'"):
        PatchWhitening(2, epsilon="1e-3")
    with pytest.raises(TypeError, match="patch_size must be a positive integer, got float 2.0"):
        PatchWhitening(2.0)
    with pytest.raises(ValueError, match=r"hold no 2x2 patch"):
        patch_covariance(np.zeros((0, 8, 8, 3)))
    with pytest.raises(ValueError, match="chunk must be a positive integer, got 0"):
        patch_covariance(np.zeros((1, 8, 8, 3)), chunk=0)
    with pytest.raises(TypeError, match="max_images must be a positive integer, got float 10.0"):
        adapt_whitening(build_resnet(width=4, stem="whiten"), np.zeros((2, 32, 32, 3), np.uint8), max_images=10.0)
