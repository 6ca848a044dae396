"""The validation split carved from the training data (cvtutor.data.splits)."""

import numpy as np
import pytest

from cvtutor.data import VALIDATION_SPLIT, held_out_count, split_validation, trained_count, validation_count


def test_each_class_is_split_on_its_own_and_every_example_lands_once():
    labels = np.repeat(np.arange(4), [100, 37, 2, 1])
    images = np.arange(len(labels))  # each example's index, to follow it
    (x_train, y_train), (x_val, y_val) = split_validation(images, labels, 0.1, seed=3)
    assert sorted(np.concatenate([x_train, x_val]).tolist()) == images.tolist()
    assert np.bincount(y_val, minlength=4).tolist() == [10, 4, 1, 0]  # round(n/10), >= 1, <= n - 1
    assert held_out_count(labels, 0.1) == len(y_val) == 15
    assert trained_count(labels, 0.1) == len(y_train) == len(labels) - 15
    # None means the default split, as fit reads validation_split=None
    assert trained_count(labels, None) == trained_count(labels, VALIDATION_SPLIT)
    assert held_out_count(labels, None) == held_out_count(labels) and trained_count(labels, 0) == len(labels)
    assert np.array_equal(labels[x_train], y_train) and np.array_equal(labels[x_val], y_val)
    assert np.all(np.diff(x_train) > 0) and np.all(np.diff(x_val) > 0)  # original order kept


def test_the_split_is_fixed_by_its_seed():
    labels = np.arange(200) % 10
    images = np.arange(200)
    first, again, other = (split_validation(images, labels, seed=s)[1][0] for s in (0, 0, 1))
    assert np.array_equal(first, again) and not np.array_equal(first, other)
    assert len(first) == 200 * VALIDATION_SPLIT


def test_fraction_zero_holds_nothing_out():
    images = np.zeros((5, 2, 2, 3), np.uint8)
    (x_train, _), (x_val, y_val) = split_validation(images, np.arange(5), 0)
    assert len(x_train) == 5 and x_val.shape == (0, 2, 2, 3) and len(y_val) == 0
    assert validation_count(1000, 0) == 0 and validation_count(1, 0.5) == 0 and validation_count(2, 0.01) == 1


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"fraction": 1.0}, ValueError, r"validation fraction must be a float in \[0, 1\), got 1.0"),
        ({"fraction": "0.1"}, TypeError, r"validation fraction must be a float in \[0, 1\), got str '0.1'"),
        ({"fraction": True}, TypeError, "got bool True"),
        ({"seed": -1}, ValueError, r"seed must be in \[0, inf\), got -1"),
        ({"seed": 0.5}, TypeError, "seed must be an integer, got float 0.5"),
        ({"labels": np.zeros(3, int)}, ValueError, r"labels must be 4 integers of shape \(4,\), got int64 of shape \(3,\)"),
        ({"labels": np.zeros(4, float)}, ValueError, "got float64"),
    ],
)
def test_bad_arguments_say_what_was_expected(kwargs, error, message):
    arguments = {"images": np.zeros((4, 2, 2, 3), np.uint8), "labels": np.arange(4)} | kwargs
    with pytest.raises(error, match=message):
        split_validation(**arguments)
