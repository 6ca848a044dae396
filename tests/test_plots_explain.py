"""Tests of the chapter 1.5.4 figures: explanation maps over images (cvtutor.plots.explain) and the
compute and data plots (cvtutor.plots.challenges)."""

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pytest

from cvtutor.plots.challenges import accuracy_vs_data, count_label, throughput
from cvtutor.plots.explain import explanation_grid, overlay


def _images(n=3, size=8, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, size, size, 3), dtype=np.uint8)


def _maps(n=3, size=8, seed=1):
    return np.random.default_rng(seed).random((n, size, size)).astype(np.float32)


# overlay ---------------------------------------------------------------------------------------


def test_overlay_draws_the_image_then_the_map_on_a_fixed_scale():
    image, heat = _images(1)[0], _maps(1)[0] * 0.5  # a map whose maximum is 0.5
    fig = overlay(image, heat, title="cat", alpha=0.3)
    (ax,) = fig.axes
    base, layer = ax.get_images()
    np.testing.assert_allclose(base.get_array(), image / 255, atol=1e-6)  # uint8 shown as 0..1
    np.testing.assert_allclose(layer.get_array(), heat)
    assert layer.get_clim() == (0.0, 1.0)  # not stretched to the map's own maximum
    assert layer.get_alpha() == 0.3
    assert ax.get_title() == "cat"


def test_overlay_stretch_rescales_the_map_from_its_minimum_to_its_maximum():
    heat = np.full((8, 8), 0.9, np.float32)
    heat[0, 0], heat[1, 1] = 0.8, 1.0
    fig = overlay(_images(1)[0], heat, stretch=True)
    shown = fig.axes[0].get_images()[1].get_array()
    assert shown.min() == 0.0 and shown.max() == 1.0
    np.testing.assert_allclose(shown[2, 2], 0.5, atol=1e-6)
    flat = overlay(_images(1)[0], np.full((8, 8), 0.7), stretch=True)
    assert np.all(flat.axes[0].get_images()[1].get_array() == 0)  # a constant map: nothing stands out


def test_overlay_draws_on_given_axes_with_colorbar_and_title_colour():
    fig, ax = plt.subplots()
    assert overlay(_images(1)[0] / 255.0, _maps(1)[0], ax=ax, colorbar=True, title="x", title_color="red") is fig
    assert len(fig.axes) == 2  # the axes and its colour bar
    assert matplotlib.colors.to_hex(ax.title.get_color()) == "#ff0000"


def test_overlay_accepts_grey_images():
    fig = overlay(_images(1)[0][..., :1], _maps(1)[0])
    assert fig.axes[0].get_images()[0].get_array().shape == (8, 8, 3)


@pytest.mark.parametrize(
    "image, heat, kwargs, match",
    [
        (np.zeros((8, 8)), np.zeros((8, 8)), {}, "image must have shape"),
        (np.zeros((8, 8, 4)), np.zeros((8, 8)), {}, "image must have shape"),
        (np.zeros((8, 8, 3)), np.zeros((4, 4)), {}, r"height and width \(8, 8\)"),
        (np.zeros((8, 8, 3)), np.full((8, 8), np.nan), {}, "NaN"),
        (np.zeros((8, 8, 3)), np.full((8, 8), 2.0), {}, r"in \[0, 1\]"),
        (np.zeros((8, 8, 3)), np.zeros((8, 8)), {"alpha": 1.5}, r"alpha must be in \[0, 1\], got 1.5"),
    ],
)
def test_overlay_rejects_bad_input(image, heat, kwargs, match):
    with pytest.raises(ValueError, match=match):
        overlay(image, heat, **kwargs)


def test_overlay_and_grid_reject_arguments_of_the_wrong_kind():
    with pytest.raises(TypeError, match="alpha must be a number, got str '0.5'"):
        overlay(np.zeros((8, 8, 3)), np.zeros((8, 8)), alpha="0.5")
    with pytest.raises(TypeError, match=r"maps must be a non-empty mapping of column title -> \(N, H, W\) maps, "
                                        "got list"):
        explanation_grid(_images(3), [np.zeros((3, 8, 8))])


