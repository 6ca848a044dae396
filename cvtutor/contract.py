"""The model file carries its contract: class names, input preprocessing, logits or probabilities.

A model trained on a reader's own folders must say, by itself, what its
outputs mean and what it expects as input; otherwise ``cvtutor predict``
would have to guess (CIFAR-10's ten names, 32x32 RGB) and could be silently
wrong. The contract travels *inside* the ``.keras`` file as the last layer of
the model, :class:`ModelContract`: a registered layer that passes its input
through unchanged (no weights, no computation) and keeps the contract in its
``get_config``. So it survives :func:`cvtutor.modelfiles.save_model` and plain
``model.save`` / ``keras.saving.load_model`` alike (after ``import cvtutor``
or ``import cvtutor.layers``, which register it), on the TensorFlow and the
JAX backend (only ``keras`` is used here, no ``tf.*``)::

    model = attach_contract(model, Contract(("cat", "dog"), image_size=(64, 64)))
    model.save("pets.keras")
    ...
    model = keras.saving.load_model("pets.keras")
    read_contract(model).class_names        # ('cat', 'dog')
    predict_probabilities(model, images)    # (N, 2), rows sum to 1

A model saved by plain Keras without a contract still works through
:func:`infer_contract`: its input size and channels come from its input
shape, a final softmax (or sigmoid on one output) means its outputs are
probabilities already (never softmaxed twice), a leading ``Rescaling`` layer
means it takes raw 0..255 pixels, ten outputs get CIFAR-10's names and any
other count the names given or numbered ones, each guess with a one-line note.
"""

from __future__ import annotations

import dataclasses
import json
import math

import keras
import numpy as np

from cvtutor import checks

__all__ = [
    "Contract",
    "ModelContract",
    "attach_contract",
    "contract_layer",
    "read_contract",
    "infer_contract",
    "model_contract",
    "predict_probabilities",
    "OUTPUT_KINDS",
]

#: What a model's outputs can be, as a contract states it.
OUTPUT_KINDS = ("logits", "probabilities")
# What cvtutor's input pipeline does (cvtutor.data.make_dataset): float32 pixels in [0, 1].
UNIT_SCALE = 1.0 / 255.0


