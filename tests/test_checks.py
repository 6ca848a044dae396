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
