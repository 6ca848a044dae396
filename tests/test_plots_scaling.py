"""cvtutor.plots.scaling: scaling-sweep, learning-curve and position-similarity figures."""

import numpy as np
import pytest

from cvtutor.metrics import cosine_similarity, pareto_front
from cvtutor.plots.scaling import (
    learning_curves,
    log_ticks,
    model_sizes,
    position_similarity,
    scaling_sweep,
)


def _sweep():
    runs = []
    for blocks, bonus in (("(0, 0, 0)", 0.0), ("(1, 0, 1)", 0.03)):
        for width, params, seconds, acc in ((4, 7e3, 10.0, 0.40), (8, 2.6e4, 20.0, 0.55), (16, 1e5, 60.0, 0.62)):
            runs.append({"series": f"blocks {blocks}", "label": f"w{width}", "params": params * (1 + bonus * 10),
                         "train_seconds": seconds * (1 + bonus * 10), "multiply_adds": params * 100,
                         "test_accuracy": acc + bonus})
    return runs


# log_ticks -------------------------------------------------------------------


def test_log_ticks_round_numbers_inside_the_range():
    assert log_ticks(5e3, 5e5) == [5e3, 1e4, 2e4, 5e4, 1e5, 2e5, 5e5]
    # A narrow range gets finer steps, still round.
    assert log_ticks(11, 26) == [15, 20, 25]
    ticks = log_ticks(10.3, 27.5)
    assert len(ticks) >= 3 and all(11 <= t <= 26 for t in ticks)
    assert all(float(t).is_integer() for t in ticks)
    assert log_ticks(3.0, 3.0) == [3.0]


@pytest.mark.parametrize("low, high, message", [
    (0, 10, r"low must be in \(0, inf\), got 0.0"), (-1, 10, "low must be"),
    (10, 1, r"high must be in \[10, inf\), got 1.0"), (1, np.inf, r"high must be in \[1, inf\), got inf")])
def test_log_ticks_bad_range(low, high, message):
    with pytest.raises(ValueError, match=message):
        log_ticks(low, high)
    with pytest.raises(TypeError, match="high must be a number, got str '10'"):
        log_ticks(1, "10")


# scaling_sweep -----------------------------------------------------------------


def test_scaling_sweep_panels_lines_and_log_axes():
    runs = _sweep()
    fig = scaling_sweep(runs, costs=("params", "train_seconds"))
    axes = fig.axes
    assert len(axes) == 2
    for ax, key in zip(axes, ("params", "train_seconds")):
        assert ax.get_xscale() == "log"
        assert ax.get_ylabel() == "test accuracy (%)"
        lines = [line for line in ax.get_lines() if line.get_label().startswith("blocks")]
        assert [line.get_label() for line in lines] == ["blocks (0, 0, 0)", "blocks (1, 0, 1)"]
        # Each line joins its series' runs in order of cost, accuracy in percent.
        first = lines[0]
        np.testing.assert_allclose(first.get_xdata(), [r[key] for r in runs[:3]])
        np.testing.assert_allclose(first.get_ydata(), [40, 55, 62])
        # Every run is annotated with its label.
        assert sorted(t.get_text() for t in ax.texts) == sorted(r["label"] for r in runs)
    assert axes[0].get_xlabel() == "parameters" and axes[1].get_xlabel() == "training time (s)"
    # Round tick labels: parameters in thousands, seconds plain; every run inside the limits.
    assert [t.get_text() for t in axes[0].get_xticklabels()] == ["10k", "20k", "50k", "100k"]
    low, high = axes[1].get_xlim()
    assert low < 10 and high > 78  # the runs span 10 to 78 s


def test_scaling_sweep_rings_the_pareto_front():
    runs = _sweep()
    fig = scaling_sweep(runs, costs=["params"])
    (ring,) = [c for c in fig.axes[0].collections if c.get_label() == "Pareto front"]
    params = np.array([r["params"] for r in runs])
    accuracy = np.array([r["test_accuracy"] for r in runs])
    expected = pareto_front(params, accuracy)
    np.testing.assert_allclose(ring.get_offsets()[:, 0], params[expected])
    np.testing.assert_allclose(ring.get_offsets()[:, 1], 100 * accuracy[expected])
    fig = scaling_sweep(runs, costs="multiply_adds", front=False, label=None)
    assert not fig.axes[0].collections and not fig.axes[0].texts
    assert fig.axes[0].get_xlabel() == "multiply-adds per image"


