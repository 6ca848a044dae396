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
    named = verdicts.deletion_verdict([("CNN saliency", 0.08, 0.01), ("CNN Grad-CAM", 0.09, 0.01),
                                       ("attention rollout", 0.01, 0.02)], images=32,
                                      chinese={"CNN saliency": "CNN 显著图", "attention rollout": "注意力展开图"})
    assert "the drops of the CNN saliency and CNN Grad-CAM exceed" in named.en
    assert "CNN 显著图和 CNN Grad-CAM 的置信度下降" in named.zh and "，注意力展开图则没有" in named.zh
    assert "saliency" not in named.zh, "a method's Chinese name replaces the English one"
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


# Chapters 1.4.1, 1.5.1, 1.5.3 and 1.5.4: the quick numbers are those of their quick-profile runs of
# 2026-12-07 (commit c9a03f4 and the change that glued these sentences). The full-profile build of
# that day (benchmarks.rebuild) stopped after chapter 1.5.1, whose full numbers are used; for the
# other chapters the full-profile cases are at the full profile's sizes (5,000 evaluation images in
# 1.5.4: noise 2.0 points; 10,000 test images in 1.4.1; three seeds and four label budgets in 1.5.3)
# and, where the book recorded them, the numbers of the full build of 948644c.


def test_plain_statements_glued_in_both_languages():
    lossy = verdicts.data_source("class-folders")
    assert lossy.holds and lossy.en.startswith("the offline JPEG copy of CIFAR-10 (JPEG-compressed")
    assert lossy.zh.startswith("CIFAR-10 的离线 JPEG 副本（")
    assert verdicts.data_source("archive").zh == "CIFAR-10 的官方发布版本"
    here = verdicts.machine("x86_64", 2, "3.15.1", "tensorflow")
    assert here.en == "x86_64, 2 CPU cores, Keras 3.15.1 on tensorflow"
    assert here.zh == "一台 x86_64 机器（2 个 CPU 核心，Keras 3.15.1，tensorflow 后端）"  # fits "在……上"
    # the full build's best model (1.5.1; the quick build's: width 8)
    best = verdicts.sweep_model(16, "(1, 0, 1)")
    assert (best.en, best.zh) == ("width 16, blocks (1, 0, 1)", "宽度 16、块数 (1, 0, 1)")
    assert set(verdicts.CIFAR10_CHINESE) == {"airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse",
                                             "ship", "truck"}
    assert verdicts.class_name("ship").zh == "船"
    deer = verdicts.confusion("deer", "frog", 59, 0.584)  # the quick build's most frequent mistake (1.4.1)
    assert deer.en == "deer taken for frog (59 images, 58.4% of the deer images)"
    assert deer.zh == "鹿被误认为青蛙（59 张，占鹿图像的 58.4%）"
    with pytest.raises(KeyError):
        verdicts.class_name("lorry")
    # the models by registry key or by a chapter's table label; the Chinese sentence never shows the key
    assert verdicts.model_name("attention").zh == "图像块注意力模型"
    assert verdicts.model_name("RNN (LSTM)") == verdicts.model_name("rnn")
    assert {verdicts.model_name(key).en for key in ("CNN", "ResNet", "ViT")} == {"CNN", "ResNet", "ViT"}
    with pytest.raises(KeyError, match="expected one of the book's models"):
        verdicts.model_name("transformer")


def test_this_machine_is_what_machine_hardware_says():
    pytest.importorskip("keras")
    from cvtutor import machine

    assert verdicts.this_machine().en == machine.hardware()


