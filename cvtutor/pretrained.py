"""Pre-trained image backbones from KerasHub: load a preset, cache its features, train a head, fine-tune.

A KerasHub *preset* is a backbone's architecture (``config.json``), its
weights (``model.weights.h5``) and its image preprocessing
(``image_converter.json``), named (``"resnet_18_imagenet"``, downloaded from
Kaggle once and cached by ``kagglehub``) or as a local folder. The same call
loads either::

    from cvtutor.pretrained import build_classifier, load_pretrained

    hub = load_pretrained("resnet_18_imagenet", image_size=64)   # or a folder
    model = build_classifier(hub)            # [0, 1] images (N, 32, 32, 3) -> logits (N, 10)

Where the named weights cannot be fetched (offline, CI), ``fallback=`` names a
folder that :func:`save_local_preset` wrote: a small backbone of the same
family with *random* weights, saved and loaded exactly as a download is. The
returned :class:`Pretrained` says which backbone was loaded and why
(``Pretrained.weights``, ``Pretrained.reason``), so a chapter can
never fall back silently.

Two ways to use a pre-trained backbone:

- *linear probing*: the backbone frozen, its pooled features computed once
  (:func:`cached_features`, kept on disk) and a linear head
  (:func:`build_head`) trained on them: seconds per epoch;
- *full fine-tuning*: the whole classifier (:func:`build_classifier`)
  trained end to end, the backbone at a lower learning rate than the head
  (:class:`BackboneRateAdam`, :class:`BackboneRateSGD`).

Importing this module imports Keras; KerasHub is imported by the functions that need it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import numbers
import os
import shutil
from pathlib import Path

import keras
import numpy as np

from cvtutor import checks

__all__ = [
    "PRESET",
    "LOCAL_BACKBONE",
    "PRESET_FILES",
    "PresetError",
    "Pretrained",
    "load_pretrained",
    "random_backbone",
    "save_local_preset",
    "feature_extractor",
    "cached_features",
    "build_head",
    "build_classifier",
    "BackboneRateAdam",
    "BackboneRateSGD",
    "backbone_variable_paths",
    "classifier_multiply_adds",
    "reading",
]

#: The preset the book fine-tunes, ResNet-18 trained on ImageNet-1k (11,186,112 parameters, the
#: smallest ResNet preset of KerasHub).
PRESET = "resnet_18_imagenet"

#: Where :data:`PRESET` comes from and under which terms, for the page (Kaggle's model card).
PRESET_SOURCE = {
    "resnet_18_imagenet": {
        "url": "https://www.kaggle.com/models/keras/resnetv1",
        "license": "Apache 2.0",
    },
}

#: The backbone :func:`save_local_preset` writes: ResNet-18's stem and its first two stages, one
#: basic block each (314,816 parameters), built from this config by KerasHub's ``ResNetBackbone``.
LOCAL_BACKBONE = {
    "input_conv_filters": [64],
    "input_conv_kernel_sizes": [7],
    "stackwise_num_filters": [64, 128],
    "stackwise_num_blocks": [1, 1],
    "stackwise_num_strides": [1, 2],
    "block_type": "basic_block",
}

#: The files a preset folder must hold (what ``save_to_preset`` of a backbone and of its image
#: converter write).
PRESET_FILES = ("config.json", "metadata.json", "model.weights.h5", "image_converter.json")

#: ImageNet's channel means and standard deviations (pixels in [0, 1]): the preprocessing of
#: KerasHub's ResNet presets, which :func:`save_local_preset` gives its folder too.
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

_CVTUTOR_FILE = "cvtutor.json"


class PresetError(ValueError):
    """A preset folder is missing, partial or not an image backbone's, or a preset failed to load.

    Its message is one line: the folder (or name) and what was expected there. ``cause`` names the
    kind of the underlying error (``"ConnectionError"``), or is empty.
    """

    def __init__(self, message: str, cause: str = ""):
        super().__init__(message)
        self.cause = cause


@dataclasses.dataclass
class Pretrained:
    """A loaded backbone with its preprocessing, and where it came from.

    Attributes:
        backbone: the KerasHub ``Backbone`` (a ``keras.Model``; image in, feature map
            ``(N, h, w, C)`` out).
        converter: its KerasHub ``ImageConverter`` (resizes to ``image_size``, then scales pixels
            in 0..255 as the backbone was trained).
        preset: the name or folder it was loaded from.
        weights: ``"pre-trained"`` (a preset's own weights) or ``"random"`` (a folder that
            :func:`save_local_preset` wrote).
        image_size: the side the images are resized to.
        reason: why this backbone was loaded instead of the one asked for (``""``: it is that one).
        requested: the preset asked for.
    """

    backbone: object
    converter: object
    preset: str
    weights: str
    image_size: int
    reason: str = ""
    requested: str = ""

    @property
    def name(self) -> str:
        """The preset's name, or the folder's last part."""
        return Path(self.preset).name if os.path.isdir(self.preset) else self.preset

    @property
    def parameters(self) -> int:
        """Parameters of the backbone."""
        return int(self.backbone.count_params())

    @property
    def feature_dim(self) -> int:
        """Channels of the backbone's last feature map, the length of a pooled feature vector."""
        return int(self.backbone.output.shape[-1])

    @property
    def state_bytes(self) -> int:
        """Bytes of the backbone's weights (every variable, in float32, as ``model.weights.h5`` stores them)."""
        return int(sum(np.prod(v.shape) * np.dtype(v.dtype).itemsize for v in self.backbone.weights))

    def describe(self) -> str:
        """One line: which backbone, its weights, its size, and why it was chosen if not the one asked for."""
        line = (f"backbone: {self.name} ({type(self.backbone).__name__}, {self.weights} weights, "
                f"{self.parameters:,} parameters, {self.state_bytes / 2**20:.1f} MiB), "
                f"images resized to {self.image_size}x{self.image_size}")
        return line + (f"; {self.reason}" if self.reason else "")


