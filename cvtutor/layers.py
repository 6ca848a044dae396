"""Keras layers for the attention chapters: self-attention and the ViT parts.

Everything here uses ``keras`` and ``keras.ops`` only, so the layers run on
the TensorFlow and the JAX backend alike. Each layer makes its weights in
``build`` (never in ``call``), has a complete ``get_config`` and is registered
for serialization, so models that use it save to and load from ``.keras``
files.

- :class:`SelfAttention`: multi-head self-attention written from the formula
  ``softmax(Q K^T / sqrt(d_k)) V``, with the weight layouts of
  ``keras.layers.MultiHeadAttention``.
- :class:`PatchEmbedding`, :class:`ClassToken`, :class:`PositionEmbedding`,
  :class:`TransformerBlock`: the pieces of a Vision Transformer.
"""

from __future__ import annotations

import math

import keras
from keras import ops

from cvtutor import checks

__all__ = [
    "SelfAttention",
    "PatchEmbedding",
    "ClassToken",
    "PositionEmbedding",
    "TransformerBlock",
]




def _check_tokens_shape(layer, shape):
    """Tokens must be ``(batch, tokens, features)``."""
    shape = tuple(shape)
    if len(shape) != 3:
        raise ValueError(
            f"{layer.__class__.__name__} '{layer.name}' expects inputs of rank 3 "
            f"(batch, tokens, features), got rank {len(shape)} with shape {shape}"
        )
    return shape


