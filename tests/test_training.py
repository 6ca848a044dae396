"""Seeding, compiling for logits, fitting and the result record."""

import json

import keras
import numpy as np
import pytest
from cifar_fakes import make_images

from cvtutor.data import split_validation
from cvtutor.losses import SmoothedSparseCrossentropy
from cvtutor.models import build_cnn
from cvtutor.prediction import predict_logits
from cvtutor.training import (
    TrainResult,
    compile_model,
    fit,
    set_seed,
    warmup_cosine_adam,
    warmup_cosine_schedule,
)


def first_step_weights(seed):
    set_seed(seed)
    model = compile_model(build_cnn())
    x, y = make_images(32, seed=0)
    model.train_on_batch(x.astype("float32") / 255, y)
    return [w.numpy() if hasattr(w, "numpy") else np.asarray(w) for w in model.weights]


def test_seeding_twice_gives_identical_first_step_weights():
    a, b, c = first_step_weights(1), first_step_weights(1), first_step_weights(2)
    assert all(np.array_equal(u, v) for u, v in zip(a, b))
    assert not all(np.array_equal(u, v) for u, v in zip(a, c))


def test_compile_uses_the_loss_for_logits():
    model = compile_model(build_cnn())
    assert isinstance(model.loss, keras.losses.SparseCategoricalCrossentropy)
    assert model.loss.get_config()["from_logits"] is True


def test_fit_trains_evaluates_and_records(tmp_path):
    set_seed(0)
    x, y = _stripes(400)
    model = compile_model(build_cnn())
    result = fit(model, (x[:300], y[:300]), (x[300:], y[300:]), epochs=3, batch_size=32, verbose=0)
    assert isinstance(result, TrainResult)
    assert result.params == 122_570 and result.epochs == 3 and result.test_size == 100
    assert result.train_size + result.validation_size == 300 and result.validation_size == pytest.approx(30, abs=10)
    assert result.history["loss"][-1] < result.history["loss"][0]
    assert result.train_seconds > 0 and 0.0 <= result.test_accuracy <= 1.0
    logits = predict_logits(model, x[300:])
    assert logits.shape == (100, 10)
    assert np.isclose((logits.argmax(1) == y[300:]).mean(), result.test_accuracy)
    result.to_json(tmp_path / "r.json")
    assert json.loads((tmp_path / "r.json").read_text())["params"] == 122_570


def test_fit_validates_on_held_out_training_images_and_never_on_the_test_set():
    set_seed(0)
    x, y = _stripes(330)
    # Test labels that are all wrong, to tell the validation figures apart from the test figures.
    wrong = (y[300:] + 1) % 10
    model = compile_model(build_cnn())
    result = fit(model, (x[:300], y[:300]), (x[300:], wrong), epochs=2, batch_size=32, verbose=0)
    (_, _), (x_val, y_val) = split_validation(x[:300], y[:300])
    assert result.validation_size == len(y_val) and result.train_size == 300 - len(y_val)
    assert len(result.history["val_accuracy"]) == 2
    assert np.isclose(result.test_accuracy, (predict_logits(model, x[300:]).argmax(1) == wrong).mean())
    right = int((predict_logits(model, x_val).argmax(1) == y_val).sum())
    assert np.isclose(result.validation_accuracy, right / len(y_val))
    assert np.isclose(result.history["val_accuracy"][-1], right / len(y_val))  # no batch norm: same model
    assert result.to_dict()["validation_accuracy"] == result.validation_accuracy


def test_fit_validates_on_a_given_set_or_none():
    set_seed(0)
    x, y = _stripes(60)
    given = fit(compile_model(build_cnn()), (x[:40], y[:40]), (x[40:], y[40:]), epochs=1, verbose=0,
                validation=(x[40:50], y[40:50]))
    assert given.train_size == 40 and given.validation_size == 10
    none = fit(compile_model(build_cnn()), (x[:40], y[:40]), (x[40:], y[40:]), epochs=1, verbose=0,
               validation_split=0)
    assert none.train_size == 40 and none.validation_size == 0 and none.validation_accuracy is None
    assert "val_accuracy" not in none.history and 0 <= none.test_accuracy <= 1


