"""Neurons, layers, receptive fields and attention over an image (chapters 1.2 and 1.3.3)."""

from __future__ import annotations

from collections.abc import Sequence

import numbers

import matplotlib.pyplot as plt
import numpy as np

from cvtutor import checks
from cvtutor.plots.images import _fit_page


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
    patch_size = checks.positive_int("patch_size", patch_size)
    if height % patch_size or width % patch_size:
        raise ValueError(f"patch_size must divide the image size {height}x{width}, got {patch_size}")
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

    Raises:
        ValueError: ``x`` and ``w`` differ in shape, or hold fewer than 1 or more than 10 values.
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

    Raises:
        ValueError: the shapes do not fit together as above.
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

    Raises:
        TypeError: ``patch_size`` is not an integer.
        ValueError: ``image`` is not (H, W, 3), or ``patch_size`` is below 1 or does not divide
            H and W.
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

    Raises:
        TypeError: ``patch_size`` is not an integer.
        ValueError: ``image`` is not (H, W, 3), or ``patch_size`` is below 1 or does not divide
            H and W.
    """
    image = _display_image(image)
    height, width, channels = image.shape
    rows, cols = _token_grid(image, patch_size)
    fig, axes = plt.subplots(1, 3, figsize=_fit_page(12, 4.4))
    # CNN: a small window slides over the pixel grid.
    _image_axes(axes[0], image, f"CNN: a {window}x{window} window slides over\n{height}x{width} pixels, "
                f"{channels} channels each")
    for k in range(1, height):
        axes[0].axhline(k - 0.5, color="white", lw=0.2, alpha=0.5)
    for k in range(1, width):
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

    Raises:
        ValueError: ``image`` is not (H, W, 3).
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


def _check_query(query, num_tokens: int) -> int:
    return checks.scalar("query", query, numbers.Integral, minimum=0, maximum=num_tokens, include_maximum=False)


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

    Raises:
        TypeError: ``patch_size`` or ``query`` is not an integer.
        ValueError: ``image`` is not (H, W, 3), ``patch_size`` below 1 or not dividing H and W,
            T not the number of patches, or ``query`` not a token index.
    """
    image = _display_image(image)
    weights = np.asarray(weights, dtype=float).ravel()
    rows, cols = _token_grid(image, patch_size, len(weights))
    if query is not None:
        query = _check_query(query, len(weights))
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

    Raises:
        TypeError: ``patch_size`` or ``query`` is not an integer.
        ValueError: ``image`` is not (H, W, 3), ``patch_size`` below 1 or not dividing H and W,
            ``rows`` not (n, T) with T the number of patches, ``titles`` not n, or ``query`` not a token index.
    """
    rows = np.asarray(rows, dtype=float)
    if rows.ndim != 2:
        raise ValueError(f"rows must have shape (n, T), got {rows.shape}")
    if titles is not None and len(titles) != len(rows):
        raise ValueError(f"got {len(rows)} rows but {len(titles)} titles")
    query = _check_query(query, rows.shape[1])
    shown = _display_image(image)
    cols = _token_grid(shown, patch_size, rows.shape[1])[1]
    fig, axes = plt.subplots(1, len(rows) + 1, figsize=_fit_page(3.3 * (len(rows) + 1), 3.3))
    _image_axes(axes[0], shown, f"query patch {query}")
    _outline_patch(axes[0], query, patch_size, cols)
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

    Raises:
        TypeError: ``patch_size`` or ``query`` is not an integer.
        ValueError: ``image`` is not (H, W, 3), ``patch_size`` below 1 or not dividing H and W,
            ``titles`` not three, T not the number of patches, or ``query`` not a token index.
    """
    image = _display_image(image)
    height, width = image.shape[:2]
    if titles is not None and len(titles) != 3:
        raise ValueError(f"titles must be three panel titles, got {len(titles)}")
    titles = titles or [f"convolutions: a {rf_size}x{rf_size} square", "one attention layer: every patch",
                        f"RNN state at row {rnn_row}: rows 0..{rnn_row}"]
    fig, axes = plt.subplots(1, 3, figsize=_fit_page(12.5, 4.2))
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

    Raises:
        ValueError: ``weights`` is not 2-D.
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
    fig, axes = plt.subplots(1, 3, figsize=_fit_page(13, 3.8))
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
