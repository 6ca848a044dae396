"""Exercises of chapter 1.4.4 (what the CNN learned).

References: NumPy versions of the window where one first-layer filter responds most (Zeiler and
Fergus's "top patch" at the first layer), of a k-nearest-neighbour vote by cosine similarity that
breaks ties by the nearest neighbour, and of the window of input pixels one unit of a stack of
unpadded layers sees. ``tests/test_exercises.py`` checks the first against ``keras.layers.Conv2D``
and the last against the gradient of ``build_cnn``'s second stage.
"""

from __future__ import annotations

import numpy as np

from cvtutor.exercises._basics import normal
from cvtutor.exercises._core import Exercise, register

# The patch a first-layer filter likes best ---------------------------------------------------------


def _responses(images, kernel):
    """``r[n, i, j] = sum_{u, v, c} images[n, i + u, j + v, c] kernel[u, v, c]``, valid positions."""
    kh, kw = kernel.shape[:2]
    n, h, w, _ = images.shape
    out = np.zeros((n, h - kh + 1, w - kw + 1))
    for u in range(kh):
        for v in range(kw):
            out += images[:, u:u + h - kh + 1, v:v + w - kw + 1, :] @ kernel[u, v]
    return out


def top_patch(images, kernel):
    """Worked solution of 1.4.4-top-patch: the window of ``images`` where the filter ``kernel``
    responds most.

    The filter's response at image ``n``, position ``(i, j)`` is the sum of the window
    ``images[n, i:i + kh, j:j + kw, :]`` times the kernel, what ``Conv2D`` computes before its bias
    and ReLU (a bias adds the same to every position, and ReLU keeps the order of positive values,
    so neither changes which window wins). The largest over every image and valid position wins.
    """
    responses = _responses(images, kernel)
    n, i, j = np.unravel_index(np.argmax(responses), responses.shape)
    kh, kw = kernel.shape[:2]
    return images[n, i:i + kh, j:j + kw, :]


def _top_patch_absolute(images, kernel):
    responses = np.abs(_responses(images, kernel))  # a strongly negative response wins too
    n, i, j = np.unravel_index(np.argmax(responses), responses.shape)
    return images[n, i:i + kernel.shape[0], j:j + kernel.shape[1], :]


def _top_patch_flipped(images, kernel):
    return top_patch(images, kernel[::-1, ::-1])  # a true convolution: the kernel turned by 180 degrees


def _top_patch_brightest(images, kernel):
    responses = _responses(images, np.ones_like(kernel))  # the brightest window, whatever the filter
    n, i, j = np.unravel_index(np.argmax(responses), responses.shape)
    return images[n, i:i + kernel.shape[0], j:j + kernel.shape[1], :]


def _top_patch_inputs(rng):
    cases = [(3, 7, 7, 3, 3), (1, 5, 5, 3, 3), (4, 6, 8, 2, 2), (2, 9, 9, 3, 5)]
    out = []
    for n, h, w, c, k in cases:
        while True:  # a clear winner, so that float32 and float64 agree on it
            images = rng.uniform(0.0, 1.0, (n, h, w, c))
            kernel = normal(rng, k, k, c)
            best = np.sort(_responses(images, kernel).ravel())
            if best[-1] - best[-2] > 1e-3:
                break
        out.append(dict(images=images, kernel=kernel))
    return out


register(Exercise(
    id="1.4.4-top-patch", chapter="1.4.4", kind="function", returns="an array (kh, kw, C)",
    signature="top_patch(images, kernel)",
    title="The patch a first-layer filter likes best",
    task="Write `top_patch(images, kernel)`: of all the `kh x kw` windows of `images` `(N, H, W, C)` (every image, "
         "every position where the window fits), the one where the first-layer filter `kernel` `(kh, kw, C)` "
         "responds most, as `Conv2D` computes the response before its bias and ReLU; return the window, an array "
         "`(kh, kw, C)`.",
    hint="The response at image `n`, position `(i, j)` is `(images[n, i:i + kh, j:j + kw, :] * kernel).sum()`: Keras's "
         "convolution does not flip the kernel. Compute it for every `(n, i, j)` (loops are fine, or one loop over the "
         "kernel's `(u, v)` as in chapter 1.3.1), take the largest, not the largest in absolute value, and slice that "
         "window out. The bias is the same everywhere, so it cannot change the winner.",
    solution=top_patch,
    wrong={"the largest absolute response": _top_patch_absolute,
           "the kernel flipped (a true convolution)": _top_patch_flipped,
           "the brightest window": _top_patch_brightest},
    inputs=_top_patch_inputs,
    reference=top_patch,
))


