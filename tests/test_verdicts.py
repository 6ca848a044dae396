"""Sentences decided from the numbers (cvtutor.verdicts), on a full build's numbers and a quick build's."""

import math

import pytest

from cvtutor import verdicts
from cvtutor.checks import scalar

# Chapter 1.4.3's measurements in two builds of commit e222ff4: the full profile (6 epochs on
# 45,000 images; benchmarks.rebuild's starting build) and the quick profile (1 epoch on 1,800).
FULL = {"top5_share": 63.88, "accuracy": 59.13}
QUICK = {"top5_share": 7.84, "accuracy": 11.60}


def test_attention_is_called_concentrated_only_beyond_twice_the_uniform_share():
    full = verdicts.attention_concentration(FULL["top5_share"], top_k=5, tokens=64)
    assert full.holds and full.en.startswith("concentrated: ") and "8.2 times the 7.8%" in full.en
    quick = verdicts.attention_concentration(QUICK["top5_share"], top_k=5, tokens=64)
    assert not quick.holds and quick.en.startswith("close to uniform: ") and "concentrated" not in quick.en.split(":")[0]
    assert "7.8% of all the attention" in quick.en and "against 7.8% under uniform" in quick.en  # the tie, shown
    assert quick.zh.startswith("接近均匀") and full.zh.startswith("是集中的")
    # the threshold is the stated one: just below and at twice the uniform share
    assert not verdicts.attention_concentration(2 * 100 * 5 / 64 - 0.01, 5, 64).holds
    assert verdicts.attention_concentration(2 * 100 * 5 / 64, 5, 64).holds


def test_a_model_learns_only_beyond_two_standard_errors_above_chance():
    name = ("The attention classifier", "注意力分类器")
    bound = 100 * verdicts.chance_margin(10, 1000)
    assert bound == pytest.approx(10 + 2 * 100 * math.sqrt(0.09 / 1000))  # 11.90%
    quick = verdicts.above_chance(name, QUICK["accuracy"], classes=10, test_images=1000)
    assert not quick.holds and "has not measurably learned" in quick.en and "11.9%" in quick.en
    assert "还没有学到" in quick.zh
    full = verdicts.above_chance(name, FULL["accuracy"], classes=10, test_images=10000)
    assert full.holds and full.en.startswith("The attention classifier learns: 59.1% on 10,000 test images")
    assert verdicts.above_chance(name, bound + 0.01, 10, 1000).holds
    assert not verdicts.above_chance(name, bound, 10, 1000).holds


