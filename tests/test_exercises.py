"""cvtutor.exercises: every worked solution passes its checker, every plausible wrong answer fails it,
bad answers get one clear line, and the NumPy references equal Keras. How fast the checks answer is
measured by benchmarks/exercise_checks.py."""

import subprocess
import sys

import keras
import numpy as np
import pytest

from cvtutor import exercises as ex
from cvtutor import reference as ref
from cvtutor.exercises import EXERCISES, check

IDS = list(EXERCISES)
FUNCTIONS = [i for i in IDS if EXERCISES[i].kind == "function"]
VALUES = [i for i in IDS if EXERCISES[i].kind == "value"]
WRONG = [(i, what) for i in IDS for what in EXERCISES[i].wrong]


def one_line(result):
    text = str(result)
    assert text == repr(result) == result.message
    assert "\n" not in text and "Traceback" not in text, text
    return text


def answer_of(exercise_id, fn):
    """A value exercise's answer is the number its function computes; a function exercise's is the function."""
    return fn() if EXERCISES[exercise_id].kind == "value" else fn


# --- the registry ------------------------------------------------------------------------------


def test_counts_per_chapter():
    required = {c: 3 for c in ("1.2", "1.3.1", "1.3.2", "1.3.3", "1.3.4", "1.4.1", "1.4.2", "1.4.3", "1.4.4")}
    required.update({c: 2 for c in ("1.5.1", "1.5.2", "1.5.3", "1.5.4", "1.5.5", "1.5.6", "summary")})
    required["1.4.5"] = 3
    for chapter, n in required.items():
        got = ex.exercises_for(chapter)
        assert len(got) >= n, f"chapter {chapter} has {len(got)} exercises, needs {n}"
        assert ex.OPEN_ENDED.get(chapter), f"chapter {chapter} lists no open-ended experiments"


@pytest.mark.parametrize("exercise_id", IDS)
def test_exercise_is_complete(exercise_id):
    e = EXERCISES[exercise_id]
    assert e.id.startswith(e.chapter + "-")
    assert e.task and "\n" not in e.task
    assert e.wrong, "every exercise needs at least one plausible wrong answer"
    assert callable(e.solution) and e.solution.__module__.startswith("cvtutor.exercises")
    assert e.solution.__doc__, "a worked solution says what it computes"
    if e.kind == "function":
        assert e.signature.split("(")[0] in e.task
        assert getattr(ex, e.solution.__name__) is e.solution, "worked solutions are exported"


def test_unknown_id_names_close_ones():
    with pytest.raises(TypeError, match="exercise_id must be a str such as '1.3.1-dilated-conv', got int 131"):
        check(131, lambda x: x)
    with pytest.raises(ValueError, match="exercise_id must be the id of an exercise, got '1.3.1-dilated'; "
                                         "did you mean '1.3.1-dilated-conv'"):
        check("1.3.1-dilated", lambda x, kernel, dilation: x)
    assert ex.solution("1.3.1-dilated-conv") is ex.conv2d_dilated


def test_import_needs_no_keras():
    code = "import sys, cvtutor.exercises; assert 'keras' not in sys.modules and 'tensorflow' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


# --- solutions pass, wrong answers fail ------------------------------------------------------------


@pytest.mark.parametrize("exercise_id", IDS)
def test_worked_solution_passes(exercise_id):
    result = check(exercise_id, answer_of(exercise_id, EXERCISES[exercise_id].solution))
    assert result.passed and bool(result), result.message
    assert one_line(result).startswith("correct: ")


@pytest.mark.parametrize("exercise_id, what", WRONG)
def test_wrong_answer_fails(exercise_id, what):
    result = check(exercise_id, answer_of(exercise_id, EXERCISES[exercise_id].wrong[what]))
    assert not result.passed and not result, f"the wrong answer '{what}' passed"
    text = one_line(result)
    assert text.startswith("not yet: ")
    if EXERCISES[exercise_id].kind == "function":
        assert "input #" in text and " of shape " in text or "=" in text, text
    else:
        assert "too low" in text or "too high" in text


def test_message_names_input_shape_and_index():
    text = str(check("1.3.3-relative-attention", lambda q, k, v, bias: ref.softmax(q @ np.swapaxes(k, -1, -2)) @ v))
    assert text.startswith("not yet: on input #1 (q of shape (4, 8), k of shape (4, 8), v of shape (4, 5), "
                           "bias of shape (7,)), ")
    assert "differs from the reference by max |diff| = " in text and " at index (" in text


