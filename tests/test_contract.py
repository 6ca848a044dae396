"""The model file carries its contract; models without one are read right (never softmaxed twice)."""

import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest

from cvtutor.contract import (
    Contract,
    ModelContract,
    attach_contract,
    contract_layer,
    infer_contract,
    model_contract,
    predict_probabilities,
    read_contract,
)
from cvtutor.data import CLASS_NAMES
from cvtutor.metrics import confusion_counts, per_class_accuracy, top_k
from cvtutor.modelfiles import load_model, save_model
from cvtutor.models import build_cnn
from cvtutor.transfer import with_new_head

PETS = Contract(("cat", "dog", "rabbit"), image_size=(32, 32))


def images(n=4, shape=(32, 32, 3), seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, *shape), dtype=np.uint8)


@pytest.fixture(scope="module")
def pets_model():
    keras.utils.set_random_seed(0)
    return attach_contract(build_cnn(num_classes=3), PETS, metadata={"run": {"epochs_done": 2}})


# --- the contract itself -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"class_names": ("only",)}, ValueError, "2 or more non-empty strings"),
        ({"class_names": "cat,dog"}, TypeError, "class_names must be a list of strings, got str 'cat,dog'"),
        ({"class_names": ("a", 2)}, TypeError, r"class_names must be a list of strings, got tuple \('a', 2\)"),
        ({"class_names": ("a", "b", "a")}, ValueError, r"distinct, got \['a'\]"),
        ({"image_size": (32,)}, ValueError, r"image_size must be \(height, width\), 2 integers >= 1, got \(32,\)"),
        ({"image_size": (0, 32)}, ValueError, r"image_size must be .* got \(0, 32\)"),
        ({"image_size": 32}, TypeError, "image_size must be .* got int 32"),
        ({"channels": 4}, ValueError, "channels must be one of 1, 3, got 4"),
        ({"channels": 3.0}, TypeError, "channels must be one of 1, 3, got float 3.0"),
        ({"outputs": "softmax"}, ValueError, "outputs must be one of 'logits', 'probabilities', got 'softmax'"),
        ({"pixel_scale": float("nan")}, ValueError, r"pixel_scale must be in \(-inf, inf\), got nan"),
        ({"pixel_scale": 0}, ValueError, "pixel_scale must be a finite number other than 0"),
        ({"pixel_offset": "0"}, TypeError, "pixel_offset must be a number, got str '0'"),
    ],
)
def test_contract_rejects_bad_fields_in_one_line(kwargs, error, message):
    fields = {"class_names": ("a", "b"), "image_size": (8, 8)} | kwargs
    with pytest.raises(error, match=message) as info:
        Contract(**fields)
    assert "\n" not in str(info.value)


def test_contract_dict_round_trip_and_preparation():
    contract = Contract(["a", "b"], [20, 30], channels=1, outputs="probabilities")
    assert contract.class_names == ("a", "b") and contract.input_shape == (20, 30, 1)
    assert Contract.from_dict(contract.to_dict()) == contract
    with pytest.raises(ValueError, match="unknown"):
        Contract.from_dict(contract.to_dict() | {"colour": "blue"})
    with pytest.raises(TypeError, match="data must be a dict of a contract's fields, got list"):
        Contract.from_dict([("class_names", ("a", "b"))])
    x = contract.prepare(np.full((2, 20, 30, 1), 255, np.uint8))
    assert x.dtype == np.float32 and np.allclose(x, 1.0)
    with pytest.raises(ValueError, match=r"shape \(N, 20, 30, 1\), got uint8 \(2, 20, 30, 3\)"):
        contract.prepare(np.zeros((2, 20, 30, 3), np.uint8))


