"""Tests of the chapter 1.1 figures in cvtutor.plots.images: image grids, class grids, histograms, milestones."""

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pytest

from cvtutor import plots
from cvtutor.milestones import read_milestones

HEADER = "model,year,params_millions,imagenet_top1,source,note\n"


def _images(n, height=8, width=8, channels=3, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, height, width, channels), dtype=np.uint8)


def _shown(ax):
    """The array of the one image drawn on ``ax``."""
    assert len(ax.images) == 1
    return np.asarray(ax.images[0].get_array())


# Image grid --------------------------------------------------------------------------


def test_image_grid_draws_each_image_with_its_title_and_colour():
    images = _images(5)
    titles = [f"image {i}" for i in range(5)]
    colors = ["tab:green", "tab:red", "tab:green", "tab:red", "black"]
    fig = plots.image_grid(images, titles, columns=4, title_colors=colors)
    assert isinstance(fig, matplotlib.figure.Figure)
    assert len(fig.axes) == 8  # two rows of four; the last three cells stay empty
    for i, ax in enumerate(fig.axes[:5]):
        np.testing.assert_array_equal(_shown(ax), images[i])
        assert ax.get_title() == titles[i]
        assert matplotlib.colors.same_color(ax.title.get_color(), colors[i])
    assert all(not ax.images and not ax.get_title() for ax in fig.axes[5:])
    assert not any(ax.axison for ax in fig.axes)


def test_image_grid_without_titles_and_a_single_image():
    images = _images(1, 6, 10)  # non-square
    fig = plots.image_grid(images)
    assert len(fig.axes) == 8  # one row of the default 8 columns
    np.testing.assert_array_equal(_shown(fig.axes[0]), images[0])
    assert _shown(fig.axes[0]).shape == (6, 10, 3)
    assert all(ax.get_title() == "" for ax in fig.axes)
    fig = plots.image_grid(images, ["only"], columns=1)
    assert len(fig.axes) == 1 and fig.axes[0].get_title() == "only"


def test_image_grid_float_images_are_shown_as_given():
    images = np.random.default_rng(1).random((3, 5, 7, 3))
    fig = plots.image_grid(images, columns=3)
    for ax, image in zip(fig.axes, images):
        np.testing.assert_array_equal(_shown(ax), image)


@pytest.mark.parametrize("dtype, top", [(np.uint8, 255), (np.float32, 1.0)])
def test_image_grid_shows_one_channel_images_in_grey_on_an_absolute_scale(dtype, top):
    # A dim, low-contrast grey image must look dim, not be stretched to black..white.
    images = (np.linspace(0.3, 0.4, 2 * 4 * 6).reshape(2, 4, 6, 1) * top).astype(dtype)
    fig = plots.image_grid(images, columns=2)
    for ax, image in zip(fig.axes, images):
        shown = ax.images[0]
        np.testing.assert_array_equal(shown.get_array(), image[..., 0])
        assert shown.get_cmap().name == "gray"
        assert shown.get_clim() == (0, top)


def test_image_grid_two_line_titles_do_not_overlap_the_row_above():
    n, columns = 16, 8
    titles = [f"cat 0.9{i % 10}\ntrue: dog" for i in range(n)]
    fig = plots.image_grid(_images(n, 32, 32), titles, columns=columns)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    for i in range(columns, n):
        title = fig.axes[i].title.get_window_extent(renderer)
        above = fig.axes[i - columns].get_window_extent(renderer)
        assert title.y1 <= above.y0, f"the title of image {i} overlaps image {i - columns} above it"
    for ax in fig.axes[:columns]:
        assert ax.title.get_window_extent(renderer).y1 <= fig.bbox.height  # the top row's titles fit


def test_image_grid_makes_room_for_longer_titles():
    one = plots.image_grid(_images(8), ["a"] * 8, columns=4)
    two = plots.image_grid(_images(8), ["a\nb"] * 8, columns=4)
    assert one.get_figwidth() == two.get_figwidth()
    assert two.get_figheight() > one.get_figheight()


