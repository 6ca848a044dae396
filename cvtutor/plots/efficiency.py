"""Seeds, label budgets, number formats and matching loss curves (chapter 1.5.3, more efficient training).

- :func:`seed_comparison`: one value per seed for each method, with mean and spread
  (knowledge distillation against training from scratch).
- :func:`accuracy_vs_labels`: test accuracy against labelled examples per class
  (transfer learning against training from scratch).
- :func:`float_formats`: the bit layouts of float32, float16 and bfloat16 (mixed precision).
- :func:`loss_curve_match`: two per-step loss curves and their difference
  (data-parallel training against one device).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import math

import matplotlib.pyplot as plt
import numpy as np

from cvtutor import checks


def _finite_1d(name, values) -> np.ndarray:
    """``values`` as a non-empty 1-D float array of finite numbers, or a ValueError naming ``name``."""
    try:
        array = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a sequence of numbers, got {type(values).__name__}") from None
    if array.ndim != 1 or array.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D sequence of numbers, got shape {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must hold finite numbers, got {array.tolist()}")
    return array


def _check_mapping(name, results) -> dict:
    what = "a non-empty dict of label -> values"
    checks.instance(name, results, Mapping, what)
    if not results:
        raise ValueError(f"{name} must be {what}, got {results!r}")
    return dict(results)


def _check_scale(scale) -> float:
    scale = checks.scalar("scale", scale, minimum=-math.inf, maximum=math.inf, include_minimum=False,
                          include_maximum=False)
    if scale == 0:
        raise ValueError("scale must be a finite number other than 0, got 0.0")
    return scale


def seed_comparison(results, *, scale: float = 100.0, ylabel: str = "test accuracy (%)", title: str | None = None,
                    figsize=(6.0, 3.8)):
    """Each run as a dot and each method's mean with a +-1 standard deviation bar.

    The spread across seeds is the yardstick a difference between methods has
    to beat: the figure puts both on one axis.

    Args:
        results: ``{method: values}``, one value per seed (e.g. test accuracy as a
            fraction 0..1), at least one value per method; methods are drawn left to right.
        scale: multiplies every value before drawing (100 draws fractions in percent).
        ylabel: label of the value axis (in the drawn units).
        title: axes title, or None.
        figsize: inches.

    Returns:
        matplotlib.figure.Figure: one axes, method ``i`` at ``x = i``; its runs are the points
        of the first collection per method, its mean +- standard deviation (ddof=1,
        0 for one run) an error bar.

    Raises:
        TypeError: ``results`` is not a mapping, or ``scale`` not a number.
        ValueError: ``results`` is empty or holds a method without finite values, or ``scale``
            is 0 or not finite.
    """
    results = _check_mapping("results", results)
    scale = _check_scale(scale)
    values = {str(k): _finite_1d(f"results[{k!r}]", v) * scale for k, v in results.items()}
    fig, ax = plt.subplots(figsize=figsize)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, (label, v) in enumerate(values.items()):
        color = colors[i % len(colors)]
        jitter = np.linspace(-0.08, 0.08, len(v)) if len(v) > 1 else np.zeros(1)
        ax.scatter(i - 0.18 + jitter, v, s=28, color=color, alpha=0.75, zorder=3,
                   label="one seed" if i == 0 else None)
        std = float(np.std(v, ddof=1)) if len(v) > 1 else 0.0
        ax.errorbar([i + 0.12], [v.mean()], yerr=[std], fmt="D", ms=7, color=color, ecolor=color,
                    capsize=6, lw=2, zorder=4, label="mean +- 1 std" if i == 0 else None)
        ax.annotate(f"{v.mean():.1f}", (i + 0.2, v.mean()), xytext=(6, 0), textcoords="offset points",
                    va="center", fontsize=9)
    ax.set_xticks(range(len(values)), list(values), fontsize=9)
    ax.set_xlim(-0.6, len(values) - 0.4)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.grid(True, axis="y", alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    fig.tight_layout()
    return fig


def accuracy_vs_labels(labels_per_class, curves, *, chance: float | None = None, scale: float = 100.0,
                       ylabel: str = "test accuracy (%)", figsize=(6.5, 4.0)):
    """Test accuracy against the number of labelled training examples per class, one line per method.

    Args:
        labels_per_class: K increasing positive integers, the x values (drawn on a log axis).
        curves: ``{method: accuracies}``, each of shape ``(K,)`` or ``(S, K)`` for S seeds
            (fractions 0..1 by default). With several seeds the line is the mean and a band
            spans the lowest to the highest seed.
        chance: the accuracy of guessing (e.g. 1/5 for five classes) drawn as a grey line, or None.
        scale: multiplies every accuracy before drawing (100 draws percent).
        ylabel: label of the accuracy axis.
        figsize: inches.

    Returns:
        A figure with one axes; each method is one line (in ``curves`` order) through
        its K mean accuracies.

    Raises:
        TypeError: ``curves`` is not a mapping, or ``chance`` or ``scale`` not a number.
        ValueError: ``labels_per_class`` not increasing positive integers, ``curves`` empty or
            holding a curve of another shape or with non-finite values, ``chance`` outside
            [0, 1], or ``scale`` 0 or not finite.
    """
    x = _finite_1d("labels_per_class", labels_per_class)
    if np.any(x <= 0) or np.any(np.diff(x) <= 0) or np.any(x != np.round(x)):
        raise ValueError(f"labels_per_class must be increasing positive integers, got {x.tolist()}")
    curves = _check_mapping("curves", curves)
    if chance is not None:
        chance = checks.scalar("chance", chance, minimum=0, maximum=1)
    scale = _check_scale(scale)
    fig, ax = plt.subplots(figsize=figsize)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    markers = "osD^v<>p"
    for i, (label, acc) in enumerate(curves.items()):
        acc = np.asarray(acc, dtype=float)
        if acc.ndim == 1:
            acc = acc[None]
        if acc.ndim != 2 or acc.shape[1] != len(x) or acc.shape[0] == 0:
            raise ValueError(f"curves[{label!r}] must have shape ({len(x)},) or (seeds, {len(x)}), got {acc.shape}")
        if not np.all(np.isfinite(acc)):
            raise ValueError(f"curves[{label!r}] must hold finite numbers")
        acc = acc * scale
        color = colors[i % len(colors)]
        ax.plot(x, acc.mean(axis=0), "-" + markers[i % len(markers)], color=color, label=str(label), ms=5)
        if acc.shape[0] > 1:
            ax.fill_between(x, acc.min(axis=0), acc.max(axis=0), color=color, alpha=0.15, lw=0)
    if chance is not None:
        ax.axhline(chance * scale, color="0.5", ls=":", lw=1.2, label="chance")
    ax.set_xscale("log")
    ax.set_xticks(x, [str(int(v)) for v in x])
    ax.minorticks_off()
    ax.set(xlabel="labelled training images per class", ylabel=ylabel)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    fig.tight_layout()
    return fig


DEFAULT_FORMATS = {"float32": (8, 23), "float16": (5, 10), "bfloat16": (8, 7)}


def float_formats(formats: Mapping[str, Sequence[int]] | None = None, figsize=(8.0, 2.6)):
    """The bit layout of floating-point formats: sign, exponent and mantissa bits, one row each.

    Exponent bits set the range (largest and smallest numbers), mantissa bits the
    precision (relative spacing of neighbouring numbers, ``2**-mantissa``).

    Args:
        formats: ``{name: (exponent_bits, mantissa_bits)}``, each a positive integer;
            one sign bit is added. Default: float32 (8, 23), float16 (5, 10), bfloat16 (8, 7).
        figsize: inches.

    Returns:
        matplotlib.figure.Figure: one axes, row ``i`` (top to bottom in ``formats`` order) holds
        three bars (sign, exponent, mantissa) whose widths are their bit counts.

    Raises:
        TypeError: ``formats`` is not a mapping, or an entry not two integers.
        ValueError: ``formats`` is empty, or an entry not two integers >= 1.
    """
    formats = DEFAULT_FORMATS if formats is None else _check_mapping("formats", formats)
    rows = []
    for name, bits in formats.items():
        exponent, mantissa = checks.integers(f"formats[{name!r}]", bits, 2, minimum=1,
                                             expected="(exponent_bits, mantissa_bits)")
        rows.append((str(name), exponent, mantissa))
    fig, ax = plt.subplots(figsize=figsize)
    parts = (("sign", "#d62728"), ("exponent", "#1f77b4"), ("mantissa", "#2ca02c"))
    widest = max(1 + e + m for _, e, m in rows)
    for row, (name, exponent, mantissa) in enumerate(rows):
        y, start = len(rows) - 1 - row, 0
        for (part, color), width in zip(parts, (1, exponent, mantissa)):
            ax.barh(y, width, left=start, color=color, edgecolor="white", height=0.6,
                    label=part if row == 0 else None)
            if width >= 2:
                ax.text(start + width / 2, y, str(width), ha="center", va="center", color="white", fontsize=9)
            start += width
        ax.text(start + 0.5, y, f"{1 + exponent + mantissa} bits", va="center", fontsize=9)
    ax.set_yticks(range(len(rows)), [name for name, _, _ in reversed(rows)])
    ax.set_xlim(0, widest + 6)
    ax.set_xlabel("bits")
    ax.legend(ncol=3, fontsize=8, loc="lower right", bbox_to_anchor=(1.0, 1.0), frameon=False)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    fig.tight_layout()
    return fig


def loss_curve_match(losses, reference, *, labels=("2 devices", "1 device"), steps_per_epoch: int | None = None,
                     figsize=(10.0, 3.6)):
    """Two runs' per-step training losses (left) and their relative difference (right, log axis).

    Args:
        losses, reference: per-step losses of the two runs, same length T >= 1 (nats).
        labels: legend labels of ``losses`` and ``reference``.
        steps_per_epoch: draw a vertical line at each epoch boundary, or None.
        figsize: inches.

    Returns:
        matplotlib.figure.Figure: two axes, the two curves against steps 1..T, and
        ``|losses - reference| / |reference|`` (exact zeros are drawn at 1e-9, marked
        in the legend).

    Raises:
        TypeError: ``steps_per_epoch`` is not an integer (nor None).
        ValueError: ``losses`` or ``reference`` not a non-empty 1-D sequence of finite numbers,
            the two of different lengths, ``labels`` not two, or ``steps_per_epoch`` below 1.
    """
    a, b = _finite_1d("losses", losses), _finite_1d("reference", reference)
    if a.shape != b.shape:
        raise ValueError(f"losses and reference must have the same length, got {len(a)} and {len(b)}")
    if len(labels) != 2:
        raise ValueError(f"labels must be two strings, got {labels!r}")
    if steps_per_epoch is not None:
        steps_per_epoch = checks.positive_int("steps_per_epoch", steps_per_epoch)
    steps = np.arange(1, len(a) + 1)
    fig, (curve_ax, diff_ax) = plt.subplots(1, 2, figsize=figsize)
    curve_ax.plot(steps, b, "-", lw=3, color="0.7", label=labels[1])
    curve_ax.plot(steps, a, "--", lw=1.5, color="#1f77b4", label=labels[0])
    curve_ax.set(xlabel="training step", ylabel="training loss (nats, running mean)", title="loss per step")
    curve_ax.legend(fontsize=8)
    floor = 1e-9
    with np.errstate(divide="ignore", invalid="ignore"):
        relative = np.abs(a - b) / np.abs(b)
    relative = np.where(np.isfinite(relative), relative, np.abs(a - b))
    zero = relative == 0
    diff_ax.semilogy(steps, np.maximum(relative, floor), ".-", color="#d62728", ms=4, lw=1,
                     label="|difference| / loss")
    if zero.any():
        diff_ax.semilogy(steps[zero], np.full(zero.sum(), floor), "o", mfc="none", color="#d62728",
                         label="exactly equal (drawn at 1e-9)")
    diff_ax.set(xlabel="training step", ylabel="relative difference", title="difference between the runs")
    diff_ax.legend(fontsize=8)
    for ax in (curve_ax, diff_ax):
        ax.grid(True, alpha=0.3)
        if steps_per_epoch is not None:
            for boundary in range(steps_per_epoch, len(a), steps_per_epoch):
                ax.axvline(boundary + 0.5, color="0.6", lw=0.8, ls=":")
    fig.tight_layout()
    return fig
