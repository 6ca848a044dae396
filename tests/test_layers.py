"""cvtutor.layers: SelfAttention against keras MultiHeadAttention and NumPy, the ViT parts, saving."""

import math

import keras
import numpy as np
import pytest

from cvtutor.layers import ClassToken, PatchEmbedding, PositionEmbedding, SelfAttention, TransformerBlock

ATOL = 1e-5
# Most tests use the default attention model's sizes (64 features, 4 heads of
# 16, MLP 128): on JAX every new weight shape of a random initializer costs a
# compilation, and tests/test_models.py reuses these.
D_MODEL, HEADS, KEY_DIM, MLP_DIM = 64, 4, 16, 128
_np = keras.ops.convert_to_numpy


def _tokens(batch, length, d_model, seed=0):
    return np.random.default_rng(seed).normal(size=(batch, length, d_model)).astype("float32")


def _padding_mask(batch, length, seed=0):
    """(batch, length) booleans, at least one True per row."""
    mask = np.random.default_rng(seed).random((batch, length)) < 0.7
    mask[:, 0] = True
    return mask


def _randomize(layer, seed=0):
    """Give a built layer random weights, biases included, from NumPy.

    Layers under test are made with ``kernel_initializer="zeros"``: on JAX each
    new weight shape of a random initializer costs a compilation.
    """
    rng = np.random.default_rng(seed)
    layer.set_weights([rng.normal(scale=0.5, size=w.shape).astype("float32") for w in layer.weights])


def _numpy_attention(layer, x, mask=None):
    """softmax(Q K^T / sqrt(d_k)) V per head, from the layer's weights, in NumPy."""
    wq, bq, wk, bk, wv, bv, wo, bo = (_np(w) for w in layer.get_weights())
    q = np.einsum("btd,dhk->bhtk", x, wq) + bq[None, :, None, :]
    k = np.einsum("btd,dhk->bhtk", x, wk) + bk[None, :, None, :]
    v = np.einsum("btd,dhk->bhtk", x, wv) + bv[None, :, None, :]
    scores = q @ k.transpose(0, 1, 3, 2) / math.sqrt(layer.key_dim)
    if mask is not None:
        scores = np.where(mask[:, None, None, :], scores, -np.inf)
    weights = np.exp(scores - scores.max(-1, keepdims=True))
    weights /= weights.sum(-1, keepdims=True)
    context = weights @ v  # (B, H, T, dv)
    return np.einsum("bhtv,hvo->bto", context, wo) + bo, weights


# SelfAttention equals keras MultiHeadAttention -------------------------------

MHA_CASES = [
    # num_heads, key_dim, value_dim, output_dim, seq_len, d_model
    (1, 8, None, None, 5, 12),
    (2, 4, None, None, 7, 16),
    (4, 16, None, None, 16, 32),
    (3, 5, 6, 10, 9, 8),
]


@pytest.mark.parametrize("mask_kind", [None, "padding", "full"])
@pytest.mark.parametrize("num_heads, key_dim, value_dim, output_dim, seq_len, d_model", MHA_CASES)
@pytest.mark.backend
def test_self_attention_equals_keras_multi_head_attention(
    num_heads, key_dim, value_dim, output_dim, seq_len, d_model, mask_kind
):
    x = _tokens(3, seq_len, d_model, seed=seq_len)
    layer = SelfAttention(num_heads, key_dim, value_dim=value_dim, output_dim=output_dim, kernel_initializer="zeros")
    mha = keras.layers.MultiHeadAttention(
        num_heads, key_dim, value_dim=value_dim, output_shape=output_dim, kernel_initializer="zeros"
    )
    layer(x)
    _randomize(layer, seed=num_heads)
    # With scores requested MHA skips ops.dot_product_attention, whose JAX version
    # (Keras 3.15) rejects value_dim != key_dim.
    mha(x, x, return_attention_scores=True)
    assert [tuple(w.shape) for w in layer.weights] == [tuple(w.shape) for w in mha.weights]
    mha.set_weights(layer.get_weights())

    if mask_kind is None:
        ours_mask = mha_mask = None
    elif mask_kind == "padding":  # (B, T) keys; MHA wants it as (B, T, T)
        ours_mask = _padding_mask(3, seq_len, seed=seq_len)
        mha_mask = np.broadcast_to(ours_mask[:, None, :], (3, seq_len, seq_len))
    else:
        ours_mask = mha_mask = np.random.default_rng(1).random((3, seq_len, seq_len)) < 0.6
        ours_mask[:, :, 0] = True

    out, scores = layer(x, mask=ours_mask, return_attention_scores=True)
    expected_out, expected_scores = mha(x, x, x, attention_mask=mha_mask, return_attention_scores=True)

    assert out.shape == (3, seq_len, output_dim or d_model)
    assert scores.shape == (3, num_heads, seq_len, seq_len)
    np.testing.assert_allclose(_np(out), _np(expected_out), atol=ATOL, rtol=1e-5)
    np.testing.assert_allclose(_np(scores), _np(expected_scores), atol=ATOL, rtol=1e-5)


