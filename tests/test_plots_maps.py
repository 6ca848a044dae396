"""Tests of the chapter 1.3 figures in cvtutor.plots.maps: feature maps, heat maps, hidden states, log curves,
optimisers' paths."""

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pytest

from cvtutor import plots


def _images(n=2, height=8, width=8, channels=3, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, height, width, channels), dtype=np.uint8)


def _maps(n=2, height=6, width=4, channels=3, seed=1):
    return np.random.default_rng(seed).normal(size=(n, height, width, channels))


# Feature maps ----------------------------------------------------------------------------------


def test_feature_maps_each_image_then_its_maps_one_image_per_row():
    images, maps = _images(), _maps()
    fig = plots.feature_maps(images, maps, ["edges", "blobs", "lines"], image_titles=["cat", "dog"])
    assert isinstance(fig, matplotlib.figure.Figure)
    assert len(fig.axes) == 2 * 4 + 2 * 3  # 2 rows of image + 3 maps, a colour bar per map
    grid = np.array(fig.axes[:8]).reshape(2, 4)
    for row in range(2):
        np.testing.assert_array_equal(grid[row, 0].images[0].get_array(), images[row])
        for c in range(3):
            shown = grid[row, c + 1].images[0]
            np.testing.assert_array_equal(shown.get_array(), maps[row, ..., c])
            limit = np.percentile(np.abs(maps[row, ..., c]), 99)
            assert shown.get_clim() == pytest.approx((-limit, limit))  # centred on 0, each map its own scale
            assert shown.get_cmap().name == "RdBu_r"
    assert [ax.get_title() for ax in grid[0]] == ["cat", "edges", "blobs", "lines"]
    assert [ax.get_title() for ax in grid[1]] == ["dog", "", "", ""]  # map titles on the first row only
    assert all(not ax.get_xticks().size and not ax.get_yticks().size for ax in grid.flat)


def test_feature_maps_clip_percentile_and_all_zero_maps():
    maps = _maps(1, channels=2)
    maps[0, ..., 1] = 0
    fig = plots.feature_maps(_images(1), maps, clip_percentile=100)
    assert len(fig.axes) == 3 + 2
    assert fig.axes[0].get_title() == "input" and fig.axes[1].get_title() == ""
    top = np.abs(maps[0, ..., 0]).max()
    assert fig.axes[1].images[0].get_clim() == pytest.approx((-top, top))
    assert fig.axes[2].images[0].get_clim() == (-1.0, 1.0)


@pytest.mark.parametrize("dtype, top", [(np.uint8, 255), (np.float64, 1.0)])
def test_feature_maps_shows_one_channel_images_in_grey(dtype, top):
    images = (np.full((1, 8, 8, 1), 0.5) * top).astype(dtype)
    fig = plots.feature_maps(images, _maps(1, channels=1))
    shown = fig.axes[0].images[0]
    np.testing.assert_array_equal(shown.get_array(), images[0, ..., 0])
    assert shown.get_cmap().name == "gray" and shown.get_clim() == (0, top)  # mid grey, not black


@pytest.mark.parametrize(
    "images, maps, kwargs, message",
    [
        (_images(), _maps(), {"clip_percentile": 0}, "clip_percentile"),
        (_images(), _maps(), {"clip_percentile": 100.5}, "clip_percentile"),
        (_images(), _maps()[0], {}, r"maps must have shape \(N=2"),
        (_images(), _maps(3), {}, r"maps must have shape \(N=2"),
        (_images(), _maps(), {"map_titles": ["a", "b"]}, "got 3 feature maps per image but 2 map_titles"),
        (_images(), _maps(), {"image_titles": ["a"]}, "got 2 images but 1 image_titles"),
        (_images()[..., 0], _maps(), {}, "images must have shape"),
    ],
)
def test_feature_maps_rejects_bad_arguments(images, maps, kwargs, message):
    with pytest.raises(ValueError, match=message):
        plots.feature_maps(images, maps, **kwargs)


# Heat maps ----------------------------------------------------------------------------------------


