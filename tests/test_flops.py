"""cvtutor.flops: multiply-adds counted by hand, against the weights, and against TensorFlow's profiler."""

import keras
import numpy as np
import pytest
from keras import layers

from cvtutor import models
from cvtutor.flops import layer_table, multiply_adds
from cvtutor.layers import PatchEmbedding, SelfAttention, TransformerBlock


def _model(input_shape, *stack):
    """A functional model applying ``stack`` in order to an Input of ``input_shape``."""
    inputs = keras.Input(input_shape)
    x = inputs
    for layer in stack:
        x = layer(x)
    return keras.Model(inputs, x)


def _row(model, kind):
    (row,) = [r for r in layer_table(model) if r["kind"] == kind]
    return row


# Hand-computed counts --------------------------------------------------------


@pytest.mark.backend
def test_conv2d_valid_same_strided_grouped():
    # valid: 30x30 outputs, each 3*3*3 inputs times 8 filters.
    assert multiply_adds(_model((32, 32, 3), layers.Conv2D(8, 3))) == 30 * 30 * 3 * 3 * 3 * 8
    # same padding, stride 2: 16x16 outputs.
    assert multiply_adds(_model((32, 32, 3), layers.Conv2D(8, 3, strides=2, padding="same"))) == 16 * 16 * 27 * 8
    # 4 groups: each filter sees 16 / 4 = 4 input channels.
    assert multiply_adds(_model((10, 10, 16), layers.Conv2D(8, 3, groups=4))) == 8 * 8 * 3 * 3 * 4 * 8
    # 1x1 convolution on 5x7: one dense layer per pixel.
    assert multiply_adds(_model((5, 7, 6), layers.Conv2D(4, 1))) == 5 * 7 * 6 * 4



@pytest.mark.backend
def test_patch_whitening_counts_as_its_frozen_convolution():
    from cvtutor.whitening import PatchWhitening

    # 'same' padding: 32x32 outputs, each a 2x2x3 patch times 12 filters (the offset is an addition).
    assert multiply_adds(_model((32, 32, 3), PatchWhitening(2))) == 32 * 32 * 2 * 2 * 3 * 12

@pytest.mark.backend
def test_conv_channels_first_and_1d_3d_transpose():
    model = _model((3, 12, 12), layers.Conv2D(5, 3, data_format="channels_first"))
    assert multiply_adds(model) == 10 * 10 * 3 * 3 * 3 * 5
    assert multiply_adds(_model((20, 4), layers.Conv1D(6, 5))) == 16 * 5 * 4 * 6
    assert multiply_adds(_model((6, 6, 6, 2), layers.Conv3D(3, 3))) == 4**3 * 27 * 2 * 3
    # A transposed convolution spreads every *input* position over a 3x3 window.
    assert multiply_adds(_model((4, 4, 6), layers.Conv2DTranspose(5, 3, strides=2))) == 4 * 4 * 3 * 3 * 6 * 5


@pytest.mark.backend
def test_depthwise_and_separable_conv():
    assert multiply_adds(_model((8, 8, 6), layers.DepthwiseConv2D(3))) == 6 * 6 * 3 * 3 * 6
    assert multiply_adds(_model((8, 8, 6), layers.DepthwiseConv2D(3, depth_multiplier=2))) == 6 * 6 * 9 * 6 * 2
    separable = _model((8, 8, 6), layers.SeparableConv2D(10, 3, padding="same"))
    assert multiply_adds(separable) == 8 * 8 * (9 * 6 + 6 * 10)


@pytest.mark.backend
def test_dense_on_vectors_and_on_sequences():
    assert multiply_adds(_model((12,), layers.Dense(5))) == 12 * 5
    # On (T, features) inputs Dense runs once per position.
    assert multiply_adds(_model((7, 12), layers.Dense(5))) == 7 * 12 * 5
    assert multiply_adds(_model((3, 7, 12), layers.Dense(5))) == 3 * 7 * 12 * 5


@pytest.mark.backend
def test_einsum_dense():
    model = _model((7, 12), layers.EinsumDense("abc,cd->abd", output_shape=(None, 5)))
    assert multiply_adds(model) == multiply_adds(_model((7, 12), layers.Dense(5))) == 7 * 12 * 5
    model = _model((7, 12), layers.EinsumDense("...b,bc->...c", output_shape=5))
    assert multiply_adds(model) == 7 * 12 * 5
    model = _model((7, 12), layers.EinsumDense("abc,cde->abde", output_shape=(None, 2, 3)))
    assert multiply_adds(model) == 7 * 12 * 2 * 3


