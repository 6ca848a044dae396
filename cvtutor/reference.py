"""The book's formulas in plain NumPy, with Keras's weight layouts.

Every chapter that explains a layer first writes its formula here, then checks
it against the Keras layer with the same weights copied in (see
``tests/test_reference.py``). This module imports NumPy only, so a reader can
study it without TensorFlow, and nothing here is meant to be fast enough to
train with: it is meant to be read.

Layouts follow Keras:

- images are NHWC, ``(N, H, W, C)``;
- a ``Conv2D`` kernel is ``(kh, kw, c_in, c_out)``;
- a ``Dense`` kernel is ``(d_in, d_out)``;
- a ``SimpleRNN`` has ``kernel`` ``(d_in, units)``, ``recurrent_kernel``
  ``(units, units)`` and ``bias`` ``(units,)``;
- an attention mask is ``True`` (or 1) where a query *may* attend to a key.

Every public function that takes arrays checks its inputs: an array of the wrong
shape or dtype raises :class:`ValueError`, a scalar argument of the wrong kind
(a float stride, a padding that is not a string) :class:`TypeError`, and every
message names the function, what it expected and what arrived
(:mod:`cvtutor.checks`).
"""

from __future__ import annotations

import math
import numbers
from typing import Callable

import numpy as np

from cvtutor import checks

__all__ = [
    "conv2d",
    "conv_output_size",
    "dense",
    "max_pool2d",
    "numeric_gradient",
    "relu",
    "rnn_forward",
    "scaled_dot_product_attention",
    "sigmoid",
    "softmax",
    "tanh",
]


# --------------------------------------------------------------------------
# Input checks shared by the functions below.


def _array(fn: str, name: str, value, ndim: int | None = None, layout: str = "") -> np.ndarray:
    """``value`` as a floating-point array, checked to have ``ndim`` dimensions."""
    arr = np.asarray(value)
    if arr.dtype == object or not (
        np.issubdtype(arr.dtype, np.number) or arr.dtype == bool
    ):
        raise ValueError(f"{fn}: {name} must be a numeric array, got dtype {arr.dtype}")
    if not np.issubdtype(arr.dtype, np.floating):
        arr = arr.astype(np.float64)
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(
            f"{fn}: {name} must be {ndim}-D {layout}".rstrip()
            + f", got shape {arr.shape}"
        )
    return arr


def _pair(fn: str, name: str, value) -> tuple[int, int]:
    """A positive int or a pair of positive ints, as a pair."""
    if checks.is_int(value):
        value = checks.positive_int(f"{fn}: {name}", value)
        return value, value
    return checks.integers(f"{fn}: {name}", value, 2, minimum=1, expected="a positive integer or a pair")


def _padding(fn: str, padding) -> str:
    """``padding`` in lower case; any case is accepted, as Keras does."""
    return checks.one_of(f"{fn}: padding", padding.lower() if isinstance(padding, str) else padding,
                         ("valid", "same"))


def _same_pads(size: int, window: int, stride: int) -> tuple[int, int]:
    """TensorFlow's SAME rule: (before, after) padding for one spatial axis.

    The output has ``ceil(size / stride)`` positions; the total padding is
    whatever the last window needs, and the odd pixel goes after (bottom or
    right).
    """
    total = max((math.ceil(size / stride) - 1) * stride + window - size, 0)
    return total // 2, total - total // 2


# --------------------------------------------------------------------------
# Activations.


def relu(x):
    """Rectified linear unit, ``max(x, 0)`` elementwise. Shape is kept."""
    return np.maximum(x, 0)


def tanh(x):
    """Hyperbolic tangent elementwise (``np.tanh``); values in (-1, 1)."""
    return np.tanh(x)


def sigmoid(x):
    """Logistic function ``1 / (1 + exp(-x))`` elementwise, without overflow.

    Values lie in [0, 1]; shape is kept.
    """
    x = np.asarray(x, dtype=np.result_type(x, np.float32))
    # exp of a negative number never overflows; pick the form that uses one.
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