def test_chapter_1_5_3s_sentences_follow_the_seed_spread_and_the_noise():
    # quick build: the distilled student 0.05 points behind, seeds -0.30 and +0.20, spread 2.47
    assert not verdicts.beyond_seed_spread(-0.05, 2.47).holds
    assert verdicts.beyond_seed_spread(-0.05, 2.47).zh == "没有超过"  # "这一差值没有超过种子间的波动"
    quick = verdicts.distillation_reading([-0.30, 0.20], 2.47)
    assert not quick.holds and quick.en.startswith("The difference is within what changing the seed does")
    helped = verdicts.distillation_reading([1.2, 2.0, 3.1], 0.5)
    assert helped.holds and helped.en.endswith("distillation helped.") and "蒸馏起了作用" in helped.zh
    assert "did not help" in verdicts.distillation_reading([-1.2, -2.0, -3.1], 0.5).en
    # a tie is no win: the seeds do not all agree
    assert "the seeds disagree" in verdicts.distillation_reading([0.0, 2.0, 2.0], 0.5).en
    assert verdicts.beyond_seed_spread(0.51, 0.5).holds and not verdicts.beyond_seed_spread(-0.5, 0.5).holds
    # quick build's transfer: -6.0 and -7.4 points with 10 and 100 labels, noise 6.3
    within = verdicts.transfer_reading([-5.99, -7.39], (10, 100), 6.32, None)
    assert not within.holds and "if any, was within the noise" in within.en
    behind = verdicts.transfer_reading([-9.0, -7.39], (10, 100), 6.32, None)
    assert not behind.holds and "training from scratch was ahead of the transferred network" in behind.en
    pays = verdicts.transfer_reading([15.0, 10.0, 5.0, 1.0], (10, 50, 100, 500), 4.0, matched=100)
    assert pays.holds and pays.en.startswith("Training from scratch needed 100 labels per class")
    assert pays.en.endswith("with 10: smaller by more than the noise of such a change (5.7 points), as expected "
                            "when training from scratch has more images to learn its own features from.")
    assert "With 500 labels per class the lead was 1.0 points, against 15.0" in pays.en
    kept = verdicts.transfer_reading([15.0, 14.0, 13.0, 12.0], (10, 50, 100, 500), 4.0, matched=None)
    assert "did not get there even with 500 labels" in kept.en
    assert "not smaller by more than the noise of such a change (5.7 points) in this run" in kept.en
    # a change of lead is a difference of two differences: 5 points is beyond 4 but not beyond sqrt(2) * 4
    assert "not smaller" in verdicts.transfer_reading([15.0, 10.0], (10, 500), 4.0, matched=None).en
    assert "迁移网络在每类 10 个标签时的水平" in kept.zh
    with pytest.raises(ValueError, match="one entry per label budget"):
        verdicts.transfer_reading([1.0], (10, 100), 4.0, None)


def test_chapter_1_5_3s_speed_sentences_need_five_percent_and_float32_rounding():
    # quick build: bfloat16 7.73 times as slow as float32, on a CPU without bfloat16 instructions
    assert verdicts.relative_speed(7.73).en == "slower than" and verdicts.relative_speed(7.73).zh == "慢于"
    assert verdicts.bfloat16_reading(7.73, []).en.endswith(": extra work, not less.")
    assert [verdicts.relative_speed(r).en for r in (1.05, 1.0501, 0.95, 0.9499)] == [
        "about as fast as", "slower than", "about as fast as", "faster than"]
    assert verdicts.bfloat16_reading(1.02, []).en.endswith(", and saved nothing measurable.")
    assert verdicts.bfloat16_reading(0.8, []).holds
    flags = verdicts.bfloat16_reading(0.8, ["amx_bf16", "avx512_bf16"])
    assert "(amx_bf16, avx512_bf16); which operations use them" in flags.en and "（amx_bf16、avx512_bf16）" in flags.zh
    # quick build: the two replicas' losses within 1.0e-7 over all 8 steps
    stayed = verdicts.rounding_growth(1.03e-7, 1.03e-7)
    assert not stayed.holds and stayed.en == "Over this short run the gap stayed at most 1e-07"
    assert verdicts.rounding_growth(1e-7, 3e-5).en == "Over the run the gap grew, to 3e-05 at the largest"
    assert not verdicts.rounding_growth(1e-9, 9e-7).holds  # below ten times float32's rounding
    # quick build: two replicas 7.8 s, one device 3.5 s; the full build of 948644c: 4.9 s against 5.3 s
    assert verdicts.replica_time_note(7.77, 3.46) == verdicts.Sentence(False, "", "")
    shorter = verdicts.replica_time_note(4.9, 5.3)
    assert shorter.holds and shorter.en.startswith("That the two replicas' epoch was the shorter one here")


