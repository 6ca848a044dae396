"""cvtutor.explain on models whose answer is known by construction."""

import keras
import numpy as np
import pytest

from cvtutor.explain import attention_map, attention_rollout, grad_cam, saliency
from cvtutor.layers import ClassToken, PatchEmbedding, PositionEmbedding, SelfAttention
from cvtutor.models import build_cnn, build_vit

TOP_LEFT = (slice(None), slice(0, 8), slice(0, 8))


def _images(n=2, seed=0):
    return np.random.default_rng(seed).uniform(0.1, 1.0, (n, 32, 32, 3)).astype("float32")


def _mass(maps, region):
    return maps[region].sum() / maps.sum()


def _top_left_cnn():
    """Logits that depend on the top-left 8x8 pixels only: a fixed mask, a conv, pooling.

    Class 0's weights and the conv kernel are positive, so class 0's evidence
    is exactly the top-left region.
    """
    mask = np.zeros((1, 32, 32, 1), "float32")
    mask[:, :8, :8] = 1.0
    inputs = keras.Input((32, 32, 3))
    x = keras.ops.multiply(inputs, mask)
    x = keras.layers.Conv2D(4, 2, strides=2, activation="relu", kernel_initializer="zeros", name="conv")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    model = keras.Model(inputs, keras.layers.Dense(3, kernel_initializer="zeros", name="logits")(x), name="top_left")
    rng = np.random.default_rng(0)
    dense = rng.normal(size=(4, 3)).astype("float32")
    dense[:, 0] = np.abs(dense[:, 0]) + 0.1
    model.set_weights([rng.uniform(0.1, 1.0, (2, 2, 3, 4)).astype("float32"), np.zeros(4, "float32"),
                       dense, np.zeros(3, "float32")])
    return model


def _attention_model(query_kernel, query_bias, key_kernel, class_token=False, depth=1):
    """16 patch tokens (a 4x4 grid of 8x8 patches) that carry only their position.

    The patch embedding is zero and position ``p``'s embedding is the one-hot
    vector ``e_p``, so the attention weights follow from the query and key
    kernels alone. Each layer adds its (zero) output to its input, so every
    layer sees the same tokens.
    """
    inputs = keras.Input((32, 32, 3))
    x = PatchEmbedding(8, 16, name="patches")(inputs)
    if class_token:
        x = ClassToken(name="class_token")(x)
    x = PositionEmbedding(initializer="zeros", name="positions")(x)
    attention = [SelfAttention(1, 16, kernel_initializer="zeros", name=f"attention_{i}") for i in range(depth)]
    for layer in attention:
        x = x + layer(x)
    x = keras.layers.GlobalAveragePooling1D()(x)
    model = keras.Model(inputs, keras.layers.Dense(2, kernel_initializer="zeros")(x), name="forced")
    for w in model.get_layer("patches").weights:
        w.assign(np.zeros(w.shape, "float32"))
    positions = np.eye(16, dtype="float32")
    if class_token:  # the class token (position 0) carries nothing
        positions = np.vstack([np.zeros((1, 16), "float32"), positions])
    model.get_layer("positions").embedding.assign(positions)
    for layer in attention:
        layer.query_kernel.assign(query_kernel)
        layer.query_bias.assign(query_bias)
        layer.key_kernel.assign(key_kernel)
    return model


def _self_attending_model():
    """Every patch attends (almost only) to itself: q_i = k_i = 10 e_i, score 100 / sqrt(16)."""
    eye = 10 * np.eye(16, dtype="float32")[:, None, :]
    return _attention_model(eye, np.zeros((1, 16), "float32"), eye)


def _all_attend_to_patch_5(class_token=False):
    """Every token (class token included) attends to patch 5 (grid row 1, column 1)."""
    query_bias = np.zeros((1, 16), "float32")
    query_bias[0, 0] = 10.0
    key_kernel = np.zeros((16, 1, 16), "float32")
    key_kernel[5, 0, 0] = 10.0
    return _attention_model(np.zeros((16, 1, 16), "float32"), query_bias, key_kernel, class_token, depth=2)


def _peak(single_map):
    return np.unravel_index(single_map.argmax(), single_map.shape)


# Saliency and Grad-CAM ------------------------------------------------------


@pytest.mark.backend
def test_saliency_is_all_in_the_region_the_logit_reads():
    maps = saliency(_top_left_cnn(), _images(), class_index=0)
    assert maps.shape == (2, 32, 32) and maps.dtype == np.float32
    assert maps.min() >= 0 and maps.max() == 1 and np.isfinite(maps).all()
    assert _mass(maps, TOP_LEFT) > 0.99 and maps[:, 8:, :].max() == 0 and maps[:, :, 8:].max() == 0


@pytest.mark.backend
def test_grad_cam_finds_the_region_the_features_come_from():
    maps = grad_cam(_top_left_cnn(), _images(), class_index=0)
    assert maps.shape == (2, 32, 32) and np.isfinite(maps).all() and maps.min() >= 0 and maps.max() == 1
    assert _mass(maps, TOP_LEFT) > 0.9
    assert all(_peak(m)[0] < 8 and _peak(m)[1] < 8 for m in maps)


