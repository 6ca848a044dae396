"""Where does a model look? Saliency, Grad-CAM, attention maps and attention rollout.

Every function takes a model that returns logits and images as the model
takes them, one ``(H, W, C)`` or a batch ``(N, H, W, C)``; uint8 images are
scaled to [0, 1] first, as :mod:`cvtutor.data` does. Every function returns
maps shaped like the images without their channels, ``(H, W)`` or
``(N, H, W)``, float32 in [0, 1] (each map divided by its maximum; all zeros
where nothing contributes), ready to draw over the images.

- :func:`saliency`: how much each pixel moves the class logit,
  ``max_c |d logit / d x[h, w, c]|`` (Simonyan et al., 2014).
- :func:`grad_cam`: which regions of the last feature maps support the class
  (Selvaraju et al., 2017).
- :func:`attention_map`: one attention layer's weights, averaged over heads.
- :func:`attention_rollout`: attention followed through every layer, residual
  connections included (Abnar and Zuidema, 2020).

The maths uses ``keras.ops``; the one gradient the first two need is taken
by ``_gradient``, the only backend-specific code (TensorFlow or JAX).
"""

from __future__ import annotations

import math
import numbers

import keras
import numpy as np
from keras import ops

from cvtutor import checks
from cvtutor.layers import PatchEmbedding, SelfAttention, TransformerBlock

__all__ = ["saliency", "grad_cam", "attention_map", "attention_rollout"]

_CONV_LAYERS = (
    keras.layers.Conv2D,
    keras.layers.SeparableConv2D,
    keras.layers.DepthwiseConv2D,
    keras.layers.Conv2DTranspose,
)


# Inputs ---------------------------------------------------------------------


def _prepare(model, images):
    """Float32 images ``(N, H, W, C)`` and whether a single image came in."""
    checks.functional_model("model", model)
    x = np.asarray(images)
    if x.ndim not in (3, 4):
        raise ValueError(f"images must be one image (H, W, C) or a batch (N, H, W, C), got shape {x.shape}")
    single = x.ndim == 3
    x = x[None] if single else x
    x = x.astype("float32") / 255.0 if x.dtype == np.uint8 else x.astype("float32")
    expected = tuple(model.inputs[0].shape[1:])
    if any(e is not None and e != g for e, g in zip(expected, x.shape[1:])):
        raise ValueError(f"model '{model.name}' takes images of shape {expected}, got {x.shape[1:]}")
    return x, single


def _class_indices(class_index, logits):
    """One class per image: the predicted one (``None``), one for all, or one each."""
    n, num_classes = logits.shape
    if class_index is None:
        return logits.argmax(axis=-1)
    classes = np.broadcast_to(np.asarray(class_index), (n,)) if np.ndim(class_index) == 0 else np.asarray(class_index)
    expected = f"None, an integer in [0, {num_classes}) or {n} such integers"
    if not np.issubdtype(classes.dtype, np.integer):
        raise TypeError(f"class_index must be {expected}, got {checks.describe(class_index)}")
    if classes.shape != (n,) or not ((classes >= 0).all() and (classes < num_classes).all()):
        raise ValueError(f"class_index must be {expected}, got {class_index!r}")
    return classes


def _get_layer(model, name, kinds, what):
    checks.instance(what, name, str, "a layer's name")
    candidates = [layer.name for layer in model.layers if isinstance(layer, kinds)]
    if name not in candidates:
        raise ValueError(
            f"{what} {name!r} is not a {' or '.join(k.__name__ for k in kinds)} layer of model '{model.name}'; "
            f"those are {candidates} (all layers: {[layer.name for layer in model.layers]})"
        )
    return model.get_layer(name)


# The one backend-specific piece -----------------------------------------------


def _gradient(fn, x):
    """Gradient of the scalar ``fn(x)`` with respect to the tensor ``x``."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        x = tf.convert_to_tensor(x)
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = fn(x)
        return tape.gradient(y, x)
    if backend == "jax":
        import jax

        return jax.grad(fn)(x)
    raise NotImplementedError(f"gradients are implemented for the tensorflow and jax backends, not {backend!r}")


# Post-processing --------------------------------------------------------------


def _finish(maps, size, single, interpolation="bilinear"):
    """Upsample ``(N, h, w)`` maps to ``size``, scale each to [0, 1], as NumPy."""
    maps = ops.convert_to_tensor(maps, "float32")
    if tuple(maps.shape[1:]) != tuple(size):
        maps = ops.image.resize(maps[..., None], size, interpolation=interpolation)[..., 0]
    maps = np.nan_to_num(np.maximum(ops.convert_to_numpy(maps), 0.0))
    peak = maps.max(axis=(1, 2), keepdims=True)
    maps = np.divide(maps, peak, out=np.zeros_like(maps), where=peak > 0).astype("float32")
    return maps[0] if single else maps


def _logit_sum(model, classes, num_classes):
    """``x -> sum_n model(x)[n, classes[n]]``: the gradient of each image's own class logit."""
    one_hot = np.eye(num_classes, dtype="float32")[classes]
    return lambda x: ops.sum(ops.cast(model(x, training=False), "float32") * one_hot)


