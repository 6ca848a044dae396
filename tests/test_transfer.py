"""cvtutor.transfer: feature extractors, a new head on frozen layers, unfreezing for fine-tuning."""

import keras
import numpy as np
import pytest

from cvtutor.models import build_cnn
from cvtutor.transfer import feature_extractor, fine_tuning, unfreeze, with_new_head
from cvtutor.training import set_seed

_np = keras.ops.convert_to_numpy


def _small_cnn():
    """conv -> flatten -> features -> logits on 8x8 images, random weights from NumPy."""
    inputs = keras.Input((8, 8, 3), name="images")
    x = keras.layers.Conv2D(4, 3, activation="relu", kernel_initializer="zeros", name="conv")(inputs)
    x = keras.layers.Flatten(name="flatten")(x)
    x = keras.layers.Dense(8, activation="relu", kernel_initializer="zeros", name="features")(x)
    model = keras.Model(inputs, keras.layers.Dense(3, kernel_initializer="zeros", name="logits")(x), name="small")
    rng = np.random.default_rng(0)
    model.set_weights([rng.normal(scale=0.3, size=w.shape).astype("float32") for w in model.weights])
    return model


def _data(n=32, classes=5):
    rng = np.random.default_rng(1)
    return rng.random((n, 8, 8, 3)).astype("float32"), (np.arange(n) % classes).astype("int32")


def _snapshot(layers):
    return {layer.name: [_np(w).copy() for w in layer.weights] for layer in layers if layer.weights}


def _changed(before, layers):
    """Names of the layers whose weights differ from the snapshot."""
    return {layer.name for layer in layers if layer.name in before
            and not all(np.array_equal(b, _np(w)) for b, w in zip(before[layer.name], layer.weights))}


def _train(model, x, y, learning_rate=0.05):
    model.compile(keras.optimizers.SGD(learning_rate), keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(x, y, batch_size=16, epochs=1, shuffle=False, verbose=0)


@pytest.mark.backend
def test_feature_extractor_stops_before_the_logits_or_at_a_named_layer():
    model, (x, _) = _small_cnn(), _data(4)
    features = feature_extractor(model)
    assert features.output_shape == (None, 8) and features.name == "small_features"
    inner = keras.Model(model.inputs[0], model.get_layer("features").output)
    np.testing.assert_allclose(_np(features(x)), _np(inner(x)), rtol=1e-6)
    assert feature_extractor(model, "conv").output_shape == (None, 6, 6, 4)
    assert features.get_layer("conv") is model.get_layer("conv")  # shared, not copied
    assert feature_extractor(build_cnn()).output_shape == (None, 64)


@pytest.mark.backend
def test_new_head_trains_alone_then_unfreeze_fine_tunes():
    set_seed(0)
    model, (x, y) = _small_cnn(), _data()
    new = with_new_head(model, 5)
    assert new.output_shape == (None, 5) and _np(new(x)).shape == (32, 5)
    assert new.layers[-1].name == "logits" and new.layers[-1] is not model.layers[-1]
    reused = [new.get_layer("conv"), new.get_layer("features")]

    before = _snapshot(new.layers)
    _train(new, x, y)
    assert _changed(before, new.layers) == {"logits"}

    unfreeze(new, from_layer="features")  # then compile again (_train does)
    assert [layer.trainable for layer in reused] == [False, True]
    before = _snapshot(new.layers)
    _train(new, x, y)
    assert _changed(before, new.layers) == {"features", "logits"}

    unfreeze(new)
    before = _snapshot(new.layers)
    _train(new, x, y)
    assert _changed(before, new.layers) == {"conv", "features", "logits"}


@pytest.mark.backend
def test_fine_tuning_builds_a_frozen_head_stage_then_unfreezes_at_the_lower_rate():
    from cvtutor.contract import Contract, contract_layer

    model = _small_cnn()
    contract = Contract(tuple("abcd"), (8, 8), 3)
    build, stages = fine_tuning(model, 4, head_epochs=2, learning_rate=3e-3, fine_tune_learning_rate=2e-5,
                                seed=1, contract=contract)
    assert [(s.name, s.until) for s in stages] == [("head", 2), ("fine-tune", None)] and stages[0].prepare is None
    new = build()
    assert new.output_shape == (None, 4) and contract_layer(new) is not None
    assert not new.get_layer("conv").trainable and np.isclose(float(new.optimizer.learning_rate), 3e-3)
    again = build()  # seeded: the same new head
    np.testing.assert_array_equal(_np(new.get_layer("logits").kernel), _np(again.get_layer("logits").kernel))
    tuned = stages[1].prepare(new)
    assert tuned.get_layer("conv").trainable and np.isclose(float(tuned.optimizer.learning_rate), 2e-5)


@pytest.mark.parametrize("head_epochs, error", [(0, ValueError), (1.5, TypeError)])
def test_fine_tuning_rejects_a_head_stage_that_is_no_whole_number_of_epochs(head_epochs, error):
    with pytest.raises(error, match="head_epochs"):
        fine_tuning(_small_cnn(), 4, head_epochs=head_epochs)


@pytest.mark.backend
def test_unfrozen_new_head_and_pooled_conv_features():
    model, (x, _) = _small_cnn(), _data(4)
    new = with_new_head(model, 2, freeze=False, layer_name="conv")
    assert new.output_shape == (None, 2) and new.get_layer("conv").trainable
    assert [layer.name for layer in new.layers] == ["images", "conv", "head_pool", "logits"]


@pytest.mark.parametrize(
    "call",
    [
        lambda m: feature_extractor(m, "dense_9"),
        lambda m: with_new_head(m, 3, layer_name="dense_9"),
        lambda m: unfreeze(m, from_layer="dense_9"),
    ],
)
@pytest.mark.backend
def test_unknown_layer_names_list_the_known_ones(call):
    with pytest.raises(ValueError, match=r"'dense_9' is not a layer of model 'small'.*\['images', 'conv', 'flatten'"):
        call(_small_cnn())


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda m: with_new_head(m, 1), ValueError, r"num_classes must be in \[2, inf\), got 1"),
        (lambda m: with_new_head(m, 2.0), TypeError, "num_classes must be an integer, got float 2.0"),
        (lambda m: feature_extractor("cnn.keras"), TypeError, "model must be a keras.Model, got str 'cnn.keras'"),
        (lambda m: unfreeze(None), TypeError, "model must be a keras.Model, got NoneType None"),
        (lambda m: feature_extractor(m, 3), TypeError, "layer_name must be a layer's name, got int 3"),
        (lambda m: unfreeze(m, from_layer=0), TypeError, "from_layer must be a layer's name, got int 0"),
    ],
)
@pytest.mark.backend
def test_bad_arguments(call, error, message):
    with pytest.raises(error, match=message):
        call(_small_cnn())
