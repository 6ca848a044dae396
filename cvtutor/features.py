"""What a trained network learned: its features, the images that excite them, their neighbours.

Chapter 1.4.4 opens the CNN of chapter 1.4.1 after training. The functions here compute; the
figures are drawn by :mod:`cvtutor.plots.features`.

- :func:`conv_layer_names`, :func:`penultimate_layer` and :func:`layer_outputs`: the activations
  of a model's named layers for a batch of images (feature maps, or their means over space).
- :func:`neighbour_contrast` and :func:`rearranged_contrast`: how smooth a bank of convolution
  kernels is, against the same weights placed at random (a permutation test).
- :func:`top_activating`: the images that excite a channel most, by its mean activation
  (Zeiler and Fergus, 2014, show such images for each channel).
- :func:`nearest_neighbours`, :func:`label_agreement`, :func:`chance_agreement` and
  :func:`knn_accuracy`: nearest neighbours by cosine similarity in a feature space, how often
  they share a query's label, and a k-nearest-neighbour classifier on the features (Krizhevsky
  et al., 2012, figure 4, show such neighbours in their network's last hidden layer). The
  neighbour searches are scikit-learn's ``NearestNeighbors`` and ``KNeighborsClassifier``.

Images are ``(N, H, W, C)``, uint8 (scaled to [0, 1] first, as :mod:`cvtutor.data` does) or
float in [0, 1]; features are float32 arrays whose first axis indexes the images.
"""

from __future__ import annotations

import numbers

import numpy as np

from cvtutor import checks

__all__ = ["chance_agreement", "conv_layer_names", "knn_accuracy", "label_agreement", "layer_outputs",
           "nearest_neighbours", "neighbour_contrast", "penultimate_layer", "rearranged_contrast",
           "top_activating"]


# Activations of named layers ----------------------------------------------------------------------


