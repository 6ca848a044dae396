"""Exercises of chapters 1.4.1-1.4.3 (the CNN, RNN and attention classifiers).

The references are NumPy (``tests/test_exercises.py`` checks each against the
Keras layer or loss it stands for) or :mod:`cvtutor.metrics`; parameter and
multiply-add counts are read from the package's models (Keras is imported
then, once).
"""

from __future__ import annotations

from functools import cache

import numpy as np

from cvtutor import metrics
from cvtutor import reference as ref
from cvtutor.exercises._basics import keras_params, normal
from cvtutor.exercises._core import Exercise, register


def log_softmax(logits, axis=-1):
    """``log(softmax(logits))`` without overflow: ``z - max - log(sum(exp(z - max)))``."""
    shifted = logits - logits.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


# 1.4.1 CNN classifier ----------------------------------------------------------


def sparse_cross_entropy(logits, labels):
    """Worked solution of 1.4.1-cross-entropy: ``SparseCategoricalCrossentropy(from_logits=True)``.

    logits: ``(N, K)``; labels: ``(N,)`` ints in ``[0, K)``. Returns the mean
    over the batch of ``-log softmax(logits)[label]`` (nats), a scalar,
    computed stably (logits of 1000 must not overflow).
    """
    return -log_softmax(logits)[np.arange(len(labels)), labels].mean()


def _ce_twice(logits, labels):
    probs = ref.softmax(logits)  # the article: a softmax output, then from_logits=True
    return sparse_cross_entropy(probs, labels)


def _ce_naive(logits, labels):
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        p = np.exp(logits) / np.exp(logits).sum(axis=-1, keepdims=True)
        return -np.log(p[np.arange(len(labels)), labels]).mean()


def _ce_inputs(rng):
    out = []
    for n, k, scale in [(1, 10, 1.0), (8, 10, 3.0), (5, 3, 1.0), (4, 10, 1000.0)]:
        out.append(dict(logits=normal(rng, n, k, scale=scale), labels=rng.integers(0, k, n)))
    return out


register(Exercise(
    id="1.4.1-cross-entropy", chapter="1.4.1", kind="function", returns="a number (the mean loss)",
    signature="sparse_cross_entropy(logits, labels)",
    title="A stable cross-entropy",
    task="Write `sparse_cross_entropy(logits, labels)`: the mean cross-entropy of `logits` `(N, K)` against integer "
         "`labels` `(N,)`, equal to `SparseCategoricalCrossentropy(from_logits=True)` and finite for logits of 1000.",
    hint="Work with `log softmax(z) = z - max(z) - log(sum(exp(z - max(z))))`, row by row (`keepdims=True`): once "
         "the row's maximum is subtracted, no `exp` exceeds 1. Then pick each row's entry at its label, "
         "`log_p[np.arange(N), labels]`, negate and average.",
    solution=sparse_cross_entropy,
    wrong={
        "softmax applied twice (the article's defect)": _ce_twice,
        "exp without subtracting the maximum (overflows)": _ce_naive,
        "summed over the batch instead of averaged": lambda logits, labels: len(labels) * sparse_cross_entropy(
            logits, labels),
    },
    inputs=_ce_inputs,
    reference=lambda logits, labels: np.float64(sparse_cross_entropy(logits, labels)),
))


def confusion_matrix(y_true, y_pred, num_classes):
    """Worked solution of 1.4.1-confusion-matrix: ``counts[i, j]`` = images of class ``i`` predicted as ``j``.

    y_true, y_pred: ``(N,)`` ints in ``[0, num_classes)``; returns
    ``(num_classes, num_classes)`` ints, rows the true class (scikit-learn's layout).
    """
    counts = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(counts, (y_true, y_pred), 1)
    return counts


def _confusion_inputs(rng):
    out = [dict(y_true=np.array([0, 1, 1, 2]), y_pred=np.array([0, 2, 1, 1]), num_classes=3)]
    for n, k in [(50, 10), (1, 4), (30, 5)]:
        y_true = rng.integers(0, k - 1, n)  # the last class never occurs
        out.append(dict(y_true=y_true, y_pred=np.where(rng.random(n) < 0.6, y_true, rng.integers(0, k, n)),
                        num_classes=k))
    return out