def test_chapter_1_5_4s_attention_steps_and_saliency_sentences():
    # the quick build: 500 and 1,000 images, noise 4.5 points
    first = {"CNN": 10.7, "ResNet (width 8)": 22.9, "attention": 10.4}
    last = {"CNN": 18.3, "ResNet (width 8)": 28.3, "attention": 13.8}
    slope = {"CNN": 7.6, "ResNet (width 8)": 5.4, "attention": 3.4}
    quick = verdicts.attention_at_scale(first, last, slope, 1_000, 4.47)
    assert quick.holds and "ends 14.5 points below the ResNet (width 8) at 1,000 images" in quick.en
    assert "gains more per doubling" not in quick.en and "比 ResNet (width 8) 低 14.5 个百分点" in quick.zh
    # the gap narrows only by more than sqrt(2) times the noise (a difference of two differences)
    steeper = {**slope, "attention": 9.0}
    narrows = verdicts.attention_at_scale({"a": 30.0, "attention": 10.0}, {"a": 50.0, "attention": 45.0},
                                          {"a": 5.0, "attention": 9.0}, 10_000, 2.0)
    assert narrows.en.endswith("in this run, the gap narrows as the data grows.")
    barely = verdicts.attention_at_scale({"a": 30.0, "attention": 10.0}, {"a": 50.0, "attention": 32.8},
                                         {"a": 5.0, "attention": 9.0}, 10_000, 2.0)  # narrowed by 2.8 < 2.83
    assert "narrows" not in barely.en
    within = verdicts.attention_at_scale(first, {**last, "attention": 25.0}, steeper, 1_000, 4.47)
    assert not within.holds and within.en.startswith("At 1,000 images the patch-attention model is within the noise")
    # the attention model best: against the next model, never against itself
    ahead = verdicts.attention_at_scale(first, {**last, "attention": 30.0}, slope, 1_000, 4.47)
    assert not ahead.holds and "only 1.7 points ahead of the ResNet (width 8), within the noise" in ahead.en
    best = verdicts.attention_at_scale(first, {**last, "attention": 40.0}, slope, 1_000, 4.47)
    assert best.holds and best.en.startswith("Here the patch-attention model is the best at 1,000 images")
    # the quick build's long run: 17.6% on its 500 training images, 11.1% on the test images
    assert verdicts.memorization(500, 17.6, 11.1).en.endswith("against 11.1% on the test images.")
    assert verdicts.memorization(500, 99.0, 40.2).en.endswith("teaches the model those images rather than the classes.")
    assert not verdicts.memorization(500, 41.0, 26.0).holds  # 15 points: not more than the threshold
    # the quick build: more data +7.6 points, the same steps on 500 images +0.4, noise 4.5
    share = verdicts.steps_versus_data(7.6, 0.4, 4.47)
    assert share.holds and share.en.startswith("The extra steps alone bring 5% of what the extra data brought")
    assert "did not help the CNN by more than the noise (4.5 points)" in verdicts.steps_versus_data(2.0, 0.4, 4.47).en
    assert "as much as the extra data, within the noise" in verdicts.steps_versus_data(20.0, 18.8, 2.0).en
    assert verdicts.steps_versus_data(20.0, 28.0, 2.0).en.endswith("brought more than the extra data.")
    assert verdicts.steps_versus_data(20.0, -3.0, 2.0).en.startswith("The extra steps alone brought nothing (-3.0")
    # the quick build: 49.5% of the trained CNN's saliency in the central quarter, 49.2% of the untrained one's
    architecture = verdicts.centre_concentration(49.5, 49.2)
    assert not architecture.holds and architecture.en.startswith("the concentration in the middle comes largely")
    assert verdicts.centre_concentration(60.0, 30.0).en.startswith("the trained CNN's concentration in the middle is")
    assert "not concentrated" in verdicts.centre_concentration(24.0, 30.0).en


