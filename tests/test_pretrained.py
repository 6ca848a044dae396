"""cvtutor.pretrained: a KerasHub preset from a local folder, the feature cache, the head, a lower backbone rate."""

import json
import shutil

import keras
import numpy as np
import pytest

keras_hub = pytest.importorskip("keras_hub")

from cvtutor import pretrained
from cvtutor.recipes import PRETRAINED_RECIPES, RECIPES, get_recipe, start_run

_np = keras.ops.convert_to_numpy

#: The smallest backbone KerasHub's ResNet accepts: the stem and one basic block of 64 channels.
TINY = {**pretrained.LOCAL_BACKBONE, "stackwise_num_filters": [64], "stackwise_num_blocks": [1],
        "stackwise_num_strides": [1], "input_conv_kernel_sizes": [3]}


@pytest.fixture(scope="module")
def preset(tmp_path_factory):
    return pretrained.save_local_preset(tmp_path_factory.mktemp("hub") / "tiny", config=TINY, image_size=16)


def _images(n=24, size=32, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, size, size, 3), dtype=np.uint8), (np.arange(n) % 10).astype("int32")


def test_a_saved_folder_loads_with_the_call_a_download_uses(preset):
    hub = pretrained.load_pretrained(preset, image_size=16)
    assert isinstance(hub.backbone, keras_hub.models.ResNetBackbone)
    assert hub.weights == "random" and hub.reason == "" and hub.image_size == 16
    assert hub.feature_dim == 64 and hub.parameters == hub.backbone.count_params()
    assert hub.state_bytes == 4 * sum(int(np.prod(w.shape)) for w in hub.backbone.weights)
    assert "random weights" in hub.describe() and "16x16" in hub.describe()
    again = pretrained.load_pretrained(str(preset), image_size=16)
    for a, b in zip(hub.backbone.weights, again.backbone.weights):
        np.testing.assert_array_equal(_np(a), _np(b))  # the saved weights, not new random ones
    # the converter is the ResNet presets' preprocessing: ImageNet-normalised pixels
    scaled = _np(hub.converter(np.full((1, 4, 4, 3), 255.0, "float32")))
    np.testing.assert_allclose(scaled[0, 0, 0], [(1 - m) / s for m, s in zip(pretrained.IMAGENET_MEAN,
                                                                         pretrained.IMAGENET_STD)], rtol=1e-5)


def test_an_unreachable_name_falls_back_loudly_or_fails_in_one_line(preset, monkeypatch):
    def offline(*args, **kwargs):
        raise ConnectionError("Failed to resolve 'api.kaggle.com'\nmore lines of a deep traceback")

    monkeypatch.setattr(keras_hub.models.Backbone, "from_preset", offline)
    with pytest.raises(pretrained.PresetError) as error:
        pretrained.load_pretrained("resnet_18_imagenet")
    assert "\n" not in str(error.value) and "'resnet_18_imagenet'" in str(error.value)
    assert "ConnectionError: Failed to resolve" in str(error.value)
    assert error.value.cause == "ConnectionError"
    monkeypatch.undo()
    real = keras_hub.models.Backbone.from_preset
    monkeypatch.setattr(keras_hub.models.Backbone, "from_preset",
                        lambda name, **kw: offline() if name == "resnet_18_imagenet" else real(name, **kw))
    hub = pretrained.load_pretrained("resnet_18_imagenet", 16, fallback=preset)
    assert hub.weights == "random" and hub.requested == "resnet_18_imagenet"
    assert hub.reason == "resnet_18_imagenet could not be loaded (ConnectionError), so this ran on tiny instead"
    assert hub.reason in hub.describe() and "\n" not in hub.describe()
    # a typo is no reason to fall back
    with pytest.raises(pretrained.PresetError, match="'resnet_18_imagnet' is no KerasHub backbone preset.*"
                                                     "'resnet_18_imagenet'"):
        pretrained.load_pretrained("resnet_18_imagnet", 16, fallback=preset)


def test_missing_partial_and_incompatible_folders_give_one_line(preset, tmp_path):
    missing = tmp_path / "nowhere"
    partial = tmp_path / "partial"
    partial.mkdir()
    shutil.copy(preset / "config.json", partial)
    text = tmp_path / "text"
    shutil.copytree(preset, text)
    (text / "config.json").write_text(json.dumps({"class_name": "BertBackbone", "config": {"vocabulary_size": 9}}))
    broken = tmp_path / "broken"
    shutil.copytree(preset, broken)
    config = json.loads((broken / "config.json").read_text())
    config["config"]["stackwise_num_filters"] = [128]  # the weights no longer fit
    (broken / "config.json").write_text(json.dumps(config))
    cases = {missing: "does not exist", partial: "lacks metadata.json, model.weights.h5, image_converter.json",
             text: "holds BertBackbone, not an image backbone", broken: "could not be loaded"}
    for folder, words in cases.items():
        with pytest.raises(pretrained.PresetError) as error:
            pretrained.load_pretrained(folder)
        message = str(error.value)
        assert "\n" not in message and f"'{folder}'" in message and words in message, message
        assert error.value.__suppress_context__ or error.value.__cause__ is None
        assert isinstance(error.value, ValueError)