def softmax(x, axis: int = -1):
    """Softmax along ``axis``: ``exp(x_i) / sum_j exp(x_j)``, computed stably.

    The maximum along ``axis`` is subtracted first, which leaves the result
    unchanged but keeps ``exp`` from overflowing, so inputs such as ``1e4``
    and ``-1e4`` give finite weights. Entries equal to ``-inf`` mean
    "masked": they get weight exactly 0 and the other entries still sum to 1.
    A slice whose entries are *all* ``-inf`` has nothing to attend to and gets
    all-zero weights (not NaN); this is what ``keras.layers.Softmax`` returns
    for a fully masked row, too.

    Args:
        x: array of scores (logits), any shape; must not contain NaN or
            ``+inf``.
        axis: the axis to normalise over.

    Returns:
        Array of the same shape as ``x`` with values in [0, 1] that sum to 1
        along ``axis`` (0 for all-``-inf`` slices).

    Raises:
        TypeError: ``axis`` is not an integer.
        ValueError: ``x`` is not a numeric array of at least 1 dimension, or holds NaN or
            ``+inf``; ``axis`` is not one of its axes.
    """
    x = _array("softmax", "x", x)
    if x.ndim == 0:
        raise ValueError("softmax: x must have at least 1 dimension, got a scalar")
    axis = checks.scalar("softmax: axis", axis, numbers.Integral, minimum=-x.ndim, maximum=x.ndim - 1)
    if np.isnan(x).any() or np.isposinf(x).any():
        raise ValueError("softmax: x must not contain NaN or +inf")
    top = np.max(x, axis=axis, keepdims=True)
    top = np.where(np.isneginf(top), 0, top)  # all -inf: exp(-inf - 0) = 0, no NaN
    e = np.exp(x - top)
    total = np.sum(e, axis=axis, keepdims=True)
    return e / np.where(total == 0, 1, total)


# --------------------------------------------------------------------------
# Convolution and pooling.


def conv_output_size(size: int, kernel: int, stride: int = 1, padding: str = "valid") -> int:
    """Output length of a convolution or pooling along one spatial axis.

    Args:
        size: input length in pixels.
        kernel: window length in pixels.
        stride: step between windows in pixels.
        padding: ``"valid"`` (no padding: ``floor((size - kernel) / stride) + 1``)
            or ``"same"`` (TensorFlow's rule: ``ceil(size / stride)``).

    Returns:
        The output length in pixels; 0 when a ``"valid"`` window does not fit.

    Raises:
        TypeError: ``size``, ``kernel`` or ``stride`` is not an integer, or ``padding`` not a string.
        ValueError: ``size``, ``kernel`` or ``stride`` is below 1, or ``padding`` is neither
            ``"valid"`` nor ``"same"``.
    """
    fn = "conv_output_size"
    for name, value in (("size", size), ("kernel", kernel), ("stride", stride)):
        checks.positive_int(f"{fn}: {name}", value)
    if _padding(fn, padding) == "same":
        return math.ceil(size / stride)
    return max((size - kernel) // stride + 1, 0)


def _conv2d_loops(x, kernel, bias=None, stride=1, padding="valid"):
    """``conv2d`` written as the formula, one output number at a time.

    ``y[n, i, j, o] = b[o] + sum_{u, v, c} x[n, i*s + u, j*s + v, c] * K[u, v, c, o]``

    Far too slow for real images; the tests use it on small inputs to check
    the vectorised :func:`conv2d`. Same arguments and result as :func:`conv2d`.
    """
    x, kernel, bias, stride, padding = _conv2d_inputs(x, kernel, bias, stride, padding)
    (sh, sw), (kh, kw, c_in, c_out) = stride, kernel.shape
    x = _pad_spatial(x, kh, kw, sh, sw, padding, 0.0)
    n_img, height, width, _ = x.shape
    h_out, w_out = (height - kh) // sh + 1, (width - kw) // sw + 1
    y = np.zeros((n_img, h_out, w_out, c_out), dtype=np.result_type(x, kernel))
    for n in range(n_img):
        for i in range(h_out):
            for j in range(w_out):
                for o in range(c_out):
                    total = 0.0 if bias is None else bias[o]
                    for u in range(kh):
                        for v in range(kw):
                            for c in range(c_in):
                                total += x[n, i * sh + u, j * sw + v, c] * kernel[u, v, c, o]
                    y[n, i, j, o] = total
    return y


def _pad_spatial(x, kh, kw, sh, sw, padding, value):
    """Pad the H and W axes of an NHWC array for ``"same"``; no-op for ``"valid"``."""
    if padding == "valid":
        return x
    top, bottom = _same_pads(x.shape[1], kh, sh)
    left, right = _same_pads(x.shape[2], kw, sw)
    return np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)), constant_values=value)


