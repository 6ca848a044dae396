"""Scaling sweeps, model sizes, learning curves and position embeddings: accuracy against size, compute and
data, and the book's models beside the published ones (chapter 1.5).

The functions take plain lists of dicts (one per training run), as a notebook
collects them, e.g. ``{"series": "blocks (1, 0, 1)", "label": "w16",
"params": 414074, "train_seconds": 81.3, "test_accuracy": 0.71}``.
Accuracies are fractions in 0..1 and are drawn in percent.
"""

from __future__ import annotations

from collections.abc import Sequence

import math

import matplotlib.pyplot as plt
import numpy as np

from cvtutor import checks
from cvtutor.metrics import cosine_similarity, pareto_front
from cvtutor.plots.images import _fit_page
from matplotlib.ticker import MaxNLocator, NullLocator

__all__ = ["scaling_sweep", "model_sizes", "learning_curves", "log_ticks", "position_similarity"]

# Axis labels for the quantities a sweep records.
AXIS_LABELS = {
    "params": "parameters",
    "multiply_adds": "multiply-adds per image",
    "train_seconds": "training time (s)",
    "train_size": "training images",
}


def _human(value: float) -> str:
    """A short tick label: 2000 -> '2k', 1500000 -> '1.5M', 12 -> '12'."""
    for scale, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= scale:
            return f"{value / scale:.3g}{suffix}"
    return f"{value:.3g}"


def log_ticks(low: float, high: float, at_least: int = 3) -> list[float]:
    """Round tick positions for a log axis spanning ``low..high`` (both > 0).

    Steps of 1, 2, 5 times a power of ten when that gives ``at_least`` ticks
    inside the range; otherwise (a range of less than a decade or so) evenly
    spaced round numbers, as on a linear axis.

    Raises:
        TypeError: ``low`` or ``high`` is not a number, or ``at_least`` not an integer.
        ValueError: ``low`` is not positive, ``high`` is below ``low`` or infinite, or
            ``at_least`` is below 1.
    """
    low = checks.scalar("low", low, minimum=0, include_minimum=False)
    high = checks.scalar("high", high, minimum=low, maximum=math.inf, include_maximum=False)
    at_least = checks.positive_int("at_least", at_least)
    ticks = [m * 10.0**e for e in range(int(np.floor(np.log10(low))) - 1, int(np.ceil(np.log10(high))) + 1)
             for m in (1, 2, 5)]
    ticks = [t for t in ticks if low <= t <= high]
    if len(ticks) >= at_least:
        return ticks
    linear = MaxNLocator(nbins=at_least + 1, steps=[1, 2, 2.5, 5, 10]).tick_values(low, high)
    ticks = [float(t) for t in linear if low <= t <= high]
    return ticks or [float(low)]


def _set_log_x(ax, values):
    """A log x axis over ``values`` with a margin, labelled at round numbers only."""
    low, high = float(np.min(values)), float(np.max(values))
    pad = (high / low) ** 0.06 if high > low else 1.5
    ax.set_xscale("log")
    ax.set_xlim(low / pad, high * pad)
    ticks = log_ticks(low / pad, high * pad)
    ax.set_xticks(ticks)
    ax.set_xticklabels([_human(t) for t in ticks])
    ax.xaxis.set_minor_locator(NullLocator())


def _check_runs(runs, keys, what):
    if isinstance(runs, (dict, str)) or not isinstance(runs, Sequence):
        raise TypeError(f"runs must be a non-empty list of runs (dicts), got {checks.describe(runs)}")
    if len(runs) == 0:
        raise ValueError(f"{what} needs a non-empty list of runs (dicts), got {runs!r}")
    for i, run in enumerate(runs):
        checks.instance(f"runs[{i}]", run, dict, "a dict")
        missing = [k for k in keys if k not in run]
        if missing:
            raise ValueError(f"run {i} lacks {missing}; every run needs {list(keys)}, got {sorted(run)}")
    return list(runs)


def _positive(values, name):
    values = np.asarray(values, dtype=float)
    if not np.all(np.isfinite(values)) or np.any(values <= 0):
        raise ValueError(f"{name} must be finite and positive (it is drawn on a log axis), got {values.tolist()}")
    return values


def _accuracies(values):
    values = np.asarray(values, dtype=float)
    if not np.all(np.isfinite(values)) or np.any(values < 0) or np.any(values > 1):
        raise ValueError(f"test_accuracy must be fractions in [0, 1], got {values.tolist()}")
    return values