def test_chapter_1_4_1s_chance_and_noise_sentences():
    # the quick build: the article's code taken literally reached 10.1% on 1,000 test images (bound 10 +- 1.9)
    quick = verdicts.at_chance(10.1, 10, 1_000)
    assert quick.holds and quick.en == ", the accuracy of guessing among ten balanced classes"
    assert quick.zh == "，即在十个均衡的类别中随机猜测的准确率"
    assert verdicts.at_chance(12.5, 10, 1_000) == verdicts.Sentence(False, "", "")
    assert not verdicts.at_chance(10.7, 10, 10_000).holds  # the full test set: 10 +- 0.6
    # the quick build's three differences against 4.5 points of noise: scaling's 4.4 is within it
    gains = [(("scaling", "缩放像素"), 4.4), (("fixing the double softmax", "修正两次 softmax"), 7.7),
             (("fixing both", "同时修正两处"), 11.3)]
    noted = verdicts.beyond_test_noise(gains, 4.47, 1_000)
    assert noted.holds and noted.en.endswith("Beyond it here: fixing the double softmax, fixing both.")
    assert noted.zh.endswith("这里超出噪声的有：修正两次 softmax、同时修正两处。")
    none = verdicts.beyond_test_noise(gains[:1], 4.47, 1_000)
    assert not none.holds and none.en.endswith("None of the differences here is beyond it.")
    with pytest.raises(ValueError, match="at least one difference"):
        verdicts.beyond_test_noise([], 4.47, 1_000)


def test_chapter_1_5_2s_running_averages_gap_counts_only_beyond_the_noise():
    # the full build of 3a4a6e0: the ResNet (momentum 0.9) 56.4% re-estimated, 49.0% with running
    # averages after 375 steps, noise 2.0 points
    full = verdicts.running_average_gap(56.42, 48.96, 2.0, "375")
    assert full.holds and full.en == "still loses 7.5 points to its running averages after 375 steps"
    assert "低 7.5 个百分点" in full.zh
    close = verdicts.running_average_gap(30.0, 28.5, 2.0, "24")
    assert not close.holds and close.en.startswith("is within the noise (2.0 points)")


def test_the_deletion_summary_follows_the_deletion_verdicts_rule():
    results = [("CNN saliency", 0.08, 0.01), ("CNN Grad-CAM", 0.02, 0.02)]  # Grad-CAM within 2 SE
    summary = verdicts.deletion_summary(results, chinese={"CNN saliency": "CNN 显著图"})
    assert not summary.holds and summary.en == "beyond chance: CNN saliency" and summary.zh == "超出随机的：CNN 显著图"
    assert verdicts.deletion_summary([("a", 0.004, 0.0001)]).en == "no map beyond chance"  # prints as 0.00
    assert verdicts.deletion_summary([("a", 0.08, 0.01)]).holds


def test_more_data_helps_names_the_models_in_each_language():
    # the quick build of 5cc3baf: 500 -> 1,000 images, noise 4.5 points; the attention model's gain within it
    gains = {"CNN": 7.6, "ResNet (width 8)": 5.4, "patch-attention model": 3.4}
    sentence = verdicts.more_data_helps(gains, 4.47, before=500, after=1_000,
                                        chinese={"ResNet (width 8)": "宽度为 8 的 ResNet",
                                                 "patch-attention model": "图像块注意力模型"})
    assert not sentence.holds and "for the patch-attention model that is no more than the noise" in sentence.en
    assert "宽度为 8 的 ResNet +5.4 个百分点" in sentence.zh and "对图像块注意力模型而言" in sentence.zh
    assert "attention" not in sentence.zh


def test_fewest_steps_needs_its_margin():
    chinese = {"momentum": "动量法"}
    clear = verdicts.fewest_steps({"SGD": 132, "momentum": 63, "Adam": 55}, budget=400, chinese=chinese)
    assert clear.holds
    assert clear.en == "Adam needs the fewest steps, 55, at least 10% fewer than momentum (63)."
    assert clear.zh == "Adam 所需的步数最少，为 55 步，比动量法（63 步）至少少 10%。"
    close = verdicts.fewest_steps({"SGD": 132, "momentum": 63, "Adam": 63}, budget=400, chinese=chinese)
    assert not close.holds
    assert close.en == "Adam and momentum need about as many steps (63 and 63, less than 10% apart), so neither is faster here."
    assert "谁也不比谁快" in close.zh
    assert verdicts.fewest_steps({"a": 90, "b": 100}, budget=100).holds  # exactly 10% fewer counts
    assert not verdicts.fewest_steps({"a": 91, "b": 100}, budget=100).holds
    only = verdicts.fewest_steps({"SGD": None, "Adam": 40}, budget=50)
    assert only.holds and only.en == "Only Adam gets there within 50 steps (40 steps)."


