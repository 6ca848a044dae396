"""Tests of the chapter 1.4.4 figures (cvtutor.plots.features): filters as images, feature maps by
stage, top-activating images, nearest neighbours. They only draw: each test checks what is drawn
where, and that bad input is refused with a message."""

import matplotlib
import matplotlib.colors
import numpy as np
import pytest

from cvtutor import plots
from cvtutor.plots.features import (filter_banks, filter_images, neighbour_grid, stage_feature_maps,
                                    top_activating_grid)


def _images(n=6, size=8, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, size, size, 3), dtype=np.uint8)


def _kernel(filters=5, seed=0):
    return np.random.default_rng(seed).normal(size=(3, 3, 3, filters))


# filter_images / filter_banks --------------------------------------------------------------------


def test_filter_images_scale_each_filter_symmetrically_about_mid_grey():
    kernel = _kernel(2)
    kernel[..., 1] = 0.0  # an all-zero filter: all mid grey
    shown = filter_images(kernel)
    assert shown.shape == (2, 3, 3, 3)
    peak = np.abs(kernel[..., 0]).max()
    np.testing.assert_allclose(shown[0], 0.5 + 0.5 * kernel[..., 0] / peak)
    assert shown[0].min() >= 0 and shown[0].max() <= 1 and np.isclose(np.abs(shown[0] - 0.5).max(), 0.5)
    np.testing.assert_array_equal(shown[1], 0.5)
    # the scale is per filter: multiplying a filter by 10 draws the same image
    np.testing.assert_allclose(filter_images(kernel * 10), shown)


def test_filter_banks_draws_each_bank_in_its_own_block_with_its_title():
    k0, k1 = _kernel(5, 0), _kernel(5, 1)
    fig = plots.filter_banks({"at initialisation": k0, "trained": k1}, columns=3)
    assert isinstance(fig, matplotlib.figure.Figure)
    axes = np.array(fig.axes).reshape(2, 3 + 1 + 3)  # 2 rows; 3 columns, a gap, 3 columns
    np.testing.assert_allclose(axes[0, 0].images[0].get_array(), filter_images(k0)[0])
    np.testing.assert_allclose(axes[1, 1].images[0].get_array(), filter_images(k0)[4])
    np.testing.assert_allclose(axes[0, 4].images[0].get_array(), filter_images(k1)[0])
    np.testing.assert_allclose(axes[1, 5].images[0].get_array(), filter_images(k1)[4])
    assert not axes[0, 3].images and not axes[1, 2].images  # the gap, and the sixth place of a bank of five
    assert axes[0, 0].get_title(loc="left") == "at initialisation" and axes[0, 4].get_title(loc="left") == "trained"


@pytest.mark.parametrize(
    "kernels, kwargs, error, match",
    [
        ([np.zeros((3, 3, 3, 2))], {}, TypeError, "kernels must be a non-empty mapping"),
        ({}, {}, ValueError, "kernels must be a non-empty mapping"),
        ({"a": np.zeros((3, 3, 1, 2))}, {}, ValueError, r"shape \(kh, kw, 3, F\)"),
        ({"a": np.full((3, 3, 3, 2), np.nan)}, {}, ValueError, "NaN"),
        ({"a": np.zeros((3, 3, 3, 2)), "b": np.zeros((3, 3, 3, 4))}, {}, ValueError, "same number of filters"),
        ({"a": np.zeros((3, 3, 3, 2))}, {"columns": 0}, ValueError, "columns must be a positive integer"),
        ({"a": np.zeros((3, 3, 3, 2))}, {"columns": 2.0}, TypeError, "columns must be a positive integer"),
    ],
)
def test_filter_banks_rejects_bad_input(kernels, kwargs, error, match):
    with pytest.raises(error, match=match):
        filter_banks(kernels, **kwargs)


# stage_feature_maps ------------------------------------------------------------------------------


def test_stage_feature_maps_one_row_per_stage_each_map_from_zero_to_its_maximum():
    rng = np.random.default_rng(0)
    stages = {"conv 1": rng.random((6, 6, 4)), "conv 2": rng.random((3, 3, 5))}
    stages["conv 2"][..., 1] = 0.0  # an all-zero map
    image = _images(1)[0]
    fig = plots.stage_feature_maps(image, stages, channels=3)
    axes = np.array(fig.axes).reshape(2, 4)
    np.testing.assert_array_equal(axes[0, 0].images[0].get_array(), image)
    assert axes[0, 0].get_title() == "input" and not axes[1, 0].images
    for row, maps in enumerate(stages.values()):
        for c in range(3):
            shown = axes[row, c + 1].images[0]
            np.testing.assert_allclose(shown.get_array(), maps[..., c])
            assert shown.get_cmap().name == "magma"
            top = maps[..., c].max()
            assert shown.get_clim() == pytest.approx((0.0, top if top > 0 else 1.0))
    assert axes[0, 1].get_title(loc="left") == "conv 1: 6x6, first 3 of 4 channels"
    assert axes[1, 1].get_title(loc="left") == "conv 2: 3x3, first 3 of 5 channels"


