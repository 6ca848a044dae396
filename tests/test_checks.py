"""cvtutor.checks: one vocabulary for argument errors (TypeError for a wrong kind, ValueError for a
wrong value, "<name> must be <expected>, got <what arrived>"), and the public boundaries that use it."""

import math
import numbers
from collections.abc import Callable, Mapping

import numpy as np
import pytest

from cvtutor import checks


@pytest.mark.parametrize("call, expected", [
    (lambda: checks.scalar("n", np.int64(3), numbers.Integral, minimum=1), 3),
    (lambda: checks.scalar("x", 1e308, minimum=0, maximum=math.inf, include_maximum=False), 1e308),
    (lambda: checks.positive_int("n", np.int32(2)), 2),
    (lambda: checks.rate("p", 0), 0.0),
    (lambda: checks.one_of("padding", "same", ("valid", "same")), "same"),
    (lambda: checks.one_of("channels", np.int64(3), (1, 3)), 3),
    (lambda: checks.integers("size", np.array([4, 5]), 2, minimum=1), (4, 5)),
    (lambda: checks.integers("blocks", [0, 1, 2], 3, minimum=0), (0, 1, 2)),
    (lambda: checks.instance("m", {}, Mapping, "a mapping"), {}),
])
def test_a_good_value_comes_back_as_the_plain_python_value(call, expected):
    result = call()
    assert result == expected and type(result) is type(expected)


@pytest.mark.parametrize("call, error, message", [
    (lambda: checks.scalar("x", "1"), TypeError, "x must be a number, got str '1'"),
    (lambda: checks.scalar("n", True, numbers.Integral), TypeError, "n must be an integer, got bool True"),
    (lambda: checks.scalar("x", math.nan, minimum=0), ValueError, r"x must be in \[0, inf\), got nan"),
    (lambda: checks.scalar("x", math.inf, maximum=math.inf, include_maximum=False), ValueError,
     r"x must be in \(-inf, inf\), got inf"),
    (lambda: checks.positive_int("epochs", 2.0), TypeError, "epochs must be a positive integer, got float 2.0"),
    (lambda: checks.positive_int("epochs", False), TypeError, "epochs must be a positive integer, got bool False"),
    (lambda: checks.positive_int("epochs", 0), ValueError, "epochs must be a positive integer, got 0"),
    (lambda: checks.rate("dropout", "0.1"), TypeError, r"dropout must be a float in \[0, 1\), got str '0.1'"),
    (lambda: checks.rate("dropout", 1), ValueError, r"dropout must be a float in \[0, 1\), got 1"),
    (lambda: checks.rate("dropout", math.nan), ValueError, r"dropout must be a float in \[0, 1\), got nan"),
    (lambda: checks.one_of("padding", 3, ("valid", "same")), TypeError,
     "padding must be one of 'valid', 'same', got int 3"),
    (lambda: checks.one_of("padding", "full", ("valid", "same")), ValueError,
     "padding must be one of 'valid', 'same', got 'full'"),
    (lambda: checks.one_of("channels", True, (1, 3)), TypeError, "channels must be one of 1, 3, got bool True"),
    (lambda: checks.one_of("channels", 2, (1, 3)), ValueError, "channels must be one of 1, 3, got 2"),
    (lambda: checks.instance("step", 3, Callable, "a function"), TypeError, "step must be a function, got int 3"),
    (lambda: checks.integers("image_size", 32, 2, minimum=1, expected="(height, width)"), TypeError,
     r"image_size must be \(height, width\), 2 integers >= 1, got int 32"),
    (lambda: checks.integers("image_size", "32", 2), TypeError, "image_size must be 2 integers, got str '32'"),
    (lambda: checks.integers("image_size", (32, 32.0), 2), TypeError, r"got tuple \(32, 32.0\)"),
    (lambda: checks.integers("image_size", (32, 0), 2, minimum=1), ValueError,
     r"image_size must be 2 integers >= 1, got \(32, 0\)"),
    (lambda: checks.integers("image_size", [32], 2), ValueError, r"image_size must be 2 integers, got \[32\]"),
    (lambda: checks.images_and_labels("train", 3), TypeError, r"train must be a pair \(images, labels\), got int"),
    (lambda: checks.images_and_labels("train", (1, 2, 3)), ValueError, "train must be a pair .* got tuple of 3"),
    (lambda: checks.images_and_labels("train", (np.zeros((2, 4, 4, 3)), [0, 1])), ValueError,
     r"train images must be uint8 \(N, H, W, C\)"),
])
def test_a_wrong_kind_is_a_type_error_and_a_wrong_value_a_value_error(call, error, message):
    with pytest.raises(error, match=message) as raised:
        call()
    assert type(raised.value) is error


def test_a_long_value_is_named_by_its_type_only():
    with pytest.raises(TypeError, match=r"^x must be a number, got list$"):
        checks.scalar("x", list(range(100)))


# Boundaries whose own test files do not already pass both a wrong kind and a wrong value --------

_IMAGES = np.zeros((4, 8, 8, 3), np.uint8)


def _train_to_file(tmp_path, epochs):
    from cvtutor.resume import train_to_file

    return train_to_file(tmp_path / "m.keras", None, None, None, epochs=epochs, settings={})