@pytest.mark.parametrize("with_mask", [False, True])
@pytest.mark.backend
def test_self_attention_equals_numpy_formula(with_mask):
    x = _tokens(2, 6, 10, seed=3)
    mask = _padding_mask(2, 6, seed=4) if with_mask else None
    layer = SelfAttention(num_heads=2, key_dim=3, value_dim=4, output_dim=5, kernel_initializer="zeros")
    layer.build(x.shape)
    _randomize(layer)
    out, scores = layer(x, mask=mask, return_attention_scores=True)
    expected_out, expected_scores = _numpy_attention(layer, x, mask)
    np.testing.assert_allclose(_np(out), expected_out, atol=ATOL, rtol=1e-5)
    np.testing.assert_allclose(_np(scores), expected_scores, atol=ATOL, rtol=1e-5)
    scores = _np(scores)
    np.testing.assert_allclose(scores.sum(-1), 1.0, atol=1e-6)
    if with_mask:
        assert np.all(scores[~np.broadcast_to(mask[:, None, None, :], scores.shape)] < 1e-7)


def test_scale_is_float_inverse_sqrt_key_dim():
    layer = SelfAttention(num_heads=2, key_dim=7)
    assert isinstance(layer.scale, float)
    assert layer.scale == pytest.approx(1 / math.sqrt(7))


@pytest.mark.backend
def test_causal_mask_hides_the_future():
    length = 6
    x = _tokens(1, length, 8, seed=5)
    causal = np.tril(np.ones((1, length, length), dtype=bool))
    layer = SelfAttention(num_heads=2, key_dim=4, kernel_initializer="zeros")
    layer.build(x.shape)
    _randomize(layer)
    out = _np(layer(x, mask=causal))
    changed = x.copy()
    changed[:, 3:] += 1.0  # change tokens 3..5 only
    out_changed = _np(layer(changed, mask=causal))
    np.testing.assert_allclose(out[:, :3], out_changed[:, :3], atol=ATOL)
    assert not np.allclose(out[:, 3:], out_changed[:, 3:], atol=1e-3)


@pytest.mark.backend
def test_weights_made_once_in_build():
    # The source article created Dense layers inside call(): new weights on every call.
    layer = SelfAttention(HEADS, KEY_DIM)
    x = _tokens(2, 5, D_MODEL, seed=1)
    first = _np(layer(x))
    snapshot = [_np(w).copy() for w in layer.weights]
    assert len(layer.weights) == len(layer.trainable_weights) == 8
    again = _np(layer(x))
    layer(_tokens(4, 9, D_MODEL, seed=2))  # another batch size and length
    assert len(layer.weights) == len(snapshot)
    for before, after in zip(snapshot, layer.weights):
        np.testing.assert_array_equal(before, _np(after))
    np.testing.assert_array_equal(first, again)
    assert np.abs(first).max() > 0
    no_bias = SelfAttention(HEADS, KEY_DIM, use_bias=False)
    no_bias(x)
    no_bias(x)
    assert len(no_bias.weights) == 4


