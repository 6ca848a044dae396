"""cvtutor.regularisation: dropout, the L2 penalty and decoupled weight decay equal to Keras; the
measures of a run and of an effect over seeds."""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from cvtutor import regularisation as reg
from cvtutor.models import build_cnn
from cvtutor.optimizers import adam_step
from cvtutor.recipes import get_recipe


@pytest.mark.parametrize("rate", [0.0, 0.25, 0.5, 0.8])
def test_inverted_dropout_keeps_the_expectation_as_keras_dropout_does(rate):
    x = np.linspace(-2.0, 3.0, 12).reshape(3, 4)
    rng = np.random.default_rng(0)
    draws = np.stack([reg.inverted_dropout(x, rate, rng) for _ in range(4000)])
    # every value is 0 or x / (1 - rate)
    assert np.all(np.isclose(draws, 0.0) | np.isclose(draws, x / (1 - rate)))
    # mean within 5 standard errors: sd of one draw is |x| sqrt(rate / (1 - rate))
    bound = 5 * np.abs(x) * math.sqrt(rate / (1 - rate)) / math.sqrt(len(draws)) + 1e-12
    assert np.all(np.abs(draws.mean(axis=0) - x) <= bound)
    keras.utils.set_random_seed(0)
    layer = keras.layers.Dropout(rate)
    # 4,000 independent draws in one call: the mask is drawn per value
    many = np.broadcast_to(x.astype("float32"), (4000, *x.shape))
    keras_draws = keras.ops.convert_to_numpy(layer(many, training=True)).astype(float)
    assert np.all(np.isclose(keras_draws, 0.0, atol=1e-6) | np.isclose(keras_draws, x / (1 - rate), rtol=1e-5))
    assert np.all(np.abs(keras_draws.mean(axis=0) - x) <= bound + 1e-5)
    # the share dropped is the rate
    assert abs(np.mean(np.isclose(draws, 0.0) & (x != 0)) - rate) < 0.02
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(layer(x.astype("float32"), training=False)),
                                  x.astype("float32"))


def test_inverted_dropout_rejects_bad_arguments():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="rate"):
        reg.inverted_dropout(np.ones(3), 1.0, rng)
    with pytest.raises(TypeError, match="rate"):
        reg.inverted_dropout(np.ones(3), "0.5", rng)
    with pytest.raises(TypeError, match="rng"):
        reg.inverted_dropout(np.ones(3), 0.5, 0)


def _dense_problem():
    keras.utils.set_random_seed(1)
    rng = np.random.default_rng(1)
    x = rng.normal(size=(16, 5)).astype("float32")
    labels = rng.integers(0, 3, size=16)
    return x, labels


def _tape_grads(model, x, labels, with_penalty):
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    with tf.GradientTape() as tape:
        loss = loss_fn(labels, model(x))
        if with_penalty:
            loss = loss + tf.add_n(model.losses)
    return [g.numpy() for g in tape.gradient(loss, model.trainable_weights)]


def test_adam_l2_step_equals_keras_with_l2_regularizers():
    x, labels = _dense_problem()
    l2 = 0.05
    model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(
        3, kernel_regularizer=keras.regularizers.L2(l2), bias_regularizer=keras.regularizers.L2(l2),
        bias_initializer="random_normal")])
    params, state = [w.numpy() for w in model.trainable_weights], None
    model(x)
    np.testing.assert_allclose(sum(float(v) for v in model.losses), l2 * sum(np.sum(w**2) for w in params),
                               rtol=1e-5)
    optimizer = keras.optimizers.Adam(0.01)
    for _ in range(3):
        grads = _tape_grads(model, x, labels, with_penalty=True)  # the penalty of the current weights
        plain = _tape_grads(model, x, labels, with_penalty=False)  # the loss's gradient alone
        optimizer.apply(grads, model.trainable_weights)
        params, state = reg.adam_l2_step(params, plain, state, learning_rate=0.01, l2=l2)
        for mine, variable in zip(params, model.trainable_weights):
            np.testing.assert_allclose(mine, variable.numpy(), rtol=1e-5, atol=1e-7)


def test_adamw_step_equals_keras_adamw_and_adam_weight_decay():
    x, labels = _dense_problem()
    model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(3, bias_initializer="random_normal")])
    start = [w.numpy() for w in model.trainable_weights]
    for optimizer in (keras.optimizers.AdamW(0.01, weight_decay=0.1), keras.optimizers.Adam(0.01, weight_decay=0.1)):
        model.set_weights(start)
        params, state = [w.copy() for w in start], None
        for _ in range(3):
            grads = _tape_grads(model, x, labels, with_penalty=False)
            optimizer.apply(grads, model.trainable_weights)
            params, state = reg.adamw_step(params, grads, state, learning_rate=0.01, weight_decay=0.1)
            for mine, variable in zip(params, model.trainable_weights):
                np.testing.assert_allclose(mine, variable.numpy(), rtol=1e-5, atol=1e-7)


