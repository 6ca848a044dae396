"""Parameters and multiply-adds of published vision architectures, from their configurations.

Chapter 1.5.6 places the book's small models beside the large ones a reader meets next. Their
sizes are not copied from the papers: each is added up here from the architecture's published
configuration (depth, width, heads, patch size, blocks per stage, resolution) with the layer
formulas of :mod:`cvtutor.layer_costs`, and the chapter checks the sums against Keras models
built without weights (``count_params`` and :func:`cvtutor.flops.multiply_adds`). The tests
also compare them with the counts the reference implementations print.

Two counting conventions matter for the ResNets: Keras's ``keras.applications.ResNet50``
gives every convolution a bias and keeps 4 numbers per batch-norm channel (scale, offset,
moving mean and variance: ``count_params`` counts all four), while torchvision's convolutions
have no bias and its batch norm has 2 parameters per channel (the moving statistics are
buffers), or none when frozen (detection models). :func:`resnet` takes both as arguments.

Multiply-adds are per image, at the resolution given, as :mod:`cvtutor.flops` counts them
(biases, normalization, activations and the softmax count zero).
"""

from __future__ import annotations

from dataclasses import dataclass

from cvtutor import checks
from cvtutor import layer_costs as lc

__all__ = [
    "ViTConfig",
    "VIT",
    "RESNET_BLOCKS",
    "SWIN_T",
    "vit",
    "transformer_encoder",
    "resnet",
    "swin",
    "fpn",
    "faster_rcnn",
    "mask_rcnn",
    "detr",
    "clip",
]