def test_fewest_steps_checks_its_arguments():
    with pytest.raises(ValueError, match="steps must name at least two optimisers, got 1"):
        verdicts.fewest_steps({"SGD": 3}, budget=10)
    with pytest.raises(ValueError, match="steps must hold at least one count"):
        verdicts.fewest_steps({"SGD": None, "Adam": None}, budget=10)
    with pytest.raises(ValueError, match=r"steps\['SGD'\] must be in \[0, 10\], got 11"):
        verdicts.fewest_steps({"SGD": 11, "Adam": 3}, budget=10)
    with pytest.raises(TypeError, match=r"steps\['SGD'\] must be an integer, got float 3.5"):
        verdicts.fewest_steps({"SGD": 3.5, "Adam": 3}, budget=10)
    with pytest.raises(ValueError, match=r"margin must be in \[0, 1\), got 1.0"):
        verdicts.fewest_steps({"SGD": 3, "Adam": 3}, budget=10, margin=1)


def _row(accuracy, ratio, low, high, seeds=(0, 1, 2)):
    return {"test_accuracy": accuracy, "wall_ratio": ratio, "test_accuracy_range": (low, high), "seeds": list(seeds)}


def test_candidate_against_incumbent_needs_both_more_accuracy_and_less_time():
    names = (("the whitened first layer", "白化的第一层"), ("the trained 3x3 stem", "训练的 3x3 起始层"))
    both = verdicts.candidate_against_incumbent(
        "R", _row(0.793, 1.11, 0.792, 0.798), _row(0.789, 1.43, 0.785, 0.790), names)
    assert both.holds
    assert both.en == (
        "In benchmark run R (3 seeds each; T is the TensorFlow tutorial's wall time in the same run), the whitened "
        "first layer reached a median 79.3% in 1.11 T, the trained 3x3 stem 78.9% in 1.43 T: more accurate and "
        "faster. The accuracy difference, +0.4 points, is not larger than the wider seed spread of the two "
        "(0.6 points).")
    assert "既更准确又更快" in both.zh and "没有超过" in both.zh and "79.3%" in both.zh
    beyond = verdicts.candidate_against_incumbent("R", _row(0.80, 1.0, 0.799, 0.801), _row(0.78, 1.2, 0.779, 0.781),
                                                  names)
    assert beyond.holds and "+2.0 points, is larger than" in beyond.en and "超过了" in beyond.zh
    slower = verdicts.candidate_against_incumbent("R", _row(0.80, 1.5, 0.79, 0.81), _row(0.78, 1.2, 0.77, 0.79),
                                                  names)
    assert not slower.holds and ": more accurate but slower." in slower.en and "更准确但更慢" in slower.zh
    tie = verdicts.candidate_against_incumbent("R", _row(0.78, 1.0, 0.77, 0.79), _row(0.78, 1.2, 0.77, 0.79), names)
    assert not tie.holds and ": faster but not more accurate." in tie.en and "+0.0 points" in tie.en
    worse = verdicts.candidate_against_incumbent("R", _row(0.7, 1.3, 0.7, 0.7), _row(0.78, 1.2, 0.78, 0.78), names)
    assert not worse.holds and "neither more accurate nor faster" in worse.en
    one = verdicts.candidate_against_incumbent("R", _row(0.8, 1.0, 0.8, 0.8, seeds=(0,)),
                                               _row(0.7, 1.1, 0.7, 0.7, seeds=(0,)), names)
    assert "(1 seed each;" in one.en
    with pytest.raises(ValueError, match=r"candidate\['wall_ratio'\] must be in \(0, inf\)"):
        verdicts.candidate_against_incumbent("R", _row(0.8, 0.0, 0.8, 0.8), _row(0.7, 1.1, 0.7, 0.7), names)
    with pytest.raises(TypeError, match=r"incumbent\['wall_ratio'\] must be a number, got NoneType None"):
        verdicts.candidate_against_incumbent("R", _row(0.8, 1.0, 0.8, 0.8), _row(0.7, None, 0.7, 0.7), names)


