"""Exercises of chapter 1.5.6 (where large vision models are today) and of the appendix's one-page summary.

References: Keras layers built without weights (``count_params``) and :mod:`cvtutor.flops`; the
ViT's attention matrix from :class:`cvtutor.architectures.ViTConfig`'s token count
(``tests/test_exercises.py`` checks it against the shape of ``keras.layers.MultiHeadAttention``'s
scores).
"""

from __future__ import annotations

from functools import cache

import numpy as np

from cvtutor.exercises._core import Exercise, register

# 1.5.6 Where large vision models are today ----------------------------------------------------


def vit_attention_size(image_size, patch_size, num_heads):
    """Worked solution of 1.5.6-vit-attention-size: a ViT's tokens and one layer's attention weights.

    The image is cut into ``(image_size / patch_size)^2`` patches, and the class token makes one
    more; every head of a layer holds a ``tokens x tokens`` matrix of attention weights. Returns
    ``(tokens, num_heads * tokens**2)``.
    """
    tokens = (image_size // patch_size) ** 2 + 1
    return tokens, num_heads * tokens**2


def _attention_reference(image_size, patch_size, num_heads):
    from cvtutor.architectures import ViTConfig

    tokens = ViTConfig(image_size, patch_size, 64, 1, 1, 64).tokens
    return np.array([tokens, num_heads * tokens * tokens], dtype=np.int64)


_VITS = [(336, 14, 16), (224, 16, 12), (224, 14, 16), (518, 14, 24), (32, 4, 4), (384, 32, 1)]

register(Exercise(
    id="1.5.6-vit-attention-size", chapter="1.5.6", kind="function", returns="a pair (tokens, attention weights)",
    signature="vit_attention_size(image_size, patch_size, num_heads)",
    title="Tokens and attention weights of a ViT at another resolution",
    task="Write `vit_attention_size(image_size, patch_size, num_heads)` returning `(tokens, weights)`: the tokens "
         "a ViT with a class token reads from a square image, and the attention weights one of its layers holds "
         "for one image, all heads together (ViT-L/14 at 336 pixels: `vit_attention_size(336, 14, 16)`).",
    hint="Count the patches along one side first, then square it; the class token is one more token. Each head "
         "compares every token with every token, so it holds a square matrix; the layer has `num_heads` of them.",
    solution=vit_attention_size,
    wrong={
        "the class token forgotten": lambda image_size, patch_size, num_heads: (
            (image_size // patch_size) ** 2, num_heads * (image_size // patch_size) ** 4),
        "one head only": lambda image_size, patch_size, num_heads: (
            (t := (image_size // patch_size) ** 2 + 1), t * t),
        "pixels instead of patches along a side": lambda image_size, patch_size, num_heads: (
            (t := image_size * image_size // patch_size + 1), num_heads * t * t),
    },
    inputs=lambda rng: [dict(image_size=s, patch_size=p, num_heads=h) for s, p, h in _VITS],
    reference=_attention_reference,
))


@cache
def _convnext_tiny_block_params() -> dict:
    """``{dim: parameters of one block}`` of ``keras.applications.ConvNeXtTiny``, read from the built model."""
    import keras

    from cvtutor.flops import layer_table

    model = keras.applications.ConvNeXtTiny(weights=None, include_preprocessing=False, input_shape=(32, 32, 3))
    rows = layer_table(model)
    return {dim: sum(r["params"] for r in rows if r["name"].startswith(f"convnext_tiny_stage_{stage}_block_0_"))
            for stage, dim in enumerate((96, 192, 384, 768))}


def convnext_block_params(dim):
    """Worked solution of 1.5.6-convnext-block-params: one ConvNeXt block of width ``dim``.

    A 7x7 depthwise convolution (one 7x7 filter per channel, plus a bias per channel), a
    LayerNorm (scale and offset), a dense layer to ``4 dim`` and one back to ``dim`` (the
    "inverted bottleneck", both with biases), and a learned per-channel layer scale.
    """
    depthwise = 7 * 7 * dim + dim
    norm = 2 * dim
    mlp = (dim * 4 * dim + 4 * dim) + (4 * dim * dim + dim)
    layer_scale = dim
    return depthwise + norm + mlp + layer_scale


register(Exercise(
    id="1.5.6-convnext-block-params", chapter="1.5.6", kind="function", returns="an int (parameters)",
    signature="convnext_block_params(dim)",
    title="The parameters of one ConvNeXt block",
    task="Write `convnext_block_params(dim)`: the parameters of one block of width `dim` of "
         "`keras.applications.ConvNeXtTiny` (a 7x7 depthwise convolution, a LayerNorm, `Dense(4 * dim)`, "
         "`Dense(dim)` and a per-channel layer scale), as `count_params` counts them.",
    hint="A depthwise convolution gives each channel its own 7x7 filter and does not mix channels, so it has far "
         "fewer weights than a full 7x7 convolution. Every layer here has a bias (or offset) per output channel, "
         "and the layer scale is one number per channel.",
    solution=convnext_block_params,
    wrong={
        "a full 7x7 convolution instead of a depthwise one": lambda dim: (
            convnext_block_params(dim) - 7 * 7 * dim + 7 * 7 * dim * dim),
        "the layer scale forgotten": lambda dim: convnext_block_params(dim) - dim,
        "the MLP's biases forgotten": lambda dim: convnext_block_params(dim) - 5 * dim,
    },
    inputs=lambda rng: [dict(dim=d) for d in (96, 192, 384, 768)],
    reference=lambda dim: np.int64(_convnext_tiny_block_params()[dim]),
))


# Appendix: one-page summary ------------------------------------------------------------------


def separable_conv2d_macs(height, width, c_in, c_out, kernel, stride, padding):
    """Worked solution of summary-separable-conv-macs: ``SeparableConv2D``'s multiply-adds on one image.

    The depthwise step filters each input channel with its own ``kernel x kernel`` filter at every
    output position (``kernel^2 * c_in`` per position, the stride and padding deciding the
    positions); the pointwise step is a 1x1 convolution from ``c_in`` to ``c_out`` at the same
    positions. ``"valid"``: ``(size - kernel) // stride + 1`` positions per side; ``"same"``:
    ``ceil(size / stride)``.
    """
    def out(size):
        return -(-size // stride) if padding == "same" else (size - kernel) // stride + 1

    positions = out(height) * out(width)
    return positions * (kernel * kernel * c_in + c_in * c_out)


@cache
def _keras_separable_macs(height, width, c_in, c_out, kernel, stride, padding):
    import keras

    from cvtutor import flops

    inputs = keras.Input((height, width, c_in))
    layer = keras.layers.SeparableConv2D(c_out, kernel, strides=stride, padding=padding)
    return int(flops.multiply_adds(keras.Model(inputs, layer(inputs))))


_SEPARABLE = [(32, 32, 32, 64, 3, 1, "same"), (32, 32, 3, 16, 3, 2, "valid"), (15, 17, 8, 8, 5, 2, "same"),
              (7, 7, 64, 128, 3, 1, "valid"), (9, 9, 4, 2, 1, 1, "valid")]

register(Exercise(
    id="summary-separable-conv-macs", chapter="summary", kind="function", returns="an int (multiply-adds)",
    signature="separable_conv2d_macs(height, width, c_in, c_out, kernel, stride, padding)",
    title="The multiply-adds of a depthwise-separable convolution",
    task="Write `separable_conv2d_macs(height, width, c_in, c_out, kernel, stride, padding)`: the multiply-adds "
         "of one `keras.layers.SeparableConv2D(c_out, kernel, strides=stride, padding=padding)` on one "
         "`(height, width, c_in)` image, as `cvtutor.flops.multiply_adds` counts them.",
    hint="It is two layers in one. The depthwise step gives each of the `c_in` channels its own `kernel x kernel` "
         "filter, with no mixing of channels; the pointwise step is a 1x1 convolution from `c_in` to `c_out`. Both "
         "run at the output positions, whose number the stride and padding decide as for a plain convolution.",
    solution=separable_conv2d_macs,
    wrong={
        "a full convolution": lambda height, width, c_in, c_out, kernel, stride, padding: (
            separable_conv2d_macs(height, width, c_in, c_out, kernel, stride, padding)
            // (kernel * kernel * c_in + c_in * c_out) * kernel * kernel * c_in * c_out),
        "the pointwise step at the input positions": lambda height, width, c_in, c_out, kernel, stride, padding: (
            separable_conv2d_macs(height, width, c_in, c_out, kernel, stride, padding)
            - separable_conv2d_macs(height, width, c_in, c_out, kernel, stride, padding)
            // (kernel * kernel * c_in + c_in * c_out) * c_in * c_out + height * width * c_in * c_out),
        "the depthwise step times c_out": lambda height, width, c_in, c_out, kernel, stride, padding: (
            separable_conv2d_macs(height, width, c_in, c_out, kernel, stride, padding)
            // (kernel * kernel * c_in + c_in * c_out) * (kernel * kernel * c_in * c_out + c_in * c_out)),
    },
    inputs=lambda rng: [dict(height=h, width=w, c_in=ci, c_out=co, kernel=k, stride=s, padding=p)
                        for h, w, ci, co, k, s, p in _SEPARABLE],
    reference=lambda **kw: np.int64(_keras_separable_macs(**kw)),
))


def gru_params(features, units):
    """Worked solution of summary-gru-params: ``keras.layers.GRU(units)``'s parameters.

    Three gates (update, reset, candidate), each with an input kernel ``(features, units)`` and a
    recurrent kernel ``(units, units)``. Keras's default ``reset_after=True`` (the cuDNN form)
    keeps two biases per gate, one for the input and one for the recurrent product.
    """
    return 3 * (units * (features + units) + 2 * units)


@cache
def _keras_gru_params(features, units):
    import keras

    inputs = keras.Input((5, features))
    return int(keras.Model(inputs, keras.layers.GRU(units)(inputs)).count_params())


register(Exercise(
    id="summary-gru-params", chapter="summary", kind="function", returns="an int (parameters)",
    signature="gru_params(features, units)",
    title="The parameters of a GRU",
    task="Write `gru_params(features, units)`: the parameters of `keras.layers.GRU(units)` with its defaults on "
         "sequences of `features` features per step, as `count_params` counts them.",
    hint="A GRU has three gates where the LSTM has four, each with an input kernel and a recurrent kernel. Read "
         "the `reset_after` argument in Keras's documentation of `GRU`: with its default, each gate has two biases.",
    solution=gru_params,
    wrong={
        "one bias per gate (reset_after=False)": lambda features, units: 3 * units * (features + units + 1),
        "four gates, as the LSTM": lambda features, units: 4 * units * (features + units + 1),
        "no recurrent kernel": lambda features, units: 3 * (units * features + 2 * units),
    },
    inputs=lambda rng: [dict(features=f, units=u) for f, u in [(96, 64), (3, 1), (1, 8), (32, 128)]],
    reference=lambda features, units: np.int64(_keras_gru_params(features, units)),
))
