"""Images and datasets: labelled image grids, class grids, channel histograms, the milestones timeline (chapter 1.1)."""

from __future__ import annotations

import csv
import os
from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np


def _check_images(images) -> np.ndarray:
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[-1] not in (1, 3):
        raise ValueError(f"images must have shape (N, H, W, 1 or 3), got {images.shape}")
    return images


def image_grid(
    images,
    titles: Sequence[str] | None = None,
    *,
    columns: int = 8,
    size: float = 1.3,
    title_colors: Sequence[str] | None = None,
):
    """Images in a grid, each with an optional title.

    Args:
        images: (N, H, W, 3) uint8 0..255 or float 0..1 (a 1-channel image is shown in grey).
        titles: N captions, or None.
        columns: images per row.
        size: inches per image.
        title_colors: N matplotlib colours for the captions (e.g. green right, red wrong).
    """
    images = _check_images(images)
    if titles is not None and len(titles) != len(images):
        raise ValueError(f"got {len(images)} images but {len(titles)} titles")
    rows = max(1, -(-len(images) // columns))
    fig, axes = plt.subplots(rows, columns, figsize=(columns * size, rows * (size + 0.25)), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i >= len(images):
            continue
        image = images[i]
        ax.imshow(image[..., 0] if image.shape[-1] == 1 else image, cmap="gray" if image.shape[-1] == 1 else None)
        if titles is not None:
            colour = {} if title_colors is None else {"color": title_colors[i]}
            ax.set_title(titles[i], fontsize=8, **colour)
    fig.tight_layout()
    return fig


def class_grid(x, y, class_names: Sequence[str], per_class: int = 8, seed: int = 0):
    """``per_class`` random examples of every class, one class per row, labelled on the left.

    Args:
        x: images (N, H, W, 3); y: integer labels (N,).
    """
    x = _check_images(x)
    y = np.asarray(y)
    rng = np.random.default_rng(seed)
    fig, axes = plt.subplots(len(class_names), per_class, figsize=(per_class * 0.9, len(class_names) * 0.95))
    for row, name in enumerate(class_names):
        members = np.flatnonzero(y == row)
        if len(members) < per_class:
            raise ValueError(f"class {name!r} has {len(members)} examples, fewer than per_class={per_class}")
        for col, index in enumerate(rng.choice(members, per_class, replace=False)):
            ax = axes[row, col]
            ax.imshow(x[index])
            ax.set_xticks([])
            ax.set_yticks([])
            if col == 0:
                ax.set_ylabel(name, rotation=0, ha="right", va="center", fontsize=9)
    fig.subplots_adjust(wspace=0.05, hspace=0.05, left=0.2)
    return fig


def channel_histograms(x, bins: int = 64):
    """Histogram of pixel values per colour channel, with each channel's mean and std in the legend.

    Args:
        x: uint8 images (N, H, W, 3).
    """
    x = _check_images(x)
    fig, ax = plt.subplots(figsize=(6, 3))
    for c, color in enumerate(("red", "green", "blue")):
        values = x[..., c].ravel()
        ax.hist(values, bins=bins, range=(0, 255), histtype="step", color=color, density=True,
                label=f"{color}: mean {values.mean():.1f}, std {values.std():.1f}")
    ax.set_xlabel("pixel value (0-255)")
    ax.set_ylabel("density")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def read_milestones(path: str | os.PathLike) -> list[dict]:
    """Rows of a milestones CSV (model, year, params_millions, imagenet_top1, source, note), typed."""
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    required = {"model", "year", "params_millions", "imagenet_top1", "source"}
    if not rows or not required <= rows[0].keys():
        raise ValueError(f"{path}: expected columns {sorted(required)}, got {sorted(rows[0]) if rows else 'no rows'}")
    for row in rows:
        row["year"] = int(row["year"])
        row["params_millions"] = float(row["params_millions"])
        row["imagenet_top1"] = float(row["imagenet_top1"])
    return rows


def milestones(rows: Sequence[dict]):
    """Two panels: parameters (log scale) by year, and ImageNet top-1 accuracy against parameters."""
    years = np.array([r["year"] for r in rows])
    params = np.array([r["params_millions"] for r in rows])
    top1 = np.array([r["imagenet_top1"] for r in rows])
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    left.scatter(years, params, c=top1, cmap="viridis", s=40, zorder=3)
    right.scatter(params, top1, c=years, cmap="plasma", s=40, zorder=3)
    for r in rows:
        left.annotate(r["model"], (r["year"], r["params_millions"]), fontsize=7, xytext=(4, 3), textcoords="offset points")
        right.annotate(r["model"], (r["params_millions"], r["imagenet_top1"]), fontsize=7, xytext=(4, -8), textcoords="offset points")
    left.set(yscale="log", xlabel="year of publication", ylabel="parameters (millions, log scale)",
             title="Vision models kept growing")
    right.set(xscale="log", xlabel="parameters (millions, log scale)", ylabel="ImageNet top-1 accuracy (%)",
              title="...and accuracy rose with them")
    for ax in (left, right):
        ax.grid(True, which="major", alpha=0.3)
    fig.tight_layout()
    return fig