def _check_window(fn, x, kh, kw, padding):
    if padding == "valid" and (kh > x.shape[1] or kw > x.shape[2]):
        raise ValueError(
            f"{fn}: window {kh}x{kw} does not fit in the {x.shape[1]}x{x.shape[2]} input "
            "with padding='valid'; use a smaller window or padding='same'"
        )


def conv2d(x, kernel, bias=None, stride=1, padding: str = "valid"):
    """2-D convolution exactly as ``keras.layers.Conv2D`` computes it.

    Like every deep-learning "convolution", this is a cross-correlation (the
    kernel is not flipped)::

        y[n, i, j, o] = b[o] + sum_{u, v, c} x[n, i*s_h + u, j*s_w + v, c] * K[u, v, c, o]

    The sum over the channel ``c`` is a matrix product, so the code loops over
    the ``kh * kw`` kernel offsets ``(u, v)`` only: for each, it takes the
    input pixels that offset touches for every output position (a strided
    slice) and multiplies them by ``K[u, v]`` (shape ``(c_in, c_out)``).

    Args:
        x: images, shape ``(N, H, W, C_in)`` (NHWC).
        kernel: weights, shape ``(kh, kw, C_in, C_out)``, the layout of
            ``Conv2D.kernel``.
        bias: ``(C_out,)`` or ``None`` for no bias.
        stride: step between windows in pixels, an int or ``(s_h, s_w)``.
        padding: ``"valid"`` (no padding) or ``"same"`` (zero padding by
            TensorFlow's rule: ``ceil(H / s_h)`` output rows; the padding is
            split evenly with any odd pixel at the bottom/right).

    Returns:
        Feature maps, shape ``(N, H_out, W_out, C_out)``, where ``H_out`` is
        :func:`conv_output_size` of ``H`` (likewise ``W_out``).

    Raises:
        TypeError: ``stride`` is not an integer or a pair of them, or ``padding`` not a string.
        ValueError: arrays of the wrong shapes (channels or bias that do not match the kernel),
            a ``stride`` below 1, a ``padding`` other than ``"valid"`` and ``"same"``, or a
            window larger than the input with ``"valid"``.
    """
    x, kernel, bias, stride, padding = _conv2d_inputs(x, kernel, bias, stride, padding)
    (sh, sw), (kh, kw, _, c_out) = stride, kernel.shape
    x = _pad_spatial(x, kh, kw, sh, sw, padding, 0.0)
    n_img, height, width, _ = x.shape
    h_out, w_out = (height - kh) // sh + 1, (width - kw) // sw + 1
    y = np.zeros((n_img, h_out, w_out, c_out), dtype=np.result_type(x, kernel))
    for u in range(kh):
        for v in range(kw):
            # x[n, i*sh + u, j*sw + v, :] for every output position (i, j)
            patch = x[:, u : u + sh * (h_out - 1) + 1 : sh, v : v + sw * (w_out - 1) + 1 : sw, :]
            y += np.tensordot(patch, kernel[u, v], axes=1)  # sum over c
    if bias is not None:
        y += bias
    return y