def _first_line(error) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0] if text else ''}"[:200]


def check_preset_folder(path) -> Path:
    """``path`` as a ``Path`` if it holds an image backbone's preset, else one clear :class:`PresetError`.

    Args:
        path: a folder written by ``save_to_preset`` (or downloaded and unpacked).

    Returns:
        the folder.

    Raises:
        PresetError: the folder does not exist, lacks one of :data:`PRESET_FILES`, its
            ``config.json`` is not JSON, or it describes no image backbone (a config without
            ``image_shape``, e.g. a text model's).
    """
    folder = Path(path)
    expected = f"a KerasHub image preset ({', '.join(PRESET_FILES)})"
    if not folder.is_dir():
        raise PresetError(f"preset folder '{folder}' does not exist; expected {expected}")
    missing = [name for name in PRESET_FILES if not (folder / name).is_file()]
    if missing:
        raise PresetError(f"preset folder '{folder}' lacks {', '.join(missing)}; expected {expected}")
    try:
        config = json.loads((folder / "config.json").read_text())
    except (OSError, ValueError) as error:
        raise PresetError(f"preset folder '{folder}': config.json is not readable JSON "
                          f"({_first_line(error)}); expected {expected}") from None
    inner = config.get("config") if isinstance(config, dict) else None
    if not isinstance(inner, dict) or "image_shape" not in inner:
        kind = config.get("class_name", "no class") if isinstance(config, dict) else type(config).__name__
        raise PresetError(f"preset folder '{folder}' holds {kind}, not an image backbone; expected {expected} "
                          f"whose config.json has image_shape")
    return folder