@pytest.mark.parametrize(
    "images, kwargs, message",
    [
        (_images(3), {"titles": ["a", "b"]}, "titles"),
        (_images(3), {"titles": ["a", "b", "c"], "title_colors": ["red"]}, "title_colors"),
        (_images(3), {"columns": 0}, "columns"),
        (_images(3)[..., 0], {}, "shape"),  # (N, H, W): no channel axis
        (_images(3, channels=2), {}, "shape"),
        (_images(1)[0], {}, "shape"),  # one image without the batch axis
    ],
)
def test_image_grid_rejects_bad_arguments(images, kwargs, message):
    with pytest.raises(ValueError, match=message):
        plots.image_grid(images, **kwargs)


# Class grid -----------------------------------------------------------------------------


def _labelled(num_classes=3, per=4, channels=3):
    """Images whose every pixel holds the image's index, so a shown image names its source."""
    n = num_classes * per
    x = np.broadcast_to(np.arange(n, dtype=np.uint8)[:, None, None, None], (n, 5, 6, channels)).copy()
    y = np.arange(n) % num_classes
    return x, y


def test_class_grid_shows_per_class_examples_of_each_class_in_its_row():
    x, y = _labelled()
    names = ["cat", "dog", "frog"]
    fig = plots.class_grid(x, y, names, per_class=3)
    assert len(fig.axes) == 9
    for row, name in enumerate(names):
        axes = fig.axes[3 * row: 3 * row + 3]
        indices = [int(_shown(ax)[0, 0, 0]) for ax in axes]
        for ax, index in zip(axes, indices):
            np.testing.assert_array_equal(_shown(ax), x[index])
        assert [y[i] for i in indices] == [row] * 3
        assert len(set(indices)) == 3  # drawn without replacement
        assert axes[0].get_ylabel() == name
        assert all(ax.get_ylabel() == "" for ax in axes[1:])
        assert all(not ax.get_xticks().size and not ax.get_yticks().size for ax in axes)


def test_class_grid_is_reproducible_by_seed():
    x, y = _labelled(per=6)

    def chosen(seed):
        fig = plots.class_grid(x, y, ["a", "b", "c"], per_class=4, seed=seed)
        return [int(_shown(ax)[0, 0, 0]) for ax in fig.axes]

    assert chosen(0) == chosen(0)
    assert any(chosen(0) != chosen(seed) for seed in (1, 2))


def test_class_grid_with_one_class_or_one_example_per_class():
    x, y = _labelled(num_classes=2)
    fig = plots.class_grid(x, y, ["only"], per_class=2)
    assert len(fig.axes) == 2 and fig.axes[0].get_ylabel() == "only"
    fig = plots.class_grid(x, y, ["a", "b"], per_class=1)
    assert len(fig.axes) == 2
    assert [fig.axes[0].get_ylabel(), fig.axes[1].get_ylabel()] == ["a", "b"]
    assert [y[int(_shown(ax)[0, 0, 0])] for ax in fig.axes] == [0, 1]


def test_class_grid_accepts_keras_style_column_labels():
    x, y = _labelled()
    fig = plots.class_grid(x, y[:, None], ["a", "b", "c"], per_class=2)
    assert [y[int(_shown(ax)[0, 0, 0])] for ax in fig.axes] == [0, 0, 1, 1, 2, 2]


def test_class_grid_shows_one_channel_images_in_grey():
    x, y = _labelled(channels=1)
    fig = plots.class_grid(x, y, ["a", "b", "c"], per_class=2)
    shown = fig.axes[0].images[0]
    assert np.asarray(shown.get_array()).shape == (5, 6)
    assert shown.get_cmap().name == "gray" and shown.get_clim() == (0, 255)