# Gradients --------------------------------------------------------------------


def saliency(model, images, class_index=None):
    """Vanilla gradient saliency: ``max_c |d logit_k / d x[h, w, c]|``.

    Args:
        model: a ``keras.Model`` returning logits ``(N, num_classes)``.
        images: ``(H, W, C)`` or ``(N, H, W, C)``, uint8 or float in [0, 1].
        class_index: the class ``k`` to explain; ``None`` (default) for each
            image's predicted class, an integer for all images, or one
            integer per image.

    Returns:
        float32 maps ``(N, H, W)`` (``(H, W)`` for one image) in [0, 1].

    Raises:
        TypeError: ``model`` is not a ``keras.Model``, or ``class_index`` not integers.
        ValueError: ``model`` has not one input and one output, ``images`` are not (H, W, C) or
            (N, H, W, C) of the model's image shape, or ``class_index`` is out of range or of
            the wrong length.
    """
    x, single = _prepare(model, images)
    logits = ops.convert_to_numpy(model(x, training=False))
    classes = _class_indices(class_index, logits)
    grads = ops.convert_to_numpy(_gradient(_logit_sum(model, classes, logits.shape[-1]), x))
    return _finish(np.abs(grads).max(axis=-1), x.shape[1:3], single)


def grad_cam(model, images, conv_layer_name=None, class_index=None):
    """Grad-CAM: the class-weighted feature maps of a convolution layer.

    With ``A`` the layer's feature maps ``(h, w, K)`` and ``y`` the class
    logit, each map ``A_k`` is weighted by its average gradient
    ``alpha_k = mean_{i,j} dy / dA_k[i, j]``; the map is
    ``ReLU(sum_k alpha_k A_k)``, upsampled (bilinear) to the image size.

    Args:
        model: a functional ``keras.Model`` returning logits, whose logits
            depend on the images only through the chosen layer.
        images: ``(H, W, C)`` or ``(N, H, W, C)``, uint8 or float in [0, 1].
        conv_layer_name: the convolution layer; default the model's last one.
        class_index: as for :func:`saliency`.

    Returns:
        float32 maps ``(N, H, W)`` (``(H, W)`` for one image) in [0, 1].

    Raises:
        TypeError: ``model`` is not a ``keras.Model``, ``conv_layer_name`` not a string, or
            ``class_index`` not integers.
        ValueError: as :func:`saliency`; or the model has no convolution layer, or
            ``conv_layer_name`` names none, or the logits do not depend on the images through it.
    """
    x, single = _prepare(model, images)
    if conv_layer_name is None:
        convs = [layer for layer in model.layers if isinstance(layer, _CONV_LAYERS)]
        if not convs:
            raise ValueError(f"model '{model.name}' has no convolution layer; layers: {[l.name for l in model.layers]}")
        layer = convs[-1]
    else:
        layer = _get_layer(model, conv_layer_name, _CONV_LAYERS, "conv_layer_name")
    features = keras.Model(model.inputs[0], layer.output)
    try:
        head = keras.Model(layer.output, model.outputs[0])  # from the feature maps to the logits
    except ValueError as error:
        raise ValueError(
            f"the logits of model '{model.name}' must depend on the images only through '{layer.name}'"
        ) from error
    maps = features(x, training=False)
    logits = ops.convert_to_numpy(head(maps, training=False))
    classes = _class_indices(class_index, logits)
    grads = _gradient(_logit_sum(head, classes, logits.shape[-1]), maps)
    weights = ops.mean(grads, axis=(1, 2))  # alpha: (N, K)
    cam = ops.relu(ops.einsum("nhwk,nk->nhw", maps, weights))
    return _finish(cam, x.shape[1:3], single)


# Attention --------------------------------------------------------------------


def _attention_weights(model, x, layers):
    """Each layer's attention weights averaged over heads, NumPy ``(N, T, T)``."""
    tokens = keras.Model(model.inputs[0], [layer.input for layer in layers])(x, training=False)
    tokens = tokens if isinstance(tokens, (list, tuple)) else [tokens]
    weights = []
    for layer, t in zip(layers, tokens):
        _, scores = layer(t, return_attention_scores=True, training=False)  # (N, heads, T, T)
        weights.append(ops.convert_to_numpy(ops.mean(ops.cast(scores, "float32"), axis=1)))
    return weights


