"""Transfer learning: reuse a trained model's layers, train a new head, then fine-tune.

The recipe of the Keras guide "Transfer learning & fine-tuning"::

    model = with_new_head(trained_cnn, num_classes=2)   # reused layers frozen
    compile_model(model); fit(model, ...)               # trains the head only
    unfreeze(model)                                     # then fine-tune everything
    compile_model(model, learning_rate=1e-5); fit(model, ...)  # recompile first!

The new models share their layers (and so their weights) with the model they
came from, as in the Keras guide: freezing or training them changes that
model too. Keras reads ``trainable`` when a model is compiled, so compile
again after every change of it.

Only functional (or ``Sequential``) models with one input and one output
qualify, which all of :mod:`cvtutor.models` are.
"""

from __future__ import annotations

import numbers

import keras

from cvtutor import checks

__all__ = ["feature_extractor", "fine_tuning", "unfreeze", "with_new_head"]


def _get_layer(model, name, argument="layer_name"):
    names = [layer.name for layer in model.layers]
    checks.instance(argument, name, str, "a layer's name")
    if name not in names:
        raise ValueError(f"{argument} {name!r} is not a layer of model '{model.name}'; its layers are {names}")
    return model.get_layer(name)


def feature_extractor(model, layer_name=None):
    """The part of ``model`` from its input up to a feature layer.

    Args:
        model: a functional ``keras.Model`` returning logits.
        layer_name: the layer whose output is the features. Default: the
            input of the model's last layer with weights, i.e. everything but
            the classifier and any weightless layers after it (for
            :func:`cvtutor.models.build_cnn`, the 64 Dense features; for
            ``build_resnet``, the pooled features before its scaled classifier).

    Returns:
        a ``keras.Model`` named ``"<model>_features"`` that shares its layers
        and weights with ``model``; its output shape is that of the chosen
        layer, e.g. ``(N, 64)``.

    Raises:
        TypeError: ``model`` is not a ``keras.Model``, or ``layer_name`` not a string.
        ValueError: ``model`` has not one input and one output, ``layer_name`` names none of
            its layers, or (without ``layer_name``) its output is not made by its last layer.
    """
    checks.functional_model("model", model)
    if layer_name is None:
        weighted = [layer for layer in model.layers if layer.weights]
        last = weighted[-1] if weighted else model.layers[-1]
        if model.layers[-1].output is not model.outputs[0] or isinstance(last, keras.layers.InputLayer):
            raise ValueError(
                f"the output of model '{model.name}' is not made by its last layer; pass layer_name "
                f"(its layers are {[layer.name for layer in model.layers]})"
            )
        features = last.input
    else:
        features = _get_layer(model, layer_name).output
    return keras.Model(model.inputs[0], features, name=f"{model.name}_features")


def with_new_head(model, num_classes, freeze=True, layer_name=None):
    """``model``'s feature layers with a fresh ``Dense(num_classes)`` logits head.

    Feature maps ``(N, H, W, C)`` and token sequences ``(N, T, C)`` are
    averaged over their positions first (global average pooling), so the
    head sees ``(N, C)``.

    Args:
        model: a trained functional ``keras.Model``.
        num_classes: logits of the new head (an integer >= 2).
        freeze: make the reused layers non-trainable, so that training
            changes only the head. They are layers of ``model`` too.
        layer_name: the feature layer, as in :func:`feature_extractor`.

    Returns:
        an uncompiled ``keras.Model`` named ``"<model>_transfer"`` returning
        logits ``(N, num_classes)``; its last layer is the new ``"logits"``
        head. Compile it before training.

    Raises:
        TypeError: ``num_classes`` is not an integer, or as :func:`feature_extractor`.
        ValueError: ``num_classes`` is below 2, the features' rank is not 2, 3 or 4, or as
            :func:`feature_extractor`.
    """
    num_classes = checks.scalar("num_classes", num_classes, numbers.Integral, minimum=2)
    features = feature_extractor(model, layer_name)
    if freeze:
        for layer in features.layers:
            layer.trainable = False
    x = features.outputs[0]
    if len(x.shape) == 4:
        x = keras.layers.GlobalAveragePooling2D(name="head_pool")(x)
    elif len(x.shape) == 3:
        x = keras.layers.GlobalAveragePooling1D(name="head_pool")(x)
    elif len(x.shape) != 2:
        raise ValueError(f"features must have rank 2, 3 or 4 (batch first), got shape {tuple(x.shape)}")
    outputs = keras.layers.Dense(int(num_classes), name="logits")(x)
    return keras.Model(features.inputs[0], outputs, name=f"{model.name}_transfer")