@pytest.mark.backend
def test_dropout_only_in_training():
    layer = SelfAttention(num_heads=2, key_dim=4, dropout=0.5, kernel_initializer="zeros")
    x = _tokens(2, 8, 8)
    layer.build(x.shape)
    _randomize(layer)
    inference = [_np(layer(x, training=False)) for _ in range(2)]
    np.testing.assert_array_equal(inference[0], inference[1])
    assert not np.allclose(_np(layer(x, training=True)), inference[0])


@pytest.mark.backend
def test_compute_output_shape_and_symbolic_scores():
    layer = SelfAttention(num_heads=3, key_dim=4, output_dim=6, kernel_initializer="zeros")
    assert layer.compute_output_shape((None, 10, 8)) == (None, 10, 6)
    inputs = keras.Input((10, 8))
    out, scores = layer(inputs, return_attention_scores=True)
    assert tuple(out.shape) == (None, 10, 6)
    assert tuple(scores.shape) == (None, 3, 10, 10)


@pytest.mark.backend
def test_self_attention_rejects_bad_inputs():
    layer = SelfAttention(num_heads=2, key_dim=4, kernel_initializer="zeros")
    with pytest.raises(ValueError, match=r"rank 3.*got rank 2"):
        layer(np.zeros((5, 8), "float32"))
    layer(_tokens(1, 5, 8))
    with pytest.raises(ValueError, match=r"built for 8 input features.*\(1, 5, 6\)"):
        layer(_tokens(1, 5, 6))
    with pytest.raises(ValueError, match="num_heads must be a positive integer, got 0"):
        SelfAttention(num_heads=0, key_dim=4)
    with pytest.raises(ValueError, match="dropout"):
        SelfAttention(num_heads=1, key_dim=4, dropout=1.5)


# ViT parts -------------------------------------------------------------------