def scaling_sweep(runs, costs: Sequence[str] = ("params", "train_seconds"), *, series: str = "series",
                  label: str | None = "label", front: bool = True, title: str | None = None, figsize=None):
    """Test accuracy against each cost, on logarithmic x axes, one panel per cost.

    Runs of one series (e.g. one depth at several widths) are joined by a
    line, in order of cost. With ``front=True`` the runs on the
    :func:`cvtutor.metrics.pareto_front` of each panel are ringed in black: the others are
    beaten by a run that costs no more.

    Args:
        runs: list of dicts, each with ``"test_accuracy"`` (0..1), the
            ``series`` key (the legend entry), every key in ``costs``
            (positive numbers: ``"params"`` a count, ``"multiply_adds"`` per
            image, ``"train_seconds"`` seconds) and, if ``label`` is not None,
            a short text written beside the point (e.g. ``"w16"``).
        costs: the keys for the x axes, one panel each.
        series: the key that groups runs into lines.
        label: the key of each point's annotation, or None for none.
        front: ring the runs on each panel's Pareto front.
        title: a title over the figure, or None.
        figsize: inches; default 5.2 x 4 per panel.

    Returns:
        matplotlib.figure.Figure: one axes per cost (x: the cost, log scale; y: test
        accuracy in percent).

    Raises:
        TypeError: ``runs`` is not a list of dicts.
        ValueError: no runs, or no ``costs``; a run lacks a key; a cost that is not positive
            and finite, or an accuracy outside [0, 1].
    """
    costs = [costs] if isinstance(costs, str) else list(costs)
    if not costs:
        raise ValueError("costs must name at least one key, e.g. ('params', 'train_seconds')")
    needed = ["test_accuracy", series, *costs] + ([label] if label is not None else [])
    runs = _check_runs(runs, needed, "scaling_sweep")
    accuracy = _accuracies([r["test_accuracy"] for r in runs])
    names = list(dict.fromkeys(str(r[series]) for r in runs))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    markers = "osD^v<>p"
    fig, axes = plt.subplots(1, len(costs), figsize=figsize or _fit_page(5.2 * len(costs), 4.0), squeeze=False)
    for ax, key in zip(axes[0], costs):
        cost = _positive([r[key] for r in runs], key)
        for k, name in enumerate(names):
            idx = [i for i, r in enumerate(runs) if str(r[series]) == name]
            idx.sort(key=lambda i: cost[i])
            ax.plot(cost[idx], 100 * accuracy[idx], marker=markers[k % len(markers)], color=colors[k % len(colors)],
                    label=name, linewidth=1.2, markersize=6)
        if label is not None:
            for i, run in enumerate(runs):
                ax.annotate(str(run[label]), (cost[i], 100 * accuracy[i]), textcoords="offset points",
                            xytext=(4, -10), fontsize=7, color="0.3")
        if front:
            best = pareto_front(cost, accuracy)
            ax.scatter(cost[best], 100 * accuracy[best], s=150, facecolors="none", edgecolors="black",
                       linewidths=1.2, label="Pareto front", zorder=3)
        _set_log_x(ax, cost)
        ax.set(xlabel=AXIS_LABELS.get(key, key), ylabel="test accuracy (%)")
        ax.grid(True, alpha=0.25)
        ax.set_title(f"accuracy vs {AXIS_LABELS.get(key, key)}", fontsize=10)
    axes[0, 0].legend(fontsize=8, loc="best")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def model_sizes(models, quantities: Sequence[str] = ("params", "multiply_adds"), *, group: str = "group",
                label: str = "label", title: str | None = None, figsize=None):
    """Models side by side on logarithmic axes: one row per model, one panel per quantity.

    Each model is a dot on its row, coloured by its group (e.g. "this book" and "published");
    the rows are sorted by the first quantity, smallest at the bottom, and a model without a
    quantity (``None``) is left out of that panel only. The axes span as many powers of ten as
    the models do, so a model 1,000 times larger sits three decades to the right.

    Args:
        models: list of dicts, each with the ``label`` key (the row's name), the ``group`` key,
            and each key of ``quantities`` (a positive number, or None).
        quantities: the keys drawn, one panel each: ``"params"``, ``"multiply_adds"`` (per image).
        group: the key that colours the dots (the legend).
        label: the key of each row's name.
        title: a title over the figure, or None.
        figsize: inches; default 3.6 wide per panel plus the names, 0.3 per model high.

    Returns:
        matplotlib.figure.Figure with one axes per quantity.

    Raises:
        TypeError: ``models`` is not a list of dicts.
        ValueError: no models or no quantities; a model lacks a key; a quantity that is not
            positive and finite, or None for every model.
    """
    quantities = [quantities] if isinstance(quantities, str) else list(quantities)
    if not quantities:
        raise ValueError("quantities must name at least one key, e.g. ('params', 'multiply_adds')")
    models = _check_runs(models, [label, group, *quantities], "model_sizes")
    first = quantities[0]
    order = sorted(range(len(models)), key=lambda i: (models[i][first] is None, models[i][first] or 0))
    models = [models[i] for i in order]
    groups = list(dict.fromkeys(str(m[group]) for m in models))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    markers = "osD^v"
    height = max(2.5, 0.3 * len(models) + 1.0)
    fig, axes = plt.subplots(1, len(quantities), sharey=True, squeeze=False,
                             figsize=figsize or _fit_page(1.8 + 3.6 * len(quantities), height))
    rows = np.arange(len(models))
    for ax, key in zip(axes[0], quantities):
        present = [i for i, m in enumerate(models) if m[key] is not None]
        if not present:
            raise ValueError(f"no model has a value for {key!r}")
        values = _positive([models[i][key] for i in present], key)
        for k, name in enumerate(groups):
            idx = [j for j, i in enumerate(present) if str(models[i][group]) == name]
            ax.scatter(values[idx], rows[[present[j] for j in idx]], color=colors[k % len(colors)],
                       marker=markers[k % len(markers)], s=36, label=name, zorder=3)
        ax.hlines(rows[present], values.min() / 10, values, color="0.85", linewidth=0.8, zorder=1)
        low, high = values.min() / 2, values.max() * 2
        ax.set_xscale("log")
        ax.set_xlim(low, high)
        decades = list(range(int(np.ceil(np.log10(low))), int(np.floor(np.log10(high))) + 1))
        step = max(1, -(-len(decades) // 5))  # at most about five labels, whole powers of ten
        ticks = [10.0**d for d in decades[::step]] or log_ticks(low, high)
        ax.set_xticks(ticks)
        ax.set_xticklabels([_human(t) for t in ticks])
        ax.xaxis.set_minor_locator(NullLocator())
        ax.set_xlabel(AXIS_LABELS.get(key, key) + " (log scale)")
        ax.grid(True, axis="x", alpha=0.25)
    axes[0, 0].set_yticks(rows)
    axes[0, 0].set_yticklabels([str(m[label]) for m in models], fontsize=8)
    axes[0, 0].set_ylim(-0.6, len(models) - 0.4)
    axes[0, 0].legend(fontsize=8, loc="lower right")
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def learning_curves(runs, *, model: str = "model", chance: float | None = None, title: str | None = None,
                    figsize=(6.5, 4.2)):
    """Test accuracy against the number of training images, one line per model (log x axis).

    If a model has several runs at one training-set size (several seeds),
    the line goes through their mean and a vertical bar spans their minimum
    to maximum.

    Args:
        runs: list of dicts, each with ``"train_size"`` (positive int, images),
            ``"test_accuracy"`` (0..1) and the ``model`` key (the legend entry).
        model: the key naming each run's model.
        chance: accuracy of guessing (e.g. 0.1 for ten balanced classes),
            drawn as a dotted line; None for none.
        title: the title, or None.
        figsize: inches.

    Returns:
        matplotlib.figure.Figure: one axes, x training images (log scale), y test accuracy in percent.

    Raises:
        TypeError: ``runs`` is not a list of dicts, or ``chance`` not a number (nor None).
        ValueError: no runs, a run that lacks a key, a size that is not positive and finite,
            an accuracy outside [0, 1], or ``chance`` outside [0, 1].
    """
    runs = _check_runs(runs, ["train_size", "test_accuracy", model], "learning_curves")
    sizes = _positive([r["train_size"] for r in runs], "train_size")
    accuracy = _accuracies([r["test_accuracy"] for r in runs])
    if chance is not None:
        chance = checks.scalar("chance", chance, minimum=0, maximum=1)
    names = list(dict.fromkeys(str(r[model]) for r in runs))
    markers = "osD^v<>p"
    fig, ax = plt.subplots(figsize=figsize)
    for k, name in enumerate(names):
        mine = np.array([str(r[model]) == name for r in runs])
        xs = np.unique(sizes[mine])
        per_size = [accuracy[mine & (sizes == x)] for x in xs]
        mean = np.array([a.mean() for a in per_size])
        (line,) = ax.plot(xs, 100 * mean, marker=markers[k % len(markers)], label=name)
        spread = np.array([[a.mean() - a.min(), a.max() - a.mean()] for a in per_size]).T
        if np.any(spread > 0):
            ax.errorbar(xs, 100 * mean, yerr=100 * spread, fmt="none", ecolor=line.get_color(), capsize=3)
    if chance is not None:
        ax.axhline(100 * chance, color="0.5", linestyle=":", label="chance")
    ax.set_xscale("log")
    ax.set_xticks(np.unique(sizes))
    ax.set_xticklabels([f"{int(s):,}" for s in np.unique(sizes)], fontsize=8)
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set(xlabel=AXIS_LABELS["train_size"], ylabel="test accuracy (%)")
    ax.grid(True, alpha=0.25)
    ax.legend(fontsize=8)
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig


def position_similarity(embeddings, grid: tuple[int, int], positions: Sequence[int] | None = None,
                        limit: float | None = None, size: float = 1.9):
    """How similar each learned position embedding is to the others, drawn on the patch grid.

    One panel per chosen position: the cosine similarity between that
    position's embedding and every position's embedding, as a
    ``grid[0] x grid[1]`` image (the patch layout); the chosen position
    (whose similarity with itself is 1) is marked with a black dot. If the model has learned the 2-D layout of the
    patches, each panel shows a bright spot around its own position (figure 7
    of the ViT paper).

    Args:
        embeddings: (grid[0] * grid[1], D) position embeddings of the patch
            tokens, row by row (without the class token).
        grid: patches per column and per row, e.g. (8, 8) for 4x4 patches of a 32x32 image.
        positions: indices of the positions to show; default the four corners and the centre.
        limit: the colour scale runs from ``-limit`` to ``limit``; default the largest
            absolute similarity between two different positions in the panels, so that
            weak structure stays visible (the chosen positions themselves saturate).
        size: inches per panel.

    Returns:
        matplotlib.figure.Figure: one axes per position plus a colour bar (cosine similarity, ``-limit..limit``).

    Raises:
        TypeError: ``grid`` is not two integers, or ``limit`` not a number (nor None).
        ValueError: ``grid`` not two integers >= 1, ``embeddings`` not (rows * columns, D), a
            position outside the grid, or ``limit`` outside (0, 1].
    """
    embeddings = np.asarray(embeddings, dtype=float)
    rows, cols = checks.integers("grid", grid, 2, minimum=1, expected="(rows, columns)")
    if embeddings.ndim != 2 or embeddings.shape[0] != rows * cols:
        raise ValueError(f"embeddings must have shape ({rows * cols}, D) for a {rows}x{cols} grid, got {embeddings.shape}")
    if positions is None:
        positions = [0, cols - 1, (rows // 2) * cols + cols // 2, (rows - 1) * cols, rows * cols - 1]
    positions = list(dict.fromkeys(int(p) for p in positions))
    if not positions or any(not 0 <= p < rows * cols for p in positions):
        raise ValueError(f"positions must be indices in [0, {rows * cols}), got {positions}")
    similarity = cosine_similarity(embeddings)
    if limit is None:
        others = np.abs(similarity[positions]).copy()
        others[np.arange(len(positions)), positions] = 0.0
        limit = float(others.max()) if others.max() > 0 else 1.0
    else:
        limit = checks.scalar("limit", limit, minimum=0, maximum=1, include_minimum=False)
    fig, axes = plt.subplots(1, len(positions), figsize=_fit_page(size * len(positions) + 0.8, size + 0.4), squeeze=False)
    for ax, p in zip(axes[0], positions):
        shown = ax.imshow(similarity[p].reshape(rows, cols), cmap="RdBu_r", vmin=-limit, vmax=limit)
        ax.plot(p % cols, p // cols, "o", color="black", markersize=4)
        ax.set_title(f"patch ({p // cols}, {p % cols})", fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.colorbar(shown, ax=list(axes[0]), fraction=0.02, pad=0.02, label="cosine similarity")
    return fig