# A k-nearest-neighbour vote that breaks ties by the nearest -------------------------------------------


def _cosine(train_features, test_features):
    def unit(a):
        return a / np.linalg.norm(a, axis=1, keepdims=True)

    return unit(test_features) @ unit(train_features).T  # (M, N)


def _vote_nearest_first(order, train_labels, k):
    """The label most common among ``order[:k]``; among tied labels, the one met first."""
    predictions = []
    for row in order[:, :k]:
        labels = train_labels[row]
        counts = {label: int((labels == label).sum()) for label in labels}
        top = max(counts.values())
        predictions.append(next(label for label in labels if counts[label] == top))
    return np.array(predictions, dtype=np.int64)


def knn_vote(train_features, train_labels, test_features, k):
    """Worked solution of 1.4.4-knn-vote: a k-nearest-neighbour vote by cosine similarity, ties broken
    in favour of the tied class whose member is nearest.

    Cosine similarity is the dot product of the vectors divided by their lengths; the ``k`` most
    similar training vectors vote, one vote each. Going through them from the nearest, the first
    label with the most votes wins, so a tie goes to the class that came nearest. (scikit-learn's
    ``KNeighborsClassifier`` gives a tie to the smallest label instead.)
    """
    order = np.argsort(-_cosine(train_features, test_features), axis=1, kind="stable")
    return _vote_nearest_first(order, np.asarray(train_labels), k)


def _knn_smallest_label(train_features, train_labels, test_features, k):
    from sklearn.neighbors import KNeighborsClassifier  # what the chapter uses: ties to the smallest label

    classifier = KNeighborsClassifier(n_neighbors=k, metric="cosine", algorithm="brute")
    return classifier.fit(train_features, train_labels).predict(test_features)


def _knn_euclidean(train_features, train_labels, test_features, k):
    distances = np.linalg.norm(test_features[:, None, :] - train_features[None, :, :], axis=-1)
    return _vote_nearest_first(np.argsort(distances, axis=1), np.asarray(train_labels), k)


def _knn_dot_product(train_features, train_labels, test_features, k):
    return _vote_nearest_first(np.argsort(-(test_features @ train_features.T), axis=1), np.asarray(train_labels), k)


def _knn_inputs(rng):
    cases = [(30, 8, 6, 3, 2), (40, 5, 7, 4, 4), (25, 6, 5, 3, 1), (50, 10, 9, 5, 3)]
    out = []
    for n, m, d, classes, k in cases:
        while True:  # the k nearest clearly ranked, and clearly ahead of the next one
            train = normal(rng, n, d) * rng.uniform(0.2, 5.0, (n, 1))  # lengths vary: cosine is not Euclidean
            test = normal(rng, m, d) * rng.uniform(0.2, 5.0, (m, 1))
            similarity = np.sort(_cosine(train, test), axis=1)[:, ::-1][:, :k + 1]
            if np.all(-np.diff(similarity, axis=1) > 1e-4):
                break
        out.append(dict(train_features=train, train_labels=rng.integers(0, classes, n),
                        test_features=test, k=k))
    return out