def load_pretrained(preset: str = PRESET, image_size: int = 64, *, fallback=None) -> Pretrained:
    """Load a KerasHub image backbone and its image converter from a preset name or folder.

    Args:
        preset: a KerasHub preset name (downloaded once, then read from kagglehub's cache) or a
            folder written by ``save_to_preset`` (e.g. by :func:`save_local_preset`).
        image_size: images are resized to ``image_size`` x ``image_size`` before the backbone
            (ResNet-18 was trained at 224; smaller is cheaper, as the chapter measures).
        fallback: a preset folder to load instead when ``preset`` is a name that cannot be
            fetched (no network). The result's ``Pretrained.reason`` says so; never silent.

    Returns:
        a :class:`Pretrained`.

    Raises:
        TypeError: ``preset`` is not a string or path, or ``image_size`` not an integer.
        ValueError: ``image_size`` below 8.
        PresetError: a folder that is missing, partial or not an image backbone's (one line naming
            it and what was expected); a name KerasHub does not list (with or without
            ``fallback``: a typo is no reason to fall back); a listed name that could not be
            loaded (no network), without ``fallback``.
    """
    image_size = checks.scalar("image_size", image_size, numbers.Integral, minimum=8)
    checks.instance("preset", preset, (str, os.PathLike), "a KerasHub preset name or a folder")
    preset = os.fspath(preset)
    is_folder = os.sep in preset or preset.startswith(".") or os.path.exists(preset)
    if is_folder:
        return _load(str(check_preset_folder(preset)), image_size, requested=preset)
    _check_preset_name(preset)
    try:
        return _load(preset, image_size, requested=preset)
    except PresetError as error:
        if fallback is None:
            raise
        loaded = load_pretrained(fallback, image_size)
        loaded.reason = (f"{preset} could not be loaded ({error.cause or 'see load_pretrained'}), so this "
                         f"ran on {loaded.name} instead")
        loaded.requested = preset
        return loaded


def _check_preset_name(name: str) -> None:
    """A name KerasHub lists (or a ``kaggle://``/``hf://`` handle), else one line with close names."""
    import difflib

    import keras_hub

    known = keras_hub.models.Backbone.presets
    if "://" in name or name in known:
        return
    close = difflib.get_close_matches(name, list(known), n=3) or sorted(known)[:3]
    raise PresetError(f"preset {name!r} is no KerasHub backbone preset and no folder; expected a preset name "
                      f"such as {', '.join(map(repr, close))} or a folder written by save_to_preset")


def _load(preset: str, image_size: int, requested: str) -> Pretrained:
    import keras_hub

    try:
        backbone = keras_hub.models.Backbone.from_preset(preset)
        converter = keras_hub.layers.ImageConverter.from_preset(preset, image_size=(image_size, image_size))
    except Exception as error:  # noqa: BLE001 - network, file and config errors all become one line
        where = f"preset folder '{preset}'" if os.path.isdir(preset) else f"preset {preset!r}"
        raise PresetError(f"{where} could not be loaded: {_first_line(error)}", type(error).__name__) from None
    weights = "pre-trained"
    note = Path(preset) / _CVTUTOR_FILE
    if os.path.isdir(preset) and note.is_file():
        weights = json.loads(note.read_text()).get("weights", weights)
    if len(backbone.output.shape) != 4:
        raise PresetError(f"preset {preset!r} gives outputs of shape {tuple(backbone.output.shape)}; expected an "
                          f"image backbone's feature map (N, h, w, C)")
    return Pretrained(backbone, converter, preset, weights, int(image_size), requested=requested)


def random_backbone(config: dict | None = None, image_size: int = 64, *, seed: int = 0) -> Pretrained:
    """A KerasHub ResNet backbone with random weights, built in memory, with the ResNet presets'
    image converter: what :func:`save_local_preset` saves, and what a cost measurement needs
    (multiply-adds and speed depend on the architecture and the image size, not on the weights).

    Args:
        config: ``keras_hub.models.ResNetBackbone`` arguments (default :data:`LOCAL_BACKBONE`),
            e.g. ResNet-18's or ResNet-50's stages to measure their cost without a download.
        image_size: the converter resizes images to ``image_size`` x ``image_size``.
        seed: the random weights' seed.

    Returns:
        a :class:`Pretrained` whose ``weights`` is ``"random"``.

    Raises:
        TypeError: ``image_size`` or ``seed`` is not an integer.
        ValueError: ``image_size`` below 8, or ``config`` that KerasHub's ``ResNetBackbone`` rejects.
    """
    import keras_hub

    image_size = checks.scalar("image_size", image_size, numbers.Integral, minimum=8)
    keras.utils.set_random_seed(checks.scalar("seed", seed, numbers.Integral, minimum=0))
    backbone = keras_hub.models.ResNetBackbone(**(config or LOCAL_BACKBONE), image_shape=(None, None, 3))
    converter = keras_hub.layers.ResNetImageConverter(
        image_size=(image_size, image_size),
        scale=[1 / (255 * s) for s in IMAGENET_STD],
        offset=[-m / s for m, s in zip(IMAGENET_MEAN, IMAGENET_STD)],
    )
    return Pretrained(backbone, converter, preset="random ResNet backbone", weights="random", image_size=image_size)


