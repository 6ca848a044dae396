"""Tests of the chapter 1.4 figures in cvtutor.plots: curves, confusion matrices, mistakes, predictions."""

import matplotlib
import numpy as np
import pytest

from cvtutor import plots
from cvtutor.training import TrainResult

NAMES = [f"class{i}" for i in range(10)]


def _history(epochs=3, val=True):
    h = {"loss": list(np.linspace(2.0, 1.0, epochs)), "accuracy": list(np.linspace(0.3, 0.6, epochs))}
    if val:
        h.update(val_loss=list(np.linspace(1.9, 1.2, epochs)), val_accuracy=list(np.linspace(0.35, 0.55, epochs)))
    return h


def _probs(rng, n, c=10):
    logits = rng.normal(size=(n, c)) * 3
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


# Training curves -------------------------------------------------------------


def test_training_curves_draws_train_and_test_per_run():
    result = TrainResult("cnn", 10, 3, 1.0, 1.2, 0.55, 100, 50, _history())
    fig = plots.training_curves(result, _history(5, val=False), labels=["a", "b"])
    loss_ax, acc_ax = fig.axes
    assert len(fig.axes) == 2
    # run a: train and test lines; run b: train only.
    assert len(loss_ax.lines) == 3 and len(acc_ax.lines) == 3
    x, y = acc_ax.lines[0].get_data()
    np.testing.assert_array_equal(x, [1, 2, 3])  # epochs count from 1
    np.testing.assert_allclose(y, 100 * np.asarray(_history()["accuracy"]))  # accuracy in percent
    np.testing.assert_allclose(loss_ax.lines[1].get_data()[1], _history()["val_loss"])
    assert [t.get_text() for t in acc_ax.get_legend().get_texts()] == ["a: train", "a: validation", "b: train"]


def test_training_curves_labels_default_to_result_name():
    result = TrainResult("rnn", 10, 3, 1.0, 1.2, 0.55, 100, 50, _history())
    fig = plots.training_curves(result, _history())
    assert [t.get_text() for t in fig.axes[1].get_legend().get_texts()] == [
        "rnn: train", "rnn: validation", "run 2: train", "run 2: validation"]


@pytest.mark.parametrize(
    "bad",
    [
        {"loss": [1.0, 2.0]},  # no accuracy
        {"loss": [1.0, 2.0], "accuracy": [0.1]},  # lengths differ
        {"loss": [], "accuracy": []},  # no epochs
        {"loss": [1.0], "accuracy": [0.1], "val_loss": [1.0, 2.0]},
    ],
)
def test_training_curves_rejects_bad_histories(bad):
    with pytest.raises(ValueError):
        plots.training_curves(bad)


def test_training_curves_rejects_what_is_not_a_history_or_a_scale():
    with pytest.raises(TypeError, match=r"each run must be a TrainResult or a history dict, got list \[1.0, 2.0\]"):
        plots.training_curves([1.0, 2.0])
    with pytest.raises(ValueError, match="loss_scale must be one of 'linear', 'log', got 'ln'"):
        plots.training_curves(_history(), loss_scale="ln")
    with pytest.raises(TypeError, match="loss_scale must be one of 'linear', 'log', got NoneType None"):
        plots.training_curves(_history(), loss_scale=None)


def test_training_curves_needs_a_run_and_matching_labels():
    with pytest.raises(ValueError):
        plots.training_curves()
    with pytest.raises(ValueError, match="labels"):
        plots.training_curves(_history(), labels=["a", "b"])


# Confusion matrix ----------------------------------------------------------------


def test_confusion_counts_match_numpy_bincount_and_a_loop():
    rng = np.random.default_rng(0)
    y_true = rng.integers(0, 10, 500)
    y_pred = np.where(rng.random(500) < 0.6, y_true, rng.integers(0, 10, 500))
    counts = plots.confusion_counts(y_true, y_pred, 10)
    assert counts.shape == (10, 10) and counts.dtype == np.int64
    np.testing.assert_array_equal(counts.sum(axis=1), np.bincount(y_true, minlength=10))
    np.testing.assert_array_equal(counts.sum(axis=0), np.bincount(y_pred, minlength=10))
    assert np.trace(counts) == np.sum(y_true == y_pred)
    expected = np.zeros((10, 10), dtype=int)
    for t, p in zip(y_true, y_pred):
        expected[t, p] += 1
    np.testing.assert_array_equal(counts, expected)


def test_confusion_counts_default_size_and_tiny_case():
    counts = plots.confusion_counts([0, 1, 1, 2], [0, 2, 1, 2])
    np.testing.assert_array_equal(counts, [[1, 0, 0], [0, 1, 1], [0, 0, 1]])


@pytest.mark.parametrize(
    "y_true, y_pred, num_classes",
    [
        ([0, 1], [0], 10),  # lengths differ
        ([0.0, 1.0], [0, 1], 10),  # floats
        ([[0, 1]], [[0, 1]], 10),  # (1, N)
        ([0, 10], [0, 1], 10),  # class out of range
        ([0, -1], [0, 1], 10),  # negative
    ],
)
def test_confusion_counts_rejects_bad_labels(y_true, y_pred, num_classes):
    with pytest.raises(ValueError):
        plots.confusion_counts(y_true, y_pred, num_classes)


