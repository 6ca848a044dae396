"""Training curves, confusion matrices, mistakes and predictions of a trained model (chapter 1.4)."""

from __future__ import annotations

from collections.abc import Sequence

import numbers

import matplotlib.pyplot as plt
import numpy as np

from cvtutor import checks
from cvtutor.metrics import _check_labels, confusion_counts, top_confusions  # noqa: F401  (computed there; kept importable here)
from cvtutor.plots.images import _check_images, _fit_page, image_grid


def _history_of(run) -> dict:
    """The per-epoch history of ``run`` (a TrainResult or a Keras history dict), checked."""
    history = getattr(run, "history", run)
    if not isinstance(history, dict):
        raise TypeError(f"each run must be a TrainResult or a history dict, got {checks.describe(run)}")
    missing = {"loss", "accuracy"} - history.keys()
    if missing:
        raise ValueError(f"history needs per-epoch 'loss' and 'accuracy', missing {sorted(missing)}; got {sorted(history)}")
    epochs = len(history["loss"])
    for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
        if key in history and (np.ndim(history[key]) != 1 or len(history[key]) != epochs or epochs == 0):
            raise ValueError(f"history[{key!r}] must hold one value per epoch ({epochs} epochs, at least 1), "
                             f"got shape {np.shape(history[key])}")
    return history


def training_curves(*runs, labels: Sequence[str] | None = None, loss_scale: str = "linear", figsize=(9.5, 3.4)):
    """Loss and accuracy per epoch, on the training set (solid) and the validation set (dashed).

    Args:
        *runs: one or more :class:`cvtutor.training.TrainResult` or Keras history dicts
            (``{"loss": [...], "accuracy": [...], "val_loss": [...], "val_accuracy": [...]}``),
            one value per epoch: loss is the mean cross-entropy (nats per image), accuracy a
            fraction in 0..1 (drawn in percent). The ``val_`` entries are optional.
        labels: one legend label per run; default each run's ``name``, else "run 1", "run 2", ...
        loss_scale: ``"linear"`` or ``"log"``, the scale of the loss axis (log when runs differ
            by orders of magnitude).
        figsize: inches (scaled down to at most images.PAGE_WIDTH wide).

    Returns:
        matplotlib.figure.Figure: two axes, loss (left) and accuracy (right), against epochs 1..E.

    Raises:
        TypeError: a run is neither a TrainResult nor a dict, or ``loss_scale`` is not a string.
        ValueError: no runs, a history without per-epoch ``loss`` and ``accuracy`` (or with
            entries of other lengths), a ``labels`` of another length, or an unknown ``loss_scale``.
    """
    if not runs:
        raise ValueError("training_curves needs at least one run, got none")
    histories = [_history_of(run) for run in runs]
    if labels is None:
        labels = [getattr(run, "name", None) or f"run {i + 1}" for i, run in enumerate(runs)]
    if len(labels) != len(runs):
        raise ValueError(f"got {len(runs)} runs but {len(labels)} labels")
    checks.one_of("loss_scale", loss_scale, ("linear", "log"))
    fig, (loss_ax, acc_ax) = plt.subplots(1, 2, figsize=_fit_page(*figsize))
    loss_ax.set_yscale(loss_scale)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, (history, label) in enumerate(zip(histories, labels)):
        color = colors[i % len(colors)]
        epochs = np.arange(1, len(history["loss"]) + 1)
        for ax, key, scale in ((loss_ax, "loss", 1.0), (acc_ax, "accuracy", 100.0)):
            ax.plot(epochs, np.asarray(history[key]) * scale, "-o", ms=3, color=color, label=f"{label}: train")
            if f"val_{key}" in history:
                ax.plot(epochs, np.asarray(history[f"val_{key}"]) * scale, "--s", ms=3, color=color,
                        label=f"{label}: validation")
    loss_ax.set(xlabel="epoch", ylabel="cross-entropy loss (nats)", title="loss")
    acc_ax.set(xlabel="epoch", ylabel="accuracy (%)", title="accuracy")
    from matplotlib.ticker import MaxNLocator

    most_epochs = max(len(history["loss"]) for history in histories)
    for ax in (loss_ax, acc_ax):
        ax.grid(True, alpha=0.3)
        ax.set_xlim(0.5, most_epochs + 0.5)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
    acc_ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    return fig


