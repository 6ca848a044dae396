"""Tests of the chapter 1.5.3 figures: seeds, label budgets, number formats, matching loss curves."""

import numpy as np
import pytest

from cvtutor.plots.efficiency import accuracy_vs_labels, float_formats, loss_curve_match, seed_comparison


# seed_comparison -------------------------------------------------------------


def test_seed_comparison_draws_each_seed_and_mean_with_std():
    results = {"scratch": [0.50, 0.52, 0.54], "distilled": [0.55, 0.56, 0.57]}
    fig = seed_comparison(results, title="t")
    (ax,) = fig.axes
    assert [t.get_text() for t in ax.get_xticklabels()] == ["scratch", "distilled"]
    points = [c.get_offsets() for c in ax.collections if c.get_offsets().shape == (3, 2)]
    assert len(points) == 2
    np.testing.assert_allclose(np.sort(points[0][:, 1]), [50, 52, 54])
    np.testing.assert_allclose(np.sort(points[1][:, 1]), [55, 56, 57])
    assert np.all(points[0][:, 0] < 0) and np.all(np.abs(points[1][:, 0] - 1) < 0.5)  # method i at x = i
    means = [line.get_ydata()[0] for line in ax.lines if line.get_marker() == "D"]
    np.testing.assert_allclose(means, [52, 56])
    # The error bar spans mean +- std (ddof=1): 52 +- 2 for the first method.
    segments = [seg for coll in ax.collections if hasattr(coll, "get_segments") for seg in coll.get_segments()]
    spans = sorted(round(float(abs(seg[1][1] - seg[0][1])), 6) for seg in segments if len(seg) == 2)
    assert 4.0 in spans and 2.0 in spans
    assert ax.get_title() == "t" and ax.get_ylabel() == "test accuracy (%)"


def test_seed_comparison_one_seed_has_no_spread_and_scale_one():
    fig = seed_comparison({"a": [1.5]}, scale=1.0, ylabel="loss")
    ax = fig.axes[0]
    assert ax.get_ylabel() == "loss"
    means = [line.get_ydata()[0] for line in ax.lines if line.get_marker() == "D"]
    assert means == [1.5]


@pytest.mark.parametrize(
    "bad, match",
    [({}, "non-empty dict"), ({"a": []}, "non-empty 1-D"),
     ({"a": [[0.5]]}, "non-empty 1-D"), ({"a": [np.nan]}, "finite"), ({"a": ["x"]}, "sequence of numbers")],
)
def test_seed_comparison_rejects_bad_results(bad, match):
    with pytest.raises(ValueError, match=match):
        seed_comparison(bad)


def test_seed_comparison_rejects_zero_scale():
    with pytest.raises(ValueError, match="scale must be a finite number other than 0, got 0.0"):
        seed_comparison({"a": [0.5]}, scale=0)
    with pytest.raises(ValueError, match=r"scale must be in \(-inf, inf\), got inf"):
        seed_comparison({"a": [0.5]}, scale=float("inf"))


@pytest.mark.parametrize(
    "call, message",
    [(lambda: seed_comparison([0.5]), r"results must be a non-empty dict of label -> values, got list \[0.5\]"),
     (lambda: seed_comparison({"a": [0.5]}, scale="100"), "scale must be a number, got str '100'"),
     (lambda: accuracy_vs_labels([1, 2], [[0.1, 0.2]]), "curves must be a non-empty dict of label -> values, got list"),
     (lambda: accuracy_vs_labels([1, 2], {"a": [0.1, 0.2]}, chance="0.5"), "chance must be a number, got str '0.5'"),
     (lambda: float_formats({"x": (4.5, 3)}), r"formats\['x'\] must be \(exponent_bits, mantissa_bits\), 2 integers"),
     (lambda: float_formats({"x": 5}), r"formats\['x'\] must be .* got int 5"),
     (lambda: float_formats([("x", (4, 3))]), "formats must be a non-empty dict of label -> values, got list"),
     (lambda: loss_curve_match([1.0], [1.0], steps_per_epoch=True),
      "steps_per_epoch must be a positive integer, got bool True")],
)
def test_arguments_of_the_wrong_kind_are_type_errors(call, message):
    with pytest.raises(TypeError, match=message):
        call()


# accuracy_vs_labels ----------------------------------------------------------


def test_accuracy_vs_labels_lines_means_and_bands():
    k = [10, 50, 500]
    seeds = np.array([[0.3, 0.4, 0.6], [0.5, 0.6, 0.8]])
    fig = accuracy_vs_labels(k, {"scratch": [0.2, 0.3, 0.5], "fine-tuned": seeds}, chance=0.2)
    (ax,) = fig.axes
    assert ax.get_xscale() == "log"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["10", "50", "500"]
    lines = {line.get_label(): line for line in ax.lines}
    np.testing.assert_allclose(lines["scratch"].get_xdata(), k)
    np.testing.assert_allclose(lines["scratch"].get_ydata(), [20, 30, 50])
    np.testing.assert_allclose(lines["fine-tuned"].get_ydata(), [40, 50, 70])  # mean over seeds, in percent
    np.testing.assert_allclose(lines["chance"].get_ydata(), [20, 20])
    assert len(ax.collections) == 1  # one band: only the method with several seeds
    band = ax.collections[0].get_paths()[0].vertices
    assert band[:, 1].min() == pytest.approx(30) and band[:, 1].max() == pytest.approx(80)
    assert ax.get_xlabel() == "labelled training images per class"


