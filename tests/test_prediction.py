"""Prediction with test-time augmentation: flips and airbench's shifts average the right logits."""

import numpy as np
import pytest
from cifar_fakes import make_images

from cvtutor.models import build_cnn
from cvtutor.prediction import flip_accuracy, predict_logits, shift_images
from cvtutor.training import set_seed


def test_flip_averages_the_logits_of_both_mirror_images():
    set_seed(0)
    model = build_cnn()
    x, y = make_images(6, seed=1)
    plain, mirrored = predict_logits(model, x), predict_logits(model, np.ascontiguousarray(x[:, :, ::-1]))
    np.testing.assert_allclose(predict_logits(model, x, flip=True), (plain + mirrored) / 2, rtol=1e-5, atol=1e-6)
    assert flip_accuracy(model, (x, y)) == np.mean(((plain + mirrored) / 2).argmax(1) == y)


def test_shift_images_moves_the_content_and_reflects_the_border():
    x = np.arange(2 * 4 * 5 * 3, dtype=np.uint8).reshape(2, 4, 5, 3)
    down_right = shift_images(x, 1, 2)
    assert down_right.shape == x.shape and down_right.dtype == x.dtype
    np.testing.assert_array_equal(down_right[:, 1:, 2:], x[:, :-1, :-2])
    np.testing.assert_array_equal(down_right[:, 0, 2:], x[:, 1, :-2])  # row -1 reflects row 1
    np.testing.assert_array_equal(down_right[:, 1:, 0], x[:, :-1, 2])  # column -2 reflects column 2
    np.testing.assert_array_equal(shift_images(x, -1, -1)[:, :-1, :-1], x[:, 1:, 1:])
    np.testing.assert_array_equal(shift_images(x, 0, 0), x)


def test_translate_averages_airbench_s_six_views():
    set_seed(0)
    model = build_cnn()
    x, y = make_images(6, seed=2)

    def flipped(images):
        return (predict_logits(model, images) + predict_logits(model, np.ascontiguousarray(images[:, :, ::-1]))) / 2

    expected = flipped(x) / 2 + (flipped(shift_images(x, -1, -1)) + flipped(shift_images(x, 1, 1))) / 4
    got = predict_logits(model, x, flip=True, translate=1)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    assert not np.allclose(got, flipped(x), atol=1e-4)  # the shifts count
    assert flip_accuracy(model, (x, y), translate=1) == np.mean(expected.argmax(1) == y)
    without_flip = predict_logits(model, x, translate=2)
    np.testing.assert_allclose(without_flip, predict_logits(model, x) / 2 + (
        predict_logits(model, shift_images(x, -2, -2)) + predict_logits(model, shift_images(x, 2, 2))) / 4,
        rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("translate, error", [(-1, ValueError), (1.5, TypeError), (True, TypeError), (32, ValueError)])
def test_translate_rejects_what_is_not_a_shift_inside_the_image(translate, error):
    x, _ = make_images(2, seed=3)
    with pytest.raises(error, match=rf"translate must be a whole number of pixels.*, got (\w+ )?{translate!r}"):
        predict_logits(None, x, translate=translate)