def test_confusion_matrix_figure_shows_counts_and_row_percent():
    y_true = np.array([0, 0, 0, 1, 1, 2, 2, 2, 2, 9])
    y_pred = np.array([0, 0, 1, 1, 1, 2, 0, 2, 2, 9])
    fig = plots.confusion_matrix(y_true, y_pred, NAMES)
    assert len(fig.axes) == 2
    counts_ax, percent_ax = fig.axes
    np.testing.assert_array_equal(counts_ax.images[0].get_array(), plots.confusion_counts(y_true, y_pred, 10))
    percent = np.asarray(percent_ax.images[0].get_array())
    np.testing.assert_allclose(percent[[0, 1, 2, 9]].sum(axis=1), 100.0)
    assert percent[0, 1] == pytest.approx(100 / 3)
    assert [t.get_text() for t in counts_ax.get_yticklabels()] == NAMES
    assert len(counts_ax.texts) == 100  # one label per cell
    assert counts_ax.texts[1].get_text() == "1"  # cell (0, 1)


def test_confusion_matrix_rejects_labels_beyond_class_names():
    with pytest.raises(ValueError, match="num_classes"):
        plots.confusion_matrix([0, 3], [0, 1], ["a", "b", "c"])


def test_top_confusions_orders_off_diagonal_cells():
    counts = np.array([[50, 7, 1], [2, 40, 9], [7, 0, 30]])
    top = plots.top_confusions(counts, ["a", "b", "c"], k=3)
    assert [(t["true"], t["predicted"], t["count"]) for t in top] == [("b", "c", 9), ("a", "b", 7), ("c", "a", 7)]
    assert top[0]["rate"] == pytest.approx(9 / 51)
    with pytest.raises(ValueError):
        plots.top_confusions(counts, ["a", "b"])


# Mistakes and predictions -----------------------------------------------------------


def test_confident_mistakes_are_wrong_and_sorted_by_confidence():
    rng = np.random.default_rng(1)
    probs = _probs(rng, 200)
    y_true = rng.integers(0, 10, 200)
    chosen = plots.confident_mistakes(y_true, probs, n=16)
    predicted = probs.argmax(axis=1)
    assert len(chosen) == 16
    assert np.all(predicted[chosen] != y_true[chosen])
    confidence = probs[chosen, predicted[chosen]]
    assert np.all(np.diff(confidence) <= 0)
    wrong = predicted != y_true
    assert confidence[0] == probs.max(axis=1)[wrong].max()
    # Everything right: no mistakes to show.
    assert len(plots.confident_mistakes(predicted, probs)) == 0


def test_confident_mistakes_rejects_logits_and_bad_shapes():
    rng = np.random.default_rng(2)
    with pytest.raises(ValueError, match="softmax"):
        plots.confident_mistakes([0, 1], rng.normal(size=(2, 10)))
    with pytest.raises(ValueError):
        plots.confident_mistakes([0, 1, 2], _probs(rng, 2))
    with pytest.raises(ValueError):
        plots.confident_mistakes([0, 1], np.full(10, 0.1))


def test_most_confident_mistakes_grid_titles_and_colours():
    rng = np.random.default_rng(3)
    images = rng.integers(0, 256, (40, 32, 32, 3), dtype=np.uint8)
    probs = _probs(rng, 40)
    y_true = rng.integers(0, 10, 40)
    fig = plots.most_confident_mistakes(images, y_true, probs, NAMES, n=8, columns=4)
    assert len(fig.axes) == 8
    chosen = plots.confident_mistakes(y_true, probs, n=8)
    first = fig.axes[0].get_title()
    p = probs[chosen[0]].argmax()
    assert first == f"{NAMES[p]} {probs[chosen[0], p]:.2f}\ntrue: {NAMES[y_true[chosen[0]]]}"
    np.testing.assert_array_equal(fig.axes[0].images[0].get_array(), images[chosen[0]])
    with pytest.raises(ValueError):
        plots.most_confident_mistakes(images[:5], y_true, probs, NAMES)
    with pytest.raises(ValueError):
        plots.most_confident_mistakes(images, y_true, probs, NAMES[:5])


def test_most_confident_mistakes_without_mistakes():
    probs = np.eye(10)[:4]
    fig = plots.most_confident_mistakes(np.zeros((4, 8, 8, 3), np.uint8), np.arange(4), probs, NAMES)
    assert fig.axes[0].texts[0].get_text() == "no mistakes"


def test_predictions_grid_green_right_red_wrong():
    images = np.zeros((5, 8, 8, 3), np.uint8)
    y_true = np.array([0, 1, 2, 3, 4])
    y_pred = np.array([0, 1, 9, 3, 0])
    probs = np.eye(10)[y_pred] * 0.9 + 0.01
    fig = plots.predictions_grid(images, y_true, y_pred, NAMES, probs=probs, columns=5)
    assert len(fig.axes) == 5
    colors = [matplotlib.colors.to_hex(ax.title.get_color()) for ax in fig.axes]
    green, red = matplotlib.colors.to_hex("tab:green"), matplotlib.colors.to_hex("tab:red")
    assert colors == [green, green, red, green, red]
    assert fig.axes[0].get_title() == "class0 0.91"
    assert fig.axes[2].get_title() == "class9 0.91\ntrue: class2"
    with pytest.raises(ValueError):
        plots.predictions_grid(images, y_true[:4], y_pred, NAMES)
    with pytest.raises(ValueError):
        plots.predictions_grid(images[..., 0], y_true, y_pred, NAMES)


def test_training_curves_log_loss_axis_and_integer_epochs():
    fig = plots.training_curves(_history(1), loss_scale="log")
    assert fig.axes[0].get_yscale() == "log" and fig.axes[1].get_yscale() == "linear"
    fig.canvas.draw()
    low, high = fig.axes[0].get_xlim()
    shown = [t for t in fig.axes[0].get_xticks() if low <= t <= high]
    assert shown == [1]  # one epoch: one tick, at 1
    with pytest.raises(ValueError, match="loss_scale"):
        plots.training_curves(_history(), loss_scale="symlog")
