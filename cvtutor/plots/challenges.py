"""The cost of compute and of data, as figures (chapter 1.5.4).

- :func:`throughput`: measured images per second against multiply-adds per
  image, log-log, one point per model and per kind of step.
- :func:`accuracy_vs_data`: test accuracy against training-set size, log x,
  one line per architecture.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import math

import matplotlib.pyplot as plt
import numpy as np

from cvtutor import checks

__all__ = ["throughput", "accuracy_vs_data", "count_label"]

_MARKERS = ("o", "s", "^", "D", "v", "P", "X")


def count_label(n: float) -> str:
    """A short label for a count: 500 -> '500', 2000 -> '2k', 2500 -> '2.5k', 3e6 -> '3M'.

    Raises:
        TypeError: ``n`` is not a number.
        ValueError: ``n`` is negative, infinite or NaN.
    """
    n = checks.scalar("n", n, minimum=0, maximum=math.inf, include_maximum=False)
    for scale, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if n >= scale:
            return f"{n / scale:.3g}{suffix}"
    return f"{n:.3g}"


def _positive(name, values, length=None) -> np.ndarray:
    values = np.asarray(values, dtype=float)
    if values.ndim != 1 or (length is not None and len(values) != length):
        raise ValueError(f"{name} must be a 1-D sequence of {length if length is not None else 'N'} numbers, "
                         f"got shape {values.shape}")
    if not np.all(np.isfinite(values) & (values > 0)):
        raise ValueError(f"{name} must be positive and finite (plotted on a log scale), got {values.tolist()}")
    return values


def throughput(names: Sequence[str], multiply_adds, series: Mapping[str, Sequence[float]], *, ax=None,
               iso_rates: Sequence[float] = (), figsize=(6.4, 4.4)):
    """Images per second against multiply-adds per image, both on log scales.

    Args:
        names: N model names, written beside the first series' points.
        multiply_adds: N multiply-adds per image (a forward pass), positive.
        series: label -> N measured images per second (e.g. ``{"inference": ...,
            "training": ...}``), one marker style per series.
        ax: axes to draw on, or ``None`` for a new figure.
        iso_rates: multiply-adds per second to draw as dotted lines
            (``images/s = rate / multiply_adds``): points on one line keep the
            processor equally busy.
        figsize: inches, for a new figure.

    Returns:
        The ``matplotlib.figure.Figure``.

    Raises:
        TypeError: ``series`` is not a mapping.
        ValueError: ``series`` is empty, or ``multiply_adds``, a series or ``iso_rates`` is not a
            1-D sequence (of N numbers) that is positive and finite.
    """
    names = list(names)
    macs = _positive("multiply_adds", multiply_adds, len(names))
    what = "a non-empty mapping of label -> images per second"
    checks.instance("series", series, Mapping, what)
    if not series:
        raise ValueError(f"series must be {what}, got {series!r}")
    checked = {label: _positive(f"series[{label!r}]", values, len(names)) for label, values in series.items()}
    fig, ax = (plt.subplots(figsize=figsize) if ax is None else (ax.figure, ax))
    for k, (label, rate) in enumerate(checked.items()):
        ax.plot(macs, rate, linestyle="none", marker=_MARKERS[k % len(_MARKERS)], markersize=7, label=label)
    first = next(iter(checked.values()))
    for name, x, y in zip(names, macs, first):
        ax.annotate(name, (x, y), xytext=(6, 4), textcoords="offset points", fontsize=8)
    ax.set_xscale("log")
    ax.set_yscale("log")
    lo, hi = macs.min() / 2, macs.max() * 2
    rates = np.concatenate(list(checked.values()))
    bottom, top = rates.min() / 2, rates.max() * 2
    if iso_rates:
        xs = np.geomspace(lo, hi, 50)
        for rate in _positive("iso_rates", iso_rates):
            ax.plot(xs, rate / xs, linestyle=":", color="grey", linewidth=1)
            # the label where the line is inside the plotted range, as far right as possible
            inside = xs[(rate / xs >= bottom * 1.5) & (rate / xs <= top)]
            if len(inside):
                x = inside[-1]
                ax.annotate(f"{count_label(rate)} MAC/s", (x, rate / x), fontsize=7, color="grey",
                            xytext=(-3, 3), textcoords="offset points", ha="right", va="bottom")
    ax.set_xlim(lo, hi)
    ax.set_ylim(bottom, top)
    ax.set_xlabel("multiply-adds per image (forward pass)")
    ax.set_ylabel("images per second")
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def accuracy_vs_data(sizes, accuracies: Mapping[str, Sequence[float]], *, chance: float | None = None, ax=None,
                     figsize=(6.4, 4.2)):
    """Test accuracy (percent) against training-set size (log scale), one line per model.

    Args:
        sizes: S training-set sizes (images), positive and increasing.
        accuracies: label -> accuracies in [0, 1], either S values (one run
            per size) or an array ``(R, S)`` of R runs, drawn as their mean
            with a band from the lowest to the highest run.
        chance: accuracy of guessing (e.g. 0.1 for ten balanced classes),
            drawn as a dashed line; or ``None``.
        ax: axes to draw on, or ``None`` for a new figure.
        figsize: inches, for a new figure.

    Returns:
        The ``matplotlib.figure.Figure``; line ``i`` holds label ``i``'s mean accuracy in percent.

    Raises:
        TypeError: ``accuracies`` is not a mapping, or ``chance`` not a number (nor None).
        ValueError: ``sizes`` not positive, finite and increasing, ``accuracies`` empty or
            holding other than S fractions in [0, 1] per run, or ``chance`` outside [0, 1].
    """
    sizes = _positive("sizes", sizes)
    if np.any(np.diff(sizes) <= 0):
        raise ValueError(f"sizes must increase, got {sizes.tolist()}")
    what = "a non-empty mapping of label -> accuracies"
    checks.instance("accuracies", accuracies, Mapping, what)
    if not accuracies:
        raise ValueError(f"accuracies must be {what}, got {accuracies!r}")
    if chance is not None:
        chance = checks.scalar("chance", chance, minimum=0, maximum=1)
    fig, ax = (plt.subplots(figsize=figsize) if ax is None else (ax.figure, ax))
    for k, (label, values) in enumerate(accuracies.items()):
        runs = np.atleast_2d(np.asarray(values, dtype=float))
        if runs.ndim != 2 or runs.shape[1] != len(sizes):
            raise ValueError(f"accuracies[{label!r}] must hold {len(sizes)} values per run, got shape "
                             f"{np.asarray(values).shape}")
        if not np.all((runs >= 0) & (runs <= 1)):
            raise ValueError(f"accuracies[{label!r}] must be fractions in [0, 1], got {runs.tolist()}")
        (line,) = ax.plot(sizes, 100 * runs.mean(axis=0), marker=_MARKERS[k % len(_MARKERS)], label=label)
        if len(runs) > 1:
            ax.fill_between(sizes, 100 * runs.min(axis=0), 100 * runs.max(axis=0), color=line.get_color(), alpha=0.2)
    if chance is not None:
        ax.axhline(100 * chance, linestyle="--", color="grey", linewidth=1, label="chance")
    ax.set_xscale("log")
    ax.set_xticks(sizes)
    ax.set_xticklabels([count_label(s) for s in sizes])
    ax.minorticks_off()
    ax.set_xlabel("training images (log scale)")
    ax.set_ylabel("test accuracy (%)")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