def test_paired_gain_holds_only_when_every_seed_gains():
    what = (("the shifts", "平移"), ("the flips' accuracy", "翻转后的准确率"))
    every = verdicts.paired_gain([0.35, 0.51, 0.48], "R", *what)
    assert every.holds
    assert every.en == ("On the same trained models of benchmark run R (3 seeds), the shifts added +0.35 to "
                        "+0.51 points to the flips' accuracy, on every seed.")
    assert "每个种子都有提高" in every.zh and "+0.35 到 +0.51" in every.zh
    mixed = verdicts.paired_gain([0.2, -0.1], "R", *what)
    assert not mixed.holds and mixed.en.endswith("changed the flips' accuracy by -0.10 to +0.20 points: "
                                                 "not a gain on every seed.")
    tie = verdicts.paired_gain([0.0], "R", *what)
    assert not tie.holds and "(1 seed)" in tie.en and "by +0.00 points" in tie.en
    one = verdicts.paired_gain([0.4], "R", *what)
    assert one.holds and one.en.endswith("added +0.40 points to the flips' accuracy, on its one seed.")
    none = verdicts.paired_gain([], None, *what)
    assert not none.holds and none.en == "No benchmark run has measured the shifts yet."
    with pytest.raises(TypeError, match=r"gains\[1\] must be a number, got str 'x'"):
        verdicts.paired_gain([0.1, "x"], "R", *what)

# Chapter 1.4.4's measurements, from executions of book/cnn_features.ipynb on this machine (commits c7b81d9
# and 49c45a2, the same chapter code): the quick profile (1 epoch on 1,799 images, 1,000 test images) and the
# full one (10 epochs on 45,000 images, 10,000 test images; 224 s for the whole notebook). Noises are two
# standard errors, in points.
QUICK_144 = {"trained": 0.985, "trained_bound": 0.941, "initial": 0.986, "initial_bound": 0.941, "change": 0.553,
             "change_bound": 0.906, "share": 21.9, "chance": 10.0, "noise": 1.2, "features": 21.95,
             "pixels": 22.2, "paired_noise": 1.4, "knn": 27.6, "head": 21.3, "knn_noise": 3.3}
FULL_144 = {"trained": 0.801, "trained_bound": 0.938, "initial": 0.986, "initial_bound": 0.941, "change": 0.595,
            "change_bound": 0.929, "share": 60.8, "chance": 10.0, "noise": 0.7, "features": 59.88,
            "pixels": 30.2, "paired_noise": 2.4, "knn": 68.4, "head": 67.8, "knn_noise": 0.7}


def test_smoother_filters_needs_the_permutation_bound_and_names_the_case():
    def verdict(numbers, **changes):
        n = {**numbers, **changes}
        return verdicts.smoother_filters(n["trained"], n["trained_bound"], n["initial"], n["initial_bound"],
                                         n["change"], n["change_bound"], 1000)

    full = verdict(FULL_144)
    assert full.holds and full.en.startswith("smoother than at initialisation: ") and "0.801" in full.en
    assert "below 0.938, the contrast that only 1% of 1,000 random rearrangements" in full.en
    assert full.zh.startswith("比初始化时更平滑")
    quick = verdict(QUICK_144)  # too little training to smooth the filters, but the change is smooth
    assert not quick.holds and quick.en.startswith("not measurably smoother than the same weights in random places")
    assert "what it added is smooth: the change (trained minus initial weights) has a contrast of 0.553" in quick.en
    assert "加上去的部分是平滑的" in quick.zh
    nothing = verdict(QUICK_144, change=0.95)
    assert not nothing.holds and nothing.en.endswith("in this run the change is too small to tell from chance")
    assert "小到无法与随机情形区分" in nothing.zh
    already = verdict(FULL_144, initial=0.9)  # smooth before training too: not training's doing
    assert not already.holds and "so training is not what made them smooth" in already.en
    # the bound itself is not below the bound: a tie counts as not smoother
    assert not verdict(FULL_144, trained=0.938).holds and verdict(FULL_144, trained=0.9379).holds


def test_smoother_filters_checks_its_arguments():
    with pytest.raises(ValueError, match=r"trained must be in \[0, inf\), got -0.1"):
        verdicts.smoother_filters(-0.1, 0.9, 1.0, 0.9, 1.0, 0.9, 1000)
    with pytest.raises(ValueError, match=r"rearrangements must be in \[100, inf\), got 99"):
        verdicts.smoother_filters(0.5, 0.9, 1.0, 0.9, 1.0, 0.9, 99)
    with pytest.raises(TypeError, match="rearrangements must be an integer"):
        verdicts.smoother_filters(0.5, 0.9, 1.0, 0.9, 1.0, 0.9, 1000.0)


