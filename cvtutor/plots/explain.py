"""Explanation maps drawn over the images they explain (chapter 1.5.4).

The maps come from :mod:`cvtutor.explain` (saliency, Grad-CAM, attention maps,
attention rollout): arrays shaped like the images without their channels,
``(H, W)`` or ``(N, H, W)``, with values in [0, 1]. These functions draw them
as heat maps on top of the images, so that the maps of several methods (or of
a trained and an untrained model) can be compared image by image.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np

from cvtutor import checks
from cvtutor.plots.images import _fit_page

__all__ = ["overlay", "explanation_grid"]


def _as_display(image) -> np.ndarray:
    """One image (H, W, 3) or (H, W, 1), uint8 0..255 or float 0..1, as float (H, W, 3) in [0, 1]."""
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[-1] not in (1, 3):
        raise ValueError(f"image must have shape (H, W, 3) or (H, W, 1), got {image.shape}")
    image = image.astype(np.float32) / 255 if image.dtype == np.uint8 else np.clip(image.astype(np.float32), 0, 1)
    return np.repeat(image, 3, axis=-1) if image.shape[-1] == 1 else image


def _check_heat(heat, shape) -> np.ndarray:
    heat = np.asarray(heat, dtype=np.float32)
    if heat.shape != tuple(shape):
        raise ValueError(f"the map must have the image's height and width {tuple(shape)}, got shape {heat.shape}")
    if not np.all(np.isfinite(heat)):
        raise ValueError("the map holds NaN or infinite values")
    return heat


def _stretched(heat: np.ndarray) -> np.ndarray:
    """``heat`` rescaled from its own minimum (0) to its maximum (1); all zeros if it is constant."""
    low, high = float(heat.min()), float(heat.max())
    return np.zeros_like(heat) if high <= low else (heat - low) / (high - low)


def overlay(image, heat, ax=None, *, alpha: float = 0.5, title: str | None = None, cmap: str = "turbo",
            colorbar: bool = False, title_color: str | None = None, stretch: bool = False):
    """One explanation map drawn as a heat map over its image.

    Args:
        image: ``(H, W, 3)`` (or ``(H, W, 1)``), uint8 0..255 or float 0..1.
        heat: ``(H, W)`` map, values in [0, 1] (as :mod:`cvtutor.explain`
            returns them); the colour scale is fixed to [0, 1], so maps drawn
            with this function can be compared with each other.
        ax: the axes to draw on, or ``None`` for a new figure.
        alpha: opacity of the heat map, in [0, 1] (0 shows only the image).
        title: axes title, or ``None``.
        cmap: a matplotlib colour map for the heat map.
        colorbar: add a colour bar (0 to 1) beside the axes.
        title_color: colour of the title (e.g. red for a wrong prediction).
        stretch: rescale the map from its own minimum to its maximum before
            drawing it, to show the structure of a nearly flat map (its
            colours then no longer compare with other maps').

    Returns:
        The ``matplotlib.figure.Figure`` drawn on.

    Raises:
        TypeError: ``alpha`` is not a number.
        ValueError: ``image`` is not (H, W, 3 or 1), ``heat`` not (H, W) finite values in
            [0, 1] (unless ``stretch``), or ``alpha`` outside [0, 1].
    """
    alpha = checks.scalar("alpha", alpha, minimum=0, maximum=1)
    shown = _as_display(image)
    heat = _check_heat(heat, shown.shape[:2])
    if stretch:
        heat = _stretched(heat)
    elif heat.min() < -1e-6 or heat.max() > 1 + 1e-6:
        raise ValueError(f"the map's values must be in [0, 1] (or pass stretch=True), got {heat.min():g} to {heat.max():g}")
    fig, ax = (plt.subplots(figsize=(3.2, 3.0)) if ax is None else (ax.figure, ax))
    ax.imshow(shown, interpolation="nearest")
    layer = ax.imshow(heat, cmap=cmap, alpha=alpha, vmin=0.0, vmax=1.0, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    if title is not None:
        ax.set_title(title, fontsize=9, **({} if title_color is None else {"color": title_color}))
    if colorbar:
        fig.colorbar(layer, ax=ax, fraction=0.046, pad=0.04).ax.tick_params(labelsize=7)
    return fig


def explanation_grid(images, maps: Mapping[str, np.ndarray], *, row_titles: Sequence[str] | None = None,
                     row_title_colors: Sequence[str] | None = None, alpha: float = 0.5, size: float = 1.8,
                     cmap: str = "turbo", stretch: bool = False):
    """Images in rows; each row shows the image, then every map drawn over it.

    Args:
        images: ``(N, H, W, 3)``, uint8 0..255 or float 0..1.
        maps: column title -> maps ``(N, H, W)`` in [0, 1], one column per
            entry, in the mapping's order (e.g. ``{"saliency": ..., "Grad-CAM": ...}``).
        row_titles: N captions for the images (first column), e.g. the true
            and predicted classes; or ``None``.
        row_title_colors: N matplotlib colours for those captions, or ``None``.
        alpha: opacity of the heat maps.
        size: inches per panel.
        cmap: colour map of the heat maps (all share the scale 0 to 1).
        stretch: rescale every map from its own minimum to its maximum (see
            :func:`overlay`); the colour bar then reads "lowest" to "highest".

    Returns:
        The ``matplotlib.figure.Figure``: N rows, ``1 + len(maps)`` columns,
        and a colour bar for the maps on the right.

    Raises:
        TypeError: ``maps`` is not a mapping, or ``alpha`` not a number.
        ValueError: ``images`` not (N, H, W, 3 or 1), ``maps`` empty or holding maps of another
            shape than (N, H, W), captions of another number than N, or as :func:`overlay`.
    """
    images = np.asarray(images)
    if images.ndim != 4:
        raise ValueError(f"images must have shape (N, H, W, 3), got {images.shape}")
    what = "a non-empty mapping of column title -> (N, H, W) maps"
    checks.instance("maps", maps, Mapping, what)
    if not maps:
        raise ValueError(f"maps must be {what}, got {maps!r}")
    alpha = checks.scalar("alpha", alpha, minimum=0, maximum=1)
    n = len(images)
    checked = {}
    for name, values in maps.items():
        values = np.asarray(values)
        if values.shape != images.shape[:3]:
            raise ValueError(f"maps[{name!r}] must have shape {images.shape[:3]} (one map per image), got {values.shape}")
        checked[name] = values
    for what, seq in (("row_titles", row_titles), ("row_title_colors", row_title_colors)):
        if seq is not None and len(seq) != n:
            raise ValueError(f"got {n} images but {len(seq)} {what}")
    columns = 1 + len(checked)
    fig, axes = plt.subplots(n, columns, figsize=_fit_page(columns * size + 0.6, n * (size + 0.15)), squeeze=False)
    for row in range(n):
        shown = _as_display(images[row])
        ax = axes[row, 0]
        ax.imshow(shown, interpolation="nearest")
        ax.set_xticks([])
        ax.set_yticks([])
        if row_titles is not None:
            colour = {} if row_title_colors is None else {"color": row_title_colors[row]}
            ax.set_title(row_titles[row], fontsize=8, **colour)
        for col, (name, values) in enumerate(checked.items(), start=1):
            overlay(shown, values[row], ax=axes[row, col], alpha=alpha, cmap=cmap,
                    title=name if row == 0 else None, stretch=stretch)
    fig.tight_layout()
    mappable = plt.cm.ScalarMappable(norm=plt.Normalize(0, 1), cmap=cmap)
    bar = fig.colorbar(mappable, ax=axes.ravel().tolist(), fraction=0.02, pad=0.01)
    bar.set_label("map value, each map from its lowest to its highest" if stretch else "map value (0 to 1)",
                  fontsize=8)
    bar.ax.tick_params(labelsize=7)
    return fig