def conv_layer_names(model) -> list[str]:
    """The names of ``model``'s ``Conv2D`` layers, input side first: its convolutional stages.

    Keras numbers unnamed layers in the order they were made (``conv2d``, ``conv2d_3``, ...), so a
    chapter finds them by kind rather than by name.

    Raises:
        TypeError: ``model`` is not a ``keras.Model``.
        ValueError: ``model`` is not a functional model with one input and one output, or it has
            no ``Conv2D`` layer.
    """
    import keras

    checks.functional_model("model", model)
    names = [layer.name for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    if not names:
        raise ValueError(f"model '{model.name}' has no Conv2D layer; its layers are "
                         f"{[layer.name for layer in model.layers]}")
    return names


def penultimate_layer(model) -> str:
    """The name of the layer whose output feeds ``model``'s last layer: the features its classifier
    reads (for :func:`cvtutor.models.build_cnn`, the 64 units of ``Dense(64)`` after their ReLU).

    Raises:
        TypeError: ``model`` is not a ``keras.Model``.
        ValueError: ``model`` is not a functional model with one input and one output, or its
            last layer reads the images directly.
    """
    import keras

    checks.functional_model("model", model)
    last = model.layers[-1]
    producers = [layer for layer in model.layers[:-1] if layer.output is last.input]
    if not producers or isinstance(producers[0], keras.layers.InputLayer):
        raise ValueError(f"the last layer of model '{model.name}' reads the images directly: no features to take")
    return producers[0].name


def layer_outputs(model, images, layer_names, *, spatial_mean: bool = False,
                  batch_size: int = 256) -> dict[str, np.ndarray]:
    """The outputs of ``model``'s layers ``layer_names`` for ``images``, in one pass per batch.

    Args:
        model: a functional ``keras.Model`` with one input.
        images: ``(N, H, W, C)`` uint8 0..255 or float in [0, 1].
        layer_names: the layers' names (a list; :func:`conv_layer_names`, :func:`penultimate_layer`).
        spatial_mean: average each output over its spatial axes, ``(N, h, w, C)`` -> ``(N, C)``:
            a channel's mean activation, small enough to keep for a whole test set (one stage's
            feature maps of 10,000 CIFAR-10 images take about a gigabyte).
        batch_size: images per forward pass.

    Returns:
        ``{name: float32 array}``, in the order of ``layer_names``: each ``(N, *layer output
        shape)``, or ``(N, C)`` with ``spatial_mean``.

    Raises:
        TypeError: ``model`` is not a ``keras.Model``, ``layer_names`` not a list or tuple of
            strings, ``batch_size`` not an integer.
        ValueError: ``model`` has not one input and one output, a name is no layer of it or is
            given twice, ``layer_names`` is empty, ``images`` do not fit the model,
            ``batch_size`` below 1, or no images.
    """
    import keras

    checks.functional_model("model", model)
    checks.instance("layer_names", layer_names, (list, tuple), "a list of layer names")
    known = [layer.name for layer in model.layers]
    if not layer_names or len(set(layer_names)) != len(layer_names):
        raise ValueError(f"layer_names must name one or more distinct layers, got {layer_names!r}")
    for name in layer_names:
        checks.instance("layer_names[...]", name, str, "a layer's name")
        if name not in known:
            raise ValueError(f"layer_names: {name!r} is not a layer of model '{model.name}'; its layers are {known}")
    batch_size = checks.positive_int("batch_size", batch_size)
    x = np.asarray(images)
    expected = tuple(model.inputs[0].shape[1:])
    if x.ndim != 4 or len(x) == 0 or any(e is not None and e != g for e, g in zip(expected, x.shape[1:])):
        shape = ", ".join(map(str, expected))
        raise ValueError(f"images must have shape (N, {shape}), N >= 1, for model '{model.name}', got {x.shape}")
    extractor = keras.Model(model.inputs[0], [model.get_layer(name).output for name in layer_names])
    parts = {name: [] for name in layer_names}
    for start in range(0, len(x), batch_size):
        batch = x[start:start + batch_size]
        batch = batch.astype("float32") / 255.0 if batch.dtype == np.uint8 else batch.astype("float32")
        outputs = extractor(batch, training=False)
        outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
        for name, output in zip(layer_names, outputs):
            output = keras.ops.convert_to_numpy(output).astype("float32")
            if spatial_mean and output.ndim > 2:
                output = output.mean(axis=tuple(range(1, output.ndim - 1)))
            parts[name].append(output)
    return {name: np.concatenate(chunks) for name, chunks in parts.items()}


# How smooth are the kernels? ----------------------------------------------------------------------


def _as_kernel(kernel) -> np.ndarray:
    kernel = np.asarray(kernel, dtype=np.float64)
    if kernel.ndim != 4 or kernel.shape[0] * kernel.shape[1] < 2:
        raise ValueError(f"kernel must have Keras's Conv2D layout (kh, kw, C_in, C_out) with kh * kw >= 2, "
                         f"got shape {kernel.shape}")
    if not np.all(np.isfinite(kernel)):
        raise ValueError("kernel holds NaN or infinite values")
    return kernel


def _contrast(columns: np.ndarray, kh: int, kw: int) -> np.ndarray:
    """The neighbour contrast of kernels stored as ``(..., kh * kw, M)``: one value per leading index."""
    grid = columns.reshape(*columns.shape[:-2], kh, kw, columns.shape[-1])
    across = np.square(np.diff(grid, axis=-2)).sum(axis=(-3, -2, -1))  # left-right neighbours
    down = np.square(np.diff(grid, axis=-3)).sum(axis=(-3, -2, -1))  # up-down neighbours
    pairs_adjacent = kh * (kw - 1) + kw * (kh - 1)
    n = kh * kw
    # the sum over all n (n - 1) / 2 pairs of one kernel of (a_i - a_j)^2 is n sum a^2 - (sum a)^2
    all_pairs = (n * np.square(columns).sum(axis=-2) - np.square(columns.sum(axis=-2))).sum(axis=-1)
    adjacent = (across + down) / pairs_adjacent
    typical = all_pairs / (n * (n - 1) / 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(typical > 0, adjacent / np.where(typical > 0, typical, 1.0), 1.0)


def neighbour_contrast(kernel) -> float:
    """How different neighbouring weights of a bank of convolution kernels are, relative to any two
    weights of the same kernel: 1 for weights placed at random, below 1 for smooth kernels.

    For each kernel ``w = kernel[:, :, c, f]`` (one input channel of one filter), take the squared
    differences of horizontally and vertically adjacent weights, and of all pairs of its weights;
    the contrast is the mean of the first over the mean of the second, each pooled over every
    kernel of the bank (Geary's ratio of spatial autocorrelation, in the form a permutation test
    needs: rearranging each kernel's weights at random leaves the denominator as it is and makes
    every adjacent pair a random pair, so the contrast's expectation is exactly 1).

    Args:
        kernel: ``(kh, kw, C_in, C_out)`` weights, Keras's ``Conv2D`` layout; ``kh * kw >= 2``.

    Returns:
        the contrast, a float >= 0 (1.0 when every kernel is constant).

    Raises:
        ValueError: ``kernel`` is not 4-D with at least two positions, or holds NaN or infinity.

    Source: R. C. Geary, "The contiguity ratio and statistical mapping", *The Incorporated
    Statistician* 5 (1954).
    """
    kernel = _as_kernel(kernel)
    kh, kw = kernel.shape[:2]
    return float(_contrast(kernel.reshape(kh * kw, -1), kh, kw))


def rearranged_contrast(kernel, rearrangements: int = 1000, seed: int = 0) -> np.ndarray:
    """:func:`neighbour_contrast` of ``kernel`` with each kernel's weights put in random places:
    what the contrast of these weights would be if their arrangement carried no structure.

    Each of the ``C_in * C_out`` kernels is permuted over its ``kh * kw`` positions independently;
    the share of rearrangements whose contrast is at most the real kernel's is the one-sided
    p-value of a permutation test of "smoother than chance".

    Args:
        kernel: ``(kh, kw, C_in, C_out)`` weights, as for :func:`neighbour_contrast`.
        rearrangements: how many random rearrangements.
        seed: the random generator's seed.

    Returns:
        float64 array ``(rearrangements,)`` of contrasts, mean about 1.

    Raises:
        TypeError: ``rearrangements`` or ``seed`` is not an integer.
        ValueError: ``kernel`` as for :func:`neighbour_contrast`, ``rearrangements`` below 1,
            ``seed`` negative.

    Source: a permutation test, e.g. B. Efron and R. Tibshirani, *An Introduction to the
    Bootstrap*, 1993, chapter 15.
    """
    kernel = _as_kernel(kernel)
    rearrangements = checks.positive_int("rearrangements", rearrangements)
    seed = checks.scalar("seed", seed, numbers.Integral, minimum=0)
    kh, kw = kernel.shape[:2]
    columns = kernel.reshape(kh * kw, -1)
    rng = np.random.default_rng(seed)
    out = np.empty(rearrangements)
    for start in range(0, rearrangements, 100):  # 100 rearrangements at a time: bounded memory
        count = min(100, rearrangements - start)
        shuffled = rng.permuted(np.broadcast_to(columns, (count, *columns.shape)), axis=1)
        out[start:start + count] = _contrast(shuffled, kh, kw)
    return out


# The images that excite a channel ---------------------------------------------------------------------


def top_activating(activations, channels, k: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """For each channel in ``channels``, the ``k`` images with its highest mean activation.

    Args:
        activations: ``(N, C)`` channel means (:func:`layer_outputs` with ``spatial_mean=True``)
            or ``(N, h, w, C)`` feature maps, averaged over space here.
        channels: the channels to rank by, a list of integers in ``[0, C)``.
        k: images per channel, at most ``N``.

    Returns:
        ``(indices, values)``: int64 ``(len(channels), k)`` image indices, strongest first (ties
        in the order of the images), and their mean activations, float64 of the same shape.

    Raises:
        TypeError: ``k`` or a channel is not an integer.
        ValueError: ``activations`` not 2-D or 4-D or not finite, a channel outside ``[0, C)``,
            ``k`` below 1 or above ``N``.
    """
    activations = np.asarray(activations, dtype=np.float64)
    if activations.ndim == 4:
        activations = activations.mean(axis=(1, 2))
    if activations.ndim != 2:
        raise ValueError(f"activations must have shape (N, C) or (N, h, w, C), got {activations.shape}")
    if not np.all(np.isfinite(activations)):
        raise ValueError("activations hold NaN or infinite values")
    n, c = activations.shape
    checks.instance("channels", channels, (list, tuple, np.ndarray), "a list of channel indices")
    if len(channels) == 0:
        raise ValueError(f"channels must name at least one channel in [0, {c}), got {channels!r}")
    channels = [checks.scalar("channels[...]", ch, numbers.Integral, minimum=0, maximum=c - 1) for ch in channels]
    k = checks.scalar("k", k, numbers.Integral, minimum=1, maximum=n)
    scores = activations[:, channels].T  # (channels, N)
    indices = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    return indices.astype(np.int64), np.take_along_axis(scores, indices, axis=1)


# Neighbours in a feature space --------------------------------------------------------------------


def _features(name, value) -> np.ndarray:
    value = np.asarray(value)
    if value.ndim < 2 or len(value) == 0:
        raise ValueError(f"{name} must have shape (N, ...) with N >= 1, got {value.shape}")
    value = value.reshape(len(value), -1).astype(np.float32)
    if not np.all(np.isfinite(value)):
        raise ValueError(f"{name} hold NaN or infinite values")
    return value


def _labels(name, value, n) -> np.ndarray:
    value = np.asarray(value)
    if value.shape != (n,) or not np.issubdtype(value.dtype, np.integer):
        raise ValueError(f"{name} must be {n} integer labels, shape ({n},), got {value.dtype} {value.shape}")
    return value


def nearest_neighbours(queries, references, k: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` references nearest to each query by cosine distance, ``1 - cos(angle)``.

    Cosine distance ignores a feature vector's length, which after ReLU layers grows with the
    image's contrast as much as with its content. Features of any shape are flattened first;
    a vector of zeros is at distance 1 from everything (scikit-learn's convention).

    Args:
        queries: ``(Q, ...)`` features of the query images.
        references: ``(R, ...)`` features of the images searched, of the same size per image.
        k: neighbours per query, at most ``R``.

    Returns:
        ``(indices, distances)``: int64 ``(Q, k)`` rows of ``references``, nearest first, and
        their cosine distances, float ``(Q, k)`` in [0, 2].

    Raises:
        TypeError: ``k`` is not an integer.
        ValueError: empty or non-finite features, features of different sizes, ``k`` below 1 or
            above ``R``.

    Source: scikit-learn's ``NearestNeighbors(metric="cosine", algorithm="brute")``.
    """
    from sklearn.neighbors import NearestNeighbors

    queries, references = _features("queries", queries), _features("references", references)
    if queries.shape[1] != references.shape[1]:
        raise ValueError(f"queries and references must have the same size per image, got {queries.shape[1]} "
                         f"and {references.shape[1]}")
    k = checks.scalar("k", k, numbers.Integral, minimum=1, maximum=len(references))
    search = NearestNeighbors(n_neighbors=k, metric="cosine", algorithm="brute").fit(references)
    distances, indices = search.kneighbors(queries)
    return indices.astype(np.int64), distances


def label_agreement(neighbour_indices, reference_labels, query_labels) -> np.ndarray:
    """For each query, the share of its neighbours whose label is the query's.

    Args:
        neighbour_indices: ``(Q, k)`` rows of the references (:func:`nearest_neighbours`).
        reference_labels: ``(R,)`` integer labels of the references.
        query_labels: ``(Q,)`` integer labels of the queries.

    Returns:
        float64 ``(Q,)`` shares in [0, 1].

    Raises:
        ValueError: arrays of the wrong shapes or kinds, or an index outside ``[0, R)``.
    """
    indices = np.asarray(neighbour_indices)
    if indices.ndim != 2 or not np.issubdtype(indices.dtype, np.integer):
        raise ValueError(f"neighbour_indices must be (Q, k) integers, got {indices.dtype} {indices.shape}")
    reference_labels = _labels("reference_labels", reference_labels, len(np.asarray(reference_labels)))
    query_labels = _labels("query_labels", query_labels, len(indices))
    if indices.size and (indices.min() < 0 or indices.max() >= len(reference_labels)):
        raise ValueError(f"neighbour_indices must be in [0, {len(reference_labels)}), got "
                         f"{indices.min()}..{indices.max()}")
    return (reference_labels[indices] == query_labels[:, None]).mean(axis=1)


def chance_agreement(query_labels, reference_labels) -> float:
    """The share :func:`label_agreement` expects for neighbours drawn at random from the references:
    ``sum_c q_c r_c``, with ``q_c`` and ``r_c`` the shares of class ``c`` among the queries and
    among the references (0.1 for ten balanced classes).

    Raises:
        ValueError: empty, non-integer or negative labels.
    """
    query_labels = _labels("query_labels", query_labels, len(np.asarray(query_labels)))
    reference_labels = _labels("reference_labels", reference_labels, len(np.asarray(reference_labels)))
    if not len(query_labels) or not len(reference_labels):
        raise ValueError("query_labels and reference_labels must not be empty")
    if min(query_labels.min(), reference_labels.min()) < 0:
        raise ValueError("labels must be non-negative integers")
    size = int(max(query_labels.max(), reference_labels.max())) + 1
    q = np.bincount(query_labels, minlength=size) / len(query_labels)
    r = np.bincount(reference_labels, minlength=size) / len(reference_labels)
    return float(q @ r)


def knn_accuracy(train_features, train_labels, test_features, test_labels, k: int = 10) -> tuple[float, np.ndarray]:
    """Accuracy of a k-nearest-neighbour classifier on features: each test image gets the label most
    common among its ``k`` nearest training images by cosine distance.

    Args:
        train_features: ``(N, ...)`` features of the training images.
        train_labels: ``(N,)`` their integer labels.
        test_features: ``(M, ...)`` features of the test images.
        test_labels: ``(M,)`` their integer labels.
        k: neighbours that vote, at most ``N``.

    Returns:
        ``(accuracy, correct)``: the share of test images classified correctly, a float in
        [0, 1], and which ones, bool ``(M,)`` (to pair with another classifier on the same images).

    Raises:
        TypeError: ``k`` is not an integer.
        ValueError: as :func:`nearest_neighbours`, or labels of the wrong shapes.

    Source: scikit-learn's ``KNeighborsClassifier(metric="cosine", algorithm="brute")``, which
    gives each of the ``k`` neighbours one vote and breaks a tie in favour of the smallest label.
    """
    from sklearn.neighbors import KNeighborsClassifier

    train_features, test_features = _features("train_features", train_features), _features("test_features",
                                                                                            test_features)
    if train_features.shape[1] != test_features.shape[1]:
        raise ValueError(f"train_features and test_features must have the same size per image, got "
                         f"{train_features.shape[1]} and {test_features.shape[1]}")
    train_labels = _labels("train_labels", train_labels, len(train_features))
    test_labels = _labels("test_labels", test_labels, len(test_features))
    k = checks.scalar("k", k, numbers.Integral, minimum=1, maximum=len(train_features))
    classifier = KNeighborsClassifier(n_neighbors=k, metric="cosine", algorithm="brute")
    correct = classifier.fit(train_features, train_labels).predict(test_features) == test_labels
    return float(correct.mean()), correct
