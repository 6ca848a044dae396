"""Tests of the chapter 1.2 and 1.3.3 figures in cvtutor.plots.concepts: neurons, layers, receptive fields."""

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pytest

from cvtutor import plots


def _image(height=8, width=12, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


def _texts(ax):
    return [t.get_text() for t in ax.texts]


def _rectangles(ax):
    return [p for p in ax.patches if isinstance(p, matplotlib.patches.Rectangle)]


def _image_limits(ax, height, width):
    np.testing.assert_allclose(ax.get_xlim(), (-0.5, width - 0.5))
    np.testing.assert_allclose(ax.get_ylim(), (height - 0.5, -0.5))


# Neuron and dense layer ------------------------------------------------------------------------


def test_neuron_diagram_draws_one_line_per_input_with_its_numbers():
    x, w, b = np.array([1.0, -2.0, 0.5]), np.array([0.5, -1.0, 2.0]), 0.1
    y = max(float(x @ w + b), 0.0)
    fig = plots.neuron_diagram(x, w, b, y)
    assert isinstance(fig, matplotlib.figure.Figure)
    (ax,) = fig.axes
    assert len(ax.lines) == 3
    red, blue = matplotlib.colors.to_rgba("tab:red"), matplotlib.colors.to_rgba("tab:blue")
    assert [matplotlib.colors.to_rgba(line.get_color()) for line in ax.lines] == [red, blue, red]
    widths = [line.get_linewidth() for line in ax.lines]
    assert widths == pytest.approx([0.5 + 3 * abs(wi) / 2.0 for wi in w])  # the largest |w| gets width 3.5
    assert [line.get_ydata()[0] for line in ax.lines] == [1.0, 0.0, -1.0]  # inputs top to bottom
    texts = _texts(ax)
    for expected in ("$x_{1} = 1.00$", "$x_{2} = -2.00$", "$w_{2} = -1.00$", "$w_{3} = +2.00$", "b = +0.10",
                     f"z = w.x + b\n= {x @ w + b:.3f}", f"y = f(z)\n= {y:.3f}", "f = ReLU"):
        assert expected in texts
    assert ax.get_title() == "One neuron: y = f(w . x + b)"


def test_neuron_diagram_with_one_input_and_a_named_activation():
    fig = plots.neuron_diagram([2.0], [[-0.5]], -1.0, 0.12, activation="sigmoid")
    ax = fig.axes[0]
    assert len(ax.lines) == 1
    assert "f = sigmoid" in _texts(ax) and "z = w.x + b\n= -2.000" in _texts(ax)


@pytest.mark.parametrize("x, w", [([1.0, 2.0], [1.0]), ([], []), (np.ones(11), np.ones(11))])
def test_neuron_diagram_rejects_mismatched_or_too_many_inputs(x, w):
    with pytest.raises(ValueError, match="same shape"):
        plots.neuron_diagram(x, w, 0.0, 0.0)


def _dense(n=2, d_in=3, d_out=4, seed=0):
    rng = np.random.default_rng(seed)
    x, w, b = rng.normal(size=(n, d_in)), rng.normal(size=(d_in, d_out)), rng.normal(size=d_out)
    return x, w, b, np.maximum(x @ w + b, 0)


def test_matrix_product_draws_x_w_b_and_y_with_their_values():
    x, w, b, y = _dense()
    fig = plots.matrix_product(x, w, b, y, activation="relu")
    assert len(fig.axes) == 7  # four matrices and the three operators between them
    panels, operators = fig.axes[0::2], fig.axes[1::2]
    for ax, values in zip(panels, (x, w, b[None, :], y)):
        np.testing.assert_allclose(ax.images[0].get_array(), values)
        assert len(ax.texts) == values.size
        first = _texts(ax)[0]
        assert first == f"{values[0, 0]:.1f}".replace("-0.0", "0.0")
    assert [ax.get_title() for ax in panels] == [
        "X\ninputs (2, 3)", "W\nweights (3, 4)", "b\nbiases (4,)", "Y = relu(XW + b)\noutputs (2, 4)"]
    assert [_texts(ax) for ax in operators] == [["x"], ["+"], ["="]]
    limit = max(np.abs(a).max() for a in (x, w, b, y))
    assert all(ax.images[0].get_clim() == pytest.approx((-limit, limit)) for ax in panels)  # one shared scale


def test_matrix_product_writes_negative_zero_as_zero_and_handles_all_zeros():
    x, w, b = np.array([[-0.04]]), np.zeros((1, 1)), np.zeros(1)
    fig = plots.matrix_product(x, w, b, np.zeros((1, 1)))
    assert _texts(fig.axes[0]) == ["0.0"]
    assert fig.axes[0].images[0].get_clim() == pytest.approx((-0.04, 0.04))
    fig = plots.matrix_product(np.zeros((1, 1)), w, b, np.zeros((1, 1)))
    assert fig.axes[0].images[0].get_clim() == (-1.0, 1.0)


@pytest.mark.parametrize(
    "shapes",
    [
        ((3,), (3, 4), (4,), (1, 4)),  # x not 2-D
        ((2, 3), (4, 4), (4,), (2, 4)),  # d_in differs
        ((2, 3), (3, 4), (3,), (2, 4)),  # b the wrong size
        ((2, 3), (3, 4), (4,), (4, 2)),  # y transposed
        ((2, 3), (3,), (4,), (2, 4)),  # w not 2-D
    ],
)
def test_matrix_product_rejects_mismatched_shapes(shapes):
    with pytest.raises(ValueError, match=r"expected x \(N, d_in\)"):
        plots.matrix_product(*(np.ones(s) for s in shapes))


# Patches -------------------------------------------------------------------------------------


def test_patch_grid_cuts_a_non_square_image_into_numbered_patches():
    image = _image(8, 12)
    fig = plots.patch_grid(image, 4)
    (ax,) = fig.axes
    np.testing.assert_allclose(ax.images[0].get_array(), image / 255, rtol=1e-6)
    horizontal = [line.get_ydata()[0] for line in ax.lines if line.get_ydata()[0] == line.get_ydata()[1]]
    vertical = [line.get_xdata()[0] for line in ax.lines if line.get_xdata()[0] == line.get_xdata()[1]]
    assert horizontal == [3.5] and vertical == [3.5, 7.5]  # 2 rows x 3 columns of patches
    assert _texts(ax) == [str(t) for t in range(6)]
    positions = [t.get_position() for t in ax.texts]
    assert positions[2] == (9.5, 1.5) and positions[4] == (5.5, 5.5)  # numbered row by row
    _image_limits(ax, 8, 12)


def test_patch_grid_draws_into_given_axes_and_can_leave_out_numbers():
    fig, (left, right) = plt.subplots(1, 2)
    image = np.linspace(-0.5, 1.5, 4 * 4 * 3).reshape(4, 4, 3)
    assert plots.patch_grid(image, 2, ax=right, numbers=False) is fig
    assert not left.images and not right.texts
    np.testing.assert_allclose(right.images[0].get_array(), np.clip(image, 0, 1))  # floats clipped to 0..1
    assert plots.patch_grid(image, 4, ax=left).axes[0].texts[0].get_text() == "0"  # one patch, no lines
    assert not left.lines


@pytest.mark.parametrize(
    "image, patch_size, message",
    [
        (_image(8, 12), 3, "patch_size must divide the image size 8x12, got 3"),
        (_image(8, 12), 0, "patch_size must be a positive integer, got 0"),
        (_image(8, 12), 16, "patch_size must divide the image size 8x12, got 16"),
        (_image(8, 12)[..., :1], 4, r"image must have shape \(H, W, 3\)"),
        (_image(8, 12)[..., 0], 4, r"image must have shape \(H, W, 3\)"),
    ],
)
def test_patch_grid_rejects_bad_images_and_patch_sizes(image, patch_size, message):
    with pytest.raises(ValueError, match=message):
        plots.patch_grid(image, patch_size)
    with pytest.raises(TypeError, match="patch_size must be a positive integer, got float 2.0"):
        plots.patch_grid(_image(8, 12), 2.0)


def test_image_as_inputs_shows_the_image_three_ways():
    image = _image(32, 32)
    fig = plots.image_as_inputs(image, patch_size=4)
    assert len(fig.axes) == 3
    for ax in fig.axes:
        np.testing.assert_allclose(ax.images[0].get_array(), image / 255, rtol=1e-6)
        _image_limits(ax, 32, 32)
    cnn, rnn, attention = fig.axes
    assert cnn.get_title() == "CNN: a 3x3 window slides over\n32x32 pixels, 3 channels each"
    assert rnn.get_title() == "RNN: 32 rows = 32 time steps\nof 32x3 = 96 values each"
    assert attention.get_title() == "Attention: 64 patches = 64 tokens\nof 4x4x3 = 48 values each"
    windows = _rectangles(cnn)
    assert len(windows) == 3 and all(r.get_width() == r.get_height() == 3 for r in windows)
    assert len(cnn.lines) == 31 + 31 and len(rnn.lines) == 31  # pixel grid; one line between rows
    assert list(rnn.get_yticks()) == [0, 8, 16, 24, 31]
    assert _texts(attention) == [str(t) for t in range(64)]


def test_image_as_inputs_keeps_a_non_square_image_in_its_frame():
    fig = plots.image_as_inputs(_image(16, 32), patch_size=8, window=5)
    cnn = fig.axes[0]
    _image_limits(cnn, 16, 32)  # no grid lines below the image
    assert len(cnn.lines) == 15 + 31
    assert all(r.get_width() == 5 for r in _rectangles(cnn))
    assert fig.axes[1].get_title() == "RNN: 16 rows = 16 time steps\nof 32x3 = 96 values each"
    assert fig.axes[2].get_title().startswith("Attention: 8 patches = 8 tokens\nof 8x8x3 = 192")


def test_image_as_inputs_rejects_a_patch_size_that_does_not_divide_the_image():
    with pytest.raises(ValueError, match="patch_size"):
        plots.image_as_inputs(_image(32, 32), patch_size=5)


# Receptive fields ---------------------------------------------------------------------------------


def test_receptive_field_growth_one_line_per_curve_and_marker_per_point():
    curves = {"plain": ([1, 2, 3], [3, 5, 7]), "pooled": ([1, 2], [4, 10])}
    fig = plots.receptive_field_growth(curves, image_size=32, points={"attention": (1, 32)}, xlabel="layers")
    (ax,) = fig.axes
    assert len(ax.lines) == 4  # two curves, one point, the image-size line
    for line, (depths, sizes) in zip(ax.lines, curves.values()):
        np.testing.assert_array_equal(line.get_xdata(), depths)
        np.testing.assert_array_equal(line.get_ydata(), sizes)
    assert list(ax.lines[2].get_xdata()) == [1] and list(ax.lines[2].get_ydata()) == [32]
    assert ax.lines[2].get_marker() == "*"
    assert list(ax.lines[3].get_ydata()) == [32, 32]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["plain", "pooled", "attention"]
    assert _texts(ax) == ["whole image (32 px)"]
    assert ax.get_xlabel() == "layers" and ax.get_ylabel() == "receptive field side (pixels)"


def test_receptive_field_growth_without_image_size_or_points():
    fig = plots.receptive_field_growth({"only": ([1, 2], [3, 5])})
    ax = fig.axes[0]
    assert len(ax.lines) == 1 and not ax.texts
    assert ax.get_xlabel() == "layers (depth)"


def test_receptive_field_squares_draws_one_square_per_depth_innermost_first():
    image = _image(32, 24)
    fig = plots.receptive_field_squares(image, {4: 9, 1: 3, 2: 5}, center=(10, 12))
    (ax,) = fig.axes
    np.testing.assert_allclose(ax.images[0].get_array(), image / 255, rtol=1e-6)
    squares = _rectangles(ax)[:3]
    assert [s.get_width() for s in squares] == [3, 5, 9] and [s.get_height() for s in squares] == [3, 5, 9]
    assert [s.get_xy() for s in squares] == [(12 - 1.5, 10 - 1.5), (12 - 2.5, 10 - 2.5), (12 - 4.5, 10 - 4.5)]
    assert all(not s.get_fill() for s in squares)
    assert len({tuple(s.get_edgecolor()) for s in squares}) == 3
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["L = 1: 3x3 px", "L = 2: 5x5 px", "L = 4: 9x9 px"]
    (marker,) = ax.lines
    assert (list(marker.get_xdata()), list(marker.get_ydata())) == ([12], [10])  # (col, row)
    _image_limits(ax, 32, 24)  # squares bigger than the image are cut at its edges


def test_receptive_field_squares_rejects_a_grey_image():
    with pytest.raises(ValueError, match="image must have shape"):
        plots.receptive_field_squares(np.zeros((8, 8)), {1: 3}, center=(4, 4))


# Attention over an image --------------------------------------------------------------------------


def _weights(n=6, seed=0):
    w = np.random.default_rng(seed).random(n)
    return w / w.sum()


def _heat(weights, rows, cols, patch):
    return np.kron(np.reshape(weights, (rows, cols)), np.ones((patch, patch)))


def test_attention_overlay_upsamples_each_weight_to_its_patch():
    image, weights = _image(8, 12), _weights(6)
    fig = plots.attention_overlay(image, weights, 4, query=4, title="query 4")
    assert len(fig.axes) == 2  # the image and its colour bar
    ax = fig.axes[0]
    assert len(ax.images) == 2
    np.testing.assert_allclose(ax.images[0].get_array(), image / 255, rtol=1e-6)
    heat = np.asarray(ax.images[1].get_array())
    np.testing.assert_allclose(heat, _heat(weights, 2, 3, 4))
    assert heat[4, 4] == weights[4] and heat[0, 8] == weights[2]  # row-major patch order
    assert ax.images[1].get_clim() == pytest.approx((0, weights.max()))  # vmin=0: an absolute scale
    (outline,) = _rectangles(ax)
    assert outline.get_xy() == (3.5, 3.5) and outline.get_width() == 4
    assert matplotlib.colors.same_color(outline.get_edgecolor(), "cyan")
    assert ax.get_title() == "query 4"


def test_attention_overlay_options():
    image, weights = _image(8, 8), _weights(4).reshape(2, 2)  # a (rows, cols) grid is flattened
    fig = plots.attention_overlay(image, weights, 4, colorbar=False, vmin=None)
    assert len(fig.axes) == 1 and not _rectangles(fig.axes[0]) and fig.axes[0].get_title() == ""
    assert fig.axes[0].images[1].get_clim() == pytest.approx((weights.min(), weights.max()))
    fig = plots.attention_overlay(image, weights, 4, vmin=0.1, vmax=0.9)
    assert fig.axes[0].images[1].get_clim() == (0.1, 0.9)
    fig, axes = plt.subplots(1, 2)
    assert plots.attention_overlay(image, weights.ravel(), 4, ax=axes[1]) is fig
    assert not axes[0].images and len(axes[1].images) == 2


@pytest.mark.parametrize(
    "weights, patch_size, message",
    [
        (_weights(5), 4, "expected 6 weights, one per 4x4 patch of the 8x12 image, got 5"),
        (_weights(6), 3, "patch_size"),
    ],
)
def test_attention_overlay_rejects_weights_that_do_not_match_the_patches(weights, patch_size, message):
    with pytest.raises(ValueError, match=message):
        plots.attention_overlay(_image(8, 12), weights, patch_size)


def test_attention_maps_one_map_per_row_on_one_scale():
    image = _image(8, 12)
    rows = np.stack([_weights(6, 0), _weights(6, 1) * 0.5])
    fig = plots.attention_maps(image, rows, 4, query=1, titles=["head 1", "head 2"])
    assert len(fig.axes) == 5  # the image, two maps, their two colour bars
    first, maps = fig.axes[0], fig.axes[1:3]
    assert first.get_title() == "query patch 1"
    (outline,) = _rectangles(first)
    assert outline.get_xy() == (3.5, -0.5)
    for ax, row, title in zip(maps, rows, ["head 1", "head 2"]):
        np.testing.assert_allclose(ax.images[1].get_array(), _heat(row, 2, 3, 4))
        assert ax.images[1].get_clim() == pytest.approx((0, rows.max()))  # shared colour scale
        assert ax.get_title() == title
        assert _rectangles(ax)[0].get_xy() == (3.5, -0.5)


def test_attention_maps_relative_scale_and_a_single_row():
    rows = np.stack([_weights(4, 0), _weights(4, 1)])
    fig = plots.attention_maps(_image(8, 8), rows, 4, query=0, vmin=None)
    assert [ax.images[1].get_clim() for ax in fig.axes[1:3]] == [pytest.approx((rows.min(), rows.max()))] * 2
    assert [ax.get_title() for ax in fig.axes[1:3]] == ["", ""]
    fig = plots.attention_maps(_image(8, 8), rows[:1], 4, query=3)
    assert len(fig.axes) == 3


@pytest.mark.parametrize(
    "rows, titles, message",
    [
        (_weights(6), None, r"rows must have shape \(n, T\)"),
        (np.stack([_weights(6)] * 2), ["one"], "got 2 rows but 1 titles"),
        (np.stack([_weights(4)] * 2), None, "expected 6 weights"),
    ],
)
def test_attention_maps_rejects_bad_rows_and_titles(rows, titles, message):
    with pytest.raises(ValueError, match=message):
        plots.attention_maps(_image(8, 12), rows, 4, query=0, titles=titles)


def test_what_each_layer_sees_dims_what_each_output_cannot_see():
    image = np.random.default_rng(0).random((16, 20, 3))
    weights = _weights(20)
    fig = plots.what_each_layer_sees(image, rf_size=5, center=(8, 9), attention_row=weights, patch_size=4,
                                     query=6, rnn_row=3)
    assert len(fig.axes) == 4  # three panels and the attention colour bar
    conv, attention, rnn = fig.axes[:3]
    seen = np.full((16, 20), 0.25)
    seen[6:11, 7:12] = 1.0
    np.testing.assert_allclose(conv.images[0].get_array(), image * seen[..., None], rtol=1e-6)
    (square,) = _rectangles(conv)
    assert square.get_xy() == (6.5, 5.5) and square.get_width() == 5  # the same 5x5 pixels
    rows_read = np.where(np.arange(16)[:, None] <= 3, 1.0, 0.25)
    np.testing.assert_allclose(rnn.images[0].get_array(), image * rows_read[..., None], rtol=1e-6)
    assert [line.get_ydata()[0] for line in rnn.lines] == [3.5]
    np.testing.assert_allclose(attention.images[1].get_array(), _heat(weights, 4, 5, 4))
    assert [ax.get_title() for ax in (conv, attention, rnn)] == [
        "convolutions: a 5x5 square", "one attention layer: every patch", "RNN state at row 3: rows 0..3"]
    for ax in (conv, attention, rnn):
        _image_limits(ax, 16, 20)


def test_what_each_layer_sees_at_a_corner_with_custom_titles():
    image = np.ones((8, 8, 3))
    fig = plots.what_each_layer_sees(image, rf_size=5, center=(0, 0), attention_row=_weights(4), patch_size=4,
                                     query=0, rnn_row=7, titles=["a", "b", "c"])
    conv, _, rnn = fig.axes[:3]
    shown = np.asarray(conv.images[0].get_array())[..., 0]
    np.testing.assert_allclose(shown[:3, :3], 1.0)  # the square is cut at the image's edge
    assert np.count_nonzero(shown == 1.0) == 9
    np.testing.assert_allclose(rnn.images[0].get_array(), image)  # every row read
    assert [ax.get_title() for ax in fig.axes[:3]] == ["a", "b", "c"]
    _image_limits(conv, 8, 8)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"titles": ["only two", "titles"]}, "three panel titles"),
        ({"attention_row": _weights(5)}, "expected 4 weights"),
        ({"image": np.ones((8, 8, 1))}, "image must have shape"),
    ],
)
def test_what_each_layer_sees_rejects_bad_arguments(kwargs, message):
    arguments = dict(image=np.ones((8, 8, 3)), rf_size=3, center=(4, 4), attention_row=_weights(4), patch_size=4,
                     query=0, rnn_row=2)
    with pytest.raises(ValueError, match=message):
        plots.what_each_layer_sees(**{**arguments, **kwargs})