def test_features_are_computed_once_then_read_from_the_cache(preset, tmp_path, monkeypatch):
    hub = pretrained.load_pretrained(preset, image_size=16)
    extractor = pretrained.feature_extractor(hub)
    x, _ = _images()
    features, path, computed = pretrained.cached_features(extractor, x, cache_dir=tmp_path, batch_size=10)
    assert computed and path.is_file() and features.shape == (24, hub.feature_dim) and features.dtype == np.float32
    np.testing.assert_allclose(features, _np(extractor(x.astype("float32") / 255, training=False)), rtol=1e-4,
                               atol=1e-5)

    def no_predict(*args, **kwargs):
        raise AssertionError("the backbone ran again")

    monkeypatch.setattr(extractor, "predict", no_predict)
    again, same_path, computed = pretrained.cached_features(extractor, x, cache_dir=tmp_path)
    assert not computed and same_path == path
    np.testing.assert_array_equal(again, features)
    # other images, or another backbone's weights: another file
    monkeypatch.undo()
    other = pretrained.cached_features(extractor, x[:5], cache_dir=tmp_path)
    assert other[2] and other[1] != path
    extractor.get_layer(hub.backbone.name).weights[0].assign(np.zeros(hub.backbone.weights[0].shape))
    assert pretrained.cached_features(extractor, x, cache_dir=tmp_path)[1] != path
    with pytest.raises(ValueError, match="shape"):
        pretrained.cached_features(extractor, x[..., 0], cache_dir=tmp_path)


def test_the_head_and_the_classifier(preset):
    head = pretrained.build_head(64, 10)
    assert head.count_params() == 64 * 10 + 10 and head.output_shape == (None, 10)
    hub = pretrained.load_pretrained(preset, image_size=16)
    head.get_layer("logits").set_weights([np.ones((64, 10), "float32"), np.arange(10, dtype="float32")])
    model = pretrained.build_classifier(hub, head=head)
    x, _ = _images(4)
    scaled = x.astype("float32") / 255
    features = _np(pretrained.feature_extractor(hub)(scaled, training=False))
    # called directly, a Keras model needs training=False for inference (batch norm's stored statistics)
    np.testing.assert_allclose(_np(model(scaled, training=False)), features @ np.ones((64, 10)) + np.arange(10),
                               rtol=1e-4)
    # every layer of the backbone trains, batch normalisation included
    assert any("_bn/gamma" in w.path for w in model.trainable_weights)
    assert len(model.trainable_weights) == len(hub.backbone.trainable_weights) + 2
    frozen = pretrained.build_classifier(hub, freeze=True)
    assert [w.path for w in frozen.trainable_weights] == ["logits/kernel", "logits/bias"]
    # multiply-adds: the backbone at 16x16 (sized copy) plus the head
    macs = pretrained.classifier_multiply_adds(hub)
    stem = 8 * 8 * 3 * 3 * 3 * 64  # stride-2 3x3 convolution to 64 channels at 8x8
    block = 2 * (4 * 4 * 3 * 3 * 64 * 64)  # after the max pool: two 3x3 convolutions at 4x4
    assert macs == stem + block + 64 * 10
    with pytest.raises(ValueError, match="num_classes"):
        pretrained.build_head(64, 1)