def confusion_matrix(y_true, y_pred, class_names: Sequence[str], *, title: str | None = None, figsize=(13, 5.6)):
    """The confusion matrix twice: counts (left) and normalised per true class, in percent (right).

    Args:
        y_true: true labels, integers (N,).
        y_pred: predicted labels, integers (N,).
        class_names: C names; labels must be below C.
        title: figure title, or None.
        figsize: inches (scaled down to at most images.PAGE_WIDTH wide).

    Returns:
        A figure with two axes. In both, row i is the true class and column j the predicted
        class; the diagonal holds the correct predictions. Each cell is labelled with its value.

    Raises:
        ValueError: labels that are not integer arrays (N,) of one length, or not below C.
    """
    num_classes = len(class_names)
    counts = confusion_counts(y_true, y_pred, num_classes)
    rows = counts.sum(axis=1, keepdims=True)
    percent = 100.0 * counts / np.maximum(rows, 1)
    fig, axes = plt.subplots(1, 2, figsize=_fit_page(*figsize))
    for ax, values, fmt, panel in ((axes[0], counts, "d", "counts"),
                                   (axes[1], percent, ".0f", "% of each true class (rows sum to 100)")):
        ax.imshow(values, cmap="Blues", interpolation="nearest", vmin=0)
        top = values.max() if values.size else 0
        for i in range(num_classes):
            for j in range(num_classes):
                ax.text(j, i, format(values[i, j], fmt), ha="center", va="center", fontsize=7,
                        color="white" if top and values[i, j] > 0.6 * top else "black")
        ax.set_xticks(range(num_classes), class_names, rotation=45, ha="right", fontsize=8)
        ax.set_yticks(range(num_classes), class_names, fontsize=8)
        ax.set(xlabel="predicted class", ylabel="true class", title=panel)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def _check_probabilities(probs, n=None) -> np.ndarray:
    probs = np.asarray(probs, dtype=float)
    if probs.ndim != 2 or (n is not None and len(probs) != n):
        expected = "(N, C)" if n is None else f"({n}, C)"
        raise ValueError(f"probs must have shape {expected}, got {probs.shape}")
    if probs.size and (probs.min() < 0 or not np.allclose(probs.sum(axis=1), 1.0, atol=1e-3)):
        raise ValueError("probs must be probabilities (non-negative, rows summing to 1); "
                         "apply a softmax to logits first")
    return probs


def confident_mistakes(y_true, probs, n: int = 16) -> np.ndarray:
    """Indices of the wrongly classified images whose predicted class had the highest probability.

    Args:
        y_true: true labels, integers (N,).
        probs: predicted class probabilities (N, C), rows summing to 1.
        n: at most this many indices.

    Returns:
        Up to ``n`` indices into the N images, most confident mistake first.

    Raises:
        TypeError: ``n`` is not an integer.
        ValueError: ``n`` is negative, ``y_true`` is not integer labels (N,), or ``probs`` not
            (N, C) probabilities.
    """
    n = checks.scalar("n", n, numbers.Integral, minimum=0)
    y_true = _check_labels("y_true", y_true)
    probs = _check_probabilities(probs, len(y_true))
    predicted = probs.argmax(axis=1)
    wrong = np.flatnonzero(predicted != y_true)
    confidence = probs[wrong, predicted[wrong]]
    return wrong[np.argsort(-confidence, kind="stable")][:n]