@keras.saving.register_keras_serializable(package="cvtutor")
class SelfAttention(keras.layers.Layer):
    """Multi-head self-attention, written from the formula.

    Every token of the input is projected to a query, a key and a value for
    each of ``num_heads`` heads. Head ``h`` computes

        softmax(Q_h K_h^T / sqrt(key_dim)) V_h,

    a weighted average of the values in which token ``i`` weights token ``j``
    by how well its query matches token ``j``'s key. The heads' results are
    concatenated and projected to ``output_dim`` features.

    The weights have the layouts of ``keras.layers.MultiHeadAttention``, in
    the same order, so ``mha.set_weights(layer.get_weights())`` makes
    ``mha(x, x)`` equal to ``layer(x)``:

    - ``query_kernel``, ``key_kernel``: ``(d_model, num_heads, key_dim)``;
      ``value_kernel``: ``(d_model, num_heads, value_dim)``; their biases
      ``(num_heads, key_dim)`` (``value_dim`` for the value).
    - ``output_kernel``: ``(num_heads, value_dim, output_dim)``;
      ``output_bias``: ``(output_dim,)``.

    Args:
        num_heads: Number of attention heads.
        key_dim: Size of each head's query and key vectors (``d_k``).
        value_dim: Size of each head's value vectors. Defaults to ``key_dim``.
        output_dim: Features of the output. Defaults to the input's feature
            size ``d_model``.
        use_bias: Whether the four projections have biases.
        dropout: Dropout rate applied to the attention weights in training.
        kernel_initializer: Initializer of the projection kernels.
        **kwargs: Base layer arguments, e.g. ``name`` and ``dtype``.

    Call arguments:
        inputs: Tokens of shape ``(batch, T, d_model)``.
        mask: Optional boolean mask, ``True`` where attention is allowed.
            Either ``(batch, T)``, a key-padding mask (token ``j`` may be
            attended to), or rank 3 and broadcastable to ``(batch, T, T)``,
            where ``[b, i, j]`` says whether token ``i`` may attend to token
            ``j`` (e.g. a causal mask of shape ``(1, T, T)``). A Keras mask
            from an earlier layer (``Embedding(mask_zero=True)``) is used as
            the key-padding mask and passed on to the output.
        return_attention_scores: Whether to also return the attention weights.
        training: Whether to apply dropout.

    Returns:
        Output of shape ``(batch, T, output_dim)``, and, with
        ``return_attention_scores=True``, the attention weights of shape
        ``(batch, num_heads, T, T)`` (before dropout; each row sums to 1).

    Raises:
        TypeError: (on construction) a size or count that is not an integer, or a ``dropout``
            that is not a number.
        ValueError: (on construction) a size or count below 1, or a ``dropout`` outside [0, 1);
            (when called) inputs not of rank 3 with a known feature size (the one it was built
            for), or a mask of a rank other than 2 and 3.
    """

    def __init__(
        self,
        num_heads,
        key_dim,
        value_dim=None,
        output_dim=None,
        use_bias=True,
        dropout=0.0,
        kernel_initializer="glorot_uniform",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.num_heads = checks.positive_int("num_heads", num_heads)
        self.key_dim = checks.positive_int("key_dim", key_dim)
        self.value_dim = self.key_dim if value_dim is None else checks.positive_int("value_dim", value_dim)
        self.output_dim = None if output_dim is None else checks.positive_int("output_dim", output_dim)
        self.use_bias = bool(use_bias)
        self.dropout = checks.rate("dropout", dropout)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        # A float: the source article took tf.math.sqrt of an int, which fails.
        self.scale = 1.0 / math.sqrt(float(self.key_dim))
        self.dropout_layer = keras.layers.Dropout(self.dropout)
        self.supports_masking = True

    def build(self, input_shape):
        _, _, d_model = _check_tokens_shape(self, input_shape)
        if d_model is None:
            raise ValueError(f"SelfAttention '{self.name}' needs a known feature size, got input shape {input_shape}")
        self.d_model = d_model
        out_dim = self.output_dim or d_model

        def projection(name, shape):
            kernel = self.add_weight(name=f"{name}_kernel", shape=shape, initializer=self.kernel_initializer)
            bias = None
            if self.use_bias:
                bias_shape = shape[1:] if name != "output" else (out_dim,)
                bias = self.add_weight(name=f"{name}_bias", shape=bias_shape, initializer="zeros")
            return kernel, bias

        # Same order as keras.layers.MultiHeadAttention: query, key, value, output.
        self.query_kernel, self.query_bias = projection("query", (d_model, self.num_heads, self.key_dim))
        self.key_kernel, self.key_bias = projection("key", (d_model, self.num_heads, self.key_dim))
        self.value_kernel, self.value_bias = projection("value", (d_model, self.num_heads, self.value_dim))
        self.output_kernel, self.output_bias = projection("output", (self.num_heads, self.value_dim, out_dim))

    def call(self, inputs, mask=None, return_attention_scores=False, training=None):
        _check_tokens_shape(self, inputs.shape)
        if inputs.shape[-1] != self.d_model:
            raise ValueError(
                f"SelfAttention '{self.name}' was built for {self.d_model} input features, "
                f"got inputs of shape {tuple(inputs.shape)}"
            )

        # Project every token to per-head queries, keys and values: (B, T, heads, dim).
        q = ops.einsum("btd,dhk->bthk", inputs, self.query_kernel)
        k = ops.einsum("btd,dhk->bthk", inputs, self.key_kernel)
        v = ops.einsum("btd,dhv->bthv", inputs, self.value_kernel)
        if self.use_bias:
            q, k, v = q + self.query_bias, k + self.key_bias, v + self.value_bias

        # Scores Q K^T / sqrt(d_k) for every head: (B, heads, T_query, T_key).
        scores = ops.einsum("bihk,bjhk->bhij", q * ops.cast(self.scale, q.dtype), k)

        # Softmax over the keys, in float32 (safe under mixed precision);
        # masked-out keys get a large negative score, i.e. a weight of ~0.
        scores = ops.cast(scores, "float32")
        if mask is not None:
            mask = ops.cast(mask, "bool")
            if len(mask.shape) == 2:  # (B, T_key) key padding
                mask = mask[:, None, None, :]
            elif len(mask.shape) == 3:  # (B, T_query, T_key)
                mask = mask[:, None, :, :]
            else:
                raise ValueError(
                    f"SelfAttention '{self.name}' expects a mask of rank 2 (batch, T) or 3 "
                    f"(batch, T, T), got shape {tuple(mask.shape)}"
                )
            scores = ops.where(mask, scores, -1e9)
        weights = ops.cast(ops.softmax(scores, axis=-1), self.compute_dtype)

        # Weighted sum of the values, then concatenate heads and project.
        context = ops.einsum("bhij,bjhv->bihv", self.dropout_layer(weights, training=training), v)
        outputs = ops.einsum("bihv,hvo->bio", context, self.output_kernel)
        if self.use_bias:
            outputs = outputs + self.output_bias

        if return_attention_scores:
            return outputs, weights
        return outputs

    def compute_mask(self, inputs, mask=None):
        # A key-padding mask marks the same tokens in the output.
        if mask is not None and len(mask.shape) == 2:
            return mask
        return None

    def compute_output_shape(self, input_shape):
        batch, tokens, d_model = _check_tokens_shape(self, input_shape)
        return (batch, tokens, self.output_dim or d_model)

    def compute_output_spec(self, inputs, mask=None, return_attention_scores=False, training=None):
        outputs = keras.KerasTensor(self.compute_output_shape(inputs.shape), dtype=self.compute_dtype)
        if return_attention_scores:
            batch, tokens, _ = inputs.shape
            scores = keras.KerasTensor((batch, self.num_heads, tokens, tokens), dtype=self.compute_dtype)
            return outputs, scores
        return outputs

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_heads": self.num_heads,
                "key_dim": self.key_dim,
                "value_dim": self.value_dim,
                "output_dim": self.output_dim,
                "use_bias": self.use_bias,
                "dropout": self.dropout,
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            }
        )
        return config


