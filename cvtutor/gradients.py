"""Backpropagation by hand, in NumPy: the backward passes of a dense layer, a convolution and the
softmax cross-entropy loss (chapter 1.3.4).

Backpropagation is the chain rule applied layer by layer from the loss back to the input
(Rumelhart, Hinton and Williams, "Learning representations by back-propagating errors", Nature
323, 1986). Each function here takes what its layer's forward pass took, plus the *upstream
gradient* ``dL/dy`` (the loss's gradient with respect to the layer's output, same shape as the
output), and returns the gradients with respect to the layer's input and parameters. The forward
passes are :mod:`cvtutor.reference`'s, in the layouts Keras uses, so the gradients here are the
ones ``tf.GradientTape`` (or ``jax.grad``) computes for ``keras.layers.Dense`` and ``Conv2D``;
``tests/test_gradients.py`` checks them against both ``GradientTape`` and finite differences.

Only NumPy is imported.
"""

from __future__ import annotations

import numpy as np

from cvtutor import reference as ref
from cvtutor.reference import _array, _conv2d_inputs, _same_pads

__all__ = ["conv2d_backward", "dense_backward", "softmax_cross_entropy", "softmax_cross_entropy_backward"]


def _upstream(fn: str, dy, shape: tuple) -> np.ndarray:
    dy = _array(fn, "dy", dy)
    if dy.shape != tuple(shape):
        raise ValueError(f"{fn}: dy must have the forward output's shape {tuple(shape)}, got shape {dy.shape}")
    return dy


def dense_backward(x, w, dy):
    """The backward pass of ``y = x @ w + b`` (``keras.layers.Dense`` without activation).

    With ``z = x W + b``, each output ``y[n, j] = sum_i x[n, i] w[i, j] + b[j]``, so by the chain rule::

        dL/dx = dy @ w.T            (N, d_in)
        dL/dw = x.T @ dy            (d_in, d_out): summed over the batch
        dL/db = dy.sum(axis=0)      (d_out,):      likewise

    Args:
        x: inputs, shape ``(N, d_in)``.
        w: weights, shape ``(d_in, d_out)``, the layout of ``Dense.kernel``.
        dy: the upstream gradient ``dL/dy``, shape ``(N, d_out)``.

    Returns:
        ``(dx, dw, db)`` with the shapes of ``x``, ``w`` and the bias ``(d_out,)``.

    Raises:
        ValueError: an array that is not numeric or has the wrong number of dimensions, ``x`` and
            ``w`` that do not match, or ``dy`` not of shape ``(N, d_out)``.

    Source: Rumelhart, Hinton and Williams (1986): the chain rule through one layer of weights.
    """
    fn = "dense_backward"
    x = _array(fn, "x", x, 2, "(N, d_in)")
    w = _array(fn, "w", w, 2, "(d_in, d_out)")
    if x.shape[1] != w.shape[0]:
        raise ValueError(f"{fn}: w must have {x.shape[1]} rows to match x's d_in, got shape {w.shape}")
    dy = _upstream(fn, dy, (x.shape[0], w.shape[1]))
    dx = dy @ w.T
    dw = x.T @ dy
    db = dy.sum(axis=0)
    return dx, dw, db


