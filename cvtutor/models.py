"""The book's image classifiers: a CNN, an RNN, attention models and a ViT.

Every builder takes ``input_shape=(32, 32, 3)`` and ``num_classes=10`` and
returns an uncompiled, named ``keras.Model`` (functional API). Inputs are
float images scaled to [0, 1] (the data pipeline does the scaling); outputs
are logits, so compile with
``keras.losses.SparseCategoricalCrossentropy(from_logits=True)``::

    model = build_model("cnn")
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
"""

from __future__ import annotations

import numbers

import keras
from keras import layers

from cvtutor import checks
from cvtutor.layers import ClassToken, PatchEmbedding, PositionEmbedding, SelfAttention, TransformerBlock
from cvtutor.whitening import PatchWhitening

__all__ = ["build_cnn", "build_resnet", "build_rnn", "build_attention", "build_vit", "build_model", "MODELS"]


# Validation at the boundary ------------------------------------------------


def _check_input_shape(input_shape):
    return checks.integers("input_shape", input_shape, 3, minimum=1,
                           expected="(height, width, channels) such as (32, 32, 3)")


def _check_num_classes(num_classes):
    return checks.scalar("num_classes", num_classes, numbers.Integral, minimum=2)


def _check_patch_size(patch_size, input_shape):
    patch_size = checks.positive_int("patch_size", patch_size)
    height, width, _ = input_shape
    if height % patch_size or width % patch_size:
        raise ValueError(
            f"patch_size must divide the image height and width; got patch_size={patch_size} "
            f"for images of {height}x{width}"
        )
    return patch_size


def _check_heads(dim, num_heads):
    if dim % num_heads:
        raise ValueError(f"dim must be divisible by num_heads; got dim={dim}, num_heads={num_heads}")
    return dim // num_heads


# Builders -------------------------------------------------------------------


def build_cnn(input_shape=(32, 32, 3), num_classes=10, dropout=0.0):
    """The CNN of the TensorFlow tutorial and the source article.

    Three 3x3 convolutions (32, 64, 64 filters) with 2x2 max pooling after
    the first two, then Dense(64) and the logits: 122,570 parameters for
    CIFAR-10.

    Args:
        input_shape: ``(height, width, channels)`` of the images.
        num_classes: Number of classes (logits).
        dropout: above 0, a ``keras.layers.Dropout`` of this rate before each of the two dense
            layers (on the flattened features and on the 64 hidden units), as AlexNet placed
            it (Krizhevsky et al. 2012; Srivastava et al. 2014); chapter 1.4.5. 0 (the default):
            no dropout layers, the tutorial's model. Dropout has no parameters.

    Returns:
        An uncompiled ``keras.Model`` named ``"cnn"``.

    Raises:
        TypeError: ``input_shape`` is not three integers, ``num_classes`` not an integer, or
            ``dropout`` not a number.
        ValueError: a size in ``input_shape`` below 1, ``num_classes`` below 2, or ``dropout``
            outside [0, 1).
    """
    input_shape = _check_input_shape(input_shape)
    num_classes = _check_num_classes(num_classes)
    dropout = checks.rate("dropout", dropout)
    inputs = keras.Input(input_shape, name="images")
    x = layers.Conv2D(32, 3, activation="relu")(inputs)
    x = layers.MaxPooling2D(2)(x)
    x = layers.Conv2D(64, 3, activation="relu")(x)
    x = layers.MaxPooling2D(2)(x)
    x = layers.Conv2D(64, 3, activation="relu")(x)
    x = layers.Flatten()(x)
    if dropout:
        x = layers.Dropout(dropout, name="features_dropout")(x)
    x = layers.Dense(64, activation="relu")(x)
    if dropout:
        x = layers.Dropout(dropout, name="hidden_dropout")(x)
    outputs = layers.Dense(num_classes, name="logits")(x)
    return keras.Model(inputs, outputs, name="cnn")


def _conv_bn(x, filters, name):
    """3x3 convolution (no bias: batch norm's offset replaces it), batch norm, ReLU."""
    x = layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"{name}_conv")(x)
    x = layers.BatchNormalization(momentum=0.9, name=f"{name}_bn")(x)
    return layers.ReLU(name=f"{name}_relu")(x)