register(Exercise(
    id="1.4.1-confusion-matrix", chapter="1.4.1", kind="function", returns="an int array (num_classes, num_classes)",
    signature="confusion_matrix(y_true, y_pred, num_classes)",
    title="A confusion matrix",
    task="Write `confusion_matrix(y_true, y_pred, num_classes)`: `counts[i, j]` = the number of test images of "
         "true class `i` predicted as class `j`.",
    hint="Start from `np.zeros((num_classes, num_classes), dtype=int)`, so that a class that never occurs still has "
         "its row, and add 1 at `[true, predicted]` for each image. Beware: `counts[y_true, y_pred] += 1` counts a "
         "repeated pair only once; a loop, or `np.add.at`, counts every one.",
    solution=confusion_matrix,
    wrong={
        "transposed (rows the prediction)": lambda y_true, y_pred, num_classes: confusion_matrix(
            y_pred, y_true, num_classes),
        "sized by the classes present": lambda y_true, y_pred, num_classes: confusion_matrix(
            y_true, y_pred, int(max(y_true.max(), y_pred.max())) + 1),
    },
    inputs=_confusion_inputs,
    reference=lambda y_true, y_pred, num_classes: metrics.confusion_counts(y_true, y_pred, num_classes),
))


def batchnorm_inference(x, gamma, beta, mean, variance, epsilon):
    """Worked solution of 1.4.1-batchnorm: ``BatchNormalization`` at inference (``training=False``).

    ``gamma * (x - mean) / sqrt(variance + epsilon) + beta``, per channel (the
    last axis). x: ``(N, H, W, C)``; gamma, beta, mean, variance: ``(C,)``
    (the moving averages). Returns the shape of ``x``.
    """
    return gamma * (x - mean) / np.sqrt(variance + epsilon) + beta


def _bn_inputs(rng):
    out = []
    for shape, eps in [((1, 2, 2, 3), 1e-3), ((4, 5, 5, 8), 1e-3), ((2, 3, 1, 1), 1e-2)]:
        c = shape[-1]
        out.append(dict(x=normal(rng, *shape, scale=2.0), gamma=normal(rng, c), beta=normal(rng, c),
                        mean=normal(rng, c), variance=rng.uniform(0.005, 1.0, c), epsilon=eps))
    return out


register(Exercise(
    id="1.4.1-batchnorm", chapter="1.4.1", kind="function",
    signature="batchnorm_inference(x, gamma, beta, mean, variance, epsilon)",
    title="Batch normalisation at test time",
    task="Write `batchnorm_inference(x, gamma, beta, mean, variance, epsilon)`: what `BatchNormalization` computes "
         "at test time from its moving mean and variance, per channel of `x` `(N, H, W, C)`.",
    hint="At test time nothing is computed from the batch: normalise with the stored moving `mean` and `variance`, "
         "`epsilon` inside the square root, then scale by `gamma` and shift by `beta`. All four vectors have one "
         "entry per channel and broadcast over the last axis of `x`.",
    solution=batchnorm_inference,
    wrong={
        "epsilon forgotten": lambda x, gamma, beta, mean, variance, epsilon: gamma * (x - mean) / np.sqrt(variance) + beta,
        "divided by the variance, not its square root": lambda x, gamma, beta, mean, variance, epsilon: (
            gamma * (x - mean) / (variance + epsilon) + beta),
        "this batch's statistics (training mode)": lambda x, gamma, beta, mean, variance, epsilon: batchnorm_inference(
            x, gamma, beta, x.mean(axis=(0, 1, 2)), x.var(axis=(0, 1, 2)), epsilon),
    },
    inputs=_bn_inputs,
    reference=batchnorm_inference,
))


def smoothed_cross_entropy(logits, labels, smoothing):
    """:class:`cvtutor.losses.SmoothedSparseCrossentropy`, in NumPy (the loss of 1.4.1-label-smoothing-gradient).

    The target is ``(1 - s) * one_hot(label) + s / K``; the loss is its cross-
    entropy with ``softmax(logits)``, averaged over the batch. logits
    ``(N, K)``; labels ``(N,)``; smoothing ``s`` in [0, 1).
    """
    log_p = log_softmax(logits)
    picked = log_p[np.arange(len(labels)), labels]
    return (-(1 - smoothing) * picked - smoothing * log_p.mean(axis=-1)).mean()


def smoothed_cross_entropy_gradient(logits, labels, smoothing):
    """Worked solution of 1.4.1-label-smoothing-gradient: the gradient of
    :func:`smoothed_cross_entropy` with respect to the logits.

    ``dL/dz = (softmax(z) - target) / N`` with ``target = (1 - s) one_hot(label) + s / K``: the
    softmax's and the log's derivatives cancel, and the batch mean divides by ``N``. logits
    ``(N, K)``; labels ``(N,)``; returns ``(N, K)``. With ``s > 0`` the gradient at the label's
    logit vanishes when the model gives it ``1 - s + s / K``, not 1: the loss stops pushing.
    """
    n, k = logits.shape
    target = np.full((n, k), smoothing / k)
    target[np.arange(n), labels] += 1 - smoothing
    return (np.exp(log_softmax(logits)) - target) / n