# explanation_grid ------------------------------------------------------------------------------


def test_explanation_grid_has_a_row_per_image_and_a_column_per_method():
    images, a, b = _images(3), _maps(3, seed=1), _maps(3, seed=2)
    fig = explanation_grid(images, {"saliency": a, "Grad-CAM": b}, row_titles=["r0", "r1", "r2"],
                           row_title_colors=["green", "red", "green"])
    panels, colorbar = fig.axes[:-1], fig.axes[-1]
    assert len(panels) == 3 * 3
    grid = np.array(panels).reshape(3, 3)
    assert [ax.get_title() for ax in grid[0]] == ["r0", "saliency", "Grad-CAM"]
    assert [ax.get_title() for ax in grid[:, 0]] == ["r0", "r1", "r2"]
    assert grid[1, 1].get_title() == ""  # method names only on the first row
    assert matplotlib.colors.to_hex(grid[1, 0].title.get_color()) == "#ff0000"
    np.testing.assert_allclose(grid[2, 2].get_images()[1].get_array(), b[2])  # image 2, second map
    assert len(grid[0, 0].get_images()) == 1  # the first column: the image alone
    assert "0 to 1" in colorbar.get_ylabel()


def test_explanation_grid_stretch_labels_the_colour_bar():
    fig = explanation_grid(_images(2), {"m": _maps(2) * 0.2 + 0.8}, stretch=True)
    assert "lowest" in fig.axes[-1].get_ylabel()
    assert fig.axes[1].get_images()[1].get_array().max() == pytest.approx(1.0)


@pytest.mark.parametrize(
    "maps, kwargs, match",
    [
        ({}, {}, "non-empty mapping .* got {}"),
        ({"m": np.zeros((2, 8, 8))}, {}, r"shape \(3, 8, 8\)"),
        ({"m": np.zeros((3, 8, 8))}, {"row_titles": ["a"]}, "3 images but 1 row_titles"),
        ({"m": np.zeros((3, 8, 8))}, {"row_title_colors": ["red"] * 4}, "row_title_colors"),
    ],
)
def test_explanation_grid_rejects_bad_input(maps, kwargs, match):
    with pytest.raises(ValueError, match=match):
        explanation_grid(_images(3), maps, **kwargs)


def test_explanation_grid_rejects_images_without_batch_axis():
    with pytest.raises(ValueError, match=r"\(N, H, W, 3\)"):
        explanation_grid(_images(1)[0], {"m": _maps(1)})


# throughput ------------------------------------------------------------------------------------


def test_throughput_plots_each_series_on_log_axes():
    names, macs = ["a", "b", "c"], [1e6, 1e7, 5e7]
    fig = throughput(names, macs, {"inference": [1000, 200, 50], "training": [300, 60, 10]}, iso_rates=[1e9, 1e10])
    (ax,) = fig.axes
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    points = [line for line in ax.lines if line.get_linestyle() == "None"]
    assert len(points) == 2
    np.testing.assert_allclose(points[0].get_xdata(), macs)
    np.testing.assert_allclose(points[1].get_ydata(), [300, 60, 10])
    iso = [line for line in ax.lines if line.get_linestyle() == ":"]
    assert len(iso) == 2
    x, y = iso[0].get_data()
    np.testing.assert_allclose(x * y, 1e9)  # a line of constant multiply-adds per second
    assert [t.get_text() for t in ax.texts][:3] == names  # model names beside the points
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["inference", "training"]
    bottom, top = ax.get_ylim()
    assert bottom <= 10 and top >= 1000


