"""Seeding, compiling for logits, fitting and the result record."""

import json

import keras
import numpy as np
import pytest
from cifar_fakes import make_images

from cvtutor.models import build_cnn
from cvtutor.training import TrainResult, compile_model, fit, predict_logits, set_seed


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
    # Learnable labels: the class is the brightest of ten vertical stripes.
    x, _ = make_images(400, seed=3)
    x = (x // 4).astype(np.uint8)
    y = np.arange(400) % 10
    for i, label in enumerate(y):
        x[i, :, label * 3 : label * 3 + 3] = 255
    model = compile_model(build_cnn())
    result = fit(model, (x[:300], y[:300]), (x[300:], y[300:]), epochs=3, batch_size=32, verbose=0)
    assert isinstance(result, TrainResult)
    assert result.params == 122_570 and result.epochs == 3 and result.train_size == 300 and result.test_size == 100
    assert result.history["loss"][-1] < result.history["loss"][0]
    assert result.train_seconds > 0 and 0.0 <= result.test_accuracy <= 1.0
    logits = predict_logits(model, x[300:])
    assert logits.shape == (100, 10)
    assert np.isclose((logits.argmax(1) == y[300:]).mean(), result.test_accuracy)
    result.to_json(tmp_path / "r.json")
    assert json.loads((tmp_path / "r.json").read_text())["params"] == 122_570


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"epochs": 0}, "epochs must be a positive integer"),
        ({"epochs": 1, "train": (np.zeros((4, 32, 32, 3), np.float32), np.zeros(4, int))}, "uint8"),
        ({"epochs": 1, "test": (np.zeros((4, 32, 32, 3), np.uint8), np.zeros(3, int))}, r"shape \(4,\)"),
        ({"epochs": 1, "train": np.zeros(3)}, "pair"),
    ],
)
def test_fit_rejects_bad_arguments(kwargs, message):
    x, y = make_images(8, seed=0)
    arguments = {"train": (x, y), "test": (x, y)} | kwargs
    with pytest.raises(ValueError, match=message):
        fit(compile_model(build_cnn()), arguments.pop("train"), arguments.pop("test"), **arguments)


def test_set_seed_rejects_negative():
    with pytest.raises(ValueError, match="non-negative"):
        set_seed(-1)