def _smoothed_gradient_numeric(logits, labels, smoothing):
    """The reference: central differences of the loss itself (:func:`cvtutor.reference.numeric_gradient`)."""
    return ref.numeric_gradient(lambda z: smoothed_cross_entropy(z, labels, smoothing), logits)


register(Exercise(
    id="1.4.1-label-smoothing-gradient", chapter="1.4.1", kind="function",
    signature="smoothed_cross_entropy_gradient(logits, labels, smoothing)",
    title="The gradient of label smoothing",
    task="Write `smoothed_cross_entropy_gradient(logits, labels, smoothing)`: the gradient, `(N, K)`, of the "
         "batch-mean cross-entropy against the smoothed target `(1 - s) one_hot(label) + s / K` with respect to the "
         "logits `(N, K)` (what `GradientTape` would give for `SmoothedSparseCrossentropy`).",
    hint="Write the loss of one image as `-sum_k t_k log softmax(z)_k` and differentiate by `z_j`: since the target "
         "`t` sums to 1, everything collapses to `softmax(z)_j - t_j`. Every class gets `s / K` of the target, the "
         "label's class `1 - s + s / K`. The batch mean divides each row by `N`.",
    solution=smoothed_cross_entropy_gradient,
    wrong={
        "the unsmoothed target (one-hot)": lambda logits, labels, smoothing: smoothed_cross_entropy_gradient(
            logits, labels, 0.0),
        "the batch mean's 1/N forgotten": lambda logits, labels, smoothing: len(labels) * (
            smoothed_cross_entropy_gradient(logits, labels, smoothing)),
        "the sign flipped (target minus softmax)": lambda logits, labels, smoothing: -smoothed_cross_entropy_gradient(
            logits, labels, smoothing),
    },
    inputs=lambda rng: [dict(logits=normal(rng, n, k, scale=2.0), labels=rng.integers(0, k, n), smoothing=sm)
                        for n, k, sm in [(1, 10, 0.1), (6, 10, 0.2), (4, 3, 0.3), (5, 4, 0.5)]],
    reference=_smoothed_gradient_numeric,
    atol=1e-6,
))


# 1.4.2 RNN classifier ----------------------------------------------------------


def image_to_rows(images):
    """Worked solution of 1.4.2-rows: ``keras.layers.Reshape((H, W * C))``.

    images: ``(N, H, W, C)``; returns ``(N, H, W * C)``: time step ``t`` is
    row ``t``, its pixels left to right, each pixel's channels together.
    """
    n, h, w, c = images.shape
    return images.reshape(n, h, w * c)


register(Exercise(
    id="1.4.2-rows", chapter="1.4.2", kind="function",
    signature="image_to_rows(images)",
    title="Images as sequences of rows",
    task="Write `image_to_rows(images)`: `images` `(N, H, W, C)` as sequences `(N, H, W*C)`, one row per time step, "
         "as `keras.layers.Reshape((H, W * C))` gives them to the LSTM.",
    hint="Time step `t` is image row `t`, `images[:, t]`, of shape `(N, W, C)`; its features are that row's pixels "
         "left to right, each pixel's channels next to each other. A NumPy reshape reads the array in C order, the "
         "last axis fastest: are the axes you want to merge already next to each other, in that order?",
    solution=image_to_rows,
    wrong={
        "columns instead of rows": lambda images: image_to_rows(images.transpose(0, 2, 1, 3)),
        "channels grouped (all red, then green, then blue)": lambda images: images.transpose(0, 1, 3, 2).reshape(
            images.shape[0], images.shape[1], -1),
    },
    inputs=lambda rng: [dict(images=rng.integers(0, 256, s).astype(np.uint8)) for s in
                        [(1, 32, 32, 3), (2, 5, 5, 3), (3, 4, 6, 2), (1, 1, 7, 1)]],
    reference=image_to_rows,
))


def rnn_params():
    """Worked solution of 1.4.2-rnn-params: the parameters of :func:`cvtutor.models.build_rnn`.

    An LSTM of 128 units on 96 features per row has four weight blocks (its three
    gates and the candidate values), each with a
    ``96 x 128`` kernel, a ``128 x 128`` recurrent kernel and 128 biases; the
    logits layer reads the last state.
    """
    lstm = 4 * (96 * 128 + 128 * 128 + 128)
    logits = 128 * 10 + 10
    return lstm + logits