def test_attention_matrix_draws_the_weights():
    weights = np.stack([_weights(5, s) for s in range(3)])
    fig = plots.attention_matrix(weights, title="one head")
    assert len(fig.axes) == 2
    ax = fig.axes[0]
    np.testing.assert_allclose(ax.images[0].get_array(), weights)
    assert ax.images[0].get_clim() == pytest.approx((0, weights.max()))
    assert (ax.get_xlabel(), ax.get_ylabel(), ax.get_title()) == ("key token j", "query token i", "one head")
    assert fig.axes[1].get_ylabel() == "weight"  # the colour bar
    fig, axes = plt.subplots(1, 2)
    assert plots.attention_matrix(weights, ax=axes[0]) is fig and axes[0].get_title() == ""


def test_attention_matrix_rejects_a_vector():
    with pytest.raises(ValueError, match=r"weights must have shape \(T_q, T_k\)"):
        plots.attention_matrix(_weights(5))


# Scaled dot products ---------------------------------------------------------------------------------


def test_dot_product_variance_measured_points_and_theory_lines():
    d_k, unscaled, scaled = [4, 16, 64], [4.2, 15.1, 66.0], [1.05, 0.94, 1.03]
    fig = plots.dot_product_variance(d_k, unscaled, scaled)
    (ax,) = fig.axes
    expected = [unscaled, d_k, scaled, [1, 1, 1]]
    assert len(ax.lines) == 4
    for line, ys in zip(ax.lines, expected):
        np.testing.assert_allclose(line.get_xdata(), d_k)
        np.testing.assert_allclose(line.get_ydata(), ys)
    assert ax.get_xscale() == ax.get_yscale() == "log"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["4", "16", "64"]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "measured Var(q . k)", "d_k (theory)", "measured Var(q . k / sqrt(d_k))", "1 (theory)"]