def save_local_preset(path, *, seed: int = 0, config: dict | None = None, image_size: int = 64) -> Path:
    """Write a preset folder holding a small ResNet backbone with random weights.

    The stand-in for a download where there is none (CI, offline): :func:`random_backbone`'s
    KerasHub ``ResNetBackbone`` built from ``config`` (default :data:`LOCAL_BACKBONE`), seeded,
    saved with ``save_to_preset`` together with its ``ResNetImageConverter`` (which does what the
    ResNet presets' converter does: pixels 0..255 to ImageNet-normalised values), and a
    ``cvtutor.json`` that marks its weights ``"random"``. Load it with :func:`load_pretrained`,
    the call a downloaded preset uses. An existing valid folder is kept as it is.

    Args:
        path: the folder to write.
        seed: the random weights' seed.
        config: ``ResNetBackbone`` arguments.
        image_size: the converter's default size (:func:`load_pretrained` sets its own).

    Returns:
        the folder.

    Raises:
        TypeError, ValueError: as :func:`random_backbone`.
    """
    folder = Path(path)
    try:
        check_preset_folder(folder)
        return folder
    except PresetError:
        if folder.exists():
            shutil.rmtree(folder)
    stand_in = random_backbone(config, image_size, seed=seed)
    from cvtutor.files import atomic_folder

    with atomic_folder(folder) as staging:
        stand_in.backbone.save_to_preset(str(staging))
        stand_in.converter.save_to_preset(str(staging))
        (staging / _CVTUTOR_FILE).write_text(json.dumps(
            {"weights": "random", "seed": int(seed), "written_by": "cvtutor.pretrained.save_local_preset"}, indent=2))
    return folder


def _pixels_0_255():
    # cvtutor's pipeline feeds [0, 1] floats (cvtutor.data.make_dataset); KerasHub converters take 0..255
    return keras.layers.Rescaling(255.0, name="to_0_255")


def feature_extractor(pretrained: Pretrained, input_shape=(32, 32, 3)):
    """The frozen backbone as a feature model: images in [0, 1] ``(N, H, W, 3)`` to pooled features ``(N, C)``.

    Resize and pixel scaling are the preset's converter's; the backbone runs in inference mode
    (called with ``training=False``: batch normalisation with its stored statistics) and its output
    ``(N, h, w, C)`` is averaged over positions. ``C`` is :attr:`Pretrained.feature_dim`.
    """
    inputs = keras.Input(tuple(input_shape), name="images")
    x = pretrained.converter(_pixels_0_255()(inputs))
    x = pretrained.backbone(x, training=False)
    outputs = keras.layers.GlobalAveragePooling2D(name="pool")(x)
    return keras.Model(inputs, outputs, name=f"{pretrained.name}_features")


def _fingerprint(model, images) -> str:
    digest = hashlib.sha256()
    for weight in model.weights:
        digest.update(np.ascontiguousarray(_numpy(weight)).tobytes())
    digest.update(repr((images.shape, str(images.dtype))).encode())
    digest.update(np.ascontiguousarray(images).tobytes())
    return digest.hexdigest()[:20]


def _numpy(variable):
    """A Keras variable's value as a NumPy array."""
    return keras.ops.convert_to_numpy(variable)


