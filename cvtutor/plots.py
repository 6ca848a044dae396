"""The book's figures, drawn with matplotlib.

Every function returns the ``matplotlib.figure.Figure`` it drew, so a notebook
shows it and a script can save it with ``fig.savefig(path)``.
"""

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


# ---------------------------------------------------------------------------
# Chapter 1.2 (core concepts) and chapter 1.3.3 (attention): neurons, layers,
# receptive fields and attention maps over an image.


def _display_image(image) -> np.ndarray:
    """One image (H, W, 3), uint8 0..255 or float 0..1, as float 0..1 for imshow."""
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[-1] != 3:
        raise ValueError(f"image must have shape (H, W, 3), got {image.shape}")
    if image.dtype == np.uint8:
        return image.astype(np.float32) / 255
    return np.clip(image.astype(np.float32), 0, 1)


def _token_grid(image: np.ndarray, patch_size: int, num_tokens: int | None = None) -> tuple[int, int]:
    """(rows, columns) of the patch grid, checked against the image and the token count."""
    height, width = image.shape[:2]
    if not isinstance(patch_size, (int, np.integer)) or patch_size < 1 or height % patch_size or width % patch_size:
        raise ValueError(f"patch_size must be a positive int dividing the image size {height}x{width}, got {patch_size!r}")
    rows, cols = height // patch_size, width // patch_size
    if num_tokens is not None and num_tokens != rows * cols:
        raise ValueError(
            f"expected {rows * cols} weights, one per {patch_size}x{patch_size} patch of the "
            f"{height}x{width} image, got {num_tokens}"
        )
    return rows, cols


def _image_axes(ax, image, title=None):
    ax.imshow(image, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=9)


def neuron_diagram(x, w, b, y, activation: str = "ReLU"):
    """One neuron, ``y = f(w . x + b)``, drawn with its numbers.

    Each input is joined to the neuron by a line whose width is ``|w_i|`` and
    whose colour is the sign of ``w_i`` (red positive, blue negative).

    Args:
        x: inputs, shape (d,), d <= 10 to stay legible.
        w: weights, shape (d,).
        b: bias, a number.
        y: the neuron's output as computed by the caller, a number.
        activation: the name of ``f`` shown in the figure.
    """
    x = np.asarray(x, dtype=float).ravel()
    w = np.asarray(w, dtype=float).ravel()
    if x.shape != w.shape or not 1 <= len(x) <= 10:
        raise ValueError(f"x and w must have the same shape (d,) with 1 <= d <= 10, got {x.shape} and {w.shape}")
    d = len(x)
    z = float(x @ w + b)
    fig, ax = plt.subplots(figsize=(8, 0.55 * d + 1.6))
    heights = np.linspace((d - 1) / 2, -(d - 1) / 2, d)
    node = np.array([4.0, 0.0])
    scale = 3 / max(np.abs(w).max(), 1e-12)
    for i, (xi, wi, hi) in enumerate(zip(x, w, heights)):
        ax.plot([0.6, node[0] - 0.45], [hi, 0], color="tab:red" if wi >= 0 else "tab:blue",
                lw=0.5 + scale * abs(wi), alpha=0.8, zorder=1)
        ax.text(0.5, hi, rf"$x_{{{i + 1}}} = {xi:.2f}$", ha="right", va="center", fontsize=9)
        ax.text(1.6, hi + (0 - hi) * 0.25, rf"$w_{{{i + 1}}} = {wi:+.2f}$", ha="center", va="center", fontsize=8,
                bbox=dict(boxstyle="round,pad=0.15", fc="white", ec="none", alpha=0.9), zorder=2)
    ax.add_patch(plt.Circle(node, 0.45, fc="lightyellow", ec="black", zorder=3))
    ax.text(*node, r"$\Sigma$", ha="center", va="center", fontsize=14, zorder=4)
    ax.text(node[0], -0.75, f"b = {b:+.2f}", ha="center", va="top", fontsize=9)
    ax.annotate("", xy=(6.2, 0), xytext=(node[0] + 0.45, 0), arrowprops=dict(arrowstyle="-|>", color="black"))
    ax.text(5.3, 0.12, f"z = w.x + b\n= {z:.3f}", ha="center", va="bottom", fontsize=9)
    ax.add_patch(plt.Rectangle((6.2, -0.35), 1.5, 0.7, fc="lavender", ec="black", zorder=3))
    ax.text(6.95, 0, f"f = {activation}", ha="center", va="center", fontsize=9, zorder=4)
    ax.annotate("", xy=(8.7, 0), xytext=(7.7, 0), arrowprops=dict(arrowstyle="-|>", color="black"))
    ax.text(8.8, 0, f"y = f(z)\n= {float(y):.3f}", ha="left", va="center", fontsize=10)
    ax.set_xlim(-1.3, 10.2)
    ax.set_ylim(-(d - 1) / 2 - 1, (d - 1) / 2 + 0.6)
    ax.axis("off")
    ax.set_title("One neuron: y = f(w . x + b)", fontsize=10)
    fig.tight_layout()
    return fig