def _conv2d_inputs(x, kernel, bias, stride, padding):
    """Validate and normalise ``conv2d``'s arguments (shared with the loop version)."""
    fn = "conv2d"
    x = _array(fn, "x", x, 4, "(N, H, W, C_in)")
    kernel = _array(fn, "kernel", kernel, 4, "(kh, kw, C_in, C_out)")
    if kernel.shape[2] != x.shape[3]:
        raise ValueError(
            f"{fn}: kernel expects C_in={kernel.shape[2]} input channels "
            f"(kernel shape {kernel.shape}), but x has {x.shape[3]} (x shape {x.shape})"
        )
    if bias is not None:
        bias = _array(fn, "bias", bias, 1, "(C_out,)")
        if bias.shape[0] != kernel.shape[3]:
            raise ValueError(
                f"{fn}: bias must have shape ({kernel.shape[3]},) to match the kernel's "
                f"C_out, got shape {bias.shape}"
            )
    stride = _pair(fn, "stride", stride)
    padding = _padding(fn, padding)
    _check_window(fn, x, kernel.shape[0], kernel.shape[1], padding)
    return x, kernel, bias, stride, padding


def max_pool2d(x, pool_size=2, stride=None, padding: str = "valid"):
    """Max pooling as ``keras.layers.MaxPooling2D`` computes it.

    ``y[n, i, j, c] = max_{u, v} x[n, i*s_h + u, j*s_w + v, c]`` over a
    ``pool_size`` window, each channel on its own.

    Args:
        x: images or feature maps, shape ``(N, H, W, C)``.
        pool_size: window size in pixels, an int or ``(p_h, p_w)``.
        stride: step between windows, an int or ``(s_h, s_w)``; defaults to
            ``pool_size`` (non-overlapping windows), as in Keras.
        padding: ``"valid"`` or ``"same"`` (TensorFlow's rule; padded pixels
            never win the max).

    Returns:
        Shape ``(N, H_out, W_out, C)``; see :func:`conv_output_size`.

    Raises:
        TypeError: ``pool_size`` or ``stride`` is not an integer or a pair of them, or
            ``padding`` not a string.
        ValueError: ``x`` is not 4-D, a size below 1, a ``padding`` other than ``"valid"`` and
            ``"same"``, or a window larger than the input with ``"valid"``.
    """
    fn = "max_pool2d"
    x = _array(fn, "x", x, 4, "(N, H, W, C)")
    ph, pw = _pair(fn, "pool_size", pool_size)
    sh, sw = (ph, pw) if stride is None else _pair(fn, "stride", stride)
    padding = _padding(fn, padding)
    _check_window(fn, x, ph, pw, padding)
    x = _pad_spatial(x, ph, pw, sh, sw, padding, -np.inf)
    h_out, w_out = (x.shape[1] - ph) // sh + 1, (x.shape[2] - pw) // sw + 1
    y = np.full((x.shape[0], h_out, w_out, x.shape[3]), -np.inf, dtype=x.dtype)
    for u in range(ph):
        for v in range(pw):
            patch = x[:, u : u + sh * (h_out - 1) + 1 : sh, v : v + sw * (w_out - 1) + 1 : sw, :]
            np.maximum(y, patch, out=y)
    return y


# --------------------------------------------------------------------------
# Dense, recurrent and attention layers.


def dense(x, w, b=None):
    """A fully connected layer, ``y = x W + b``, as ``keras.layers.Dense``
    (without its activation).

    Args:
        x: inputs, shape ``(..., d_in)``; leading axes (batch, time, ...) are
            kept.
        w: weights, shape ``(d_in, d_out)``, the layout of ``Dense.kernel``.
        b: bias, shape ``(d_out,)``, or ``None`` for no bias.

    Returns:
        Shape ``(..., d_out)``.

    Raises:
        ValueError: arrays that are not numeric or whose shapes do not match as above.
    """
    fn = "dense"
    x = _array(fn, "x", x)
    w = _array(fn, "w", w, 2, "(d_in, d_out)")
    if x.ndim == 0 or x.shape[-1] != w.shape[0]:
        raise ValueError(
            f"{fn}: x must have shape (..., d_in) with d_in={w.shape[0]} to match w "
            f"(shape {w.shape}), got shape {x.shape}"
        )
    y = x @ w
    if b is not None:
        b = _array(fn, "b", b, 1, "(d_out,)")
        if b.shape[0] != w.shape[1]:
            raise ValueError(
                f"{fn}: b must have shape ({w.shape[1]},) to match w's d_out, got shape {b.shape}"
            )
        y = y + b
    return y