def most_confident_mistakes(images, y_true, probs, class_names: Sequence[str], n: int = 16, columns: int = 8):
    """The ``n`` mistakes the model was surest of: each image titled with its predicted class,
    the probability the model gave it, and the true class.

    Args:
        images: (N, H, W, 3) uint8 0..255 or float 0..1.
        y_true: true labels (N,).
        probs: predicted probabilities (N, C), rows summing to 1.
        class_names: C names.
        n: how many mistakes to show (fewer if the model made fewer).
        columns: images per row.

    Raises:
        TypeError: ``n`` or ``columns`` is not an integer.
        ValueError: arrays of the wrong shapes or lengths, labels not below C, ``probs`` that
            are not probabilities over C classes, a negative ``n`` or ``columns`` below 1.
    """
    columns = checks.positive_int("columns", columns)
    images = _check_images(images)
    y_true = _check_labels("y_true", y_true, len(class_names))
    if len(images) != len(y_true):
        raise ValueError(f"got {len(images)} images but {len(y_true)} labels")
    probs = _check_probabilities(probs, len(images))
    if probs.shape[1] != len(class_names):
        raise ValueError(f"probs has {probs.shape[1]} classes but there are {len(class_names)} class names")
    chosen = confident_mistakes(y_true, probs, n)
    if len(chosen) == 0:
        fig, ax = plt.subplots(figsize=(4, 1))
        ax.axis("off")
        ax.text(0.5, 0.5, "no mistakes", ha="center", va="center")
        return fig
    predicted = probs[chosen].argmax(axis=1)
    titles = [f"{class_names[p]} {probs[i, p]:.2f}\ntrue: {class_names[y_true[i]]}" for i, p in zip(chosen, predicted)]
    columns = min(columns, len(chosen))
    fig = image_grid(images[chosen], titles, columns=columns, size=1.5, title_colors=["tab:red"] * len(chosen))
    return _room_for_two_line_titles(fig, len(chosen), columns, 1.5)


def predictions_grid(images, y_true, y_pred, class_names: Sequence[str], probs=None, columns: int = 8):
    """Images titled with the predicted class, green where right and red where wrong.

    Args:
        images: (N, H, W, 3) uint8 0..255 or float 0..1.
        y_true: true labels (N,).
        y_pred: predicted labels (N,).
        class_names: C names.
        probs: optional (N, C) probabilities; the predicted class's probability is shown.
        columns: images per row.

    Raises:
        TypeError: ``columns`` is not an integer.
        ValueError: arrays of the wrong shapes or lengths, labels not below C, ``probs`` that
            are not probabilities, or ``columns`` below 1.
    """
    images = _check_images(images)
    y_true = _check_labels("y_true", y_true, len(class_names))
    y_pred = _check_labels("y_pred", y_pred, len(class_names))
    if not len(images) == len(y_true) == len(y_pred):
        raise ValueError(f"got {len(images)} images, {len(y_true)} true and {len(y_pred)} predicted labels")
    if probs is not None:
        probs = _check_probabilities(probs, len(images))
    titles, colors = [], []
    for i, (t, p) in enumerate(zip(y_true, y_pred)):
        title = class_names[p] + ("" if probs is None else f" {probs[i, p]:.2f}")
        titles.append(title if t == p else f"{title}\ntrue: {class_names[t]}")
        colors.append("tab:green" if t == p else "tab:red")
    fig = image_grid(images, titles, columns=columns, size=1.5, title_colors=colors)
    return _room_for_two_line_titles(fig, len(images), columns, 1.5) if any("\n" in t for t in titles) else fig


def _room_for_two_line_titles(fig, n: int, columns: int, size: float):
    """Make an :func:`image_grid` figure taller so two-line titles do not overlap the row above."""
    rows = max(1, -(-n // columns))
    fig.set_size_inches(*_fit_page(columns * size, rows * (size + 0.55)))
    fig.tight_layout()
    return fig