def _start_run(epochs):
    from cvtutor.recipes import start_run

    return start_run("fast-cnn", (_IMAGES, np.arange(4)), epochs=epochs)


def _subset(split):
    from cvtutor import get_profile

    return get_profile("quick").subset(_IMAGES, np.arange(4), split)


def _train_data_parallel(num_devices):
    from cvtutor.distribute import train_data_parallel

    return train_data_parallel(num_devices)


def _plot(name, *args, **kwargs):
    from cvtutor import plots

    return getattr(plots, name)(*args, **kwargs)


def _patch_covariance(patch_size):
    from cvtutor.whitening import patch_covariance

    return patch_covariance(np.zeros((1, 8, 8, 3)), patch_size)


def _save_model(tmp_path, path):
    from cvtutor.models import build_cnn
    from cvtutor.modelfiles import save_model

    return save_model(build_cnn(), tmp_path / path if isinstance(path, str) else path)


_LABELS, _PROBS = np.array([0, 1, 0, 1]), np.full((4, 2), 0.5)

BOUNDARIES = [
    # (call with the argument set to `bad`, argument name, a wrong kind, a wrong value)
    ("train_to_file", lambda tmp, bad: _train_to_file(tmp, bad), "epochs", 1.0, 0),
    ("start_run", lambda tmp, bad: _start_run(bad), "epochs", "2", -1),
    ("Profile.subset", lambda tmp, bad: _subset(bad), "split", 0, "val"),
    ("train_data_parallel", lambda tmp, bad: _train_data_parallel(bad), "num_devices", 2.0, 0),
    ("image_grid", lambda tmp, bad: _plot("image_grid", _IMAGES, columns=bad), "columns", 4.0, 0),
    ("class_grid", lambda tmp, bad: _plot("class_grid", _IMAGES, _LABELS, ["a", "b"], per_class=bad),
     "per_class", 1.0, 0),
    ("confident_mistakes", lambda tmp, bad: _plot("confident_mistakes", _LABELS, _PROBS, n=bad), "n", 2.5, -1),
    ("most_confident_mistakes", lambda tmp, bad: _plot("most_confident_mistakes", _IMAGES, _LABELS, _PROBS,
                                                       ["a", "b"], columns=bad), "columns", "8", 0),
    ("feature_maps", lambda tmp, bad: _plot("feature_maps", _IMAGES, np.zeros((4, 8, 8, 2)), clip_percentile=bad),
     "clip_percentile", "99", 0),
    ("patch_covariance", lambda tmp, bad: _patch_covariance(bad), "patch_size", 2.0, 0),
]


@pytest.mark.parametrize("error", [TypeError, ValueError])
@pytest.mark.parametrize("name, call, argument, wrong_kind, wrong_value", BOUNDARIES, ids=[b[0] for b in BOUNDARIES])
def test_every_boundary_says_which_argument_was_wrong(tmp_path, name, call, argument, wrong_kind, wrong_value, error):
    bad = wrong_kind if error is TypeError else wrong_value
    with pytest.raises(error, match=rf"^{argument} must be .*, got ") as raised:
        call(tmp_path, bad)
    assert type(raised.value) is error


def test_a_model_file_must_end_in_keras(tmp_path):
    with pytest.raises(ValueError, match=r"^path must be a model file ending in \.keras, got '.*m\.h5'"):
        _save_model(tmp_path, "m.h5")


def test_functional_model_names_what_it_needs():
    import keras

    inputs = keras.Input((4,))
    model = keras.Model(inputs, keras.layers.Dense(2)(inputs))
    assert checks.functional_model("model", model) is model
    with pytest.raises(TypeError, match="model must be a keras.Model, got str 'cnn.keras'"):
        checks.functional_model("model", "cnn.keras")
    two = keras.Model(inputs, [keras.layers.Dense(2)(inputs), keras.layers.Dense(3)(inputs)], name="two")
    with pytest.raises(ValueError, match="model must be a functional keras.Model with one input and one output "
                                         r"\(as cvtutor.models builds\); got Functional 'two'"):
        checks.functional_model("model", two)

    class Unbuilt(keras.Model):
        def call(self, x):
            return x

    with pytest.raises(ValueError, match="got Unbuilt 'unbuilt"):
        checks.functional_model("model", Unbuilt(name="unbuilt"))


def test_not_instance_refuses_a_lookalike_kind_with_advice():
    import io

    assert checks.not_instance("source", "a.png", bytes, "a path or a binary file object", "wrap it") == "a.png"
    with pytest.raises(TypeError, match=r"^source must be a path or a binary file object, got bytes b'\\x89PNG': "
                                        r"wrap raw bytes in io\.BytesIO\(\.\.\.\)$"):
        checks.not_instance("source", b"\x89PNG", (bytes, bytearray), "a path or a binary file object",
                            "wrap raw bytes in io.BytesIO(...)")
    with pytest.raises(TypeError, match="open the file in binary mode"):
        checks.not_instance("source", io.StringIO("x"), io.TextIOBase, "a binary file object",
                            "open the file in binary mode ('rb')")