@pytest.mark.backend
def test_one_uint8_image_and_per_image_classes():
    model, image = _top_left_cnn(), (_images(1)[0] * 255).astype(np.uint8)
    assert saliency(model, image).shape == (32, 32)
    assert grad_cam(model, image, conv_layer_name="conv", class_index=[0]).shape == (32, 32)


@pytest.mark.backend
def test_grad_cam_defaults_to_the_last_conv_layer():
    model, x = build_cnn(), _images()
    last_conv = [layer.name for layer in model.layers if isinstance(layer, keras.layers.Conv2D)][-1]
    maps = grad_cam(model, x)
    assert maps.shape == (2, 32, 32) and np.isfinite(maps).all() and maps.min() >= 0 and maps.max() <= 1
    np.testing.assert_array_equal(maps, grad_cam(model, x, conv_layer_name=last_conv))


# Attention --------------------------------------------------------------------


@pytest.mark.parametrize("query", [0, 6, 13])
@pytest.mark.backend
def test_attention_map_of_a_query_shows_the_patch_it_attends_to(query):
    maps = attention_map(_self_attending_model(), _images(), query=query)
    row, col = divmod(query, 4)
    patch = (slice(None), slice(8 * row, 8 * row + 8), slice(8 * col, 8 * col + 8))
    assert maps.shape == (2, 32, 32) and maps.min() >= 0 and maps.max() == 1
    assert _mass(maps, patch) > 0.99


@pytest.mark.parametrize("class_token", [False, True])
@pytest.mark.backend
def test_attention_map_and_rollout_peak_at_the_forced_patch(class_token):
    model, patch_5 = _all_attend_to_patch_5(class_token), (slice(None), slice(8, 16), slice(8, 16))
    for maps in (
        attention_map(model, _images()),
        attention_map(model, _images(), layer_name="attention_0", query=0),
        attention_rollout(model, _images()),
    ):
        assert maps.shape == (2, 32, 32) and np.isfinite(maps).all() and maps.min() >= 0 and maps.max() == 1
        outside = maps.copy()
        outside[patch_5] = 0
        assert np.allclose(maps[patch_5], 1.0) and outside.max() < 0.05


@pytest.mark.backend
def test_rollout_follows_attention_and_residuals_through_the_layers():
    # Two layers, each A' = (A + I) / 2, with A sending everything to patch 5:
    # R = A'A' = 0.75 A + 0.25 I. Averaged over queries, patch 5 gets 0.75 + 0.25 / 16, others 0.25 / 16.
    maps = attention_rollout(_all_attend_to_patch_5(), _images(1)[0])
    np.testing.assert_allclose(maps[0, 0], (0.25 / 16) / (0.75 + 0.25 / 16), rtol=1e-3)


@pytest.mark.backend
def test_vit_maps_have_image_shape():
    model = build_vit(dim=16, depth=2, num_heads=2, mlp_dim=16)
    for maps in (attention_map(model, _images(), layer_name="block_0"), attention_rollout(model, _images())):
        assert maps.shape == (2, 32, 32) and np.isfinite(maps).all() and 0 <= maps.min() and maps.max() == 1


# Wrong inputs -------------------------------------------------------------------


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: saliency(_top_left_cnn(), np.zeros((32, 32))), r"one image \(H, W, C\) or a batch .* \(32, 32\)"),
        (lambda: saliency(_top_left_cnn(), np.zeros((1, 16, 16, 3))), r"shape \(32, 32, 3\), got \(16, 16, 3\)"),
        (lambda: saliency(_top_left_cnn(), _images(), class_index=3), r"class_index must be .* in \[0, 3\)"),
        (
            lambda: grad_cam(_top_left_cnn(), _images(), conv_layer_name="conv9"),
            r"'conv9' is not a Conv2D .* of model 'top_left'; those are \['conv'\]",
        ),
        (lambda: grad_cam(_self_attending_model(), _images(), conv_layer_name="x"), r"those are \[\]"),
        (lambda: attention_map(_top_left_cnn(), _images()), "has no SelfAttention or TransformerBlock layer"),
        (lambda: attention_map(_self_attending_model(), _images(), layer_name="patches"), r"\['attention_0'\]"),
        (lambda: attention_map(_self_attending_model(), _images(), query=16), r"query must be in \[0, 16\), got 16"),
        (lambda: attention_rollout(_self_attending_model(), np.zeros((2, 2, 32, 32, 3))), "got shape"),
    ],
)
@pytest.mark.backend
def test_wrong_inputs_raise_value_error(call, message):
    with pytest.raises(ValueError, match=message):
        call()


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: saliency("cnn.keras", _images()), "model must be a keras.Model, got str 'cnn.keras'"),
        (lambda: saliency(_top_left_cnn(), _images(), class_index=1.0), r"class_index must be None, an integer .* got float 1.0"),
        (lambda: grad_cam(_top_left_cnn(), _images(), conv_layer_name=0), "conv_layer_name must be a layer's name, got int 0"),
        (lambda: attention_map(_self_attending_model(), _images(), query=1.0), "query must be an integer, got float 1.0"),
        (lambda: attention_rollout(None, _images()), "model must be a keras.Model, got NoneType None"),
    ],
)
@pytest.mark.backend
def test_arguments_of_the_wrong_kind_raise_type_error(call, message):
    with pytest.raises(TypeError, match=message):
        call()
