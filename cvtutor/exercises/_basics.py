"""Exercises of chapters 1.2 (core concepts) and 1.3.1-1.3.3 (convolution, recurrence, attention).

Each exercise has a worked solution (a plain NumPy function, written the
way the chapter explains the formula), plausible wrong answers, the test
inputs and the reference the checker compares with: :mod:`cvtutor.reference`
where it has the function, else a NumPy reference here that
``tests/test_exercises.py`` checks against the Keras layer.
"""

from __future__ import annotations

import math
from functools import cache

import numpy as np

from cvtutor import reference as ref
from cvtutor.exercises._core import Exercise, register


def normal(rng, *shape, scale=1.0):
    return rng.normal(0.0, scale, size=shape)


# 1.2 Core concepts ------------------------------------------------------------


def dense_relu(x, w, b):
    """Worked solution of 1.2-dense-layer: ``ReLU(x W + b)``.

    x: ``(N, d_in)``; w: ``(d_in, d_out)``; b: ``(d_out,)``; returns ``(N, d_out)``.
    """
    return np.maximum(x @ w + b, 0.0)


def _dense_relu_inputs(rng):
    shapes = [(1, 6, 1), (4, 5, 3), (3, 4, 4), (2, 3, 7)]
    return [dict(x=normal(rng, n, d_in), w=normal(rng, d_in, d_out), b=normal(rng, d_out)) for n, d_in, d_out in shapes]


register(Exercise(
    id="1.2-dense-layer", chapter="1.2", kind="function",
    signature="dense_relu(x, w, b)",
    title="A dense layer with ReLU",
    task="Write `dense_relu(x, w, b)` = `ReLU(x W + b)` for `x` `(N, d_in)`, `w` `(d_in, d_out)`, `b` `(d_out,)`, "
         "returning `(N, d_out)`.",
    hint="`x @ w` already has the shape `(N, d_out)`; adding `b` broadcasts it over the batch, one bias per output "
         "feature. The ReLU, `np.maximum(..., 0.0)`, comes after the bias.",
    solution=dense_relu,
    wrong={
        "missing bias": lambda x, w, b: np.maximum(x @ w, 0.0),
        "transposed weights": lambda x, w, b: np.maximum(x @ w.T + b, 0.0),
        "no activation": lambda x, w, b: x @ w + b,
    },
    inputs=_dense_relu_inputs,
    reference=lambda x, w, b: ref.relu(ref.dense(x, w, b)),
))


def receptive_field(layers):
    """Worked solution of 1.2-receptive-field.

    ``layers``: a list of ``(kernel_size, stride)`` pairs, first layer first
    (a convolution or a pooling window). Returns the side, in input pixels, of
    the square one output of the last layer depends on:
    ``r_L = r_{L-1} + (k_L - 1) j_{L-1}``, ``j_L = j_{L-1} s_L``, ``r_0 = j_0 = 1``.
    """
    r, jump = 1, 1
    for kernel, stride in layers:
        r += (kernel - 1) * jump
        jump *= stride
    return r


def _receptive_field_wrong_jump(layers):
    r, jump = 1, 1
    for kernel, stride in layers:
        jump *= stride  # updated before it is used: off by one layer
        r += (kernel - 1) * jump
    return r


def _receptive_field_inputs(rng):
    article_cnn = [(3, 1), (2, 2), (3, 1), (2, 2), (3, 1)]
    random_stack = [(int(k), int(s)) for k, s in zip(rng.integers(1, 6, 6), rng.integers(1, 3, 6))]
    return [dict(layers=[(3, 1)] * 3), dict(layers=article_cnn), dict(layers=[(4, 2), (3, 1), (3, 2)]),
            dict(layers=random_stack), dict(layers=[(5, 1)]), dict(layers=[])]


register(Exercise(
    id="1.2-receptive-field", chapter="1.2", kind="function", returns="an int (pixels)",
    signature="receptive_field(layers)",
    title="The receptive field of a stack",
    task="Write `receptive_field(layers)`: the side in pixels of the receptive field of one output of a stack of "
         "`(kernel_size, stride)` layers, first layer first (an empty stack sees 1 pixel).",
    hint="Track two numbers layer by layer: the field `r` and the jump `j`, how many input pixels apart two "
         "neighbouring outputs of the stack so far are (both start at 1). A layer with kernel `k` and stride `s` "
         "widens the field by `k - 1` of its inputs, each `j` pixels apart, using the jump of the layers *before* "
         "it; only then does its stride multiply `j`.",
    solution=receptive_field,
    wrong={
        "strides ignored": lambda layers: 1 + sum(k - 1 for k, _ in layers),
        "jump updated one layer early": _receptive_field_wrong_jump,
    },
    inputs=_receptive_field_inputs,
    reference=lambda layers: np.int64(receptive_field(layers)),
))


def cnn_params():
    """Worked solution of 1.2-cnn-params: the parameters of :func:`cvtutor.models.build_cnn`, by hand.

    A 3x3 convolution from ``c_in`` to ``c_out`` channels has ``3*3*c_in*c_out``
    weights and ``c_out`` biases; the feature map shrinks 32 -> 30 -> 15 -> 13
    -> 6 -> 4, so ``Flatten`` gives ``4*4*64`` features.
    """
    conv1 = 3 * 3 * 3 * 32 + 32
    conv2 = 3 * 3 * 32 * 64 + 64
    conv3 = 3 * 3 * 64 * 64 + 64
    dense = 4 * 4 * 64 * 64 + 64
    logits = 64 * 10 + 10
    return conv1 + conv2 + conv3 + dense + logits


