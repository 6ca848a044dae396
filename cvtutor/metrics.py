"""Metrics in NumPy: confusion counts, per-class accuracy, the most confused pairs; the Pareto
front of a sweep of runs (accuracy against cost) and cosine similarity.

Computing lives here and drawing in :mod:`cvtutor.plots`, so the command line
evaluates a model without matplotlib. Labels are integer class indices
``0 .. C-1`` of shape ``(N,)``; in a confusion matrix row ``i`` is the true
class and column ``j`` the predicted one (scikit-learn's layout).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from cvtutor import checks

__all__ = ["confusion_counts", "per_class_accuracy", "top_confusions", "top_k", "pareto_front", "cosine_similarity"]


def _check_labels(name, labels, num_classes=None) -> np.ndarray:
    """``labels`` as an integer array (N,), or ``ValueError`` naming ``name`` and what arrived."""
    labels = np.asarray(labels)
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"{name} must be integer class labels of shape (N,), got {labels.dtype} of shape {labels.shape}")
    if labels.size and labels.min() < 0:
        raise ValueError(f"{name} must be non-negative class indices, got {labels.min()}")
    if num_classes is not None and labels.size and labels.max() >= num_classes:
        raise ValueError(f"{name} holds class {labels.max()} but num_classes is {num_classes}")
    return labels


def confusion_counts(y_true, y_pred, num_classes: int | None = None) -> np.ndarray:
    """The confusion matrix as counts: ``counts[i, j]`` images of class i predicted as class j.

    Args:
        y_true: true labels, integers (N,).
        y_pred: predicted labels, integers (N,).
        num_classes: C; default ``max(y_true, y_pred) + 1``.

    Returns:
        An int64 array (C, C); row i sums to the number of images of class i.

    Raises:
        ValueError: labels that are not integers (N,), negative, or not below ``num_classes``;
            ``y_true`` and ``y_pred`` of different lengths.
    """
    y_true = _check_labels("y_true", y_true, num_classes)
    y_pred = _check_labels("y_pred", y_pred, num_classes)
    if len(y_true) != len(y_pred):
        raise ValueError(f"y_true and y_pred differ in length: {len(y_true)} and {len(y_pred)}")
    if num_classes is None:
        num_classes = int(max(y_true.max(initial=0), y_pred.max(initial=0))) + 1
    flat = y_true.astype(np.int64) * num_classes + y_pred
    return np.bincount(flat, minlength=num_classes * num_classes).reshape(num_classes, num_classes)


def per_class_accuracy(counts) -> np.ndarray:
    """Accuracy on each true class (recall): the diagonal over the row sums of a confusion matrix.

    Args:
        counts: (C, C) counts from :func:`confusion_counts`.

    Returns:
        float64 (C,), in 0..1; NaN for a class with no images (no row to divide by).

    Raises:
        ValueError: ``counts`` is not a square matrix.
    """
    counts = np.asarray(counts)
    if counts.ndim != 2 or counts.shape[0] != counts.shape[1]:
        raise ValueError(f"counts must be a (C, C) confusion matrix, got shape {counts.shape}")
    rows = counts.sum(axis=1).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(rows > 0, counts.diagonal() / np.where(rows > 0, rows, 1.0), np.nan)


def top_confusions(counts, class_names: Sequence[str], k: int = 5) -> list[dict]:
    """The ``k`` largest off-diagonal cells of a confusion matrix, largest first.

    Args:
        counts: (C, C) counts, rows true classes, columns predicted (see :func:`confusion_counts`).
        class_names: C names.
        k: how many pairs to return.

    Returns:
        ``k`` dicts ``{"true", "predicted", "count", "rate"}``; ``rate`` is the count as a
        fraction of all images of the true class (0..1). Ties keep row-major order.

    Raises:
        ValueError: ``counts`` is not (C, C) for the C names.
    """
    counts = np.asarray(counts)
    if counts.ndim != 2 or counts.shape[0] != counts.shape[1] or len(class_names) != counts.shape[0]:
        raise ValueError(f"counts must be (C, C) with C = {len(class_names)} class names, got {counts.shape}")
    off = counts.astype(float).copy()
    np.fill_diagonal(off, -np.inf)
    order = np.argsort(-off, axis=None, kind="stable")[:k]
    rows = counts.sum(axis=1)
    out = []
    for flat in order:
        i, j = divmod(int(flat), counts.shape[1])
        out.append({"true": class_names[i], "predicted": class_names[j], "count": int(counts[i, j]),
                    "rate": float(counts[i, j] / rows[i]) if rows[i] else 0.0})
    return out


def top_k(probabilities, k: int) -> np.ndarray:
    """The indices of each row's ``k`` highest probabilities, highest first (ties: lower index first).

    Args:
        probabilities: (N, C) scores.
        k: how many per row; more than C gives all C (never an error).

    Returns:
        int64 (N, min(k, C)).

    Raises:
        TypeError: ``k`` is not an integer.
        ValueError: ``probabilities`` is not 2-D or ``k`` is below 1.
    """
    probabilities = np.asarray(probabilities)
    if probabilities.ndim != 2:
        raise ValueError(f"probabilities must be (N, C), got shape {probabilities.shape}")
    k = checks.positive_int("k", k)
    return np.argsort(-probabilities, axis=1, kind="stable")[:, : min(k, probabilities.shape[1])]


def pareto_front(cost, accuracy) -> np.ndarray:
    """The runs that no cheaper (or equally cheap) run matches in accuracy.

    Run ``i`` is on the front when every run with ``cost <= cost[i]`` (other
    than ``i``) has a lower accuracy. Going along the front, each step buys
    more accuracy with more cost; a run off the front is beaten by a run that
    costs no more.

    Args:
        cost: (N,) costs (parameters, seconds, multiply-adds; any units).
        accuracy: (N,) accuracies (any units, higher is better).

    Returns:
        The indices of the front's runs, (K,) ints, ordered by cost.

    Raises:
        ValueError: ``cost`` and ``accuracy`` are not non-empty 1-D arrays of one length, or
            hold NaN or infinities.
    """
    cost = np.asarray(cost, dtype=float)
    accuracy = np.asarray(accuracy, dtype=float)
    if cost.ndim != 1 or accuracy.shape != cost.shape or cost.size == 0:
        raise ValueError(f"cost and accuracy must be non-empty 1-D arrays of one length, got {cost.shape} and {accuracy.shape}")
    if not (np.all(np.isfinite(cost)) and np.all(np.isfinite(accuracy))):
        raise ValueError("cost and accuracy must be finite")
    # By cost, ties broken by higher accuracy first; a run joins if it beats all before it.
    order = np.lexsort((-accuracy, cost))
    front, best = [], -np.inf
    for i in order:
        if accuracy[i] > best:
            front.append(int(i))
            best = accuracy[i]
    return np.array(front, dtype=int)


def cosine_similarity(vectors) -> np.ndarray:
    """Cosine similarity of every pair of rows: (N, D) -> (N, N), values in [-1, 1].

    Raises:
        ValueError: ``vectors`` is not a non-empty (N, D) array, or a row is all zeros.
    """
    vectors = np.asarray(vectors, dtype=float)
    if vectors.ndim != 2 or vectors.shape[0] == 0 or vectors.shape[1] == 0:
        raise ValueError(f"vectors must be a non-empty (N, D) array, got shape {vectors.shape}")
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    if np.any(norms == 0):
        raise ValueError("every vector must be non-zero to have a cosine similarity")
    unit = vectors / norms
    return np.clip(unit @ unit.T, -1.0, 1.0)