@pytest.mark.parametrize(
    "runs, kwargs, match",
    [
        ([], {}, "non-empty"),
        ([{"params": 1, "train_seconds": 1, "series": "a", "label": "x"}], {}, "lacks"),
        ([{"params": 0, "train_seconds": 1, "series": "a", "label": "x", "test_accuracy": 0.5}], {}, "positive"),
        ([{"params": 1, "train_seconds": 1, "series": "a", "label": "x", "test_accuracy": 55.0}], {}, r"\[0, 1\]"),
        ([{"params": 1, "series": "a", "label": "x", "test_accuracy": 0.5}], {"costs": ()}, "at least one"),
    ],
)
def test_scaling_sweep_bad_input(runs, kwargs, match):
    with pytest.raises(ValueError, match=match):
        scaling_sweep(runs, **kwargs)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: scaling_sweep({"params": 1}), r"runs must be a non-empty list of runs \(dicts\), got dict"),
        (lambda: scaling_sweep([1, 2]), r"runs\[0\] must be a dict, got int 1"),
        (lambda: learning_curves("runs"), r"runs must be a non-empty list of runs \(dicts\), got str 'runs'"),
        (lambda: learning_curves([{"model": "a", "train_size": 10, "test_accuracy": 0.5}], chance="0.1"),
         "chance must be a number, got str '0.1'"),
        (lambda: position_similarity(np.ones((9, 3)), "3x3"), r"grid must be \(rows, columns\), 2 integers >= 1, got str"),
        (lambda: position_similarity(_grid_embeddings(3, 3), (3, 3), limit="1"), "limit must be a number, got str '1'"),
    ],
)
def test_arguments_of_the_wrong_kind_are_type_errors(call, message):
    with pytest.raises(TypeError, match=message):
        call()


# learning_curves --------------------------------------------------------------


def test_learning_curves_one_line_per_model_with_seed_spread():
    runs = []
    for model, base in (("CNN", 0.4), ("ViT", 0.3)):
        for size, gain in ((1000, 0.0), (4000, 0.1), (16000, 0.2)):
            for seed in (0, 1):
                runs.append({"model": model, "train_size": size, "test_accuracy": base + gain + 0.01 * seed})
    fig = learning_curves(runs, chance=0.1)
    (ax,) = fig.axes
    assert ax.get_xscale() == "log" and ax.get_xlabel() == "training images"
    lines = {line.get_label(): line for line in ax.get_lines()}
    np.testing.assert_allclose(lines["CNN"].get_xdata(), [1000, 4000, 16000])
    np.testing.assert_allclose(lines["CNN"].get_ydata(), [40.5, 50.5, 60.5])
    np.testing.assert_allclose(lines["ViT"].get_ydata(), [30.5, 40.5, 50.5])
    np.testing.assert_allclose(lines["chance"].get_ydata(), [10, 10])
    # Two seeds per point: error bars from min to max.
    assert len(ax.collections) == 2
    assert [t.get_text() for t in ax.get_xticklabels()] == ["1,000", "4,000", "16,000"]


def test_learning_curves_single_runs_have_no_bars():
    runs = [{"arch": "a", "train_size": n, "test_accuracy": 0.1 * i} for i, n in enumerate((10, 100), start=1)]
    fig = learning_curves(runs, model="arch", title="t")
    assert not fig.axes[0].collections and fig.axes[0].get_title() == "t"


@pytest.mark.parametrize(
    "runs, kwargs, match",
    [
        ([{"model": "a", "train_size": 0, "test_accuracy": 0.5}], {}, "positive"),
        ([{"model": "a", "train_size": 10, "test_accuracy": 1.5}], {}, r"\[0, 1\]"),
        ([{"model": "a", "test_accuracy": 0.5}], {}, "lacks"),
        ([{"model": "a", "train_size": 10, "test_accuracy": 0.5}], {"chance": 10}, r"chance must be in \[0, 1\]"),
        ([], {}, "non-empty"),
    ],
)
def test_learning_curves_bad_input(runs, kwargs, match):
    with pytest.raises(ValueError, match=match):
        learning_curves(runs, **kwargs)


# position_similarity -------------------------------------


def _grid_embeddings(rows, cols):
    """Embeddings that encode the 2-D position smoothly: nearby patches are similar."""
    r, c = np.meshgrid(np.arange(rows), np.arange(cols), indexing="ij")
    angles = np.stack([r.ravel(), c.ravel()], axis=1) * 0.4
    return np.concatenate([np.cos(angles), np.sin(angles)], axis=1)


