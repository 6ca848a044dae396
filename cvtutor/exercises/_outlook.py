"""Exercises of chapters 1.5.1-1.5.4 (bigger models, complex structures, efficient training, challenges).

References: :mod:`cvtutor.flops` and :mod:`cvtutor.models` for counts, NumPy
versions of :func:`cvtutor.metrics.pareto_front`,
:class:`cvtutor.distill.Distiller`'s loss, :func:`cvtutor.explain.grad_cam`
and :func:`cvtutor.explain.attention_rollout` (``tests/test_exercises.py``
checks them against those).
"""

from __future__ import annotations

from functools import cache

import numpy as np

from cvtutor import reference as ref
from cvtutor.exercises._basics import keras_params, normal
from cvtutor.exercises._classifiers import log_softmax, sparse_cross_entropy
from cvtutor.exercises._core import Exercise, register

# 1.5.1 Bigger models -----------------------------------------------------------


def conv2d_macs(height, width, c_in, c_out, kernel, stride, padding):
    """Worked solution of 1.5.1-conv-macs: multiply-adds of one ``Conv2D`` on one image.

    Every output position and output channel does ``kernel * kernel * c_in``
    multiply-adds; the output is ``out_h x out_w`` positions (``"valid"``:
    ``(size - kernel) // stride + 1``; ``"same"``: ``ceil(size / stride)``).
    """
    def out(size):
        return -(-size // stride) if padding == "same" else (size - kernel) // stride + 1

    return out(height) * out(width) * kernel * kernel * c_in * c_out


_CONVS = [(32, 32, 3, 32, 3, 1, "valid"), (32, 32, 64, 64, 3, 1, "same"), (32, 32, 3, 16, 4, 2, "same"),
          (15, 15, 32, 64, 3, 2, "valid"), (7, 9, 5, 3, 1, 1, "valid")]


@cache
def _keras_conv_macs(height, width, c_in, c_out, kernel, stride, padding):
    import keras

    from cvtutor import flops

    inputs = keras.Input((height, width, c_in))
    model = keras.Model(inputs, keras.layers.Conv2D(c_out, kernel, strides=stride, padding=padding)(inputs))
    return int(flops.multiply_adds(model))


register(Exercise(
    id="1.5.1-conv-macs", chapter="1.5.1", kind="function", returns="an int (multiply-adds)",
    signature="conv2d_macs(height, width, c_in, c_out, kernel, stride, padding)",
    title="The multiply-adds of a convolution",
    task="Write `conv2d_macs(height, width, c_in, c_out, kernel, stride, padding)`: the multiply-adds of one "
         "`Conv2D` (square kernel) on one image, as `cvtutor.flops.multiply_adds` counts them.",
    hint="Each output value is one dot product of `kernel * kernel * c_in` multiply-adds, so count the output "
         "values: output height times output width times `c_out`. The output sides follow the rule of chapter "
         "1.3.1's output-size exercise, not the input's size.",
    solution=conv2d_macs,
    wrong={
        "input positions instead of output positions": lambda height, width, c_in, c_out, kernel, stride, padding: (
            height * width * kernel * kernel * c_in * c_out),
        "counted as FLOPs (x2)": lambda *args: 2 * conv2d_macs(*args),
        "only the parameters (no positions)": lambda height, width, c_in, c_out, kernel, stride, padding: (
            kernel * kernel * c_in * c_out),
    },
    inputs=lambda rng: [dict(height=h, width=w, c_in=ci, c_out=co, kernel=k, stride=s, padding=p)
                        for h, w, ci, co, k, s, p in _CONVS],
    reference=lambda **kw: np.int64(conv2d_macs(**kw)),
))


def pareto_front(cost, accuracy):
    """Worked solution of 1.5.1-pareto-front: the runs no cheaper (or equally cheap) run matches.

    cost, accuracy: ``(N,)``. Sort by cost (ties: higher accuracy first) and
    keep each run that beats the best accuracy so far. Returns the indices of
    the front, ``(K,)`` ints, by increasing cost. Same result as
    :func:`cvtutor.metrics.pareto_front`.
    """
    order = np.lexsort((-accuracy, cost))
    front, best = [], -np.inf
    for i in order:
        if accuracy[i] > best:
            front.append(i)
            best = accuracy[i]
    return np.array(front, dtype=int)


def _pareto_no_ties(cost, accuracy):
    order = np.argsort(cost, kind="stable")  # equal costs: the first listed comes first, whatever its accuracy
    front, best = [], -np.inf
    for i in order:
        if accuracy[i] > best:
            front.append(i)
            best = accuracy[i]
    return np.array(front, dtype=int)


def _pareto_ge(cost, accuracy):
    order = np.lexsort((-accuracy, cost))
    front, best = [], -np.inf
    for i in order:
        if accuracy[i] >= best:  # a dearer run with only the same accuracy joins too
            front.append(i)
            best = accuracy[i]
    return np.array(front, dtype=int)


def _pareto_inputs(rng):
    cost = rng.uniform(1, 100, 12)
    return [
        dict(cost=np.array([1.0, 2.0, 3.0]), accuracy=np.array([0.5, 0.7, 0.6])),
        dict(cost=np.array([2.0, 2.0, 5.0, 8.0]), accuracy=np.array([0.4, 0.6, 0.6, 0.9])),
        dict(cost=cost, accuracy=np.round(0.4 + 0.003 * cost + rng.normal(0, 0.03, 12), 2)),
        dict(cost=np.array([7.0]), accuracy=np.array([0.3])),
    ]


register(Exercise(
    id="1.5.1-pareto-front", chapter="1.5.1", kind="function", returns="an int array of run indices",
    signature="pareto_front(cost, accuracy)",
    title="A Pareto front",
    task="A run is on the Pareto front of cost and accuracy when no other run costs as much or less and is at least "
         "as accurate. Write `pareto_front(cost, accuracy)`: the indices of the runs on the front, cheapest first.",
    hint="Sort the runs by cost and, among equal costs, the most accurate first (`np.lexsort` sorts by its last key "
         "first). Walking in that order, a run is on the front exactly when it is strictly more accurate than every "
         "run before it.",
    solution=pareto_front,
    wrong={"ties in cost not broken by accuracy": _pareto_no_ties, "equal accuracy at a higher cost kept": _pareto_ge},
    inputs=_pareto_inputs,
    reference=pareto_front,
))


# 1.5.2 Complex structures ------------------------------------------------------


def vit_params():
    """Worked solution of 1.5.2-vit-params: ``build_vit(dim=64, depth=2, num_heads=4, mlp_dim=128)``.

    Like :func:`cvtutor.exercises.attention_model_params`, plus the learned class
    token (64) and a position for it too (65 positions), and no final pooling.
    """
    embedding = 4 * 4 * 3 * 64 + 64
    class_token = 64
    positions = 65 * 64
    block = 2 * (2 * 64) + 4 * (64 * 64 + 64) + (64 * 128 + 128) + (128 * 64 + 64)
    return embedding + class_token + positions + 2 * block + 2 * 64 + (64 * 10 + 10)


register(Exercise(
    id="1.5.2-vit-params", chapter="1.5.2", kind="value", returns="an int (parameters)",
    title="The parameters of a small ViT",
    task="Count by hand the parameters of `build_vit(dim=64, depth=2, num_heads=4, mlp_dim=128)` on 32x32x3 images "
         "(4x4 patches, a class token, 10 logits).",
    hint="Start from the patch-attention model (`build_attention()` with its defaults), which has the same patch "
         "embedding, blocks and final LayerNorm at these settings, and add what the ViT adds: a learned class "
         "token (one 64-vector) and a position for it too. The logits read the class token's final state "
         "instead of an average; neither needs weights.",
    solution=vit_params,
    wrong={
        "class token forgotten (and its position)": lambda: vit_params() - 64 - 64,
        "MLP biases forgotten": lambda: vit_params() - 2 * (128 + 64),
    },
    reference=lambda: keras_params("build_vit", dim=64, depth=2, num_heads=4, mlp_dim=128),
))


def position_similarity(embeddings):
    """Worked solution of 1.5.2-position-similarity: cosine similarity of every pair of position embeddings.

    embeddings: ``(T, D)``, one learned vector per patch position. Returns
    ``(T, T)``: ``e_i . e_j / (|e_i| |e_j|)``, 1 on the diagonal.
    """
    unit = embeddings / np.linalg.norm(embeddings, axis=-1, keepdims=True)
    return unit @ unit.T


register(Exercise(
    id="1.5.2-position-similarity", chapter="1.5.2", kind="function",
    signature="position_similarity(embeddings)",
    title="Similar positions",
    task="Write `position_similarity(embeddings)`: the `(T, T)` cosine similarities between the rows of a ViT's "
         "position embeddings `(T, D)`.",
    hint="Divide each row by its length, `np.linalg.norm(embeddings, axis=-1, keepdims=True)`; the dot products of "
         "the unit rows are then the cosines, and the diagonal is 1.",
    solution=position_similarity,
    wrong={
        "dot products, not normalised": lambda embeddings: embeddings @ embeddings.T,
        "normalised over the positions (columns)": lambda embeddings: (
            (e := embeddings / np.linalg.norm(embeddings, axis=0, keepdims=True)) @ e.T),
    },
    inputs=lambda rng: [dict(embeddings=normal(rng, t, d) * rng.uniform(0.1, 3.0, (t, 1)))
                        for t, d in [(4, 8), (64, 64), (1, 3), (9, 2)]],
    reference=position_similarity,
))


# 1.5.3 Efficient training ------------------------------------------------------


def distillation_loss(teacher_logits, student_logits, temperature):
    """Worked solution of 1.5.3-distillation-loss: the soft-label term of :class:`cvtutor.distill.Distiller`.

    ``T**2 * mean_batch KL(softmax(teacher / T) || softmax(student / T))``
    (Hinton et al., 2015). Logits ``(N, K)``; returns a scalar.
    """
    t = temperature
    log_p_teacher = log_softmax(teacher_logits / t)
    log_p_student = log_softmax(student_logits / t)
    kl = (np.exp(log_p_teacher) * (log_p_teacher - log_p_student)).sum(axis=-1)
    return t ** 2 * kl.mean()


def _kl_reversed(teacher_logits, student_logits, temperature):
    return distillation_loss(student_logits, teacher_logits, temperature)


def _distill_inputs(rng):
    return [dict(teacher_logits=normal(rng, n, k, scale=3.0), student_logits=normal(rng, n, k, scale=2.0),
                 temperature=t) for n, k, t in [(1, 10, 3.0), (8, 10, 1.0), (5, 3, 5.0), (4, 10, 2.0)]]


register(Exercise(
    id="1.5.3-distillation-loss", chapter="1.5.3", kind="function", returns="a number (the mean loss)",
    signature="distillation_loss(teacher_logits, student_logits, temperature)",
    title="The distillation loss",
    task="Write `distillation_loss(teacher_logits, student_logits, temperature)`: `T**2` times the batch mean of "
         "`KL(softmax(teacher / T) || softmax(student / T))`.",
    hint="Divide both logits by `T` before the softmax. With log-softmaxes `log_p` (the teacher's) and `log_q` (the "
         "student's), `KL(p || q) = sum(p * (log_p - log_q))` over the classes; the teacher's distribution is the "
         "one that weights the sum.",
    solution=distillation_loss,
    wrong={
        "T^2 forgotten": lambda teacher_logits, student_logits, temperature: distillation_loss(
            teacher_logits, student_logits, temperature) / temperature ** 2,
        "KL the wrong way round": _kl_reversed,
        "temperature not applied to the logits": lambda teacher_logits, student_logits, temperature: (
            temperature ** 2 * distillation_loss(teacher_logits, student_logits, 1.0)),
    },
    inputs=_distill_inputs,
    reference=lambda **kw: np.float64(distillation_loss(**kw)),
))


def distiller_loss(labels, teacher_logits, student_logits, alpha, temperature):
    """The whole loss :class:`cvtutor.distill.Distiller` minimises, in NumPy.

    ``alpha * CE(labels, student) + (1 - alpha) * distillation_loss(teacher, student, T)``,
    the hard-label cross-entropy at temperature 1. labels ``(N,)``; logits ``(N, K)``.
    """
    hard = sparse_cross_entropy(student_logits, labels)
    soft = distillation_loss(teacher_logits, student_logits, temperature)
    return alpha * hard + (1 - alpha) * soft


def distillation_gradient(teacher_logits, student_logits, temperature):
    """Worked solution of 1.5.3-distillation-gradient: the gradient of :func:`distillation_loss`
    with respect to the student's logits.

    ``T * (softmax(student / T) - softmax(teacher / T)) / N``: the softmax at temperature ``T``
    contributes ``1 / T``, so without the ``T**2`` in front the soft term's gradients would shrink
    as ``1 / T`` against the hard labels' (Hinton et al., 2015, section 2). Logits ``(N, K)``;
    returns ``(N, K)``.
    """
    t, n = temperature, len(student_logits)
    p_teacher = np.exp(log_softmax(teacher_logits / t))
    p_student = np.exp(log_softmax(student_logits / t))
    return t * (p_student - p_teacher) / n


register(Exercise(
    id="1.5.3-distillation-gradient", chapter="1.5.3", kind="function",
    signature="distillation_gradient(teacher_logits, student_logits, temperature)",
    title="Why T squared: the distillation gradient",
    task="Write `distillation_gradient(teacher_logits, student_logits, temperature)`: the gradient, `(N, K)`, of "
         "Exercise 1's distillation loss with respect to the student's logits. Then see what it would be without "
         "the `T**2`.",
    hint="The teacher's part of the KL does not depend on the student. What is left, `-sum_k p_k log q_k` with `q = "
         "softmax(z / T)`, has the gradient `(q - p) / T` with respect to `z` (the cross-entropy gradient, times the "
         "`1 / T` of the chain rule). Multiply by the loss's `T**2` and divide by `N` for the batch mean.",
    solution=distillation_gradient,
    wrong={
        "the chain rule's 1/T forgotten (T**2 left)": lambda teacher_logits, student_logits, temperature: (
            temperature * distillation_gradient(teacher_logits, student_logits, temperature)),
        "the T**2 forgotten": lambda teacher_logits, student_logits, temperature: (
            distillation_gradient(teacher_logits, student_logits, temperature) / temperature ** 2),
        "teacher minus student": lambda teacher_logits, student_logits, temperature: (
            -distillation_gradient(teacher_logits, student_logits, temperature)),
    },
    inputs=_distill_inputs,
    reference=lambda teacher_logits, student_logits, temperature: ref.numeric_gradient(
        lambda z: distillation_loss(teacher_logits, z, temperature), student_logits),
    atol=1e-6,
))


# 1.5.4 Challenges --------------------------------------------------------------


def grad_cam_map(features, gradients):
    """Grad-CAM before upsampling and scaling, as inside :func:`cvtutor.explain.grad_cam`.

    features ``A``: ``(N, h, w, K)``, a convolution's feature maps; gradients: ``(N, h, w, K)``,
    of the class logit with respect to ``A``. ``alpha_k = mean_{i, j} gradients[..., k]``;
    returns ``ReLU(sum_k alpha_k A_k)``, ``(N, h, w)``.
    """
    alpha = gradients.mean(axis=(1, 2))  # (N, K)
    return np.maximum(np.einsum("nhwk,nk->nhw", features, alpha), 0.0)


def hirescam_map(features, gradients):
    """Worked solution of 1.5.4-hirescam: HiResCAM (Draelos and Carin, 2020) before upsampling.

    ``ReLU(sum_k gradients_k * A_k)``: each position keeps its own gradient instead of the
    map's spatial mean. For a model whose last convolution is followed by global average pooling
    and a dense layer, as the book's CNNs, every position's gradient is the same and the two maps
    agree; elsewhere HiResCAM shows exactly where the logit's first-order change comes from.
    features, gradients: ``(N, h, w, K)``; returns ``(N, h, w)``.
    """
    return np.maximum((features * gradients).sum(axis=-1), 0.0)


register(Exercise(
    id="1.5.4-hirescam", chapter="1.5.4", kind="function",
    signature="hirescam_map(features, gradients)",
    title="HiResCAM: Grad-CAM without the average",
    task="Write `hirescam_map(features, gradients)` for feature maps and their gradients `(N, h, w, K)`: "
         "`ReLU(sum_k G_k * A_k)`, where each position is weighted by its own gradient rather than by the spatial "
         "mean that Grad-CAM takes (Draelos and Carin, 2020). Returns `(N, h, w)`.",
    hint="Multiply the two arrays element by element, sum over the last axis (the `K` maps) and keep the positive "
         "part. Then try it on gradients that are the same at every position (`np.broadcast_to` of one `(N, 1, 1, "
         "K)` array): the map equals Grad-CAM's. That is the case of a network whose last convolution is followed "
         "by global average pooling and a dense layer, where every position's gradient is the dense weight over "
         "`h * w`.",
    solution=hirescam_map,
    wrong={
        "Grad-CAM (gradients averaged first)": grad_cam_map,
        "ReLU on each map before the sum": lambda features, gradients: np.maximum(features * gradients, 0.0).sum(
            axis=-1),
        "ReLU forgotten": lambda features, gradients: (features * gradients).sum(axis=-1),
    },
    inputs=lambda rng: [dict(features=np.maximum(normal(rng, *s), 0), gradients=normal(rng, *s) + 0.2)
                        for s in [(1, 4, 4, 8), (2, 6, 6, 16), (1, 2, 2, 3), (3, 2, 5, 4)]],
    reference=lambda features, gradients: np.maximum(np.einsum("nhwk,nhwk->nhw", features, gradients), 0.0),
))


def attention_rollout(weights):
    """Worked solution of 1.5.4-attention-rollout (Abnar and Zuidema, 2020).

    weights: ``(L, heads, T, T)``, the attention weights of ``L`` layers, first
    layer first. Each layer's head average ``A`` gets the residual connection,
    ``A' = A + I``, its rows renormalised to sum to 1; the layers chain as
    ``R = A'_L ... A'_1``. Returns ``R``, ``(T, T)``, as inside
    :func:`cvtutor.explain.attention_rollout`.
    """
    tokens = weights.shape[-1]
    rollout = np.eye(tokens)
    for layer in weights:
        a = layer.mean(axis=0) + np.eye(tokens)
        rollout = (a / a.sum(axis=-1, keepdims=True)) @ rollout
    return rollout


def _rollout_wrong_order(weights):
    tokens = weights.shape[-1]
    rollout = np.eye(tokens)
    for layer in weights:
        a = layer.mean(axis=0) + np.eye(tokens)
        rollout = rollout @ (a / a.sum(axis=-1, keepdims=True))  # A'_1 ... A'_L
    return rollout


def _rollout_no_residual(weights):
    rollout = np.eye(weights.shape[-1])
    for layer in weights:
        rollout = layer.mean(axis=0) @ rollout
    return rollout


register(Exercise(
    id="1.5.4-attention-rollout", chapter="1.5.4", kind="function",
    signature="attention_rollout(weights)",
    title="Attention rollout",
    task="Write `attention_rollout(weights)` for attention weights `(L, heads, T, T)`: `R = A'_L ... A'_1`, with "
         "`A'` the head-averaged weights plus the identity, rows renormalised.",
    hint="For each layer, average over the heads (axis 0 of that layer's `(heads, T, T)`), add `np.eye(T)` for the "
         "residual connection and divide each row by its sum. Start from `R = np.eye(T)`; a later layer multiplies "
         "from the left.",
    solution=attention_rollout,
    wrong={"layers chained in the wrong order": _rollout_wrong_order,
           "residual (identity) forgotten": _rollout_no_residual},
    inputs=lambda rng: [dict(weights=ref.softmax(normal(rng, *s, scale=2.0), axis=-1))
                        for s in [(1, 1, 3, 3), (2, 4, 5, 5), (3, 2, 17, 17), (4, 1, 2, 2)]],
    reference=attention_rollout,
))


# 1.5.5: a pre-trained backbone ------------------------------------------------


def head_params():
    """Worked solution of 1.5.5-head-params: a two-layer head on ResNet-18's 512 pooled features.

    ``Dense(256)``: 512 x 256 weights + 256 biases; ``BatchNormalization``: 4 x 256 (gamma and
    beta train, the moving mean and variance do not, and ``count_params`` counts all four);
    ``ReLU``: none; ``Dense(10)``: 256 x 10 + 10.
    """
    return (512 * 256 + 256) + 4 * 256 + (256 * 10 + 10)


def _deeper_head_reference():
    import keras

    head = keras.Sequential([keras.Input((512,)), keras.layers.Dense(256), keras.layers.BatchNormalization(),
                             keras.layers.ReLU(), keras.layers.Dense(10)])
    return head.count_params()


register(Exercise(
    id="1.5.5-head-params", chapter="1.5.5", kind="value", returns="an int (parameters)",
    title="The parameters of a deeper head",
    task="The chapter's head is one `Dense` layer. Count, as `count_params()` does, the parameters of a two-layer "
         "head on ResNet-18's pooled features for CIFAR-10's 10 classes: `Dense(256)`, `BatchNormalization()`, "
         "`ReLU()`, `Dense(10)`.",
    hint="ResNet-18's last stage has 512 channels, and average pooling turns its feature map into one 512-vector "
         "per image, whatever the image size. A `Dense` layer has one weight per input and output and one bias per "
         "output. Batch normalisation keeps four numbers per channel: `gamma` and `beta`, which train, and the "
         "moving mean and variance, which do not but are counted.",
    solution=head_params,
    wrong={
        "biases forgotten": lambda: 512 * 256 + 4 * 256 + 256 * 10,
        "only the trainable half of batch normalisation": lambda: head_params() - 2 * 256,
        "the chapter's linear head": lambda: 512 * 10 + 10,
    },
    reference=_deeper_head_reference,
))


def feature_map_shape(num_images, image_size):
    """Worked solution of 1.5.5-feature-map-shape: ResNet-18's output before pooling, ``(N, h, w, 512)``.

    The stem halves the side twice (a 7x7 convolution with stride 2, then a 3x3 max pool with stride 2),
    then stages 2 to 4 halve it once each: 32 in all, each halving rounding up (every layer pads, so a
    side of 7 becomes 4). The cached features are the average of this map over ``h`` and ``w``:
    ``(N, 512)``.
    """
    side = image_size
    for _ in range(5):
        side = -(-side // 2)  # ceil(side / 2)
    return (num_images, side, side, 512)


register(Exercise(
    id="1.5.5-feature-map-shape", chapter="1.5.5", kind="function", returns="the shape (N, h, w, C): 4 integers",
    signature="feature_map_shape(num_images, image_size)",
    title="The shape of the features before pooling",
    task="Write `feature_map_shape(num_images, image_size)`: the shape `(N, h, w, C)` of ResNet-18's output for "
         "`num_images` square images resized to `image_size` (before the pooling that makes the cached "
         "`(N, 512)` features).",
    hint="Count the halvings: the stem's strided convolution and its max pool, then one for each stage after the "
         "first (of the four stages, the last three start with a stride of 2). Each halving rounds up, because every "
         "layer pads its input. The channels are the last stage's.",
    solution=feature_map_shape,
    wrong={
        "the halvings rounded down": lambda num_images, image_size: (num_images, image_size // 32, image_size // 32,
                                                                     512),
        "the stem's max pool forgotten": lambda num_images, image_size: (
            num_images, -(-image_size // 16), -(-image_size // 16), 512),
        "the pooled shape (N, C)": lambda num_images, image_size: (num_images, 512),
    },
    inputs=lambda rng: [dict(num_images=n, image_size=s) for n, s in [(1, 224), (50, 64), (7, 32), (3, 100)]],
    # compared as an array of 4 integers, so that a tuple, a list or an array all pass
    reference=lambda **arguments: np.array(feature_map_shape(**arguments)),
))