@pytest.mark.parametrize(
    "names, macs, series, match",
    [
        (["a"], [1e6, 2e6], {"x": [1, 2]}, "multiply_adds"),
        (["a", "b"], [1e6, 0], {"x": [1, 2]}, "positive"),
        (["a", "b"], [1e6, 2e6], {}, "non-empty mapping"),
        (["a", "b"], [1e6, 2e6], {"x": [1]}, r"series\['x'\]"),
        (["a", "b"], [1e6, 2e6], {"x": [1, np.inf]}, "positive and finite"),
    ],
)
def test_throughput_rejects_bad_input(names, macs, series, match):
    with pytest.raises(ValueError, match=match):
        throughput(names, macs, series)


def test_throughput_and_accuracy_vs_data_reject_arguments_of_the_wrong_kind():
    with pytest.raises(TypeError, match=r"series must be a non-empty mapping of label -> images per second, got list"):
        throughput(["a"], [1e6], [[1.0]])
    with pytest.raises(TypeError, match="accuracies must be a non-empty mapping of label -> accuracies, got list"):
        accuracy_vs_data([100, 200], [[0.1, 0.2]])
    with pytest.raises(TypeError, match="chance must be a number, got str '0.1'"):
        accuracy_vs_data([100, 200], {"a": [0.1, 0.2]}, chance="0.1")


# accuracy_vs_data ------------------------------------------------------------------------------


def test_accuracy_vs_data_draws_percent_on_a_log_x_axis():
    sizes = [500, 1000, 2000]
    fig = accuracy_vs_data(sizes, {"cnn": [0.3, 0.4, 0.5], "vit": [0.2, 0.25, 0.3]}, chance=0.1)
    (ax,) = fig.axes
    assert ax.get_xscale() == "log"
    cnn, vit, chance = ax.lines
    np.testing.assert_allclose(cnn.get_ydata(), [30, 40, 50])
    np.testing.assert_allclose(vit.get_xdata(), sizes)
    np.testing.assert_allclose(chance.get_ydata(), [10, 10])
    assert [t.get_text() for t in ax.get_xticklabels()] == ["500", "1k", "2k"]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["cnn", "vit", "chance"]


def test_accuracy_vs_data_draws_mean_and_band_of_several_runs():
    runs = np.array([[0.3, 0.4], [0.5, 0.6]])
    fig = accuracy_vs_data([100, 200], {"cnn": runs})
    ax = fig.axes[0]
    np.testing.assert_allclose(ax.lines[0].get_ydata(), [40, 50])
    assert len(ax.collections) == 1  # the min-max band


@pytest.mark.parametrize(
    "sizes, accuracies, kwargs, match",
    [
        ([500, 500], {"a": [0.1, 0.2]}, {}, "increase"),
        ([0, 500], {"a": [0.1, 0.2]}, {}, "positive"),
        ([100, 200], {}, {}, "non-empty mapping"),
        ([100, 200], {"a": [0.1, 0.2, 0.3]}, {}, "2 values per run"),
        ([100, 200], {"a": [10, 20]}, {}, "fractions"),
        ([100, 200], {"a": [0.1, 0.2]}, {"chance": 10}, r"chance must be in \[0, 1\], got 10.0"),
    ],
)
def test_accuracy_vs_data_rejects_bad_input(sizes, accuracies, kwargs, match):
    with pytest.raises(ValueError, match=match):
        accuracy_vs_data(sizes, accuracies, **kwargs)


# count_label -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "n, label",
    [(0, "0"), (500, "500"), (1000, "1k"), (2500, "2.5k"), (10_000, "10k"), (3e6, "3M"), (1e10, "10G")],
)
def test_count_label(n, label):
    assert count_label(n) == label


@pytest.mark.parametrize("n, error, message", [
    (-1, ValueError, r"n must be in \[0, inf\), got -1.0"),
    (float("nan"), ValueError, r"n must be in \[0, inf\), got nan"),
    (float("inf"), ValueError, r"n must be in \[0, inf\), got inf"),
    ("10", TypeError, "n must be a number, got str '10'"),
    (True, TypeError, "n must be a number, got bool True"),
])
def test_count_label_rejects_bad_input(n, error, message):
    with pytest.raises(error, match=message):
        count_label(n)