def test_position_similarity_draws_one_map_per_position():
    rows, cols = 4, 6
    embeddings = _grid_embeddings(rows, cols)
    fig = position_similarity(embeddings, (rows, cols), positions=[0, 7, 23])
    panels = [ax for ax in fig.axes if ax.images]
    assert len(panels) == 3 and len(fig.axes) == 4  # and a colour bar
    expected = cosine_similarity(embeddings)
    for ax, p in zip(panels, [0, 7, 23]):
        image = ax.images[0].get_array()
        assert image.shape == (rows, cols)
        np.testing.assert_allclose(image, expected[p].reshape(rows, cols))
        # The brightest cell is the position itself, marked with a dot.
        assert np.unravel_index(np.argmax(image), image.shape) == (p // cols, p % cols)
        (dot,) = ax.get_lines()
        assert (dot.get_xdata()[0], dot.get_ydata()[0]) == (p % cols, p // cols)
    assert panels[1].get_title() == "patch (1, 1)"
    # Default colour limit: the strongest similarity between two different positions shown.
    others = np.abs(expected[[0, 7, 23]])
    others[[0, 1, 2], [0, 7, 23]] = 0
    assert panels[0].images[0].get_clim() == pytest.approx((-others.max(), others.max()))
    fig = position_similarity(embeddings, (rows, cols), positions=[0], limit=1.0)
    assert fig.axes[0].images[0].get_clim() == (-1.0, 1.0)


def test_position_similarity_default_positions_are_corners_and_centre():
    fig = position_similarity(_grid_embeddings(8, 8), (8, 8))
    titles = [ax.get_title() for ax in fig.axes if ax.images]
    assert titles == ["patch (0, 0)", "patch (0, 7)", "patch (4, 4)", "patch (7, 0)", "patch (7, 7)"]


@pytest.mark.parametrize(
    "embeddings, grid, positions, match",
    [
        (np.ones((10, 3)), (3, 3), None, "shape"),
        (np.ones((9, 3)), (3, 0), None, r"grid must be \(rows, columns\), 2 integers >= 1, got \(3, 0\)"),
        (np.ones((9, 3)), (3, 3), [9], "indices"),
        (np.ones((9, 3)), (3, 3), [], "indices"),
    ],
)
def test_position_similarity_bad_input(embeddings, grid, positions, match):
    with pytest.raises(ValueError, match=match):
        position_similarity(embeddings, grid, positions)
    with pytest.raises(ValueError, match=r"limit must be in \(0, 1\], got 0.0"):
        position_similarity(_grid_embeddings(3, 3), (3, 3), limit=0)


# model_sizes -------------------------------------------------------------------


def _models():
    return [{"label": "ViT-B/16", "group": "published", "params": 8.6e7, "multiply_adds": 1.76e10},
            {"label": "CNN", "group": "this book", "params": 1.2e5, "multiply_adds": 4.5e6},
            {"label": "sweep, largest", "group": "this book", "params": 4.1e5, "multiply_adds": None}]


def test_model_sizes_rows_sorted_by_the_first_quantity_and_none_left_out():
    fig = model_sizes(_models(), title="sizes")
    params_ax, macs_ax = fig.axes
    assert [t.get_text() for t in params_ax.get_yticklabels()] == ["CNN", "sweep, largest", "ViT-B/16"]
    assert params_ax.get_xscale() == "log" and macs_ax.get_xscale() == "log"
    dots = sum(len(c.get_offsets()) for c in macs_ax.collections if hasattr(c, "get_offsets") and c.get_label()
               in ("this book", "published"))
    assert dots == 2  # the sweep has no multiply-adds
    assert fig._suptitle.get_text() == "sizes"


@pytest.mark.parametrize("models, error, message", [
    ({"label": "x"}, TypeError, "runs must be a non-empty list"),
    ([], ValueError, "non-empty list"),
    ([{"label": "x", "group": "g", "params": 0, "multiply_adds": 1}], ValueError, "params must be finite and positive"),
    ([{"label": "x", "group": "g", "params": 1}], ValueError, "lacks"),
    ([{"label": "x", "group": "g", "params": None, "multiply_adds": 1}], ValueError, "no model has a value"),
])
def test_model_sizes_rejects(models, error, message):
    with pytest.raises(error, match=message):
        model_sizes(models)
