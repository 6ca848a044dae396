"""Time-to-accuracy curves of benchmark records (the results appendix)."""

from __future__ import annotations

import matplotlib.pyplot as plt

from cvtutor.records import target_point


def time_to_accuracy_curves(records, *, targets: dict | None = None, title: str | None = None, figsize=(9, 4.8),
                            baseline: str = "tf-tutorial"):
    """Test accuracy (%) against wall-clock seconds since start, one line per record.

    Records of one recipe share a colour (one line per seed); a dotted
    horizontal line marks each recipe's target accuracy and a dotted vertical
    one its time budget.

    Args:
        records: benchmark records (see :mod:`cvtutor.records`); each needs
            ``recipe``, ``seed`` and ``curve`` (``seconds``, ``test_accuracy`` in 0..1).
        targets: ``{recipe: (accuracy 0..1, seconds)}`` to mark; default: each
            record's own ``target`` where it has one
            (:func:`cvtutor.records.target_point`: a target relative to the baseline
            is drawn at the baseline's times among ``records``, and not drawn without it).
        title: the axes title.
        baseline: the recipe whose records relative targets are measured against
            (pass the records of one run).

    Returns:
        the figure.

    Raises:
        ValueError: no records, or a record without a curve.
    """
    records = list(records)
    if not records:
        raise ValueError("time_to_accuracy_curves needs at least one record, got none")
    for record in records:
        if not record.get("curve"):
            raise ValueError(f"record of recipe {record.get('recipe')!r} seed {record.get('seed')!r} has no curve")
    recipes = list(dict.fromkeys(r["recipe"] for r in records))
    if targets is None:
        runs = [r for r in records if r["recipe"] == baseline]
        targets = {r["recipe"]: target_point(r["target"], runs) for r in records if r.get("target")}
        targets = {recipe: point for recipe, point in targets.items() if point is not None}
    colors = {recipe: f"C{i % 10}" for i, recipe in enumerate(recipes)}
    fig, ax = plt.subplots(figsize=figsize, layout="constrained")
    labelled = set()
    for record in records:
        recipe = record["recipe"]
        seconds = [0.0] + [p["seconds"] for p in record["curve"]]
        accuracy = [10.0] + [100 * p["test_accuracy"] for p in record["curve"]]  # chance level at the start
        ax.plot(seconds, accuracy, marker="o", markersize=3, color=colors[recipe],
                label=None if recipe in labelled else recipe)
        labelled.add(recipe)
    for recipe, (accuracy, seconds) in targets.items():
        color = colors.get(recipe, "0.4")
        ax.axhline(100 * accuracy, color=color, linestyle=":", linewidth=1)
        ax.axvline(seconds, color=color, linestyle=":", linewidth=1)
    ax.set_xlabel("wall-clock seconds since start (data loading included)")
    ax.set_ylabel("test accuracy (%)")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    if title:
        ax.set_title(title)
    return fig