def conv2d_backward(x, kernel, dy, stride=1, padding: str = "valid"):
    """The backward pass of :func:`cvtutor.reference.conv2d` (``keras.layers.Conv2D`` without
    activation), for its kernel, its bias and its input.

    The forward pass is ``y[n, i, j, o] = b[o] + sum_{u, v, c} x[n, s_h i + u, s_w j + v, c]
    K[u, v, c, o]`` (on the padded ``x`` with ``"same"``). Every weight ``K[u, v, c, o]`` is used at
    every output position, so its gradient sums over them; every input pixel feeds every window
    that covers it, so its gradient sums over those::

        dL/dK[u, v, c, o] = sum_{n, i, j} x[n, s_h i + u, s_w j + v, c] dy[n, i, j, o]
        dL/db[o]          = sum_{n, i, j} dy[n, i, j, o]
        dL/dx[n, s_h i + u, s_w j + v, c] += sum_o dy[n, i, j, o] K[u, v, c, o]   (for every i, j, u, v)

    As in the forward pass, the code loops over the kernel offsets ``(u, v)`` only: for each, the
    strided slice of ``x`` that offset touches, contracted with ``dy`` over ``(n, i, j)``, is
    ``dL/dK[u, v]``; and ``dy`` times ``K[u, v]`` transposed is added back into that slice of
    ``dL/dx``. With ``"same"``, the gradient of the zero padding is cropped off at the end.

    Args:
        x: images, shape ``(N, H, W, C_in)`` (NHWC).
        kernel: weights, shape ``(kh, kw, C_in, C_out)``, the layout of ``Conv2D.kernel``.
        dy: the upstream gradient ``dL/dy``, the shape of the forward output ``(N, H_out, W_out, C_out)``.
        stride: an int or ``(s_h, s_w)``, as in the forward pass.
        padding: ``"valid"`` or ``"same"`` (TensorFlow's rule), as in the forward pass.

    Returns:
        ``(dx, dkernel, dbias)`` with the shapes of ``x``, ``kernel`` and the bias ``(C_out,)``.

    Raises:
        TypeError, ValueError: as :func:`cvtutor.reference.conv2d` for ``x``, ``kernel``, ``stride``
            and ``padding``; ValueError for a ``dy`` not of the forward output's shape.

    Source: Rumelhart, Hinton and Williams (1986) for the chain rule; LeCun et al., "Backpropagation
    applied to handwritten zip code recognition", Neural Computation 1(4), 1989, for shared weights
    (a shared weight's gradient is the sum of its gradients at every position).
    """
    fn = "conv2d_backward"
    x, kernel, _, (sh, sw), padding = _conv2d_inputs(x, kernel, None, stride, padding)
    n_img, height, width, _ = x.shape
    kh, kw, _, c_out = kernel.shape
    if padding == "same":
        (top, bottom), (left, right) = _same_pads(height, kh, sh), _same_pads(width, kw, sw)
    else:
        top = bottom = left = right = 0
    padded = np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)))
    h_out, w_out = (padded.shape[1] - kh) // sh + 1, (padded.shape[2] - kw) // sw + 1
    dy = _upstream(fn, dy, (n_img, h_out, w_out, c_out))
    dx = np.zeros(padded.shape, dtype=np.result_type(x, kernel, dy))
    dkernel = np.zeros(kernel.shape, dtype=dx.dtype)
    for u in range(kh):
        for v in range(kw):
            rows = slice(u, u + sh * (h_out - 1) + 1, sh)
            cols = slice(v, v + sw * (w_out - 1) + 1, sw)
            patch = padded[:, rows, cols, :]  # x[n, s_h i + u, s_w j + v, c] for every (n, i, j)
            dkernel[u, v] = np.tensordot(patch, dy, axes=([0, 1, 2], [0, 1, 2]))  # sum over n, i, j
            dx[:, rows, cols, :] += np.tensordot(dy, kernel[u, v], axes=([3], [1]))  # sum over o
    dbias = dy.sum(axis=(0, 1, 2))
    dx = dx[:, top : top + height, left : left + width, :]
    return dx, dkernel, dbias


def _labels(fn: str, labels, n: int, classes: int) -> np.ndarray:
    labels = np.asarray(labels)
    if labels.shape != (n,) or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"{fn}: labels must be {n} integer class indices, shape ({n},), "
                         f"got dtype {labels.dtype}, shape {labels.shape}")
    if labels.size and (labels.min() < 0 or labels.max() >= classes):
        raise ValueError(f"{fn}: labels must be in [0, {classes - 1}], got values from {labels.min()} to {labels.max()}")
    return labels


def softmax_cross_entropy(logits, labels) -> float:
    """The mean cross-entropy of integer ``labels`` under ``softmax(logits)``, as
    ``keras.losses.SparseCategoricalCrossentropy(from_logits=True)`` computes it.

    ``L = -(1/N) sum_n log softmax(z_n)[y_n]``, computed as ``logsumexp(z_n) - z_n[y_n]`` so that
    large logits do not overflow.

    Args:
        logits: shape ``(N, K)``.
        labels: integer class indices, shape ``(N,)``, each in ``[0, K)``.

    Raises:
        ValueError: ``logits`` not 2-D, or ``labels`` not ``N`` integers in range.
    """
    fn = "softmax_cross_entropy"
    logits = _array(fn, "logits", logits, 2, "(N, K)")
    labels = _labels(fn, labels, *logits.shape)
    top = logits.max(axis=1, keepdims=True)
    log_norm = top[:, 0] + np.log(np.exp(logits - top).sum(axis=1))
    return float(np.mean(log_norm - logits[np.arange(len(labels)), labels]))


def softmax_cross_entropy_backward(logits, labels) -> np.ndarray:
    """The gradient of :func:`softmax_cross_entropy` with respect to the logits.

    With ``p = softmax(z)``, ``dL/dz[n, k] = (p[n, k] - [k == y_n]) / N``: the predicted
    probabilities minus the one-hot labels, divided by the batch size because the loss is a mean.
    The softmax's own Jacobian, ``diag(p) - p p^T``, and the logarithm's ``1 / p`` cancel to this.

    Args:
        logits: shape ``(N, K)``.
        labels: integer class indices, shape ``(N,)``, each in ``[0, K)``.

    Returns:
        ``dL/dz``, shape ``(N, K)``; each row sums to 0.

    Raises:
        ValueError: as :func:`softmax_cross_entropy`.
    """
    fn = "softmax_cross_entropy_backward"
    logits = _array(fn, "logits", logits, 2, "(N, K)")
    labels = _labels(fn, labels, *logits.shape)
    grad = ref.softmax(logits, axis=1)
    grad[np.arange(len(labels)), labels] -= 1.0
    return grad / len(labels)
