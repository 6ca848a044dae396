"""cvtutor.plots.benchmarks: time-to-accuracy curves."""

import numpy as np
import pytest

from cvtutor.plots.benchmarks import time_to_accuracy_curves


def _record(recipe, seed, accuracies, seconds, target=None):
    return {"recipe": recipe, "seed": seed, "target": target, "wall_seconds": seconds[-1] if seconds else None,
            "test_accuracy": accuracies[-1] if accuracies else None,
            "curve": [{"seconds": t, "test_accuracy": a} for a, t in zip(accuracies, seconds)]}


def test_one_line_per_record_one_colour_per_recipe_and_target_marks():
    records = [_record("a", 0, [0.5, 0.7], [10, 20], target=[0.85, 600]), _record("a", 1, [0.4, 0.6], [12, 24]),
               _record("b", 0, [0.3], [5])]
    fig = time_to_accuracy_curves(records, title="runs")
    ax = fig.axes[0]
    curves = [line for line in ax.lines if len(line.get_xdata()) > 2 or line.get_marker() == "o"]
    assert len(curves) == 3
    np.testing.assert_allclose(curves[0].get_xdata(), [0, 10, 20])
    np.testing.assert_allclose(curves[0].get_ydata(), [10, 50, 70])
    assert curves[0].get_color() == curves[1].get_color() != curves[2].get_color()
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["a", "b"]
    marks = [line for line in ax.lines if line.get_linestyle() == ":"]
    assert len(marks) == 2  # recipe a's accuracy and time budget
    assert ax.get_title() == "runs"


def test_targets_relative_to_the_baseline_are_drawn_at_its_times():
    baseline = [_record("tf-tutorial", seed, [0.6, 0.66], [100, t]) for seed, t in enumerate((190, 200, 230))]
    fast = _record("fast", 0, [0.7, 0.8], [150, 220], target={"accuracy": 0.85, "time_ratio": 1.5})
    article = _record("article", 0, [0.7], [90], target={"baseline_accuracy_time_ratio": 0.5})
    ax = time_to_accuracy_curves([*baseline, fast, article]).axes[0]
    marks = {(line.get_color(), tuple(line.get_xdata()), tuple(line.get_ydata()))
             for line in ax.lines if line.get_linestyle() == ":"}
    fast_colour, article_colour = "C1", "C2"
    # 85% at 1.5 T, T the baseline's median wall time (200 s)
    assert (fast_colour, (0, 1), (85.0, 85.0)) in marks and (fast_colour, (300.0, 300.0), (0, 1)) in marks
    # the baseline's final accuracy (66%) at half its median time to it (200 s)
    assert (article_colour, (0, 1), (66.0, 66.0)) in marks and (article_colour, (100.0, 100.0), (0, 1)) in marks
    assert ax.get_xlim()[1] < 400 and ax.get_ylim()[1] < 100
    # without the baseline in the records, a relative target is not drawn
    alone = time_to_accuracy_curves([fast]).axes[0]
    assert not [line for line in alone.lines if line.get_linestyle() == ":"]


def test_explicit_targets_replace_the_records_own():
    fig = time_to_accuracy_curves([_record("a", 0, [0.5], [10], target=[0.85, 600])], targets={})
    assert not [line for line in fig.axes[0].lines if line.get_linestyle() == ":"]


def test_rejects_no_records_and_records_without_a_curve():
    with pytest.raises(ValueError, match="at least one record, got none"):
        time_to_accuracy_curves([])
    with pytest.raises(ValueError, match="recipe 'a' seed 0 has no curve"):
        time_to_accuracy_curves([_record("a", 0, [], [])])