def cached_features(extractor, images, *, cache_dir=None, batch_size: int = 256):
    """Pooled features of ``images``, computed once and then read from a file.

    The file is named by a SHA-256 of the extractor's weights and of the images, so a different
    backbone, preset or image set never reads another's features.

    Args:
        extractor: a feature model (:func:`feature_extractor`).
        images: uint8 ``(N, H, W, 3)`` (scaled to [0, 1] as :func:`cvtutor.data.make_dataset`
            does) or float32 already in [0, 1].
        cache_dir: the folder for the ``features-*.npy`` files; None: ``$CVTUTOR_CACHE``'s
            ``features`` folder (``cvtutor.data.cache.cache_dir()``).
        batch_size: images per forward pass.

    Returns:
        ``(features, path, computed)``: float32 ``(N, C)``, the file, and whether they were
        computed now (False: read from the file).

    Raises:
        TypeError: ``batch_size`` is not an integer.
        ValueError: ``images`` is not ``(N, H, W, 3)`` with N >= 1, or ``batch_size`` below 1.
    """
    batch_size = checks.positive_int("batch_size", batch_size)
    images = np.asarray(images)
    if images.ndim != 4 or len(images) == 0 or images.shape[-1] != 3:
        raise ValueError(f"images must be an array of shape (N, H, W, 3) with N >= 1, got shape {images.shape}")
    if cache_dir is None:
        from cvtutor.data.cache import cache_dir as default_cache

        cache_dir = default_cache() / "features"
    path = Path(cache_dir) / f"features-{_fingerprint(extractor, images)}.npy"
    if path.is_file():
        features = np.load(path)
        if features.shape[0] == len(images):
            return features, path, False
    scaled = images.astype("float32") / 255.0 if images.dtype == np.uint8 else images.astype("float32")
    features = np.asarray(extractor.predict(scaled, batch_size=batch_size, verbose=0), dtype="float32")
    from cvtutor.files import atomic_path

    with atomic_path(path, suffix=".npy") as tmp:
        np.save(tmp, features)
    return features, path, True


def build_head(feature_dim: int, num_classes: int = 10):
    """A linear head: pooled features ``(N, feature_dim)`` to logits ``(N, num_classes)``.

    One ``Dense`` layer named ``"logits"``: ``feature_dim * num_classes + num_classes`` parameters.
    """
    feature_dim = checks.positive_int("feature_dim", feature_dim)
    num_classes = checks.scalar("num_classes", num_classes, numbers.Integral, minimum=2)
    inputs = keras.Input((feature_dim,), name="features")
    return keras.Model(inputs, keras.layers.Dense(num_classes, name="logits")(inputs), name="linear_head")


def build_classifier(pretrained: Pretrained, input_shape=(32, 32, 3), num_classes: int = 10, *,
                     freeze: bool = False, head=None):
    """The backbone with a linear head: images in [0, 1] ``(N, H, W, 3)`` to logits ``(N, num_classes)``.

    The model's layers are the converter's resize and scaling, the backbone (layer name: its own,
    ``pretrained.backbone.name``), average pooling and the ``"logits"`` head. Unless ``freeze``,
    every layer of the backbone trains, its batch normalisation included (batch statistics while
    training; :func:`cvtutor.training.fit` re-estimates the moving ones on the training images at
    the end). Freezing only the batch-normalisation layers, as the Keras guide to fine-tuning
    suggests for small data sets, does not survive saving: a KerasHub backbone is rebuilt from its
    constructor's arguments when loaded, its layers' ``trainable`` flags are lost, and the loaded
    model's batch-norm statistics and outputs differ from the saved one's (KerasHub 0.32, Keras
    3.15). ``pretrained.backbone`` is changed in place and shared with the model.

    Args:
        pretrained: from :func:`load_pretrained`.
        input_shape: the images' (H, W, 3).
        num_classes: outputs.
        freeze: make the backbone untrainable (linear probing end to end).
        head: a trained :func:`build_head` model whose weights the head starts from (fine-tuning
            after linear probing); None: a fresh head.

    Returns:
        an uncompiled ``keras.Model``; compile it with a :class:`BackboneRateAdam` for a lower
        backbone learning rate.
    """
    num_classes = checks.scalar("num_classes", num_classes, numbers.Integral, minimum=2)
    pretrained.backbone.trainable = not freeze
    inputs = keras.Input(tuple(input_shape), name="images")
    x = pretrained.converter(_pixels_0_255()(inputs))
    x = pretrained.backbone(x)
    x = keras.layers.GlobalAveragePooling2D(name="pool")(x)
    dense = keras.layers.Dense(num_classes, name="logits")
    outputs = dense(x)
    if head is not None:
        dense.set_weights(head.get_layer("logits").get_weights())
    return keras.Model(inputs, outputs, name=f"{pretrained.name}_classifier")