def test_value_message_does_not_give_the_number_away():
    text = str(check("1.2-cnn-params", 122_000))
    assert text == "not yet: 122,000 is too low (by less than 1%)"
    assert "122,570" not in text


# --- bad answers get one clear line ----------------------------------------------------------------


def raises(*args):
    values = [1, 2]
    return values[5]


@pytest.mark.parametrize("exercise_id", FUNCTIONS)
def test_bad_function_answers(exercise_id):
    signature = EXERCISES[exercise_id].signature
    text = one_line(check(exercise_id, 42))
    assert text == f"not yet: the answer must be a function {signature}, got an int"
    text = one_line(check(exercise_id, raises))
    assert text.startswith("not yet: your function raised IndexError: list index out of range (line ")
    assert "return values[5]" in text and "on input #1 (" in text
    text = one_line(check(exercise_id, lambda *args: "not an array"))
    assert "your output is a str, expected" in text or "your function returned a str" in text
    text = one_line(check(exercise_id, lambda *args: None))
    assert "NoneType" in text
    text = one_line(check(exercise_id, lambda *args: np.zeros((2, 3, 4, 5, 6))))
    assert ("has shape (2, 3, 4, 5, 6), expected shape" in text or "your function returned a ndarray, expected a pair" in text
            or "your function returned a ndarray, expected a triple" in text)


def test_wrong_arity_is_summarised():
    text = one_line(check("1.3.1-dilated-conv", lambda x, kernel: x))
    assert text.startswith("not yet: your function raised TypeError: ")
    assert "takes 2 positional arguments but 3 were given" in text


def test_nan_output_is_named():
    text = one_line(check("1.2-dense-layer", lambda x, w, b: np.full((x.shape[0], w.shape[1]), np.nan)))
    assert "your output is nan at index (0, 0) where the reference is" in text


@pytest.mark.parametrize("exercise_id", VALUES)
def test_bad_value_answers(exercise_id):
    e = EXERCISES[exercise_id]
    assert one_line(check(exercise_id, e.solution)).endswith("not a function; pass its value (f() rather than f)")
    assert "got a str" in one_line(check(exercise_id, str(e.solution())))
    assert "got a bool" in one_line(check(exercise_id, True))
    assert "got an array of shape (2,)" in one_line(check(exercise_id, np.array([1, 2])))
    assert "not a finite number" in one_line(check(exercise_id, float("nan")))
    assert check(exercise_id, np.int64(e.solution())).passed
    assert check(exercise_id, float(e.solution())).passed


# --- Keras answers are accepted ----------------------------------------------------------------


def test_keras_answers_are_accepted():
    ops = keras.ops

    def attention_relative(q, k, v, bias):
        tokens = q.shape[-2]
        offsets = ops.arange(tokens)[None, :] - ops.arange(tokens)[:, None] + tokens - 1
        scores = ops.matmul(q, ops.swapaxes(k, -1, -2)) / ops.sqrt(ops.cast(q.shape[-1], "float32"))
        return ops.matmul(ops.softmax(scores + ops.take(bias, offsets), axis=-1), v)

    assert check("1.3.3-relative-attention", attention_relative).passed

    def rows(images):
        return keras.layers.Reshape((images.shape[1], images.shape[2] * images.shape[3]))(images)

    assert check("1.4.2-rows", rows).passed

    def lstm_step(x, h, c, kernel, recurrent_kernel, bias):
        units = h.shape[-1]
        layer = keras.layers.LSTM(units, return_state=True)
        layer.build((None, 1, x.shape[-1]))
        layer.set_weights([kernel, recurrent_kernel, bias])
        _, h_new, c_new = layer(x[:, None].astype("float32"), initial_state=[h.astype("float32"), c.astype("float32")])
        return h_new, c_new

    assert check("1.3.2-lstm-step", lstm_step).passed
    assert check("1.2-cnn-params", keras.ops.convert_to_tensor(122_570)).passed


# --- speed: measured by benchmarks/exercise_checks.py, not asserted here -------------------------