@pytest.mark.parametrize(
    "image, stages, kwargs, error, match",
    [
        (np.zeros((8, 8)), {"a": np.zeros((4, 4, 2))}, {}, ValueError, "images must have shape"),
        (np.zeros((8, 8, 3)), [np.zeros((4, 4, 2))], {}, TypeError, "stages must be a non-empty mapping"),
        (np.zeros((8, 8, 3)), {}, {}, ValueError, "stages must be a non-empty mapping"),
        (np.zeros((8, 8, 3)), {"a": np.zeros((4, 4))}, {}, ValueError, r"stages\['a'\] must have shape"),
        (np.zeros((8, 8, 3)), {"a": np.zeros((4, 4, 2))}, {"channels": 3}, ValueError, "fewer than channels=3"),
        (np.zeros((8, 8, 3)), {"a": np.full((4, 4, 2), np.inf)}, {"channels": 2}, ValueError, "NaN or infinite"),
    ],
)
def test_stage_feature_maps_rejects_bad_input(image, stages, kwargs, error, match):
    with pytest.raises(error, match=match):
        stage_feature_maps(image, stages, **kwargs)


# top_activating_grid -----------------------------------------------------------------------------


def test_top_activating_grid_draws_the_indexed_images_row_by_row():
    images = _images(6)
    indices = np.array([[5, 0, 2], [1, 1, 3]])
    fig = plots.top_activating_grid(images, indices, row_titles=["channel 7", "channel 9"])
    axes = np.array(fig.axes).reshape(2, 3)
    for r in range(2):
        for j in range(3):
            np.testing.assert_array_equal(axes[r, j].images[0].get_array(), images[indices[r, j]])
    assert [ax.get_ylabel() for ax in axes[:, 0]] == ["channel 7", "channel 9"]


@pytest.mark.parametrize(
    "indices, titles, match",
    [
        (np.array([1, 2]), None, r"indices must be a \(rows, k\) integer array"),
        (np.array([[0.0, 1.0]]), None, r"indices must be a \(rows, k\) integer array"),
        (np.array([[0, 6]]), None, r"indices must be in \[0, 6\), got 0..6"),
        (np.array([[0, 1]]), ["a", "b"], "got 1 rows but 2 row_titles"),
    ],
)
def test_top_activating_grid_rejects_bad_input(indices, titles, match):
    with pytest.raises(ValueError, match=match):
        top_activating_grid(_images(6), indices, row_titles=titles)


# neighbour_grid ----------------------------------------------------------------------------------


def test_neighbour_grid_query_then_its_neighbours_captions_coloured_by_label():
    queries = _images(2, seed=1)
    neighbours = _images(6, seed=2).reshape(2, 3, 8, 8, 3)
    same = np.array([[True, False, True], [False, False, True]])
    titles = [["cat", "dog", "cat"], ["car", "cat", "ship"]]
    fig = plots.neighbour_grid(queries, neighbours, query_titles=["cat", "ship"], neighbour_titles=titles,
                               same=same)
    axes = np.array(fig.axes).reshape(2, 5)
    for r in range(2):
        np.testing.assert_array_equal(axes[r, 0].images[0].get_array(), queries[r])
        assert not axes[r, 1].images  # the gap after the query
        for j in range(3):
            ax = axes[r, j + 2]
            np.testing.assert_array_equal(ax.images[0].get_array(), neighbours[r, j])
            assert ax.get_title() == titles[r][j]
            expected = "#008000" if same[r, j] else "#ff0000"
            assert matplotlib.colors.to_hex(ax.title.get_color()) == expected
    assert [axes[r, 0].get_title() for r in range(2)] == ["cat", "ship"]


def test_neighbour_grid_without_captions():
    fig = neighbour_grid(_images(1), _images(2).reshape(1, 2, 8, 8, 3))
    assert all(ax.get_title() == "" for ax in fig.axes)


@pytest.mark.parametrize(
    "neighbours, kwargs, match",
    [
        (np.zeros((2, 3, 8, 8, 3)), {}, r"neighbours must have shape \(Q=1, k, 8, 8, 3\)"),
        (np.zeros((1, 3, 4, 4, 3)), {}, "neighbours must have shape"),
        (np.zeros((1, 3, 8, 8, 3)), {"query_titles": ["a", "b"]}, "got 1 queries but 2 query_titles"),
        (np.zeros((1, 3, 8, 8, 3)), {"same": np.ones((1, 2), bool)}, r"same must have shape \(1, 3\)"),
        (np.zeros((1, 3, 8, 8, 3)), {"neighbour_titles": [["a"]]}, r"neighbour_titles must have shape \(1, 3\)"),
    ],
)
def test_neighbour_grid_rejects_bad_input(neighbours, kwargs, match):
    with pytest.raises(ValueError, match=match):
        neighbour_grid(_images(1), neighbours, **kwargs)