def matrix_product(x, w, b, y, activation: str = "f"):
    """A dense layer as a picture: ``Y = f(X W + b)`` with every matrix drawn as a heat map.

    Values are written in the cells, and each panel's title gives its shape.

    Args:
        x: inputs, shape (N, d_in): N examples (rows) of d_in features.
        w: weights, shape (d_in, d_out): column j holds the weights of neuron j.
        b: biases, shape (d_out,).
        y: outputs, shape (N, d_out), as computed by the caller.
        activation: name of the activation shown in the title of ``Y``.
    """
    x, w, b, y = (np.asarray(a, dtype=float) for a in (x, w, b, y))
    if x.ndim != 2 or w.ndim != 2 or b.shape != (w.shape[1],) or x.shape[1] != w.shape[0] \
            or y.shape != (x.shape[0], w.shape[1]):
        raise ValueError(f"expected x (N, d_in), w (d_in, d_out), b (d_out,), y (N, d_out); "
                         f"got {x.shape}, {w.shape}, {b.shape}, {y.shape}")
    panels = [("X", x, "inputs"), ("W", w, "weights"), ("b", b[None, :], "biases"),
              (f"Y = {activation}(XW + b)", y, "outputs")]
    widths = [x.shape[1], 0.8, w.shape[1], 0.8, w.shape[1], 0.8, y.shape[1]]
    rows = max(x.shape[0], w.shape[0])
    fig = plt.figure(figsize=(0.5 * sum(widths) + 1, 0.5 * rows + 1.2))
    grid = fig.add_gridspec(1, len(widths), width_ratios=widths, wspace=0.05)
    limit = max(np.abs(a).max() for _, a, _ in panels) or 1.0
    for k, (name, values, role) in enumerate(panels):
        ax = fig.add_subplot(grid[0, 2 * k])
        ax.imshow(values, cmap="coolwarm", vmin=-limit, vmax=limit, aspect="equal")
        for (i, j), v in np.ndenumerate(values):
            ax.text(j, i, f"{v:.1f}".replace("-0.0", "0.0"), ha="center", va="center", fontsize=7)
        ax.set_xticks([])
        ax.set_yticks([])
        shape = b.shape if name == "b" else values.shape
        ax.set_title(f"{name}\n{role} {tuple(shape)}", fontsize=9)
        if k < 3:
            op = fig.add_subplot(grid[0, 2 * k + 1])
            op.text(0.5, 0.5, ["x", "+", "="][k], ha="center", va="center", fontsize=16)
            op.axis("off")
    return fig


def patch_grid(image, patch_size: int, ax=None, numbers: bool = True):
    """An image cut into square patches (the tokens of an attention model), numbered row by row.

    Args:
        image: (H, W, 3), uint8 0..255 or float 0..1.
        patch_size: side of a patch in pixels; must divide H and W.
        ax: axes to draw on, or None for a new figure.
        numbers: write each patch's token index in it.
    """
    image = _display_image(image)
    rows, cols = _token_grid(image, patch_size)
    fig, ax = (plt.subplots(figsize=(4, 4)) if ax is None else (ax.figure, ax))
    _image_axes(ax, image)
    for k in range(1, rows):
        ax.axhline(k * patch_size - 0.5, color="white", lw=0.8)
    for k in range(1, cols):
        ax.axvline(k * patch_size - 0.5, color="white", lw=0.8)
    if numbers:
        for t in range(rows * cols):
            r, c = divmod(t, cols)
            ax.text(c * patch_size + patch_size / 2 - 0.5, r * patch_size + patch_size / 2 - 0.5, str(t),
                    ha="center", va="center", fontsize=6, color="white",
                    bbox=dict(boxstyle="round,pad=0.1", fc="black", ec="none", alpha=0.45))
    return fig