def build_resnet(input_shape=(32, 32, 3), num_classes=10, width=16, blocks=(1, 0, 1), stem="conv"):
    """A small residual CNN in the style of ResNet-9, the book's fast CNN.

    A 3x3 stem with ``width`` channels, then three stages; stage ``i``
    doubles the channels (``2 * width``, ``4 * width``, ``8 * width``), halves
    the resolution with 2x2 max pooling and adds ``blocks[i]`` residual blocks
    (two 3x3 conv-BN-ReLU layers and a skip connection). Global max pooling
    and a dense layer scaled by 1/8 give the logits. ``width=16, blocks=(1, 0, 1)`` has
    414,074 parameters and 24 M multiply-adds per 32x32 image; scale
    ``width`` and ``blocks`` for the scaling sweep of chapter 1.5.

    Args:
        input_shape: ``(height, width, channels)`` of the images; height and
            width must be divisible by 8.
        num_classes: Number of classes (logits).
        width: Channels of the stem (positive integer).
        blocks: Residual blocks after each of the three stages (three
            non-negative integers).
        stem: ``"conv"``: the 3x3 conv-BN-ReLU stem, trained. ``"whiten"``: a frozen
            2x2 :class:`cvtutor.whitening.PatchWhitening` layer instead (12 channels
            for RGB), as in airbench; its weights come from
            :func:`cvtutor.whitening.adapt_whitening` on training images, which
            :func:`cvtutor.recipes.train_recipe` calls.

    Returns:
        An uncompiled ``keras.Model`` named ``"resnet"``.

    Raises:
        TypeError: an argument of the wrong kind (``input_shape`` or ``blocks`` not integers,
            ``stem`` not a string); the message names it.
        ValueError: a value out of range (``num_classes`` below 2, ``width`` below 1, a negative
            block count, an unknown ``stem``), or a height or width not divisible by 8.
    """
    input_shape = _check_input_shape(input_shape)
    num_classes = _check_num_classes(num_classes)
    width = checks.positive_int("width", width)
    blocks = checks.integers("blocks", blocks, 3, minimum=0, expected="one count per stage")
    checks.one_of("stem", stem, ("conv", "whiten"))
    if input_shape[0] % 8 or input_shape[1] % 8:
        raise ValueError(
            f"build_resnet halves the image three times, so height and width must be divisible by 8; "
            f"got {input_shape[0]}x{input_shape[1]}"
        )
    inputs = keras.Input(input_shape, name="images")
    if stem == "conv":
        x = _conv_bn(inputs, width, "stem")
    else:
        x = PatchWhitening(2, name="stem_whiten")(inputs)
    for stage, repeats in enumerate(blocks, start=1):
        x = _conv_bn(x, width * 2**stage, f"stage{stage}")
        x = layers.MaxPooling2D(2, name=f"stage{stage}_pool")(x)
        for block in range(1, repeats + 1):
            name = f"stage{stage}_block{block}"
            y = _conv_bn(x, width * 2**stage, f"{name}a")
            y = _conv_bn(y, width * 2**stage, f"{name}b")
            x = layers.Add(name=f"{name}_add")([x, y])
    x = layers.GlobalMaxPooling2D(name="pool")(x)
    x = layers.Dense(num_classes, name="classifier")(x)
    # Max-pooled ReLU features are large; without this scale (from Page's
    # ResNet-9) the first steps at a high learning rate blow the loss up.
    outputs = layers.Rescaling(0.125, name="logits")(x)
    return keras.Model(inputs, outputs, name="resnet")


def build_rnn(input_shape=(32, 32, 3), num_classes=10, units=128):
    """An LSTM that reads the image one row at a time.

    Each of the ``H`` rows, its ``W * C`` values flattened, is one time step
    (32 steps of 96 features for CIFAR-10); the last hidden state gives the
    logits.

    Args:
        input_shape: ``(height, width, channels)`` of the images.
        num_classes: Number of classes (logits).
        units: Size of the LSTM's hidden state.

    Returns:
        An uncompiled ``keras.Model`` named ``"rnn"``.

    Raises:
        TypeError: ``input_shape`` is not three integers, or ``num_classes`` or ``units`` not an
            integer.
        ValueError: a size in ``input_shape`` or ``units`` below 1, or ``num_classes`` below 2.
    """
    height, width, channels = _check_input_shape(input_shape)
    num_classes = _check_num_classes(num_classes)
    units = checks.positive_int("units", units)
    inputs = keras.Input((height, width, channels), name="images")
    x = layers.Reshape((height, width * channels), name="rows")(inputs)
    x = layers.LSTM(units, name="lstm")(x)
    outputs = layers.Dense(num_classes, name="logits")(x)
    return keras.Model(inputs, outputs, name="rnn")