@cache
def keras_params(builder_name: str, **kwargs) -> int:
    """``count_params()`` of a :mod:`cvtutor.models` builder's model (Keras is imported here)."""
    from cvtutor import models

    return int(getattr(models, builder_name)(**kwargs).count_params())


register(Exercise(
    id="1.2-cnn-params", chapter="1.2", kind="value", returns="an int (parameters)",
    title="The parameters of the article's CNN",
    task="Count by hand the parameters of the article's CNN, `build_cnn()` (32x32x3 images, 10 classes).",
    hint="A 3x3 `Conv2D` from `c_in` to `c_out` channels has `3*3*c_in*c_out` weights plus `c_out` biases, a "
         "`Dense` layer `d_in*d_out + d_out`; pooling and `Flatten` have none. They decide, though, how many "
         "features reach the first `Dense`: follow the map's side through each 'valid' convolution (2 pixels fewer) "
         "and each 2x2 pooling (halved, rounded down).",
    solution=cnn_params,
    wrong={
        "biases forgotten": lambda: cnn_params() - (32 + 64 + 64 + 64 + 10),
        "flatten of an 8x8 map (padding 'same' assumed)": lambda: cnn_params() - 4 * 4 * 64 * 64 + 8 * 8 * 64 * 64,
    },
    reference=lambda: keras_params("build_cnn"),
))


# 1.3.1 Convolution -------------------------------------------------------------


