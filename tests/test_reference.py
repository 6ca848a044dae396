"""cvtutor.reference (NumPy) against the Keras layers it explains.

Each test copies the same weights into a Keras layer and into the NumPy
formula and asserts the outputs agree to float32 precision, over many random
shapes (hypothesis). The remaining tests pin the documented edge cases and
the error messages.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from cvtutor import reference as ref

keras = pytest.importorskip("keras")

ROOT = Path(__file__).resolve().parents[1]
TOL = dict(rtol=1e-5, atol=1e-5)
few = settings(max_examples=25, deadline=None)

seeds = st.integers(0, 2**32 - 1)
paddings = st.sampled_from(["valid", "same"])


def normal(rng, *shape):
    return rng.standard_normal(shape).astype(np.float32)


def to_numpy(tensor):
    return keras.ops.convert_to_numpy(tensor)


def keras_conv(layer, x, stride):
    """``layer(x)`` as NumPy, one image at a time where TensorFlow's oneDNN kernel is wrong.

    TensorFlow 2.21's oneDNN convolution returns uninitialised memory (0 or
    values like -8e25) for every image after the first when the batch has more
    than one image, the output is one column wide and the column stride is above
    1; the same images one at a time, JAX and ``TF_ENABLE_ONEDNN_OPTS=0`` agree
    with ``reference.conv2d`` and with the sum written out by hand
    (``test_conv2d_by_hand_where_onednn_fails``). Hypothesis found the case in CI.
    """
    y = layer(x)
    if keras.backend.backend() == "tensorflow" and len(x) > 1 and y.shape[2] == 1 and stride[1] > 1:
        return np.concatenate([to_numpy(layer(x[i : i + 1])) for i in range(len(x))])
    return to_numpy(y)


# --------------------------------------------------------------------------
# Convolution


@few
@given(
    seed=seeds,
    n=st.integers(1, 2),
    hw=st.tuples(st.integers(1, 9), st.integers(1, 9)),
    channels=st.tuples(st.integers(1, 4), st.integers(1, 4)),
    kernel_size=st.tuples(st.integers(1, 4), st.integers(1, 4)),
    stride=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    padding=paddings,
    use_bias=st.booleans(),
)
@example(seed=0, n=2, hw=(2, 2), channels=(1, 1), kernel_size=(1, 2), stride=(1, 3), padding="valid", use_bias=False)
def test_conv2d_equals_keras(seed, n, hw, channels, kernel_size, stride, padding, use_bias):
    (h, w), (c_in, c_out), (kh, kw) = hw, channels, kernel_size
    if padding == "valid":
        assume(kh <= h and kw <= w)
    rng = np.random.default_rng(seed)
    x, kernel, bias = normal(rng, n, h, w, c_in), normal(rng, kh, kw, c_in, c_out), normal(rng, c_out)

    layer = keras.layers.Conv2D(
        c_out, (kh, kw), strides=stride, padding=padding, use_bias=use_bias
    )
    layer.build((None, h, w, c_in))
    layer.set_weights([kernel, bias] if use_bias else [kernel])
    expected = keras_conv(layer, x, stride)

    got = ref.conv2d(x, kernel, bias if use_bias else None, stride=stride, padding=padding)
    assert got.shape == expected.shape == (
        n,
        ref.conv_output_size(h, kh, stride[0], padding),
        ref.conv_output_size(w, kw, stride[1], padding),
        c_out,
    )
    np.testing.assert_allclose(got, expected, **TOL)


@few
@given(
    seed=seeds,
    hw=st.tuples(st.integers(1, 7), st.integers(1, 7)),
    channels=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    k=st.integers(1, 3),
    stride=st.integers(1, 3),
    padding=paddings,
    use_bias=st.booleans(),
)
def test_conv2d_loops_equal_vectorised(seed, hw, channels, k, stride, padding, use_bias):
    (h, w), (c_in, c_out) = hw, channels
    if padding == "valid":
        assume(k <= min(h, w))
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((2, h, w, c_in))
    kernel, bias = rng.standard_normal((k, k, c_in, c_out)), rng.standard_normal(c_out)
    b = bias if use_bias else None
    np.testing.assert_allclose(
        ref._conv2d_loops(x, kernel, b, stride, padding),
        ref.conv2d(x, kernel, b, stride, padding),
        rtol=1e-12,
        atol=1e-12,
    )


def test_conv2d_is_cross_correlation_by_hand():
    # One 3x3 image, one 2x2 kernel: each output is the dot product of the
    # kernel with the window under it, kernel not flipped.
    x = np.arange(9.0).reshape(1, 3, 3, 1)
    kernel = np.array([[1.0, 2.0], [3.0, 4.0]]).reshape(2, 2, 1, 1)
    got = ref.conv2d(x, kernel, bias=[10.0])
    # top-left window [[0, 1], [3, 4]]: 0*1 + 1*2 + 3*3 + 4*4 + 10 = 37
    np.testing.assert_array_equal(got[0, :, :, 0], [[37.0, 47.0], [67.0, 77.0]])


def test_same_padding_puts_the_odd_pixel_bottom_right():
    # 4 pixels, window 2, stride 1: one pixel of padding in total, after.
    x = np.ones((1, 4, 4, 1))
    y = ref.conv2d(x, np.ones((2, 2, 1, 1)), padding="same")
    assert y.shape == (1, 4, 4, 1)
    assert y[0, 0, 0, 0] == 4 and y[0, -1, -1, 0] == 1


def test_conv2d_handles_a_photo_sized_input():
    rng = np.random.default_rng(0)
    x = rng.random((1, 512, 512, 3), dtype=np.float32)
    y = ref.conv2d(x, rng.standard_normal((3, 3, 3, 8)).astype(np.float32), padding="same")
    assert y.shape == (1, 512, 512, 8) and y.dtype == np.float32


# --------------------------------------------------------------------------
# Pooling and dense



def test_conv2d_by_hand_where_onednn_fails():
    """The case hypothesis found, written out: a 1x2 kernel at column stride 3 over 2x2 images."""
    rng = np.random.default_rng(0)
    x, kernel = normal(rng, 2, 2, 2, 1), normal(rng, 1, 2, 1, 1)
    by_hand = x[..., 0, 0] * kernel[0, 0, 0, 0] + x[..., 1, 0] * kernel[0, 1, 0, 0]  # (n, row)
    got = ref.conv2d(x, kernel, stride=(1, 3))
    assert got.shape == (2, 2, 1, 1)
    np.testing.assert_allclose(got[..., 0, 0], by_hand, **TOL)
    layer = keras.layers.Conv2D(1, (1, 2), strides=(1, 3), use_bias=False)
    layer.build((None, 2, 2, 1))
    layer.set_weights([kernel])
    np.testing.assert_allclose(keras_conv(layer, x, (1, 3)), got, **TOL)

@few
@given(
    seed=seeds,
    hw=st.tuples(st.integers(1, 9), st.integers(1, 9)),
    c=st.integers(1, 3),
    pool=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    stride=st.one_of(st.none(), st.tuples(st.integers(1, 3), st.integers(1, 3))),
    padding=paddings,
)
def test_max_pool2d_equals_keras(seed, hw, c, pool, stride, padding):
    (h, w) = hw
    if padding == "valid":
        assume(pool[0] <= h and pool[1] <= w)
    x = normal(np.random.default_rng(seed), 2, h, w, c)
    layer = keras.layers.MaxPooling2D(pool_size=pool, strides=stride, padding=padding)
    expected = to_numpy(layer(x))
    got = ref.max_pool2d(x, pool, stride, padding)
    assert got.shape == expected.shape
    np.testing.assert_array_equal(got, expected)


@few
@given(
    seed=seeds,
    lead=st.lists(st.integers(1, 3), min_size=1, max_size=3),
    d_in=st.integers(1, 6),
    d_out=st.integers(1, 6),
)
def test_dense_equals_keras(seed, lead, d_in, d_out):
    rng = np.random.default_rng(seed)
    x, w, b = normal(rng, *lead, d_in), normal(rng, d_in, d_out), normal(rng, d_out)
    layer = keras.layers.Dense(d_out)
    layer.build((None, d_in))
    layer.set_weights([w, b])
    got = ref.dense(x, w, b)
    assert got.shape == (*lead, d_out)
    np.testing.assert_allclose(got, to_numpy(layer(x)), **TOL)


# --------------------------------------------------------------------------
# Recurrence


@few
@given(
    seed=seeds,
    n=st.integers(1, 3),
    steps=st.integers(1, 6),
    d_in=st.integers(1, 5),
    units=st.integers(1, 5),
    with_h0=st.booleans(),
)
def test_rnn_forward_equals_keras_simple_rnn(seed, n, steps, d_in, units, with_h0):
    rng = np.random.default_rng(seed)
    xs = normal(rng, n, steps, d_in)
    w, u, b = normal(rng, d_in, units), normal(rng, units, units) / 2, normal(rng, units)
    h0 = normal(rng, n, units) if with_h0 else None

    layer = keras.layers.SimpleRNN(units, return_sequences=True)
    layer.build((None, steps, d_in))
    layer.set_weights([w, u, b])  # kernel, recurrent_kernel, bias
    expected = to_numpy(layer(xs, initial_state=h0) if with_h0 else layer(xs))

    got = ref.rnn_forward(xs, w, u, b, h0=h0)
    assert got.shape == (n, steps, units)
    np.testing.assert_allclose(got, expected, **TOL)


def test_rnn_forward_last_state_is_the_default_simple_rnn_output():
    rng = np.random.default_rng(1)
    xs, w, u, b = normal(rng, 2, 5, 3), normal(rng, 3, 4), normal(rng, 4, 4) / 2, normal(rng, 4)
    layer = keras.layers.SimpleRNN(4)
    layer.build((None, 5, 3))
    layer.set_weights([w, u, b])
    np.testing.assert_allclose(ref.rnn_forward(xs, w, u, b)[:, -1], to_numpy(layer(xs)), **TOL)


# --------------------------------------------------------------------------
# Attention


def keras_single_head(d_model, d_k, rng):
    """A one-head MultiHeadAttention with random weights, and those weights
    as plain matrices (d_model, d_k), (d_k,), ..., (d_k, d_model), (d_model,)."""
    layer = keras.layers.MultiHeadAttention(num_heads=1, key_dim=d_k)
    layer.build((None, None, d_model), (None, None, d_model))
    layer.set_weights([normal(rng, *wt.shape) for wt in layer.get_weights()])

    def plain(dense, out=False):
        kernel, bias = (to_numpy(v) for v in dense.weights)
        # query/key/value kernels are (d_model, heads, d_k); output is (heads, d_k, d_model)
        kernel = kernel.reshape(-1, d_model) if out else kernel.reshape(d_model, -1)
        return kernel, bias.reshape(-1)

    return layer, {
        "query": plain(layer.query_dense),
        "key": plain(layer.key_dense),
        "value": plain(layer.value_dense),
        "output": plain(layer.output_dense, out=True),
    }


@few
@given(
    seed=seeds,
    batch=st.integers(1, 2),
    t_q=st.integers(1, 5),
    t_k=st.integers(1, 5),
    d_model=st.integers(1, 6),
    d_k=st.integers(1, 6),
    masked=st.booleans(),
)
def test_attention_equals_keras_multi_head_attention(seed, batch, t_q, t_k, d_model, d_k, masked):
    rng = np.random.default_rng(seed)
    layer, p = keras_single_head(d_model, d_k, rng)
    query, value = normal(rng, batch, t_q, d_model), normal(rng, batch, t_k, d_model)
    mask = None
    if masked:
        mask = rng.random((batch, t_q, t_k)) < 0.5
        mask[..., rng.integers(t_k)] = True  # every query may attend to something

    out, scores = layer(
        query, value, attention_mask=mask, return_attention_scores=True
    )
    q = ref.dense(query, *p["query"])
    k = ref.dense(value, *p["key"])
    v = ref.dense(value, *p["value"])
    context, weights = ref.scaled_dot_product_attention(q, k, v, mask=mask)

    assert weights.shape == (batch, t_q, t_k)
    np.testing.assert_allclose(weights, to_numpy(scores)[:, 0], **TOL)  # (B, heads, T_q, T_k)
    np.testing.assert_allclose(ref.dense(context, *p["output"]), to_numpy(out), rtol=1e-4, atol=1e-4)
    if masked:
        assert np.all(weights[~mask] == 0)
    np.testing.assert_allclose(weights.sum(-1), 1, rtol=1e-6)


def test_attention_with_a_fully_masked_query_gives_zeros_like_keras():
    rng = np.random.default_rng(2)
    q, k, v = rng.standard_normal((1, 3, 4)), rng.standard_normal((1, 5, 4)), rng.standard_normal((1, 5, 2))
    mask = np.ones((1, 3, 5), dtype=bool)
    mask[0, 1] = False
    out, weights = ref.scaled_dot_product_attention(q, k, v, mask=mask)
    assert np.all(np.isfinite(out)) and np.all(weights[0, 1] == 0) and np.all(out[0, 1] == 0)
    np.testing.assert_allclose(weights[0, [0, 2]].sum(-1), 1)
    scores = q @ k.transpose(0, 2, 1) / 2
    keras_weights = to_numpy(keras.layers.Softmax()(scores.astype(np.float32), mask=mask))
    np.testing.assert_allclose(weights, keras_weights, **TOL)


def test_attention_broadcasts_heads_and_accepts_0_1_masks():
    rng = np.random.default_rng(3)
    q, k, v = (rng.standard_normal((2, 3, 4, 5)) for _ in range(3))  # (B, heads, T, d)
    causal = np.tril(np.ones((4, 4)))  # floats, 1 = attend
    out, weights = ref.scaled_dot_product_attention(q, k, v, mask=causal)
    assert out.shape == (2, 3, 4, 5) and weights.shape == (2, 3, 4, 4)
    assert np.all(weights[..., np.triu_indices(4, 1)[0], np.triu_indices(4, 1)[1]] == 0)
    np.testing.assert_allclose(out[..., 0, :], v[..., 0, :])  # the first query sees only key 0


# --------------------------------------------------------------------------
# Softmax


def test_softmax_is_finite_on_huge_inputs():
    x = np.array([[1e4, -1e4, 0.0], [1e4, 1e4, 1e4], [-1e4, -1e4, -1e4]])
    y = ref.softmax(x)
    assert np.all(np.isfinite(y))
    np.testing.assert_allclose(y.sum(-1), 1)
    np.testing.assert_allclose(y[0], [1, 0, 0])
    np.testing.assert_allclose(y[1], 1 / 3)


@few
@given(
    seed=seeds,
    shape=st.lists(st.integers(1, 5), min_size=1, max_size=3),
    scale=st.sampled_from([1.0, 1e3, 1e6, 1e30]),
)
def test_softmax_sums_to_one_and_matches_keras(seed, shape, scale):
    x = np.random.default_rng(seed).standard_normal(shape) * scale
    axis = len(shape) - 1 if seed % 2 else 0
    y = ref.softmax(x, axis=axis)
    assert np.all(np.isfinite(y)) and np.all(y >= 0)
    np.testing.assert_allclose(y.sum(axis), 1, rtol=1e-12)
    np.testing.assert_allclose(ref.softmax(x + 123.0, axis=axis), y, atol=1e-6 if scale < 1e6 else 1)
    if scale == 1.0:
        expected = to_numpy(keras.ops.softmax(x.astype(np.float32), axis=axis))
        np.testing.assert_allclose(y, expected, **TOL)


def test_softmax_masked_entries_get_zero_and_all_masked_rows_get_zeros():
    x = np.array([[0.0, -np.inf, 1.0], [-np.inf, -np.inf, -np.inf]])
    y = ref.softmax(x)
    assert not np.any(np.isnan(y))
    assert y[0, 1] == 0
    np.testing.assert_allclose(y[0, [0, 2]], np.exp([0, 1]) / np.exp([0, 1]).sum())
    np.testing.assert_array_equal(y[1], 0)


# --------------------------------------------------------------------------
# Small helpers


def test_activations():
    x = np.array([-1e4, -2.0, 0.0, 3.0, 1e4])
    np.testing.assert_array_equal(ref.relu(x), [0, 0, 0, 3, 1e4])
    np.testing.assert_allclose(ref.tanh(x), np.tanh(x))
    with np.errstate(over="raise"):
        s = ref.sigmoid(x)
    np.testing.assert_allclose(s, [0, 1 / (1 + np.e**2), 0.5, 1 / (1 + np.e**-3), 1])


@pytest.mark.parametrize(
    "size, kernel, stride, padding, expected",
    [(32, 3, 1, "valid", 30), (32, 3, 1, "same", 32), (32, 3, 2, "same", 16),
     (7, 2, 2, "valid", 3), (7, 2, 2, "same", 4), (2, 3, 1, "valid", 0)],
)
def test_conv_output_size(size, kernel, stride, padding, expected):
    assert ref.conv_output_size(size, kernel, stride, padding) == expected


def test_numeric_gradient_matches_analytic_gradients():
    rng = np.random.default_rng(4)
    x = rng.standard_normal((3, 4))
    np.testing.assert_allclose(ref.numeric_gradient(lambda z: np.sin(z).sum(), x), np.cos(x), atol=1e-8)
    # A dense layer's squared error: d/dW 0.5 * ||xW - t||^2 = x^T (xW - t)
    inputs, target = rng.standard_normal((5, 3)), rng.standard_normal((5, 2))
    w = rng.standard_normal((3, 2))
    w_before = w.copy()
    loss = lambda w_: 0.5 * np.sum((ref.dense(inputs, w_) - target) ** 2)  # noqa: E731
    np.testing.assert_allclose(
        ref.numeric_gradient(loss, w), inputs.T @ (inputs @ w - target), rtol=1e-6, atol=1e-7
    )
    assert np.array_equal(w, w_before)  # the input was not perturbed in place


# --------------------------------------------------------------------------
# Errors: what was expected, what arrived


IMG, K3 = np.zeros((1, 8, 8, 3)), np.zeros((3, 3, 3, 4))


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: ref.conv2d(np.zeros((32, 32, 3)), K3),
         r"conv2d: x must be 4-D \(N, H, W, C_in\), got shape \(32, 32, 3\)"),
        (lambda: ref.conv2d(IMG, np.zeros((3, 3, 4))),
         r"conv2d: kernel must be 4-D \(kh, kw, C_in, C_out\), got shape \(3, 3, 4\)"),
        (lambda: ref.conv2d(IMG, np.zeros((3, 3, 1, 4))),
         r"conv2d: kernel expects C_in=1 .* but x has 3"),
        (lambda: ref.conv2d(IMG, K3, bias=np.zeros(5)),
         r"conv2d: bias must have shape \(4,\) .* got shape \(5,\)"),
        (lambda: ref.conv2d(IMG, K3, stride=0),
         r"conv2d: stride must be a positive integer, got 0"),
        (lambda: ref.conv2d(IMG, K3, stride=(1, 2, 3)), r"conv2d: stride .* got \(1, 2, 3\)"),
        (lambda: ref.conv2d(IMG, K3, padding="full"),
         r"conv2d: padding must be one of 'valid', 'same', got 'full'"),
        (lambda: ref.conv2d(np.zeros((1, 2, 2, 3)), K3),
         r"conv2d: window 3x3 does not fit in the 2x2 input"),
        (lambda: ref._conv2d_loops(np.zeros((8, 8, 3)), K3), r"conv2d: x must be 4-D"),
        (lambda: ref.max_pool2d(np.zeros((8, 8, 3))),
         r"max_pool2d: x must be 4-D \(N, H, W, C\), got shape \(8, 8, 3\)"),
        (lambda: ref.max_pool2d(IMG, pool_size=-2), r"max_pool2d: pool_size .* got -2"),
        (lambda: ref.dense(np.zeros((2, 5)), np.zeros((4, 3)), np.zeros(3)),
         r"dense: x must have shape \(\.\.\., d_in\) with d_in=4 .* got shape \(2, 5\)"),
        (lambda: ref.dense(np.zeros((2, 4)), np.zeros(4), np.zeros(3)),
         r"dense: w must be 2-D \(d_in, d_out\), got shape \(4,\)"),
        (lambda: ref.dense(np.zeros((2, 4)), np.zeros((4, 3)), np.zeros(2)),
         r"dense: b must have shape \(3,\) .* got shape \(2,\)"),
        (lambda: ref.rnn_forward(np.zeros((5, 3)), np.zeros((3, 2)), np.zeros((2, 2)), np.zeros(2)),
         r"rnn_forward: xs must be 3-D \(N, T, d_in\), got shape \(5, 3\)"),
        (lambda: ref.rnn_forward(np.zeros((1, 5, 3)), np.zeros((4, 2)), np.zeros((2, 2)), np.zeros(2)),
         r"rnn_forward: w must have shape \(3, units\) .* got shape \(4, 2\)"),
        (lambda: ref.rnn_forward(np.zeros((1, 5, 3)), np.zeros((3, 2)), np.zeros((3, 3)), np.zeros(2)),
         r"rnn_forward: u must have shape \(2, 2\), got shape \(3, 3\)"),
        (lambda: ref.rnn_forward(np.zeros((1, 5, 3)), np.zeros((3, 2)), np.zeros((2, 2)), np.zeros(3)),
         r"rnn_forward: b must have shape \(2,\), got shape \(3,\)"),
        (lambda: ref.rnn_forward(np.zeros((1, 5, 3)), np.zeros((3, 2)), np.zeros((2, 2)), np.zeros(2),
                                 h0=np.zeros((2, 2))),
         r"rnn_forward: h0 must have shape \(1, 2\), got shape \(2, 2\)"),
        (lambda: ref.scaled_dot_product_attention(np.zeros(4), np.zeros((3, 4)), np.zeros((3, 2))),
         r"scaled_dot_product_attention: q must be at least 2-D \(\.\.\., T_q, d_k\), got shape \(4,\)"),
        (lambda: ref.scaled_dot_product_attention(np.zeros((2, 4)), np.zeros((3, 5)), np.zeros((3, 2))),
         r"q and k must have the same d_k .* got q shape \(2, 4\) and k shape \(3, 5\)"),
        (lambda: ref.scaled_dot_product_attention(np.zeros((2, 4)), np.zeros((3, 4)), np.zeros((6, 2))),
         r"k and v must have the same T_k .* got k shape \(3, 4\) and v shape \(6, 2\)"),
        (lambda: ref.scaled_dot_product_attention(np.zeros((2, 4)), np.zeros((3, 4)), np.zeros((3, 2)),
                                                  mask=np.ones((3, 2), bool)),
         r"mask must be broadcastable to the scores' shape \(2, 3\) .* got shape \(3, 2\)"),
        (lambda: ref.softmax(np.array([1.0, np.nan])), r"softmax: x must not contain NaN or \+inf"),
        (lambda: ref.softmax(np.zeros((2, 3)), axis=2), r"softmax: axis must be in \[-2, 1\], got 2"),
        (lambda: ref.softmax(np.array(["a", "b"])), r"softmax: x must be a numeric array, got dtype <U1"),
        (lambda: ref.conv_output_size(32, 0), r"conv_output_size: kernel must be a positive integer, got 0"),
        (lambda: ref.numeric_gradient(lambda z: z.sum(), np.zeros(2), eps=0), r"numeric_gradient: eps must be in \(0, inf\)"),
        (lambda: ref.numeric_gradient(lambda z: z, np.zeros(2)),
         r"numeric_gradient: f must return a scalar, got an array of shape \(2,\)"),
    ],
)
def test_bad_inputs_raise_value_errors_that_say_what_was_expected(call, message):
    with pytest.raises(ValueError, match=message) as raised:
        call()
    assert type(raised.value) is ValueError


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: ref.max_pool2d(IMG, padding=None), "max_pool2d: padding must be one of 'valid', 'same', got NoneType None"),
        (lambda: ref.conv2d(IMG, K3, stride=1.5), r"conv2d: stride must be a positive integer or a pair, .* got float 1.5"),
        (lambda: ref.conv_output_size(32.0, 3), "conv_output_size: size must be a positive integer, got float 32.0"),
        (lambda: ref.softmax(np.zeros(3), axis=0.0), "softmax: axis must be an integer, got float 0.0"),
        (lambda: ref.rnn_forward(np.zeros((1, 5, 3)), np.zeros((3, 2)), np.zeros((2, 2)), np.zeros(2), activation="tanh"),
         "rnn_forward: activation must be a function of an array, got str 'tanh'"),
        (lambda: ref.numeric_gradient(None, np.zeros(2)), "numeric_gradient: f must be a function of one array, got NoneType None"),
        (lambda: ref.numeric_gradient(np.sum, np.zeros(2), eps="1e-6"), "numeric_gradient: eps must be a number, got str '1e-6'"),
    ],
)
def test_arguments_of_the_wrong_kind_raise_type_errors_that_say_what_was_expected(call, message):
    with pytest.raises(TypeError, match=message):
        call()


def test_reference_does_not_import_tensorflow():
    code = "import cvtutor.reference, sys; assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