@dataclasses.dataclass(frozen=True)
class Contract:
    """What a classifier takes and what its outputs mean.

    The model's input is ``pixels * pixel_scale + pixel_offset`` for uint8
    pixels of shape ``(N, image_size[0], image_size[1], channels)``; its
    output is ``(N, len(class_names))`` logits or probabilities, column ``k``
    standing for ``class_names[k]``. (A binary model with a single output
    column, ``(N, 1)``, stands for the second class of two.)

    Attributes:
        class_names: the class names, in output order (2 or more, distinct, non-empty).
        image_size: ``(height, width)`` in pixels that the model takes.
        channels: 1 (grayscale) or 3 (RGB).
        outputs: ``"logits"`` (softmax them for probabilities) or
            ``"probabilities"`` (already softmaxed: rows sum to 1).
        pixel_scale, pixel_offset: how uint8 pixels become the model's
            input; the default ``1/255, 0`` is cvtutor's ``make_dataset``
            ([0, 1]); ``1, 0`` means raw 0..255 pixels (the model rescales
            them itself).

    Raises:
        TypeError: a field of the wrong kind (``class_names`` not a list or tuple of strings,
            ``image_size`` not two integers, a pixel field not a number...).
        ValueError: a field of the right kind that breaks the rules above. Both messages say
            which field, what was expected and what arrived.
    """

    class_names: tuple
    image_size: tuple
    channels: int = 3
    outputs: str = "logits"
    pixel_scale: float = UNIT_SCALE
    pixel_offset: float = 0.0

    def __post_init__(self):
        names = checks.instance("class_names", self.class_names, (list, tuple), "a list of strings")
        if not all(isinstance(n, str) for n in names):
            raise TypeError(f"class_names must be a list of strings, got {checks.describe(names)}")
        names = tuple(names)
        if len(names) < 2 or not all(n.strip() for n in names):
            raise ValueError(f"class_names must be 2 or more non-empty strings, got {list(names)!r}")
        if len(set(names)) != len(names):
            repeated = sorted({n for n in names if names.count(n) > 1})
            raise ValueError(f"class_names must be distinct, got {repeated} more than once")
        size = checks.integers("image_size", self.image_size, 2, minimum=1, expected="(height, width)")
        channels = checks.one_of("channels", self.channels, (1, 3))
        checks.one_of("outputs", self.outputs, OUTPUT_KINDS)
        finite = {"minimum": -math.inf, "maximum": math.inf, "include_minimum": False, "include_maximum": False}
        scale = checks.scalar("pixel_scale", self.pixel_scale, **finite)
        offset = checks.scalar("pixel_offset", self.pixel_offset, **finite)
        if scale == 0:
            raise ValueError("pixel_scale must be a finite number other than 0, got 0.0")
        object.__setattr__(self, "class_names", names)
        object.__setattr__(self, "image_size", size)
        object.__setattr__(self, "channels", channels)
        object.__setattr__(self, "pixel_scale", scale)
        object.__setattr__(self, "pixel_offset", offset)

    @property
    def num_classes(self) -> int:
        """``len(class_names)``."""
        return len(self.class_names)

    @property
    def input_shape(self) -> tuple[int, int, int]:
        """``(height, width, channels)`` of one image."""
        return (*self.image_size, self.channels)

    def to_dict(self) -> dict:
        """The fields as JSON-ready values (lists for tuples)."""
        return {"class_names": list(self.class_names), "image_size": list(self.image_size),
                "channels": self.channels, "outputs": self.outputs,
                "pixel_scale": self.pixel_scale, "pixel_offset": self.pixel_offset}

    @classmethod
    def from_dict(cls, data: dict) -> "Contract":
        """The inverse of :meth:`to_dict`.

        Raises:
            TypeError: ``data`` is not a dict, or a field is of the wrong kind (as :class:`Contract`).
            ValueError: ``data`` has keys that are not fields, or a field breaks a rule of
                :class:`Contract`.
        """
        fields = {f.name for f in dataclasses.fields(cls)}
        checks.instance("data", data, dict, "a dict of a contract's fields")
        if set(data) - fields:
            raise ValueError(f"a contract has the fields {sorted(fields)}, got unknown {sorted(set(data) - fields)}")
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in data.items()})

    def describe(self) -> str:
        """One line: classes, input and outputs."""
        names = ", ".join(self.class_names[:12]) + (", ..." if self.num_classes > 12 else "")
        color = "RGB" if self.channels == 3 else "grayscale"
        return (f"{self.num_classes} classes ({names}); input {self.image_size[0]}x{self.image_size[1]} {color}; "
                f"outputs {self.outputs}")

    def prepare(self, images) -> np.ndarray:
        """uint8 images as the model's float32 input.

        Args:
            images: uint8 array ``(N, height, width, channels)`` matching :attr:`input_shape`.

        Returns:
            numpy.ndarray: float32, of the same shape, ``images * pixel_scale + pixel_offset``.

        Raises:
            ValueError: wrong dtype or shape (the message gives both).
        """
        images = np.asarray(images)
        if images.dtype != np.uint8 or images.ndim != 4 or images.shape[1:] != self.input_shape:
            raise ValueError(f"the model takes uint8 images of shape (N, {', '.join(map(str, self.input_shape))}), "
                             f"got {images.dtype} {images.shape}")
        return images.astype(np.float32) * np.float32(self.pixel_scale) + np.float32(self.pixel_offset)

    def to_probabilities(self, outputs) -> np.ndarray:
        """The model's raw outputs as class probabilities.

        Args:
            outputs: ``(N, num_classes)`` logits or probabilities, as
                ``outputs`` says; ``(N, 1)`` for a single-output binary model.

        Returns:
            float64 ``(N, num_classes)``, each row summing to 1: a softmax of
            logits (a sigmoid of a single logit), probabilities passed through.

        Raises:
            ValueError: the outputs' width is not the number of classes.
        """
        outputs = np.asarray(outputs, dtype=np.float64)
        width = outputs.shape[-1] if outputs.ndim == 2 else None
        if width == 1 and self.num_classes == 2:
            p = 1.0 / (1.0 + np.exp(-outputs[:, 0])) if self.outputs == "logits" else outputs[:, 0]
            return np.stack([1.0 - p, p], axis=1)
        if width != self.num_classes:
            raise ValueError(f"the model's outputs must be (N, {self.num_classes}) for its {self.num_classes} classes, "
                             f"got shape {outputs.shape}")
        if self.outputs == "probabilities":
            return outputs
        shifted = np.exp(outputs - outputs.max(axis=1, keepdims=True))
        return shifted / shifted.sum(axis=1, keepdims=True)


# The key of a saved contract's metadata that names the cvtutor version that wrote the file.
WRITER_KEY = "cvtutor_version"