def classifier_multiply_adds(pretrained: Pretrained, num_classes: int = 10) -> int:
    """Multiply-adds per image of :func:`build_classifier`'s model (:func:`cvtutor.flops.multiply_adds`).

    A KerasHub backbone accepts any image size, so its own graph has unknown sizes; this counts
    a copy built from its config for ``image_size`` x ``image_size`` images (the weights do not
    change the count), plus the head's ``feature_dim * num_classes``. Resizing and pixel scaling
    count zero, as element-wise work does there.
    """
    from cvtutor.flops import multiply_adds

    size = pretrained.image_size
    config = {**pretrained.backbone.get_config(), "image_shape": (size, size, 3)}
    sized = type(pretrained.backbone).from_config(config)
    return int(multiply_adds(sized)) + pretrained.feature_dim * int(num_classes)


def backbone_variable_paths(model) -> list:
    """The paths of ``model``'s trainable variables that belong to a KerasHub backbone inside it."""
    import keras_hub

    paths = []
    for layer in model.layers:
        if isinstance(layer, keras_hub.models.Backbone):
            paths += [v.path for v in layer.trainable_weights]
    return paths


class _BackboneRate:
    """Mixin: variables whose path is in ``backbone_paths`` learn at ``backbone_scale`` times the rate."""

    def __init__(self, *args, backbone_paths=(), backbone_scale=0.1, **kwargs):
        super().__init__(*args, **kwargs)
        self.backbone_paths = tuple(backbone_paths)
        self.backbone_scale = checks.scalar("backbone_scale", backbone_scale, minimum=0)
        self._slow = frozenset(self.backbone_paths)

    def build(self, variables):
        super().build(variables)
        # the keys the backend's update step knows its variables by (TensorFlow passes tf.Variables)
        self._slow_keys = frozenset(self._var_key(v) for v in variables if v.path in self._slow)

    def update_step(self, gradient, variable, learning_rate):
        if self._var_key(variable) in self._slow_keys:
            learning_rate = learning_rate * self.backbone_scale
        return super().update_step(gradient, variable, learning_rate)

    def get_config(self):
        config = super().get_config()
        config.update(backbone_paths=list(self.backbone_paths), backbone_scale=self.backbone_scale)
        return config


@keras.saving.register_keras_serializable(package="cvtutor")
class BackboneRateAdam(_BackboneRate, keras.optimizers.Adam):
    """Adam whose backbone variables learn at ``backbone_scale`` times the (scheduled) rate.

    Args:
        backbone_paths: paths of the variables that learn slower (:func:`backbone_variable_paths`).
        backbone_scale: their rate divided by the head's (e.g. 0.1), at least 0.
        *args: ``keras.optimizers.Adam``'s arguments (``learning_rate``: the head's rate).
        **kwargs: its keyword arguments.
    """


@keras.saving.register_keras_serializable(package="cvtutor")
class BackboneRateSGD(_BackboneRate, keras.optimizers.SGD):
    """SGD whose backbone variables learn at ``backbone_scale`` times the (scheduled) rate.

    Args:
        backbone_paths, backbone_scale: as :class:`BackboneRateAdam`.
        *args: ``keras.optimizers.SGD``'s arguments.
        **kwargs: its keyword arguments.
    """


