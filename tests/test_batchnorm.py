"""cvtutor.batchnorm: after a short run the stored BatchNorm statistics lag the weights; recomputing them fixes it."""

import keras
import numpy as np
import pytest

from cvtutor.batchnorm import batchnorm_layers, recompute_batchnorm_statistics


def _data(n=1024, seed=0):
    """Two classes that differ in brightness on a large offset: BatchNorm's input mean is far from 0."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    x = rng.normal(0, 1, (n, 4, 4, 1)).astype("float32") + 40.0 + 2.0 * y[:, None, None, None]
    return x, y


def _model():
    inputs = keras.Input((4, 4, 1))
    h = keras.layers.Conv2D(8, 3, padding="same")(inputs)
    h = keras.layers.BatchNormalization()(h)  # Keras's default momentum, 0.99
    h = keras.layers.ReLU()(h)
    h = keras.layers.GlobalAveragePooling2D()(h)
    model = keras.Model(inputs, keras.layers.Dense(2)(h))
    model.compile(keras.optimizers.Adam(0.01), keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    return model


@pytest.fixture(scope="module")
def short_run():
    keras.utils.set_random_seed(0)
    x, y = _data()
    model = _model()
    history = model.fit(x, y, batch_size=32, epochs=1, verbose=0)  # 32 steps
    return model, x, y, history.history["accuracy"][-1]


@pytest.mark.backend
def test_a_short_run_shows_the_gap_and_recomputing_closes_it(short_run):
    model, x, y, train_accuracy = short_run
    stored = model.evaluate(x, y, verbose=0)[1]
    weights = [w.copy() for w in model.get_weights()]
    trainable = [w.numpy().copy() for w in model.trainable_weights]
    assert stored < 0.65 < train_accuracy, (stored, train_accuracy)  # the artefact: far below training accuracy

    assert recompute_batchnorm_statistics(model, x, batch_size=32) == 32
    recomputed = model.evaluate(x, y, verbose=0)[1]
    assert recomputed > 0.95, recomputed
    for before, after in zip(trainable, model.trainable_weights):
        np.testing.assert_array_equal(before, after.numpy())  # only the statistics changed
    assert any(not np.array_equal(a, b) for a, b in zip(weights, model.get_weights()))


@pytest.mark.backend
def test_statistics_are_the_mean_of_the_batch_statistics():
    x, _ = _data(96)
    inputs = keras.Input((4, 4, 1))
    bn = keras.layers.BatchNormalization(momentum=0.99)
    model = keras.Model(inputs, bn(inputs))
    assert recompute_batchnorm_statistics(model, x, batch_size=32) == 3
    batches = x.reshape(3, 32, 4, 4, 1)
    np.testing.assert_allclose(bn.moving_mean.numpy(), batches.mean(axis=(1, 2, 3)).mean(axis=0), rtol=1e-5)
    np.testing.assert_allclose(bn.moving_variance.numpy(), batches.var(axis=(1, 2, 3)).mean(axis=0), rtol=1e-4)
    assert bn.momentum == 0.99  # restored


@pytest.mark.backend
def test_uint8_images_are_scaled_and_max_batches_limits_the_passes():
    x = np.full((64, 4, 4, 1), 255, dtype=np.uint8)
    inputs = keras.Input((4, 4, 1))
    bn = keras.layers.BatchNormalization()
    model = keras.Model(inputs, bn(inputs))
    assert recompute_batchnorm_statistics(model, x, batch_size=16, max_batches=2) == 2
    np.testing.assert_allclose(bn.moving_mean.numpy(), [1.0], rtol=1e-6)  # 255 -> 1.0, as make_dataset scales


@pytest.mark.backend
def test_frozen_and_nested_layers():
    inner_in = keras.Input((4, 4, 1))
    frozen, live = keras.layers.BatchNormalization(), keras.layers.BatchNormalization()
    inner = keras.Model(inner_in, frozen(inner_in))
    frozen.trainable = False
    outer_in = keras.Input((4, 4, 1))
    model = keras.Model(outer_in, live(inner(outer_in)))
    assert batchnorm_layers(model) == [frozen, live]
    x, _ = _data(64)
    recompute_batchnorm_statistics(model, x)
    np.testing.assert_array_equal(frozen.moving_mean.numpy(), [0.0])  # frozen: left as it was
    assert live.moving_mean.numpy()[0] > 30
    assert recompute_batchnorm_statistics(keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)]), np.ones((4, 3))) == 0


@pytest.mark.parametrize("kwargs, error, message", [
    ({"images": np.ones(4)}, ValueError, "shape"),
    ({"images": np.ones((0, 4, 4, 1))}, ValueError, "N >= 1"),
    ({"batch_size": 0}, ValueError, "batch_size must be a positive integer, got 0"),
    ({"batch_size": None}, TypeError, "batch_size must be a positive integer, got NoneType None"),
    ({"max_batches": 1.5}, TypeError, "max_batches must be a positive integer, got float 1.5"),
    ({"max_batches": -1}, ValueError, "max_batches must be a positive integer, got -1"),
])
@pytest.mark.backend
def test_bad_arguments_are_one_clear_error(kwargs, error, message):
    model = keras.Sequential([keras.Input((4, 4, 1)), keras.layers.BatchNormalization()])
    args = {"images": np.ones((8, 4, 4, 1), dtype="float32"), **kwargs}
    with pytest.raises(error, match=message):
        recompute_batchnorm_statistics(model, **args)