def test_the_check_timing_benchmark_times_every_check(tmp_path):
    import json

    from benchmarks import exercise_checks

    assert exercise_checks.main(["--repeats", "1", "--out", str(tmp_path)]) == 0
    [path] = tmp_path.glob("exercise-checks-*.json")
    record = json.loads(path.read_text())
    assert sorted(record["seconds"]) == sorted(IDS) and all(s > 0 for s in record["seconds"].values())
    assert record["failed"] == [] and record["first_count_passed"] is True
    assert record["slowest_seconds"] == max(record["seconds"].values())
    assert record["within_target"] == (max(record["slowest_seconds"], record["first_count_seconds"]) < 1.0)


# --- the NumPy references equal Keras and the package ------------------------------------------------


def rng():
    return np.random.default_rng(0)


def test_dilated_conv_reference_is_keras():
    r = rng()
    x, kernel = r.normal(size=(2, 11, 9, 3)).astype("float32"), r.normal(size=(3, 2, 3, 4)).astype("float32")
    for d in (1, 2, 3):
        layer = keras.layers.Conv2D(4, (3, 2), dilation_rate=d, use_bias=False)
        layer.build(x.shape)
        layer.set_weights([kernel])
        expected = keras.ops.convert_to_numpy(layer(x))
        np.testing.assert_allclose(ex.conv2d_dilated(x, kernel, d), expected, atol=1e-4)
        np.testing.assert_allclose(EXERCISES["1.3.1-dilated-conv"].reference(x, kernel, d), expected, atol=1e-4)


def test_depthwise_conv_solution_and_reference_are_keras():
    r = rng()
    x = r.normal(size=(2, 9, 8, 3)).astype("float32")
    kernel, bias = r.normal(size=(3, 2, 3, 1)).astype("float32"), r.normal(size=3).astype("float32")
    for stride in (1, 2, 3):
        conv = keras.layers.DepthwiseConv2D((3, 2), strides=stride)
        conv.build(x.shape)
        conv.set_weights([kernel, bias])
        expected = keras.ops.convert_to_numpy(conv(x))
        np.testing.assert_allclose(ex.conv2d_depthwise(x, kernel, bias, stride), expected, atol=1e-4)
        np.testing.assert_allclose(EXERCISES["1.3.1-depthwise-conv"].reference(x, kernel, bias, stride), expected,
                                   atol=1e-4)


@pytest.mark.parametrize("size, pool_size, stride", [((9, 8), 3, 2), ((5, 5), 2, 2), ((6, 7), 3, 1), ((8, 8), 3, 3),
                                                     ((6, 6), 4, 2)])
def test_average_pool_solution_and_reference_are_keras(size, pool_size, stride):
    x = rng().normal(size=(2, *size, 3)).astype("float32")
    pool = keras.layers.AveragePooling2D(pool_size, strides=stride, padding="same")
    expected = keras.ops.convert_to_numpy(pool(x))
    np.testing.assert_allclose(ex.avg_pool2d_same(x, pool_size, stride), expected, atol=1e-5)
    np.testing.assert_allclose(EXERCISES["1.3.1-average-pool"].reference(x, pool_size, stride), expected, atol=1e-5)


def test_relative_attention_with_zero_bias_is_plain_attention():
    r = rng()
    q, k, v = r.normal(size=(2, 5, 8)), r.normal(size=(2, 5, 8)), r.normal(size=(2, 5, 3))
    plain = ref.scaled_dot_product_attention(q, k, v)[0]
    np.testing.assert_allclose(ex.attention_relative(q, k, v, np.zeros(9)), plain, atol=1e-12)
    # a bias on one offset only moves exactly the scores at that offset
    bias = np.zeros(9)
    bias[4 + 1] = 3.0  # offset j - i = 1: each token's next one
    _, weights = ref.scaled_dot_product_attention(q, k, v, mask=None)
    shifted = np.log(weights) + 3.0 * np.eye(5, k=1)
    expected = ref.softmax(shifted, axis=-1) @ v
    np.testing.assert_allclose(ex.attention_relative(q, k, v, bias), expected, atol=1e-10)


def test_lstm_step_is_keras():
    r = rng()
    n, d, units = 3, 5, 4
    x, h, c = r.normal(size=(n, d)), r.normal(size=(n, units)), r.normal(size=(n, units))
    layer = keras.layers.LSTM(units, return_state=True)
    layer.build((None, 1, d))
    kernel, recurrent, bias = (w + r.normal(scale=0.3, size=w.shape) for w in layer.get_weights())
    layer.set_weights([kernel, recurrent, bias])
    _, h_k, c_k = layer(x[:, None].astype("float32"), initial_state=[h.astype("float32"), c.astype("float32")])
    h_new, c_new = ex.lstm_step(x, h, c, kernel, recurrent, bias)
    np.testing.assert_allclose(h_new, keras.ops.convert_to_numpy(h_k), atol=1e-5)
    np.testing.assert_allclose(c_new, keras.ops.convert_to_numpy(c_k), atol=1e-5)