def reading(weights: str, labels, probe, tuned, scratch, noise: float):
    """What the chapter's comparison says, decided from the numbers (English and Chinese).

    Args:
        weights: ``Pretrained.weights`` of the backbone that ran (``"random"``: the local
            stand-in, whose numbers say nothing about pre-training).
        labels: labelled images per class, increasing.
        probe, tuned, scratch: test accuracy in percent per label budget of linear probing, full
            fine-tuning and the from-scratch CNN.
        noise: the difference that counts, in points (e.g. two standard errors of a difference
            between two accuracies on the test images).

    Returns:
        a :class:`cvtutor.verdicts.Sentence`; ``holds`` when fine-tuning beat training from scratch
        by more than ``noise`` with the fewest labels.

    Raises:
        TypeError: a label budget that is not an integer, or a ``noise`` that is not a number.
        ValueError: a budget below 1, a negative ``noise``, or not one accuracy per budget in
            ``probe``, ``tuned`` and ``scratch``.
    """
    from cvtutor.verdicts import Sentence

    labels = [checks.scalar("labels", k, numbers.Integral, minimum=1) for k in labels]
    probe, tuned, scratch = (np.asarray(a, dtype=float) for a in (probe, tuned, scratch))
    if not labels or not (len(labels) == len(probe) == len(tuned) == len(scratch)):
        raise ValueError("labels, probe, tuned and scratch must have one entry per label budget")
    noise = checks.scalar("noise", noise, minimum=0)
    lead = tuned[0] - scratch[0]
    holds = bool(lead > noise)
    if weights == "random":
        return Sentence(holds, (
            "These numbers come from the stand-in backbone with random weights, not from ImageNet pre-training: "
            "they show that the code runs, not what pre-training buys. Run the page with internet access to "
            "measure ResNet-18's own weights."), (
            "这些数字来自随机权重的替身骨干网络，而不是 ImageNet 预训练：它们说明代码能运行，而不能说明预训练带来什么。"
            "在能联网的环境中运行本页，即可测得 ResNet-18 自己权重的结果。"))
    few, most = labels[0], labels[-1]
    if holds:
        en = (f"With {few} labels per class the fine-tuned backbone beat training from scratch by {lead:.1f} "
              f"points, more than the noise of {noise:.1f}: pre-training pays most where labels are few.")
        zh = (f"每类 {few} 个标签时，微调后的骨干网络比从头训练高出 {lead:.1f} 个百分点，超过 {noise:.1f} 的噪声："
              f"标签越少，预训练越划算。")
    else:
        en = (f"With {few} labels per class the fine-tuned backbone did not beat training from scratch by more "
              f"than the noise of {noise:.1f} points ({lead:+.1f}).")
        zh = f"每类 {few} 个标签时，微调后的骨干网络领先从头训练的幅度没有超过 {noise:.1f} 个百分点的噪声（{lead:+.1f}）。"
    gap = tuned[-1] - probe[-1]
    if gap > noise:
        en += (f" With {most} labels per class full fine-tuning was {gap:.1f} points ahead of linear probing: "
               f"worth its cost where the labels and the compute are there.")
        zh += f"每类 {most} 个标签时，完整微调比线性探测高 {gap:.1f} 个百分点：有足够的标签和算力时，值得付出它的代价。"
    elif gap < -noise:
        en += (f" With {most} labels per class linear probing was {-gap:.1f} points ahead of full fine-tuning: "
               f"too few steps, or too high a rate, disturb the pre-trained features.")
        zh += (f"每类 {most} 个标签时，线性探测反而比完整微调高 {-gap:.1f} 个百分点：步数太少或学习率太高，"
               f"都会扰乱预训练的特征。")
    else:
        en += (f" With {most} labels per class linear probing came within the noise of full fine-tuning "
               f"({gap:+.1f} points), for a fraction of the compute.")
        zh += f"每类 {most} 个标签时，线性探测与完整微调相差在噪声之内（{gap:+.1f} 个百分点），而算力只用了一小部分。"
    return Sentence(holds, en, zh)