def test_decoupled_decay_differs_from_the_l2_penalty_under_adam():
    w = [np.array([1.0, 1.0])]
    g = [np.array([1e-3, 10.0])]  # a small and a large gradient
    coupled, _ = reg.adam_l2_step(w, g, learning_rate=0.1, l2=0.05)
    decoupled, _ = reg.adamw_step(w, g, learning_rate=0.1, weight_decay=0.1)
    # with no decay the first step moves each weight by about lr
    plain, _ = adam_step(w, g, learning_rate=0.1)
    # decoupled: both weights shrink by lr * wd * w = 0.01 beyond the plain step
    np.testing.assert_allclose(plain[0] - decoupled[0], [0.01, 0.01], rtol=1e-6)
    # coupled: the small-gradient weight's step is dominated by the penalty and Adam normalises it
    assert not np.allclose(plain[0] - coupled[0], [0.01, 0.01], rtol=1e-2)


def test_weight_decay_steps_reject_bad_arguments():
    with pytest.raises(ValueError, match="l2"):
        reg.adam_l2_step([np.ones(2)], [np.ones(2)], l2=-1.0)
    with pytest.raises(ValueError, match="weight_decay"):
        reg.adamw_step([np.ones(2)], [np.ones(2)], weight_decay=-0.1)
    with pytest.raises(ValueError, match="grads"):
        reg.adamw_step([np.ones(2)], [np.ones(3)])
    with pytest.raises(TypeError, match="l2"):
        reg.adam_l2_step([np.ones(2)], [np.ones(2)], l2="0.1")


def test_build_cnn_dropout_adds_two_layers_and_no_parameters():
    plain, dropped = build_cnn(), build_cnn(dropout=0.3)
    assert plain.count_params() == dropped.count_params() == 122_570
    rates = [layer.rate for layer in dropped.layers if isinstance(layer, keras.layers.Dropout)]
    assert rates == [0.3, 0.3]
    assert not any(isinstance(layer, keras.layers.Dropout) for layer in plain.layers)
    with pytest.raises(ValueError, match="dropout"):
        build_cnn(dropout=1.0)
    recipe = get_recipe("cnn-adam").replace(model_args={"dropout": 0.3})
    assert recipe.build().count_params() == 122_570


def test_seed_effect_pairs_by_seed():
    mean, se = reg.seed_effect([50.0, 52.0, 54.0], [51.0, 54.0, 57.0])
    assert mean == pytest.approx(2.0)
    assert se == pytest.approx(1.0 / math.sqrt(3))
    mean, se = reg.seed_effect([50.0], [49.0])
    assert mean == -1.0 and math.isnan(se)
    with pytest.raises(ValueError, match="one value per seed"):
        reg.seed_effect([1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match="finite"):
        reg.seed_effect([1.0], [float("nan")])


def test_difference_noise():
    assert reg.difference_noise(0.5, 10_000) == pytest.approx(100 * 2 * math.sqrt(0.5 / 10_000))
    assert reg.difference_noise(0.0, 100) == 0.0
    with pytest.raises(ValueError, match="accuracy"):
        reg.difference_noise(1.5, 100)
    with pytest.raises(TypeError, match="test_images"):
        reg.difference_noise(0.5, 10.5)


def test_run_measure_gap():
    run = reg.RunMeasure("cnn-adam", 0, 0.9, 0.5, 0.45, 10, 1.0)
    assert run.gap == pytest.approx(45.0)


def test_measure_run_on_a_tiny_set_reports_all_three_accuracies():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, size=(120, 32, 32, 3), dtype=np.uint8)
    y = np.arange(120) % 10
    recipe = get_recipe("cnn-adam").replace(epochs=3, batch_size=32)
    stop = keras.callbacks.EarlyStopping(monitor="val_loss", patience=1, restore_best_weights=True)
    run = reg.measure_run(recipe, (x, y), (x[:40], y[:40]), seed=0, callbacks=[stop])
    assert run.recipe == "cnn-adam" and run.seed == 0
    assert 1 <= run.epochs_run <= 3 and len(run.history["loss"]) == run.epochs_run
    for value in (run.train_accuracy, run.validation_accuracy, run.test_accuracy):
        assert 0.0 <= value <= 1.0