def test_neighbour_labels_counts_only_beyond_the_noise_above_chance():
    full = verdicts.neighbour_labels(FULL_144["share"], FULL_144["chance"], FULL_144["noise"], 10)
    assert full.holds and "60.8% share its label, 6.1 times the 10.0%" in full.en
    assert full.en.endswith("the features group images by class.") and "是随机近邻的 6.1 倍" in full.zh
    quick = verdicts.neighbour_labels(QUICK_144["share"], QUICK_144["chance"], QUICK_144["noise"], 10)
    assert quick.holds and "2.2 times" in quick.en  # 11.9 points above chance, noise 1.2
    tie = verdicts.neighbour_labels(12.0, 10.0, 2.0, 10)  # exactly the noise: not beyond it
    assert not tie.holds and "within the noise (2.0 points" in tie.en and "do not measurably group" in tie.en
    assert "至少测不出来" in tie.zh
    with pytest.raises(ValueError, match=r"share must be in \[0, 100\]"):
        verdicts.neighbour_labels(101, 10, 1, 10)
    with pytest.raises(ValueError, match=r"k must be in \[1, inf\), got 0"):
        verdicts.neighbour_labels(50, 10, 1, 0)


def test_features_against_pixels_three_ways():
    full = verdicts.features_against_pixels(FULL_144["features"], FULL_144["pixels"], FULL_144["paired_noise"])
    assert full.holds and "only 30.2% of the time, 29.7 points fewer" in full.en and "网络算出的特征" in full.zh
    quick = verdicts.features_against_pixels(QUICK_144["features"], QUICK_144["pixels"], QUICK_144["paired_noise"])
    assert not quick.holds and "the same within the noise (1.4 points)" in quick.en and "no better than" in quick.en
    worse = verdicts.features_against_pixels(10.0, 20.0, 2.0)
    assert not worse.holds and "10.0 points more" in worse.en and "还不如像素" in worse.zh
    with pytest.raises(ValueError, match=r"noise must be in \[0, inf\)"):
        verdicts.features_against_pixels(50, 20, -1)


def test_knn_against_head_ties_within_the_paired_noise():
    full = verdicts.knn_against_head(FULL_144["knn"], FULL_144["head"], FULL_144["knn_noise"], 10)
    assert full.holds and "68.4% of the test images correctly, as many as the network's own head (67.8%)" in full.en
    assert "相当" in full.zh
    quick = verdicts.knn_against_head(QUICK_144["knn"], QUICK_144["head"], QUICK_144["knn_noise"], 10)
    assert quick.holds and "6.3 points more than the network's own head (21.3%)" in quick.en
    below = verdicts.knn_against_head(66.0, 67.8, 0.7, 10)
    assert not below.holds and "1.8 points fewer than the network's own head (67.8%)" in below.en
    assert "低 1.8 个百分点" in below.zh
    tie = verdicts.knn_against_head(68.0, 69.0, 1.0, 10)  # exactly the noise: a tie
    assert tie.holds and "as many as the network's own head (69.0%) within the noise (1.0 points)" in tie.en
    assert "相当" in tie.zh
    with pytest.raises(TypeError, match="k must be an integer"):
        verdicts.knn_against_head(50, 50, 1, 2.5)

# Chapter 1.4.5: numbers like a quick build's (1 epoch on 1,800 images, 1,000 test images: the
# baseline's gap is within the noise) and a full build's (15 epochs on 4,500 images).
QUICK_REG = {"train": 27.0, "validation": 25.5, "test": 26.1, "noise": 3.9}
FULL_REG = {"train": 93.0, "validation": 48.0, "test": 47.5, "noise": 1.4}
DROPOUT = ("Dropout (rate 0.3)", "丢弃法（比率 0.3）")


def test_the_baseline_overfits_only_beyond_the_noise():
    full = verdicts.baseline_overfits(FULL_REG["train"], FULL_REG["validation"], FULL_REG["test"], FULL_REG["noise"])
    assert full.holds and "gap of 45.5 points" in full.en and "it overfits" in full.en and "过拟合了" in full.zh
    quick = verdicts.baseline_overfits(QUICK_REG["train"], QUICK_REG["validation"], QUICK_REG["test"],
                                       QUICK_REG["noise"])
    assert not quick.holds and "too small to tell" in quick.en and "overfits" not in quick.en
    assert "看不出" in quick.zh
    with pytest.raises(ValueError, match="train_accuracy"):
        verdicts.baseline_overfits(101, 50, 50, 1)


