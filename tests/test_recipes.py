"""Named training recipes (cvtutor.recipes): one frozen place for every hyperparameter."""

import dataclasses
import math

import keras
import numpy as np
import pytest
from cifar_fakes import make_images

from cvtutor.data import VALIDATION_SPLIT, split_validation
from cvtutor.losses import SmoothedSparseCrossentropy
from cvtutor.recipes import DEFAULT_RECIPES, MODEL_NAMES, RECIPES, Recipe, get_recipe, start_run, train_recipe
from cvtutor.whitening import PatchWhitening
from cvtutor.prediction import flip_accuracy


def _stripes(n):
    """Learnable images: the class is the brightest of ten vertical stripes."""
    x, _ = make_images(n, seed=3)
    x = (x // 4).astype(np.uint8)
    y = np.arange(n) % 10
    for i, label in enumerate(y):
        x[i, :, label * 3: label * 3 + 3] = 255
    return x, y


def test_every_recipe_builds_its_model_and_is_frozen():
    for recipe in RECIPES.values():
        assert RECIPES[recipe.name] is recipe
        model = recipe.build()
        assert model.output_shape == (None, 10)
        with pytest.raises(dataclasses.FrozenInstanceError):
            recipe.epochs = 1
    assert get_recipe("fast-cnn").model_kwargs == {"width": 8, "blocks": (1, 0, 1), "stem": "whiten"}
    # the whitening stem's 156 frozen weights (2x2x3x12 filters and 12 offsets) in place of the 3x3 stem's
    # conv and batch norm (3x3x3x8 filters, 4x8 batch-norm values), and 12 input channels in place of 8 for
    # the next convolution (3x3x4x16 more filters)
    conv_stem = get_recipe("fast-cnn-conv-stem")
    assert conv_stem.model_kwargs == {"width": 8, "blocks": (1, 0, 1)}
    assert conv_stem.build().count_params() == 104_514
    assert get_recipe("fast-cnn").build().count_params() == 104_514 + 156 - (216 + 32) + 3 * 3 * 4 * 16
    assert conv_stem.replace(model_args=get_recipe("fast-cnn").model_args) == get_recipe("fast-cnn").replace(
        name="fast-cnn-conv-stem", description=conv_stem.description)


def test_every_model_has_a_named_default_recipe_for_the_command_line():
    assert sorted(DEFAULT_RECIPES) == sorted(MODEL_NAMES)
    for model, name in DEFAULT_RECIPES.items():
        assert RECIPES[name].model == model and not RECIPES[name].model_args, name


def test_replace_changes_only_what_it_names():
    fast = get_recipe("fast-cnn")
    short = fast.replace(epochs=2, model_args={"width": 4, "blocks": (0, 0, 0)})
    assert short.epochs == 2 and short.model_kwargs == {"width": 4, "blocks": (0, 0, 0)}
    assert short.learning_rate == fast.learning_rate and fast.epochs == 7
    with pytest.raises(TypeError):
        fast.replace(peak=1.0)


def test_compile_uses_the_recipes_optimizer_schedule_and_loss():
    fast = get_recipe("fast-cnn")
    model = fast.compile(fast.build(), steps=100)
    optimizer = model.optimizer
    assert isinstance(optimizer, keras.optimizers.SGD) and optimizer.nesterov and optimizer.momentum == 0.9
    assert optimizer.weight_decay == pytest.approx(fast.weight_decay)
    schedule = optimizer.learning_rate if callable(optimizer.learning_rate) else optimizer._learning_rate
    warmup = int(100 * fast.warmup_fraction)
    assert float(schedule(warmup)) == pytest.approx(fast.learning_rate)  # the peak, at the end of the warm-up
    assert float(schedule(100)) == pytest.approx(0.0, abs=1e-7)
    assert isinstance(model.loss, SmoothedSparseCrossentropy) and model.loss.label_smoothing == fast.label_smoothing
    cnn = get_recipe("cnn-adam")
    model = cnn.compile(cnn.build(), steps=10)
    assert isinstance(model.optimizer, keras.optimizers.Adam)
    assert float(model.optimizer.learning_rate) == pytest.approx(1e-3)
    assert model.loss.get_config()["from_logits"] is True


def test_steps_count_batches_per_epoch():
    recipe = get_recipe("fast-cnn")
    assert recipe.steps(1000) == recipe.epochs * math.ceil(1000 / recipe.batch_size)
    assert recipe.steps(1000, epochs=1) == math.ceil(1000 / recipe.batch_size)


@pytest.mark.slow
def test_train_recipe_trains_tests_with_flips_and_ends_its_schedule():
    x, y = _stripes(512)
    recipe = get_recipe("fast-cnn").replace(model_args={"width": 4, "blocks": (1, 0, 1)}, batch_size=64)
    result = train_recipe(recipe, (x[:384], y[:384]), (x[384:], y[384:]), epochs=4, verbose=0)
    assert result.name == "resnet" and result.epochs == 4 and result.train_size + result.validation_size == 384
    assert result.history["loss"][-1] < result.history["loss"][0]
    assert result.test_accuracy_flip == flip_accuracy(result.model, (x[384:], y[384:]), translate=recipe.test_time_shift)
    assert isinstance(result.model, keras.Model) and "model" not in result.to_dict()
    # The one-cycle schedule was sized for the steps actually taken: the rate ends at 0.
    assert float(result.model.optimizer.learning_rate) == pytest.approx(0.0, abs=1e-6)
    plain = train_recipe("cnn-adam", (x[:64], y[:64]), (x[64:96], y[64:96]), epochs=1, verbose=0)
    assert plain.test_accuracy_flip is None and plain.epochs == 1


def test_train_recipe_averages_test_time_shifts_where_the_recipe_says():
    x, y = _stripes(160)
    recipe = get_recipe("fast-cnn").replace(model_args={"width": 4, "blocks": (0, 0, 0)}, batch_size=64,
                                            test_time_shift=1)
    result = train_recipe(recipe, (x[:96], y[:96]), (x[96:], y[96:]), epochs=1, verbose=0)
    assert result.test_accuracy_flip == flip_accuracy(result.model, (x[96:], y[96:]), translate=1)


def test_train_recipe_fits_a_whitening_stem_to_the_training_images():
    x, y = _stripes(128)
    recipe = get_recipe("fast-cnn").replace(model_args={"width": 4, "blocks": (0, 0, 0), "stem": "whiten"})
    assert "stem_whiten" in [layer.name for layer in recipe.build().layers]
    result = train_recipe(recipe, (x[:96], y[:96]), (x[96:], y[96:]), epochs=1, verbose=0)
    kernel = keras.ops.convert_to_numpy(result.model.get_layer("stem_whiten").kernel).reshape(12, 12)
    assert not np.allclose(kernel, np.eye(12))  # adapted, and the training step left it alone:
    # fitted to the images fit trains on: the validation split it holds out stays unseen
    (fit_images, _), _ = split_validation(x[:96], y[:96], VALIDATION_SPLIT)
    expected = PatchWhitening(2)
    expected.adapt(fit_images.astype("float32") / 255)
    np.testing.assert_allclose(kernel, keras.ops.convert_to_numpy(expected.kernel).reshape(12, 12), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize(
    "changes, error, message",
    [
        ({"model": "mlp"}, ValueError,
         "recipe 'x': model must be one of 'attention', 'cnn', .*'vit', got 'mlp'"),
        ({"optimizer": "rmsprop"}, ValueError, "optimizer must be one of 'adam', 'sgd', got 'rmsprop'"),
        ({"optimizer": None}, TypeError, "optimizer must be one of 'adam', 'sgd', got NoneType None"),
        ({"schedule": "linear"}, ValueError, "schedule must be one of 'constant', 'warmup-cosine', got 'linear'"),
        ({"epochs": 0}, ValueError, "recipe 'x': epochs must be a positive integer, got 0"),
        ({"batch_size": 2.5}, TypeError, "recipe 'x': batch_size must be a positive integer, got float 2.5"),
        ({"learning_rate": 0}, ValueError, r"learning_rate must be in \(0, inf\), got 0.0"),
        ({"learning_rate": "1e-3"}, TypeError, "learning_rate must be a number, got str '1e-3'"),
        ({"label_smoothing": 1.0}, ValueError, r"label_smoothing must be a float in \[0, 1\), got 1.0"),
        ({"weight_decay": -1}, ValueError, r"weight_decay must be in \[0, inf\), got -1.0"),
        ({"backend": "numpy"}, ValueError, "backend must be one of 'tensorflow', 'jax', 'torch', got 'numpy'"),
        ({"test_time_shift": 1.0, "test_time_flip": True}, TypeError,
         "recipe 'x': test_time_shift must be an integer, got float 1.0"),
        ({"test_time_shift": -1, "test_time_flip": True}, ValueError,
         r"test_time_shift must be in \[0, inf\), got -1"),
        ({"test_time_shift": 1}, ValueError,
         "recipe 'x': test_time_shift 1 needs test_time_flip=True .*got test_time_flip=False"),
    ],
)
def test_a_bad_recipe_is_refused_naming_the_field(changes, error, message):
    arguments = {"name": "x", "model": "cnn", "epochs": 1, "batch_size": 8} | changes
    with pytest.raises(error, match=message):
        Recipe(**arguments)


def test_unknown_names_and_labels_are_refused():
    with pytest.raises(ValueError, match="name must be one of 'article-cnn-pipeline', 'attention', .* got 'fastest'"):
        get_recipe("fastest")
    with pytest.raises(TypeError, match="name must be one of 'article-cnn-pipeline', .* got NoneType None"):
        get_recipe(None)
    with pytest.raises(TypeError, match="recipe must be a Recipe or a recipe's name, got int 3"):
        start_run(3, make_images(4, seed=0))
    x, y = make_images(16, seed=0)
    with pytest.raises(ValueError, match=r"train labels must be in 0..4, got 0..9"):
        train_recipe("cnn-adam", (x, y), (x, y % 5), num_classes=5, epochs=1, verbose=0)


def test_targets_live_with_the_recipes_in_one_form_and_keep_the_record_forms():
    from cvtutor.recipes import TARGETS, Target
    from cvtutor.records import target_text

    assert set(TARGETS) <= set(RECIPES)
    assert TARGETS["fast-cnn"].to_record() == {"accuracy": 0.85, "time_ratio": 1.5}
    assert TARGETS["article-cnn-pipeline"].to_record() == {"baseline_accuracy_time_ratio": 0.5}
    assert TARGETS["rnn"].to_record() == [0.55, 180]
    assert TARGETS["gpu-resnet9"].clock == "train_seconds"
    assert target_text(TARGETS["attention"].to_record()) == "70% in 1.5 T"
    with pytest.raises(ValueError, match="exactly one of time_ratio and seconds"):
        Target(0.9)
    with pytest.raises(ValueError, match="exactly one of time_ratio and seconds"):
        Target(0.9, time_ratio=1.0, seconds=10)
    with pytest.raises(ValueError, match="accuracy"):
        Target(85, time_ratio=1.5)  # a percentage where a fraction belongs
    with pytest.raises(TypeError, match="accuracy"):
        Target("85%", time_ratio=1.5)
    with pytest.raises(ValueError, match="is a time_ratio"):
        Target("baseline", seconds=30)