def test_to_probabilities_softmaxes_logits_only():
    logits = np.array([[2.0, 0.0, -1.0]])
    as_logits = Contract(("a", "b", "c"), (4, 4)).to_probabilities(logits)
    assert np.isclose(as_logits.sum(), 1.0) and as_logits.argmax() == 0
    probabilities = np.array([[0.978, 0.02, 0.002]])
    kept = Contract(("a", "b", "c"), (4, 4), outputs="probabilities").to_probabilities(probabilities)
    np.testing.assert_allclose(kept, probabilities)
    binary = Contract(("no", "yes"), (4, 4)).to_probabilities(np.array([[0.0], [100.0]]))
    np.testing.assert_allclose(binary, [[0.5, 0.5], [0.0, 1.0]], atol=1e-12)
    with pytest.raises(ValueError, match=r"\(N, 3\) for its 3 classes, got shape \(1, 4\)"):
        Contract(("a", "b", "c"), (4, 4)).to_probabilities(np.zeros((1, 4)))


# --- carried by the model, through every way of saving --------------------------------------------


def test_attach_keeps_outputs_and_parameters(pets_model):
    plain = pets_model.get_layer("logits").output  # the layers are shared: same weights
    assert pets_model.layers[-1].name == "contract" and pets_model.count_params() == 122_115
    x = images()
    direct = keras.Model(pets_model.inputs, plain).predict_on_batch(PETS.prepare(x))
    np.testing.assert_allclose(pets_model.predict_on_batch(PETS.prepare(x)), direct, rtol=1e-6)
    assert read_contract(pets_model) == PETS and contract_layer(pets_model).metadata == {"run": {"epochs_done": 2}}
    again = attach_contract(pets_model, Contract(("x", "y", "z"), (32, 32)))
    assert [layer.name for layer in again.layers].count("contract") == 1
    assert read_contract(again).class_names == ("x", "y", "z")


def test_attach_refuses_a_contract_that_does_not_fit():
    with pytest.raises(ValueError, match=r"has 10 outputs but the contract names 3 classes"):
        attach_contract(build_cnn(), PETS)
    with pytest.raises(ValueError, match=r"takes images of shape \(28, 28, 1\), but the contract says \(32, 32, 3\)"):
        attach_contract(build_cnn(input_shape=(28, 28, 1), num_classes=3), PETS)
    with pytest.raises(ValueError, match="JSON-serializable"):
        attach_contract(build_cnn(num_classes=3), PETS, metadata={"f": object()})
    with pytest.raises(TypeError, match="metadata must be a JSON-serializable dict, got str 'run'"):
        attach_contract(build_cnn(num_classes=3), PETS, metadata="run")
    with pytest.raises(TypeError, match="contract must be a cvtutor.contract.Contract, got dict"):
        attach_contract(build_cnn(num_classes=3), PETS.to_dict())
    with pytest.raises(TypeError, match="model must be a keras.Model, got str 'cnn'"):
        attach_contract("cnn", PETS)
    with pytest.raises(TypeError, match="model must be a keras.Model, got NoneType None"):
        read_contract(None)


def test_a_subclassed_model_gets_wrapped():
    class Tiny(keras.Model):
        def __init__(self):
            super().__init__()
            self.flat = keras.layers.Flatten()
            self.dense = keras.layers.Dense(3)

        def call(self, x):
            return self.dense(self.flat(x))

    model = attach_contract(Tiny(), PETS)
    assert read_contract(model) == PETS and predict_probabilities(model, images()).shape == (4, 3)


def test_transfer_from_a_model_with_a_contract_drops_it(pets_model):
    head = with_new_head(pets_model, 5)
    assert read_contract(head) is None and head.output_shape == (None, 5)


LOAD_SCRIPT = textwrap.dedent("""
    import sys, numpy as np, keras
    import cvtutor.layers  # registers cvtutor's layers, the contract's among them
    from cvtutor.contract import read_contract, predict_probabilities
    model = keras.saving.load_model(sys.argv[1])
    x = np.load(sys.argv[2])
    p = predict_probabilities(model, x)
    print(keras.backend.backend(), ",".join(read_contract(model).class_names), repr(p.tolist()))
""")