@keras.saving.register_keras_serializable(package="cvtutor")
class ModelContract(keras.layers.Layer):
    """A pass-through layer that carries a :class:`Contract` (and free-form metadata) inside a model file.

    It returns its input unchanged and has no weights; its ``get_config``
    holds the contract, so ``model.save`` writes it into the ``.keras`` file
    and ``keras.saving.load_model`` restores it. Put it last, with
    :func:`attach_contract`.

    Args:
        class_names, image_size, channels, outputs, pixel_scale, pixel_offset:
            the fields of :class:`Contract`.
        metadata: a JSON-serializable dict kept alongside, e.g. how the model
            was trained (``cvtutor train`` keeps its settings and the epochs
            done there, so that ``--resume`` can continue a finished run).
        **kwargs: base layer arguments (``name``, ...).

    Call arguments:
        inputs: the model's outputs, any shape.

    Returns:
        ``inputs``, unchanged (no dtype cast either).

    Raises:
        TypeError: a contract field is of the wrong kind (as :class:`Contract`), or ``metadata``
            is not a dict (nor None).
        ValueError: a contract field is invalid, or ``metadata`` is not JSON-serializable.
    """

    def __init__(self, class_names, image_size, channels=3, outputs="logits", pixel_scale=UNIT_SCALE,
                 pixel_offset=0.0, metadata=None, **kwargs):
        kwargs.setdefault("name", "contract")
        super().__init__(autocast=False, **kwargs)
        self.contract = Contract(tuple(class_names), tuple(image_size), channels, outputs, pixel_scale, pixel_offset)
        if isinstance(metadata, dict) and WRITER_KEY in metadata:  # from a file: who wrote it, kept apart
            metadata = {k: v for k, v in metadata.items() if k != WRITER_KEY}
        self.metadata = metadata

    @property
    def metadata(self) -> dict:
        """The free-form JSON dict kept with the contract (a copy; assign a new dict to change it).

        Raises:
            TypeError: (on assignment) a value that is neither a dict nor None.
            ValueError: (on assignment) a dict that is not JSON-serializable.
        """
        return json.loads(json.dumps(self._metadata))

    @metadata.setter
    def metadata(self, value) -> None:
        value = {} if value is None else value
        checks.instance("metadata", value, dict, "a JSON-serializable dict")
        try:
            json.dumps(value)
        except (TypeError, ValueError) as e:
            raise ValueError(f"metadata must be JSON-serializable ({e})") from None
        self._metadata = json.loads(json.dumps(value))

    def call(self, inputs):
        return inputs

    def compute_output_shape(self, input_shape):
        return input_shape

    def compute_output_spec(self, inputs):
        return keras.KerasTensor(inputs.shape, dtype=inputs.dtype)

    def get_config(self):
        # The cvtutor that writes the file goes into its metadata (an argument every version takes): an
        # older cvtutor that cannot read the file can then say which version wrote it
        # (cvtutor.modelfiles.load_model). Loading takes it out again.
        from cvtutor import __version__

        return {**super().get_config(), **self.contract.to_dict(),
                "metadata": {**self.metadata, WRITER_KEY: __version__}}


def _single_io(model) -> bool:
    """True for a model with a functional graph of one input and one output (functional, Sequential)."""
    try:
        return len(model.inputs) == 1 and len(model.outputs) == 1
    except (AttributeError, ValueError):
        return False


def _producer(tensor):
    """The layer (operation) that made a symbolic tensor, or None."""
    history = getattr(tensor, "_keras_history", None)
    return history[0] if history else None


def _final_layer(model):
    """The layer that makes ``model``'s output, looking inside nested models."""
    layer = _producer(model.outputs[0]) if _single_io(model) else None
    if layer is None and getattr(model, "layers", None):
        layer = model.layers[-1]
    if isinstance(layer, keras.Model) and layer is not model:
        return _final_layer(layer)
    return layer


def contract_layer(model) -> ModelContract | None:
    """The :class:`ModelContract` layer that makes ``model``'s output, or None.

    Args:
        model: a ``keras.Model``.

    Returns:
        the layer (its ``contract`` and ``metadata`` attributes), or None for
        a model without a contract.

    Raises:
        TypeError: ``model`` is not a ``keras.Model``.
    """
    checks.instance("model", model, keras.Model, "a keras.Model")
    layer = _final_layer(model)
    return layer if isinstance(layer, ModelContract) else None


def read_contract(model) -> Contract | None:
    """The contract a model carries, or None if it carries none (see :func:`infer_contract`).

    Raises:
        TypeError: ``model`` is not a ``keras.Model``.
    """
    layer = contract_layer(model)
    return None if layer is None else layer.contract