def _batchnorm_model():
    inputs = keras.Input((8, 8, 1))
    x = keras.layers.BatchNormalization(name="bn")(inputs)  # Keras's default momentum, 0.99
    model = keras.Model(inputs, keras.layers.Dense(2)(keras.layers.Flatten()(x)))
    return compile_model(model)


@pytest.mark.parametrize("statistics", ["recompute", "moving"])
def test_fit_recomputes_batchnorm_statistics_after_training_unless_asked_not_to(statistics):
    """After 2 steps Keras's running mean holds 2% of the data's mean; recomputed, all of it."""
    set_seed(0)
    x = np.random.default_rng(0).integers(150, 250, (64, 8, 8, 1), dtype=np.uint8)
    y = np.arange(64) % 2
    model = _batchnorm_model()
    result = fit(model, (x, y), (x[:8], y[:8]), epochs=1, batch_size=32, verbose=0, batchnorm_statistics=statistics,
                 validation_split=0)
    moving_mean = float(model.get_layer("bn").moving_mean.numpy()[0])
    data_mean = x.mean() / 255  # make_dataset scales pixels to [0, 1]
    if statistics == "recompute":
        assert result.batchnorm_batches == 2
        assert moving_mean == pytest.approx(data_mean, rel=1e-5)
    else:
        assert result.batchnorm_batches == 0
        assert moving_mean < 0.05 * data_mean
    assert result.to_dict()["batchnorm_batches"] == result.batchnorm_batches


def test_fit_leaves_models_without_batchnorm_alone():
    x, y = make_images(8, seed=0)
    model = compile_model(build_cnn())
    assert fit(model, (x, y), (x, y), epochs=1, verbose=0).batchnorm_batches == 0


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"epochs": 0}, "epochs must be a positive integer"),
        ({"epochs": 1, "train": (np.zeros((4, 32, 32, 3), np.float32), np.zeros(4, int))}, "uint8"),
        ({"epochs": 1, "test": (np.zeros((4, 32, 32, 3), np.uint8), np.zeros(3, int))}, r"shape \(4,\)"),
        ({"epochs": 1, "train": np.zeros(3)}, "pair"),
        ({"epochs": 1, "validation_split": 1}, r"validation fraction must be a float in \[0, 1\), got 1"),
        ({"epochs": 1, "validation_split": -0.1}, "got -0.1"),
        ({"epochs": 1, "validation": (np.zeros((4, 32, 32, 3), np.uint8), np.zeros(5, int))}, "validation labels"),
        ({"epochs": 1, "batchnorm_statistics": "train"},
         "batchnorm_statistics must be one of 'recompute', 'moving', got 'train'"),
        ({"epochs": 1, "pipeline": "numpy"}, "pipeline must be one of 'tf.data', 'arrays', got 'numpy'"),
    ],
)
def test_fit_rejects_bad_arguments(kwargs, message):
    x, y = make_images(8, seed=0)
    arguments = {"train": (x, y), "test": (x, y)} | kwargs
    with pytest.raises(ValueError, match=message):
        fit(compile_model(build_cnn()), arguments.pop("train"), arguments.pop("test"), **arguments)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"epochs": 1.0}, "epochs must be a positive integer, got float 1.0"),
        ({"epochs": 1, "train": 3}, r"train must be a pair \(images, labels\), got int"),
        ({"epochs": 1, "pipeline": None}, "pipeline must be one of 'tf.data', 'arrays', got NoneType None"),
        ({"epochs": 1, "validation_split": "0.1"}, r"validation fraction must be a float in \[0, 1\), got str"),
    ],
)
def test_fit_rejects_arguments_of_the_wrong_kind_with_a_type_error(kwargs, message):
    x, y = make_images(8, seed=0)
    arguments = {"train": (x, y), "test": (x, y)} | kwargs
    with pytest.raises(TypeError, match=message):
        fit(None, arguments.pop("train"), arguments.pop("test"), **arguments)


def test_set_seed_rejects_negative():
    with pytest.raises(ValueError, match=r"seed must be in \[0, inf\), got -1"):
        set_seed(-1)
    with pytest.raises(TypeError, match="seed must be an integer, got float 1.0"):
        set_seed(1.0)