def output_size(size, kernel, stride, padding):
    """Worked solution of 1.3.1-output-size.

    ``"valid"``: ``floor((size - kernel) / stride) + 1``; ``"same"``:
    ``ceil(size / stride)`` (TensorFlow's rule). All in pixels.
    """
    if padding == "same":
        return -(-size // stride)
    return (size - kernel) // stride + 1


_SIZES = [(32, 3, 1, "valid"), (32, 3, 2, "same"), (31, 3, 2, "valid"), (7, 7, 1, "valid"), (5, 3, 3, "same"),
          (33, 4, 2, "same"), (9, 2, 2, "valid"), (10, 3, 4, "valid"), (1, 1, 1, "same")]

register(Exercise(
    id="1.3.1-output-size", chapter="1.3.1", kind="function", returns="an int (pixels)",
    signature="output_size(size, kernel, stride, padding)",
    title="Output sizes",
    task="Write `output_size(size, kernel, stride, padding)`: the output length of a convolution along one axis, "
         "`padding` `'valid'` or `'same'` (TensorFlow's rule).",
    hint="With `'valid'`, windows start at `0, stride, 2*stride, ...` and must end inside the input: count the "
         "starts that are at most `size - kernel`. With `'same'`, the kernel size drops out: TensorFlow pads so "
         "that every `stride`-th position starts a window, a partial last step included (`-(-a // b)` is a ceiling "
         "division of integers).",
    solution=output_size,
    wrong={
        "+1 forgotten": lambda size, kernel, stride, padding: (
            -(-size // stride) if padding == "same" else (size - kernel) // stride),
        "'same' rounds down": lambda size, kernel, stride, padding: (
            size // stride if padding == "same" else (size - kernel) // stride + 1),
    },
    inputs=lambda rng: [dict(size=s, kernel=k, stride=st, padding=p) for s, k, st, p in _SIZES],
    reference=lambda size, kernel, stride, padding: np.int64(ref.conv_output_size(size, kernel, stride, padding)),
))


def conv2d_depthwise(x, kernel, bias, stride):
    """Worked solution of 1.3.1-depthwise-conv: ``DepthwiseConv2D`` with ``padding="valid"``.

    ``y[n, i, j, c] = b[c] + sum_{u, v} x[n, s*i + u, s*j + v, c] K[u, v, c, 0]``: each channel is
    convolved with its own filter and the channels never mix (Howard et al., 2017, MobileNets).
    x: ``(N, H, W, C)``; kernel: ``(kh, kw, C, 1)``, the layout of ``DepthwiseConv2D.kernel``
    (``depth_multiplier=1``); bias: ``(C,)``; stride: an int. Returns
    ``(N, (H - kh) // s + 1, (W - kw) // s + 1, C)``.
    """
    kh, kw, channels, _ = kernel.shape
    h_out = (x.shape[1] - kh) // stride + 1
    w_out = (x.shape[2] - kw) // stride + 1
    y = np.zeros((x.shape[0], h_out, w_out, channels))
    for i in range(h_out):
        for j in range(w_out):
            window = x[:, stride * i: stride * i + kh, stride * j: stride * j + kw, :]  # (N, kh, kw, C)
            y[:, i, j, :] = (window * kernel[..., 0]).sum(axis=(1, 2)) + bias
    return y


def _depthwise_by_channel(x, kernel, bias, stride):
    """The reference: one single-channel :func:`cvtutor.reference.conv2d` per channel."""
    maps = [ref.conv2d(x[..., c:c + 1], kernel[:, :, c:c + 1, :], stride=stride) for c in range(x.shape[-1])]
    return np.concatenate(maps, axis=-1) + bias


def _depthwise_channels_mixed(x, kernel, bias, stride):
    kh, kw = kernel.shape[:2]
    h_out, w_out = (x.shape[1] - kh) // stride + 1, (x.shape[2] - kw) // stride + 1
    y = np.zeros((x.shape[0], h_out, w_out, x.shape[-1]))
    for i in range(h_out):
        for j in range(w_out):
            window = x[:, stride * i: stride * i + kh, stride * j: stride * j + kw, :]
            y[:, i, j, :] = (window * kernel[..., 0]).sum(axis=(1, 2, 3))[:, None] + bias
    return y


def _depthwise_off_by_one(x, kernel, bias, stride):
    kh, kw = kernel.shape[:2]
    rows = range(0, x.shape[1] - kh, stride)  # misses the last window
    cols = range(0, x.shape[2] - kw, stride)
    y = np.zeros((x.shape[0], len(rows), len(cols), x.shape[-1]))
    for a, i in enumerate(rows):
        for b, j in enumerate(cols):
            y[:, a, b, :] = (x[:, i:i + kh, j:j + kw, :] * kernel[..., 0]).sum(axis=(1, 2)) + bias
    return y


def _depthwise_inputs(rng):
    cases = [((1, 5, 5, 1), (3, 3, 1, 1), 1), ((2, 7, 7, 3), (3, 3, 3, 1), 2), ((1, 8, 6, 2), (2, 3, 2, 1), 3),
             ((3, 6, 6, 4), (1, 1, 4, 1), 2), ((1, 9, 9, 2), (3, 3, 2, 1), 2)]
    return [dict(x=normal(rng, *xs), kernel=normal(rng, *ks), bias=normal(rng, ks[2]), stride=s) for xs, ks, s in cases]


register(Exercise(
    id="1.3.1-depthwise-conv", chapter="1.3.1", kind="function",
    signature="conv2d_depthwise(x, kernel, bias, stride)",
    title="A depthwise strided convolution",
    task="Write `conv2d_depthwise(x, kernel, bias, stride)`: each channel of `x` `(N, H, W, C)` convolved with its "
         "own filter, the channels never summed (MobileNet's building block), for `kernel` `(kh, kw, C, 1)`, `bias` "
         "`(C,)`, an int `stride` and no padding, equal to `keras.layers.DepthwiseConv2D((kh, kw), strides=stride)`.",
    hint="The windows are those of a strided convolution, `x[:, s*i : s*i + kh, s*j : s*j + kw, :]`, of shape `(N, "
         "kh, kw, C)`, and there are `(H - kh) // s + 1` output rows. Multiply a window by `kernel[..., 0]`, `(kh, "
         "kw, C)`, which broadcasts over `N`, and sum over the two window axes only, `axis=(1, 2)`: one output per "
         "channel. Keras does not flip the kernel.",
    solution=conv2d_depthwise,
    wrong={
        "channels summed as in Conv2D": _depthwise_channels_mixed,
        "off-by-one: the last window is missed": _depthwise_off_by_one,
        "stride ignored": lambda x, kernel, bias, stride: conv2d_depthwise(x, kernel, bias, 1),
    },
    inputs=_depthwise_inputs,
    reference=_depthwise_by_channel,
))


def dilate_kernel(kernel, dilation):
    """A ``(kh, kw, C_in, C_out)`` kernel with ``dilation - 1`` zero rows and columns between its taps."""
    kh, kw, c_in, c_out = kernel.shape
    big = np.zeros(((kh - 1) * dilation + 1, (kw - 1) * dilation + 1, c_in, c_out), dtype=kernel.dtype)
    big[::dilation, ::dilation] = kernel
    return big


def conv2d_dilated(x, kernel, dilation):
    """Worked solution of 1.3.1-dilated-conv: ``Conv2D(dilation_rate=d, padding="valid", use_bias=False)``.

    ``y[n, i, j, o] = sum_{u, v, c} x[n, i + d*u, j + d*v, c] K[u, v, c, o]``; the
    window spans ``d*(k - 1) + 1`` pixels. x: ``(N, H, W, C_in)``; kernel:
    ``(kh, kw, C_in, C_out)``; returns ``(N, H - d*(kh-1), W - d*(kw-1), C_out)``.
    """
    kh, kw, _, c_out = kernel.shape
    h_out = x.shape[1] - dilation * (kh - 1)
    w_out = x.shape[2] - dilation * (kw - 1)
    y = np.zeros((x.shape[0], h_out, w_out, c_out))
    for u in range(kh):
        for v in range(kw):
            patch = x[:, dilation * u: dilation * u + h_out, dilation * v: dilation * v + w_out, :]
            y += patch @ kernel[u, v]
    return y


def _dilated_inputs(rng):
    cases = [((1, 5, 5, 1), (3, 3, 1, 1), 1), ((2, 7, 7, 2), (3, 3, 2, 3), 2), ((1, 9, 8, 3), (2, 3, 3, 2), 3),
             ((1, 11, 11, 1), (3, 3, 1, 2), 4)]
    return [dict(x=normal(rng, *xs), kernel=normal(rng, *ks), dilation=d) for xs, ks, d in cases]


register(Exercise(
    id="1.3.1-dilated-conv", chapter="1.3.1", kind="function",
    signature="conv2d_dilated(x, kernel, dilation)",
    title="A dilated convolution",
    task="Write `conv2d_dilated(x, kernel, dilation)`: a stride-1 'valid' convolution without bias whose kernel "
         "taps are `dilation` pixels apart, equal to `keras.layers.Conv2D(dilation_rate=dilation)`.",
    hint="The effective kernel size is `dilation * (k - 1) + 1`, so there are `H - dilation * (kh - 1)` output "
         "rows, and tap `(a, b)` of output `(i, j)` reads `x[:, i + dilation*a, j + dilation*b, :]`. Looping over "
         "the taps rather than the outputs is shorter: each tap adds a shifted slice of `x` times `kernel[a, b]`, a "
         "`(C_in, C_out)` matrix.",
    solution=conv2d_dilated,
    wrong={
        "dilation ignored": lambda x, kernel, dilation: ref.conv2d(x, kernel),
        "gap of dilation zeros (taps dilation + 1 apart)": lambda x, kernel, dilation: ref.conv2d(
            x, dilate_kernel(kernel, dilation + 1)),
    },
    inputs=_dilated_inputs,
    reference=lambda x, kernel, dilation: ref.conv2d(x, dilate_kernel(kernel, dilation)),
))


def avg_pool2d_same(x, pool_size, stride):
    """Worked solution of 1.3.1-average-pool: ``AveragePooling2D(pool_size, strides=stride, padding="same")``.

    ``ceil(H / s)`` output rows; TensorFlow's rule pads ``max((ceil(H / s) - 1) * s + p - H, 0)`` rows
    in all, half at the top and any odd one at the bottom (likewise columns), and each output is the
    mean of the window's pixels inside the image: the padding is not counted.
    x: ``(N, H, W, C)``; returns ``(N, ceil(H / s), ceil(W / s), C)``.
    """
    def windows(size):
        out = -(-size // stride)
        before = max((out - 1) * stride + pool_size - size, 0) // 2
        return [(max(stride * i - before, 0), min(stride * i - before + pool_size, size)) for i in range(out)]

    rows, cols = windows(x.shape[1]), windows(x.shape[2])
    y = np.empty((x.shape[0], len(rows), len(cols), x.shape[3]))
    for i, (top, bottom) in enumerate(rows):
        for j, (left, right) in enumerate(cols):
            y[:, i, j, :] = x[:, top:bottom, left:right, :].mean(axis=(1, 2))
    return y


def _avg_pool_counting_padding(x, pool_size, stride):
    out_h, out_w = -(-x.shape[1] // stride), -(-x.shape[2] // stride)
    pads = [max((o - 1) * stride + pool_size - n, 0) for o, n in ((out_h, x.shape[1]), (out_w, x.shape[2]))]
    padded = np.pad(x, ((0, 0), (pads[0] // 2, pads[0] - pads[0] // 2), (pads[1] // 2, pads[1] - pads[1] // 2), (0, 0)))
    return np.stack([np.stack([padded[:, stride * i: stride * i + pool_size, stride * j: stride * j + pool_size].mean(
        axis=(1, 2)) for j in range(out_w)], axis=1) for i in range(out_h)], axis=1)


def _avg_pool_odd_pixel_first(x, pool_size, stride):
    flipped = x[:, ::-1, ::-1, :]
    return avg_pool2d_same(flipped, pool_size, stride)[:, ::-1, ::-1, :]


def _avg_pool(x, pool_size, stride):
    h_out = (x.shape[1] - pool_size) // stride + 1
    w_out = (x.shape[2] - pool_size) // stride + 1
    return np.stack([np.stack([x[:, stride * i: stride * i + pool_size, stride * j: stride * j + pool_size].mean(axis=(1, 2))
                               for j in range(w_out)], axis=1) for i in range(h_out)], axis=1)


def _avg_pool_reference(x, pool_size, stride):
    """The reference: the padded sum (:func:`cvtutor.reference.conv2d` with a kernel of ones, one
    channel at a time) divided by the same sum over an image of ones, which counts the pixels
    inside the image."""
    ones = np.ones((pool_size, pool_size, 1, 1))

    def window_sums(images):
        return np.concatenate([ref.conv2d(images[..., c:c + 1], ones, stride=stride, padding="same")
                               for c in range(images.shape[-1])], axis=-1)

    return window_sums(x) / window_sums(np.ones(x.shape[:3] + (1,)))


register(Exercise(
    id="1.3.1-average-pool", chapter="1.3.1", kind="function",
    signature="avg_pool2d(x, pool_size, stride)",
    title="Average pooling with 'same' padding",
    task="Write `avg_pool2d(x, pool_size, stride)` for `x` `(N, H, W, C)` and square windows, equal to "
         "`keras.layers.AveragePooling2D(pool_size, strides=stride, padding='same')`: `ceil(H / stride)` output "
         "rows, each output the mean of the window's pixels that lie inside the image (padding is not counted).",
    hint="TensorFlow's rule pads `max((ceil(H / s) - 1) * s + p - H, 0)` rows in all, half of them at the top and "
         "the odd one at the bottom. So output row `i` covers image rows `s*i - top` up to `s*i - top + p`: clip that "
         "range to `0 ... H`, do the same for the columns, and take the mean of what is left over `axis=(1, 2)`.",
    solution=avg_pool2d_same,
    wrong={
        "padded zeros counted in the mean": _avg_pool_counting_padding,
        "the odd padding row at the top": _avg_pool_odd_pixel_first,
        "no padding ('valid')": _avg_pool,
    },
    inputs=lambda rng: [dict(x=normal(rng, *s), pool_size=p, stride=st) for s, p, st in
                        [((1, 5, 5, 1), 2, 2), ((2, 7, 7, 3), 3, 2), ((1, 9, 6, 2), 2, 1), ((3, 5, 5, 4), 3, 1),
                         ((1, 8, 8, 2), 3, 3), ((1, 6, 6, 1), 4, 2)]],
    reference=_avg_pool_reference,
))


# 1.3.2 Recurrence --------------------------------------------------------------


def rnn_forward(xs, w, u, b):
    """Worked solution of 1.3.2-rnn-forward: ``h_t = tanh(x_t W + h_{t-1} U + b)``, ``h_0 = 0``.

    Keras ``SimpleRNN`` layouts: xs ``(N, T, d)``, w ``(d, n)`` (``kernel``),
    u ``(n, n)`` (``recurrent_kernel``), b ``(n,)``. Returns every state, ``(N, T, n)``.
    """
    h = np.zeros((xs.shape[0], w.shape[1]))
    states = []
    for t in range(xs.shape[1]):
        h = np.tanh(xs[:, t] @ w + h @ u + b)
        states.append(h)
    return np.stack(states, axis=1)


def _rnn_inputs(rng):
    cases = [(1, 1, 3, 2), (2, 5, 4, 3), (3, 7, 2, 5), (1, 32, 6, 4)]
    return [dict(xs=normal(rng, n, t, d), w=normal(rng, d, k, scale=0.7), u=normal(rng, k, k, scale=0.7),
                 b=normal(rng, k, scale=0.5)) for n, t, d, k in cases]


register(Exercise(
    id="1.3.2-rnn-forward", chapter="1.3.2", kind="function",
    signature="rnn_forward(xs, w, u, b)",
    title="A simple RNN, step by step",
    task="Write `rnn_forward(xs, w, u, b)` returning every hidden state `(N, T, units)` of `h_t = tanh(x_t W + "
         "h_{t-1} U + b)`, `h_0 = 0`, in `keras.layers.SimpleRNN`'s weight layout.",
    hint="Start from `h = np.zeros((N, units))` and loop over `t`, feeding `xs[:, t]`, of shape `(N, d)`. In "
         "Keras's layout both matrices multiply from the right: `x_t @ w` and `h @ u`. Keep every `h` and stack "
         "them along axis 1.",
    solution=rnn_forward,
    wrong={
        "recurrent weights transposed": lambda xs, w, u, b: rnn_forward(xs, w, u.T, b),
        "missing bias": lambda xs, w, u, b: rnn_forward(xs, w, u, np.zeros_like(b)),
        "previous state forgotten": lambda xs, w, u, b: np.tanh(xs @ w + b),
    },
    inputs=_rnn_inputs,
    reference=lambda xs, w, u, b: ref.rnn_forward(xs, w, u, b),
))


def lstm_step(x, h, c, kernel, recurrent_kernel, bias):
    """Worked solution of 1.3.2-lstm-step: one step of ``keras.layers.LSTM``.

    Keras stacks the four blocks, three gates and the cell candidate, in the order input ``i``,
    forget ``f``, cell candidate ``g``, output ``o`` along the last axis of kernel ``(d, 4n)``,
    recurrent_kernel ``(n, 4n)`` and bias ``(4n,)``::

        z = x W + h U + b;  i, f, o = sigmoid(z_i), sigmoid(z_f), sigmoid(z_o);  g = tanh(z_g)
        c' = f * c + i * g;  h' = o * tanh(c')

    x: ``(N, d)``; h, c: ``(N, n)``. Returns ``(h', c')``, each ``(N, n)``.
    """
    z = x @ kernel + h @ recurrent_kernel + bias
    zi, zf, zg, zo = np.split(z, 4, axis=-1)
    def sigmoid(a):
        return 1.0 / (1.0 + np.exp(-a))

    c_new = sigmoid(zf) * c + sigmoid(zi) * np.tanh(zg)
    h_new = sigmoid(zo) * np.tanh(c_new)
    return h_new, c_new


def _lstm_wrong_order(x, h, c, kernel, recurrent_kernel, bias):
    z = x @ kernel + h @ recurrent_kernel + bias
    zi, zf, zo, zg = np.split(z, 4, axis=-1)  # i, f, o, g: the order of many textbooks, not of Keras
    c_new = ref.sigmoid(zf) * c + ref.sigmoid(zi) * np.tanh(zg)
    return ref.sigmoid(zo) * np.tanh(c_new), c_new


def _lstm_no_tanh(x, h, c, kernel, recurrent_kernel, bias):
    z = x @ kernel + h @ recurrent_kernel + bias
    zi, zf, zg, zo = np.split(z, 4, axis=-1)
    c_new = ref.sigmoid(zf) * c + ref.sigmoid(zi) * np.tanh(zg)
    return ref.sigmoid(zo) * c_new, c_new


def _lstm_inputs(rng):
    cases = [(1, 3, 2), (4, 5, 3), (2, 1, 6)]
    return [dict(x=normal(rng, n, d), h=normal(rng, n, k, scale=0.5), c=normal(rng, n, k),
                 kernel=normal(rng, d, 4 * k, scale=0.6), recurrent_kernel=normal(rng, k, 4 * k, scale=0.6),
                 bias=normal(rng, 4 * k, scale=0.5)) for n, d, k in cases]


register(Exercise(
    id="1.3.2-lstm-step", chapter="1.3.2", kind="function", returns="a pair (h, c) of arrays",
    signature="lstm_step(x, h, c, kernel, recurrent_kernel, bias)",
    title="One LSTM step",
    task="Write `lstm_step(x, h, c, kernel, recurrent_kernel, bias)` returning `(h_new, c_new)`, one step of "
         "`keras.layers.LSTM` with its weights copied (gates and candidate stacked i, f, g, o).",
    hint="Compute the three gates and the candidate at once, `z = x @ kernel + h @ recurrent_kernel + bias`, of shape `(N, 4n)`, and "
         "split it into four blocks of `n` in Keras's order i, f, g, o (`np.split(z, 4, axis=-1)`). The gates i, f "
         "and o go through a sigmoid, the candidate g through tanh; the new `h` takes the tanh of the *new* cell.",
    solution=lstm_step,
    wrong={"gates in the order i, f, o, g": _lstm_wrong_order, "h = o * c (tanh of the cell forgotten)": _lstm_no_tanh},
    inputs=_lstm_inputs,
    reference=lstm_step,
))


def recurrent_params(d_in, units, kind):
    """Worked solution of 1.3.2-recurrent-params: parameters of ``SimpleRNN`` or ``LSTM``.

    One transform has a kernel ``(d_in, units)``, a recurrent kernel
    ``(units, units)`` and a bias ``(units,)``; an LSTM has four (its gates).
    """
    one = d_in * units + units * units + units
    return one * (4 if kind == "lstm" else 1)


register(Exercise(
    id="1.3.2-recurrent-params", chapter="1.3.2", kind="function", returns="an int (parameters)",
    signature="recurrent_params(d_in, units, kind)",
    title="Counting recurrent parameters",
    task="Write `recurrent_params(d_in, units, kind)`, the parameter count of `keras.layers.SimpleRNN` "
         "(`kind='simple'`) or `LSTM` (`kind='lstm'`) with `units` units on inputs of `d_in` features.",
    hint="One transform of the input and the state has a kernel `(d_in, units)`, a recurrent kernel `(units, "
         "units)` and a bias `(units,)`; the sequence length does not appear, since every step reuses them. A "
         "SimpleRNN has one such transform; an LSTM has four: one per gate and one for the candidate values.",
    solution=recurrent_params,
    wrong={
        "an LSTM counted as one transform": lambda d_in, units, kind: d_in * units + units * units + units,
        "recurrent kernel counted as (d_in, units)": lambda d_in, units, kind: (
            (2 * d_in * units + units) * (4 if kind == "lstm" else 1)),
    },
    inputs=lambda rng: [dict(d_in=d, units=n, kind=k) for d, n, k in
                        [(96, 16, "simple"), (96, 128, "lstm"), (3, 7, "lstm"), (5, 5, "simple"), (1, 1, "lstm")]],
    reference=lambda d_in, units, kind: np.int64(recurrent_params(d_in, units, kind)),
))


# 1.3.3 Attention ---------------------------------------------------------------


def attention(q, k, v):
    """``softmax(Q K^T / sqrt(d_k)) V``, as the chapter derives it (the multi-head solution uses it).

    q: ``(..., T_q, d_k)``; k: ``(..., T_k, d_k)``; v: ``(..., T_k, d_v)``;
    returns ``(..., T_q, d_v)``. The softmax runs over the keys (last axis).
    """
    scores = q @ np.swapaxes(k, -1, -2) / np.sqrt(q.shape[-1])
    scores = scores - scores.max(axis=-1, keepdims=True)
    weights = np.exp(scores)
    weights = weights / weights.sum(axis=-1, keepdims=True)
    return weights @ v


def relative_bias_matrix(bias, tokens):
    """``B[i, j] = bias[j - i + T - 1]``: the ``(T, T)`` matrix of a relative position bias
    ``bias`` of shape ``(2T - 1,)``; ``bias[T - 1]`` (offset 0) lies on the diagonal."""
    i = np.arange(tokens)
    return bias[i[None, :] - i[:, None] + tokens - 1]


def attention_relative(q, k, v, bias):
    """Worked solution of 1.3.3-relative-attention: attention with a relative position bias.

    ``softmax(Q K^T / sqrt(d_k) + B) V`` with ``B[i, j] = bias[j - i + T - 1]``: the score of
    query ``i`` for key ``j`` gets a learned number that depends only on the offset ``j - i``
    (Shaw et al., 2018; T5 and Swin Transformer use such biases). q, k: ``(..., T, d_k)``;
    v: ``(..., T, d_v)``; bias: ``(2T - 1,)``; returns ``(..., T, d_v)``.
    """
    scores = q @ np.swapaxes(k, -1, -2) / np.sqrt(q.shape[-1]) + relative_bias_matrix(bias, q.shape[-2])
    return ref.softmax(scores, axis=-1) @ v


def _relative_reference(q, k, v, bias):
    tokens = q.shape[-2]
    offsets = np.array([[bias[j - i + tokens - 1] for j in range(tokens)] for i in range(tokens)])
    return ref.softmax(q @ np.swapaxes(k, -1, -2) / np.sqrt(q.shape[-1]) + offsets, axis=-1) @ v


def _relative_mirrored(q, k, v, bias):
    return attention_relative(q, k, v, bias[::-1])  # bias[i - j + T - 1]


def _relative_after_softmax(q, k, v, bias):
    return (ref.softmax(q @ np.swapaxes(k, -1, -2) / np.sqrt(q.shape[-1]), axis=-1)
            + relative_bias_matrix(bias, q.shape[-2])) @ v


def _relative_scaled(q, k, v, bias):
    return attention_relative(q, k, v, bias / np.sqrt(q.shape[-1]))  # added before the 1/sqrt(d_k)


def _relative_inputs(rng):
    cases = [(4, 8, 5, ()), (6, 16, 3, (2,)), (5, 4, 4, (3, 2)), (1, 64, 2, (1,))]
    return [dict(q=normal(rng, *lead, t, d), k=normal(rng, *lead, t, d), v=normal(rng, *lead, t, dv),
                 bias=normal(rng, 2 * t - 1)) for t, d, dv, lead in cases]


register(Exercise(
    id="1.3.3-relative-attention", chapter="1.3.3", kind="function",
    signature="attention_relative(q, k, v, bias)",
    title="Attention with a relative position bias",
    task="Write `attention_relative(q, k, v, bias)`: scaled dot-product attention in which the score of query `i` "
         "for key `j` gets `bias[j - i + T - 1]` added before the softmax, a learned number per offset as in T5 and "
         "Swin Transformer, for `q`, `k` `(..., T, d_k)`, `v` `(..., T, d_v)` and `bias` `(2T - 1,)`, returning "
         "`(..., T, d_v)`.",
    hint="Build the `(T, T)` matrix of biases once: with `i = np.arange(T)`, `bias[i[None, :] - i[:, None] + T - 1]` "
         "puts `bias[T - 1]` (offset 0) on the diagonal. Add it to the scaled scores `q @ np.swapaxes(k, -1, -2) / "
         "sqrt(d_k)`, where it broadcasts over the leading axes, and take the softmax over the keys (the last axis). "
         "A bias of zeros must give plain attention.",
    solution=attention_relative,
    wrong={
        "offsets mirrored (bias[i - j + T - 1])": _relative_mirrored,
        "bias added after the softmax": _relative_after_softmax,
        "bias divided by sqrt(d_k) with the scores": _relative_scaled,
    },
    inputs=_relative_inputs,
    reference=_relative_reference,
))


def causal_attention(q, k, v):
    """Worked solution of 1.3.3-causal-attention: token ``i`` attends to tokens ``j <= i`` only.

    q, k: ``(N, T, d_k)``; v: ``(N, T, d_v)``; returns ``(N, T, d_v)``. The
    masked scores are set to ``-inf`` before the softmax, so they get weight 0.
    """
    t = q.shape[-2]
    scores = q @ np.swapaxes(k, -1, -2) / np.sqrt(q.shape[-1])
    scores = np.where(np.tril(np.ones((t, t), dtype=bool)), scores, -np.inf)
    weights = np.exp(scores - scores.max(axis=-1, keepdims=True))
    return weights / weights.sum(axis=-1, keepdims=True) @ v


def _causal_strict(q, k, v):
    t = q.shape[-2]
    return ref.scaled_dot_product_attention(q, k, v, mask=np.tril(np.ones((t, t), dtype=bool), -1))[0]


def _causal_future(q, k, v):
    t = q.shape[-2]
    return ref.scaled_dot_product_attention(q, k, v, mask=np.triu(np.ones((t, t), dtype=bool)))[0]


register(Exercise(
    id="1.3.3-causal-attention", chapter="1.3.3", kind="function",
    signature="causal_attention(q, k, v)",
    title="Causal attention",
    task="Write `causal_attention(q, k, v)` for `q`, `k` `(N, T, d_k)` and `v` `(N, T, d_v)`: scaled dot-product "
         "attention in which token `i` may attend only to tokens `j <= i`.",
    hint="`np.tril(np.ones((T, T), dtype=bool))` is True where key `j` is at most query `i`, the diagonal included. "
         "Set the other scores to `-np.inf` before the softmax: `exp(-inf)` is 0, so they get weight 0, and every "
         "row keeps at least its diagonal.",
    solution=causal_attention,
    wrong={
        "mask without the diagonal (j < i)": _causal_strict,
        "mask the wrong way round (j >= i)": _causal_future,
        "no mask": lambda q, k, v: ref.scaled_dot_product_attention(q, k, v)[0],
    },
    inputs=lambda rng: [dict(q=normal(rng, n, t, d), k=normal(rng, n, t, d), v=normal(rng, n, t, e))
                        for n, t, d, e in [(1, 1, 4, 2), (2, 5, 8, 3), (1, 9, 16, 16)]],
    reference=lambda q, k, v: ref.scaled_dot_product_attention(
        q, k, v, mask=np.tril(np.ones((q.shape[-2],) * 2, dtype=bool)))[0],
))


def multi_head_attention(x, wq, wk, wv, wo):
    """Worked solution of 1.3.3-multi-head: :class:`cvtutor.layers.SelfAttention` without biases, in NumPy.

    x: ``(N, T, d_model)``; wq, wk: ``(d_model, heads, d_k)``; wv:
    ``(d_model, heads, d_v)``; wo: ``(heads, d_v, d_out)`` (the layouts of
    ``keras.layers.MultiHeadAttention``). Each head attends with scale
    ``1 / sqrt(d_k)``; the heads' outputs are concatenated and projected by
    ``wo``. Returns ``(N, T, d_out)``.
    """
    q = np.einsum("ntd,dhk->nhtk", x, wq)
    k = np.einsum("ntd,dhk->nhtk", x, wk)
    v = np.einsum("ntd,dhk->nhtk", x, wv)
    heads = attention(q, k, v)  # (N, heads, T, d_v)
    return np.einsum("nhtv,hvo->nto", heads, wo)


def _mha_wrong_scale(x, wq, wk, wv, wo):
    heads, d_k = wq.shape[1:]
    q = np.einsum("ntd,dhk->nhtk", x, wq) * np.sqrt(d_k) / np.sqrt(heads * d_k)  # scaled by sqrt(heads * d_k)
    k = np.einsum("ntd,dhk->nhtk", x, wk)
    v = np.einsum("ntd,dhk->nhtk", x, wv)
    return np.einsum("nhtv,hvo->nto", attention(q, k, v), wo)


def _mha_inputs(rng):
    cases = [(1, 4, 6, 2, 3, 3, 6), (2, 5, 8, 4, 2, 5, 8), (1, 1, 4, 1, 4, 4, 3)]
    return [dict(x=normal(rng, n, t, d), wq=normal(rng, d, h, k), wk=normal(rng, d, h, k), wv=normal(rng, d, h, dv),
                 wo=normal(rng, h, dv, do)) for n, t, d, h, k, dv, do in cases]


register(Exercise(
    id="1.3.3-multi-head", chapter="1.3.3", kind="function",
    signature="multi_head_attention(x, wq, wk, wv, wo)",
    title="Multi-head self-attention",
    task="Write `multi_head_attention(x, wq, wk, wv, wo)` for `x` `(N, T, d_model)`, `wq`/`wk` `(d_model, heads, "
         "d_k)`, `wv` `(d_model, heads, d_v)`, `wo` `(heads, d_v, d_out)`: `SelfAttention(use_bias=False)` with "
         "these weights.",
    hint="`np.einsum('ntd,dhk->nhtk', x, wq)` projects every token for every head at once and puts the heads before "
         "the tokens, so scaled dot-product attention runs on all heads together (its scale is `sqrt(d_k)`, one "
         "head's key size). `np.einsum('nhtv,hvo->nto', heads, wo)` then concatenates the heads and projects them "
         "in one step.",
    solution=multi_head_attention,
    wrong={
        "scaled by sqrt(heads * d_k) instead of sqrt(d_k)": _mha_wrong_scale,
        "heads averaged instead of projected by W_O": lambda x, wq, wk, wv, wo: multi_head_attention(
            x, wq, wk, wv, np.broadcast_to(wo.mean(axis=0, keepdims=True), wo.shape)),
    },
    inputs=_mha_inputs,
    reference=multi_head_attention,
))


def attention_params():
    """Worked solution of 1.3.3-attention-params: ``SelfAttention(num_heads=4, key_dim=16)`` on 48-feature tokens.

    The query, key and value projections are each ``48 x (4 * 16)`` weights plus
    ``4 * 16`` biases; the output projection ``(4 * 16) x 48`` plus 48.
    """
    return 3 * (48 * 4 * 16 + 4 * 16) + 4 * 16 * 48 + 48


@cache
def _self_attention_params():
    from cvtutor.layers import SelfAttention

    layer = SelfAttention(num_heads=4, key_dim=16)
    layer.build((None, 64, 48))
    return int(sum(math.prod(w.shape) for w in layer.weights))


register(Exercise(
    id="1.3.3-attention-params", chapter="1.3.3", kind="value", returns="an int (parameters)",
    title="The parameters of a self-attention layer",
    task="Count by hand the parameters of `SelfAttention(num_heads=4, key_dim=16)` on the chapter's 64 tokens of 48 "
         "features (the token count does not matter: say why).",
    hint="There are four projections, each a dense layer with a bias: the query, key and value projections map 48 "
         "features to `num_heads * key_dim` values, the output projection maps those back to 48. They act on each "
         "token's features and are shared by all tokens.",
    solution=attention_params,
    wrong={
        "biases forgotten": lambda: 3 * 48 * 64 + 64 * 48,
        "per-token weights (times 64 tokens)": lambda: 64 * attention_params(),
    },
    reference=_self_attention_params,
))
