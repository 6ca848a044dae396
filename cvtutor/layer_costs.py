"""Shapes, parameters and multiply-adds of each layer kind, from its formula.

Each function takes the sizes a layer is built with and returns a :class:`Cost`:
the output shape of one example (no batch axis), the layer's parameters (as
Keras's ``count_params`` counts them, biases included) and its multiply-adds
on one example (as :mod:`cvtutor.flops` counts them: one ``a * b + c`` of a
weight product; biases, activations, normalization and the softmax count
zero). The appendix *One-page summary* checks every formula against a built
Keras layer, and chapter 1.5.6 adds them up into the published architectures
(:mod:`cvtutor.architectures`)::

    from cvtutor import layer_costs
    layer_costs.conv2d(32, 32, 3, 32, 3)   # Cost(output_shape=(30, 30, 32), params=896, ...)

Layouts follow Keras: images ``(height, width, channels)``, sequences
``(steps, features)``, tokens ``(tokens, dim)``.
"""

from __future__ import annotations

from typing import NamedTuple

from cvtutor import checks

__all__ = [
    "Cost",
    "output_size",
    "conv2d",
    "max_pool2d",
    "dense",
    "simple_rnn",
    "lstm",
    "self_attention",
    "patch_embedding",
    "layer_norm",
    "transformer_block",
]


class Cost(NamedTuple):
    """What one layer outputs and costs, per example.

    Attributes:
        output_shape: a tuple without the batch axis.
        params: trainable and non-trainable parameters (``layer.count_params()``).
        multiply_adds: multiply-adds of one forward pass on one example.
    """

    output_shape: tuple
    params: int
    multiply_adds: int