def unfreeze(model, from_layer=None):
    """Make layers trainable again, for fine-tuning.

    Fine-tune with a small learning rate (e.g. 1e-5 with Adam) once the new
    head has been trained, or its random gradients wreck the reused features.
    **Compile the model again afterwards**: Keras reads ``trainable`` when it
    compiles. ``BatchNormalization`` layers are unfrozen too; the Keras guide
    keeps them frozen (inference mode) when fine-tuning on little data.

    Args:
        model: a ``keras.Model``, e.g. from :func:`with_new_head`.
        from_layer: name of the first layer to unfreeze; it and every layer
            after it (in ``model.layers`` order) become trainable, the earlier
            ones are left as they are. Default: every layer.

    Returns:
        ``model`` itself (changed in place), to be compiled again.

    Raises:
        TypeError: ``model`` is not a ``keras.Model``, or ``from_layer`` not a string.
        ValueError: ``from_layer`` names none of ``model``'s layers.
    """
    checks.instance("model", model, keras.Model, "a keras.Model")
    start = 0 if from_layer is None else model.layers.index(_get_layer(model, from_layer, "from_layer"))
    flags = [layer.trainable for layer in model.layers]
    # Setting a model's flag sets its layers' flags too; then the layers before
    # ``from_layer`` get theirs back. Keras on TensorFlow skips assigning a flag
    # the value it already has (sublayers untouched), hence False first.
    model.trainable = False
    model.trainable = True
    for layer, flag in zip(model.layers[:start], flags[:start]):
        layer.trainable = flag
    return model


def fine_tuning(model, num_classes, *, head_epochs, learning_rate: float = 1e-3,
                fine_tune_learning_rate: float = 1e-4, seed: int = 0, contract=None):
    """The two stages of fine-tuning a trained model, as :func:`cvtutor.resume.train_to_file` runs
    them (what ``cvtutor train --from MODEL.keras`` trains): a new head on frozen layers
    (:func:`with_new_head`) until epoch ``head_epochs``, then every layer (:func:`unfreeze`) at the
    lower ``fine_tune_learning_rate``, compiled again, as the Keras guide "Transfer learning &
    fine-tuning" does (https://keras.io/guides/transfer_learning/).

    Args:
        model: the trained functional ``keras.Model`` whose layers are reused.
        num_classes: outputs of the new head.
        head_epochs: epochs of the first stage, counted from the run's start.
        learning_rate: Adam's learning rate for the head.
        fine_tune_learning_rate: Adam's learning rate once every layer trains.
        seed: seeds the new head's weights.
        contract: a :class:`cvtutor.contract.Contract` the new model carries, or None.

    Returns:
        ``(build, stages)`` for :func:`cvtutor.resume.train_to_file`: ``build()`` makes the new,
        compiled model; ``stages`` is ``[Stage("head", until=head_epochs), Stage("fine-tune", ...)]``.

    Raises:
        TypeError: ``model`` is not a ``keras.Model``, or ``head_epochs`` is not an integer.
        ValueError: ``model`` is not functional with one input and one output, or
            ``head_epochs`` is below 1.
    """
    from cvtutor.resume import Stage
    from cvtutor.training import compile_model, set_seed

    checks.functional_model("model", model)
    head_epochs = checks.positive_int("head_epochs", head_epochs)

    def build():
        set_seed(seed)
        new = with_new_head(model, num_classes, freeze=True)
        if contract is not None:
            from cvtutor.contract import attach_contract

            new = attach_contract(new, contract)
        return compile_model(new, learning_rate=learning_rate)

    def unfreeze_and_compile(new):
        return compile_model(unfreeze(new), learning_rate=fine_tune_learning_rate)

    return build, [Stage("head", until=head_epochs), Stage("fine-tune", prepare=unfreeze_and_compile)]
