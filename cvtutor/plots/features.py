"""What a trained CNN learned, drawn (chapter 1.4.4): first-layer filters as colour images, the
feature maps of each convolutional stage, the images that excite a channel most, and nearest
neighbours in a feature space.

These functions only draw; what they draw is computed by :mod:`cvtutor.features`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np

from cvtutor import checks
from cvtutor.plots.images import _check_images, _fit_page, _show_image

__all__ = ["filter_images", "filter_banks", "stage_feature_maps", "top_activating_grid", "neighbour_grid"]


def filter_images(kernel) -> np.ndarray:
    """First-layer filters as RGB images: ``(kh, kw, 3, F)`` weights to ``(F, kh, kw, 3)`` in [0, 1].

    Each filter is scaled on its own, symmetrically about zero: a weight of 0 is mid grey (0.5),
    the filter's largest absolute weight is 0 or 1 in its channel. So a grey filter weighs the
    three colours alike, a coloured one does not, and the sign shows as light against dark.

    Raises:
        ValueError: ``kernel`` is not ``(kh, kw, 3, F)`` or holds NaN or infinity.
    """
    kernel = np.asarray(kernel, dtype=np.float64)
    if kernel.ndim != 4 or kernel.shape[2] != 3:
        raise ValueError(f"kernel must have shape (kh, kw, 3, F): filters on RGB images, got {kernel.shape}")
    if not np.all(np.isfinite(kernel)):
        raise ValueError("kernel holds NaN or infinite values")
    filters = np.moveaxis(kernel, -1, 0)  # (F, kh, kw, 3)
    peak = np.abs(filters).max(axis=(1, 2, 3), keepdims=True)
    return 0.5 + 0.5 * np.divide(filters, peak, out=np.zeros_like(filters), where=peak > 0)


def filter_banks(kernels: Mapping[str, np.ndarray], *, columns: int = 8, size: float = 0.55):
    """Banks of first-layer filters side by side, each filter a small RGB image
    (:func:`filter_images`), e.g. ``{"at initialisation": k0, "trained": k1}``.

    Args:
        kernels: title -> ``(kh, kw, 3, F)`` weights; every bank the same ``F``.
        columns: filters per row in each bank.
        size: inches per filter.

    Returns:
        The ``matplotlib.figure.Figure``: one block of ``ceil(F / columns)`` rows per bank, its
        title above it.

    Raises:
        TypeError: ``kernels`` is not a mapping, ``columns`` not an integer.
        ValueError: ``kernels`` empty or of different numbers of filters, a kernel as
            :func:`filter_images`, ``columns`` below 1.
    """
    what = "a non-empty mapping of title -> (kh, kw, 3, F) weights"
    checks.instance("kernels", kernels, Mapping, what)
    if not kernels:
        raise ValueError(f"kernels must be {what}, got {kernels!r}")
    columns = checks.positive_int("columns", columns)
    banks = {title: filter_images(kernel) for title, kernel in kernels.items()}
    counts = {len(images) for images in banks.values()}
    if len(counts) != 1:
        raise ValueError(f"every bank must hold the same number of filters, got {sorted(counts)}")
    (count,) = counts
    rows = max(1, -(-count // columns))
    gap = 1  # an empty column between two banks
    width = len(banks) * columns + (len(banks) - 1) * gap
    fig, axes = plt.subplots(rows, width, figsize=_fit_page(width * size, rows * size + 0.45), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for b, (title, images) in enumerate(banks.items()):
        first = b * (columns + gap)
        for i, image in enumerate(images):
            _show_image(axes[i // columns, first + i % columns], image, interpolation="nearest")
        axes[0, first].set_title(title, fontsize=9, loc="left")
    fig.tight_layout(pad=0.3, w_pad=0.1, h_pad=0.1)
    return fig


def stage_feature_maps(image, stages: Mapping[str, np.ndarray], *, channels: int = 8, size: float = 1.0):
    """One image's feature maps at each convolutional stage, one stage per row.

    After a ReLU the maps are non-negative, so each is drawn from 0 (black) to its own maximum
    (bright), with the sequential colour map ``magma``; an all-zero map stays black.

    Args:
        image: ``(H, W, 3)`` uint8 0..255 or float 0..1, shown first in the first row.
        stages: stage title -> its feature maps for this image, ``(h, w, C)`` (e.g.
            :func:`cvtutor.features.layer_outputs` for one image); the first ``channels`` of each are drawn.
        channels: maps per stage, at most each stage's ``C``.
        size: inches per panel.

    Returns:
        The ``matplotlib.figure.Figure``: ``len(stages)`` rows of ``1 + channels`` panels; each row's
        first panel holds the image (first row) or nothing, and each title says the stage and its
        map size.

    Raises:
        TypeError: ``stages`` is not a mapping, ``channels`` not an integer.
        ValueError: ``image`` not (H, W, 1 or 3), ``stages`` empty, maps not 3-D or not finite,
            ``channels`` below 1 or above a stage's ``C``.
    """
    image = _check_images(np.asarray(image)[None])[0]
    what = "a non-empty mapping of stage title -> (h, w, C) maps"
    checks.instance("stages", stages, Mapping, what)
    if not stages:
        raise ValueError(f"stages must be {what}, got {stages!r}")
    channels = checks.positive_int("channels", channels)
    checked = {}
    for title, maps in stages.items():
        maps = np.asarray(maps, dtype=np.float64)
        if maps.ndim != 3:
            raise ValueError(f"stages[{title!r}] must have shape (h, w, C), got {maps.shape}")
        if maps.shape[-1] < channels:
            raise ValueError(f"stages[{title!r}] has {maps.shape[-1]} channels, fewer than channels={channels}")
        if not np.all(np.isfinite(maps)):
            raise ValueError(f"stages[{title!r}] holds NaN or infinite values")
        checked[title] = maps
    fig, axes = plt.subplots(len(checked), channels + 1,
                             figsize=_fit_page((channels + 1) * size, len(checked) * (size + 0.1)), squeeze=False)
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    for row, (title, maps) in enumerate(checked.items()):
        first = axes[row, 0]
        if row == 0:
            _show_image(first, image)
            first.set_title("input", fontsize=8)
        else:
            first.axis("off")
        for c in range(channels):
            values = maps[..., c]
            top = float(values.max())
            axes[row, c + 1].imshow(values, cmap="magma", vmin=0.0, vmax=top if top > 0 else 1.0,
                                    interpolation="nearest")
        h, w, total = maps.shape
        axes[row, 1].set_title(f"{title}: {h}x{w}, first {channels} of {total} channels", fontsize=8, loc="left")
    fig.tight_layout(pad=0.3, h_pad=0.4, w_pad=0.2)
    return fig


def top_activating_grid(images, indices, *, row_titles: Sequence[str] | None = None, size: float = 0.9):
    """For each channel, the images that excite it most, one channel per row, strongest first.

    Args:
        images: ``(N, H, W, 3)`` the images ranked (uint8 0..255 or float 0..1).
        indices: ``(rows, k)`` integer indices into ``images``
            (:func:`cvtutor.features.top_activating`).
        row_titles: one label per row, drawn left of it (e.g. ``"channel 12"``), or None.
        size: inches per image.

    Returns:
        The ``matplotlib.figure.Figure``: ``rows`` rows of ``k`` images.

    Raises:
        ValueError: ``images`` not (N, H, W, 1 or 3), ``indices`` not 2-D integers in [0, N),
            ``row_titles`` not one per row.
    """
    images = _check_images(images)
    indices = np.asarray(indices)
    if indices.ndim != 2 or indices.size == 0 or not np.issubdtype(indices.dtype, np.integer):
        raise ValueError(f"indices must be a (rows, k) integer array, got {indices.dtype} {indices.shape}")
    if indices.min() < 0 or indices.max() >= len(images):
        raise ValueError(f"indices must be in [0, {len(images)}), got {indices.min()}..{indices.max()}")
    rows, k = indices.shape
    if row_titles is not None and len(row_titles) != rows:
        raise ValueError(f"got {rows} rows but {len(row_titles)} row_titles")
    fig, axes = plt.subplots(rows, k, figsize=_fit_page(k * size + 0.9, rows * size), squeeze=False)
    for r in range(rows):
        for j in range(k):
            ax = axes[r, j]
            _show_image(ax, images[indices[r, j]])
            ax.set_xticks([])
            ax.set_yticks([])
            for spine in ax.spines.values():
                spine.set_visible(False)
        if row_titles is not None:
            axes[r, 0].set_ylabel(row_titles[r], fontsize=8, rotation=0, ha="right", va="center")
    fig.tight_layout(pad=0.3, w_pad=0.1, h_pad=0.1)
    return fig


def neighbour_grid(queries, neighbours, *, query_titles: Sequence[str] | None = None,
                   neighbour_titles=None, same=None, size: float = 1.0):
    """Query images and their nearest neighbours, one query per row: the query, then its neighbours,
    nearest first.

    Args:
        queries: ``(Q, H, W, 3)`` uint8 0..255 or float 0..1.
        neighbours: ``(Q, k, H, W, 3)`` each query's neighbours (images of the same size).
        query_titles: ``Q`` captions for the queries (e.g. their class), or None.
        neighbour_titles: ``(Q, k)`` captions for the neighbours, or None.
        same: ``(Q, k)`` booleans, True where a neighbour shares its query's label; its caption
            is then drawn green, else red (None: black).
        size: inches per image.

    Returns:
        The ``matplotlib.figure.Figure``: ``Q`` rows of ``1 + k`` images, with a gap after the query.

    Raises:
        ValueError: arrays of the wrong shapes, or captions of the wrong number.
    """
    queries = _check_images(queries)
    neighbours = np.asarray(neighbours)
    if neighbours.ndim != 5 or neighbours.shape[0] != len(queries) or neighbours.shape[2:] != queries.shape[1:]:
        raise ValueError(f"neighbours must have shape (Q={len(queries)}, k, {', '.join(map(str, queries.shape[1:]))}), "
                         f"got {neighbours.shape}")
    q, k = neighbours.shape[:2]
    if query_titles is not None and len(query_titles) != q:
        raise ValueError(f"got {q} queries but {len(query_titles)} query_titles")
    for name, value in (("neighbour_titles", neighbour_titles), ("same", same)):
        if value is not None and np.shape(value) != (q, k):
            raise ValueError(f"{name} must have shape ({q}, {k}), got {np.shape(value)}")
    fig, axes = plt.subplots(q, k + 2, figsize=_fit_page((k + 1.4) * size, q * (size + 0.3)), squeeze=False,
                             gridspec_kw={"width_ratios": [1, 0.4] + [1] * k})
    for r in range(q):
        axes[r, 1].axis("off")
        panels = [(axes[r, 0], queries[r], None if query_titles is None else query_titles[r], "black")]
        for j in range(k):
            colour = "black" if same is None else ("green" if same[r][j] else "red")
            title = None if neighbour_titles is None else neighbour_titles[r][j]
            panels.append((axes[r, j + 2], neighbours[r, j], title, colour))
        for ax, image, title, colour in panels:
            _show_image(ax, image)
            ax.set_xticks([])
            ax.set_yticks([])
            if title is not None:
                ax.set_title(title, fontsize=7, color=colour)
        axes[r, 0].set_ylabel("query", fontsize=8)
    fig.tight_layout(pad=0.3, w_pad=0.1, h_pad=0.3)
    return fig