@pytest.mark.backend
def test_recurrent_layers_count_every_step():
    steps, features, units = 32, 96, 16
    # Per step: x_t W (features x units) and h_{t-1} U (units x units), once per gate.
    simple = steps * (features * units + units * units)
    assert multiply_adds(_model((steps, features), layers.SimpleRNN(units))) == simple
    assert multiply_adds(_model((steps, features), layers.LSTM(units))) == 4 * simple
    assert multiply_adds(_model((steps, features), layers.GRU(units))) == 3 * simple
    assert multiply_adds(_model((steps, features), layers.RNN(layers.LSTMCell(units)))) == 4 * simple
    assert multiply_adds(_model((steps, features), layers.Bidirectional(layers.LSTM(units)))) == 8 * simple
    # return_sequences changes the output, not the work.
    assert multiply_adds(_model((steps, features), layers.LSTM(units, return_sequences=True))) == 4 * simple


@pytest.mark.backend
def test_build_rnn_count():
    # 32 rows of 96 values, LSTM(128), Dense(10).
    expected = 32 * 4 * (96 * 128 + 128 * 128) + 128 * 10
    assert multiply_adds(models.build_rnn()) == expected


@pytest.mark.backend
def test_multi_head_attention_by_hand():
    tq, tk, d_q, d_kv, heads, key_dim, value_dim = 6, 9, 16, 8, 2, 4, 3
    query, value = keras.Input((tq, d_q)), keras.Input((tk, d_kv))
    mha = layers.MultiHeadAttention(heads, key_dim, value_dim=value_dim)
    model = keras.Model([query, value], mha(query, value))
    projections = (
        tq * d_q * heads * key_dim  # queries
        + tk * d_kv * heads * key_dim  # keys
        + tk * d_kv * heads * value_dim  # values
        + tq * heads * value_dim * d_q  # output back to the query's width
    )
    products = heads * tq * tk * key_dim + heads * tq * tk * value_dim  # Q K^T and A V
    assert multiply_adds(model) == projections + products
    # A separate key input of another width.
    key = keras.Input((tk, 5))
    mha2 = layers.MultiHeadAttention(heads, key_dim, value_dim=value_dim)
    model2 = keras.Model([query, value, key], mha2(query, value, key=key))
    assert multiply_adds(model2) == projections - tk * d_kv * heads * key_dim + tk * 5 * heads * key_dim + products


@pytest.mark.backend
def test_self_attention_equals_multi_head_attention():
    tokens, dim, heads, key_dim = 10, 24, 3, 8
    x = keras.Input((tokens, dim))
    ours = keras.Model(x, SelfAttention(heads, key_dim)(x))
    theirs = keras.Model(x, layers.MultiHeadAttention(heads, key_dim)(x, x))
    expected = 4 * tokens * dim * heads * key_dim + 2 * heads * tokens * tokens * key_dim
    assert multiply_adds(ours) == multiply_adds(theirs) == expected