def test_heatmap_signed_values_on_a_scale_centred_on_zero():
    values = np.array([[-2.0, 0.5, 1.0], [0.0, 0.25, -0.5]])
    fig = plots.heatmap(values, xlabel="column", ylabel="row", title="W", colorbar_label="weight")
    assert len(fig.axes) == 2  # the map and its colour bar
    ax, bar = fig.axes
    shown = ax.images[0]
    np.testing.assert_array_equal(shown.get_array(), values)
    assert shown.get_clim() == (-2.0, 2.0) and shown.get_cmap().name == "RdBu_r"
    assert (ax.get_xlabel(), ax.get_ylabel(), ax.get_title()) == ("column", "row", "W")
    assert bar.get_ylabel() == "weight"
    assert tuple(fig.get_size_inches()) == (6, 4)


def test_heatmap_sequential_all_zero_and_into_given_axes():
    values = np.arange(12.0).reshape(3, 4) + 5
    fig = plots.heatmap(values, xlabel="x", ylabel="y", symmetric=False, figsize=(3, 2))
    shown = fig.axes[0].images[0]
    assert shown.get_clim() == (5.0, 16.0) and shown.get_cmap().name == "viridis"
    assert fig.axes[0].get_title() == "" and fig.axes[1].get_ylabel() == ""
    assert tuple(fig.get_size_inches()) == (3, 2)
    fig = plots.heatmap(np.zeros((2, 2)), xlabel="x", ylabel="y")
    assert fig.axes[0].images[0].get_clim() == (-1.0, 1.0)
    fig, (left, right) = plt.subplots(1, 2)
    assert plots.heatmap(values, xlabel="x", ylabel="y", ax=right) is fig
    assert not left.images and len(right.images) == 1


@pytest.mark.parametrize("values", [np.arange(3.0), np.zeros((2, 2, 2)), 1.0])
def test_heatmap_rejects_values_that_are_not_2d(values):
    with pytest.raises(ValueError, match="2-D"):
        plots.heatmap(values, xlabel="x", ylabel="y")


# Hidden states ---------------------------------------------------------------------------------------


def test_rows_and_states_lines_up_image_rows_and_time_steps():
    image = _images(1, 6, 10)[0]  # non-square
    states = np.tanh(np.random.default_rng(2).normal(size=(6, 4)))
    fig = plots.rows_and_states(image, states, title="h_t")
    assert len(fig.axes) == 3  # image, heat map, colour bar
    left, right, bar = fig.axes
    np.testing.assert_array_equal(left.images[0].get_array(), image)
    assert left.images[0].get_extent() == [-0.5, 9.5, 5.5, -0.5]  # row t of the image at height t
    np.testing.assert_array_equal(right.images[0].get_array(), states)
    limit = np.abs(states).max()
    assert right.images[0].get_clim() == pytest.approx((-limit, limit))
    assert left.get_title() == "input, read top to bottom" and left.get_ylabel() == "row t (time step)"
    assert (right.get_title(), right.get_xlabel(), right.get_ylabel()) == ("h_t", "hidden unit", "time step t")
    assert bar.get_ylabel() == "h_t (tanh units)"
    assert left.get_ylim() == right.get_ylim() == (5.5, -0.5)


def test_rows_and_states_shows_a_one_channel_image_in_grey():
    image = np.full((4, 4, 1), 100, np.uint8)
    fig = plots.rows_and_states(image, np.zeros((4, 2)))
    shown = fig.axes[0].images[0]
    np.testing.assert_array_equal(shown.get_array(), image[..., 0])
    assert shown.get_cmap().name == "gray" and shown.get_clim() == (0, 255)
    assert fig.axes[1].get_title() == ""


@pytest.mark.parametrize(
    "image, states, message",
    [
        (_images(1)[0], np.zeros((7, 4)), r"states must have shape \(H=8, units\)"),
        (_images(1)[0], np.zeros(8), r"states must have shape \(H=8, units\)"),
        (_images(1)[0, ..., 0], np.zeros((8, 4)), "shape"),
        (_images(2), np.zeros((8, 4)), "shape"),
    ],
)
def test_rows_and_states_rejects_mismatched_shapes(image, states, message):
    with pytest.raises(ValueError, match=message):
        plots.rows_and_states(image, states)


# Log curves ----------------------------------------------------------------------------------------------