@keras.saving.register_keras_serializable(package="cvtutor")
class PatchEmbedding(keras.layers.Layer):
    """Cut images into square patches and embed each patch as a token.

    A ``Conv2D`` with kernel size and stride ``patch_size`` is exactly a
    Dense layer applied to each flattened ``patch_size x patch_size`` patch;
    its output grid is then flattened into a sequence of tokens, row by row.

    With ``kernel_size`` larger than ``patch_size`` the patches overlap: each
    token is embedded from a ``kernel_size x kernel_size`` window centred on
    its patch (the image is zero-padded by ``(kernel_size - patch_size) / 2``
    pixels on every side), so it also sees a margin of its neighbours. The
    tokens keep the same grid; overlapping patch embeddings are a cheap way
    to give a ViT some locality (Wang et al., PVT v2, 2022).

    Args:
        patch_size: Side of the square patches, in pixels (the stride). Must
            divide the image height and width.
        dim: Features per token.
        kernel_size: Side of the window each token is embedded from; default
            ``patch_size`` (no overlap). ``patch_size`` plus an even number.
        **kwargs: Base layer arguments.

    Call arguments:
        images: ``(batch, H, W, C)``.

    Returns:
        Tokens of shape ``(batch, (H / patch_size) * (W / patch_size), dim)``.

    Raises:
        TypeError: (on construction) ``patch_size``, ``dim`` or ``kernel_size`` is not an integer.
        ValueError: (on construction) one of them below 1, or a ``kernel_size`` that is not
            ``patch_size`` plus an even number; (when called) images not of rank 4, or of a
            height or width that ``patch_size`` does not divide.
    """

    def __init__(self, patch_size, dim, kernel_size=None, **kwargs):
        super().__init__(**kwargs)
        self.patch_size = checks.positive_int("patch_size", patch_size)
        self.dim = checks.positive_int("dim", dim)
        self.kernel_size = self.patch_size if kernel_size is None else checks.positive_int("kernel_size", kernel_size)
        if self.kernel_size < self.patch_size or (self.kernel_size - self.patch_size) % 2:
            raise ValueError(
                f"kernel_size must be patch_size ({self.patch_size}) plus an even number of pixels "
                f"(an equal margin on every side), got kernel_size={self.kernel_size}"
            )
        self.margin = (self.kernel_size - self.patch_size) // 2
        self.projection = keras.layers.Conv2D(
            self.dim, self.kernel_size, strides=self.patch_size, padding="valid", name="projection"
        )

    def _check_images_shape(self, shape):
        shape = tuple(shape)
        if len(shape) != 4:
            raise ValueError(
                f"PatchEmbedding '{self.name}' expects images of rank 4 (batch, H, W, C), "
                f"got rank {len(shape)} with shape {shape}"
            )
        height, width = shape[1], shape[2]
        for side, size in (("height", height), ("width", width)):
            if size is not None and size % self.patch_size:
                raise ValueError(
                    f"patch_size {self.patch_size} must divide the image {side}, got images of "
                    f"size {height}x{width} ({size} % {self.patch_size} = {size % self.patch_size})"
                )
        return shape

    def _padded_shape(self, shape):
        batch, height, width, channels = shape
        grow = 2 * self.margin
        return (batch, None if height is None else height + grow, None if width is None else width + grow, channels)

    def build(self, input_shape):
        self.projection.build(self._padded_shape(self._check_images_shape(input_shape)))

    def call(self, images):
        self._check_images_shape(images.shape)
        if self.margin:
            m = self.margin
            images = ops.pad(images, ((0, 0), (m, m), (m, m), (0, 0)))
        grid = self.projection(images)  # (B, H/p, W/p, dim)
        num_tokens = grid.shape[1] * grid.shape[2] if None not in grid.shape[1:3] else -1
        return ops.reshape(grid, (-1, num_tokens, self.dim))

    def compute_output_shape(self, input_shape):
        batch, height, width, _ = self._check_images_shape(input_shape)
        if height is None or width is None:
            return (batch, None, self.dim)
        return (batch, (height // self.patch_size) * (width // self.patch_size), self.dim)

    def get_config(self):
        config = super().get_config()
        config.update({"patch_size": self.patch_size, "dim": self.dim, "kernel_size": self.kernel_size})
        return config


@keras.saving.register_keras_serializable(package="cvtutor")
class ClassToken(keras.layers.Layer):
    """Prepend a learned ``[class]`` token to a sequence of tokens.

    After the transformer blocks the model can read the class from this one
    token, which has attended to every patch (the ViT paper's choice; pooling
    all tokens is the alternative).

    Call arguments:
        tokens: ``(batch, T, dim)``.

    Returns:
        ``(batch, T + 1, dim)``, the class token first.

    Raises:
        ValueError: (when called) tokens not of rank 3.
    """

    def build(self, input_shape):
        _, _, dim = _check_tokens_shape(self, input_shape)
        self.token = self.add_weight(name="token", shape=(1, 1, dim), initializer="zeros")

    def call(self, tokens):
        _check_tokens_shape(self, tokens.shape)
        batch = ops.shape(tokens)[0]
        token = ops.broadcast_to(ops.cast(self.token, tokens.dtype), (batch, 1, self.token.shape[-1]))
        return ops.concatenate([token, tokens], axis=1)

    def compute_output_shape(self, input_shape):
        batch, tokens, dim = _check_tokens_shape(self, input_shape)
        return (batch, None if tokens is None else tokens + 1, dim)


@keras.saving.register_keras_serializable(package="cvtutor")
class PositionEmbedding(keras.layers.Layer):
    """Add a learned embedding of each token's position to the tokens.

    Self-attention treats its input as a set: shuffling the tokens shuffles
    the output the same way. Adding a learned vector per position lets the
    model tell patch 0 (top left) from patch 63 (bottom right). The number of
    positions is read from the input shape in ``build``.

    Args:
        initializer: Initializer of the embeddings (ViT uses a normal
            distribution with standard deviation 0.02).
        **kwargs: Base layer arguments.

    Call arguments:
        tokens: ``(batch, T, dim)``; ``T`` must be the length seen in ``build``.

    Returns:
        ``tokens`` plus the position embeddings, same shape.

    Raises:
        ValueError: (when called) tokens not of rank 3, of an unknown number, or of another
            number than at the first call.
    """

    def __init__(self, initializer=None, **kwargs):
        super().__init__(**kwargs)
        if initializer is None:
            initializer = keras.initializers.RandomNormal(stddev=0.02)
        self.initializer = keras.initializers.get(initializer)

    def build(self, input_shape):
        _, num_tokens, dim = _check_tokens_shape(self, input_shape)
        if num_tokens is None:
            raise ValueError(f"PositionEmbedding '{self.name}' needs a known number of tokens, got shape {input_shape}")
        self.num_tokens = num_tokens
        self.embedding = self.add_weight(name="embedding", shape=(num_tokens, dim), initializer=self.initializer)

    def call(self, tokens):
        _check_tokens_shape(self, tokens.shape)
        if tokens.shape[1] != self.num_tokens:
            raise ValueError(
                f"PositionEmbedding '{self.name}' was built for {self.num_tokens} tokens, "
                f"got inputs of shape {tuple(tokens.shape)}"
            )
        return tokens + ops.cast(self.embedding, tokens.dtype)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update({"initializer": keras.initializers.serialize(self.initializer)})
        return config


@keras.saving.register_keras_serializable(package="cvtutor")
class TransformerBlock(keras.layers.Layer):
    """A pre-norm transformer encoder block.

        x = x + SelfAttention(LayerNorm(x))
        x = x + MLP(LayerNorm(x)),   MLP = Dense(mlp_dim, gelu) -> Dense(d_model)

    Normalizing before each sublayer (pre-norm, as in ViT and GPT-2) keeps
    the residual path an identity, which makes deep stacks train without
    learning-rate warm-up tricks.

    Args:
        num_heads: Attention heads.
        key_dim: Size of each head's queries and keys.
        mlp_dim: Hidden units of the MLP.
        dropout: Dropout rate on the attention weights and after each
            sublayer.
        **kwargs: Base layer arguments.

    Call arguments:
        inputs: Tokens ``(batch, T, d_model)``.
        mask: Optional attention mask, as for :class:`SelfAttention`.
        return_attention_scores: Whether to also return the attention weights
            ``(batch, num_heads, T, T)``.
        training: Whether to apply dropout.

    Returns:
        Tokens of the same shape as ``inputs`` (and the attention weights).

    Raises:
        TypeError: (on construction) a size or count that is not an integer, or a ``dropout``
            that is not a number.
        ValueError: (on construction) a size or count below 1, or a ``dropout`` outside [0, 1);
            (when called) as :class:`SelfAttention`.
    """

    def __init__(self, num_heads, key_dim, mlp_dim, dropout=0.0, **kwargs):
        super().__init__(**kwargs)
        self.num_heads = checks.positive_int("num_heads", num_heads)
        self.key_dim = checks.positive_int("key_dim", key_dim)
        self.mlp_dim = checks.positive_int("mlp_dim", mlp_dim)
        self.dropout = checks.rate("dropout", dropout)
        self.supports_masking = True

        self.norm1 = keras.layers.LayerNormalization(epsilon=1e-6, name="norm1")
        self.attention = SelfAttention(self.num_heads, self.key_dim, dropout=self.dropout, name="attention")
        self.norm2 = keras.layers.LayerNormalization(epsilon=1e-6, name="norm2")
        self.mlp_hidden = keras.layers.Dense(self.mlp_dim, activation="gelu", name="mlp_hidden")
        self.dropout_layer = keras.layers.Dropout(self.dropout)

    def build(self, input_shape):
        input_shape = _check_tokens_shape(self, input_shape)
        d_model = input_shape[-1]
        # The output width depends on the input, so this sublayer is made here.
        self.mlp_output = keras.layers.Dense(d_model, name="mlp_output")
        for layer in (self.norm1, self.attention, self.norm2, self.mlp_hidden):
            layer.build(input_shape)
        self.mlp_output.build(input_shape[:-1] + (self.mlp_dim,))

    def call(self, inputs, mask=None, return_attention_scores=False, training=None):
        attended, scores = self.attention(
            self.norm1(inputs), mask=mask, return_attention_scores=True, training=training
        )
        x = inputs + self.dropout_layer(attended, training=training)
        hidden = self.mlp_hidden(self.norm2(x))
        x = x + self.dropout_layer(self.mlp_output(self.dropout_layer(hidden, training=training)), training=training)
        if return_attention_scores:
            return x, scores
        return x

    def compute_mask(self, inputs, mask=None):
        return self.attention.compute_mask(inputs, mask)

    def compute_output_shape(self, input_shape):
        return tuple(_check_tokens_shape(self, input_shape))

    def compute_output_spec(self, inputs, mask=None, return_attention_scores=False, training=None):
        outputs = keras.KerasTensor(self.compute_output_shape(inputs.shape), dtype=self.compute_dtype)
        if return_attention_scores:
            batch, tokens, _ = inputs.shape
            return outputs, keras.KerasTensor((batch, self.num_heads, tokens, tokens), dtype=self.compute_dtype)
        return outputs

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_heads": self.num_heads,
                "key_dim": self.key_dim,
                "mlp_dim": self.mlp_dim,
                "dropout": self.dropout,
            }
        )
        return config


# The pass-through layer that keeps a model's contract (class names, input preprocessing) in its
# .keras file, cvtutor.contract.ModelContract: imported here so that `import cvtutor.layers` registers
# it for keras.saving.load_model. A plain module import, so that it also works while cvtutor.contract
# is itself being imported (Keras' import, inside it, can import this module first).
import cvtutor.contract  # noqa: E402, F401