register(Exercise(
    id="1.4.2-rnn-params", chapter="1.4.2", kind="value", returns="an int (parameters)",
    title="The parameters of the RNN classifier",
    task="Count by hand the parameters of the chapter's RNN classifier, `build_rnn()` (32 rows of 96 features, "
         "`LSTM(128)`, 10 logits).",
    hint="`Reshape` has no weights. The LSTM has four such blocks (its three gates and the candidate values), "
         "each with a kernel from the 96 features of a row, a "
         "recurrent kernel from the 128-unit state and a bias, shared by all 32 steps. The logits layer reads only "
         "the last state.",
    solution=rnn_params,
    wrong={
        "one transform instead of four": lambda: (96 * 128 + 128 * 128 + 128) + 128 * 10 + 10,
        "a weight per time step (times 32)": lambda: 32 * 4 * (96 * 128 + 128 * 128 + 128) + 1290,
    },
    reference=lambda: keras_params("build_rnn"),
))


def rnn_multiply_adds():
    """Worked solution of 1.4.2-rnn-macs: multiply-adds of one forward pass of ``build_rnn()`` on one image.

    At each of the 32 steps, the LSTM's four weight blocks multiply the row (96) by
    their kernels and the state (128) by their recurrent kernels; the logits
    layer multiplies the last state once. Biases and activations count zero
    (:mod:`cvtutor.flops`).
    """
    return 32 * 4 * (96 * 128 + 128 * 128) + 128 * 10


@cache
def _rnn_macs():
    from cvtutor import flops, models

    return int(flops.multiply_adds(models.build_rnn()))


register(Exercise(
    id="1.4.2-rnn-macs", chapter="1.4.2", kind="value", returns="an int (multiply-adds)",
    title="The multiply-adds of the RNN classifier",
    task="Count by hand the multiply-adds of one forward pass of `build_rnn()` on one 32x32x3 image (as "
         "`cvtutor.flops` counts them: weight products only).",
    hint="Unlike the parameters, the work grows with the sequence: at every one of the 32 steps each gate "
         "multiplies the row by its kernel and the state by its recurrent kernel, one multiply-add per weight. The "
         "logits layer runs once. Biases and activations count zero here.",
    solution=rnn_multiply_adds,
    wrong={
        "one step instead of 32": lambda: 4 * (96 * 128 + 128 * 128) + 128 * 10,
        "FLOPs (2 per multiply-add)": lambda: 2 * rnn_multiply_adds(),
    },
    reference=_rnn_macs,
))


# 1.4.3 Attention classifier ----------------------------------------------------


