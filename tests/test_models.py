"""cvtutor.models: shapes, parameter counts, saving, learning, argument checks."""

import keras
import numpy as np
import pytest

from cvtutor import models
from cvtutor.layers import ClassToken, PatchEmbedding, SelfAttention, TransformerBlock

_np = keras.ops.convert_to_numpy

# The models for the learning test: the defaults, or smaller with the default
# attention model's sizes (dim 64, 4 heads, MLP 128). On JAX every new weight
# shape costs a compilation of the random initializer, every new input shape
# a compilation of each operation run eagerly (hence batches of 2 elsewhere).
SMALL = {
    "cnn": ("cnn", {}),
    "resnet": ("resnet", {"width": 8}),
    "rnn": ("rnn", {}),
    "attention": ("attention", {"depth": 1}),
    "hybrid": ("attention", {"hybrid": True, "depth": 1}),
    "vit": ("vit", {"dim": 64, "depth": 1, "mlp_dim": 128}),
}
NUM_CLASSES = 7


def _images(n, seed=0):
    """Images in [0, 1] whose brightness varies a lot from image to image."""
    rng = np.random.default_rng(seed)
    return (rng.random((n, 32, 32, 3)) * rng.random((n, 1, 1, 1))).astype("float32")


def _brightness_labels(images, num_classes):
    """Learnable labels: the quantile of the top-left quadrant's mean brightness."""
    brightness = images[:, :16, :16].mean(axis=(1, 2, 3))
    edges = np.quantile(brightness, np.linspace(0, 1, num_classes + 1)[1:-1])
    return np.digitize(brightness, edges).astype("int32")


@pytest.fixture(scope="module")
def default_models():
    """Every registered model with its default options, 7 classes, built once."""
    return {name: models.build_model(name, num_classes=NUM_CLASSES) for name in models.MODELS}


# Shapes and sizes ------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(models.MODELS))
@pytest.mark.backend
def test_builders_map_images_to_logits(default_models, name):
    model = default_models[name]
    assert isinstance(model, keras.Model)
    assert model.name == name
    assert model.input_shape == (None, 32, 32, 3)
    assert model.output_shape == (None, NUM_CLASSES)
    assert not model.compiled
    logits = _np(model(_images(2)))
    assert logits.shape == (2, NUM_CLASSES)
    assert np.all(np.isfinite(logits))
    last = model.layers[-1] if name != "resnet" else model.get_layer("classifier")
    assert last.get_config()["activation"] == "linear"  # logits, no softmax


@pytest.mark.backend
def test_cnn_is_the_tutorial_architecture():
    model = models.build_cnn()
    assert model.count_params() == 122_570
    kinds = [type(layer).__name__ for layer in model.layers[1:]]
    assert kinds == ["Conv2D", "MaxPooling2D", "Conv2D", "MaxPooling2D", "Conv2D", "Flatten", "Dense", "Dense"]


@pytest.mark.backend
def test_resnet_stages_and_residual_blocks():
    model = models.build_resnet()
    assert model.count_params() == 414_074
    assert [layer.name for layer in model.layers if type(layer).__name__ == "Add"] == [
        "stage1_block1_add", "stage3_block1_add"]
    assert model.get_layer("stage3_pool").output.shape == (None, 4, 4, 128)
    deeper = models.build_resnet(width=8, blocks=(2, 1, 0))
    assert [layer.name for layer in deeper.layers if type(layer).__name__ == "Add"] == [
        "stage1_block1_add", "stage1_block2_add", "stage2_block1_add"]
    assert deeper.get_layer("stage3_pool").output.shape == (None, 4, 4, 64)
    # Convolutions carry no bias: batch norm's offset does that job.
    assert all(not layer.use_bias for layer in model.layers if type(layer).__name__ == "Conv2D")


@pytest.mark.backend
def test_rnn_reads_rows_as_time_steps(default_models):
    model = default_models["rnn"]
    assert model.get_layer("rows").output.shape == (None, 32, 96)
    assert model.get_layer("lstm").output.shape == (None, 128)
    # LSTM: 4 gates x (96 inputs + 128 recurrent + 1 bias) x 128 units; then the logits.
    assert model.count_params() == 4 * (96 + 128 + 1) * 128 + 128 * NUM_CLASSES + NUM_CLASSES