def image_as_inputs(image, patch_size: int = 4, window: int = 3):
    """The same image as each model family reads it: a pixel grid, a sequence of rows, a set of patches.

    Args:
        image: (H, W, 3), uint8 0..255 or float 0..1.
        patch_size: side of the attention model's patches, in pixels.
        window: side of the convolution window drawn on the first panel, in pixels.
    """
    image = _display_image(image)
    height, width, channels = image.shape
    rows, cols = _token_grid(image, patch_size)
    fig, axes = plt.subplots(1, 3, figsize=(12, 4.4))
    # CNN: a small window slides over the pixel grid.
    _image_axes(axes[0], image, f"CNN: a {window}x{window} window slides over\n{height}x{width} pixels, "
                f"{channels} channels each")
    for k in range(1, max(height, width)):
        axes[0].axhline(k - 0.5, color="white", lw=0.2, alpha=0.5)
        axes[0].axvline(k - 0.5, color="white", lw=0.2, alpha=0.5)
    for i, j in ((2, 2), (2, 6), (2, 10)):
        axes[0].add_patch(plt.Rectangle((j - 0.5, i - 0.5), window, window, fill=False, ec="yellow", lw=1.5,
                                        alpha=1.0 if j == 10 else 0.45))
    # RNN: one row per time step.
    _image_axes(axes[1], image, f"RNN: {height} rows = {height} time steps\nof {width}x{channels} = "
                f"{width * channels} values each")
    for k in range(1, height):
        axes[1].axhline(k - 0.5, color="white", lw=0.5)
    axes[1].set_yticks(list(range(0, height, 8)) + [height - 1])
    axes[1].set_ylabel("time step t = row")
    axes[1].tick_params(labelsize=7)
    # Attention: a set of patches (tokens).
    patch_grid(image, patch_size, ax=axes[2])
    axes[2].set_title(f"Attention: {rows * cols} patches = {rows * cols} tokens\nof {patch_size}x{patch_size}x"
                      f"{channels} = {patch_size * patch_size * channels} values each", fontsize=9)
    fig.tight_layout()
    return fig


def receptive_field_growth(curves: dict, image_size: int | None = None, points: dict | None = None,
                           xlabel: str = "layers (depth)"):
    """Receptive-field side (pixels) against depth (layers), one line per architecture.

    Args:
        curves: ``{label: (depths, sizes)}``, depths in layers and sizes in pixels (the side of the
            square of input pixels one output can see).
        image_size: draw a dashed line at the image side (pixels), or None.
        points: ``{label: (depth, size)}`` single markers, e.g. one attention layer.
        xlabel: label of the depth axis.
    """
    fig, ax = plt.subplots(figsize=(6.5, 4))
    for label, (depths, sizes) in curves.items():
        ax.plot(depths, sizes, marker="o", ms=4, label=label)
    for label, (depth, size) in (points or {}).items():
        ax.plot([depth], [size], marker="*", ms=14, ls="none", label=label)
    if image_size is not None:
        ax.axhline(image_size, color="gray", ls="--", lw=1)
        ax.text(np.mean(ax.get_xlim()), image_size, f"whole image ({image_size} px)", va="bottom", ha="center",
                fontsize=8, color="gray")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("receptive field side (pixels)")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def _square(ax, center, size, **kwargs):
    """A size x size pixel square centred on pixel ``center`` = (row, col), in imshow coordinates."""
    row, col = center
    ax.add_patch(plt.Rectangle((col - size / 2, row - size / 2), size, size, fill=False, **kwargs))