def test_softmax_saturation_three_panels_with_uniform_references():
    d_k = [2, 8, 32]
    unscaled = {"max_weight": [0.3, 0.6, 0.9], "entropy": [1.8, 1.1, 0.3], "jacobian_norm": [0.3, 0.2, 0.05]}
    scaled = {"max_weight": [0.2, 0.25, 0.3], "entropy": [1.9, 1.85, 1.8], "jacobian_norm": [0.3, 0.3, 0.3]}
    fig = plots.softmax_saturation(d_k, unscaled, scaled, num_keys=8)
    assert len(fig.axes) == 3
    assert [len(ax.lines) for ax in fig.axes] == [3, 3, 2]
    for ax, key in zip(fig.axes, ("max_weight", "entropy", "jacobian_norm")):
        np.testing.assert_allclose(ax.lines[0].get_xdata(), d_k)
        np.testing.assert_allclose(ax.lines[0].get_ydata(), unscaled[key])
        np.testing.assert_allclose(ax.lines[1].get_ydata(), scaled[key])
        assert ax.get_xscale() == "log"
        assert [t.get_text() for t in ax.get_xticklabels()] == ["2", "8", "32"]
    np.testing.assert_allclose(fig.axes[0].lines[2].get_ydata(), 1 / 8)
    np.testing.assert_allclose(fig.axes[1].lines[2].get_ydata(), np.log(8))
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == [
        "softmax(q . k)", "softmax(q . k / sqrt(d_k))", "uniform 1/8"]
    assert fig.axes[1].get_legend().get_texts()[2].get_text() == "uniform log 8"
    assert fig.axes[2].get_legend() is None
    assert fig.axes[1].get_ylabel() == "entropy of the weights (nats)"


@pytest.mark.parametrize("query, error, message", [
    (6, ValueError, r"query must be in \[0, 6\), got 6"), (-1, ValueError, r"query must be in \[0, 6\), got -1"),
    (1.0, TypeError, "query must be an integer, got float 1.0"), (True, TypeError, "query must be an integer, got bool True")])
def test_attention_plots_reject_a_query_outside_the_patches_before_drawing(query, error, message):
    figures = plt.get_fignums()
    with pytest.raises(error, match=message):
        plots.attention_overlay(_image(8, 12), _weights(6), 4, query=query)
    with pytest.raises(error, match=message):
        plots.attention_maps(_image(8, 12), np.stack([_weights(6)] * 2), 4, query=query)
    assert plt.get_fignums() == figures  # no half-drawn figure left open