def rnn_forward(
    xs,
    w,
    u,
    b,
    h0=None,
    activation: Callable[[np.ndarray], np.ndarray] = np.tanh,
):
    """Run a simple (Elman) RNN over a sequence, as ``keras.layers.SimpleRNN``.

    ``h_t = f(x_t W + h_{t-1} U + b)`` for ``t = 1..T``, starting from
    ``h_0`` (zeros unless given). The same ``W``, ``U`` and ``b`` are used at
    every step: that is what "recurrent" means.

    Args:
        xs: inputs, shape ``(N, T, d_in)`` (batch, time steps, features).
        w: input weights, shape ``(d_in, units)`` (``SimpleRNN``'s ``kernel``).
        u: recurrent weights, shape ``(units, units)`` (``recurrent_kernel``).
        b: bias, shape ``(units,)``.
        h0: initial state, shape ``(N, units)``, or ``None`` for zeros.
        activation: elementwise ``f``; ``np.tanh`` as in Keras.

    Returns:
        Every hidden state, shape ``(N, T, units)``. The whole array is what
        ``SimpleRNN(return_sequences=True)`` returns; its last step,
        ``[:, -1]``, is what the default ``SimpleRNN`` returns.

    Raises:
        TypeError: ``activation`` is not callable.
        ValueError: arrays that are not numeric or whose shapes do not match as above.
    """
    fn = "rnn_forward"
    xs = _array(fn, "xs", xs, 3, "(N, T, d_in)")
    w = _array(fn, "w", w, 2, "(d_in, units)")
    u = _array(fn, "u", u, 2, "(units, units)")
    b = _array(fn, "b", b, 1, "(units,)")
    n, steps, d_in = xs.shape
    units = w.shape[1]
    if w.shape[0] != d_in:
        raise ValueError(
            f"{fn}: w must have shape ({d_in}, units) to match xs's d_in={d_in}, got shape {w.shape}"
        )
    if u.shape != (units, units):
        raise ValueError(f"{fn}: u must have shape ({units}, {units}), got shape {u.shape}")
    if b.shape != (units,):
        raise ValueError(f"{fn}: b must have shape ({units},), got shape {b.shape}")
    checks.instance(f"{fn}: activation", activation, Callable, "a function of an array")
    if h0 is None:
        h = np.zeros((n, units), dtype=np.result_type(xs, w, u, b))
    else:
        h = _array(fn, "h0", h0, 2, "(N, units)")
        if h.shape != (n, units):
            raise ValueError(f"{fn}: h0 must have shape ({n}, {units}), got shape {h.shape}")
    states = []
    for t in range(steps):
        h = activation(xs[:, t] @ w + h @ u + b)
        states.append(h)
    if not states:
        return np.zeros((n, 0, units), dtype=h.dtype)
    return np.stack(states, axis=1)