def output_size(size: int, kernel: int, stride: int = 1, padding: str = "valid") -> int:
    """One side of a convolution's or pooling's output.

    ``"valid"``: ``floor((size - kernel) / stride) + 1``; ``"same"``: ``ceil(size / stride)``
    (Keras pads just enough to keep every input position).

    Raises:
        TypeError: a size is not an int.
        ValueError: a size is not positive, ``padding`` is neither ``"valid"`` nor ``"same"``,
            or a ``"valid"`` kernel is larger than the input.
    """
    size, kernel, stride = (checks.positive_int(n, v) for n, v in
                            (("size", size), ("kernel", kernel), ("stride", stride)))
    checks.one_of("padding", padding, ("valid", "same"))
    if padding == "same":
        return -(-size // stride)
    if kernel > size:
        raise ValueError(f"kernel must be at most the input size {size} with padding 'valid', got {kernel}")
    return (size - kernel) // stride + 1


def conv2d(height: int, width: int, c_in: int, c_out: int, kernel: int, stride: int = 1,
           padding: str = "valid", bias: bool = True) -> Cost:
    """``keras.layers.Conv2D(c_out, kernel, strides=stride, padding=padding)`` on ``(height, width, c_in)``.

    Parameters ``k * k * c_in * c_out`` (+ ``c_out`` biases); every output value is one dot
    product of ``k * k * c_in`` multiply-adds, so the multiply-adds are
    ``out_h * out_w * c_out * k * k * c_in``: the parameters times the output positions.

    Raises:
        TypeError, ValueError: as :func:`output_size`; ``c_in`` or ``c_out`` not a positive int.
    """
    c_in, c_out = checks.positive_int("c_in", c_in), checks.positive_int("c_out", c_out)
    out_h, out_w = output_size(height, kernel, stride, padding), output_size(width, kernel, stride, padding)
    weights = kernel * kernel * c_in * c_out
    return Cost((out_h, out_w, c_out), weights + (c_out if bias else 0), out_h * out_w * weights)


def max_pool2d(height: int, width: int, channels: int, pool: int = 2, stride: int | None = None,
               padding: str = "valid") -> Cost:
    """``keras.layers.MaxPooling2D(pool, strides=stride)``: no parameters, no multiply-adds.

    The stride defaults to the pool size (Keras's default), so a 2x2 pool halves each side.

    Raises:
        TypeError, ValueError: as :func:`output_size`.
    """
    checks.positive_int("channels", channels)
    stride = pool if stride is None else stride
    return Cost((output_size(height, pool, stride, padding), output_size(width, pool, stride, padding), channels),
                0, 0)


def dense(d_in: int, d_out: int, tokens: int | None = None, bias: bool = True) -> Cost:
    """``keras.layers.Dense(d_out)`` on ``(d_in,)``, or on ``(tokens, d_in)``, once per token.

    Parameters ``d_in * d_out`` (+ ``d_out``); multiply-adds ``tokens * d_in * d_out``.

    Raises:
        TypeError, ValueError: a size is not a positive int.
    """
    d_in, d_out = checks.positive_int("d_in", d_in), checks.positive_int("d_out", d_out)
    positions = 1 if tokens is None else checks.positive_int("tokens", tokens)
    shape = (d_out,) if tokens is None else (positions, d_out)
    return Cost(shape, d_in * d_out + (d_out if bias else 0), positions * d_in * d_out)


def simple_rnn(steps: int, features: int, units: int) -> Cost:
    """``keras.layers.SimpleRNN(units)`` on ``(steps, features)``; the output is the last state ``(units,)``.

    ``h_t = tanh(x_t W + h_{t-1} U + b)``: ``W`` is ``(features, units)``, ``U`` ``(units, units)``;
    each step does ``units * (features + units)`` multiply-adds.

    Raises:
        TypeError, ValueError: a size is not a positive int.
    """
    steps, features, units = (checks.positive_int(n, v) for n, v in
                              (("steps", steps), ("features", features), ("units", units)))
    return Cost((units,), units * (features + units + 1), steps * units * (features + units))


def lstm(steps: int, features: int, units: int) -> Cost:
    """``keras.layers.LSTM(units)`` on ``(steps, features)``: four gates, each a SimpleRNN's weights.

    Parameters ``4 * units * (features + units + 1)``; multiply-adds
    ``steps * 4 * units * (features + units)`` (Hochreiter and Schmidhuber, 1997; Keras's
    ``LSTMCell`` keeps the four gates in one kernel ``(features, 4 * units)``).

    Raises:
        TypeError, ValueError: a size is not a positive int.
    """
    one = simple_rnn(steps, features, units)
    return Cost((units,), 4 * one.params, 4 * one.multiply_adds)


def self_attention(tokens: int, dim: int, num_heads: int, key_dim: int | None = None) -> Cost:
    """Multi-head self-attention on ``(tokens, dim)``, as ``keras.layers.MultiHeadAttention``
    (and :class:`cvtutor.layers.SelfAttention`) builds it with ``value_dim = key_dim``.

    Four projections (query, key, value: ``dim -> num_heads * key_dim`` with biases; output:
    ``num_heads * key_dim -> dim`` with a bias) and two products without weights per head,
    ``Q K^T`` and ``A V``, each ``tokens * tokens * key_dim`` multiply-adds (Vaswani et al., 2017).
    ``key_dim`` defaults to ``dim // num_heads``. The attention weights, ``(num_heads, tokens,
    tokens)``, are the memory that grows with the square of the tokens.

    Raises:
        TypeError, ValueError: a size is not a positive int, or ``num_heads`` does not divide
            ``dim`` when ``key_dim`` is left out.
    """
    tokens, dim, heads = (checks.positive_int(n, v) for n, v in
                          (("tokens", tokens), ("dim", dim), ("num_heads", num_heads)))
    if key_dim is None:
        if dim % heads:
            raise ValueError(f"num_heads must divide dim={dim} when key_dim is left out, got {heads}")
        key_dim = dim // heads
    inner = heads * checks.positive_int("key_dim", key_dim)
    params = 4 * dim * inner + 3 * inner + dim
    macs = 4 * tokens * dim * inner + 2 * tokens * tokens * inner
    return Cost((tokens, dim), params, macs)


def patch_embedding(height: int, width: int, channels: int, patch_size: int, dim: int) -> Cost:
    """:class:`cvtutor.layers.PatchEmbedding`: a ``patch_size`` convolution with stride ``patch_size``.

    ``(height / p) * (width / p)`` tokens of ``dim`` features; each token is a dense layer of the
    patch's ``p * p * channels`` values (Dosovitskiy et al., 2021).

    Raises:
        TypeError, ValueError: a size is not a positive int, or ``patch_size`` does not divide
            ``height`` and ``width``.
    """
    p = checks.positive_int("patch_size", patch_size)
    if height % p or width % p:
        raise ValueError(f"patch_size must divide the image's height and width ({height}x{width}), got {p}")
    conv = conv2d(height, width, channels, dim, p, stride=p)
    out_h, out_w, _ = conv.output_shape
    return Cost((out_h * out_w, dim), conv.params, conv.multiply_adds)


def layer_norm(tokens: int, dim: int) -> Cost:
    """``keras.layers.LayerNormalization()`` over the last axis: a scale and an offset per feature.

    Parameters ``2 * dim``; multiply-adds zero (element-wise work, as :mod:`cvtutor.flops` counts).

    Raises:
        TypeError, ValueError: a size is not a positive int.
    """
    tokens, dim = checks.positive_int("tokens", tokens), checks.positive_int("dim", dim)
    return Cost((tokens, dim), 2 * dim, 0)


def transformer_block(tokens: int, dim: int, num_heads: int, mlp_dim: int) -> Cost:
    """:class:`cvtutor.layers.TransformerBlock`: pre-norm self-attention and a two-layer MLP.

    ``x + Attention(LN(x))``, then ``x + MLP(LN(x))`` with ``MLP = Dense(mlp_dim) -> Dense(dim)``:
    two LayerNorms, :func:`self_attention`, and two :func:`dense` layers per token. The block of
    ViT (Dosovitskiy et al., 2021), CLIP's encoders and DETR's encoder.

    Raises:
        TypeError, ValueError: as :func:`self_attention` and :func:`dense`.
    """
    parts = [layer_norm(tokens, dim), self_attention(tokens, dim, num_heads), layer_norm(tokens, dim),
             dense(dim, mlp_dim, tokens), dense(mlp_dim, dim, tokens)]
    return Cost((tokens, dim), sum(p.params for p in parts), sum(p.multiply_adds for p in parts))

