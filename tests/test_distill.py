"""cvtutor.distill: the Distiller's loss, its training, and the frozen teacher."""

import keras
import numpy as np
import pytest

from cvtutor.distill import Distiller
from cvtutor.training import set_seed

CLASSES, FEATURES = 4, 12
_np = keras.ops.convert_to_numpy


def _task(n=64, seed=0):
    """Random inputs whose label is the argmax of a fixed linear map: learnable by a linear student."""
    rng = np.random.default_rng(seed)
    w = rng.normal(size=(FEATURES, CLASSES)).astype("float32")
    x = rng.normal(size=(n, FEATURES)).astype("float32")
    return x, (x @ w).argmax(1).astype("int32"), w


def _linear(name, kernel=None, seed=1):
    """A one-layer logits model; zeros initializer, weights from NumPy (one JAX compile per shape)."""
    inputs = keras.Input((FEATURES,))
    logits = keras.layers.Dense(CLASSES, kernel_initializer="zeros", name="logits")(inputs)
    model = keras.Model(inputs, logits, name=name)
    if kernel is None:
        kernel = np.random.default_rng(seed).normal(scale=0.1, size=(FEATURES, CLASSES)).astype("float32")
    model.set_weights([kernel, np.zeros(CLASSES, "float32")])
    return model


def _softmax(z):
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


@pytest.mark.backend
def test_loss_is_the_documented_mix():
    x, y, w = _task(16)
    teacher, student = _linear("teacher", 2 * w), _linear("student")
    distiller = Distiller(teacher, student)
    distiller.compile(keras.optimizers.SGD(0.1), alpha=0.3, temperature=2.0)
    s, t = _np(student(x)), _np(teacher(x))
    hard = -np.log(_softmax(s)[np.arange(len(y)), y]).mean()
    p, q = _softmax(t / 2.0), _softmax(s / 2.0)
    kl = (p * np.log(p / q)).sum(1).mean()
    expected = 0.3 * hard + 0.7 * kl * 2.0**2
    assert np.isclose(float(_np(distiller.compute_loss(x, y, distiller(x)))), expected, rtol=1e-5)


@pytest.mark.backend
def test_student_learns_and_teacher_stays_bit_identical():
    set_seed(0)
    x, y, w = _task(64)
    teacher, student = _linear("teacher", 3 * w), _linear("student")
    before = [_np(v).copy() for v in teacher.weights]
    distiller = Distiller(teacher, student)
    distiller.compile(keras.optimizers.Adam(0.05), metrics=["accuracy"], alpha=0.1, temperature=3)
    history = distiller.fit(x, y, batch_size=16, epochs=4, shuffle=False, verbose=0).history
    assert history["loss"][-1] < 0.5 * history["loss"][0]
    assert teacher.trainable is False
    assert [id(v) for v in distiller.trainable_weights] == [id(v) for v in student.trainable_weights]
    assert all(np.array_equal(b, _np(v)) for b, v in zip(before, teacher.weights))
    # Calling, predicting and evaluating measure the student.
    assert np.allclose(distiller.predict(x, verbose=0), _np(student(x)), atol=1e-6)
    assert distiller.evaluate(x, y, verbose=0, return_dict=True)["accuracy"] > 0.5


@pytest.mark.backend
def test_alpha_one_is_plain_training():
    x, y, w = _task(32)
    plain, student = _linear("plain", seed=5), _linear("student", seed=5)
    plain.compile(keras.optimizers.SGD(0.1), keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    distiller = Distiller(_linear("teacher", w), student)
    distiller.compile(keras.optimizers.SGD(0.1), alpha=1.0)
    fit = dict(batch_size=8, epochs=2, shuffle=False, verbose=0)
    expected, got = plain.fit(x, y, **fit).history["loss"], distiller.fit(x, y, **fit).history["loss"]
    np.testing.assert_allclose(got, expected, rtol=1e-6)
    for a, b in zip(plain.weights, student.weights):
        np.testing.assert_allclose(_np(b), _np(a), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"alpha": 1.5}, ValueError, r"alpha must be in \[0, 1\], got 1.5"),
        ({"alpha": -0.1}, ValueError, r"alpha must be in \[0, 1\], got -0.1"),
        ({"alpha": True}, TypeError, "alpha must be a number, got bool True"),
        ({"temperature": 0}, ValueError, r"temperature must be in \(0, inf\), got 0.0"),
        ({"temperature": "3"}, TypeError, "temperature must be a number, got str '3'"),
    ],
)
@pytest.mark.backend
def test_compile_rejects_bad_hyperparameters(kwargs, error, message):
    distiller = Distiller(_linear("teacher"), _linear("student"))
    with pytest.raises(error, match=message):
        distiller.compile("sgd", **kwargs)


@pytest.mark.backend
def test_rejects_non_models_and_mismatched_logits():
    with pytest.raises(TypeError, match="teacher must be a keras.Model returning logits, got str 'teacher.keras'"):
        Distiller("teacher.keras", _linear("student"))
    inputs = keras.Input((FEATURES,))
    wide = keras.Model(inputs, keras.layers.Dense(CLASSES + 1, kernel_initializer="zeros")(inputs))
    with pytest.raises(ValueError, match=r"same number of logits.*\(None, 5\).*\(None, 4\)"):
        Distiller(wide, _linear("student"))