def test_regularisation_effect_helps_hurts_ties_and_too_small_to_tell():
    gap = FULL_REG["train"] - FULL_REG["test"]
    helps = verdicts.regularisation_effect(DROPOUT, [3.1, 2.4, 2.9], FULL_REG["noise"], gap)
    assert helps.holds and helps.en.startswith("Dropout (rate 0.3) helps: ") and "+2.8 points" in helps.en
    assert "有帮助" in helps.zh and "3 个种子" in helps.zh
    hurts = verdicts.regularisation_effect(DROPOUT, [-3.0, -2.0, -2.5], FULL_REG["noise"], gap)
    assert not hurts.holds and " hurts: " in hurts.en and "有害" in hurts.zh
    # a mean beyond the test noise, but seeds that disagree: two standard errors decide (a tie)
    spread = verdicts.regularisation_effect(DROPOUT, [6.0, -2.0, 2.0], FULL_REG["noise"], gap)
    assert not spread.holds and "no measurable effect (a tie" in spread.en and "threshold of 4.6" in spread.en
    tie = verdicts.regularisation_effect(DROPOUT, [0.5, -0.4, 0.2], FULL_REG["noise"], gap)
    assert not tie.holds and "no measurable effect" in tie.en and "打平" in tie.zh
    # the quick build: whatever the difference, the baseline does not overfit
    quick_gap = QUICK_REG["train"] - QUICK_REG["test"]
    for differences in ([5.0, 6.0, 7.0], [-5.0, -6.0, -7.0], [0.0, 0.1, -0.1]):
        quick = verdicts.regularisation_effect(DROPOUT, differences, QUICK_REG["noise"], quick_gap)
        assert not quick.holds and "too small to tell" in quick.en and "看不出作用" in quick.zh
    one_seed = verdicts.regularisation_effect(DROPOUT, [3.0], FULL_REG["noise"], gap)
    assert one_seed.holds and "one seed" in one_seed.en and "1 seed " in one_seed.en


def test_regularisation_effect_checks_its_arguments():
    with pytest.raises(TypeError, match="method"):
        verdicts.regularisation_effect("Dropout", [1.0], 1.0, 10.0)
    with pytest.raises(ValueError, match="one value per seed"):
        verdicts.regularisation_effect(DROPOUT, [], 1.0, 10.0)
    with pytest.raises(ValueError, match="noise"):
        verdicts.regularisation_effect(DROPOUT, [1.0], -1.0, 10.0)
    with pytest.raises(TypeError, match="differences"):
        verdicts.regularisation_effect(DROPOUT, ["1"], 1.0, 10.0)


def test_early_stopping_reading():
    full = verdicts.early_stopping_reading([9, 8, 10], [6, 5, 7], 15)
    assert full.holds and "after epochs 9, 8, 10" in full.en and "epochs 6, 5, 7" in full.en
    quick = verdicts.early_stopping_reading([1, 1, 1], [1, 1, 1], 1)
    assert not quick.holds and "did not stop" in quick.en and "没有" in quick.zh
    with pytest.raises(ValueError, match="best_epochs"):
        verdicts.early_stopping_reading([3], [4], 5)
    with pytest.raises(ValueError, match="one value per seed"):
        verdicts.early_stopping_reading([3, 4], [2], 5)


def test_early_stopping_reading_counts_in_the_singular_too():
    quick = verdicts.early_stopping_reading([1, 1, 1], [1, 1, 1], 1)
    assert "budget of 1 epoch (each ran 1 epoch)" in quick.en and "epochs 1, 1, 1" in quick.en
    mixed = verdicts.early_stopping_reading([10, 15], [7, 15], 15)
    assert not mixed.holds and "(they ran 10, 15 epochs)" in mixed.en


def test_regularisation_effect_prints_no_negative_zero():
    tie = verdicts.regularisation_effect(DROPOUT, [-0.04, 0.0, 0.01], 1.4, 45.0)
    assert "+0.0 points" in tie.en and "-0.0" not in tie.en + tie.zh