register(Exercise(
    id="1.4.4-knn-vote", chapter="1.4.4", kind="function", returns="an array (M,) of integer labels",
    signature="knn_vote(train_features, train_labels, test_features, k)",
    title="A neighbour vote that breaks ties by the nearest",
    task="Write `knn_vote(train_features, train_labels, test_features, k)`: for each row of `test_features` `(M, D)`, "
         "the label most common among its `k` most similar rows of `train_features` `(N, D)` by cosine similarity, "
         "a tie going to the tied label whose training vector is most similar; return the labels, an integer array "
         "`(M,)`.",
    hint="Divide every vector by its length; the similarities are then one matrix product, `(M, N)`. Sort each row "
         "from the most similar (`np.argsort(-s, axis=1)`), keep the first `k`, count their labels, and walk the `k` "
         "from the nearest: the first label with the top count wins. The chapter's `KNeighborsClassifier` breaks ties "
         "differently, so it is no answer here; nor is the Euclidean distance of vectors of different lengths.",
    solution=knn_vote,
    wrong={"scikit-learn's KNeighborsClassifier (a tie to the smallest label)": _knn_smallest_label,
           "Euclidean distance on the raw features": _knn_euclidean,
           "the dot product, not divided by the lengths": _knn_dot_product},
    inputs=_knn_inputs,
    reference=knn_vote,
))


# Where a unit of a later stage looks ------------------------------------------------------------------


def unit_window(layers, row, col):
    """Worked solution of 1.4.4-unit-window: the square of input pixels that unit ``(row, col)`` of the
    last of a stack of unpadded layers sees, as ``(top, left, size)``.

    Without padding, output ``i`` of a layer with kernel ``k`` and stride ``s`` reads its inputs
    ``s i`` to ``s i + k - 1``. Going up the stack, the jump ``j`` (input pixels between two
    neighbouring units) multiplies by each stride and the field ``r`` grows by ``(k - 1) j``, with
    the jump of the layers below; unit ``(row, col)`` of the last layer starts at input pixel
    ``(row j_L, col j_L)``, and its window is ``r_L`` pixels wide.
    """
    field, jump = 1, 1
    for kernel, stride in layers:
        field += (kernel - 1) * jump
        jump *= stride
    return np.int64(row * jump), np.int64(col * jump), np.int64(field)


def _window_no_stride(layers, row, col):
    _, _, size = unit_window(layers, row, col)
    return row, col, size


def _window_centre(layers, row, col):
    top, left, size = unit_window(layers, row, col)
    return top + (size - 1) // 2, left + (size - 1) // 2, size  # the centre, not the corner


def _window_last_stride_missing(layers, row, col):
    field, jump = 1, 1
    for kernel, stride in layers[:-1]:
        field += (kernel - 1) * jump
        jump *= stride
    if layers:
        field += (layers[-1][0] - 1) * jump
    return row * jump, col * jump, field  # right only when the last layer's stride is 1


def _window_inputs(rng):
    cnn_second_stage = [(3, 1), (2, 2), (3, 1)]  # build_cnn: conv, pool, conv
    cnn_third_stage = [(3, 1), (2, 2), (3, 1), (2, 2), (3, 1)]
    strided = [(3, 2), (3, 2), (2, 2)]
    return [dict(layers=cnn_second_stage, row=4, col=7), dict(layers=cnn_third_stage, row=3, col=1),
            dict(layers=strided, row=2, col=5), dict(layers=[(5, 1)], row=0, col=3),
            dict(layers=cnn_second_stage, row=12, col=0)]


register(Exercise(
    id="1.4.4-unit-window", chapter="1.4.4", kind="function", returns="a triple (top, left, size) of ints",
    signature="unit_window(layers, row, col)",
    title="Where a unit of a later stage looks",
    task="Write `unit_window(layers, row, col)`: the square of input pixels that unit `(row, col)` of the last layer "
         "of a stack of unpadded `(kernel_size, stride)` layers (first layer first) depends on, as `(top, left, "
         "size)`; `[(3, 1), (2, 2), (3, 1)]` is the chapter CNN's second stage.",
    hint="Work from the input up with two numbers per layer, as for the receptive field of chapter 1.2: the jump `j` "
         "between neighbouring units (it multiplies by each stride) and the field `r` (it grows by `(k - 1) j`, the "
         "jump of the layers below). Without padding, unit 0 of every layer starts at pixel 0, and each step to the "
         "next unit moves the window by the stack's total jump.",
    solution=unit_window,
    wrong={"the strides left out of the position": _window_no_stride,
           "the window's centre, not its top-left corner": _window_centre,
           "the last layer's stride left out of the jump": _window_last_stride_missing},
    inputs=_window_inputs,
    reference=unit_window,
))