def test_fine_tuning_moves_the_backbone_at_its_lower_rate(preset):
    hub = pretrained.load_pretrained(preset, image_size=16)
    x, y = _images(32)
    scaled = x.astype("float32") / 255

    def one_step(scale):
        keras.utils.set_random_seed(0)
        model = pretrained.build_classifier(hub)
        model.set_weights(start)
        paths = pretrained.backbone_variable_paths(model)
        assert paths and "logits/kernel" not in paths
        model.compile(pretrained.BackboneRateSGD(0.1, backbone_paths=paths, backbone_scale=scale),
                      keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        model.train_on_batch(scaled, y)
        return {w.path: _np(w) - s for w, s in zip(model.weights, start)}

    start = [_np(w) for w in pretrained.build_classifier(hub).weights]
    full, tenth, frozen = one_step(1.0), one_step(0.1), one_step(0.0)
    kernel = "conv1_conv/kernel"
    np.testing.assert_allclose(tenth[kernel], 0.1 * full[kernel], rtol=1e-4, atol=1e-8)
    assert np.abs(full[kernel]).max() > 0 and np.abs(frozen[kernel]).max() == 0
    np.testing.assert_allclose(tenth["logits/kernel"], full["logits/kernel"], rtol=1e-5)  # the head's rate
    optimizer = pretrained.BackboneRateAdam(1e-3, backbone_paths=["a/kernel"], backbone_scale=0.1)
    restored = pretrained.BackboneRateAdam.from_config(optimizer.get_config())
    assert restored.backbone_paths == ("a/kernel",) and restored.backbone_scale == pytest.approx(0.1)
    with pytest.raises(ValueError, match="backbone_scale"):
        pretrained.BackboneRateAdam(1e-3, backbone_scale=-1)


def test_the_named_recipes_build_and_compile_through_start_run(preset):
    assert set(PRETRAINED_RECIPES).isdisjoint(RECIPES)
    tune = get_recipe("hub-fine-tune")
    assert tune.backbone_learning_rate < tune.learning_rate and tune.model_kwargs["preset"] == pretrained.PRESET
    local = tune.replace(model_args={**tune.model_kwargs, "preset": str(preset), "image_size": 16})
    x, y = _images(40)
    start = start_run(local, (x, y), validation_split=0.25)
    model = start.build_model()
    assert isinstance(model.optimizer, pretrained.BackboneRateAdam)
    assert model.optimizer.backbone_scale == pytest.approx(0.1) and model.output_shape == (None, 10)
    probe = get_recipe("hub-linear-probe")
    frozen = probe.replace(model_args={**probe.model_kwargs, "preset": str(preset), "image_size": 16}).build()
    assert len(frozen.trainable_weights) == 2
    with pytest.raises(ValueError, match="backbone_learning_rate"):
        tune.replace(backbone_learning_rate=-1.0)


def test_a_fine_tuned_classifier_saves_and_loads_with_its_optimizer(preset, tmp_path):
    hub = pretrained.load_pretrained(preset, image_size=16)
    model = pretrained.build_classifier(hub)
    model.compile(pretrained.BackboneRateAdam(1e-3, backbone_paths=pretrained.backbone_variable_paths(model),
                                              backbone_scale=0.1),
                  keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    x, y = _images(8)
    model.train_on_batch(x.astype("float32") / 255, y)
    model.save(tmp_path / "tuned.keras")
    loaded = keras.saving.load_model(tmp_path / "tuned.keras")
    assert isinstance(loaded.optimizer, pretrained.BackboneRateAdam)
    assert loaded.optimizer.backbone_scale == pytest.approx(0.1)
    np.testing.assert_allclose(_np(loaded(x / 255, training=False)), _np(model(x / 255, training=False)),
                               rtol=1e-5, atol=1e-6)


def test_the_command_line_fine_tunes_a_keras_hub_preset_into_a_model_file_with_its_contract(preset, tmp_path):
    from cifar_fakes import official_batches, write_batches_dir
    from test_cli import run

    from cvtutor.contract import read_contract
    from cvtutor.data import CLASS_NAMES
    from cvtutor.modelfiles import load_model

    data = write_batches_dir(tmp_path / "data", official_batches(per_batch=20))  # 100 training images
    output = tmp_path / "tuned.keras"
    result = run("train", "--from", preset, "--epochs", 1, "--data-dir", data, "-o", output, "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["recipe"] == "hub-fine-tune" and report["from"] == str(preset) and report["epochs"] == 1
    assert f"fine-tuning the KerasHub preset {preset} on 10 classes, recipe hub-fine-tune" in result.stderr
    model = load_model(output)
    assert read_contract(model).class_names == CLASS_NAMES  # the file says what its outputs mean
    assert isinstance(model.optimizer, pretrained.BackboneRateAdam)
    assert model.optimizer.backbone_scale == pytest.approx(1e-4 / 1e-3)  # the recipe's rates
    evaluated = run("evaluate", output, "--data-dir", data, "--json")
    assert evaluated.returncode == 0, evaluated.stderr
    assert json.loads(evaluated.stdout)["accuracy"] == pytest.approx(report["test_accuracy"], abs=1e-6)

    other_rate = run("train", "--from", preset, "--epochs", 2, "--fine-tune-learning-rate", 1e-3, "--resume",
                     "--data-dir", data, "-o", output)
    assert other_rate.returncode == 1 and "fine_tune_learning_rate=0.0001, not fine_tune_learning_rate=0.001" in (
        other_rate.stderr)
    typo = run("train", "--from", "resnet_18_imagnet", "--data-dir", data, "-o", tmp_path / "t.keras")
    assert typo.returncode == 1 and "'resnet_18_imagnet' is no KerasHub backbone preset" in typo.stderr
    assert len(typo.stderr.strip().splitlines()) <= 3 and not (tmp_path / "t.keras").exists()
    assert not (tmp_path / "t.keras.partial").exists(), "a run that never started leaves no checkpoint"
    usage = run("train", "--from", preset, "--head-epochs", 1, "--data-dir", data)
    assert usage.returncode == 2 and "--head-epochs applies to a .keras model" in usage.stderr


def test_a_random_backbone_is_built_in_memory_like_the_saved_stand_in(preset, tmp_path):
    in_memory = pretrained.random_backbone(TINY, 16)
    saved = pretrained.load_pretrained(pretrained.save_local_preset(tmp_path / "again", config=TINY, image_size=16), 16)
    assert in_memory.weights == "random" and in_memory.parameters == saved.parameters
    x, _ = _images(4, size=16)
    np.testing.assert_allclose(_np(in_memory.converter(x.astype("float32"))), _np(saved.converter(x.astype("float32"))),
                               rtol=1e-6, atol=1e-6)
    assert pretrained.classifier_multiply_adds(in_memory) == pretrained.classifier_multiply_adds(saved)
    with pytest.raises(ValueError, match="image_size"):
        pretrained.random_backbone(TINY, 4)