@pytest.mark.parametrize(
    "y, names, per_class, message",
    [
        (np.arange(12) % 3, ["a", "b", "c"], 5, "class 'a' has 4 examples, fewer than per_class=5"),
        (np.arange(12) % 2, ["a", "b", "c"], 2, "class 'c' has 0 examples"),
        (np.arange(11) % 3, ["a", "b", "c"], 2, "one label per image"),
        ((np.arange(12) % 3)[None], ["a", "b", "c"], 2, "one label per image"),
        (np.arange(12) % 3, ["a", "b", "c"], 0, "per_class"),
        (np.arange(12) % 3, [], 2, "at least one class"),
    ],
)
def test_class_grid_rejects_bad_arguments_without_leaving_a_figure(y, names, per_class, message):
    x, _ = _labelled()
    with pytest.raises(ValueError, match=message):
        plots.class_grid(x, y, names, per_class=per_class)
    assert plt.get_fignums() == []


# Channel histograms -------------------------------------------------------------------------


def test_channel_histograms_one_density_per_channel_with_mean_and_std():
    x = _images(4, 8, 8)
    x[..., 2] //= 4  # a dark blue channel
    fig = plots.channel_histograms(x, bins=16)
    (ax,) = fig.axes
    assert len(ax.patches) == 3
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    for c, (name, patch, label) in enumerate(zip(("red", "green", "blue"), ax.patches, labels)):
        values = x[..., c].ravel()
        assert label == f"{name}: mean {values.mean():.1f}, std {values.std():.1f}"
        assert matplotlib.colors.same_color(patch.get_edgecolor(), name)
        density, edges = np.histogram(values, bins=16, range=(0, 255), density=True)
        xy = patch.get_xy()
        np.testing.assert_allclose(np.unique(xy[:, 0]), edges)
        np.testing.assert_allclose(xy[:, 1].max(), density.max())
        assert set(np.round(density[density > 0], 12)) <= set(np.round(xy[:, 1], 12))
    assert ax.get_xlabel() == "pixel value (0-255)" and ax.get_ylabel() == "density"


@pytest.mark.parametrize("x", [_images(2, channels=1), _images(2)[..., 0]])
def test_channel_histograms_needs_colour_images(x):
    with pytest.raises(ValueError, match="shape|colour"):
        plots.channel_histograms(x)


# Milestones -------------------------------------------------------------------------------------


def _write(tmp_path, text):
    path = tmp_path / "milestones.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_milestones_plots_size_by_year_and_accuracy_by_size(tmp_path):
    rows = read_milestones(_write(tmp_path, HEADER + "A,2012,60,59.3,r,\nB,2015,26,76.0,r,\nC,2021,88,85.1,r,\n"))
    fig = plots.milestones(rows)
    assert len(fig.axes) == 4  # two panels and their colour bars
    left, right, left_bar, right_bar = fig.axes
    assert left_bar.get_ylabel() == "ImageNet top-1 accuracy (%)" and right_bar.get_ylabel() == "year of publication"
    years, params, top1 = np.array([2012, 2015, 2021]), np.array([60.0, 26.0, 88.0]), np.array([59.3, 76.0, 85.1])
    (points,) = left.collections
    np.testing.assert_allclose(points.get_offsets(), np.column_stack([years, params]))
    np.testing.assert_allclose(points.get_array(), top1)  # coloured by accuracy
    (points,) = right.collections
    np.testing.assert_allclose(points.get_offsets(), np.column_stack([params, top1]))
    np.testing.assert_allclose(points.get_array(), years)  # coloured by year
    for ax, (x, y) in ((left, (years, params)), (right, (params, top1))):
        assert [t.get_text() for t in ax.texts] == ["A", "B", "C"]
        np.testing.assert_allclose([t.xy for t in ax.texts], np.column_stack([x, y]))
    assert left.get_yscale() == "log" and right.get_xscale() == "log"
    assert left.get_title() == "Vision models kept growing"
    assert right.get_ylabel() == "ImageNet top-1 accuracy (%)"


def test_milestones_draws_the_books_table():
    rows = read_milestones()
    fig = plots.milestones(rows)
    assert [len(ax.texts) for ax in fig.axes[:2]] == [len(rows), len(rows)]