def _input_shape(model) -> tuple:
    try:
        shape = tuple(model.inputs[0].shape) if _single_io(model) else tuple(model.input_shape)
    except (AttributeError, ValueError, TypeError):
        raise ValueError(f"model '{model.name}' has no known input shape (build it, or give it a keras.Input)") from None
    if len(shape) != 4:
        raise ValueError(f"model '{model.name}' must take images (N, height, width, channels), "
                         f"but its input shape is {shape}")
    if shape[1] is None or shape[2] is None:
        raise ValueError(f"model '{model.name}' takes images of any size (input shape {shape}); "
                         "cvtutor needs a fixed height and width to resize images to")
    return shape


def _output_width(model) -> int:
    try:
        shape = tuple(model.outputs[0].shape) if _single_io(model) else tuple(model.output_shape)
    except (AttributeError, ValueError, TypeError):
        raise ValueError(f"model '{model.name}' has no known output shape") from None
    if len(shape) != 2 or shape[1] is None:
        raise ValueError(f"model '{model.name}' must output (N, classes) scores, but its output shape is {shape}")
    return int(shape[1])


def _check_output_width(model, contract: Contract) -> None:
    width = _output_width(model)
    if width != contract.num_classes and not (width == 1 and contract.num_classes == 2):
        raise ValueError(f"model '{model.name}' has {width} outputs but the contract names "
                         f"{contract.num_classes} classes")


def attach_contract(model, contract: Contract, metadata: dict | None = None):
    """``model`` with a :class:`ModelContract` as its last layer (replacing any it had).

    Args:
        model: a ``keras.Model`` taking ``(N, *contract.input_shape)`` and
            returning ``(N, contract.num_classes)``.
        contract: what to record.
        metadata: JSON-serializable dict to keep alongside (see :class:`ModelContract`).

    Returns:
        a new, uncompiled ``keras.Model`` with the same name, sharing all
        layers and weights with ``model``; its outputs equal ``model``'s.
        Compile it before training.

    Raises:
        TypeError: ``contract`` is not a :class:`Contract`, ``model`` not a ``keras.Model``, or
            ``metadata`` not a dict.
        ValueError: the contract does not fit the model's input or output shape, or ``metadata``
            is not JSON-serializable.
    """
    checks.instance("contract", contract, Contract, "a cvtutor.contract.Contract")
    checks.instance("model", model, keras.Model, "a keras.Model")
    layer = ModelContract(**contract.to_dict(), metadata=metadata)
    if _single_io(model):
        shape = _input_shape(model)
        if tuple(shape[1:]) != contract.input_shape:
            raise ValueError(f"model '{model.name}' takes images of shape {tuple(shape[1:])}, "
                             f"but the contract says {contract.input_shape}")
        _check_output_width(model, contract)
        outputs = model.outputs[0]
        old = _producer(outputs)
        if isinstance(old, ModelContract):
            outputs = old.input
        return keras.Model(model.inputs[0], layer(outputs), name=model.name)
    inputs = keras.Input(contract.input_shape)
    outputs = model(inputs)
    wrapped = keras.Model(inputs, layer(outputs), name=model.name)
    _check_output_width(wrapped, contract)
    return wrapped


def _activation_name(layer) -> str:
    if isinstance(layer, keras.layers.Softmax):
        return "softmax"
    activation = getattr(layer, "activation", None)
    name = getattr(activation, "__name__", "") or ""
    # tf.nn.softmax is called softmax_v2; log_softmax stays logits (softmaxing log-probabilities gives them back).
    return "softmax" if name in ("softmax", "softmax_v2") else name


def _first_layer(model):
    layers = [layer for layer in getattr(model, "layers", []) if not isinstance(layer, keras.layers.InputLayer)]
    if not layers:
        return None
    first = layers[0]
    return _first_layer(first) if isinstance(first, keras.Model) else first