def test_recurrent_params_are_keras():
    for d, units, kind, cls in [(96, 16, "simple", keras.layers.SimpleRNN), (3, 7, "lstm", keras.layers.LSTM)]:
        layer = cls(units)
        layer.build((None, 5, d))
        assert ex.recurrent_params(d, units, kind) == layer.count_params()


def test_multi_head_is_self_attention():
    from cvtutor.layers import SelfAttention

    r = rng()
    x = r.normal(size=(2, 5, 8)).astype("float32")
    layer = SelfAttention(num_heads=2, key_dim=3, value_dim=4, output_dim=6, use_bias=False)
    layer.build(x.shape)
    wq, wk, wv, wo = layer.get_weights()
    np.testing.assert_allclose(ex.multi_head_attention(x, wq, wk, wv, wo), keras.ops.convert_to_numpy(layer(x)),
                               atol=1e-5)


def test_losses_are_keras():
    from cvtutor.losses import SmoothedSparseCrossentropy

    r = rng()
    logits, labels = r.normal(scale=3, size=(6, 10)).astype("float32"), r.integers(0, 10, 6)
    ce = keras.losses.SparseCategoricalCrossentropy(from_logits=True)(labels, logits)
    np.testing.assert_allclose(ex.sparse_cross_entropy(logits, labels), float(ce), rtol=1e-5)
    smooth = SmoothedSparseCrossentropy(0.2)(labels, logits)
    np.testing.assert_allclose(ex.smoothed_cross_entropy(logits, labels, 0.2), float(smooth), rtol=1e-5)
    teacher, t = r.normal(scale=3, size=(6, 10)).astype("float32"), 3.0
    kl = keras.losses.KLDivergence()(keras.ops.softmax(teacher / t), keras.ops.softmax(logits / t)) * t**2
    np.testing.assert_allclose(ex.distillation_loss(teacher, logits, t), float(kl), rtol=1e-4)


@pytest.mark.backend
def test_the_gradient_exercises_are_the_backends_gradients():
    """The two gradients the chapters ask for (label smoothing, distillation) equal what the backend's
    automatic differentiation gives for the package's own losses."""
    from cvtutor.losses import SmoothedSparseCrossentropy

    r = rng()
    logits, labels = r.normal(scale=3, size=(6, 10)).astype("float32"), r.integers(0, 10, 6)
    teacher, t = r.normal(scale=3, size=(6, 10)).astype("float32"), 3.0
    smooth = SmoothedSparseCrossentropy(0.2)

    def distill(z):
        return keras.losses.KLDivergence()(keras.ops.softmax(teacher / t), keras.ops.softmax(z / t)) * t**2

    for loss, expected in ((lambda z: smooth(labels, z), ex.smoothed_cross_entropy_gradient(logits, labels, 0.2)),
                           (distill, ex.distillation_gradient(teacher, logits, t))):
        np.testing.assert_allclose(_gradient(loss, logits), expected, atol=1e-6)