def receptive_field_squares(image, sizes: dict, center: tuple[int, int]):
    """Growing squares on the image: the pixels one output at ``center`` sees after each depth.

    Args:
        image: (H, W, 3), uint8 0..255 or float 0..1.
        sizes: ``{depth: side in pixels}``, drawn innermost first.
        center: (row, col) of the output pixel, in pixels.
    """
    image = _display_image(image)
    fig, ax = plt.subplots(figsize=(5, 5))
    _image_axes(ax, image, "What one output pixel sees after L stacked 3x3 convolutions")
    colors = plt.cm.plasma(np.linspace(0.1, 0.9, len(sizes)))
    for color, (depth, size) in zip(colors, sorted(sizes.items())):
        _square(ax, center, size, ec=color, lw=2, label=f"L = {depth}: {size}x{size} px")
    ax.plot(center[1], center[0], marker="+", color="white", ms=10, mew=2)
    ax.set_xlim(-0.5, image.shape[1] - 0.5)
    ax.set_ylim(image.shape[0] - 0.5, -0.5)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    return fig


def _outline_patch(ax, token: int, patch_size: int, cols: int):
    """Outline patch ``token`` (row-major index in a grid ``cols`` patches wide) in cyan."""
    r, c = divmod(int(token), cols)
    ax.add_patch(plt.Rectangle((c * patch_size - 0.5, r * patch_size - 0.5), patch_size, patch_size,
                               fill=False, ec="cyan", lw=2))


def attention_overlay(image, weights, patch_size: int, query: int | None = None, ax=None,
                      title: str | None = None, colorbar: bool = True, vmin: float | None = 0.0,
                      vmax: float | None = None):
    """One row of attention weights drawn over the image it came from.

    Each weight belongs to one patch; it is upsampled to the patch's pixels
    and shown as a heat map over the image. The query patch is outlined.

    Args:
        image: (H, W, 3), uint8 0..255 or float 0..1.
        weights: (T,) attention weights of one query over the T = (H/p)(W/p) patches,
            in row-major patch order (non-negative, summing to 1).
        patch_size: side p of a patch in pixels.
        query: token index of the query patch, outlined in cyan; None for no outline.
        ax: axes to draw on, or None for a new figure.
        title: axes title.
        colorbar: add a colour bar of the weights.
        vmin, vmax: weights drawn darkest and brightest; ``vmin=0`` (the default) shows weights on an
            absolute scale, ``vmin=None`` stretches the colours from the smallest to the largest weight.
    """
    image = _display_image(image)
    weights = np.asarray(weights, dtype=float).ravel()
    rows, cols = _token_grid(image, patch_size, len(weights))
    fig, ax = (plt.subplots(figsize=(4.2, 3.6)) if ax is None else (ax.figure, ax))
    heat = np.kron(weights.reshape(rows, cols), np.ones((patch_size, patch_size)))
    _image_axes(ax, image, title)
    shown = ax.imshow(heat, cmap="inferno", alpha=0.6, interpolation="nearest", vmin=vmin, vmax=vmax)
    if query is not None:
        _outline_patch(ax, query, patch_size, cols)
    if colorbar:
        fig.colorbar(shown, ax=ax, fraction=0.046, pad=0.04).ax.tick_params(labelsize=7)
    return fig


def attention_maps(image, rows, patch_size: int, query: int, titles: Sequence[str] | None = None,
                   vmin: float | None = 0.0):
    """The image with the query patch outlined, then one attention map per row of ``rows``.

    Args:
        image: (H, W, 3), uint8 0..255 or float 0..1.
        rows: (n, T) attention weights of the same query, e.g. one row per head.
        patch_size: side of a patch in pixels.
        query: token index of the query patch.
        titles: n titles, or None.
        vmin: as in :func:`attention_overlay`; all maps share one colour scale.
    """
    rows = np.asarray(rows, dtype=float)
    if rows.ndim != 2:
        raise ValueError(f"rows must have shape (n, T), got {rows.shape}")
    if titles is not None and len(titles) != len(rows):
        raise ValueError(f"got {len(rows)} rows but {len(titles)} titles")
    fig, axes = plt.subplots(1, len(rows) + 1, figsize=(3.3 * (len(rows) + 1), 3.3))
    shown = _display_image(image)
    _image_axes(axes[0], shown, f"query patch {query}")
    _outline_patch(axes[0], query, patch_size, _token_grid(shown, patch_size, rows.shape[1])[1])
    for k, (ax, row) in enumerate(zip(axes[1:], rows)):
        attention_overlay(image, row, patch_size, query, ax=ax, title=None if titles is None else titles[k],
                          vmin=rows.min() if vmin is None else vmin, vmax=rows.max())
    fig.tight_layout()
    return fig