def test_log_curves_mean_line_and_interquartile_band():
    rng = np.random.default_rng(3)
    many = np.exp(rng.normal(size=(20, 5)))
    one = [1.0, 0.5, 0.25, 0.125]
    fig = plots.log_curves({"many": many, "one": one}, xlabel="distance (steps)", ylabel="|gradient|",
                           title="vanishing", styles={"one": {"color": "black", "linestyle": "--"}})
    (ax,) = fig.axes
    assert len(ax.lines) == 2
    np.testing.assert_array_equal(ax.lines[0].get_xdata(), np.arange(5))
    np.testing.assert_allclose(ax.lines[0].get_ydata(), many.mean(axis=0))
    np.testing.assert_array_equal(ax.lines[1].get_xdata(), np.arange(4))
    np.testing.assert_allclose(ax.lines[1].get_ydata(), one)
    assert matplotlib.colors.same_color(ax.lines[1].get_color(), "black") and ax.lines[1].get_linestyle() == "--"
    (band,) = ax.collections  # a single example has no band
    low, high = np.percentile(many, [25, 75], axis=0)
    vertices = band.get_paths()[0].vertices
    for x, lo, hi in zip(range(5), low, high):
        at_x = vertices[np.isclose(vertices[:, 0], x), 1]
        assert np.isclose(at_x, lo).any() and np.isclose(at_x, hi).any()
    assert matplotlib.colors.same_color(band.get_facecolor()[0][:3], ax.lines[0].get_color())
    assert ax.get_yscale() == "log"
    assert (ax.get_xlabel(), ax.get_ylabel(), ax.get_title()) == ("distance (steps)", "|gradient|", "vanishing")
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["many", "one"]


def test_log_curves_without_bands():
    fig = plots.log_curves({"a": np.ones((3, 4)), "b": np.full((2, 4), 2.0)}, xlabel="x", ylabel="y", band=False)
    ax = fig.axes[0]
    assert len(ax.lines) == 2 and not ax.collections and ax.get_title() == ""


def test_log_curves_rejects_higher_dimensional_values():
    with pytest.raises(ValueError, match=r"curve 'bad' must be \(T,\) or \(N, T\)"):
        plots.log_curves({"bad": np.ones((2, 3, 4))}, xlabel="x", ylabel="y")


# Optimisers' paths -----------------------------------------------------------------------------


def test_optimizer_paths_draws_the_surface_and_one_line_per_path():
    xs, ys = np.linspace(-2, 1, 30), np.linspace(-1, 1, 20)
    losses = 0.5 * (xs[None, :] ** 2 + 10 * ys[:, None] ** 2) + 1e-9
    paths = {"SGD": np.array([[-2.0, 1.0], [-1.5, -0.5], [0.0, 0.0]]), "Adam": np.array([[-2.0, 1.0], [0.0, 0.0]])}
    fig = plots.optimizer_paths(xs, ys, losses, paths, minimum=(0, 0), styles={"Adam": {"color": "tab:red"}},
                                title="paths")
    ax = fig.axes[0]
    assert len(fig.axes) == 2  # the surface and its colour bar
    assert ax.get_title() == "paths"
    labels = [line.get_label() for line in ax.lines]
    assert labels == ["SGD (2 steps)", "Adam (1 steps)", "start", "minimum"]
    np.testing.assert_array_equal(ax.lines[0].get_xydata(), paths["SGD"])
    assert matplotlib.colors.to_rgba(ax.lines[1].get_color()) == matplotlib.colors.to_rgba("tab:red")
    assert ax.get_xlim() == (-2, 1) and ax.get_ylim() == (-1, 1)
    plt.close(fig)


def test_optimizer_paths_rejects_bad_shapes():
    xs, ys = np.linspace(0, 1, 3), np.linspace(0, 1, 4)
    with pytest.raises(ValueError, match=r"losses must have shape \(len\(ys\), len\(xs\)\) = \(4, 3\), got \(3, 4\)"):
        plots.optimizer_paths(xs, ys, np.ones((3, 4)), {"a": np.zeros((2, 2))})
    with pytest.raises(ValueError, match="losses must be positive"):
        plots.optimizer_paths(xs, ys, np.zeros((4, 3)), {"a": np.zeros((2, 2))})
    with pytest.raises(ValueError, match=r"path 'a' must have shape \(T, 2\), got \(2, 3\)"):
        plots.optimizer_paths(xs, ys, np.ones((4, 3)), {"a": np.zeros((2, 3))})
    with pytest.raises(ValueError, match="paths must name at least one path"):
        plots.optimizer_paths(xs, ys, np.ones((4, 3)), {})
    plt.close("all")