def _gradient(loss, x):
    """d loss / d x on whichever backend Keras runs."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        x = tf.Variable(x)
        with tf.GradientTape() as tape:
            value = loss(x)
        return tape.gradient(value, x).numpy()
    if backend == "jax":
        import jax

        return np.asarray(jax.grad(lambda z: loss(z))(x))
    if backend == "torch":
        import torch

        x = torch.tensor(x, requires_grad=True)
        loss(x).backward()
        return x.grad.numpy()
    pytest.skip(f"no gradient helper for the {backend} backend")


def test_hirescam_equals_grad_cam_when_the_gradient_is_the_same_everywhere():
    r = rng()
    features = np.maximum(r.normal(size=(2, 4, 5, 6)), 0)
    gradients = np.broadcast_to(r.normal(size=(2, 1, 1, 6)), features.shape)
    np.testing.assert_allclose(ex.hirescam_map(features, gradients), ex.grad_cam_map(features, gradients))
    varied = gradients + r.normal(size=features.shape)
    assert not np.allclose(ex.hirescam_map(features, varied), ex.grad_cam_map(features, varied))


def test_normalizations_are_keras():
    r = rng()
    x = r.normal(scale=2, size=(2, 3, 3, 4)).astype("float32")
    gamma, beta, mean = (r.normal(size=4).astype("float32") for _ in range(3))
    variance = r.uniform(0.01, 1, 4).astype("float32")
    bn = keras.layers.BatchNormalization(epsilon=1e-3)
    bn.build(x.shape)
    bn.set_weights([gamma, beta, mean, variance])
    np.testing.assert_allclose(ex.batchnorm_inference(x, gamma, beta, mean, variance, 1e-3),
                               keras.ops.convert_to_numpy(bn(x, training=False)), atol=1e-4)
    tokens = x.reshape(2, 9, 4)
    ln = keras.layers.LayerNormalization(epsilon=1e-6)
    ln.build(tokens.shape)
    ln.set_weights([gamma, beta])
    np.testing.assert_allclose(ex.layer_norm(tokens, gamma, beta, 1e-6), keras.ops.convert_to_numpy(ln(tokens)),
                               atol=1e-4)


def test_patchify_is_patch_embedding():
    from cvtutor.layers import PatchEmbedding

    x = rng().normal(size=(2, 8, 12, 3)).astype("float32")
    layer = PatchEmbedding(4, 5)
    layer.build(x.shape)
    kernel, bias = layer.projection.get_weights()
    np.testing.assert_allclose(ex.patchify(x, 4) @ kernel.reshape(-1, 5) + bias,
                               keras.ops.convert_to_numpy(layer(x)), atol=1e-4)
    assert ex.image_to_rows(x).shape == (2, 8, 36)


def test_conv_macs_are_flops():
    from cvtutor.exercises._outlook import _CONVS, _keras_conv_macs

    for args in _CONVS:
        assert ex.conv2d_macs(*args) == _keras_conv_macs(*args), args


def test_pareto_front_is_the_packages_one():
    from cvtutor.metrics import pareto_front

    for arguments in EXERCISES["1.5.1-pareto-front"].inputs(rng()):
        np.testing.assert_array_equal(ex.pareto_front(**arguments), pareto_front(**arguments))


def test_receptive_field_is_measured():
    """The formula against the chapter's measurement: which input pixels reach the centre output."""
    size = 21
    layers = [(3, 1), (2, 2), (3, 1)]
    probes = np.zeros((size * size, size, size, 1))
    probes[np.arange(size * size), np.arange(size * size) // size, np.arange(size * size) % size] = 1
    y = ref.conv2d(probes, np.ones((3, 3, 1, 1)))
    y = ref.max_pool2d(y, 2, 2)
    y = ref.conv2d(y, np.ones((3, 3, 1, 1)))
    centre = y[:, y.shape[1] // 2, y.shape[2] // 2, 0].reshape(size, size) > 0
    rows, cols = np.nonzero(centre)
    assert rows.max() - rows.min() + 1 == ex.receptive_field(layers) == cols.max() - cols.min() + 1


def test_feature_map_shape_is_keras_hubs_resnet_18():
    keras_hub = pytest.importorskip("keras_hub")
    from cvtutor.pretrained import build_head

    resnet_18 = dict(input_conv_filters=[64], input_conv_kernel_sizes=[7], stackwise_num_filters=[64, 128, 256, 512],
                     stackwise_num_blocks=[2, 2, 2, 2], stackwise_num_strides=[1, 2, 2, 2], block_type="basic_block")
    for size in (32, 64, 100):
        backbone = keras_hub.models.ResNetBackbone(**resnet_18, image_shape=(size, size, 3))
        assert backbone.count_params() == 11_186_112  # KerasHub's resnet_18_imagenet preset
        assert (3,) + tuple(backbone.output.shape[1:]) == ex.feature_map_shape(3, size)
    # the deeper head's exercise starts from the chapter's linear head on these 512 pooled features
    assert backbone.output.shape[-1] == 512
    assert build_head(512, 10).count_params() == EXERCISES["1.5.5-head-params"].wrong["the chapter's linear head"]()


def test_dense_relu_backward_is_gradient_tapes():
    import tensorflow as tf

    rng = np.random.default_rng(0)
    x = tf.constant(rng.normal(size=(6, 5)).astype(np.float32))
    layer = keras.layers.Dense(4, activation="relu", bias_initializer="random_normal")
    dy = rng.normal(size=(6, 4)).astype(np.float32)
    with tf.GradientTape() as tape:
        tape.watch(x)
        loss = tf.reduce_sum(layer(x) * dy)
    expected = tape.gradient(loss, [x, layer.kernel, layer.bias])
    mine = ex.dense_relu_backward(x.numpy(), layer.kernel.numpy(), layer.bias.numpy(), dy)
    for a, b in zip(mine, expected):
        np.testing.assert_allclose(a, keras.ops.convert_to_numpy(b), rtol=1e-5, atol=1e-6)


def test_adam_paper_step_is_keras_adam_with_a_rescaled_epsilon():
    from cvtutor.optimizers import adam_step

    rng = np.random.default_rng(1)
    w = rng.normal(size=5)
    m, v, state, mine = np.zeros(5), np.zeros(5), None, [w.copy()]
    for t in range(1, 8):
        g = rng.normal(size=5) * 1e-5
        w, m, v = ex.adam_paper_step(w, g, m, v, t, 0.01, 0.9, 0.999, 1e-8)
        mine, state = adam_step(mine, [g], state, learning_rate=0.01, epsilon=1e-8 * np.sqrt(1 - 0.999**t))
        np.testing.assert_allclose(w, mine[0], rtol=1e-12)
        np.testing.assert_allclose(m, state.m[0], rtol=1e-12)


def test_rmsprop_step_is_keras_rmsprop():
    rng = np.random.default_rng(2)
    w = rng.normal(size=(3, 2)).astype(np.float32)
    variable, v = keras.Variable(w), np.zeros_like(w)
    optimizer = keras.optimizers.RMSprop(0.01, rho=0.8, epsilon=1e-7)
    for scale in (1.0, 1e-4, 3.0, 0.1):
        g = (rng.normal(size=w.shape) * scale).astype(np.float32)
        w, v = ex.rmsprop_step(w, g, v, 0.01, 0.8, 1e-7)
        optimizer.apply([g], [variable])
        np.testing.assert_allclose(w, keras.ops.convert_to_numpy(variable), rtol=1e-5, atol=1e-7)


def test_top_patch_is_where_keras_conv2d_responds_most():
    rng = np.random.default_rng(3)
    images = rng.uniform(0, 1, (3, 9, 9, 3)).astype(np.float32)
    conv = keras.layers.Conv2D(4, 3, bias_initializer="random_normal")
    responses = keras.ops.convert_to_numpy(conv(images))  # (3, 7, 7, 4), bias included
    kernel = conv.kernel.numpy()
    for f in range(4):
        n, i, j = np.unravel_index(np.argmax(responses[..., f]), responses.shape[:3])
        np.testing.assert_array_equal(ex.top_patch(images, kernel[..., f]), images[n, i:i + 3, j:j + 3])


def test_knn_vote_is_scikit_learns_vote_where_no_tie_can_happen():
    from sklearn.neighbors import KNeighborsClassifier

    rng = np.random.default_rng(4)
    train, labels, test = rng.normal(size=(50, 6)), rng.integers(0, 4, 50), rng.normal(size=(12, 6))
    for k in (1, 3):  # two classes cannot tie among 3 voters; three can (1, 1, 1): the nearest wins
        mine = ex.knn_vote(train, labels, test, k)
        sklearn = KNeighborsClassifier(k, metric="cosine", algorithm="brute").fit(train, labels).predict(test)
        order = np.argsort(-(test / np.linalg.norm(test, axis=1, keepdims=True))
                           @ (train / np.linalg.norm(train, axis=1, keepdims=True)).T, axis=1)[:, :k]
        untied = [len(set(labels[row])) < k or k == 1 for row in order]
        np.testing.assert_array_equal(mine[untied], sklearn[untied])
        three_way = [not u for u in untied]
        np.testing.assert_array_equal(mine[three_way], labels[order[three_way, 0]])


def test_unit_window_is_where_the_gradient_of_build_cnns_second_stage_reaches():
    import tensorflow as tf

    from cvtutor.models import build_cnn

    keras.utils.set_random_seed(0)
    model = build_cnn()
    convs = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    stage = keras.Model(model.inputs[0], convs[1].output)
    images = tf.constant(np.random.default_rng(0).uniform(0.2, 1, (1, 32, 32, 3)).astype(np.float32))
    for row, col in ((0, 0), (4, 7), (12, 5)):
        with tf.GradientTape() as tape:
            tape.watch(images)
            unit = tf.reduce_sum(stage(images)[0, row, col, :])
        reached = np.abs(tape.gradient(unit, images).numpy()[0]).sum(axis=-1) > 0
        rows, cols = np.nonzero(reached)
        top, left, size = ex.unit_window([(3, 1), (2, 2), (3, 1)], row, col)
        assert (rows.min(), cols.min(), rows.max() - rows.min() + 1, cols.max() - cols.min() + 1) == (
            top, left, size, size)

def test_dropout_moments_are_keras_dropouts():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(2, 3)).astype(np.float32)
    keras.utils.set_random_seed(3)
    for rate in (0.2, 0.6):
        layer = keras.layers.Dropout(rate)
        # 20,000 independent draws in one call: the mask is drawn per value
        draws = keras.ops.convert_to_numpy(layer(np.broadcast_to(x, (20_000, *x.shape)), training=True)).astype(float)
        mean, variance = ex.dropout_moments(x.astype(float), rate)
        sd = np.sqrt(variance)
        np.testing.assert_allclose(draws.mean(axis=0), mean, atol=float(5 * sd.max() / np.sqrt(len(draws))))
        # the sample variance of 20,000 draws is within about 3% of the true one here
        np.testing.assert_allclose(draws.var(axis=0), variance, rtol=0.06)


def test_sgd_l1_step_is_keras_sgd_with_an_l1_regularizer():
    import tensorflow as tf

    rng = np.random.default_rng(4)
    x = rng.normal(size=(8, 4)).astype(np.float32)
    y = rng.normal(size=(8, 3)).astype(np.float32)
    l1 = 0.05
    layer = keras.layers.Dense(3, use_bias=False, kernel_regularizer=keras.regularizers.L1(l1))
    layer.build((None, 4))
    start = rng.normal(size=(4, 3)).astype(np.float32)
    start[0, 0] = 0.0  # where |w| has no derivative: TensorFlow's gradient of abs is 0
    layer.kernel.assign(start)
    optimizer = keras.optimizers.SGD(0.1)
    with tf.GradientTape(persistent=True) as tape:
        data_loss = tf.reduce_mean((layer(x) - y) ** 2)
        loss = data_loss + tf.add_n(layer.losses)
    g = tape.gradient(data_loss, layer.kernel).numpy()
    optimizer.apply([tape.gradient(loss, layer.kernel)], [layer.kernel])
    np.testing.assert_allclose(ex.sgd_l1_step(start, g, 0.1, l1), layer.kernel.numpy(), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("case", range(5))
def test_early_stopping_epochs_are_keras_early_stopping(case):
    arguments = EXERCISES["1.4.5-early-stopping-epochs"].inputs(np.random.default_rng(0))[case]
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    callback = keras.callbacks.EarlyStopping(monitor="val_loss", patience=arguments["patience"],
                                             min_delta=arguments["min_delta"], restore_best_weights=True)
    callback.set_model(model)
    callback.on_train_begin()
    epochs = 0
    for epoch, loss in enumerate(arguments["val_loss"]):
        model.stop_training = False
        model.layers[0].bias.assign([float(epoch)])  # marks the weights of each epoch
        callback.on_epoch_end(epoch, {"val_loss": float(loss)})
        epochs = epoch + 1
        if model.stop_training:
            break
    callback.on_train_end()
    restored = int(round(float(model.layers[0].bias.numpy()[0]))) + 1
    assert ex.early_stopping_epochs(**arguments) == (epochs, restored)
    assert restored == callback.best_epoch + 1


def test_vit_attention_size_is_multi_head_attention_scores_shape():
    image_size, patch_size, heads = 48, 8, 3
    tokens, weights = ex.vit_attention_size(image_size, patch_size, heads)
    mha = keras.layers.MultiHeadAttention(num_heads=heads, key_dim=4)
    x = np.zeros((1, (image_size // patch_size) ** 2 + 1, 12), dtype="float32")  # patches and the class token
    _, scores = mha(x, x, return_attention_scores=True)
    assert scores.shape == (1, heads, tokens, tokens) and int(np.prod(scores.shape)) == weights


def test_convnext_block_params_match_keras_for_every_stage():
    from cvtutor.exercises._landscape import _convnext_tiny_block_params

    assert {dim: ex.convnext_block_params(dim) for dim in (96, 192, 384, 768)} == _convnext_tiny_block_params()