def _load_elsewhere(path, x, tmp_path, backend):
    np.save(tmp_path / "x.npy", x)
    env = os.environ | {"KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run([sys.executable, "-c", LOAD_SCRIPT, str(path), str(tmp_path / "x.npy")],
                            capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    backend_used, names, probabilities = result.stdout.strip().splitlines()[-1].split(" ", 2)
    return backend_used, names, np.array(eval(probabilities))


@pytest.mark.parametrize("saver", ["model.save", "save_model"])
@pytest.mark.slow
def test_contract_survives_saving_and_a_fresh_process(pets_model, tmp_path, saver):
    path = tmp_path / "pets.keras"
    pets_model.save(path) if saver == "model.save" else save_model(pets_model, path)
    loaded = load_model(path, compile=False)
    assert read_contract(loaded) == PETS and contract_layer(loaded).metadata == {"run": {"epochs_done": 2}}
    x = images()
    expected = predict_probabilities(pets_model, x)
    backend, names, probabilities = _load_elsewhere(path, x, tmp_path, "tensorflow")
    assert (backend, names) == ("tensorflow", "cat,dog,rabbit")
    np.testing.assert_allclose(probabilities, expected, atol=1e-5)


@pytest.mark.slow
def test_contract_loads_on_the_jax_backend(pets_model, tmp_path):
    pytest.importorskip("jax")
    path = save_model(pets_model, tmp_path / "pets.keras")
    x = images()
    backend, names, probabilities = _load_elsewhere(path, x, tmp_path, "jax")
    assert (backend, names) == ("jax", "cat,dog,rabbit")
    np.testing.assert_allclose(probabilities, predict_probabilities(pets_model, x), atol=1e-4)


# --- models saved by plain Keras, without a contract ----------------------------------------------


def softmax_cifar_model(final="dense"):
    """A model whose outputs are probabilities, ending in one of the ways Keras allows."""
    keras.utils.set_random_seed(1)
    inputs = keras.Input((32, 32, 3))
    x = keras.layers.Flatten()(inputs)
    if final == "dense":
        outputs = keras.layers.Dense(10, activation="softmax")(x)
    elif final == "sequential":
        return keras.Sequential([keras.Input((32, 32, 3)), keras.layers.Flatten(),
                                 keras.layers.Dense(10, activation="softmax")])
    elif final == "nested-head":
        head = keras.Sequential([keras.Input((3072,)), keras.layers.Dense(10), keras.layers.Softmax()])
        outputs = head(x)
    elif final == "softmax-layer":
        outputs = keras.layers.Softmax()(keras.layers.Dense(10)(x))
    else:
        outputs = keras.layers.Activation("softmax")(keras.layers.Dense(10)(x))
    return keras.Model(inputs, outputs)


@pytest.mark.parametrize("final", ["dense", "softmax-layer", "activation", "sequential", "nested-head"])
def test_a_softmax_model_is_not_softmaxed_twice(tmp_path, final):
    model = softmax_cifar_model(final)
    # Make one output confident, as a trained model's is: 97.8% must stay 97.8%.
    layers = [sub for layer in model.layers for sub in (layer.layers if isinstance(layer, keras.Model) else [layer])]
    dense = [layer for layer in layers if isinstance(layer, keras.layers.Dense)][-1]
    kernel, bias = dense.get_weights()
    bias[:] = np.log([0.978] + [0.022 / 9] * 9)
    dense.set_weights([np.zeros_like(kernel), bias])
    model.save(tmp_path / "soft.keras")
    loaded = keras.saving.load_model(tmp_path / "soft.keras")
    contract, notes = infer_contract(loaded)
    assert contract.outputs == "probabilities" and contract.class_names == CLASS_NAMES
    assert any("softmax" in note for note in notes) and any("CIFAR-10" in note for note in notes)
    p = predict_probabilities(loaded, images())
    np.testing.assert_allclose(p[:, 0], 0.978, rtol=1e-5)
    np.testing.assert_allclose(p, loaded.predict(images() / np.float32(255), verbose=0), rtol=1e-5)


def test_a_logits_model_without_contract():
    contract, notes = infer_contract(build_cnn())
    assert contract.outputs == "logits" and contract.class_names == CLASS_NAMES and contract.channels == 3
    assert notes == ["the model names no classes; its 10 outputs get CIFAR-10's class names"]
    inputs = keras.Input((32, 32, 3))
    log_softmax = keras.Model(inputs, keras.layers.Dense(10, activation="log_softmax")(keras.layers.Flatten()(inputs)))
    contract, _ = infer_contract(log_softmax)
    assert contract.outputs == "logits", "log-probabilities are logits: their softmax is the probabilities"


def test_twelve_classes_get_numbers_or_the_names_given():
    model = with_new_head(build_cnn(), 12)
    contract, notes = infer_contract(model)
    assert contract.class_names == tuple(f"class {i}" for i in range(12))
    assert len(notes) == 1 and "--classes" in notes[0]
    names = [f"k{i}" for i in range(12)]
    assert model_contract(model, names)[0].class_names == tuple(names)
    with pytest.raises(ValueError, match="has 12 classes, but 3 class names were given"):
        infer_contract(model, ["a", "b", "c"])


def test_model_contract_refuses_other_names_for_a_model_that_names_its_own(pets_model):
    assert model_contract(pets_model, ["cat", "dog", "rabbit"]) == (PETS, [])
    with pytest.raises(ValueError, match="names its classes itself"):
        model_contract(pets_model, ["a", "b", "c"])


def test_grayscale_and_raw_pixel_models_are_read_from_their_layers():
    contract, _ = infer_contract(build_cnn(input_shape=(28, 28, 1)))
    assert contract.input_shape == (28, 28, 1)
    inputs = keras.Input((40, 30, 3))
    x = keras.layers.Rescaling(1 / 255)(inputs)
    outputs = keras.layers.Dense(1, activation="sigmoid")(keras.layers.GlobalAveragePooling2D()(x))
    contract, notes = infer_contract(keras.Model(inputs, outputs), ["cat", "dog"])
    assert contract.pixel_scale == 1.0 and contract.outputs == "probabilities" and contract.num_classes == 2
    assert any("Rescaling" in note for note in notes)


def test_models_that_do_not_take_fixed_size_images_are_refused_in_one_line():
    inputs = keras.Input((None, None, 3))
    model = keras.Model(inputs, keras.layers.Dense(4)(keras.layers.GlobalAveragePooling2D()(inputs)))
    with pytest.raises(ValueError, match="takes images of any size"):
        infer_contract(model)
    flat = keras.Input((16,))
    with pytest.raises(ValueError, match=r"must take images \(N, height, width, channels\)"):
        infer_contract(keras.Model(flat, keras.layers.Dense(4)(flat)))


# --- metrics used by evaluate and predict -------------------------------------------------------


def test_per_class_accuracy_and_top_k_for_any_class_count():
    counts = confusion_counts([0, 0, 1, 1, 1], [0, 1, 1, 1, 0], 12)
    assert counts.shape == (12, 12) and counts.sum() == 5
    accuracy = per_class_accuracy(counts)
    assert accuracy[0] == 0.5 and np.isclose(accuracy[1], 2 / 3) and np.isnan(accuracy[2:]).all()
    p = np.array([[0.1, 0.7, 0.2]])
    assert top_k(p, 2).tolist() == [[1, 2]] and top_k(p, 12).tolist() == [[1, 2, 0]]
    with pytest.raises(ValueError, match="k must be a positive integer, got 0"):
        top_k(p, 0)
    with pytest.raises(TypeError, match="k must be a positive integer, got float 2.0"):
        top_k(p, 2.0)
    with pytest.raises(ValueError, match=r"\(C, C\) confusion matrix"):
        per_class_accuracy(np.zeros((2, 3)))


def test_model_contract_layer_is_registered_under_cvtutor():
    assert keras.saving.get_registered_name(ModelContract) == "cvtutor>ModelContract"