def scaled_dot_product_attention(q, k, v, mask=None):
    """Attention: ``softmax(Q K^T / sqrt(d_k)) V``.

    Each query scores every key by a dot product; dividing by ``sqrt(d_k)``
    keeps the scores' variance near 1 whatever ``d_k`` is, so the softmax does
    not saturate; the weights then average the values.

    Args:
        q: queries, shape ``(..., T_q, d_k)``.
        k: keys, shape ``(..., T_k, d_k)``.
        v: values, shape ``(..., T_k, d_v)``.
        mask: optional, broadcastable to ``(..., T_q, T_k)``; ``True`` (or 1)
            where a query may attend to a key, ``False`` (or 0) where it may
            not (the Keras convention). Leading (batch, head) axes of
            ``q``, ``k``, ``v`` and ``mask`` broadcast against each other.

    Returns:
        ``(output, weights)``: ``output`` of shape ``(..., T_q, d_v)`` and
        ``weights`` of shape ``(..., T_q, T_k)``, each row summing to 1. Masked
        positions get weight 0; a query that may attend to no key gets
        all-zero weights and a zero output (as in ``keras.layers.Softmax``).

    Raises:
        ValueError: arrays that are not numeric or whose shapes do not match as above, or a
            ``mask`` that does not broadcast to the scores.
    """
    fn = "scaled_dot_product_attention"
    q = _array(fn, "q", q)
    k = _array(fn, "k", k)
    v = _array(fn, "v", v)
    for name, arr, layout in (("q", q, "T_q, d_k"), ("k", k, "T_k, d_k"), ("v", v, "T_k, d_v")):
        if arr.ndim < 2:
            raise ValueError(f"{fn}: {name} must be at least 2-D (..., {layout}), got shape {arr.shape}")
    if q.shape[-1] != k.shape[-1]:
        raise ValueError(
            f"{fn}: q and k must have the same d_k (last axis), got q shape {q.shape} "
            f"and k shape {k.shape}"
        )
    if k.shape[-2] != v.shape[-2]:
        raise ValueError(
            f"{fn}: k and v must have the same T_k (second-to-last axis), got k shape "
            f"{k.shape} and v shape {v.shape}"
        )
    scores = q @ np.swapaxes(k, -1, -2) / np.sqrt(q.shape[-1])  # (..., T_q, T_k)
    if mask is not None:
        mask = np.asarray(mask)
        try:
            np.broadcast_shapes(mask.shape, scores.shape)
        except ValueError:
            raise ValueError(
                f"{fn}: mask must be broadcastable to the scores' shape {scores.shape} "
                f"(..., T_q, T_k), got shape {mask.shape}"
            ) from None
        if mask.dtype != bool:
            mask = mask > 0.5  # 1 = attend, 0 = masked, as Keras reads float masks
        scores = np.where(mask, scores, -np.inf)
    weights = softmax(scores, axis=-1)
    return weights @ v, weights


# --------------------------------------------------------------------------
# Gradients.


def numeric_gradient(f: Callable[[np.ndarray], float], x, eps: float = 1e-6) -> np.ndarray:
    """Gradient of a scalar function by central finite differences.

    ``df/dx_i ~ (f(x + eps e_i) - f(x - eps e_i)) / (2 eps)``, one coordinate
    at a time, in float64. The error is O(eps^2) plus rounding of order
    ``1e-16 / eps``, so ``eps=1e-6`` gives about 8-10 correct digits on
    smooth functions: good enough to check a hand-derived or autodiff
    gradient. It costs ``2 * x.size`` calls of ``f``.

    Args:
        f: function of one array (shape of ``x``) returning a scalar.
        x: the point to differentiate at, any shape.
        eps: step size, in the units of ``x``.

    Returns:
        float64 array, shape of ``x``.

    Raises:
        TypeError: ``f`` is not callable, or ``eps`` not a number.
        ValueError: ``eps`` is not positive, ``x`` is not numeric, or ``f`` returns more than
            one number.
    """
    fn = "numeric_gradient"
    checks.instance(f"{fn}: f", f, Callable, "a function of one array")
    eps = checks.scalar(f"{fn}: eps", eps, minimum=0, include_minimum=False)
    x = _array(fn, "x", x).astype(np.float64)  # a copy we may perturb
    grad = np.zeros_like(x)
    flat, grad_flat = x.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
        saved = flat[i]
        flat[i] = saved + eps
        up = np.asarray(f(x), dtype=np.float64)
        flat[i] = saved - eps
        down = np.asarray(f(x), dtype=np.float64)
        flat[i] = saved
        if up.shape != () and up.size != 1:
            raise ValueError(f"{fn}: f must return a scalar, got an array of shape {up.shape}")
        grad_flat[i] = (up.item() - down.item()) / (2 * eps)
    return grad