@dataclass(frozen=True)
class ViTConfig:
    """A Vision Transformer's published configuration (Dosovitskiy et al., 2021, Table 1).

    Attributes:
        image_size: side of the square input, pixels.
        patch_size: side of the square patches, pixels.
        width: features per token (the paper's ``D``).
        depth: transformer blocks.
        num_heads: attention heads.
        mlp_dim: hidden units of each block's MLP.
    """

    image_size: int
    patch_size: int
    width: int
    depth: int
    num_heads: int
    mlp_dim: int

    @property
    def tokens(self) -> int:
        """The tokens the model reads, ``(image_size / patch_size)^2 + 1``, the class token included."""
        return (self.image_size // self.patch_size) ** 2 + 1


#: ViT-S (DeiT, DINO), -B, -L and -H, each at the patch size and resolution it is best known by.
VIT = {
    "ViT-S/16": ViTConfig(224, 16, 384, 12, 6, 1536),
    "ViT-B/16": ViTConfig(224, 16, 768, 12, 12, 3072),
    "ViT-L/16": ViTConfig(224, 16, 1024, 24, 16, 4096),
    "ViT-L/14": ViTConfig(224, 14, 1024, 24, 16, 4096),
    "ViT-H/14": ViTConfig(224, 14, 1280, 32, 16, 5120),
}

#: Bottleneck blocks per stage (He et al., 2016, Table 1).
RESNET_BLOCKS = {"ResNet-50": (3, 4, 6, 3), "ResNet-101": (3, 4, 23, 3), "ResNet-152": (3, 8, 36, 3)}

#: The configuration of Swin-T in Liu et al., 2021, section 3.3, with ``C = 96``, blocks ``(2, 2, 6, 2)`` and
#: 7x7 windows.
SWIN_T = {"embed_dim": 96, "depths": (2, 2, 6, 2), "num_heads": (3, 6, 12, 24), "window": 7, "patch_size": 4,
          "mlp_ratio": 4}


def _total(parts) -> lc.Cost:
    parts = list(parts)
    return lc.Cost(parts[-1].output_shape if parts else (), sum(p.params for p in parts),
                   sum(p.multiply_adds for p in parts))


def transformer_encoder(tokens: int, width: int, depth: int, num_heads: int, mlp_dim: int) -> lc.Cost:
    """``depth`` pre-norm :func:`~cvtutor.layer_costs.transformer_block` s on ``(tokens, width)``.

    Raises:
        TypeError, ValueError: as :func:`cvtutor.layer_costs.transformer_block`; ``depth`` not a
            positive int.
    """
    block = lc.transformer_block(tokens, width, num_heads, mlp_dim)
    depth = checks.positive_int("depth", depth)
    return lc.Cost(block.output_shape, depth * block.params, depth * block.multiply_adds)


def vit(config: ViTConfig, num_classes: int = 1000, image_size: int | None = None) -> lc.Cost:
    """A ViT as :func:`cvtutor.models.build_vit` builds it: patch embedding, class token, position
    embedding, ``depth`` blocks, a final LayerNorm and a linear head on the class token.

    Args:
        config: a :class:`ViTConfig`, e.g. ``VIT["ViT-B/16"]``.
        num_classes: logits of the head; 0 for none (a backbone).
        image_size: another resolution than the configuration's (more tokens, more positions).

    Returns:
        A :class:`~cvtutor.layer_costs.Cost` (``output_shape`` ``(num_classes,)``, or the
        tokens without a head).

    Raises:
        TypeError: ``config`` is not a :class:`ViTConfig`; a size is not an int.
        ValueError: a size is out of range, or the patch size does not divide the image.
    """
    checks.instance("config", config, ViTConfig, "a ViTConfig")
    size = config.image_size if image_size is None else checks.positive_int("image_size", image_size)
    embed = lc.patch_embedding(size, size, 3, config.patch_size, config.width)
    tokens = embed.output_shape[0] + 1  # the class token
    embeddings = lc.Cost((tokens, config.width), config.width + tokens * config.width, 0)  # class token, positions
    encoder = transformer_encoder(tokens, config.width, config.depth, config.num_heads, config.mlp_dim)
    parts = [embed, embeddings, encoder, lc.layer_norm(tokens, config.width)]
    if checks.scalar("num_classes", num_classes, int, minimum=0):
        parts.append(lc.dense(config.width, num_classes))
    return _total(parts)


def _bottleneck_stage(size, c_in, width, blocks, stride, conv_bias, bn):
    """One ResNet stage of bottleneck blocks, Keras's layout (the stride on the first 1x1 convolution)."""
    parts, out = [], 4 * width
    for i in range(blocks):
        s = stride if i == 0 else 1
        convs = [lc.conv2d(size, size, c_in, width, 1, s, bias=conv_bias)]
        size = convs[0].output_shape[0]
        convs += [lc.conv2d(size, size, width, width, 3, 1, "same", bias=conv_bias),
                  lc.conv2d(size, size, width, out, 1, bias=conv_bias)]
        if i == 0:
            convs.append(lc.conv2d(size * s, size * s, c_in, out, 1, s, bias=conv_bias))  # the projection shortcut
        parts += convs + [lc.Cost((size, size, c.output_shape[-1]), bn * c.output_shape[-1], 0) for c in convs]
        c_in = out
    return parts, size, out


def resnet(blocks=(3, 4, 6, 3), image_size: int = 224, num_classes: int = 1000, *, conv_bias: bool = True,
           batchnorm_params: int = 4) -> lc.Cost:
    """A bottleneck ResNet (He et al., 2016) as ``keras.applications.ResNet50`` builds it.

    A 7x7 stride-2 convolution (64 channels) and a 3x3 stride-2 max pool, then four stages of
    ``blocks`` bottleneck blocks (1x1, 3x3, 1x1 convolutions, widths 64, 128, 256, 512, output
    4 times wider), each convolution followed by batch norm; the first block of each stage has a
    1x1 projection shortcut, and stages 2 to 4 halve the resolution. Global average pooling and
    a dense head follow.

    Args:
        blocks: blocks per stage, e.g. ``RESNET_BLOCKS["ResNet-152"]``.
        image_size: side of the square input, pixels.
        num_classes: logits of the head; 0 for none (a backbone).
        conv_bias: whether the convolutions have biases (Keras: yes; torchvision: no).
        batchnorm_params: parameters counted per batch-norm channel: 4 (Keras's
            ``count_params``), 2 (PyTorch, statistics are buffers) or 0 (frozen batch norm).

    Raises:
        TypeError, ValueError: a size is not a positive int, ``blocks`` not four positive ints, or
            ``batchnorm_params`` not 0, 2 or 4.
    """
    blocks = checks.integers("blocks", blocks, 4, minimum=1)
    bn = checks.one_of("batchnorm_params", batchnorm_params, (0, 2, 4))
    size = checks.positive_int("image_size", image_size)
    stem = lc.conv2d(size + 6, size + 6, 3, 64, 7, 2, bias=conv_bias)  # zero-padded by 3
    size = stem.output_shape[0]
    pool = lc.max_pool2d(size + 2, size + 2, 64, 3, 2)  # zero-padded by 1
    parts, size, c = [stem, lc.Cost(stem.output_shape, bn * 64, 0), pool], pool.output_shape[0], 64
    for width, n, stride in zip((64, 128, 256, 512), blocks, (1, 2, 2, 2)):
        stage, size, c = _bottleneck_stage(size, c, width, n, stride, conv_bias, bn)
        parts += stage
    if checks.scalar("num_classes", num_classes, int, minimum=0):
        parts.append(lc.dense(c, num_classes))
    return _total(parts)


def swin(embed_dim: int = 96, depths=(2, 2, 6, 2), num_heads=(3, 6, 12, 24), window: int = 7,
         patch_size: int = 4, mlp_ratio: int = 4, image_size: int = 224, num_classes: int = 1000) -> lc.Cost:
    """A Swin Transformer (Liu et al., 2021): attention inside ``window x window`` windows.

    A 4x4 patch embedding with a LayerNorm, then four stages; each block is a transformer block
    whose attention runs inside non-overlapping windows (shifted every other block) and adds a
    learned relative-position bias, a table of ``(2 window - 1)^2`` numbers per head. Between
    stages, *patch merging* concatenates 2x2 neighbouring tokens (LayerNorm of ``4C``) and
    projects them to ``2C`` without a bias. Attention's multiply-adds grow with the tokens times
    the window's area, not with the square of the tokens. The defaults are Swin-T (:data:`SWIN_T`).

    Raises:
        TypeError, ValueError: a size is not a positive int, ``depths`` and ``num_heads`` are not
            four ints each, or the grid of a stage is not a multiple of the window.
    """
    depths = checks.integers("depths", depths, 4, minimum=1)
    heads = checks.integers("num_heads", num_heads, 4, minimum=1)
    m = checks.positive_int("window", window)
    embed = lc.patch_embedding(image_size, image_size, 3, patch_size, embed_dim)
    grid, c = image_size // patch_size, embed_dim
    parts = [embed, lc.layer_norm(grid * grid, c)]
    for stage, (depth, h) in enumerate(zip(depths, heads)):
        if grid % m:
            raise ValueError(f"the {grid}x{grid} grid of stage {stage + 1} is not a multiple of window={m}")
        n = grid * grid
        attention = lc.self_attention(m * m, c, h)  # one window
        windowed = lc.Cost((n, c), attention.params + (2 * m - 1) ** 2 * h,
                           attention.multiply_adds * (n // (m * m)))
        block = [lc.layer_norm(n, c), windowed, lc.layer_norm(n, c),
                 lc.dense(c, mlp_ratio * c, n), lc.dense(mlp_ratio * c, c, n)]
        parts += block * depth
        if stage < 3:  # patch merging
            grid //= 2
            parts += [lc.layer_norm(grid * grid, 4 * c), lc.dense(4 * c, 2 * c, grid * grid, bias=False)]
            c *= 2
    parts.append(lc.layer_norm(grid * grid, c))
    if checks.scalar("num_classes", num_classes, int, minimum=0):
        parts.append(lc.dense(c, num_classes))
    return _total(parts)


def _backbone() -> lc.Cost:
    """ResNet-50 without its head, as torchvision's detection models hold it (frozen batch norm)."""
    return resnet(num_classes=0, conv_bias=False, batchnorm_params=0)


def fpn(in_channels=(256, 512, 1024, 2048), channels: int = 256) -> lc.Cost:
    """A feature pyramid network's parameters (Lin et al., 2017): for each of the backbone's four
    stages, a 1x1 lateral convolution to ``channels`` and a 3x3 output convolution.

    Only parameters are meaningful here (``multiply_adds`` is left 0: it depends on the image
    size of each level). Raises TypeError or ValueError for sizes that are not positive ints.
    """
    channels = checks.positive_int("channels", channels)
    parts = []
    for c in in_channels:
        parts += [lc.conv2d(1, 1, c, channels, 1), lc.conv2d(3, 3, channels, channels, 3, padding="same")]
    return lc.Cost((channels,), sum(p.params for p in parts), 0)


def faster_rcnn(num_classes: int = 91) -> lc.Cost:
    """Faster R-CNN with a ResNet-50-FPN backbone (Ren et al., 2015; Lin et al., 2017), as torchvision
    builds ``fasterrcnn_resnet50_fpn``: the backbone, the FPN, the region proposal network's head
    (a 3x3 convolution, then 1x1 convolutions for 3 anchors' objectness and boxes) and the box head
    (two dense layers of 1024 on each region's 7x7x256 features, then class scores and one box per
    class). Parameters only.

    Raises:
        TypeError, ValueError: ``num_classes`` is not a positive int.
    """
    k = checks.positive_int("num_classes", num_classes)
    anchors = 3
    rpn = [lc.conv2d(3, 3, 256, 256, 3, padding="same"), lc.conv2d(1, 1, 256, anchors, 1),
           lc.conv2d(1, 1, 256, 4 * anchors, 1)]
    box_head = [lc.dense(7 * 7 * 256, 1024), lc.dense(1024, 1024), lc.dense(1024, k), lc.dense(1024, 4 * k)]
    params = _backbone().params + fpn().params + sum(p.params for p in rpn + box_head)
    return lc.Cost((k,), params, 0)


def mask_rcnn(num_classes: int = 91) -> lc.Cost:
    """Mask R-CNN (He et al., 2017) as torchvision's ``maskrcnn_resnet50_fpn``: Faster R-CNN plus a
    mask head of four 3x3 convolutions, a 2x2 transposed convolution and a 1x1 convolution to one
    mask per class. Parameters only.

    Raises:
        TypeError, ValueError: ``num_classes`` is not a positive int.
    """
    k = checks.positive_int("num_classes", num_classes)
    head = [lc.conv2d(14, 14, 256, 256, 3, padding="same")] * 4 + [
        lc.conv2d(2, 2, 256, 256, 2),  # a 2x2 transposed convolution has a 2x2 convolution's weights
        lc.conv2d(1, 1, 256, k, 1)]
    return lc.Cost((k,), faster_rcnn(k).params + sum(p.params for p in head), 0)


def detr(num_queries: int = 100, num_classes: int = 91, width: int = 256, depth: int = 6, num_heads: int = 8,
         mlp_dim: int = 2048) -> lc.Cost:
    """DETR (Carion et al., 2020): a ResNet-50, a 1x1 convolution to ``width``, a transformer of
    ``depth`` encoder and ``depth`` decoder layers, ``num_queries`` learned object queries, and two
    heads per query (``num_classes + 1`` class scores, "no object" included, and a three-layer MLP
    for the box). Each decoder layer is an encoder layer plus cross-attention and a third
    LayerNorm; the decoder ends with a LayerNorm. Parameters only.

    Raises:
        TypeError, ValueError: a size is not a positive int.
    """
    queries = checks.positive_int("num_queries", num_queries)
    encoder_layer = lc.transformer_block(1, width, num_heads, mlp_dim)
    decoder_layer = encoder_layer.params + lc.self_attention(1, width, num_heads).params + 2 * width
    heads = [lc.dense(width, checks.positive_int("num_classes", num_classes) + 1), lc.dense(width, width),
             lc.dense(width, width), lc.dense(width, 4)]
    params = (_backbone().params + lc.conv2d(1, 1, 2048, width, 1).params
              + depth * (encoder_layer.params + decoder_layer) + 2 * width
              + queries * width + sum(h.params for h in heads))
    return lc.Cost((queries, num_classes + 1), params, 0)


def clip(vision: ViTConfig | None = None, embed_dim: int = 512, text_width: int = 512, text_depth: int = 12,
         text_heads: int = 8, vocabulary: int = 49408, context: int = 77) -> dict:
    """CLIP (Radford et al., 2021): an image encoder and a text encoder, both transformers,
    projected into one ``embed_dim`` space; the defaults are OpenAI's ViT-B/16 model.

    The image encoder is a ViT without a head whose patch embedding has no bias, with one more
    LayerNorm before the blocks and a projection (no bias) of the class token to ``embed_dim``;
    the text encoder embeds ``vocabulary`` tokens and ``context`` positions, runs
    ``text_depth`` blocks, a LayerNorm and a projection; one learned temperature scales the
    similarities.

    Returns:
        ``{"image": Cost, "text": Cost, "params": total parameters}`` (the temperature included).

    Raises:
        TypeError, ValueError: ``vision`` is not a :class:`ViTConfig`; a size is not a positive int.
    """
    vision = VIT["ViT-B/16"] if vision is None else vision
    image = vit(vision, num_classes=0)
    image = lc.Cost((embed_dim,), image.params - vision.width + 2 * vision.width + vision.width * embed_dim,
                    image.multiply_adds + vision.width * embed_dim)  # no patch bias, one more LayerNorm, projection
    encoder = transformer_encoder(context, text_width, text_depth, text_heads, 4 * text_width)
    text = lc.Cost((embed_dim,), vocabulary * text_width + context * text_width + encoder.params + 2 * text_width
                   + text_width * embed_dim, encoder.multiply_adds + text_width * embed_dim)
    return {"image": image, "text": text, "params": image.params + text.params + 1}