@pytest.mark.parametrize(
    "k, curves, match",
    [([10, 5], {"a": [0.1, 0.2]}, "increasing positive integers"),
     ([0, 5], {"a": [0.1, 0.2]}, "increasing positive integers"),
     ([1.5, 5], {"a": [0.1, 0.2]}, "increasing positive integers"),
     ([], {"a": []}, "non-empty 1-D"),
     ([10, 50], {}, "non-empty dict"),
     ([10, 50], {"a": [0.1, 0.2, 0.3]}, r"shape \(2,\) or \(seeds, 2\), got \(1, 3\)"),
     ([10, 50], {"a": np.zeros((2, 2, 2))}, "got \\(2, 2, 2\\)"),
     ([10, 50], {"a": [0.1, np.inf]}, "finite")],
)
def test_accuracy_vs_labels_rejects_bad_input(k, curves, match):
    with pytest.raises(ValueError, match=match):
        accuracy_vs_labels(k, curves)


def test_accuracy_vs_labels_rejects_bad_chance():
    with pytest.raises(ValueError, match=r"chance must be in \[0, 1\], got 20.0"):
        accuracy_vs_labels([1, 2], {"a": [0.1, 0.2]}, chance=20)


# float_formats ---------------------------------------------------------------


def _bars(ax):
    return [(p.get_x(), p.get_width(), p.get_y() + p.get_height() / 2) for p in ax.patches]


def test_float_formats_default_bit_widths():
    fig = float_formats()
    (ax,) = fig.axes
    assert [t.get_text() for t in ax.get_yticklabels()] == ["bfloat16", "float16", "float32"]  # bottom to top
    bars = _bars(ax)
    assert len(bars) == 9
    by_row = {}
    for x, width, y in bars:
        by_row.setdefault(round(y), []).append((x, width))
    assert [w for _, w in sorted(by_row[2])] == [1, 8, 23]  # float32 on top
    assert [w for _, w in sorted(by_row[1])] == [1, 5, 10]
    assert [w for _, w in sorted(by_row[0])] == [1, 8, 7]
    texts = {t.get_text() for t in ax.texts}
    assert {"32 bits", "16 bits"} <= texts
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["sign", "exponent", "mantissa"]


def test_float_formats_custom_and_bad():
    fig = float_formats({"fp8 e4m3": (4, 3)})
    assert sorted(w for _, w, _ in _bars(fig.axes[0])) == [1, 3, 4]
    for bad, match in [({"x": (0, 3)}, r"\(exponent_bits, mantissa_bits\), 2 integers >= 1, got \(0, 3\)"),
                       ({"x": (4, 3, 1)}, r"2 integers >= 1, got \(4, 3, 1\)"), ({}, "non-empty dict")]:
        with pytest.raises(ValueError, match=match):
            float_formats(bad)


# loss_curve_match ------------------------------------------------------------


def test_loss_curve_match_curves_and_relative_difference():
    ref = np.array([2.0, 1.5, 1.0, 0.8])
    runs = ref * np.array([1.0, 1 + 1e-7, 1 + 1e-5, 1 - 1e-3])
    fig = loss_curve_match(runs, ref, labels=("mirrored", "single"), steps_per_epoch=2)
    curve_ax, diff_ax = fig.axes
    lines = {line.get_label(): line for line in curve_ax.lines}
    np.testing.assert_allclose(lines["single"].get_ydata(), ref)
    np.testing.assert_allclose(lines["mirrored"].get_ydata(), runs)
    np.testing.assert_allclose(lines["mirrored"].get_xdata(), [1, 2, 3, 4])
    assert diff_ax.get_yscale() == "log"
    diff = {line.get_label(): line for line in diff_ax.lines}
    np.testing.assert_allclose(diff["|difference| / loss"].get_ydata(), [1e-9, 1e-7, 1e-5, 1e-3], rtol=1e-6)
    np.testing.assert_allclose(diff["exactly equal (drawn at 1e-9)"].get_xdata(), [1])
    boundaries = [line for line in curve_ax.lines if line.get_linestyle() == ":"]
    assert len(boundaries) == 1 and boundaries[0].get_xdata()[0] == pytest.approx(2.5)


def test_loss_curve_match_without_exact_zeros_has_no_marker():
    fig = loss_curve_match([1.0, 2.0], [1.1, 2.1])
    assert [line.get_label() for line in fig.axes[1].lines] == ["|difference| / loss"]


@pytest.mark.parametrize(
    "a, b, kwargs, match",
    [([1.0, 2.0], [1.0], {}, "same length, got 2 and 1"),
     ([], [], {}, "non-empty 1-D"),
     ([1.0, np.nan], [1.0, 1.0], {}, "finite"),
     ([1.0], [1.0], {"labels": ("a",)}, "labels must be two strings"),
     ([1.0], [1.0], {"steps_per_epoch": 0}, "steps_per_epoch must be a positive integer, got 0")],
)
def test_loss_curve_match_rejects_bad_input(a, b, kwargs, match):
    with pytest.raises(ValueError, match=match):
        loss_curve_match(a, b, **kwargs)