@pytest.mark.backend
def test_patch_embedding_is_a_dense_layer_on_each_patch():
    images = np.random.default_rng(0).random((2, 8, 12, 3)).astype("float32")
    layer = PatchEmbedding(patch_size=4, dim=D_MODEL)
    layer.build(images.shape)
    _randomize(layer)
    tokens = _np(layer(images))
    assert tokens.shape == (2, (8 // 4) * (12 // 4), D_MODEL)
    assert layer.compute_output_shape((None, 8, 12, 3)) == (None, 6, D_MODEL)
    kernel, bias = (_np(w) for w in layer.get_weights())
    # Patches in row-major order, each flattened (row, column, channel).
    patches = images.reshape(2, 2, 4, 3, 4, 3).transpose(0, 1, 3, 2, 4, 5).reshape(2, 6, 4 * 4 * 3)
    expected = patches @ kernel.reshape(-1, D_MODEL) + bias
    np.testing.assert_allclose(tokens, expected, atol=ATOL)


@pytest.mark.backend
def test_overlapping_patch_embedding_sees_a_centred_window_with_zero_margin():
    images = np.random.default_rng(1).random((2, 8, 12, 3)).astype("float32")
    layer = PatchEmbedding(patch_size=4, dim=D_MODEL, kernel_size=8)
    layer.build(images.shape)
    _randomize(layer)
    tokens = _np(layer(images))
    assert tokens.shape == (2, 6, D_MODEL) and layer.compute_output_shape((None, 8, 12, 3)) == (None, 6, D_MODEL)
    kernel, bias = (_np(w) for w in layer.get_weights())
    assert kernel.shape == (8, 8, 3, D_MODEL)
    padded = np.pad(images, ((0, 0), (2, 2), (2, 2), (0, 0)))
    for row in range(2):
        for col in range(3):
            # Patch (row, col) covers pixels 4*row..4*row+3; its window adds 2 pixels on each side.
            window = padded[:, 4 * row : 4 * row + 8, 4 * col : 4 * col + 8].reshape(2, -1)
            np.testing.assert_allclose(tokens[:, 3 * row + col], window @ kernel.reshape(-1, D_MODEL) + bias, atol=ATOL)
    restored = PatchEmbedding.from_config(layer.get_config())
    assert (restored.patch_size, restored.kernel_size) == (4, 8)
    for kernel_size, error, got in ((6.5, TypeError, "float 6.5"), (2, ValueError, "2"), (7, ValueError, "7")):
        with pytest.raises(error, match=f"kernel_size.*got (kernel_size=)?{got}"):
            PatchEmbedding(patch_size=4, dim=8, kernel_size=kernel_size)


@pytest.mark.backend
def test_patch_embedding_rejects_non_divisible_sizes():
    with pytest.raises(ValueError, match=r"patch_size 5 must divide the image height.*32x32"):
        PatchEmbedding(patch_size=5, dim=8)(np.zeros((1, 32, 32, 3), "float32"))
    with pytest.raises(ValueError, match=r"width.*8x6"):
        PatchEmbedding(patch_size=4, dim=8)(np.zeros((1, 8, 6, 3), "float32"))
    with pytest.raises(ValueError, match="rank 4"):
        PatchEmbedding(patch_size=4, dim=8)(np.zeros((8, 8, 3), "float32"))


@pytest.mark.backend
def test_class_token_and_position_embedding():
    tokens = _tokens(3, 64, D_MODEL)
    class_token = ClassToken()
    with_class = _np(class_token(tokens))
    assert with_class.shape == (3, 65, D_MODEL)
    np.testing.assert_array_equal(with_class[:, 1:], tokens)
    np.testing.assert_array_equal(with_class[:, 0], np.broadcast_to(_np(class_token.token)[0], (3, D_MODEL)))

    positions = PositionEmbedding()
    out = _np(positions(tokens))
    embedding = _np(positions.embedding)
    assert embedding.shape == (64, D_MODEL)
    assert 0.01 < embedding.std() < 0.03  # ViT's normal(0.02) initialization
    np.testing.assert_allclose(out, tokens + embedding, atol=1e-6)
    with pytest.raises(ValueError, match=r"built for 64 tokens.*\(3, 65, 64\)"):
        positions(_tokens(3, 65, D_MODEL))


@pytest.mark.backend
def test_transformer_block_shapes_and_residual():
    block = TransformerBlock(HEADS, KEY_DIM, MLP_DIM)
    x = _tokens(2, 7, D_MODEL)
    out, scores = block(x, return_attention_scores=True)
    assert out.shape == x.shape
    assert scores.shape == (2, HEADS, 7, 7)
    count = len(block.weights)
    block(x)
    assert len(block.weights) == count == 8 + 4 + 4  # attention, 2 LayerNorms, 2 Dense
    # Zero the MLP's output layer and the attention output: the block becomes the identity.
    for w in (block.attention.output_kernel, block.attention.output_bias, *block.mlp_output.weights):
        w.assign(np.zeros(w.shape, "float32"))
    np.testing.assert_allclose(_np(block(x)), x, atol=1e-6)


# Saving ----------------------------------------------------------------------


def _model_with_every_layer():
    inputs = keras.Input((32, 32, 3))
    x = PatchEmbedding(patch_size=4, dim=D_MODEL)(inputs)
    x = ClassToken()(x)
    x = PositionEmbedding()(x)
    x = TransformerBlock(HEADS, KEY_DIM, MLP_DIM, dropout=0.1)(x)
    x = SelfAttention(HEADS, KEY_DIM, use_bias=False, dropout=0.2)(x)
    outputs = keras.layers.GlobalAveragePooling1D()(x)
    return keras.Model(inputs, outputs)


@pytest.mark.backend
def test_keras_file_round_trip(tmp_path):
    model = _model_with_every_layer()
    images = np.random.default_rng(0).random((2, 32, 32, 3)).astype("float32")
    path = tmp_path / "layers.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_allclose(_np(loaded(images)), _np(model(images)), atol=1e-6)
    classes = {type(layer) for layer in loaded.layers}
    assert {PatchEmbedding, ClassToken, PositionEmbedding, TransformerBlock, SelfAttention} <= classes
    for original, restored in zip(model.layers, loaded.layers):
        assert original.get_config() == restored.get_config()