@pytest.mark.backend
def test_attention_model_structure(default_models):
    model = default_models["attention"]
    assert model.get_layer("patches").output.shape == (None, 64, 64)  # 8x8 patches of 4x4 pixels
    blocks = [layer for layer in model.layers if isinstance(layer, TransformerBlock)]
    assert len(blocks) == 2 and blocks[0].attention.num_heads == 4 and blocks[0].key_dim == 16
    overlapping = models.build_attention(embed_kernel=8)
    assert overlapping.get_layer("patches").output.shape == (None, 64, 64)  # the same 64 tokens
    assert tuple(overlapping.get_layer("patches").projection.kernel.shape) == (8, 8, 3, 64)
    assert overlapping.count_params() - models.build_attention().count_params() == (8 * 8 - 4 * 4) * 3 * 64

    stem = models.build_attention(stem_channels=16)
    assert stem.get_layer("stem").output.shape == (None, 16, 16, 16)
    assert stem.get_layer("patches").output.shape == (None, 64, 64)  # still 64 tokens
    assert tuple(stem.get_layer("patches").projection.kernel.shape) == (4, 4, 16, 64)
    assert stem.name == "conv_stem_attention" and overlapping.name == "attention"  # distinct models

    hybrid = models.build_attention(hybrid=True, depth=2, num_classes=NUM_CLASSES)
    assert hybrid.name == "lstm_attention"
    assert hybrid.get_layer("lstm").output.shape == (None, 32, 64)  # a state per image row
    attention = [layer for layer in hybrid.layers if isinstance(layer, SelfAttention)]
    assert len(attention) == 2 and attention[0].key_dim == 16


@pytest.mark.backend
def test_vit_reads_the_class_token(default_models):
    model = default_models["vit"]
    assert any(isinstance(layer, ClassToken) for layer in model.layers)
    assert model.get_layer("positions").output.shape == (None, 65, 128)  # 64 patches + class token
    assert sum(isinstance(layer, TransformerBlock) for layer in model.layers) == 6
    assert isinstance(model.get_layer("patches"), PatchEmbedding)


@pytest.mark.backend
def test_attention_stem_tokens_see_only_pixels_near_their_patch():
    # Token (r, c) covers pixels 4r-3 .. 4r+6 (a 10x10 window around its 4x4 patch): the stem's
    # 4x4 stride-2 windows, seen through the patch embedding's 4x4 stride-2 windows (padding 1 each).
    keras.utils.set_random_seed(0)
    model = models.build_attention(stem_channels=8, dim=16, num_heads=2)
    tokens = keras.Model(model.input, model.get_layer("patches").output)
    images = _images(1, seed=2).astype("float32") / 255
    changed = images.copy()
    changed[0, 12, 20] += 1.0  # pixel (row 12, column 20)
    moved = np.abs(_np(tokens(changed)) - _np(tokens(images))).max(axis=-1)[0].reshape(8, 8)
    rows, cols = np.nonzero(moved > 1e-6)
    expected = [r for r in range(8) if 4 * r - 3 <= 12 <= 4 * r + 6], [c for c in range(8) if 4 * c - 3 <= 20 <= 4 * c + 6]
    assert sorted(set(rows)) == expected[0] and sorted(set(cols)) == expected[1]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"stem_channels": 0}, "stem_channels"),
        ({"stem_channels": 8, "embed_kernel": 8}, "not both"),
        ({"stem_channels": 8, "patch_size": 1}, "patch_size must be even; got 1"),
    ],
)
def test_attention_stem_rejects_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        models.build_attention(**kwargs)


# Saving ----------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(models.MODELS))
@pytest.mark.backend
def test_keras_file_round_trip(default_models, tmp_path, name):
    model = default_models[name]
    images = _images(2, seed=1)
    path = tmp_path / f"{name}.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert loaded.name == model.name
    np.testing.assert_allclose(_np(loaded(images)), _np(model(images)), atol=1e-6)


@pytest.mark.backend
def test_hybrid_keras_file_round_trip(tmp_path):
    name, options = SMALL["hybrid"]
    model = models.build_model(name, num_classes=NUM_CLASSES, **options)
    images = _images(2, seed=1)
    model.save(tmp_path / "hybrid.keras")
    loaded = keras.saving.load_model(tmp_path / "hybrid.keras")
    np.testing.assert_allclose(_np(loaded(images)), _np(model(images)), atol=1e-6)


# Learning --------------------------------------------------------------------