@pytest.mark.backend
def test_transformer_block_and_patch_embedding():
    tokens, dim, heads, mlp = 16, 32, 4, 64
    block = _model((tokens, dim), TransformerBlock(heads, dim // heads, mlp))
    attention = 4 * tokens * dim * dim + 2 * tokens * tokens * dim
    assert multiply_adds(block) == attention + 2 * tokens * dim * mlp
    patches = _model((32, 32, 3), PatchEmbedding(4, 48))
    assert multiply_adds(patches) == 64 * (4 * 4 * 3) * 48
    assert multiply_adds(patches) == multiply_adds(_model((32, 32, 3), layers.Conv2D(48, 4, strides=4)))


@pytest.mark.backend
def test_build_vit_by_hand():
    model = models.build_vit()  # 4x4 patches, dim 128, depth 6, 4 heads, MLP 256
    tokens = 64 + 1  # patches and the class token
    per_block = 4 * tokens * 128 * 128 + 2 * tokens * tokens * 128 + 2 * tokens * 128 * 256
    assert multiply_adds(model) == 64 * 48 * 128 + 6 * per_block + 128 * 10


@pytest.mark.backend
def test_build_cnn_known_count():
    # 30x30x(27x32) + 13x13x(288x64) + 4x4x(576x64) + 1024x64 + 64x10
    assert multiply_adds(models.build_cnn()) == 777_600 + 3_115_008 + 589_824 + 65_536 + 640 == 4_548_608


@pytest.mark.backend
def test_pooling_norm_activation_and_ops_count_zero():
    model = _model(
        (8, 8, 3),
        layers.BatchNormalization(),
        layers.ReLU(),
        layers.MaxPooling2D(2),
        layers.AveragePooling2D(2),
        layers.LayerNormalization(),
        layers.GlobalAveragePooling2D(),
        layers.Dropout(0.5),
    )
    assert multiply_adds(model) == 0
    assert [r["params"] for r in layer_table(model) if r["kind"].endswith("Normalization")] == [12, 6]
    # keras.ops element-wise calls in the graph count nothing; a matmul counts.
    x = keras.Input((4, 6))
    y = keras.Input((6, 5))
    product = keras.Model([x, y], keras.ops.matmul(x, y) + 1.0)
    assert multiply_adds(product) == 4 * 5 * 6


# Consistency with the weights ---------------------------------------------


@pytest.mark.parametrize("builder", [models.build_cnn, models.build_resnet, models.build_vit, models.build_attention])
@pytest.mark.backend
def test_conv_macs_are_kernel_weights_times_output_positions(builder):
    model = builder()
    checked = 0
    for row in layer_table(model):
        layer = model.get_layer(row["name"])
        if isinstance(layer, layers.Conv2D):
            weights_without_bias = row["params"] - (layer.filters if layer.use_bias else 0)
            assert weights_without_bias == np.prod(layer.kernel.shape)
            positions = row["output_shape"][1] * row["output_shape"][2]
            assert row["multiply_adds"] == weights_without_bias * positions
            checked += 1
        elif isinstance(layer, PatchEmbedding):  # a Conv2D with stride = kernel size
            tokens = row["output_shape"][1]
            assert row["multiply_adds"] == (row["params"] - layer.dim) * tokens
            checked += 1
        elif isinstance(layer, layers.Dense):
            assert row["multiply_adds"] == row["params"] - layer.units  # one image, one position
            checked += 1
    assert checked >= 2


@pytest.mark.parametrize(
    "build",
    [
        models.build_cnn,
        models.build_resnet,
        models.build_rnn,
        models.build_attention,
        lambda: models.build_attention(hybrid=True),
        models.build_vit,
    ],
)
@pytest.mark.backend
def test_table_params_add_up(build):
    model = build()
    table = layer_table(model)
    assert sum(r["params"] for r in table) == model.count_params()
    assert sum(r["multiply_adds"] for r in table) == multiply_adds(model) > 0
    assert {"name", "kind", "output_shape", "params", "multiply_adds"} <= set(table[0])
    assert all(isinstance(r["multiply_adds"], int) and r["multiply_adds"] >= 0 for r in table)
    assert all(r["output_shape"][0] is None for r in table)


@pytest.mark.backend
def test_resnet_grows_with_width_and_depth():
    base = multiply_adds(models.build_resnet(width=8, blocks=(0, 0, 0)))
    # Every convolution's kernel grows by 2 x 2 in channels when the width doubles
    # (all but the stem's 3 input channels and the logits' 10 outputs).
    wider = multiply_adds(models.build_resnet(width=16, blocks=(0, 0, 0)))
    assert 3.5 * base < wider < 4 * base
    deeper = multiply_adds(models.build_resnet(width=8, blocks=(1, 0, 1)))
    # Two blocks of two 3x3 convolutions at 16x16 (16 channels) and at 4x4 (64 channels).
    assert deeper - base == 2 * (16 * 16 * 9 * 16 * 16) + 2 * (4 * 4 * 9 * 64 * 64)


@pytest.mark.backend
def test_sequential_nested_and_shared_layers():
    seq = keras.Sequential([layers.Input((10,)), layers.Dense(4), layers.Dense(3)])
    assert multiply_adds(seq) == 10 * 4 + 4 * 3
    # A Sequential inside a functional model: expanded, named outer/inner.
    inputs = keras.Input((10,))
    outer = keras.Model(inputs, layers.Dense(2, name="head")(seq(inputs)))
    table = layer_table(outer)
    assert [r["name"] for r in table] == [f"{seq.name}/{seq.layers[0].name}", f"{seq.name}/{seq.layers[1].name}", "head"]
    assert multiply_adds(outer) == 10 * 4 + 4 * 3 + 3 * 2
    assert sum(r["params"] for r in table) == outer.count_params()
    # A layer called twice does the work twice; its parameters count once.
    shared = layers.Dense(6, name="shared")
    a, b = keras.Input((5,)), keras.Input((5,))
    twice = keras.Model([a, b], layers.Concatenate()([shared(a), shared(b)]))
    row = _row(twice, "Dense")
    assert row["multiply_adds"] == 2 * 5 * 6 and row["params"] == 5 * 6 + 6
    assert sum(r["params"] for r in layer_table(twice)) == twice.count_params()
    # A nested model called twice.
    c, d = keras.Input((10,)), keras.Input((10,))
    siamese = keras.Model([c, d], layers.Concatenate()([seq(c), seq(d)]))
    assert multiply_adds(siamese) == 2 * (10 * 4 + 4 * 3)


# Cross-check against TensorFlow's graph profiler ----------------------------


def _profiled_matmul_flops(model, shape):
    """FLOPs of the convolutions and matrix products in the TensorFlow graph of one forward pass."""
    tf = pytest.importorskip("tensorflow")
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    function = tf.function(lambda x: model(x, training=False)).get_concrete_function(
        tf.TensorSpec((1,) + shape, tf.float32)
    )
    graph = convert_variables_to_constants_v2(function).graph
    options = tf.compat.v1.profiler.ProfileOptionBuilder.float_operation()
    options["output"] = "none"
    info = tf.compat.v1.profiler.profile(graph=graph, options=options)
    return sum(
        c.total_float_ops for c in info.children if c.name.rsplit("/", 1)[-1].startswith(("MatMul", "convolution"))
    )


@pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="TensorFlow's profiler")
@pytest.mark.backend
def test_matches_tensorflow_profiler():
    # The profiler counts a multiply-add as 2 FLOPs.
    cnn = models.build_cnn()
    assert _profiled_matmul_flops(cnn, (32, 32, 3)) == 2 * multiply_adds(cnn)
    x = keras.Input((6, 16))
    attention = keras.Model(x, SelfAttention(2, 4, value_dim=3)(x))
    assert _profiled_matmul_flops(attention, (6, 16)) == 2 * multiply_adds(attention)


# Bad input --------------------------------------------------------------------


def test_not_a_model():
    with pytest.raises(TypeError, match="model must be a keras.Model, got Dense"):
        multiply_adds(layers.Dense(3))
    with pytest.raises(TypeError, match="model must be a keras.Model, got str 'cnn'"):
        layer_table("cnn")


def test_unbuilt_model():
    with pytest.raises(ValueError, match="not built"):
        multiply_adds(keras.Sequential([layers.Dense(3)]))


@pytest.mark.backend
def test_subclassed_model_has_no_graph():
    class Net(keras.Model):
        def __init__(self):
            super().__init__()
            self.dense = layers.Dense(3)

        def call(self, x):
            return self.dense(x)

    net = Net()
    net(np.zeros((1, 4), "float32"))
    with pytest.raises(ValueError, match="no functional graph"):
        multiply_adds(net)


@pytest.mark.backend
def test_unknown_sizes_raise():
    with pytest.raises(ValueError, match="unknown sizes"):
        multiply_adds(_model((None, None, 3), layers.Conv2D(4, 3)))
    with pytest.raises(ValueError, match="unknown sizes"):
        multiply_adds(_model((None, 8), layers.LSTM(4)))


class Scale(layers.Layer):
    """An unknown kind of layer with a weight."""

    def build(self, input_shape):
        self.scale = self.add_weight(shape=(input_shape[-1],), initializer="ones")

    def call(self, x):
        return x * self.scale


class Double(layers.Layer):
    """An unknown kind of layer without weights."""

    def call(self, x):
        return 2 * x


@pytest.mark.backend
def test_unknown_layer_with_weights_raises_naming_it():
    model = _model((4,), layers.Dense(3), Scale(name="my_scale"))
    with pytest.raises(ValueError, match="'my_scale' \\(Scale\\) has 3 parameters"):
        multiply_adds(model)
    with pytest.raises(ValueError, match="my_scale"):
        layer_table(model)


@pytest.mark.backend
def test_unknown_layer_without_weights_counts_zero():
    model = _model((4,), layers.Dense(3), Double(name="double"))
    assert multiply_adds(model) == 4 * 3
    assert _row(model, "Double")["multiply_adds"] == 0


@pytest.mark.backend
def test_conv_lstm_cell_is_not_guessed():
    model = _model((3, 6, 6, 2), layers.ConvLSTM2D(4, 3))
    with pytest.raises(ValueError, match="ConvLSTM2D"):
        multiply_adds(model)


def test_convnext_layer_scale_counts_zero():
    """keras.applications' ConvNeXt LayerScale is a per-channel multiplication: zero multiply-adds.
    One ConvNeXt-T stage-1 block at 56x56 by hand: a 7x7 depthwise convolution and two dense layers."""
    model = keras.applications.ConvNeXtTiny(weights=None, include_preprocessing=False, input_shape=(32, 32, 3))
    rows = [r for r in layer_table(model) if r["kind"] == "LayerScale"]
    assert rows and all(r["multiply_adds"] == 0 and r["params"] > 0 for r in rows)
    block = [r for r in layer_table(model) if r["name"].startswith("convnext_tiny_stage_0_block_0_")]
    positions = 8 * 8  # 32 / 4
    assert sum(r["multiply_adds"] for r in block) == positions * (7 * 7 * 96 + 2 * 96 * 384)