def what_each_layer_sees(image, rf_size: int, center: tuple[int, int], attention_row, patch_size: int,
                         query: int, rnn_row: int, titles: Sequence[str] | None = None):
    """Three panels: the pixels one output of each kind of layer depends on.

    Args:
        image: (H, W, 3), uint8 0..255 or float 0..1.
        rf_size: side in pixels of the convolution output's receptive field (a square).
        center: (row, col) of that output pixel.
        attention_row: (T,) attention weights of the query patch over all T patches.
        patch_size: side of a patch in pixels.
        query: token index of the query patch.
        rnn_row: the RNN state shown is the one after reading rows 0..rnn_row.
        titles: three panel titles, or None for the defaults.
    """
    image = _display_image(image)
    height, width = image.shape[:2]
    titles = titles or [f"convolutions: a {rf_size}x{rf_size} square", "one attention layer: every patch",
                        f"RNN state at row {rnn_row}: rows 0..{rnn_row}"]
    fig, axes = plt.subplots(1, 3, figsize=(12.5, 4.2))
    # Convolution: the receptive field; everything else dimmed.
    seen = np.zeros((height, width), dtype=bool)
    half = rf_size // 2
    seen[max(center[0] - half, 0): center[0] + rf_size - half, max(center[1] - half, 0): center[1] + rf_size - half] = True
    for ax, mask in ((axes[0], seen), (axes[2], np.arange(height)[:, None] <= rnn_row)):
        shown = image * np.where(np.broadcast_to(mask, (height, width))[..., None], 1.0, 0.25)
        _image_axes(ax, shown)
    _square(axes[0], center, rf_size, ec="yellow", lw=2)
    axes[0].plot(center[1], center[0], marker="+", color="white", ms=10, mew=2)
    axes[2].axhline(rnn_row + 0.5, color="yellow", lw=2)
    attention_overlay(image, attention_row, patch_size, query, ax=axes[1])
    for ax, title in zip(axes, titles):
        ax.set_title(title, fontsize=9)
        ax.set_xlim(-0.5, width - 0.5)
        ax.set_ylim(height - 0.5, -0.5)
    fig.tight_layout()
    return fig


def attention_matrix(weights, ax=None, title: str | None = None):
    """A (T_q, T_k) matrix of attention weights as a heat map: row i is query i's weights over the keys.

    Args:
        weights: (T_q, T_k), non-negative, rows summing to 1.
        ax: axes to draw on, or None for a new figure.
        title: axes title.
    """
    weights = np.asarray(weights, dtype=float)
    if weights.ndim != 2:
        raise ValueError(f"weights must have shape (T_q, T_k), got {weights.shape}")
    fig, ax = (plt.subplots(figsize=(5, 4.3)) if ax is None else (ax.figure, ax))
    shown = ax.imshow(weights, cmap="viridis", interpolation="nearest", vmin=0)
    ax.set_xlabel("key token j")
    ax.set_ylabel("query token i")
    if title:
        ax.set_title(title, fontsize=10)
    fig.colorbar(shown, ax=ax, fraction=0.046, pad=0.04, label="weight")
    fig.tight_layout()
    return fig


