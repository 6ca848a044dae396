"""Feature maps, heat maps, hidden states, log-scale curves and optimisers' paths (chapters 1.3.1, 1.3.2
and 1.3.4)."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np

from cvtutor import checks
from cvtutor.plots.images import _check_images, _fit_page, _show_image


def _symmetric_limit(values) -> float:
    """The largest absolute value (1.0 for an all-zero array), for a colour scale centred on 0."""
    top = float(np.max(np.abs(values))) if np.size(values) else 0.0
    return top if top > 0 else 1.0


def feature_maps(images, maps, map_titles: Sequence[str] | None = None, *, image_titles: Sequence[str] | None = None,
                 size: float = 2.2, clip_percentile: float = 99.0):
    """Each image followed by its feature maps, one image per row.

    Feature maps are signed (a convolution before its activation), so they
    are drawn with a diverging colour map centred on 0: red positive, blue
    negative, white zero, each map on its own scale (colour bar beside it).
    The scale ends at the ``clip_percentile`` percentile of the map's absolute
    values, so that a few very strong responses do not wash out the rest
    (stronger values are drawn in the end colour).

    Args:
        images: (N, H, W, 3) uint8 0..255 or float 0..1, or (N, H, W, 1).
        maps: (N, H', W', C) feature maps of those images (any units).
        map_titles: C titles, one per channel (e.g. the filter names), or None.
        image_titles: N titles for the images, or None.
        size: inches per panel.
        clip_percentile: percentile (0-100] of ``|map|`` where the colour scale ends; 100 for the maximum.

    Raises:
        TypeError: ``clip_percentile`` is not a number.
        ValueError: ``clip_percentile`` outside (0, 100], arrays of the wrong shapes, or
            titles of the wrong number.
    """
    images = _check_images(images)
    maps = np.asarray(maps)
    clip_percentile = checks.scalar("clip_percentile", clip_percentile, minimum=0, maximum=100,
                                    include_minimum=False)
    if maps.ndim != 4 or len(maps) != len(images):
        raise ValueError(f"maps must have shape (N={len(images)}, H', W', C), got {maps.shape}")
    n, channels = len(images), maps.shape[-1]
    if map_titles is not None and len(map_titles) != channels:
        raise ValueError(f"got {channels} feature maps per image but {len(map_titles)} map_titles")
    if image_titles is not None and len(image_titles) != n:
        raise ValueError(f"got {n} images but {len(image_titles)} image_titles")
    fig, axes = plt.subplots(n, channels + 1, figsize=_fit_page((channels + 1) * size * 1.12, n * size), squeeze=False)
    for row in range(n):
        ax = axes[row, 0]
        _show_image(ax, images[row])
        ax.set_title(image_titles[row] if image_titles is not None else "input", fontsize=9)
        for c in range(channels):
            ax = axes[row, c + 1]
            limit = _symmetric_limit(np.percentile(np.abs(maps[row, ..., c]), clip_percentile))
            shown = ax.imshow(maps[row, ..., c], cmap="RdBu_r", vmin=-limit, vmax=limit)
            fig.colorbar(shown, ax=ax, fraction=0.046, pad=0.03).ax.tick_params(labelsize=7)
            if row == 0 and map_titles is not None:
                ax.set_title(map_titles[c], fontsize=9)
        for ax in axes[row]:
            ax.set_xticks([])
            ax.set_yticks([])
    fig.tight_layout()
    return fig


def heatmap(values, *, xlabel: str, ylabel: str, title: str | None = None, symmetric: bool = True,
            colorbar_label: str | None = None, ax=None, figsize=(6, 4)):
    """A 2-D array as an image: ``values[i, j]`` at row ``i`` (top to bottom), column ``j``.

    Args:
        values: (rows, columns) array, any units.
        xlabel, ylabel: axis labels (what the columns and rows index).
        title: panel title, or None.
        symmetric: True for a diverging colour map centred on 0 (signed
            values); False for a sequential one from the minimum to the maximum.
        colorbar_label: label of the colour bar (the units of ``values``).
        ax: an existing matplotlib Axes to draw into, or None for a new figure.
        figsize: inches, when a new figure is made.

    Raises:
        ValueError: ``values`` is not 2-D.
    """
    values = np.asarray(values)
    if values.ndim != 2:
        raise ValueError(f"values must be a 2-D array, got shape {values.shape}")
    if ax is None:
        fig, ax = plt.subplots(figsize=figsize)
    else:
        fig = ax.figure
    if symmetric:
        limit = _symmetric_limit(values)
        shown = ax.imshow(values, cmap="RdBu_r", vmin=-limit, vmax=limit, aspect="auto", interpolation="nearest")
    else:
        shown = ax.imshow(values, cmap="viridis", aspect="auto", interpolation="nearest")
    bar = fig.colorbar(shown, ax=ax)
    if colorbar_label:
        bar.set_label(colorbar_label)
    ax.set(xlabel=xlabel, ylabel=ylabel)
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig


def rows_and_states(image, states, *, title: str | None = None):
    """An image beside the hidden states an RNN computed while reading it row by row.

    Row ``t`` of the image and row ``t`` of the heat map line up: the heat map
    shows ``h_t`` (one column per hidden unit) right after the RNN read image
    row ``t``.

    Args:
        image: (H, W, 3) uint8 0..255 or float 0..1.
        states: (H, units) hidden states, one per image row (values of tanh: -1..1).
        title: title of the heat map, or None.

    Raises:
        ValueError: ``image`` is not (H, W, 1 or 3), or ``states`` not (H, units).
    """
    image = _check_images(np.asarray(image)[None])[0]
    states = np.asarray(states)
    if states.ndim != 2 or states.shape[0] != image.shape[0]:
        raise ValueError(f"states must have shape (H={image.shape[0]}, units), got {states.shape}")
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.6), gridspec_kw={"width_ratios": [1, 3.2]})
    _show_image(left, image, extent=(-0.5, image.shape[1] - 0.5, image.shape[0] - 0.5, -0.5))
    left.set(xlabel="column", ylabel="row t (time step)", title="input, read top to bottom")
    heatmap(states, xlabel="hidden unit", ylabel="time step t", title=title,
            colorbar_label="h_t (tanh units)", ax=right)
    fig.tight_layout()
    return fig


def log_curves(curves: dict, *, xlabel: str, ylabel: str, title: str | None = None,
               styles: dict | None = None, band: bool = True, figsize=(7, 4.2)):
    """Curves on a logarithmic y axis, each the mean over examples with an interquartile band.

    Args:
        curves: label -> values, each (T,) or (N, T): N examples (e.g. images)
            of a quantity at T positions (e.g. distances in time). The line
            is the mean over the N examples; the band spans their 25th to
            75th percentiles.
        xlabel, ylabel: axis labels (with units).
        title: title, or None.
        styles: label -> dict of matplotlib line keywords (color, linestyle, ...).
        band: whether to draw the interquartile bands.
        figsize: inches.

    Raises:
        ValueError: a curve that is not (T,) or (N, T).
    """
    fig, ax = plt.subplots(figsize=figsize)
    for label, values in curves.items():
        values = np.atleast_2d(np.asarray(values, dtype=float))
        if values.ndim != 2:
            raise ValueError(f"curve {label!r} must be (T,) or (N, T), got shape {np.shape(values)}")
        x = np.arange(values.shape[1])
        style = dict((styles or {}).get(label, {}))
        (line,) = ax.plot(x, values.mean(axis=0), label=label, **style)
        if band and values.shape[0] > 1:
            low, high = np.percentile(values, [25, 75], axis=0)
            ax.fill_between(x, low, high, color=line.get_color(), alpha=0.15, linewidth=0)
    ax.set(yscale="log", xlabel=xlabel, ylabel=ylabel)
    if title:
        ax.set_title(title)
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def optimizer_paths(xs, ys, losses, paths: dict, *, minimum=None, styles: dict | None = None,
                    title: str | None = None, xlabel: str = "$w_1$", ylabel: str = "$w_2$", levels: int = 12,
                    figsize=(7, 4.2)):
    """Optimisers' paths over a 2-D loss surface: filled contours of ``log10(loss)`` and one line per
    path, with a dot at every step (chapter 1.3.4).

    The surface is computed by the caller; this function only draws.

    Args:
        xs, ys: the grid's coordinates, shapes ``(nx,)`` and ``(ny,)``, increasing.
        losses: the loss on the grid, shape ``(ny, nx)`` (``losses[j, i]`` at ``(xs[i], ys[j])``),
            every value positive (the contours are of its logarithm).
        paths: name -> the points visited, shape ``(T, 2)``, start first.
        minimum: ``(w_1, w_2)`` of the minimum, marked with a star, or None.
        styles: name -> dict of matplotlib line keywords (color, ...).
        title: title, or None.
        xlabel, ylabel: axis labels.
        levels: how many contour levels.
        figsize: inches.

    Returns:
        the ``matplotlib.figure.Figure``.

    Raises:
        ValueError: ``losses`` not of shape ``(len(ys), len(xs))`` or not positive, a path not of
            shape ``(T, 2)``, no paths.
        TypeError: ``levels`` not an integer.
    """
    xs, ys, losses = (np.asarray(a, dtype=float) for a in (xs, ys, losses))
    if xs.ndim != 1 or ys.ndim != 1 or losses.shape != (len(ys), len(xs)):
        raise ValueError(f"losses must have shape (len(ys), len(xs)) = ({len(ys)}, {len(xs)}), got {losses.shape}")
    if not np.all(losses > 0):
        raise ValueError(f"losses must be positive (their log10 is drawn), got a minimum of {losses.min():g}")
    if not paths:
        raise ValueError("paths must name at least one path, got none")
    levels = checks.positive_int("levels", levels)
    fig, ax = plt.subplots(figsize=_fit_page(*figsize))
    filled = ax.contourf(xs, ys, np.log10(losses), levels=levels, cmap="Greys_r", alpha=0.8)
    fig.colorbar(filled, ax=ax, label="log10(loss)")
    for name, points in paths.items():
        points = np.asarray(points, dtype=float)
        if points.ndim != 2 or points.shape[1] != 2:
            raise ValueError(f"path {name!r} must have shape (T, 2), got {points.shape}")
        style = {"marker": ".", "markersize": 4, "linewidth": 1.2, **(styles or {}).get(name, {})}
        ax.plot(points[:, 0], points[:, 1], label=f"{name} ({len(points) - 1} steps)", **style)
    first = np.asarray(next(iter(paths.values())), dtype=float)[0]
    ax.plot(*first, "o", color="white", markeredgecolor="black", markersize=7, label="start")
    if minimum is not None:
        ax.plot(*minimum, "*", color="gold", markeredgecolor="black", markersize=12, label="minimum")
    ax.set(xlim=(xs[0], xs[-1]), ylim=(ys[0], ys[-1]), xlabel=xlabel, ylabel=ylabel)
    if title:
        ax.set_title(title)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    return fig