def patchify(images, patch_size):
    """Worked solution of 1.4.3-patchify: images as tokens, one per ``p x p`` patch.

    images: ``(N, H, W, C)`` with ``p`` dividing ``H`` and ``W``; returns
    ``(N, (H/p) * (W/p), p * p * C)``: patches numbered row by row, each
    flattened in (row, column, channel) order, the layout of a ``Conv2D``
    kernel, so ``patchify(x, p) @ kernel.reshape(-1, dim) + bias`` is what
    :class:`cvtutor.layers.PatchEmbedding` computes.
    """
    n, h, w, c = images.shape
    p = patch_size
    grid = images.reshape(n, h // p, p, w // p, p, c).transpose(0, 1, 3, 2, 4, 5)
    return grid.reshape(n, (h // p) * (w // p), p * p * c)


def _patchify_by_columns(images, patch_size):
    n, h, w, c = images.shape
    p = patch_size
    grid = images.reshape(n, h // p, p, w // p, p, c).transpose(0, 3, 1, 2, 4, 5)  # grid columns first
    return grid.reshape(n, (h // p) * (w // p), p * p * c)


register(Exercise(
    id="1.4.3-patchify", chapter="1.4.3", kind="function",
    signature="patchify(images, patch_size)",
    title="Images as patches",
    task="Write `patchify(images, patch_size)`: `(N, H, W, C)` images as `(N, T, p*p*C)` tokens, patches row by "
         "row, each flattened (row, column, channel) as `PatchEmbedding`'s convolution reads it.",
    hint="Reshape `(N, H, W, C)` to `(N, H/p, p, W/p, p, C)`: axes 1 and 3 number the patches, axes 2 and 4 the "
         "pixels within a patch. A transpose has to bring the two grid axes next to each other, and then the pixel "
         "axes, before the final reshape to `(N, T, p*p*C)`.",
    solution=patchify,
    wrong={
        "reshape without the transpose": lambda images, patch_size: images.reshape(
            images.shape[0], -1, patch_size * patch_size * images.shape[-1]),
        "patches numbered column by column": _patchify_by_columns,
    },
    inputs=lambda rng: [dict(images=normal(rng, *s), patch_size=p) for s, p in
                        [((1, 32, 32, 3), 4), ((2, 6, 4, 1), 2), ((1, 9, 6, 2), 3), ((3, 4, 4, 3), 4)]],
    reference=patchify,
))


def layer_norm(x, gamma, beta, epsilon):
    """Worked solution of 1.4.3-layer-norm: ``keras.layers.LayerNormalization(epsilon=epsilon)``.

    Each token (the last axis) is normalised by its own mean and (biased)
    variance, then scaled by ``gamma`` and shifted by ``beta``. x: ``(N, T, D)``;
    gamma, beta: ``(D,)``. Returns the shape of ``x``.
    """
    mean = x.mean(axis=-1, keepdims=True)
    variance = x.var(axis=-1, keepdims=True)
    return gamma * (x - mean) / np.sqrt(variance + epsilon) + beta


def _ln_token_axis(x, gamma, beta, epsilon):
    mean, variance = x.mean(axis=-2, keepdims=True), x.var(axis=-2, keepdims=True)
    return gamma * (x - mean) / np.sqrt(variance + epsilon) + beta


def _ln_unbiased(x, gamma, beta, epsilon):
    mean, variance = x.mean(axis=-1, keepdims=True), x.var(axis=-1, ddof=1, keepdims=True)
    return gamma * (x - mean) / np.sqrt(variance + epsilon) + beta


register(Exercise(
    id="1.4.3-layer-norm", chapter="1.4.3", kind="function",
    signature="layer_norm(x, gamma, beta, epsilon)",
    title="Layer normalisation",
    task="Write `layer_norm(x, gamma, beta, epsilon)` for tokens `x` `(N, T, D)`: `LayerNormalization`, each token "
         "normalised over its own `D` features.",
    hint="Take the mean and the variance over the last axis only, with `keepdims=True`, so that each token is "
         "normalised by its own statistics. `x.var` is the biased variance (divided by `D`), the one Keras uses; "
         "`epsilon` goes inside the square root.",
    solution=layer_norm,
    wrong={
        "normalised over the tokens (a batch norm)": _ln_token_axis,
        "unbiased variance (ddof=1)": _ln_unbiased,
    },
    inputs=lambda rng: [dict(x=normal(rng, *s, scale=3.0) + 1.0, gamma=normal(rng, s[-1]), beta=normal(rng, s[-1]),
                             epsilon=e) for s, e in [((1, 4, 8), 1e-6), ((2, 64, 16), 1e-6), ((3, 5, 4), 1e-3)]],
    reference=layer_norm,
))


def attention_model_params():
    """Worked solution of 1.4.3-attention-params: the parameters of :func:`cvtutor.models.build_attention`.

    Defaults: 4x4 patches (64 tokens of 48 values) embedded into 64 features,
    a position embedding per token, two transformer blocks (two LayerNorms,
    4-head attention with four 64x64 projections, an MLP 64 -> 128 -> 64),
    a final LayerNorm and 10 logits.
    """
    embedding = 4 * 4 * 3 * 64 + 64
    positions = 64 * 64
    attention = 4 * (64 * 64 + 64)
    mlp = (64 * 128 + 128) + (128 * 64 + 64)
    block = 2 * (2 * 64) + attention + mlp
    return embedding + positions + 2 * block + 2 * 64 + (64 * 10 + 10)


register(Exercise(
    id="1.4.3-attention-params", chapter="1.4.3", kind="value", returns="an int (parameters)",
    title="The parameters of the patch-attention model",
    task="Count by hand the parameters of the patch-attention model `build_attention()` (4x4 patches, `dim` 64, "
         "4 heads, 2 blocks with MLP width 128).",
    hint="Go layer by layer: the patch embedding is a 4x4 convolution from 3 channels to 64, with bias; the "
         "position embedding has one 64-vector per token; each block has two LayerNorms (a scale and a shift each), "
         "four 64x64 attention projections with biases and an MLP 64 -> 128 -> 64; then the tokens' average (no "
         "weights), a final LayerNorm and 10 logits.",
    solution=attention_model_params,
    wrong={
        "LayerNorms forgotten": lambda: attention_model_params() - 5 * 2 * 64,
        "position embedding forgotten": lambda: attention_model_params() - 64 * 64,
    },
    reference=lambda: keras_params("build_attention"),
))