def dot_product_variance(d_k, unscaled, scaled):
    """Measured variance of ``q . k`` (and of ``q . k / sqrt(d_k)``) against d_k, log-log.

    Args:
        d_k: key sizes, shape (n,).
        unscaled: measured variance of q . k at each d_k, shape (n,).
        scaled: measured variance of q . k / sqrt(d_k), shape (n,).
    """
    d_k = np.asarray(d_k, dtype=float)
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(d_k, unscaled, "o", ms=7, label="measured Var(q . k)")
    ax.plot(d_k, d_k, "--", color="tab:blue", lw=1, label="d_k (theory)")
    ax.plot(d_k, scaled, "s", ms=7, label="measured Var(q . k / sqrt(d_k))")
    ax.plot(d_k, np.ones_like(d_k), "--", color="tab:orange", lw=1, label="1 (theory)")
    ax.set(xscale="log", yscale="log", xlabel="d_k (size of queries and keys)", ylabel="variance of the score")
    ax.set_xticks(d_k, [f"{int(d)}" for d in d_k])
    ax.minorticks_off()
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def softmax_saturation(d_k, unscaled: dict, scaled: dict, num_keys: int):
    """What the scores' size does to softmax: largest weight, entropy and gradient size against d_k.

    Args:
        d_k: key sizes, shape (n,).
        unscaled, scaled: ``{"max_weight": (n,), "entropy": (n,), "jacobian_norm": (n,)}``, each the
            mean over many random queries of: the largest attention weight, the entropy of the weights
            (nats) and the Frobenius norm of the softmax Jacobian, for scores q . k and q . k / sqrt(d_k).
        num_keys: number of keys each query attends over (sets the uniform-weight reference lines).
    """
    d_k = np.asarray(d_k, dtype=float)
    panels = [("max_weight", "largest weight", 1 / num_keys, f"uniform 1/{num_keys}"),
              ("entropy", "entropy of the weights (nats)", np.log(num_keys), f"uniform log {num_keys}"),
              ("jacobian_norm", "size of the softmax gradient\n(Frobenius norm of the Jacobian)", None, None)]
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    for ax, (key, label, ref, ref_label) in zip(axes, panels):
        ax.plot(d_k, unscaled[key], "o-", label="softmax(q . k)")
        ax.plot(d_k, scaled[key], "s-", label="softmax(q . k / sqrt(d_k))")
        if ref is not None:
            ax.axhline(ref, color="gray", ls="--", lw=1, label=ref_label)
        ax.set(xscale="log", xlabel="d_k", ylabel=label)
        ax.set_xticks(d_k, [f"{int(d)}" for d in d_k])
        ax.minorticks_off()
        ax.grid(True, alpha=0.3)
    axes[0].legend(fontsize=8)
    axes[1].legend(fontsize=8)
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------
# Chapters 1.3.1 (convolution) and 1.3.2 (recurrence).


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
    """
    images = _check_images(images)
    maps = np.asarray(maps)
    if not 0 < clip_percentile <= 100:
        raise ValueError(f"clip_percentile must be in (0, 100], got {clip_percentile!r}")
    if maps.ndim != 4 or len(maps) != len(images):
        raise ValueError(f"maps must have shape (N={len(images)}, H', W', C), got {maps.shape}")
    n, channels = len(images), maps.shape[-1]
    if map_titles is not None and len(map_titles) != channels:
        raise ValueError(f"got {channels} feature maps per image but {len(map_titles)} map_titles")
    fig, axes = plt.subplots(n, channels + 1, figsize=((channels + 1) * size * 1.12, n * size), squeeze=False)
    for row in range(n):
        image = images[row]
        ax = axes[row, 0]
        ax.imshow(image[..., 0] if image.shape[-1] == 1 else image, cmap="gray" if image.shape[-1] == 1 else None)
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
    """
    image = _check_images(np.asarray(image)[None])[0]
    states = np.asarray(states)
    if states.ndim != 2 or states.shape[0] != image.shape[0]:
        raise ValueError(f"states must have shape (H={image.shape[0]}, units), got {states.shape}")
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.6), gridspec_kw={"width_ratios": [1, 3.2]})
    left.imshow(image, extent=(-0.5, image.shape[1] - 0.5, image.shape[0] - 0.5, -0.5))
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


# ---------------------------------------------------------------------------
# Chapter 1.4 (the three classifiers): training curves, confusion matrices,
# mistakes and predictions of a trained model.


def _history_of(run) -> dict:
    """The per-epoch history of ``run`` (a TrainResult or a Keras history dict), checked."""
    history = getattr(run, "history", run)
    if not isinstance(history, dict):
        raise ValueError(f"expected a TrainResult or a history dict, got {type(run).__name__}")
    missing = {"loss", "accuracy"} - history.keys()
    if missing:
        raise ValueError(f"history needs per-epoch 'loss' and 'accuracy', missing {sorted(missing)}; got {sorted(history)}")
    epochs = len(history["loss"])
    for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
        if key in history and (np.ndim(history[key]) != 1 or len(history[key]) != epochs or epochs == 0):
            raise ValueError(f"history[{key!r}] must hold one value per epoch ({epochs} epochs, at least 1), "
                             f"got shape {np.shape(history[key])}")
    return history