def build_attention(
    input_shape=(32, 32, 3),
    num_classes=10,
    patch_size=4,
    dim=64,
    num_heads=4,
    depth=2,
    hybrid=False,
    embed_kernel=None,
    stem_channels=None,
):
    """A classifier built on :class:`cvtutor.layers.SelfAttention`.

    By default the image is cut into ``patch_size x patch_size`` patches
    (64 tokens of 4x4 pixels for CIFAR-10), each embedded into ``dim``
    features, plus a learned position embedding; ``depth`` pre-norm
    :class:`~cvtutor.layers.TransformerBlock` s (MLP width ``2 * dim``) mix
    the tokens; the tokens are averaged, normalized and mapped to logits.

    With ``hybrid=True`` it is the source article's idea done right: the
    image rows form a sequence (32 steps x 96 features), an LSTM with ``dim``
    units returns a state per row, and ``depth`` self-attention layers, each
    with a residual connection and LayerNorm (``x = LN(x + Attention(x))``),
    let every row look at every other; then pooling and logits.
    ``patch_size`` is not used in this mode.

    Args:
        input_shape: ``(height, width, channels)`` of the images.
        num_classes: Number of classes (logits).
        patch_size: Side of the square patches; must divide height and width.
        dim: Features per token; must be divisible by ``num_heads``.
        num_heads: Attention heads (each of size ``dim // num_heads``).
        depth: Number of transformer blocks (attention layers if hybrid).
        hybrid: Use the LSTM + self-attention model instead of patches.
        embed_kernel: Side of the window each patch token is embedded from
            (:class:`~cvtutor.layers.PatchEmbedding`'s ``kernel_size``):
            ``None`` embeds each patch alone; ``patch_size + 4`` (8 for 4x4
            patches) adds a 2-pixel margin of the neighbouring patches.
        stem_channels: Embed the patches through a small convolutional stem
            instead (Xiao et al., 2021, "Early convolutions help transformers
            see better"): a 4x4 convolution with stride 2 to ``stem_channels``
            channels and GELU (layer ``"stem"``), then overlapping
            :class:`~cvtutor.layers.PatchEmbedding` of that half-size map
            (patches of ``patch_size / 2``, windows one pixel wider on every
            side), so each token sees ``patch_size + 6`` pixels square around
            its patch through a nonlinearity. Needs an even ``patch_size``;
            excludes ``embed_kernel``.

    Returns:
        An uncompiled ``keras.Model`` named after the model it is, so that two
        variants never share a name in a summary or a table: ``"attention"``
        (patch tokens embedded linearly: the book's *patch-attention model*),
        ``"conv_stem_attention"`` (with ``stem_channels``: chapter 1.4.3's
        *conv-stem attention classifier*) or ``"lstm_attention"`` (with
        ``hybrid=True``: the *LSTM + attention model*).

    Raises:
        TypeError: a size, count or ``input_shape`` that is not integers; the message names it.
        ValueError: a size or count below 1 (``num_classes`` below 2), a ``patch_size`` that
            does not divide the image (or is odd, with ``stem_channels``), a ``dim`` not
            divisible by ``num_heads``, or both ``embed_kernel`` and ``stem_channels``.
    """
    height, width, channels = _check_input_shape(input_shape)
    num_classes = _check_num_classes(num_classes)
    dim = checks.positive_int("dim", dim)
    num_heads = checks.positive_int("num_heads", num_heads)
    depth = checks.positive_int("depth", depth)
    key_dim = _check_heads(dim, num_heads)
    inputs = keras.Input((height, width, channels), name="images")

    if hybrid:
        x = layers.Reshape((height, width * channels), name="rows")(inputs)
        x = layers.LSTM(dim, return_sequences=True, name="lstm")(x)
        for i in range(depth):
            attended = SelfAttention(num_heads, key_dim, name=f"attention_{i}")(x)
            x = layers.LayerNormalization(epsilon=1e-6, name=f"norm_{i}")(x + attended)
        name = "lstm_attention"
    else:
        patch_size = _check_patch_size(patch_size, (height, width, channels))
        if stem_channels is None:
            x = PatchEmbedding(patch_size, dim, kernel_size=embed_kernel, name="patches")(inputs)
        else:
            stem_channels = checks.positive_int("stem_channels", stem_channels)
            if embed_kernel is not None:
                raise ValueError(f"give embed_kernel or stem_channels, not both; got {embed_kernel!r} and {stem_channels!r}")
            if patch_size % 2:
                raise ValueError(f"a convolutional stem halves the image, so patch_size must be even; got {patch_size}")
            x = layers.Conv2D(stem_channels, 4, strides=2, padding="same", activation="gelu", name="stem")(inputs)
            half = patch_size // 2
            x = PatchEmbedding(half, dim, kernel_size=half + 2, name="patches")(x)
        x = PositionEmbedding(name="positions")(x)
        for i in range(depth):
            x = TransformerBlock(num_heads, key_dim, mlp_dim=2 * dim, name=f"block_{i}")(x)
        name = "attention" if stem_channels is None else "conv_stem_attention"

    x = layers.GlobalAveragePooling1D(name="pool")(x)
    x = layers.LayerNormalization(epsilon=1e-6, name="norm")(x)
    outputs = layers.Dense(num_classes, name="logits")(x)
    return keras.Model(inputs, outputs, name=name)