# The fast CNN recipe ------------------------------------------------------------


def _stripes(n, seed=3):
    """Learnable images: the class is the brightest of ten vertical stripes."""
    x, _ = make_images(n, seed=seed)
    x = (x // 4).astype(np.uint8)
    y = np.arange(n) % 10
    for i, label in enumerate(y):
        x[i, :, label * 3 : label * 3 + 3] = 255
    return x, y


@pytest.mark.parametrize("smoothing", [0.0, 0.2])
def test_smoothed_sparse_crossentropy_equals_keras_categorical(smoothing):
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(6, 5)).astype("float32") * 3
    labels = rng.integers(0, 5, 6)
    ours = SmoothedSparseCrossentropy(smoothing)(labels, logits)
    theirs = keras.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=smoothing)(np.eye(5)[labels], logits)
    np.testing.assert_allclose(float(ours), float(theirs), rtol=1e-5)
    # Labels shaped (N, 1), as some pipelines yield them, give the same loss.
    np.testing.assert_allclose(float(SmoothedSparseCrossentropy(smoothing)(labels[:, None], logits)), float(ours), rtol=1e-6)


@pytest.mark.parametrize("smoothing, error", [(-0.1, ValueError), (1.0, ValueError), ("0.1", TypeError),
                                              (True, TypeError)])
def test_smoothed_sparse_crossentropy_rejects_bad_smoothing(smoothing, error):
    with pytest.raises(error, match=r"label_smoothing must be a float in \[0, 1\), got"):
        SmoothedSparseCrossentropy(smoothing)


def test_one_cycle_schedule_rises_then_falls_to_zero():
    schedule = warmup_cosine_schedule(100, peak_learning_rate=0.4, warmup_fraction=0.25)
    rates = [float(schedule(step)) for step in (0, 10, 25, 60, 100)]
    assert rates[0] == pytest.approx(0.0, abs=1e-7)
    assert rates[1] == pytest.approx(0.16, rel=1e-5)  # linear warm-up: 10/25 of 0.4
    assert rates[2] == pytest.approx(0.4, rel=1e-5)
    assert 0.0 < rates[3] < 0.4 and rates[4] == pytest.approx(0.0, abs=1e-6)
    with pytest.raises(ValueError, match="steps must be a positive integer, got 0"):
        warmup_cosine_schedule(0, peak_learning_rate=0.4)


def test_warmup_cosine_adam_follows_its_schedule():
    optimizer = warmup_cosine_adam(200, peak_learning_rate=2e-3, warmup_fraction=0.1)
    assert isinstance(optimizer, keras.optimizers.Adam)
    schedule = optimizer._learning_rate
    rates = [float(schedule(step)) for step in (0, 10, 20, 110, 200)]
    assert rates[0] == pytest.approx(0.0, abs=1e-9) and rates[1] == pytest.approx(1e-3, rel=1e-5)
    assert rates[2] == pytest.approx(2e-3, rel=1e-5)
    assert rates[3] == pytest.approx(1e-3, rel=1e-4)  # halfway down the cosine
    assert rates[4] == pytest.approx(0.0, abs=1e-8)


@pytest.mark.parametrize(
    "args, error, message",
    [
        ((0, 1e-3), ValueError, "steps must be a positive integer, got 0"),
        ((10.5, 1e-3), TypeError, "steps must be a positive integer, got float 10.5"),
        ((10, 0.0), ValueError, r"peak_learning_rate must be in \(0, inf\), got 0.0"),
        ((10, "0.1"), TypeError, "peak_learning_rate must be a number, got str '0.1'"),
        ((10, 1e-3, 1.0), ValueError, r"warmup_fraction must be a float in \[0, 1\), got 1.0"),
        ((10, 1e-3, None), TypeError, r"warmup_fraction must be a float in \[0, 1\), got NoneType None"),
    ],
)
def test_warmup_cosine_schedule_rejects_bad_arguments(args, error, message):
    with pytest.raises(error, match=message):
        warmup_cosine_schedule(*args)