def training_curves(*runs, labels: Sequence[str] | None = None, loss_scale: str = "linear", figsize=(11, 3.8)):
    """Loss and accuracy per epoch, on the training set (solid) and the test set (dashed).

    Args:
        *runs: one or more :class:`cvtutor.training.TrainResult` or Keras history dicts
            (``{"loss": [...], "accuracy": [...], "val_loss": [...], "val_accuracy": [...]}``),
            one value per epoch: loss is the mean cross-entropy (nats per image), accuracy a
            fraction in 0..1 (drawn in percent). The ``val_`` entries are optional.
        labels: one legend label per run; default each run's ``name``, else "run 1", "run 2", ...
        loss_scale: ``"linear"`` or ``"log"``, the scale of the loss axis (log when runs differ
            by orders of magnitude).
        figsize: inches.

    Returns:
        A figure with two axes: loss (left) and accuracy (right), against epochs 1..E.
    """
    if not runs:
        raise ValueError("training_curves needs at least one run")
    histories = [_history_of(run) for run in runs]
    if labels is None:
        labels = [getattr(run, "name", None) or f"run {i + 1}" for i, run in enumerate(runs)]
    if len(labels) != len(runs):
        raise ValueError(f"got {len(runs)} runs but {len(labels)} labels")
    if loss_scale not in ("linear", "log"):
        raise ValueError(f"loss_scale must be 'linear' or 'log', got {loss_scale!r}")
    fig, (loss_ax, acc_ax) = plt.subplots(1, 2, figsize=figsize)
    loss_ax.set_yscale(loss_scale)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, (history, label) in enumerate(zip(histories, labels)):
        color = colors[i % len(colors)]
        epochs = np.arange(1, len(history["loss"]) + 1)
        for ax, key, scale in ((loss_ax, "loss", 1.0), (acc_ax, "accuracy", 100.0)):
            ax.plot(epochs, np.asarray(history[key]) * scale, "-o", ms=3, color=color, label=f"{label}: train")
            if f"val_{key}" in history:
                ax.plot(epochs, np.asarray(history[f"val_{key}"]) * scale, "--s", ms=3, color=color,
                        label=f"{label}: test")
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


def _check_labels(name, labels, num_classes=None) -> np.ndarray:
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
    """
    y_true = _check_labels("y_true", y_true, num_classes)
    y_pred = _check_labels("y_pred", y_pred, num_classes)
    if len(y_true) != len(y_pred):
        raise ValueError(f"y_true and y_pred differ in length: {len(y_true)} and {len(y_pred)}")
    if num_classes is None:
        num_classes = int(max(y_true.max(initial=0), y_pred.max(initial=0))) + 1
    flat = y_true.astype(np.int64) * num_classes + y_pred
    return np.bincount(flat, minlength=num_classes * num_classes).reshape(num_classes, num_classes)


def top_confusions(counts, class_names: Sequence[str], k: int = 5) -> list[dict]:
    """The ``k`` largest off-diagonal cells of a confusion matrix, largest first.

    Args:
        counts: (C, C) counts, rows true classes, columns predicted (see :func:`confusion_counts`).
        class_names: C names.
        k: how many pairs to return.

    Returns:
        ``k`` dicts ``{"true", "predicted", "count", "rate"}``; ``rate`` is the count as a
        fraction of all images of the true class (0..1). Ties keep row-major order.
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


def confusion_matrix(y_true, y_pred, class_names: Sequence[str], *, title: str | None = None, figsize=(13, 5.6)):
    """The confusion matrix twice: counts (left) and normalised per true class, in percent (right).

    Args:
        y_true: true labels, integers (N,).
        y_pred: predicted labels, integers (N,).
        class_names: C names; labels must be below C.
        title: figure title, or None.
        figsize: inches.

    Returns:
        A figure with two axes. In both, row i is the true class and column j the predicted
        class; the diagonal holds the correct predictions. Each cell is labelled with its value.
    """
    num_classes = len(class_names)
    counts = confusion_counts(y_true, y_pred, num_classes)
    rows = counts.sum(axis=1, keepdims=True)
    percent = 100.0 * counts / np.maximum(rows, 1)
    fig, axes = plt.subplots(1, 2, figsize=figsize)
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
    """
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
    """
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
    fig.set_size_inches(columns * size, rows * (size + 0.55))
    fig.tight_layout()
    return fig