@pytest.mark.parametrize("call, error, message", [
    (lambda: verdicts.attention_concentration(101, 5, 64), ValueError, r"top_share must be in \[0, 100\], got 101.0"),
    (lambda: verdicts.attention_concentration(50, 64, 64), ValueError, r"top_k must be in \[1, 64\), got 64"),
    (lambda: verdicts.attention_concentration(50, 5.0, 64), TypeError, "top_k must be an integer, got float 5.0"),
    (lambda: verdicts.attention_concentration(50, 5, 64, ratio=1), ValueError, r"ratio must be in \(1, inf\), got 1.0"),
    (lambda: verdicts.above_chance(("a", "a"), float("nan"), 10, 5), ValueError, "accuracy must be in"),
    (lambda: verdicts.above_chance(("a", "a"), 50, 1, 5), ValueError, r"classes must be in \[2, inf\), got 1"),
    (lambda: verdicts.chance_margin(10, True), TypeError, "test_images must be an integer, got bool True"),
])
def test_bad_numbers_say_what_was_expected(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_scalar_checks_speak_one_vocabulary():
    import numbers

    import numpy as np

    assert scalar("n", np.int64(3), numbers.Integral, minimum=1) == 3
    assert scalar("x", 0.5, maximum=1, include_maximum=False) == 0.5
    with pytest.raises(TypeError, match="x must be a number, got str '1'"):
        scalar("x", "1")
    with pytest.raises(ValueError, match=r"x must be in \(-inf, 1\), got 1.0"):
        scalar("x", 1.0, maximum=1, include_maximum=False)


def test_overfitting_is_claimed_only_when_the_larger_models_gap_grows_beyond_the_noise():
    # Chapter 1.5.1's quick build (commit 73eede0): test accuracy above the training accuracy for both.
    quick = verdicts.overfitting_gap(-6.35, -9.95, noise=4.22)
    assert not quick.holds and quick.en.startswith("both models score higher on the test images")
    assert "mean over the last epoch" in quick.en and "过拟合" in quick.zh
    grows = verdicts.overfitting_gap(1.0, 9.0, noise=4.22)
    assert grows.holds and "fits its training images better than it generalises" in grows.en
    within = verdicts.overfitting_gap(1.0, 5.0, noise=4.22)
    assert not within.holds and "no extra overfitting" in within.en
    with pytest.raises(ValueError, match=r"noise must be in \[0, inf\), got -1.0"):
        verdicts.overfitting_gap(1.0, 5.0, noise=-1)


def test_a_law_is_supported_only_by_a_fit_that_could_have_failed():
    two = verdicts.log_linear_fit(0.0, points=2, noise=2.8)  # the quick build: two sizes
    assert not two.holds and "cannot test the law" in two.en and "off its line" not in two.en
    within = verdicts.log_linear_fit(1.2, points=5, noise=2.8)
    assert within.holds and within.en.startswith("and no measured point lies more than 1.2 points")
    beyond = verdicts.log_linear_fit(4.0, points=5, noise=2.8)
    assert not beyond.holds and "the law does not hold" in beyond.en


def test_a_deletion_drop_printed_as_zero_is_never_beyond_the_noise():
    # The quick build's kind: tiny but consistent drops on models at 11% confidence.
    tiny = verdicts.deletion_verdict([("CNN saliency", 0.002, 0.0004), ("CNN Grad-CAM", 0.001, 0.0002)], images=32)
    assert not tiny.holds and "no map's drop exceeds" in tiny.en
    mixed = verdicts.deletion_verdict([("CNN saliency", 0.08, 0.01), ("attention rollout", 0.01, 0.02)], images=32)
    assert not mixed.holds and "the drops of the CNN saliency exceed" in mixed.en
    assert "those of the attention rollout do not" in mixed.en
    assert "every map's drop exceeds" in verdicts.deletion_verdict([("a", 0.08, 0.01)], images=32).en
    with pytest.raises(ValueError, match="at least one map"):
        verdicts.deletion_verdict([], images=32)


def test_chapter_1_5_2s_comparisons_follow_the_noise():
    assert [verdicts.wins(k, n).en for k, n in ((2, 2), (4, 4), (1, 4), (0, 2))] == [
        "both", "all 4", "1 of the 4", "none of the 2"]
    assert verdicts.wins(1, 4).zh == "4 种中的 1 种"
    within = verdicts.lead_change(500, 8000, 5.0, 6.0, noise=8.0)
    assert not within.holds and "is within the noise" in within.en and "5.0 points ahead of the ViT" in within.en
    shrank = verdicts.lead_change(500, 8000, 12.0, 2.0, noise=4.0)
    assert shrank.holds and "The ResNet's lead shrank" in shrank.en and "领先越小" in shrank.zh
    behind = verdicts.lead_change(500, 8000, -3.0, 9.0, noise=4.0)
    assert behind.holds and "3.0 points behind the ViT" in behind.en and "lead grew" in behind.en
    assert verdicts.wins_verdict(3, 3).holds and not verdicts.wins_verdict(0, 3).holds
    assert "at 1 of the 3 training-set sizes" in verdicts.wins_verdict(1, 3).en
    assert verdicts.position_layout(-0.45, 0.3, 0.05).holds
    assert not verdicts.position_layout(-0.05, 0.3, 0.05).holds  # too weak a correlation
    assert not verdicts.position_layout(-0.45, 0.05, 0.3).holds  # neighbours not more alike
    with pytest.raises(ValueError, match=r"k must be in \[0, 2\], got 3"):
        verdicts.wins(3, 2)


def test_chinese_sentences_space_latin_words_and_numbers_as_chinese_books_do():
    sentence = verdicts.Sentence(True, "x", "用250张图像时，ResNet领先ViT。")
    assert sentence.zh == "用 250 张图像时，ResNet 领先 ViT。"


def test_chapter_1_5_1s_sweep_sentences():
    # The quick build: the best model is also the largest and the cheapest within the noise.
    assert verdicts.close_to_best(1, 4, None, 33.5, 100, 100).en.startswith("No model with fewer parameters")
    close = verdicts.close_to_best(3, 6, (8, "(1, 0, 1)"), 61.2, 24.6, 40.0)
    assert close.holds and "3 of the 6 models come within that noise" in close.en
    assert "(width 8, blocks (1, 0, 1), 61.2%) has 25% of the best model's parameters" in close.en
    assert "宽度 8、块数 (1, 0, 1)" in close.zh
    assert not verdicts.sweep_verdict(100.0).holds and verdicts.sweep_verdict(50.0).holds
    assert "had not yet flattened" in verdicts.sweep_verdict(100.0).en
    assert verdicts.largest_against_best(True, 0.0, True).en == "is also the most accurate"
    trailing = verdicts.largest_against_best(False, 1.2, within_noise=True)
    assert trailing.en == "is not the most accurate: it scores 1.2 points below the best, within the noise, so " \
                          "this run does not rank the two"
    assert verdicts.still_learning([0.3]).en.startswith("With a single epoch")
    assert verdicts.still_learning([0.40, 0.52]).holds and not verdicts.still_learning([0.52, 0.50]).holds
    with pytest.raises(ValueError, match="at least one epoch"):
        verdicts.still_learning([])


def test_chapter_1_5_4s_data_sentences():
    note = verdicts.ranking_note((6.0, 1.0), noise=2.8, sizes=(500, 1000), test_images=5000)
    assert not note.holds and note.en.endswith("beyond the noise with the fewest images, within it with the most.")
    assert verdicts.ranking_note((6.0, 4.0), 2.8, (500, 10000), 5000).holds
    # the share of CIFAR-10 is computed, not typed: 1,000 images are 2%, 10,000 a fifth
    quick = verdicts.more_data_helps({"CNN": 5.0, "attention": 4.0}, noise=2.8, before=500, after=1000)
    assert quick.holds and "(2% of CIFAR-10's training images)" in quick.en
    full = verdicts.more_data_helps({"CNN": 5.0, "attention": 1.0}, noise=2.8, before=5000, after=10000)
    assert not full.holds and "for the attention that is no more than the noise" in full.en and "helps it" in full.en
    with pytest.raises(ValueError, match="at least one model"):
        verdicts.more_data_helps({}, 2.8, 500, 1000)