def build_vit(
    input_shape=(32, 32, 3),
    num_classes=10,
    patch_size=4,
    dim=128,
    depth=6,
    num_heads=4,
    mlp_dim=256,
    dropout=0.0,
):
    """A small Vision Transformer (Dosovitskiy et al., 2021).

    Patches of ``patch_size x patch_size`` pixels are embedded as tokens, a
    learned class token is prepended, a position embedding is added, and
    ``depth`` pre-norm :class:`~cvtutor.layers.TransformerBlock` s follow.
    The logits are read from the **class token** after a final LayerNorm, as
    in the ViT paper (:func:`build_attention` averages the tokens instead).

    Args:
        input_shape: ``(height, width, channels)`` of the images.
        num_classes: Number of classes (logits).
        patch_size: Side of the square patches; must divide height and width.
        dim: Features per token; must be divisible by ``num_heads``.
        depth: Number of transformer blocks.
        num_heads: Attention heads (each of size ``dim // num_heads``).
        mlp_dim: Hidden units of each block's MLP.
        dropout: Dropout rate after the embeddings and inside the blocks.

    Returns:
        An uncompiled ``keras.Model`` named ``"vit"``.

    Raises:
        TypeError: a size or count (or ``input_shape``) that is not integers, or a ``dropout``
            that is not a number; the message names it.
        ValueError: a size or count below 1 (``num_classes`` below 2), a ``patch_size`` that
            does not divide the image, a ``dim`` not divisible by ``num_heads``, or a
            ``dropout`` outside [0, 1).
    """
    height, width, channels = _check_input_shape(input_shape)
    num_classes = _check_num_classes(num_classes)
    patch_size = _check_patch_size(patch_size, (height, width, channels))
    dim = checks.positive_int("dim", dim)
    depth = checks.positive_int("depth", depth)
    num_heads = checks.positive_int("num_heads", num_heads)
    mlp_dim = checks.positive_int("mlp_dim", mlp_dim)
    dropout = checks.rate("dropout", dropout)
    key_dim = _check_heads(dim, num_heads)

    inputs = keras.Input((height, width, channels), name="images")
    x = PatchEmbedding(patch_size, dim, name="patches")(inputs)
    x = ClassToken(name="class_token")(x)
    x = PositionEmbedding(name="positions")(x)
    x = layers.Dropout(dropout, name="embedding_dropout")(x)
    for i in range(depth):
        x = TransformerBlock(num_heads, key_dim, mlp_dim, dropout=dropout, name=f"block_{i}")(x)
    x = layers.LayerNormalization(epsilon=1e-6, name="norm")(x)
    x = x[:, 0]  # the class token
    outputs = layers.Dense(num_classes, name="logits")(x)
    return keras.Model(inputs, outputs, name="vit")


#: The builders by name, as the command line and the benchmarks name them. ``MODELS[name]()``
#: builds that model with its defaults (what :func:`build_model` does).
MODELS = {
    "cnn": build_cnn,
    "resnet": build_resnet,
    "rnn": build_rnn,
    "attention": build_attention,
    "vit": build_vit,
}


def build_model(name, **kwargs):
    """Build the model registered as ``name`` in :data:`MODELS`.

    Args:
        name: One of ``"cnn"``, ``"resnet"``, ``"rnn"``, ``"attention"``, ``"vit"``.
        **kwargs: Passed to the builder, e.g. ``num_classes=7``.

    Returns:
        The uncompiled ``keras.Model``.

    Raises:
        TypeError: ``name`` is not a string, or as the builder.
        ValueError: ``name`` is not in :data:`MODELS`, or as the builder.
    """
    return MODELS[checks.one_of("name", name, sorted(MODELS))](**kwargs)