def _patch_grid(model, image_size, tokens):
    """``(rows, cols, first)``: the token grid and the index of the first patch token.

    ``first`` is 1 when a class token comes first (``tokens = rows * cols + 1``).
    The grid is the :class:`~cvtutor.layers.PatchEmbedding`'s; without one,
    a token per image row (the hybrid LSTM model) or a square grid.
    """
    height, width = image_size
    patches = [layer for layer in model.layers if isinstance(layer, PatchEmbedding)]
    if patches:
        grids = [(height // patches[0].patch_size, width // patches[0].patch_size)]
    else:
        side = math.isqrt(tokens)
        grids = [(height, 1), (side, side), (math.isqrt(tokens - 1), math.isqrt(tokens - 1))]
    for rows, cols in grids:
        if tokens - rows * cols in (0, 1):
            return rows, cols, tokens - rows * cols
    raise ValueError(f"cannot arrange {tokens} tokens as a grid of patches over {height}x{width} images")


def _attention_layers(model):
    layers = [layer for layer in model.layers if isinstance(layer, (SelfAttention, TransformerBlock))]
    if not layers:
        raise ValueError(
            f"model '{model.name}' has no SelfAttention or TransformerBlock layer; "
            f"layers: {[layer.name for layer in model.layers]}"
        )
    return layers


def attention_map(model, images, layer_name=None, query=None, interpolation="nearest"):
    """The attention weights of one layer, averaged over its heads, as an image.

    Args:
        model: a functional ``keras.Model`` with :class:`~cvtutor.layers.SelfAttention`
            or :class:`~cvtutor.layers.TransformerBlock` layers.
        images: ``(H, W, C)`` or ``(N, H, W, C)``, uint8 or float in [0, 1].
        layer_name: the attention layer; default the model's last one.
        query: the token whose attention is shown (an index into the layer's
            tokens: ``0`` is the class token of a ViT); ``None`` (default)
            averages over all queries, i.e. how much attention each patch gets.
        interpolation: how the patch grid is upsampled to the image size;
            ``"nearest"`` shows each patch (token) as a block.

    Returns:
        float32 maps ``(N, H, W)`` (``(H, W)`` for one image) in [0, 1]; a
        class token's own weight is left out.

    Raises:
        TypeError: ``model`` is not a ``keras.Model``, ``layer_name`` not a string, or
            ``query`` not an integer (or None).
        ValueError: ``model`` has not one input and one output or no attention layer (or none
            named ``layer_name``), ``images`` do not fit it, ``query`` is not a token index, or
            the tokens do not form a grid of patches.
    """
    x, single = _prepare(model, images)
    layers = _attention_layers(model)
    if layer_name is not None:
        layers = [_get_layer(model, layer_name, (SelfAttention, TransformerBlock), "layer_name")]
    (weights,) = _attention_weights(model, x, layers[-1:])
    tokens = weights.shape[-1]
    if query is None:
        row = weights.mean(axis=1)
    else:
        row = weights[:, checks.scalar("query", query, numbers.Integral, minimum=0, maximum=tokens,
                                       include_maximum=False)]
    rows, cols, first = _patch_grid(model, x.shape[1:3], tokens)
    return _finish(row[:, first:].reshape(-1, rows, cols), x.shape[1:3], single, interpolation)


def attention_rollout(model, images, interpolation="nearest"):
    """Attention rollout (Abnar and Zuidema, 2020): attention through all layers.

    Each layer's head-averaged weights ``A`` get the residual connection
    added, ``A' = (A + I)`` with rows normalised to sum to 1, and the layers
    are chained, ``R = A'_L ... A'_2 A'_1``. The map is the class token's row
    of ``R`` when the model has a class token, else ``R`` averaged over rows.

    Args:
        model: a functional ``keras.Model`` whose attention layers
            (:class:`~cvtutor.layers.SelfAttention` or
            :class:`~cvtutor.layers.TransformerBlock`) all see the same tokens.
        images: ``(H, W, C)`` or ``(N, H, W, C)``, uint8 or float in [0, 1].
        interpolation: as for :func:`attention_map`.

    Returns:
        float32 maps ``(N, H, W)`` (``(H, W)`` for one image) in [0, 1].

    Raises:
        TypeError: ``model`` is not a ``keras.Model``.
        ValueError: ``model`` has not one input and one output or no attention layer,
            ``images`` do not fit it, its layers see different numbers of tokens, or the tokens
            do not form a grid of patches.
    """
    x, single = _prepare(model, images)
    all_weights = _attention_weights(model, x, _attention_layers(model))
    tokens = all_weights[0].shape[-1]
    if any(w.shape[-1] != tokens for w in all_weights):
        counts = [w.shape[-1] for w in all_weights]
        raise ValueError(f"attention rollout needs the same tokens in every layer, got {counts}")
    rollout = np.eye(tokens, dtype="float32")
    for a in all_weights:
        a = a + np.eye(tokens, dtype="float32")
        rollout = (a / a.sum(axis=-1, keepdims=True)) @ rollout
    rows, cols, first = _patch_grid(model, x.shape[1:3], tokens)
    row = rollout[:, 0, first:] if first else rollout.mean(axis=1)
    return _finish(row.reshape(-1, rows, cols), x.shape[1:3], single, interpolation)
