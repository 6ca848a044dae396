"""Images and datasets: labelled image grids, class grids, channel histograms, the milestones timeline (chapter 1.1)."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np

from cvtutor import checks

# The widest figure, in inches, that a page shows without shrinking its text much: the book's
# content column is about 690 px wide at 1280 px, and matplotlib draws 100 px per inch, so a
# wider figure is scaled down and its 10-point labels become hard to read (tests/test_browser.py
# fails on a figure shown at less than 1/1.6 of its size).
PAGE_WIDTH = 9.5


def _fit_page(width: float, height: float) -> tuple[float, float]:
    """``(width, height)`` in inches, scaled down together to at most :data:`PAGE_WIDTH` wide
    (the text keeps its point size, so it grows relative to the panels)."""
    if width <= PAGE_WIDTH:
        return width, height
    return PAGE_WIDTH, height * PAGE_WIDTH / width


def _check_images(images) -> np.ndarray:
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[-1] not in (1, 3):
        raise ValueError(f"images must have shape (N, H, W, 1 or 3), got {images.shape}")
    return images


def _show_image(ax, image, **kwargs):
    """``imshow`` one (H, W, 1 or 3) image: colour as is, one channel in grey on the absolute scale
    (0..255 for integers, 0..1 for floats) rather than stretched from its own darkest to brightest pixel."""
    if image.shape[-1] == 1:
        top = 255 if np.issubdtype(image.dtype, np.integer) else 1.0
        return ax.imshow(image[..., 0], cmap="gray", vmin=0, vmax=top, **kwargs)
    return ax.imshow(image, **kwargs)


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

    Raises:
        TypeError: ``columns`` is not an integer.
        ValueError: ``images`` are not (N, H, W, 1 or 3), ``titles`` or ``title_colors`` is not
            N long, or ``columns`` is below 1.
    """
    images = _check_images(images)
    if titles is not None and len(titles) != len(images):
        raise ValueError(f"got {len(images)} images but {len(titles)} titles")
    if title_colors is not None and len(title_colors) != len(images):
        raise ValueError(f"got {len(images)} images but {len(title_colors)} title_colors")
    columns = checks.positive_int("columns", columns)
    rows = max(1, -(-len(images) // columns))
    # Room above each row for its captions: a title of k lines needs k - 1 more lines than the usual one.
    extra_lines = max((str(t).count("\n") for t in titles), default=0) if titles is not None else 0
    fig, axes = plt.subplots(rows, columns, figsize=_fit_page(columns * size, rows * (size + 0.25 + 0.15 * extra_lines)),
                             squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i >= len(images):
            continue
        _show_image(ax, images[i])
        if titles is not None:
            colour = {} if title_colors is None else {"color": title_colors[i]}
            ax.set_title(titles[i], fontsize=8, **colour)
    fig.tight_layout()
    return fig


def class_grid(x, y, class_names: Sequence[str], per_class: int = 8, seed: int = 0):
    """``per_class`` random examples of every class, one class per row, labelled on the left.

    Args:
        x: images (N, H, W, 3) (or (N, H, W, 1), shown in grey); y: integer labels (N,).

    Raises:
        TypeError: ``per_class`` is not an integer.
        ValueError: ``x`` or ``y`` of the wrong shape, no ``class_names``, ``per_class`` below 1,
            or a class with fewer than ``per_class`` examples.
    """
    x = _check_images(x)
    y = np.asarray(y)
    if y.shape not in ((len(x),), (len(x), 1)):
        raise ValueError(f"y must have shape ({len(x)},) or ({len(x)}, 1), one label per image, got {y.shape}")
    y = y.reshape(-1)
    per_class = checks.positive_int("per_class", per_class)
    if not len(class_names):
        raise ValueError(f"class_names must name at least one class, got {list(class_names)!r}")
    for row, name in enumerate(class_names):
        count = np.count_nonzero(y == row)
        if count < per_class:
            raise ValueError(f"class {name!r} has {count} examples, fewer than per_class={per_class}")
    rng = np.random.default_rng(seed)
    fig, axes = plt.subplots(len(class_names), per_class, figsize=(per_class * 0.9, len(class_names) * 0.95),
                             squeeze=False)
    for row, name in enumerate(class_names):
        members = np.flatnonzero(y == row)
        for col, index in enumerate(rng.choice(members, per_class, replace=False)):
            ax = axes[row, col]
            _show_image(ax, x[index])
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

    Raises:
        ValueError: ``x`` is not (N, H, W, 3).
    """
    x = _check_images(x)
    if x.shape[-1] != 3:
        raise ValueError(f"channel_histograms needs colour images (N, H, W, 3), got {x.shape}")
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


def milestones(rows: Sequence[dict]):
    """Two panels: parameters (log scale) by year, coloured by ImageNet top-1 accuracy, and that
    accuracy against parameters, coloured by year; each colour scale has its colour bar."""
    years = np.array([r["year"] for r in rows])
    params = np.array([r["params_millions"] for r in rows])
    top1 = np.array([r["imagenet_top1"] for r in rows])
    fig, (left, right) = plt.subplots(1, 2, figsize=_fit_page(11, 4))
    by_accuracy = left.scatter(years, params, c=top1, cmap="viridis", s=40, zorder=3)
    by_year = right.scatter(params, top1, c=years, cmap="plasma", s=40, zorder=3)
    fig.colorbar(by_accuracy, ax=left, label="ImageNet top-1 accuracy (%)")
    fig.colorbar(by_year, ax=right, label="year of publication")
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