def infer_contract(model, class_names=None) -> tuple[Contract, list[str]]:
    """A contract for a model saved without one, read from its structure, with notes on each guess.

    - input size and channels: from the model's input shape;
    - logits or probabilities: probabilities if the layer that makes the
      output is a ``Softmax`` layer or has a softmax activation (or a sigmoid
      on a single output), else logits;
    - pixel scaling: raw 0..255 pixels if the first layer is a ``Rescaling``
      layer (the model scales them itself, as Keras' tutorials build
      models), else [0, 1] as cvtutor's pipeline feeds;
    - class names: ``class_names`` if given; else CIFAR-10's for 10 outputs;
      else ``"class 0"``, ``"class 1"``, ...

    Args:
        model: a ``keras.Model`` taking ``(N, H, W, C)`` images with fixed H, W.
        class_names: the names of the model's classes, in output order, or None.

    Returns:
        ``(contract, notes)``: notes are one-line sentences on what was
        guessed rather than read (empty when nothing was).

    Raises:
        ValueError: the model does not take fixed-size images or does not
            output ``(N, classes)``; ``class_names`` does not match the outputs.
    """
    from cvtutor.data import CLASS_NAMES

    shape = _input_shape(model)
    width = _output_width(model)
    num_classes = 2 if width == 1 else width
    notes = []
    final = _final_layer(model)
    activation = _activation_name(final)
    probabilities = activation == "softmax" or (width == 1 and activation == "sigmoid")
    if probabilities:
        notes.append(f"the model ends in a {activation}: its outputs are taken as probabilities, not softmaxed again")
    scale = UNIT_SCALE
    if isinstance(_first_layer(model), keras.layers.Rescaling):
        scale = 1.0
        notes.append("the model's first layer is a Rescaling layer: it is given raw 0..255 pixels")
    if class_names is not None:
        class_names = tuple(class_names)
        if len(class_names) != num_classes:
            raise ValueError(f"model '{model.name}' has {num_classes} classes, but {len(class_names)} class names "
                             f"were given: {list(class_names)}")
    elif num_classes == len(CLASS_NAMES):
        class_names = CLASS_NAMES
        notes.append("the model names no classes; its 10 outputs get CIFAR-10's class names")
    else:
        class_names = tuple(f"class {i}" for i in range(num_classes))
        notes.append(f"the model names no classes; its {num_classes} outputs are called 'class 0'..'class "
                     f"{num_classes - 1}' (name them with --classes a,b,c)")
    if shape[3] not in (1, 3):
        raise ValueError(f"model '{model.name}' takes {shape[3]}-channel images; cvtutor feeds 1 (grayscale) or 3 (RGB)")
    contract = Contract(class_names, (int(shape[1]), int(shape[2])), int(shape[3]),
                        "probabilities" if probabilities else "logits", scale, 0.0)
    return contract, notes


def model_contract(model, class_names=None) -> tuple[Contract, list[str]]:
    """The model's own contract, or one inferred from its structure (:func:`infer_contract`).

    Args:
        model: a ``keras.Model``.
        class_names: names for a model without a contract; for a model that
            names its classes itself they must be the same names, or None.

    Returns:
        ``(contract, notes)``; notes is empty for a model that carries its contract.

    Raises:
        ValueError: ``class_names`` given for a model that has its own, or as
            :func:`infer_contract`.
    """
    contract = read_contract(model)
    if contract is None:
        return infer_contract(model, class_names)
    if class_names is not None and tuple(class_names) != contract.class_names:
        raise ValueError(f"model '{model.name}' names its classes itself ({', '.join(contract.class_names)}); "
                         f"do not pass other class names ({', '.join(class_names)})")
    _check_output_width(model, contract)
    return contract, []


def predict_probabilities(model, images, contract: Contract | None = None, batch_size: int = 256) -> np.ndarray:
    """Class probabilities of uint8 images, preprocessed as the model's contract says.

    Runs batch by batch (``model.predict_on_batch``), so memory stays at one
    batch of float32 images; backend-neutral (no ``tf.data``).

    Args:
        model: a ``keras.Model``.
        images: uint8 ``(N, height, width, channels)`` matching the contract's input.
        contract: the model's contract; default :func:`model_contract` of ``model``.
        batch_size: images per forward pass.

    Returns:
        float64 ``(N, num_classes)``, rows summing to 1 (softmax applied to
        logits only, never to probabilities).

    Raises:
        ValueError: images of the wrong dtype or shape (see :meth:`Contract.prepare`); outputs that are
            not finite numbers (NaN or infinity: weights broken, e.g. by a training run that diverged),
            which would otherwise read as confident predictions of the first class.
    """
    if contract is None:
        contract, _ = model_contract(model)
    batch_size = checks.positive_int("batch_size", batch_size)
    images = np.asarray(images)
    if len(images) == 0:
        contract.prepare(images)  # still checks dtype and shape
        return np.zeros((0, contract.num_classes))
    outputs = np.concatenate([np.asarray(model.predict_on_batch(contract.prepare(images[i:i + batch_size])))
                              for i in range(0, len(images), batch_size)])
    broken = int((~np.isfinite(outputs)).any(axis=1).sum())
    if broken:
        raise ValueError(f"the model's outputs are not finite numbers (NaN or infinity) for {broken} of "
                         f"{len(outputs)} images: its weights are broken, e.g. by a training run that diverged; "
                         f"train it again with a lower learning rate")
    return contract.to_probabilities(outputs)