@pytest.mark.parametrize("key", list(SMALL))
@pytest.mark.backend
def test_loss_falls_on_a_tiny_batch(key):
    keras.utils.set_random_seed(0)
    name, options = SMALL[key]
    images = _images(64, seed=2)
    labels = _brightness_labels(images, NUM_CLASSES)
    model = models.build_model(name, num_classes=NUM_CLASSES, **options)
    model.compile(
        optimizer=keras.optimizers.Adam(3e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        # TensorFlow's XLA compilation costs more than these 15 steps; JAX always compiles.
        jit_compile=keras.backend.backend() == "jax",
    )
    history = model.fit(images, labels, batch_size=64, epochs=15, verbose=0)
    losses = history.history["loss"]
    assert np.all(np.isfinite(losses))
    assert losses[-1] < 0.9 * losses[0], losses


# Argument checks -------------------------------------------------------------


def test_build_model_rejects_unknown_names():
    with pytest.raises(ValueError, match="name must be one of 'attention', 'cnn', 'resnet', 'rnn', 'vit', got 'resnet50'"):
        models.build_model("resnet50")
    with pytest.raises(TypeError, match="name must be one of 'attention', .* got NoneType None"):
        models.build_model(None)


@pytest.mark.parametrize("name", sorted(models.MODELS))
@pytest.mark.parametrize("num_classes, error, got", [(1, ValueError, "1"), (0, ValueError, "0"),
                                                      (2.5, TypeError, "float 2.5"), (True, TypeError, "bool True")])
def test_num_classes_must_be_at_least_two(name, num_classes, error, got):
    expected = r"in \[2, inf\)" if error is ValueError else "an integer"
    with pytest.raises(error, match=rf"num_classes must be {expected}, got {got}"):
        models.build_model(name, num_classes=num_classes)


@pytest.mark.parametrize("input_shape, error", [((32, 32), ValueError), ((32, 32, 0), ValueError),
                                                ((32, 32, 3, 1), ValueError), ((32.0, 32, 3), TypeError),
                                                ("32x32x3", TypeError), (None, TypeError)])
def test_input_shape_must_be_three_positive_ints(input_shape, error):
    with pytest.raises(error, match=r"input_shape must be \(height, width, channels\) such as \(32, 32, 3\), "
                                    r"3 integers >= 1, got"):
        models.build_cnn(input_shape=input_shape)


@pytest.mark.parametrize("name", ["attention", "vit"])
def test_patch_size_must_divide_the_image(name):
    with pytest.raises(ValueError, match=r"patch_size must divide.*patch_size=5 for images of 32x32"):
        models.build_model(name, patch_size=5)
    with pytest.raises(ValueError, match=r"patch_size=4 for images of 32x30"):
        models.build_model(name, input_shape=(32, 30, 3))


def test_sizes_must_be_positive_and_heads_divide_dim():
    with pytest.raises(ValueError, match="dim must be divisible by num_heads; got dim=30, num_heads=4"):
        models.build_vit(dim=30)
    with pytest.raises(ValueError, match="depth must be a positive integer, got 0"):
        models.build_attention(depth=0)
    with pytest.raises(ValueError, match="units must be a positive integer, got -8"):
        models.build_rnn(units=-8)
    with pytest.raises(ValueError, match=r"dropout must be a float in \[0, 1\), got 1.0"):
        models.build_vit(dropout=1.0)
    with pytest.raises(TypeError, match=r"dropout must be a float in \[0, 1\), got str '0.1'"):
        models.build_vit(dropout="0.1")
    with pytest.raises(TypeError, match="depth must be a positive integer, got float 2.0"):
        models.build_attention(depth=2.0)


@pytest.mark.parametrize("blocks, error", [((1, 0), ValueError), ((1, 0, -1), ValueError), ((1, 0, 1.0), TypeError),
                                           ("101", TypeError), (None, TypeError)])
def test_resnet_blocks_must_be_three_counts(blocks, error):
    with pytest.raises(error, match=r"blocks must be one count per stage, 3 integers >= 0, got"):
        models.build_resnet(blocks=blocks)


def test_resnet_stem_is_one_of_two():
    with pytest.raises(ValueError, match="stem must be one of 'conv', 'whiten', got 'pool'"):
        models.build_resnet(stem="pool")
    with pytest.raises(TypeError, match="stem must be one of 'conv', 'whiten', got NoneType None"):
        models.build_resnet(stem=None)


@pytest.mark.backend
def test_resnet_needs_sizes_divisible_by_eight():
    with pytest.raises(ValueError, match="width must be a positive integer, got 0"):
        models.build_resnet(width=0)
    with pytest.raises(ValueError, match="divisible by 8; got 32x28"):
        models.build_resnet(input_shape=(32, 28, 3))
    assert models.build_resnet(input_shape=(16, 24, 1), width=4).output_shape == (None, 10)


@pytest.mark.backend
def test_other_image_sizes_work():
    model = models.build_attention(input_shape=(16, 24, 3), num_classes=NUM_CLASSES)
    assert model.get_layer("positions").output.shape == (None, 4 * 6, 64)
    assert model.output_shape == (None, NUM_CLASSES)
