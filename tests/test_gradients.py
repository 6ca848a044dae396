"""cvtutor.gradients: the hand-derived backward passes equal tf.GradientTape's gradients of the Keras
layers they stand for, and central finite differences of the NumPy forward passes."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from cvtutor import gradients as gr
from cvtutor import reference as ref


def _tape(layer, x, dy):
    """GradientTape's gradients of sum(layer(x) * dy), whose gradient wrt the output is dy."""
    x = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(x)
        loss = tf.reduce_sum(layer(x) * dy)
    dx, *weights = tape.gradient(loss, [x, *layer.trainable_weights])
    return [g.numpy() for g in (dx, *weights)]


@pytest.mark.parametrize("n, d_in, d_out", [(4, 5, 3), (1, 1, 1), (7, 16, 10)])
def test_dense_backward_is_gradient_tapes(n, d_in, d_out):
    rng = np.random.default_rng(n)
    x = rng.normal(size=(n, d_in)).astype(np.float32)
    layer = keras.layers.Dense(d_out, bias_initializer="random_normal")
    layer.build((None, d_in))
    dy = rng.normal(size=(n, d_out)).astype(np.float32)
    for mine, tape in zip(gr.dense_backward(x, layer.kernel.numpy(), dy), _tape(layer, x, dy)):
        assert mine.shape == tape.shape
        np.testing.assert_allclose(mine, tape, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("shape, kernel, stride, padding", [
    ((2, 7, 7, 3), (3, 3), 1, "valid"),
    ((2, 8, 8, 2), (3, 3), 2, "same"),
    ((1, 9, 6, 2), (2, 3), (2, 1), "valid"),
    ((3, 5, 5, 1), (5, 5), 1, "same"),
    ((1, 6, 7, 4), (1, 1), 3, "same"),
])
def test_conv2d_backward_is_gradient_tapes(shape, kernel, stride, padding):
    rng = np.random.default_rng(sum(shape))
    x = rng.normal(size=shape).astype(np.float32)
    layer = keras.layers.Conv2D(3, kernel, strides=stride, padding=padding, bias_initializer="random_normal")
    y = layer(x)
    dy = rng.normal(size=y.shape).astype(np.float32)
    mine = gr.conv2d_backward(x, layer.kernel.numpy(), dy, stride=stride, padding=padding)
    for a, b in zip(mine, _tape(layer, x, dy)):
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_conv2d_backward_is_finite_differences():
    rng = np.random.default_rng(0)
    x, kernel, bias = rng.normal(size=(2, 6, 5, 2)), rng.normal(size=(3, 2, 2, 3)), rng.normal(size=3)
    dy = rng.normal(size=ref.conv2d(x, kernel, bias, stride=2, padding="same").shape)

    def loss(x=x, kernel=kernel, bias=bias):
        return float(np.sum(ref.conv2d(x, kernel, bias, stride=2, padding="same") * dy))

    dx, dk, db = gr.conv2d_backward(x, kernel, dy, stride=2, padding="same")
    np.testing.assert_allclose(dx, ref.numeric_gradient(lambda v: loss(x=v), x), rtol=1e-7, atol=1e-8)
    np.testing.assert_allclose(dk, ref.numeric_gradient(lambda v: loss(kernel=v), kernel), rtol=1e-7, atol=1e-8)
    np.testing.assert_allclose(db, ref.numeric_gradient(lambda v: loss(bias=v), bias), rtol=1e-7, atol=1e-8)


def test_softmax_cross_entropy_and_its_gradient_are_keras():
    rng = np.random.default_rng(1)
    logits = rng.normal(size=(6, 4)) * 3
    labels = rng.integers(0, 4, 6)
    keras_loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    z = tf.constant(logits)
    with tf.GradientTape() as tape:
        tape.watch(z)
        loss = keras_loss(labels, z)
    assert gr.softmax_cross_entropy(logits, labels) == pytest.approx(float(loss), rel=1e-6)
    grad = gr.softmax_cross_entropy_backward(logits, labels)
    np.testing.assert_allclose(grad, tape.gradient(loss, z).numpy(), rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(grad.sum(axis=1), 0, atol=1e-12)
    np.testing.assert_allclose(
        grad, ref.numeric_gradient(lambda v: gr.softmax_cross_entropy(v, labels), logits), atol=1e-8)
    assert np.isfinite(gr.softmax_cross_entropy(np.array([[1e4, -1e4]]), np.array([1])))


def test_bad_arguments_name_the_argument():
    with pytest.raises(ValueError, match="dense_backward: w must have 3 rows to match x's d_in, got shape"):
        gr.dense_backward(np.ones((2, 3)), np.ones((4, 5)), np.ones((2, 5)))
    with pytest.raises(ValueError, match=r"dense_backward: dy must have the forward output's shape \(2, 5\), "
                                         r"got shape \(5, 2\)"):
        gr.dense_backward(np.ones((2, 3)), np.ones((3, 5)), np.ones((5, 2)))
    with pytest.raises(ValueError, match=r"conv2d_backward: dy must have the forward output's shape \(1, 3, 3, 2\)"):
        gr.conv2d_backward(np.ones((1, 5, 5, 1)), np.ones((3, 3, 1, 2)), np.ones((1, 5, 5, 2)))
    with pytest.raises(ValueError, match="conv2d: padding must be one of 'valid', 'same', got 'full'"):
        gr.conv2d_backward(np.ones((1, 5, 5, 1)), np.ones((3, 3, 1, 2)), np.ones((1, 3, 3, 2)), padding="full")
    with pytest.raises(TypeError, match="stride"):
        gr.conv2d_backward(np.ones((1, 5, 5, 1)), np.ones((3, 3, 1, 2)), np.ones((1, 3, 3, 2)), stride=1.5)
    with pytest.raises(ValueError, match=r"labels must be in \[0, 2\], got values from 0 to 3"):
        gr.softmax_cross_entropy(np.zeros((2, 3)), np.array([0, 3]))
    with pytest.raises(ValueError, match=r"labels must be 2 integer class indices, shape \(2,\), got dtype float64"):
        gr.softmax_cross_entropy_backward(np.zeros((2, 3)), np.array([0.0, 1.0]))
