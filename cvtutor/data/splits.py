"""Holding out a validation set from the training data, class by class.

Per-epoch monitoring and every choice made while training (a learning rate, a
schedule, when to stop) are judged on a validation set carved from the
training images; the test set is evaluated once, at the end, so that its
figure estimates accuracy on unseen images (Hastie, Tibshirani and Friedman,
*The Elements of Statistical Learning*, 2nd ed., section 7.2; scikit-learn's
``train_test_split(..., stratify=y)`` draws the same kind of split).
"""

from __future__ import annotations

import numbers

import numpy as np

from cvtutor import checks

#: Fraction of each class's training images that :func:`cvtutor.training.fit` holds out for validation.
VALIDATION_SPLIT = 0.1

#: The seed of that split: fixed, so that runs with different training seeds validate on the same images.
VALIDATION_SEED = 0


def validation_count(n: int, fraction: float) -> int:
    """How many of a class's ``n`` examples go to validation: round(n * fraction), at least 1 and at
    most n - 1 (a class of one example stays in training); 0 when ``fraction`` is 0."""
    if fraction == 0 or n < 2:
        return 0
    return min(max(1, int(np.floor(n * fraction + 0.5))), n - 1)


def held_out_count(labels, fraction: float | None = VALIDATION_SPLIT) -> int:
    """How many of the examples with these class ``labels`` (shape (N,)) :func:`split_validation`
    holds out: the sum of :func:`validation_count` over the classes (``fraction=None``:
    :data:`VALIDATION_SPLIT`, as :func:`cvtutor.training.fit` reads it)."""
    fraction = VALIDATION_SPLIT if fraction is None else fraction
    counts = np.unique(np.asarray(labels), return_counts=True)[1]
    return sum(validation_count(int(n), float(fraction)) for n in counts)


def trained_count(labels, fraction: float | None = VALIDATION_SPLIT) -> int:
    """How many of the examples with these class ``labels`` remain to train on once
    :func:`split_validation` holds out ``fraction`` (``None``: :data:`VALIDATION_SPLIT`): what a
    learning-rate schedule's step count and a run's record need."""
    return len(np.asarray(labels)) - held_out_count(labels, fraction)


def split_validation(images, labels, fraction: float = VALIDATION_SPLIT, seed: int = VALIDATION_SEED):
    """Split ``(images, labels)`` into training and validation sets, stratified by class.

    Each class is split on its own: of its n examples, :func:`validation_count`
    go to validation, drawn with ``seed``, so every class with 2 or more
    examples is in both sets and the split is the same on every call. Both
    sets keep the examples' original order.

    Args:
        images: array (N, ...), e.g. uint8 (N, 32, 32, 3).
        labels: integer class labels, shape (N,).
        fraction: share of each class held out, 0 <= fraction < 1 (0: no validation set).
        seed: non-negative integer.

    Returns:
        ``((train_images, train_labels), (validation_images, validation_labels))``.

    Raises:
        TypeError: ``fraction`` is not a number, or ``seed`` not an integer.
        ValueError: ``fraction`` outside [0, 1), a negative ``seed``, or labels that are not N integers.
    """
    # named as what it is, since fit and start_run pass their validation_split here
    fraction = checks.rate("validation fraction", fraction)
    seed = checks.scalar("seed", seed, numbers.Integral, minimum=0)
    images, labels = np.asarray(images), np.asarray(labels)
    if labels.shape != (len(images),) or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"labels must be {len(images)} integers of shape ({len(images)},), "
                         f"got {labels.dtype} of shape {labels.shape}")
    rng = np.random.default_rng(seed)
    held_out = np.zeros(len(labels), dtype=bool)
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        held_out[rng.permutation(members)[:validation_count(len(members), fraction)]] = True
    return (images[~held_out], labels[~held_out]), (images[held_out], labels[held_out])
