"""cvtutor.layer_costs: every formula equals a built Keras layer's output shape, count_params and
cvtutor.flops multiply-adds; bad arguments raise TypeError or ValueError."""

import keras
import pytest
from keras import layers

from cvtutor import layer_costs as lc
from cvtutor.flops import multiply_adds
from cvtutor.layers import PatchEmbedding, SelfAttention, TransformerBlock


def _measured(input_shape, layer):
    inputs = keras.Input(input_shape)
    model = keras.Model(inputs, layer(inputs))
    return tuple(model.output_shape[1:]), model.count_params(), multiply_adds(model)


@pytest.mark.parametrize("size, c_in, c_out, kernel, stride, padding", [
    (32, 3, 32, 3, 1, "valid"), (32, 16, 8, 3, 2, "same"), (15, 4, 6, 5, 2, "valid"), (7, 2, 3, 1, 1, "same")])
def test_conv2d(size, c_in, c_out, kernel, stride, padding):
    cost = lc.conv2d(size, size + 1, c_in, c_out, kernel, stride, padding)
    layer = layers.Conv2D(c_out, kernel, strides=stride, padding=padding)
    assert tuple(cost) == _measured((size, size + 1, c_in), layer)
    no_bias = lc.conv2d(size, size + 1, c_in, c_out, kernel, stride, padding, bias=False)
    assert no_bias.params == cost.params - c_out


@pytest.mark.parametrize("pool, stride, padding", [(2, None, "valid"), (3, 2, "valid"), (3, 2, "same")])
def test_max_pool2d(pool, stride, padding):
    cost = lc.max_pool2d(17, 16, 5, pool, stride, padding)
    assert tuple(cost) == _measured((17, 16, 5), layers.MaxPooling2D(pool, strides=stride, padding=padding))


def test_dense_on_vectors_and_tokens():
    assert tuple(lc.dense(12, 7)) == _measured((12,), layers.Dense(7))
    assert tuple(lc.dense(12, 7, tokens=5)) == _measured((5, 12), layers.Dense(7))


def test_recurrent_layers():
    assert tuple(lc.simple_rnn(32, 96, 16)) == _measured((32, 96), layers.SimpleRNN(16))
    assert tuple(lc.lstm(32, 96, 64)) == _measured((32, 96), layers.LSTM(64))


def test_attention_patch_embedding_and_block():
    assert tuple(lc.self_attention(64, 32, 4)) == _measured((64, 32), SelfAttention(num_heads=4, key_dim=8))
    mha = layers.MultiHeadAttention(num_heads=2, key_dim=5)
    inputs = keras.Input((9, 12))
    model = keras.Model(inputs, mha(inputs, inputs))
    cost = lc.self_attention(9, 12, 2, key_dim=5)
    assert (cost.params, cost.multiply_adds) == (model.count_params(), multiply_adds(model))
    assert tuple(lc.patch_embedding(32, 32, 3, 4, 64)) == _measured((32, 32, 3), PatchEmbedding(4, 64))
    block = TransformerBlock(num_heads=4, key_dim=16, mlp_dim=128)
    assert tuple(lc.transformer_block(65, 64, 4, 128)) == _measured((65, 64), block)
    assert lc.layer_norm(65, 64).params == 128


def test_bad_arguments():
    with pytest.raises(TypeError, match="c_in"):
        lc.conv2d(32, 32, 3.0, 8, 3)
    with pytest.raises(ValueError, match="padding"):
        lc.conv2d(32, 32, 3, 8, 3, padding="full")
    with pytest.raises(ValueError, match="kernel must be at most"):
        lc.output_size(3, 5)
    with pytest.raises(ValueError, match="num_heads must divide"):
        lc.self_attention(10, 30, 4)
    with pytest.raises(ValueError, match="patch_size must divide"):
        lc.patch_embedding(30, 32, 3, 4, 8)
    with pytest.raises(ValueError, match="units"):
        lc.lstm(4, 3, 0)
