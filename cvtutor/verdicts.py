"""Sentences that conclude from a measurement, decided by code with a stated threshold.

A qualitative word about a measured quantity ("concentrated", "learns", "beyond the noise") is
only as true as the numbers printed beside it, and the book is built in two profiles: a quick
build trains for one epoch on 2,000 images, where a sentence written for the full run can be
false. So the chapters do not type such words: each function here takes the numbers, applies a
threshold it states, and returns a :class:`Sentence` whose wording follows the verdict, in both of
the book's languages. A chapter glues both (:func:`cvtutor.notebook.glue_sentence`); the English
page shows ``name``, the Chinese edition ``name_zh``. The plain statements that chapters glue as
prose (where the data came from, the machine, a model's or a class's name) are made here too, as
a :class:`Sentence` that always holds, so that both languages come from one place.

The thresholds are conventional, not tuned: twice the uniform share for "concentrated" attention,
and two binomial standard errors above chance for "learned", the usual approximate 95% bound for
an accuracy measured on ``n`` independent test images (see e.g. Japkowicz and Shah, *Evaluating
Learning Algorithms*, 2011, ch. 5).
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import re

from cvtutor.checks import scalar

__all__ = ["CIFAR10_CHINESE", "MODEL_NAMES", "Sentence", "above_chance", "at_chance", "attention_at_scale",
           "attention_concentration", "baseline_overfits", "beyond_seed_spread", "beyond_test_noise", "bfloat16_reading",
           "candidate_against_incumbent",
           "centre_concentration", "chance_margin", "class_name", "close_to_best", "confusion", "data_source",
           "deletion_summary", "deletion_verdict", "distillation_reading", "early_stopping_reading",
           "features_against_pixels", "fewest_steps", "knn_against_head", "largest_against_best",
           "lead_change", "log_linear_fit", "machine", "memorization", "model_name", "more_data_helps",
           "neighbour_labels", "overfitting_gap", "paired_gain", "position_layout", "ranking_note",
           "regularisation_effect", "relative_speed", "replica_time_note", "rounding_growth",
           "running_average_gap", "smoother_filters", "steps_versus_data", "still_learning", "sweep_model",
           "sweep_verdict", "this_machine", "transfer_reading", "wins", "wins_verdict"]


# A Latin name may end in ")" (ResNet (width 8)): a space after it too.
_CJK_LATIN = re.compile(r"(?<=[A-Za-z0-9%)])(?=[\u4e00-\u9fff])|(?<=[\u4e00-\u9fff])(?=[A-Za-z0-9])")


@dataclasses.dataclass(frozen=True)
class Sentence:
    """A conclusion and the words that state it.

    Attributes:
        holds: whether the measured numbers pass the stated threshold.
        en: the sentence (or clause) in English, numbers and threshold included.
        zh: the same in Chinese.
    """

    holds: bool
    en: str
    zh: str

    def __post_init__(self):
        # Chinese technical writing puts a space between Chinese and Latin letters or digits; the
        # sentences are assembled from parts (a model's name, a number), so it is added here.
        object.__setattr__(self, "zh", _CJK_LATIN.sub(" ", self.zh))


def _percent(name: str, value) -> float:
    return scalar(name, value, numbers.Real, minimum=0, maximum=100)


def attention_concentration(top_share: float, top_k: int, tokens: int, ratio: float = 2.0) -> Sentence:
    """Whether attention is concentrated: do the ``top_k`` most-attended of ``tokens`` tokens receive
    at least ``ratio`` times the share uniform attention would give them (``100 * top_k / tokens``
    percent)?

    Args:
        top_share: the percentage of all attention weight (rows summing to 1, averaged over queries
            and heads) that the ``top_k`` most-attended tokens receive.
        top_k: how many tokens ``top_share`` counts.
        tokens: tokens attended over.
        ratio: the threshold, a multiple of the uniform share (above 1).

    Returns:
        a :class:`Sentence` that continues "the attention is ...".

    Raises:
        ValueError: a share outside 0-100, ``top_k`` not below ``tokens``, ``ratio`` not above 1.
        TypeError: a number that is not one (``top_k`` and ``tokens``: not an integer).
    """
    top_share = _percent("top_share", top_share)
    tokens = scalar("tokens", tokens, numbers.Integral, minimum=2)
    top_k = scalar("top_k", top_k, numbers.Integral, minimum=1, maximum=tokens, include_maximum=False)
    ratio = scalar("ratio", ratio, numbers.Real, minimum=1, include_minimum=False)
    uniform = 100.0 * top_k / tokens
    times = top_share / uniform
    if times >= ratio:
        return Sentence(
            True,
            f"concentrated: the {top_k} most-attended patches receive {top_share:.1f}% of all the attention in "
            f"this block, {times:.1f} times the {uniform:.1f}% that uniform attention would give them "
            f"(the threshold for the word: {ratio:g} times)",
            f"是集中的：最受关注的 {top_k} 个图像块得到了这个 Transformer 块全部注意力的 {top_share:.1f}%，是均匀注意力"
            f"所给的 {uniform:.1f}% 的 {times:.1f} 倍（称为集中的门槛：{ratio:g} 倍）",
        )
    return Sentence(
        False,
        f"close to uniform: the {top_k} most-attended patches receive {top_share:.1f}% of all the attention "
        f"in this block, against {uniform:.1f}% under uniform attention (concentrated would take at least "
        f"{ratio:g} times as much), so this run has not taught the heads where to look",
        f"接近均匀：最受关注的 {top_k} 个图像块只得到这个 Transformer 块全部注意力的 {top_share:.1f}%，而均匀注意力下为 "
        f"{uniform:.1f}%（称得上集中至少要有 {ratio:g} 倍），可见这次训练还没有教会各个头该看哪里",
    )


def chance_margin(classes: int, test_images: int, z: float = 2.0) -> float:
    """The accuracy (a fraction) that chance reaches with probability about 2.3% (``z=2``): chance
    (``1 / classes``) plus ``z`` binomial standard errors on ``test_images`` images.

    Raises:
        TypeError: ``classes`` or ``test_images`` not an integer.
        ValueError: fewer than 2 classes, or no test images.
    """
    classes = scalar("classes", classes, numbers.Integral, minimum=2)
    test_images = scalar("test_images", test_images, numbers.Integral, minimum=1)
    chance = 1.0 / classes
    return chance + float(z) * math.sqrt(chance * (1 - chance) / test_images)


def above_chance(model: tuple[str, str], accuracy: float, classes: int, test_images: int,
                 z: float = 2.0) -> Sentence:
    """Whether a model learned anything measurable: is its test accuracy more than ``z`` binomial
    standard errors above chance (:func:`chance_margin`)?

    Args:
        model: the model's name as the sentence's subject, ``(English, Chinese)``, e.g.
            ``("the attention classifier", "注意力分类器")``.
        accuracy: test accuracy, a percentage.
        classes: the number of classes (chance is ``1 / classes``).
        test_images: the images the accuracy was measured on.
        z: standard errors above chance that count as learning.

    Returns:
        a :class:`Sentence`, a whole clause with ``model`` as its subject.

    Raises:
        ValueError: an accuracy outside 0-100, fewer than 2 classes or no test images.
        TypeError: a number that is not one (``classes``, ``test_images``: not an integer).
    """
    accuracy = _percent("accuracy", accuracy)
    margin = 100.0 * chance_margin(classes, test_images, z)
    chance = 100.0 / classes
    english, chinese = model
    if accuracy > margin:
        return Sentence(
            True,
            f"{english} learns: {accuracy:.1f}% on {test_images:,} test images is more than {z:g} standard "
            f"errors above chance ({chance:.0f}%; the bound is {margin:.1f}%)",
            f"{chinese}学到了东西：在 {test_images:,} 张测试图像上的 {accuracy:.1f}% 比随机猜测（{chance:.0f}%）"
            f"高出 {z:g} 个标准误差以上（界限为 {margin:.1f}%）",
        )
    return Sentence(
        False,
        f"{english} has not measurably learned in this run: {accuracy:.1f}% on {test_images:,} test images "
        f"is within {z:g} standard errors of chance ({chance:.0f}%; the bound is {margin:.1f}%), so this "
        f"build gave it too few images or epochs",
        f"{chinese}在这次运行中还没有学到可测出的东西：在 {test_images:,} 张测试图像上的 {accuracy:.1f}% "
        f"与随机猜测（{chance:.0f}%）相差不到 {z:g} 个标准误差（界限为 {margin:.1f}%），说明这次构建给它的"
        f"图像或轮数太少",
    )


def overfitting_gap(smallest: float, largest: float, noise: float) -> Sentence:
    """Whether the larger of two models overfits more, from the gap between each model's training
    and test accuracy (training minus test, in points) and the test accuracy's noise (points).

    Keras reports a training accuracy that is the mean over the last epoch, measured while the
    weights still improved, so after a short run it can fall below the test accuracy: a negative
    gap shows no overfitting at all. The larger model "fits its training images better than it
    generalises" only if its gap exceeds the smaller one's by more than ``noise``.

    Args:
        smallest, largest: training minus test accuracy of the smallest and the largest model, points.
        noise: the difference two test accuracies need to be told apart (e.g. two standard errors
            of a difference), points, 0 or more.

    Returns:
        a :class:`Sentence`, a clause that can follow "in this run, ".

    Raises:
        TypeError: a value that is not a number.
        ValueError: a gap outside -100..100 or a negative ``noise``.
    """
    smallest = scalar("smallest", smallest, numbers.Real, minimum=-100, maximum=100)
    largest = scalar("largest", largest, numbers.Real, minimum=-100, maximum=100)
    noise = scalar("noise", noise, numbers.Real, minimum=0)
    if smallest <= 0 and largest <= 0:
        return Sentence(
            False,
            f"both models score higher on the test images than on the training images ({smallest:+.1f} and "
            f"{largest:+.1f} points, training minus test): Keras's training accuracy is the mean over the last "
            f"epoch, taken while the weights were still improving, so this run shows no overfitting",
            f"两个模型在测试图像上的准确率都高于训练图像（训练减测试分别为 {smallest:+.1f} 和 {largest:+.1f} 个"
            f"百分点）：Keras 报告的训练准确率是最后一轮的平均值，是在权重仍在改进时测得的，所以这次运行看不出过拟合",
        )
    if largest - smallest > noise:
        return Sentence(
            True,
            f"the gap between training and test accuracy grows from {smallest:.1f} points for the smallest model "
            f"to {largest:.1f} for the largest, more than the {noise:.1f} points of test noise: the larger model "
            f"fits its training images better than it generalises",
            f"训练准确率与测试准确率之差从最小模型的 {smallest:.1f} 个百分点增大到最大模型的 {largest:.1f} 个，"
            f"超过了 {noise:.1f} 个百分点的测试噪声：更大的模型对训练图像拟合得更好，泛化却没有跟上",
        )
    return Sentence(
        False,
        f"the gap between training and test accuracy is {smallest:.1f} points for the smallest model and "
        f"{largest:.1f} for the largest, no larger beyond the {noise:.1f} points of test noise, so this run "
        f"shows no extra overfitting with size",
        f"训练准确率与测试准确率之差在最小模型上为 {smallest:.1f} 个百分点，在最大模型上为 {largest:.1f} 个，"
        f"增大的部分没有超出 {noise:.1f} 个百分点的测试噪声，所以这次运行看不出模型越大过拟合越多",
    )


def log_linear_fit(worst_residual: float, points: int, noise: float) -> Sentence:
    """Whether accuracy grows linearly in the logarithm of the data size: a straight line fitted to
    ``points`` sizes, tested by its largest residual against the test noise. Two points always lie
    on a line, so with fewer than three sizes the law is not tested at all.

    Args:
        worst_residual: the largest distance of a measured accuracy from its fitted line, points.
        points: the data sizes the line was fitted to.
        noise: the test noise (e.g. two standard errors of a difference), points.

    Returns:
        a :class:`Sentence`, a clause that continues a sentence stating the fitted slopes
        (it starts with "and" or "but").

    Raises:
        TypeError: a value that is not a number (``points``: not an integer).
        ValueError: a negative residual or noise, fewer than two points.
    """
    worst_residual = scalar("worst_residual", worst_residual, numbers.Real, minimum=0)
    points = scalar("points", points, numbers.Integral, minimum=2)
    noise = scalar("noise", noise, numbers.Real, minimum=0)
    if points < 3:
        return Sentence(
            False,
            f"but with only {points} data sizes a line passes through every point, so this run cannot test "
            f"the law",
            f"但只有 {points} 种数据量时，直线总能穿过每个点，所以这次运行无法检验这一规律",
        )
    if worst_residual <= noise:
        return Sentence(
            True,
            f"and no measured point lies more than {worst_residual:.1f} points off its line, within the "
            f"{noise:.1f} points of test noise",
            f"而且没有哪个测得的点偏离直线超过 {worst_residual:.1f} 个百分点，在 {noise:.1f} 个百分点的测试噪声之内",
        )
    return Sentence(
        False,
        f"but a measured point lies {worst_residual:.1f} points off its line, more than the {noise:.1f} "
        f"points of test noise: over these sizes the law does not hold",
        f"但有一个测得的点偏离直线 {worst_residual:.1f} 个百分点，超过了 {noise:.1f} 个百分点的测试噪声："
        f"在这些数据量上这一规律并不成立",
    )


def _beats_random(results, z: float, resolution: float) -> list[str]:
    """The methods whose extra drop exceeds ``z`` standard errors and half the printed resolution."""
    return [m for m, extra, se in results if extra > z * se and extra >= resolution / 2]


def deletion_summary(results, z: float = 2.0, resolution: float = 0.01, chinese: dict | None = None) -> Sentence:
    """:func:`deletion_verdict`'s conclusion in a few words, for a summary table: which maps beat
    random pixels by its rule (``"beyond chance: CNN saliency"``, ``"no map beyond chance"``).

    Returns:
        a :class:`Sentence`; ``holds`` when every map beats random.

    Raises:
        ValueError: no results, or a negative standard error.
    """
    results = [(str(m), float(e), scalar("standard error", s, numbers.Real, minimum=0)) for m, e, s in results]
    if not results:
        raise ValueError("results must list at least one map, got none")
    beats = _beats_random(results, z, resolution)
    chinese = chinese or {}
    if not beats:
        return Sentence(False, "no map beyond chance", "没有一种图超出随机")
    return Sentence(len(beats) == len(results), "beyond chance: " + ", ".join(beats),
                    "超出随机的：" + "、".join(chinese.get(m, m) for m in beats))


def deletion_verdict(results, images: int, z: float = 2.0, resolution: float = 0.01,
                     chinese: dict | None = None) -> Sentence:
    """The deletion test's conclusion: which saliency maps point at pixels the model needs more than
    random pixels do. A map "beats random" when, paired image by image, its extra drop in
    confidence exceeds ``z`` standard errors of the difference and is at least half of
    ``resolution`` (the precision the page prints drops at), so that a drop printed as 0.00 is
    never called beyond the noise.

    Args:
        results: ``(method, extra drop, its standard error)`` per map, drops as fractions of confidence.
        images: how many images the test paired.
        z: standard errors that count.
        resolution: the smallest drop the page shows.
        chinese: the methods' Chinese names where they differ from the English.

    Returns:
        a :class:`Sentence` of one or two sentences; ``holds`` when every map beats random.

    Raises:
        ValueError: no results, or a negative standard error.
    """
    results = [(str(m), float(e), scalar("standard error", s, numbers.Real, minimum=0)) for m, e, s in results]
    if not results:
        raise ValueError("results must list at least one map, got none")
    images = scalar("images", images, numbers.Integral, minimum=1)
    beats = _beats_random(results, z, resolution)
    short = [m for m, _, _ in results if m not in beats]
    chinese = chinese or {}

    def names(items, conjunction, comma=", "):
        return items[0] if len(items) == 1 else comma.join(items[:-1]) + conjunction + items[-1]

    head = f"Paired image by image over these {images:,} images,"
    rule = (f"the random one by more than {z:g} standard errors of the difference and by at least "
            f"{resolution / 2:g}")
    head_zh = f"在这 {images:,} 张图像上逐图配对比较，"
    rule_zh = f"比随机像素的下降多出差值的 {z:g} 个标准误差以上、且至少 {resolution / 2:g}"
    if not short:
        return Sentence(True, f"{head} every map's drop exceeds {rule}.", f"{head_zh}每种图的置信度下降都{rule_zh}。")
    if not beats:
        return Sentence(
            False,
            f"{head} no map's drop exceeds {rule}: none is shown here to mark pixels the model needs more than "
            f"random ones.",
            f"{head_zh}没有一种图的置信度下降{rule_zh}：这里没有哪种图被证明比随机像素更能标出模型需要的像素。",
        )
    return Sentence(
        False,
        f"{head} the drops of the {names(beats, ' and ')} exceed {rule}; those of the {names(short, ' and ')} "
        f"do not, and this test does not separate them from chance.",
        f"{head_zh}{names([chinese.get(m, m) for m in beats], '和', '、')}的置信度下降{rule_zh}，"
        f"{names([chinese.get(m, m) for m in short], '和', '、')}则没有，"
        f"这项测试无法把后者与随机区分开。",
    )


def wins(k: int, n: int) -> Sentence:
    """How many of ``n`` comparisons one model won beyond the noise, as a phrase that fills "at ...
    training-set sizes": ``"both"``, ``"all 4"``, ``"2 of the 4"``, ``"none of the 4"``.

    Raises:
        TypeError: ``k`` or ``n`` not an integer.
        ValueError: ``n`` below 1, or ``k`` outside 0..n.
    """
    n = scalar("n", n, numbers.Integral, minimum=1)
    k = scalar("k", k, numbers.Integral, minimum=0, maximum=n)
    if k == n:
        return Sentence(True, "both" if n == 2 else f"all {n}", "两种" if n == 2 else f"全部 {n} 种")
    if k == 0:
        return Sentence(False, "none of the 2" if n == 2 else f"none of the {n}", f"{n} 种中的任何一种都没有")
    return Sentence(False, f"{k} of the {n}", f"{n} 种中的 {k} 种")


def lead_change(small: int, large: int, gap_small: float, gap_large: float, noise: float,
                leader: tuple[str, str] = ("the ResNet", "ResNet"),
                other: tuple[str, str] = ("the ViT", "ViT")) -> Sentence:
    """How one model's lead over another changed from ``small`` to ``large`` training images, and
    whether the change exceeds ``noise`` (two standard errors of a change in a difference of two
    accuracies, i.e. of four accuracies).

    Args:
        small, large: the training-set sizes.
        gap_small, gap_large: the leader's accuracy minus the other's, points, at each size.
        noise: the change that counts, points, 0 or more.
        leader, other: the models' names as subjects, ``(English, Chinese)``.

    Returns:
        a :class:`Sentence` of two sentences; ``holds`` when the lead changed beyond the noise.

    Raises:
        TypeError: a value that is not a number (sizes: not an integer).
        ValueError: a size below 1, a gap outside -100..100 or a negative ``noise``.
    """
    small = scalar("small", small, numbers.Integral, minimum=1)
    large = scalar("large", large, numbers.Integral, minimum=1)
    gap_small = scalar("gap_small", gap_small, numbers.Real, minimum=-100, maximum=100)
    gap_large = scalar("gap_large", gap_large, numbers.Real, minimum=-100, maximum=100)
    noise = scalar("noise", noise, numbers.Real, minimum=0)
    (en_a, zh_a), (en_b, zh_b) = leader, other

    def en_lead(gap):
        return f"{abs(gap):.1f} points {'ahead of' if gap > 0 else 'behind'}"

    def zh_lead(gap):
        return f"{'领先' if gap > 0 else '落后于'} {zh_b} {abs(gap):.1f} 个百分点"

    change = gap_large - gap_small
    en = (f"With {small:,} images {en_a} was {en_lead(gap_small)} {en_b}; with {large:,} images it was "
          f"{en_lead(gap_large)} it. ")
    zh = f"用 {small:,} 张图像时，{zh_a}{zh_lead(gap_small)}；用 {large:,} 张图像时，它{zh_lead(gap_large)}。"
    if abs(change) <= noise:
        return Sentence(
            False,
            en + f"The change, {change:+.1f} points, is within the noise of this experiment (two standard "
                 f"errors of a change in a difference of two accuracies: {noise:.1f} points).",
            zh + f"这一变化（{change:+.1f} 个百分点）在本实验的噪声之内（两个准确率之差的变化量的两个标准误差："
                 f"{noise:.1f} 个百分点）。",
        )
    if change < 0:
        return Sentence(
            True,
            en + f"{en_a[0].upper() + en_a[1:]}'s lead shrank as the data grew, as the ViT paper's argument predicts.",
            zh + f"数据越多，{zh_a}的领先越小，正如 ViT 论文的论证所预言。",
        )
    return Sentence(
        True,
        en + f"{en_a[0].upper() + en_a[1:]}'s lead grew as the data grew: at these sizes, more data helped "
             f"{en_a} more. In the ViT paper, the ViT caught up only with millions of training images.",
        zh + f"数据越多，{zh_a}的领先反而越大：在这些数据量上，更多的数据对 {zh_a} 帮助更大。在 ViT 论文中，"
             f"ViT 要到几百万张训练图像才追上来。",
    )


def wins_verdict(k: int, n: int) -> Sentence:
    """What ``k`` wins beyond the noise out of ``n`` training-set sizes say (the ResNet against the
    ViT, chapter 1.5.2), ending with a colon that introduces the ViT paper's evidence.

    Raises:
        TypeError, ValueError: as :func:`wins`.
    """
    count = wins(k, n)
    if k == n:
        return Sentence(
            True,
            "At every training-set size in this chapter, the ResNet was ahead of the ViT by more than the noise, "
            "with the same work. The ViT paper found the same at a larger scale:",
            "在本章的每一种训练集规模上，ResNet 都以超出噪声的差距领先于 ViT，而两者的计算量相同。"
            "ViT 论文在更大的规模上得到了同样的结论：",
        )
    if k == 0:
        return Sentence(
            False,
            "In this run the ResNet was never ahead of the ViT by more than the noise; with this little training, "
            "the curves say little. The ViT paper's evidence comes from a larger scale:",
            "在这次运行中，ResNet 从未以超出噪声的差距领先于 ViT；训练这么少，曲线说明不了什么。"
            "ViT 论文的证据来自更大的规模：",
        )
    return Sentence(
        False,
        f"In this run the ResNet was ahead of the ViT by more than the noise at {count.en} training-set sizes. "
        "The ViT paper's evidence comes from a larger scale:",
        f"在这次运行中，ResNet 只在 {count.zh}训练集规模上以超出噪声的差距领先于 ViT。ViT 论文的证据来自更大的规模：",
    )


def position_layout(correlation: float, neighbours: float, far: float, threshold: float = -0.1) -> Sentence:
    """Whether learned position embeddings encode the image's layout: similarity must fall with
    distance on the grid (a correlation below ``threshold``) and neighbours must be more similar
    than distant patches.

    Args:
        correlation: Pearson correlation of the embeddings' cosine similarity with grid distance.
        neighbours, far: mean similarity of neighbouring patches and of distant ones.
        threshold: the correlation the verdict needs (below 0).

    Raises:
        TypeError: a value that is not a number.
        ValueError: a correlation or similarity outside -1..1, or a threshold of 0 or more.
    """
    correlation = scalar("correlation", correlation, numbers.Real, minimum=-1, maximum=1)
    neighbours = scalar("neighbours", neighbours, numbers.Real, minimum=-1, maximum=1)
    far = scalar("far", far, numbers.Real, minimum=-1, maximum=1)
    threshold = scalar("threshold", threshold, numbers.Real, minimum=-1, maximum=0, include_maximum=False)
    if correlation < threshold and neighbours > far:
        return Sentence(
            True,
            "Nearby patches have more similar embeddings than distant ones: the ViT has started to learn the "
            "layout from the data.",
            "相邻图像块的嵌入比相距较远的更相似：ViT 已经开始从数据中学到图像的空间布局。",
        )
    return Sentence(
        False,
        "The embeddings show little sign of the layout: this much data and training did not teach it.",
        "这些嵌入几乎看不出空间布局的痕迹：这么多的数据和训练还不足以让模型学会它。",
    )


def _model(width: int, blocks) -> tuple[str, str]:
    """A model of chapter 1.5.1's sweep, named in both languages."""
    return f"width {width}, blocks {blocks}", f"宽度 {width}、块数 {blocks}"


def close_to_best(within: int, total: int, cheapest: tuple | None, accuracy: float,
                  params_percent: float, time_percent: float) -> Sentence:
    """Which models of a sweep are within the noise of the best, and what the cheapest of them costs.

    Args:
        within: models whose accuracy is within the noise of the best (the best included).
        total: models in the sweep.
        cheapest: ``(width, blocks)`` of the model with the fewest parameters among them, or None
            when that is the best model itself.
        accuracy: its test accuracy, percent.
        params_percent, time_percent: its parameters and training time as percentages of the best's.

    Raises:
        TypeError, ValueError: counts that are not integers with 1 <= within <= total.
    """
    total = scalar("total", total, numbers.Integral, minimum=1)
    within = scalar("within", within, numbers.Integral, minimum=1, maximum=total)
    if cheapest is None:
        return Sentence(False, "No model with fewer parameters comes within that noise of the best.",
                        "没有哪个参数更少的模型能进入最佳模型的噪声范围之内。")
    en_name, zh_name = _model(*cheapest)
    return Sentence(
        True,
        f"{within} of the {total} models come within that noise of the best; the one with the fewest parameters "
        f"({en_name}, {accuracy:.1f}%) has {params_percent:.0f}% of the best model's parameters and trained in "
        f"{time_percent:.0f}% of its time.",
        f"{total} 个模型中有 {within} 个落在最佳模型的噪声范围之内；其中参数最少的（{zh_name}，{accuracy:.1f}%）"
        f"只有最佳模型 {params_percent:.0f}% 的参数，训练时间也只用了它的 {time_percent:.0f}%。",
    )


def sweep_verdict(params_percent_of_largest: float, threshold: float = 50.0) -> Sentence:
    """Whether a sweep's accuracy front has flattened: did a model with at most ``threshold``
    percent of the largest model's parameters come within the noise of the best accuracy?

    Args:
        params_percent_of_largest: the parameters of the cheapest model within the noise of the
            best, as a percentage of the largest model's.
        threshold: the percentage that counts as "flattened".

    Raises:
        TypeError: a value that is not a number.
        ValueError: a percentage outside 0-100.
    """
    share = scalar("params_percent_of_largest", params_percent_of_largest, numbers.Real, minimum=0, maximum=100)
    threshold = scalar("threshold", threshold, numbers.Real, minimum=0, maximum=100)
    if share <= threshold:
        return Sentence(
            True,
            f"In this sweep, a model with {share:.0f}% of the largest model's parameters came within the noise of "
            f"the best accuracy: past that size, more parameters cost time and bought no accuracy that this "
            f"experiment can resolve.",
            f"在这次扫描中，一个参数量只有最大模型 {share:.0f}% 的模型就进入了最佳准确率的噪声范围：超过这一规模，"
            f"更多的参数只多花时间，换来的准确率提升本实验分辨不出来。",
        )
    return Sentence(
        False,
        f"In this sweep, no model with at most {threshold:.0f}% of the largest model's parameters came within the "
        f"noise of the best accuracy (two standard errors of a difference): within the sizes tested here, the "
        f"front had not yet flattened.",
        f"在这次扫描中，没有哪个参数量不超过最大模型 {threshold:.0f}% 的模型进入最佳准确率的噪声范围（差值的两个"
        f"标准误差）：在这里测试的规模之内，前沿还没有变平。",
    )


def largest_against_best(is_best: bool, gap: float, within_noise: bool) -> Sentence:
    """The predicate "The largest model ... ": whether it is also the most accurate, and if not, by how
    much it trails the best (``gap``, points) and whether that is within the noise."""
    gap = scalar("gap", gap, numbers.Real, minimum=0, maximum=100)
    if is_best:
        return Sentence(True, "is also the most accurate", "也是最准确的")
    noise_en = ", within the noise, so this run does not rank the two" if within_noise else ""
    noise_zh = "，在噪声之内，所以这次运行分不出两者的高下" if within_noise else ""
    return Sentence(False, f"is not the most accurate: it scores {gap:.1f} points below the best{noise_en}",
                    f"并不是最准确的：它比最佳模型低 {gap:.1f} 个百分点{noise_zh}")


def still_learning(history) -> Sentence:
    """Whether a model was still learning in its last epoch: its training accuracy (fractions, one
    per epoch) rose over the last epoch. With a single epoch there is no trend to show.

    Raises:
        ValueError: an empty ``history``.
    """
    history = [float(v) for v in history]
    if not history:
        raise ValueError("history must hold at least one epoch's training accuracy, got none")
    if len(history) < 2:
        return Sentence(False, "With a single epoch in this profile, there is no trend in training accuracy to show",
                        "这一配置只训练一轮，训练准确率谈不上趋势")
    before, last = 100 * history[-2], 100 * history[-1]
    if last > before:
        return Sentence(True, f"The largest model was still learning: its training accuracy rose from {before:.1f}% "
                              f"to {last:.1f}% in the last epoch",
                        f"最大的模型仍在学习：最后一轮中，它的训练准确率从 {before:.1f}% 升到了 {last:.1f}%")
    return Sentence(False, f"The largest model's training accuracy went from {before:.1f}% to {last:.1f}% in the "
                           f"last epoch",
                    f"最后一轮中，最大模型的训练准确率从 {before:.1f}% 变为 {last:.1f}%")


def ranking_note(margins: tuple[float, float], noise: float, sizes: tuple[int, int], test_images: int) -> Sentence:
    """Whether the leader of a comparison at the fewest and at the most training images leads by
    more than the noise: ``margins`` (points) against ``noise`` (two standard errors of a difference).

    Raises:
        TypeError: a value that is not a number (sizes and ``test_images``: not integers).
        ValueError: a negative margin or noise, a size or ``test_images`` below 1.
    """
    small_margin = scalar("margin", margins[0], numbers.Real, minimum=0)
    large_margin = scalar("margin", margins[1], numbers.Real, minimum=0)
    noise = scalar("noise", noise, numbers.Real, minimum=0)
    small = scalar("size", sizes[0], numbers.Integral, minimum=1)
    large = scalar("size", sizes[1], numbers.Integral, minimum=1)
    test_images = scalar("test_images", test_images, numbers.Integral, minimum=1)
    words = {
        (True, True): ("both beyond the noise.", "两者都超出了噪声。"),
        (False, False): ("both within the noise, so neither ranking is established.",
                         "两者都在噪声之内，所以哪个排名都不能成立。"),
        (True, False): ("beyond the noise with the fewest images, within it with the most.",
                        "图像最少时超出噪声，图像最多时则在噪声之内。"),
        (False, True): ("within the noise with the fewest images, beyond it with the most.",
                        "图像最少时在噪声之内，图像最多时则超出噪声。"),
    }[(small_margin > noise, large_margin > noise)]
    return Sentence(
        small_margin > noise and large_margin > noise,
        f"Each accuracy is one run, seed 0, on {test_images:,} test images, so two accuracies closer than "
        f"{noise:.1f} points (two standard errors of their difference) are within the noise. The leader's margin "
        f"over the next model is {small_margin:.1f} points with {small:,} images and {large_margin:.1f} with "
        f"{large:,}: {words[0]}",
        f"每个准确率都只是一次运行（种子 0），在 {test_images:,} 张测试图像上测得，因此相差不到 {noise:.1f} 个"
        f"百分点（两者之差的两个标准误差）的两个准确率在噪声之内。领先者对第二名的优势，在 {small:,} 张图像时为 "
        f"{small_margin:.1f} 个百分点，在 {large:,} 张图像时为 {large_margin:.1f} 个百分点：{words[1]}",
    )


def more_data_helps(last_step: dict, noise: float, before: int, after: int, total: int = 50_000,
                    chinese: dict | None = None) -> Sentence:
    """Whether each model still gained from the last growth of its training set (``before`` to
    ``after`` images): a gain of no more than ``noise`` points shows neither a rise nor a plateau.

    Args:
        last_step: ``{model name: accuracy gained, points}`` from ``before`` to ``after`` images.
        noise: two standard errors of a difference, points.
        before, after: the two training-set sizes.
        total: the training images the data set has (CIFAR-10: 50,000), to say what share ``after`` is.
        chinese: the models' Chinese names where they differ from the English.

    Raises:
        TypeError, ValueError: sizes that are not positive integers, a negative noise, no models.
    """
    chinese = chinese or {}
    if not last_step:
        raise ValueError("last_step must name at least one model, got none")
    noise = scalar("noise", noise, numbers.Real, minimum=0)
    before = scalar("before", before, numbers.Integral, minimum=1)
    after = scalar("after", after, numbers.Integral, minimum=1)
    total = scalar("total", total, numbers.Integral, minimum=after)
    flat = [name for name, gain in last_step.items() if gain <= noise]
    share = 100 * after / total
    if not flat:
        gains = ", ".join(f"{gain:.1f}" for gain in last_step.values())
        return Sentence(
            True,
            f"None of them has levelled off at {after:,} images ({share:.0f}% of CIFAR-10's training images): "
            f"from {before:,} to {after:,} images each gained {gains} points, more than the noise "
            f"({noise:.1f} points, see below).",
            f"到 {after:,} 张图像（CIFAR-10 训练图像的 {share:.0f}%）为止，没有一个模型趋于饱和：从 {before:,} 张"
            f"增加到 {after:,} 张时，它们分别提高了 {gains} 个百分点，都超过了噪声（{noise:.1f} 个百分点，见下文）。",
        )
    changes = ", ".join(f"{gain:+.1f} points ({name})" for name, gain in last_step.items())
    changes_zh = "，".join(f"{chinese.get(name, name)} {gain:+.1f} 个百分点" for name, gain in last_step.items())
    flat_en = " and the ".join(flat)
    flat_zh = "和".join(chinese.get(name, name) for name in flat)
    return Sentence(
        False,
        f"From {before:,} to {after:,} images the accuracy changed by {changes}: for the {flat_en} that is no more "
        f"than the noise ({noise:.1f} points, see below), so this run cannot tell whether more data still helps "
        f"{'it' if len(flat) == 1 else 'them'} at this number of epochs.",
        f"从 {before:,} 张增加到 {after:,} 张图像时，准确率的变化为：{changes_zh}。"
        f"对{flat_zh}而言，这一变化不超过噪声"
        f"（{noise:.1f} 个百分点，见下文），所以这次运行无法判断在这样的轮数下更多数据是否仍有帮助。",
    )


# --- plain statements that several chapters glue: no threshold, the same facts in both languages ---


def data_source(kind: str) -> Sentence:
    """Where a chapter's CIFAR-10 came from, as a noun phrase: ``kind`` is
    :func:`cvtutor.data.find_cifar10`'s ``source.kind`` (``"class-folders"``: the offline JPEG copy)."""
    if kind == "class-folders":
        return Sentence(
            True,
            "the offline JPEG copy of CIFAR-10 (JPEG-compressed: its pixels differ slightly from the original "
            "archive's; every accuracy in this book is measured on it)",
            "CIFAR-10 的离线 JPEG 副本（经过 JPEG 压缩，像素与原始压缩包中的略有差异；本书的所有准确率都是在它上面测得的）",
        )
    return Sentence(True, "the official CIFAR-10 release", "CIFAR-10 的官方发布版本")


def machine(processor: str, cpus: int, keras_version: str, backend: str) -> Sentence:
    """The machine numbers were measured on, as :func:`cvtutor.machine.hardware` says it in English
    (``"x86_64, 2 CPU cores, Keras 3.15.1 on tensorflow"``); the Chinese is a noun phrase that fits
    "在……上"."""
    return Sentence(
        True,
        f"{processor}, {cpus} CPU cores, Keras {keras_version} on {backend}",
        f"一台 {processor} 机器（{cpus} 个 CPU 核心，Keras {keras_version}，{backend} 后端）",
    )


def this_machine() -> Sentence:
    """:func:`machine` for the machine this runs on (what :func:`cvtutor.machine.hardware` describes)."""
    import os
    import platform

    import keras

    return machine(platform.processor() or platform.machine(), os.cpu_count(), keras.__version__,
                   keras.backend.backend())


def sweep_model(width: int, blocks) -> Sentence:
    """A ResNet of chapter 1.5.1's sweep by its width and blocks per stage, named in both languages."""
    return Sentence(True, *_model(width, blocks))


#: CIFAR-10's classes as the Chinese edition names them (chapter 1.5.3's translation), English
#: class name -> Chinese.
CIFAR10_CHINESE = {"airplane": "飞机", "automobile": "汽车", "bird": "鸟", "cat": "猫", "deer": "鹿", "dog": "狗",
                   "frog": "青蛙", "horse": "马", "ship": "船", "truck": "卡车"}


def class_name(name: str) -> Sentence:
    """A CIFAR-10 class (:data:`cvtutor.data.CLASS_NAMES`) in both languages.

    Raises:
        KeyError: a name that is not a CIFAR-10 class.
    """
    return Sentence(True, name, CIFAR10_CHINESE[name])


#: The book's models (:data:`cvtutor.models.MODELS`) as the prose names them: registry key ->
#: (English, Chinese). The default ``build_attention`` embeds patches linearly: the book's
#: patch-attention model.
MODEL_NAMES = {"cnn": ("CNN", "CNN"), "resnet": ("ResNet", "ResNet"), "rnn": ("RNN (LSTM)", "RNN（LSTM）"),
               "attention": ("patch-attention model", "图像块注意力模型"), "vit": ("ViT", "ViT")}


def running_average_gap(recomputed: float, running: float, noise: float, steps: str) -> Sentence:
    """Whether batch normalisation's running averages still cost accuracy after ``steps`` training
    steps: the test accuracy with statistics re-estimated on training images (``recomputed``) against
    the same model with Keras's running averages (``running``), both in %, counted only beyond
    ``noise`` (two standard errors of a difference, in points). Fills "at momentum 0.9, ...".

    Returns:
        ``holds`` when the running averages lose more than the noise.
    """
    gap = float(recomputed) - float(running)
    if gap > noise:
        return Sentence(True, f"still loses {gap:.1f} points to its running averages after {steps} steps",
                        f"训练 {steps} 步之后，用滑动平均仍比重新估计的统计量低 {gap:.1f} 个百分点")
    return Sentence(False, f"is within the noise ({noise:.1f} points) of re-estimated statistics after {steps} steps",
                    f"训练 {steps} 步之后，滑动平均与重新估计的统计量之差已在噪声（{noise:.1f} 个百分点）之内")


def model_name(name: str) -> Sentence:
    """One of the book's models named in both languages, from its registry key (``"rnn"``) or
    the label a chapter's table gives it (``"RNN (LSTM)"``: its first word, case ignored).

    Raises:
        KeyError: a name whose first word is not a key of :data:`MODEL_NAMES`.
    """
    key = str(name).split()[0].lower() if str(name).strip() else ""
    if key not in MODEL_NAMES:
        raise KeyError(f"expected one of the book's models ({', '.join(MODEL_NAMES)}), got {name!r}")
    return Sentence(True, *MODEL_NAMES[key])


def confusion(true: str, predicted: str, count: int, rate: float) -> Sentence:
    """One cell of a confusion matrix: ``count`` test images of class ``true`` classified as
    ``predicted``, ``rate`` (a fraction) of that class's test images."""
    count = scalar("count", count, numbers.Integral, minimum=0)
    percent = 100 * scalar("rate", rate, numbers.Real, minimum=0, maximum=1)
    return Sentence(
        True,
        f"{true} taken for {predicted} ({count:,} images, {percent:.1f}% of the {true} images)",
        f"{CIFAR10_CHINESE[true]}被误认为{CIFAR10_CHINESE[predicted]}（{count:,} 张，占{CIFAR10_CHINESE[true]}"
        f"图像的 {percent:.1f}%）",
    )


# --- chapter 1.4.1 ---

_NUMBER_WORDS = {2: ("two", "两"), 3: ("three", "三"), 4: ("four", "四"), 5: ("five", "五"), 6: ("six", "六"),
                 7: ("seven", "七"), 8: ("eight", "八"), 9: ("nine", "九"), 10: ("ten", "十")}


def at_chance(accuracy: float, classes: int, test_images: int, z: float = 2.0) -> Sentence:
    """Whether a test accuracy is that of guessing: within ``z`` binomial standard errors of chance
    (``1 / classes``) on ``test_images`` images, either side (:func:`chance_margin`'s bound).

    Returns:
        a :class:`Sentence` that follows the accuracy as an apposition (``", the accuracy of
        guessing among ten balanced classes"``), or empty (``holds`` False) when the accuracy is
        farther from chance.

    Raises:
        ValueError, TypeError: as :func:`above_chance`.
    """
    accuracy = _percent("accuracy", accuracy)
    margin = 100.0 * chance_margin(classes, test_images, z) - 100.0 / classes
    if abs(accuracy - 100.0 / classes) > margin:
        return Sentence(False, "", "")
    english, chinese = _NUMBER_WORDS.get(classes, (f"{classes:,}", f"{classes:,} "))
    return Sentence(True, f", the accuracy of guessing among {english} balanced classes",
                    f"，即在{chinese}个均衡的类别中随机猜测的准确率")


def beyond_test_noise(gains, noise: float, test_images: int) -> Sentence:
    """Which of several single-run accuracy differences exceed the test images' noise.

    Args:
        gains: ``((English name, Chinese name), difference in points)`` per comparison; the names
            complete "Beyond it here: ...", e.g. ``("scaling", "缩放像素")``.
        noise: two standard errors of a difference between two accuracies on ``test_images``, points;
            a difference counts when its size exceeds it.
        test_images: the images every accuracy was measured on.

    Returns:
        a :class:`Sentence` of two sentences; ``holds`` when at least one difference is beyond the noise.

    Raises:
        ValueError: no gains, a negative noise or no test images.
    """
    gains = [((str(en), str(zh)), float(gain)) for (en, zh), gain in gains]
    if not gains:
        raise ValueError("gains must list at least one difference, got none")
    noise = scalar("noise", noise, numbers.Real, minimum=0)
    test_images = scalar("test_images", test_images, numbers.Integral, minimum=1)
    beyond = [names for names, gain in gains if abs(gain) > noise]
    en = (f"These are single runs, each with seed 0, tested on {test_images:,} images: a difference below "
          f"{noise:.1f} points (two standard errors of a difference) is within the noise of the test images alone, "
          f"before any seed-to-seed spread. ")
    zh = (f"这些都是单次运行，种子均为 0，在 {test_images:,} 张测试图像上测得：小于 {noise:.1f} 个百分点（差值的两个"
          f"标准误差）的差异，单是测试图像带来的噪声就能造成，这还没有算上种子之间的波动。")
    if beyond:
        return Sentence(True, en + f"Beyond it here: {', '.join(e for e, _ in beyond)}.",
                        zh + f"这里超出噪声的有：{'、'.join(z for _, z in beyond)}。")
    return Sentence(False, en + "None of the differences here is beyond it.", zh + "这里没有哪个差异超出噪声。")


# --- chapter 1.5.3 ---


def beyond_seed_spread(gain: float, spread: float) -> Sentence:
    """The comparison "the difference is ... the seed spread": is the size of the mean difference
    between two methods (``gain``) larger than ``spread``, the larger of the two methods'
    seed-to-seed standard deviations (both in the same unit)?

    Returns:
        ``"larger than"`` / ``"not larger than"``; the Chinese (``"超过了"`` / ``"没有超过"``) is the
        verb of "这一差值……种子间的波动".

    Raises:
        TypeError, ValueError: a value that is not a number, or a negative spread.
    """
    gain = scalar("gain", gain, numbers.Real)
    spread = scalar("spread", spread, numbers.Real, minimum=0)
    if abs(gain) > spread:
        return Sentence(True, "larger than", "超过了")
    return Sentence(False, "not larger than", "没有超过")


def paired_gain(gains, run: str, added: tuple[str, str], to: tuple[str, str]) -> Sentence:
    """Whether a change measured on the same trained models gained on every one of them: "the
    shifts added +0.35 to +0.51 points to the flips' accuracy, on every seed". The two accuracies
    of a pair come from one model on the same test images, so seed-to-seed noise does not enter the
    difference; the stated threshold is a gain above 0 on every seed, else the sentence says the
    change did not gain on every seed.

    Args:
        gains: one difference per seed, in percentage points; empty when no run measured it.
        run: the benchmark run the pairs come from (its ``run_id``).
        added: what was added, in English and Chinese (``("the shifts", "平移")``).
        to: what it was added to (``("the flips' accuracy", "翻转后的准确率")``).

    Returns:
        a :class:`Sentence` of one sentence; ``holds`` when every gain is above 0.

    Raises:
        TypeError: a gain that is not a number.
    """
    gains = [scalar(f"gains[{i}]", g, numbers.Real) for i, g in enumerate(gains)]
    if not gains:
        return Sentence(False, f"No benchmark run has measured {added[0]} yet.",
                        f"还没有哪次基准测试运行测量过{added[1]}。")
    low, high = min(gains), max(gains)
    seeds = len(gains)
    span = f"{low:+.2f}" if seeds == 1 else f"{low:+.2f} to {high:+.2f}"
    span_zh = f"{low:+.2f}" if seeds == 1 else f"{low:+.2f} 到 {high:+.2f}"
    where = f"on the same trained models of benchmark run {run} ({seeds} seed{'s' if seeds > 1 else ''})"
    where_zh = f"在基准测试运行 {run} 的同一批训练好的模型上（{seeds} 个种子）"
    if low > 0:
        every = "on every seed" if seeds > 1 else "on its one seed"
        return Sentence(True, f"{where[0].upper()}{where[1:]}, {added[0]} added {span} points to {to[0]}, {every}.",
                        f"{where_zh}，{added[1]}使{to[1]}提高了 {span_zh} 个百分点，每个种子都有提高。")
    return Sentence(False, f"{where[0].upper()}{where[1:]}, {added[0]} changed {to[0]} by {span} points: "
                           f"not a gain on every seed.",
                    f"{where_zh}，{added[1]}使{to[1]}变化了 {span_zh} 个百分点：并非每个种子都有提高。")


def candidate_against_incumbent(run: str, candidate: dict, incumbent: dict, names: tuple[tuple[str, str], tuple[str, str]]
                                ) -> Sentence:
    """Whether a candidate change beat what it would replace in one benchmark run, on both counts a
    recipe is judged by: a higher median final test accuracy and a lower median wall time in units of
    T (the baseline's wall time in the same run). The threshold is strict on both; the sentence also
    says whether the accuracy difference is larger than the wider seed spread (highest minus lowest
    accuracy over seeds) of the two, which a difference of single runs must exceed to mean much.

    Args:
        run: the run's ``run_id``.
        candidate, incumbent: :func:`cvtutor.records.summarize` rows of the two recipes in that run
            (``test_accuracy`` and ``test_accuracy_range`` in 0..1, ``wall_ratio``, ``seeds``).
        names: what each is called, in English and Chinese: ``(("the whitened first layer", "白化第一层"),
            ("the trained 3x3 stem", "训练出来的 3x3 起始层"))`` (as chapter 1.4.1 calls them).

    Returns:
        a :class:`Sentence` of two sentences; ``holds`` when the candidate is both more accurate and
        faster.

    Raises:
        TypeError, ValueError: an accuracy that is not a number in 0..1, or a time ratio that is
            missing (no baseline in the run) or not positive.
    """
    (c_en, c_zh), (i_en, i_zh) = names
    acc, ratio, spread = {}, {}, 0.0
    for key, row in (("candidate", candidate), ("incumbent", incumbent)):
        acc[key] = 100 * scalar(f"{key}['test_accuracy']", row["test_accuracy"], numbers.Real, minimum=0, maximum=1)
        ratio[key] = scalar(f"{key}['wall_ratio']", row["wall_ratio"], numbers.Real, minimum=0, include_minimum=False)
        low, high = (scalar(f"{key}['test_accuracy_range']", v, numbers.Real, minimum=0, maximum=1)
                     for v in row["test_accuracy_range"])
        spread = max(spread, 100 * (high - low))
    seeds = len(candidate["seeds"])
    more, faster = acc["candidate"] > acc["incumbent"], ratio["candidate"] < ratio["incumbent"]
    difference = acc["candidate"] - acc["incumbent"]
    beyond = beyond_seed_spread(difference, spread)
    measured_en = (f"In benchmark run {run} ({seeds} seed{'s' if seeds > 1 else ''} each; T is the TensorFlow "
                   f"tutorial's wall time in the same run), {c_en} reached a median {acc['candidate']:.1f}% in "
                   f"{ratio['candidate']:.2f} T, {i_en} {acc['incumbent']:.1f}% in {ratio['incumbent']:.2f} T")
    measured_zh = (f"在基准测试运行 {run} 中（各 {seeds} 个种子；T 是同一次运行里 TensorFlow 教程的总用时），"
                   f"{c_zh}的准确率中位数为 {acc['candidate']:.1f}%，用时 {ratio['candidate']:.2f} T；"
                   f"{i_zh}为 {acc['incumbent']:.1f}%，用时 {ratio['incumbent']:.2f} T")
    if more and faster:
        verdict_en, verdict_zh = "more accurate and faster", "既更准确又更快"
    elif more or faster:
        verdict_en = "more accurate but slower" if more else "faster but not more accurate"
        verdict_zh = "更准确但更慢" if more else "更快但没有更准确"
    else:
        verdict_en, verdict_zh = "neither more accurate nor faster", "既没有更准确也没有更快"
    return Sentence(
        more and faster,
        f"{measured_en}: {verdict_en}. The accuracy difference, {difference:+.1f} points, is {beyond.en} "
        f"the wider seed spread of the two ({spread:.1f} points).",
        f"{measured_zh}：{verdict_zh}。准确率之差为 {difference:+.1f} 个百分点，{beyond.zh}两者中较大的种子间波动"
        f"（{spread:.1f} 个百分点）。",
    )


def distillation_reading(paired, spread: float) -> Sentence:
    """What a distillation experiment says: the distilled student minus the student from scratch,
    seed by seed (``paired``: same start, same batches), against ``spread``, the larger of the two
    students' seed-to-seed standard deviations. The mean difference must exceed the spread
    (:func:`beyond_seed_spread`) and every seed must agree on the sign before the sentence says
    that distillation helped or did not.

    Returns:
        a :class:`Sentence`; ``holds`` when distillation helped by that rule.

    Raises:
        ValueError: no seeds, or a negative spread.
    """
    paired = [float(p) for p in paired]
    if not paired:
        raise ValueError("paired must hold at least one seed's difference, got none")
    spread = scalar("spread", spread, numbers.Real, minimum=0)
    gain = sum(paired) / len(paired)
    if not beyond_seed_spread(gain, spread).holds:
        return Sentence(
            False,
            "The difference is within what changing the seed does by itself, so this run cannot tell the two "
            "apart; more seeds (or a longer run) would be needed to settle it.",
            "这一差值没有超出单是更换种子就会带来的波动，所以这次运行分不出两种方法的高下；要下结论，"
            "需要更多的种子（或更长的训练）。",
        )
    if gain > 0 and all(p > 0 for p in paired):
        return Sentence(
            True,
            "The mean difference is larger than the seed-to-seed spread, and distillation came out ahead in "
            "every seed: on this data and budget, distillation helped.",
            "平均差值大于种子间的波动，而且蒸馏在每个种子上都领先：在这样的数据和训练预算下，蒸馏起了作用。",
        )
    if gain < 0 and all(p < 0 for p in paired):
        return Sentence(
            False,
            "Distillation came out behind in every seed, and on average by more than the seed-to-seed spread: "
            "on this data and budget, distillation did not help.",
            "蒸馏在每个种子上都落后，平均差距大于种子间的波动：在这样的数据和训练预算下，蒸馏没有带来帮助。",
        )
    return Sentence(
        False,
        "The mean difference is larger than the seed-to-seed spread, but the seeds disagree on which method "
        "is better, so this run does not settle it.",
        "平均差值大于种子间的波动，但不同种子对哪种方法更好的结论并不一致，所以这次运行还不能下定论。",
    )


def transfer_reading(gaps, labels, noise: float, matched: int | None) -> Sentence:
    """What a transfer-learning experiment says: the transferred (fine-tuned) network's accuracy
    minus that of training from scratch, per label budget. Transfer "pays" only when its lead at
    the fewest labels exceeds ``noise``; the lead is called smaller only when it fell from the
    fewest to the most labels by more than ``sqrt(2) * noise``, the noise of a difference of two
    differences (the budgets between are not read: one seed's leads need not fall monotonically).

    Args:
        gaps: the lead in points, one per label budget, in the order of ``labels``.
        labels: labelled images per class, increasing.
        noise: the difference that counts, points (e.g. the larger of the seeds' range and two
            standard errors of a difference).
        matched: the fewest labels per class with which training from scratch did as well as the
            transferred network did with ``labels[0]``, or None when no budget did.

    Returns:
        a :class:`Sentence` of one to three sentences; ``holds`` when transfer paid.

    Raises:
        ValueError: no budgets, gaps and labels of different lengths, a negative noise.
    """
    gaps = [float(g) for g in gaps]
    labels = [scalar("labels", k, numbers.Integral, minimum=1) for k in labels]
    if not gaps or len(gaps) != len(labels):
        raise ValueError(f"gaps and labels must have one entry per label budget, got {len(gaps)} and {len(labels)}")
    noise = scalar("noise", noise, numbers.Real, minimum=0)
    fewest, most = labels[0], labels[-1]
    if gaps[0] < -noise:
        return Sentence(
            False,
            "Here with the fewest labels training from scratch was ahead of the transferred network by more than "
            "the noise, so this run does not show transfer learning paying.",
            "在这里，标签最少时从头训练反而以超出噪声的差距领先于迁移网络，所以这次运行没有显示出迁移学习的好处。",
        )
    if gaps[0] <= noise:
        return Sentence(
            False,
            "Here even with the fewest labels the transferred network's lead over training from scratch, if any, "
            "was within the noise, so this run does not show transfer learning paying.",
            "在这里，即使标签最少，迁移网络相对从头训练的领先（如果有的话）也在噪声之内，所以这次运行没有显示出"
            "迁移学习的好处。",
        )
    if matched is not None:
        en = (f"Training from scratch needed {matched} labels per class to do as well as the transferred network "
              f"did with {fewest}. ")
        zh = f"从头训练要每类 {matched} 个标签，才能达到迁移网络在每类 {fewest} 个标签时的水平。"
    else:
        en = f"Training from scratch did not get there even with {most} labels per class. "
        zh = f"即使每类有 {most} 个标签，从头训练也没有达到迁移网络在每类 {fewest} 个标签时的水平。"
    en += ("With few labels this is the speed-up the article has in mind: once a trained network exists, a new "
           "task needs fewer labels. ")
    zh += "在标签很少时，这正是原文所说的提速：一旦有了训练好的网络，新任务就只需要更少的标签。"
    # A change of the lead is a difference of two differences: its noise is sqrt(2) times one's.
    change_noise = math.sqrt(2) * noise
    if gaps[0] - gaps[-1] > change_noise:
        en += (f"With {most} labels per class the lead was {gaps[-1]:.1f} points, against {gaps[0]:.1f} with {fewest}: "
               f"smaller by more than the noise of such a change ({change_noise:.1f} points), as expected when "
               f"training from scratch has more images to learn its own features from.")
        zh += (f"每类 {most} 个标签时领先 {gaps[-1]:.1f} 个百分点，每类 {fewest} 个时领先 {gaps[0]:.1f} 个百分点："
               f"缩小的幅度超出了这种变化的噪声（{change_noise:.1f} 个百分点）。从头训练有了更多图像来自己学习特征，"
               f"这正在意料之中。")
    else:
        en += (f"With {most} labels per class the lead was {gaps[-1]:.1f} points, against {gaps[0]:.1f} with "
               f"{fewest}: not smaller by more than the noise of such a change ({change_noise:.1f} points) in this "
               f"run.")
        zh += (f"每类 {most} 个标签时领先 {gaps[-1]:.1f} 个百分点，每类 {fewest} 个时领先 {gaps[0]:.1f} 个百分点："
               f"在这次运行中，缩小的幅度没有超出这种变化的噪声（{change_noise:.1f} 个百分点）。")
    return Sentence(True, en, zh)


def relative_speed(ratio: float, tolerance: float = 0.05) -> Sentence:
    """How one way of training compares in speed with another, from the ratio of their step times
    (the first's over the second's): "faster" or "slower" only beyond ``tolerance`` (5%: the
    medians of a few timed rounds on a shared machine differ by a few percent between runs).

    Returns:
        ``"slower than"``, ``"faster than"`` or ``"about as fast as"``; the Chinese
        (``"慢于"``, ``"快于"``, ``"接近"``) follows "……的速度" and precedes the other's name.
        ``holds`` when the first is faster.

    Raises:
        TypeError, ValueError: a ratio that is not a positive number, a tolerance outside [0, 1).
    """
    ratio = scalar("ratio", ratio, numbers.Real, minimum=0, include_minimum=False)
    tolerance = scalar("tolerance", tolerance, numbers.Real, minimum=0, maximum=1, include_maximum=False)
    if ratio > 1 + tolerance:
        return Sentence(False, "slower than", "慢于")
    if ratio < 1 - tolerance:
        return Sentence(True, "faster than", "快于")
    return Sentence(False, "about as fast as", "接近")


def bfloat16_reading(ratio: float, bf16_flags, tolerance: float = 0.05) -> Sentence:
    """Why mixed bfloat16 was as fast as it was on this CPU: whether the CPU advertises bfloat16
    instructions (``bf16_flags``, e.g. ``["avx512_bf16"]`` from :func:`cvtutor.machine.cpu_features`)
    and the bfloat16 / float32 step-time ``ratio``, slower or faster beyond ``tolerance`` as in
    :func:`relative_speed`.

    Returns:
        a :class:`Sentence`; ``holds`` when the bfloat16 step was faster beyond the tolerance.

    Raises:
        TypeError, ValueError: as :func:`relative_speed`.
    """
    speed = relative_speed(ratio, tolerance)
    flags = [str(f) for f in bf16_flags]
    if flags:
        return Sentence(
            speed.holds,
            f"This CPU advertises bfloat16 instructions ({', '.join(flags)}); which operations use them is up to "
            f"TensorFlow's CPU kernels.",
            f"这颗 CPU 声明支持 bfloat16 指令（{'、'.join(flags)}）；哪些运算会用到它们，取决于 TensorFlow 在 CPU "
            f"上的算子实现。",
        )
    en = ("This CPU advertises no bfloat16 instructions (no avx512_bf16 or amx_bf16 among its flags), so a bfloat16 "
          "operation runs as a conversion to float32 and back")
    zh = ("这颗 CPU 没有声明 bfloat16 指令（它的标志中没有 avx512_bf16 或 amx_bf16），所以每个 bfloat16 运算都是先转换成 "
          "float32 计算，再转换回来")
    if ratio > 1 + tolerance:
        return Sentence(False, en + ": extra work, not less.", zh + "：工作量不减反增。")
    if speed.holds:
        return Sentence(True, en + ", yet the bfloat16 step was the faster one here.",
                        zh + "，但在这里 bfloat16 的训练步反而更快。")
    return Sentence(False, en + ", and saved nothing measurable.", zh + "，也没有省下可测出的时间。")


def rounding_growth(first_steps: float, all_steps: float, factor: float = 10.0, floor: float = 1e-7) -> Sentence:
    """Whether the relative difference between two runs of the same computation grew during
    training: its largest value over all steps (``all_steps``) exceeds ``factor`` times its largest
    value over the first steps (``first_steps``), or ``floor`` (about float32's rounding, 1.2e-7)
    if that is larger.

    Returns:
        a :class:`Sentence` with no final full stop (the page goes on in brackets); ``holds`` when it grew.

    Raises:
        TypeError, ValueError: a value that is not a non-negative number, a factor of 1 or less.
    """
    first_steps = scalar("first_steps", first_steps, numbers.Real, minimum=0)
    all_steps = scalar("all_steps", all_steps, numbers.Real, minimum=0)
    factor = scalar("factor", factor, numbers.Real, minimum=1, include_minimum=False)
    floor = scalar("floor", floor, numbers.Real, minimum=0)
    if all_steps > factor * max(first_steps, floor):
        return Sentence(True, f"Over the run the gap grew, to {all_steps:.1g} at the largest",
                        f"在整个训练过程中，这一差异逐渐变大，最大达到 {all_steps:.1g}")
    return Sentence(False, f"Over this short run the gap stayed at most {all_steps:.1g}",
                    f"在这次短暂的训练中，这一差异始终不超过 {all_steps:.1g}")


def replica_time_note(replicas_seconds: float, single_seconds: float) -> Sentence:
    """A warning for when data parallelism over logical devices that share the same cores timed
    the shorter epoch (``replicas_seconds`` below ``single_seconds``): one timed epoch each does not
    separate that from the machine's variation. Empty (``holds`` False) otherwise.

    Raises:
        TypeError, ValueError: a time that is not a non-negative number.
    """
    replicas_seconds = scalar("replicas_seconds", replicas_seconds, numbers.Real, minimum=0)
    single_seconds = scalar("single_seconds", single_seconds, numbers.Real, minimum=0)
    if replicas_seconds < single_seconds:
        return Sentence(
            True,
            "That the two replicas' epoch was the shorter one here is no speed-up from the split, which has no "
            "extra cores to use: one timed epoch each cannot separate such a difference from the shared machine's "
            "own variation.",
            "两个副本的那一轮用时反而更短，但这并不是拆分带来的加速，因为拆分并没有多出的核心可用：每种设置只计时"
            "了一轮，无法把这样的差异与这台共享机器自身的波动区分开。",
        )
    return Sentence(False, "", "")


# --- chapter 1.5.4 ---


def attention_at_scale(first: dict, last: dict, slope: dict, size: int, noise: float,
                       attention: str = "attention", chinese: dict | None = None) -> Sentence:
    """How the patch-attention model (``attention``) compares with the best of the other models at
    the largest training set (``size`` images), and whether the gap narrows with the data.

    A gap counts only beyond ``noise`` (two standard errors of a difference of two accuracies). The
    gap "narrows" only when the attention model gains more per doubling (``slope``) and its gap to
    the same model shrank from the fewest to the most images by more than ``sqrt(2) * noise``, two
    standard errors of a difference of two differences.

    Args:
        first, last: test accuracy (points) per model name with the fewest and the most images.
        slope: fitted points gained per doubling of the data, per model name.
        size: the largest training set.
        noise: two standard errors of a difference of two accuracies, points.
        attention: the attention model's name in ``first``, ``last`` and ``slope``.
        chinese: the models' Chinese names where they differ from the English.

    Returns:
        a :class:`Sentence`; ``holds`` when the attention model and the best other model differ
        beyond the noise.

    Raises:
        ValueError: fewer than two models, ``attention`` missing, a negative noise.
    """
    if attention not in last or len(last) < 2:
        raise ValueError(f"last must hold {attention!r} and at least one other model, got {sorted(last)}")
    noise = scalar("noise", noise, numbers.Real, minimum=0)
    size = scalar("size", size, numbers.Integral, minimum=1)
    chinese = chinese or {}
    others = {name: acc for name, acc in last.items() if name != attention}
    best = max(others, key=others.get)
    best_zh = chinese.get(best, best)
    gap = last[best] - last[attention]  # the best other model's lead, points (negative: attention leads)
    if gap < -noise:
        return Sentence(
            True,
            f"Here the patch-attention model is the best at {size:,} images, beyond the noise, unlike the ViT "
            f"results at ImageNet scale.",
            f"在这里，用 {size:,} 张图像时图像块注意力模型是最好的，且超出了噪声，这与 ViT 在 ImageNet 规模上的结果不同。",
        )
    if gap < 0:
        return Sentence(
            False,
            f"At {size:,} images the patch-attention model is the best, but only {-gap:.1f} points ahead of the "
            f"{best}, within the noise: this run does not separate them.",
            f"用 {size:,} 张图像时，图像块注意力模型最好，但只领先{best_zh} {-gap:.1f} 个百分点，在噪声之内："
            f"这次运行分不出两者的高下。",
        )
    if gap <= noise:
        return Sentence(
            False,
            f"At {size:,} images the patch-attention model is within the noise of the best model ({gap:.1f} "
            f"points): this run does not separate them.",
            f"用 {size:,} 张图像时，图像块注意力模型与最佳模型相差 {gap:.1f} 个百分点，在噪声之内：这次运行分不出"
            f"两者的高下。",
        )
    en = (f"The patch-attention model, with no built-in notion of neighbouring pixels, ends {gap:.1f} points below "
          f"the {best} at {size:,} images: at the bottom of the scale, the effect that made ViTs need pre-training on "
          f"very large image sets.")
    zh = (f"图像块注意力模型没有内置“相邻像素”的概念，用 {size:,} 张图像时最终比{best_zh}低 {gap:.1f} 个百分点："
          f"这正是让 ViT 需要在超大图像集上预训练的那种效应，只是出现在规模的最底端。")
    narrowing = first[best] - first[attention] - gap
    if slope[attention] > slope[best] and narrowing > math.sqrt(2) * noise:
        en += (f" It gains more per doubling, though ({slope[attention]:.1f} points against {slope[best]:.1f}): in "
               f"this run, the gap narrows as the data grows.")
        zh += (f"不过，数据每翻一倍，它提高得更多（{slope[attention]:.1f} 个百分点，{best_zh}为 "
               f"{slope[best]:.1f}）：在这次运行中，差距随着数据增多而缩小。")
    return Sentence(True, en, zh)


def memorization(size: int, train_accuracy: float, test_accuracy: float, threshold: float = 15.0) -> Sentence:
    """Whether a long run on a small training set learned its images rather than the classes: its
    accuracy on those ``size`` training images exceeds its test accuracy by more than ``threshold``
    points (15 by default: over three times the test noise of chapter 1.5.4's experiments, two
    standard errors of a difference, 2.0 points on the full build's 5,000 test images and 4.5 on
    the quick build's 1,000).

    Raises:
        TypeError, ValueError: a size below 1, an accuracy outside 0-100, a negative threshold.
    """
    size = scalar("size", size, numbers.Integral, minimum=1)
    train_accuracy = _percent("train_accuracy", train_accuracy)
    test_accuracy = _percent("test_accuracy", test_accuracy)
    threshold = scalar("threshold", threshold, numbers.Real, minimum=0)
    en = (f"On its own {size:,} training images the long run reaches {train_accuracy:.1f}%, against "
          f"{test_accuracy:.1f}% on the test images")
    zh = f"在它自己的 {size:,} 张训练图像上，这次长时间训练的准确率达到 {train_accuracy:.1f}%"
    if train_accuracy - test_accuracy > threshold:
        return Sentence(True, en + ": training longer on a small set teaches the model those images rather than "
                                   "the classes.",
                        zh + f"，而在测试图像上只有 {test_accuracy:.1f}%：在小数据集上训练得更久，模型学到的是这些"
                             f"图像本身，而不是类别。")
    return Sentence(False, en + ".", zh + f"，在测试图像上为 {test_accuracy:.1f}%。")


def steps_versus_data(more_data: float, steps_only: float, noise: float) -> Sentence:
    """What more data brought that more training steps alone did not: ``more_data`` is the gain from
    the larger training set, ``steps_only`` the gain from training on the small set for as many steps
    (both in points over the same short run on the small set), ``noise`` two standard errors of a
    difference of two accuracies. More data "helped" only when its gain exceeds the noise; the
    steps "brought as much" when their gain is within the noise of the data's.

    Returns:
        a :class:`Sentence`; ``holds`` when more data brought more than the steps, beyond the noise.

    Raises:
        TypeError, ValueError: a value that is not a number, a negative noise.
    """
    more_data = scalar("more_data", more_data, numbers.Real, minimum=-100, maximum=100)
    steps_only = scalar("steps_only", steps_only, numbers.Real, minimum=-100, maximum=100)
    noise = scalar("noise", noise, numbers.Real, minimum=0)
    if more_data <= noise:
        return Sentence(
            False,
            f"In this run more data did not help the CNN by more than the noise ({noise:.1f} points), so there is "
            f"nothing to separate.",
            f"在这次运行中，更多的数据给 CNN 带来的提升没有超出噪声（{noise:.1f} 个百分点），所以无从区分两者。",
        )
    if steps_only - more_data > noise:
        return Sentence(False, "In this run the extra steps alone brought more than the extra data.",
                        "在这次运行中，单是额外的训练步带来的提升就超过了额外的数据。")
    if more_data - steps_only <= noise:
        return Sentence(
            False,
            f"In this run the extra steps alone brought as much as the extra data, within the noise ({noise:.1f} "
            f"points).",
            f"在这次运行中，单是额外的训练步带来的提升就与额外的数据相当（相差在 {noise:.1f} 个百分点的噪声之内）。",
        )
    if steps_only <= 0:
        return Sentence(
            True,
            f"The extra steps alone brought nothing ({steps_only:+.1f} points); the gain comes from seeing new "
            f"images.",
            f"单是额外的训练步没有带来提升（{steps_only:+.1f} 个百分点）；提升来自看到新的图像。",
        )
    share = 100 * steps_only / more_data
    return Sentence(
        True,
        f"The extra steps alone bring {share:.0f}% of what the extra data brought; the rest comes from seeing new "
        f"images.",
        f"单是额外的训练步，就带来了额外数据所带来提升的 {share:.0f}%；其余的提升来自看到新的图像。",
    )


def centre_concentration(trained: float, untrained: float, area: float = 25.0, ratio: float = 0.8) -> Sentence:
    """Whether a trained CNN's saliency concentrates in the middle of the image because of training
    or of the architecture.

    Args:
        trained, untrained: the median share (percent) of the saliency that falls in the central
            region, for the trained and for an untrained copy of the model.
        area: the central region's share of the image (percent); a share above it is a concentration.
        ratio: the untrained model's share, as a fraction of the trained one's, from which the
            concentration counts as coming "largely with the architecture".

    Returns:
        a :class:`Sentence` that follows "so"; ``holds`` when the concentration is mostly learned.

    Raises:
        TypeError, ValueError: a share outside 0-100, a ratio outside (0, 1].
    """
    trained = _percent("trained", trained)
    untrained = _percent("untrained", untrained)
    area = _percent("area", area)
    ratio = scalar("ratio", ratio, numbers.Real, minimum=0, maximum=1, include_minimum=False)
    if trained <= area:
        return Sentence(
            False,
            f"the trained CNN's saliency is not concentrated in the middle: the central region holds no more than "
            f"its {area:.0f}% share of the image.",
            f"训练后 CNN 的显著性并没有集中在中间：中心区域所占的份额没有超过它在图像中的面积占比 {area:.0f}%。",
        )
    if untrained >= ratio * trained:
        return Sentence(
            False,
            "the concentration in the middle comes largely with the architecture, not from training: the CNN's "
            "convolutions are unpadded, so a pixel near the border falls into fewer of their windows than a central "
            "one.",
            "显著性向中间集中主要是网络结构带来的，而不是训练的结果：这个 CNN 的卷积没有填充，所以靠近边缘的像素"
            "落入的卷积窗口比中心像素少。",
        )
    return Sentence(
        True,
        "the trained CNN's concentration in the middle is mostly learned, not a property of the architecture.",
        "训练后 CNN 的显著性向中间集中，主要是学出来的，而不是网络结构本身的性质。",
    )


def fewest_steps(steps: dict, budget: int, margin: float = 0.1, chinese: dict | None = None) -> Sentence:
    """Which optimiser reaches a target loss in the fewest steps, and whether by a clear margin: the
    fastest "needs the fewest steps" only when it needs at least ``margin`` (10%) fewer than the
    runner-up; otherwise the two "need about as many". The counts are deterministic on a fixed
    surface (no noise), so the margin is a matter of meaning, not of statistics: a 5% difference
    moves with the learning-rate grid's spacing.

    Args:
        steps: name -> steps it needed (an integer), or None where it did not get there within
            ``budget`` steps; at least two names, at least one count.
        budget: the steps each optimiser was given.
        margin: the fraction of the runner-up's steps the fastest must save, in [0, 1).
        chinese: the names' Chinese forms where they differ from the English.

    Returns:
        a :class:`Sentence` of one sentence, the fastest's name first; ``holds`` when one
        optimiser is fastest by the margin.

    Raises:
        TypeError: a count or ``budget`` that is not an integer, a margin that is not a number.
        ValueError: fewer than two names, no count, a count outside 0..budget, a margin outside [0, 1).
    """
    budget = scalar("budget", budget, numbers.Integral, minimum=1)
    margin = scalar("margin", margin, numbers.Real, minimum=0, maximum=1, include_maximum=False)
    if len(steps) < 2:
        raise ValueError(f"steps must name at least two optimisers, got {len(steps)}")
    counts = {name: None if k is None else scalar(f"steps[{name!r}]", k, numbers.Integral, minimum=0, maximum=budget)
              for name, k in steps.items()}
    reached = sorted((k, name) for name, k in counts.items() if k is not None)
    if not reached:
        raise ValueError("steps must hold at least one count, got None for every optimiser")
    chinese = chinese or {}

    def zh(name):
        return chinese.get(name, name)

    (k1, first), rest = reached[0], reached[1:]
    if not rest:
        return Sentence(
            True,
            f"Only {first} gets there within {budget} steps ({k1} steps).",
            f"只有{zh(first)}在 {budget} 步之内到达（用了 {k1} 步）。",
        )
    k2, second = rest[0]
    if k1 <= (1 - margin) * k2:
        return Sentence(
            True,
            f"{first[0].upper() + first[1:]} needs the fewest steps, {k1}, at least {margin:.0%} fewer than "
            f"{second} ({k2}).",
            f"{zh(first)}所需的步数最少，为 {k1} 步，比{zh(second)}（{k2} 步）至少少 {margin:.0%}。",
        )
    return Sentence(
        False,
        f"{first[0].upper() + first[1:]} and {second} need about as many steps ({k1} and {k2}, less than "
        f"{margin:.0%} apart), so neither is faster here.",
        f"{zh(first)}和{zh(second)}所需的步数相近（{k1} 步和 {k2} 步，相差不到 {margin:.0%}），所以在这里谁也不比谁快。",
    )


def smoother_filters(trained: float, trained_bound: float, initial: float, initial_bound: float, change: float,
                     change_bound: float, rearrangements: int) -> Sentence:
    """Whether training made a convolution's filters spatially smoother, from their neighbour
    contrast (:func:`cvtutor.features.neighbour_contrast`: 1 for weights in random places, below 1
    for smooth filters) and a permutation test of each bank against its own weights rearranged at
    random (:func:`cvtutor.features.rearranged_contrast`).

    Three banks are tested: the trained filters, the same filters at initialisation, and the change
    training made (trained minus initial). A short run may add a smooth change too small to make
    the filters themselves smooth; the sentence then says so.

    Args:
        trained, initial, change: the contrast of the trained filters, of the initial ones and of
            the change.
        trained_bound, initial_bound, change_bound: for each, the 1st percentile of the contrasts of
            ``rearrangements`` random rearrangements of its weights: a contrast below it is
            smoother than chance at the 1% level (one-sided).
        rearrangements: how many rearrangements the bounds come from.

    Returns:
        a :class:`Sentence` that continues "The trained filters are ..."; ``holds`` when the
        trained filters are smoother than chance and the initial ones are not.

    Raises:
        TypeError: a value that is not a number (``rearrangements``: not an integer).
        ValueError: a negative contrast or bound, ``rearrangements`` below 100 (too few for a
            1% bound).
    """
    trained, initial, change = (scalar(name, value, numbers.Real, minimum=0) for name, value in
                                (("trained", trained), ("initial", initial), ("change", change)))
    trained_bound, initial_bound, change_bound = (
        scalar(name, value, numbers.Real, minimum=0) for name, value in
        (("trained_bound", trained_bound), ("initial_bound", initial_bound), ("change_bound", change_bound)))
    rearrangements = scalar("rearrangements", rearrangements, numbers.Integral, minimum=100)
    if trained < trained_bound and initial < initial_bound:
        return Sentence(
            False,
            f"smoother than chance (neighbour contrast {trained:.3f}, below the {trained_bound:.3f} that 1% of "
            f"{rearrangements:,} random rearrangements reach), but so were the same filters at initialisation "
            f"({initial:.3f}, below their {initial_bound:.3f}), so training is not what made them smooth",
            f"比随机情形更平滑（邻域对比度 {trained:.3f}，低于 {rearrangements:,} 次随机重排中只有 1% 能达到的 "
            f"{trained_bound:.3f}），但同样的滤波器在初始化时就已如此（{initial:.3f}，低于其界限 {initial_bound:.3f}），"
            f"所以平滑并不是训练带来的",
        )
    if trained < trained_bound:
        return Sentence(
            True,
            f"smoother than at initialisation: their neighbour contrast is {trained:.3f} (in mean square, "
            f"neighbouring weights of a trained kernel differ {trained:.3f} times as much as any two of its "
            f"weights), below {trained_bound:.3f}, the contrast that only 1% of {rearrangements:,} random "
            f"rearrangements of the same weights reach; at initialisation the contrast was {initial:.3f}, what "
            f"weights in random places give, and the change training made has a contrast of {change:.3f}",
            f"比初始化时更平滑：它们的邻域对比度为 {trained:.3f}（训练后，一个卷积核中相邻权重之差的均方，只有其中任意两个"
            f"权重之差的均方的 {trained:.3f} 倍），低于 {trained_bound:.3f}，即同样的权重随机重排 {rearrangements:,} 次中"
            f"只有 1% 能达到的对比度；初始化时这一对比度为 {initial:.3f}，正是权重随机摆放时的水平，而训练带来的变化本身的"
            f"对比度为 {change:.3f}",
        )
    start_en = (f"not measurably smoother than the same weights in random places: their neighbour contrast is "
                f"{trained:.3f}, and smoother than chance would take less than {trained_bound:.3f}, the contrast "
                f"that 1% of {rearrangements:,} random rearrangements of their weights reach")
    start_zh = (f"并没有比把同样的权重随机摆放更平滑，至少测不出来：它们的邻域对比度为 {trained:.3f}，而要算作比随机更平滑，"
                f"需低于 {trained_bound:.3f}，即这些权重的 {rearrangements:,} 次随机重排中只有 1% 能达到的对比度")
    if change < change_bound:
        return Sentence(
            False,
            f"{start_en}. The run moved them too little for that, but what it added is smooth: the change "
            f"(trained minus initial weights) has a contrast of {change:.3f}, below its own bound of "
            f"{change_bound:.3f}",
            f"{start_zh}。这次训练让它们改变得太少，还不足以做到这一点，但它加上去的部分是平滑的：这一变化"
            f"（训练后的权重减去初始权重）的对比度为 {change:.3f}，低于它自己的界限 {change_bound:.3f}",
        )
    return Sentence(
        False,
        f"{start_en}, and neither is the change training made ({change:.3f}, against a bound of "
        f"{change_bound:.3f}): in this run the change is too small to tell from chance",
        f"{start_zh}；训练带来的变化也是如此（{change:.3f}，界限为 {change_bound:.3f}）：在这次运行中，这一变化小到无法"
        f"与随机情形区分",
    )


def neighbour_labels(share: float, chance: float, noise: float, k: int) -> Sentence:
    """Whether a feature space groups images by class: do the ``k`` nearest neighbours of a test
    image share its label more often than neighbours picked at random, by more than ``noise``?

    Args:
        share: the percentage of neighbours with the query's label, averaged over the queries.
        chance: the percentage random neighbours would have
            (:func:`cvtutor.features.chance_agreement`; 10% for ten balanced classes).
        noise: two standard errors of ``share`` over the queries, percentage points.
        k: neighbours per query.

    Returns:
        a :class:`Sentence`, a whole sentence; ``holds`` when ``share`` exceeds ``chance`` by
        more than ``noise``.

    Raises:
        TypeError: a value that is not a number (``k``: not an integer).
        ValueError: a percentage outside 0-100, a negative ``noise``, ``k`` below 1.
    """
    share, chance = _percent("share", share), _percent("chance", chance)
    noise = scalar("noise", noise, numbers.Real, minimum=0)
    k = scalar("k", k, numbers.Integral, minimum=1)
    if share - chance > noise:
        times = f"{share / chance:.1f} times" if chance > 0 else "far above"
        times_zh = f"是随机近邻的 {share / chance:.1f} 倍" if chance > 0 else "远高于随机近邻"
        return Sentence(
            True,
            f"Of the {k} nearest neighbours of a test image, {share:.1f}% share its label, {times} the {chance:.1f}% "
            f"of neighbours picked at random, beyond the noise ({noise:.1f} points, two standard "
            f"errors): the features group images by class.",
            f"一张测试图像的 {k} 个最近邻中，有 {share:.1f}% 与它同类，{times_zh}（{chance:.1f}%），差距超出噪声"
            f"（{noise:.1f} 个百分点，即两个标准误差）：这些特征按类别把图像聚在了一起。",
        )
    return Sentence(
        False,
        f"Of the {k} nearest neighbours of a test image, {share:.1f}% share its label, within the noise "
        f"({noise:.1f} points, two standard errors) of the {chance:.1f}% of neighbours picked at random: in this "
        f"run the features do not measurably group images by class.",
        f"一张测试图像的 {k} 个最近邻中，有 {share:.1f}% 与它同类，与随机近邻的 {chance:.1f}% 相差不超过噪声"
        f"（{noise:.1f} 个百分点，即两个标准误差）：在这次运行中，这些特征还没有按类别把图像聚在一起，至少测不出来。",
    )


def features_against_pixels(features: float, pixels: float, noise: float) -> Sentence:
    """Whether neighbours in a network's feature space share the query's label more often than
    neighbours in pixel space (the same queries and references), by more than ``noise``.

    Args:
        features, pixels: the percentage of neighbours with the query's label in each space.
        noise: two standard errors of the paired difference over the queries, percentage points.

    Returns:
        a :class:`Sentence`, a whole sentence; ``holds`` when the features win by more than ``noise``.

    Raises:
        TypeError: a value that is not a number.
        ValueError: a percentage outside 0-100 or a negative ``noise``.
    """
    features, pixels = _percent("features", features), _percent("pixels", pixels)
    noise = scalar("noise", noise, numbers.Real, minimum=0)
    gap = features - pixels
    if gap > noise:
        return Sentence(
            True,
            f"Neighbours by raw pixels share the label only {pixels:.1f}% of the time, {gap:.1f} points fewer, "
            f"beyond the noise ({noise:.1f} points): what brings images of a class together is what the "
            f"network computed, not the pixels themselves.",
            f"按原始像素找的近邻只有 {pixels:.1f}% 与查询图像同类，少了 {gap:.1f} 个百分点，超出噪声（{noise:.1f} 个百分点）："
            f"把同类图像聚到一起的是网络算出的特征，而不是像素本身。",
        )
    if gap < -noise:
        return Sentence(
            False,
            f"Neighbours by raw pixels share the label {pixels:.1f}% of the time, {-gap:.1f} points more, beyond the "
            f"noise ({noise:.1f} points): in this run the features group images by class less well than the "
            f"pixels do.",
            f"按原始像素找的近邻有 {pixels:.1f}% 与查询图像同类，反而多了 {-gap:.1f} 个百分点，超出噪声"
            f"（{noise:.1f} 个百分点）：在这次运行中，这些特征按类别聚集图像的能力还不如像素。",
        )
    return Sentence(
        False,
        f"Neighbours by raw pixels share the label {pixels:.1f}% of the time, the same within the noise "
        f"({noise:.1f} points): in this run the features group images by class no better than the pixels do.",
        f"按原始像素找的近邻有 {pixels:.1f}% 与查询图像同类，在噪声（{noise:.1f} 个百分点）范围内与特征空间相同："
        f"在这次运行中，这些特征按类别聚集图像的能力并不比像素强。",
    )


def knn_against_head(knn: float, head: float, noise: float, k: int) -> Sentence:
    """How a k-nearest-neighbour vote on a network's penultimate features compares with the
    network's own head (its last layer), on the same test images.

    Args:
        knn, head: test accuracy of the vote and of the network, percentages.
        noise: two standard errors of the paired difference over the test images, percentage points.
        k: neighbours that vote.

    Returns:
        a :class:`Sentence`, a whole sentence; ``holds`` when the vote is as accurate as the head
        within ``noise`` or more accurate.

    Raises:
        TypeError: a value that is not a number (``k``: not an integer).
        ValueError: a percentage outside 0-100, a negative ``noise``, ``k`` below 1.
    """
    knn, head = _percent("knn", knn), _percent("head", head)
    noise = scalar("noise", noise, numbers.Real, minimum=0)
    k = scalar("k", k, numbers.Integral, minimum=1)
    gap = knn - head
    start_en = f"A vote among the {k} nearest training images in this feature space classifies {knn:.1f}% of the " \
               f"test images correctly"
    start_zh = f"在这个特征空间中，由 {k} 个最近的训练图像投票，能正确分类 {knn:.1f}% 的测试图像"
    if abs(gap) <= noise:
        return Sentence(
            True,
            f"{start_en}, as many as the network's own head ({head:.1f}%) within the noise ({noise:.1f} points): "
            f"the class is in the features, whether a trained layer or a vote among neighbours reads it.",
            f"{start_zh}，与网络自己的输出头（{head:.1f}%）相当，差距在噪声（{noise:.1f} 个百分点）之内："
            f"类别信息就在特征里，无论是由训练好的层来读，还是由近邻投票来读。",
        )
    if gap > 0:
        return Sentence(
            True,
            f"{start_en}, {gap:.1f} points more than the network's own head ({head:.1f}%), beyond the noise "
            f"({noise:.1f} points): the features hold more of the class than the head has learned to read.",
            f"{start_zh}，比网络自己的输出头（{head:.1f}%）高 {gap:.1f} 个百分点，超出噪声（{noise:.1f} 个百分点）："
            f"特征中的类别信息比输出头学会读取的还多。",
        )
    return Sentence(
        False,
        f"{start_en}, {-gap:.1f} points fewer than the network's own head ({head:.1f}%), beyond the noise "
        f"({noise:.1f} points): the head, trained for the task, reads the features better than a vote among "
        f"neighbours.",
        f"{start_zh}，比网络自己的输出头（{head:.1f}%）低 {-gap:.1f} 个百分点，超出噪声（{noise:.1f} 个百分点）："
        f"为这个任务训练的输出头比近邻投票更会读取这些特征。",
    )

# --- chapter 1.4.5 ---


def _method(method) -> tuple[str, str]:
    if (not isinstance(method, tuple) or len(method) != 2
            or not all(isinstance(part, str) and part for part in method)):
        raise TypeError(f"method must be a pair of non-empty strings (English, Chinese), got {method!r}")
    return method


def baseline_overfits(train_accuracy: float, validation_accuracy: float, test_accuracy: float,
                      noise: float) -> Sentence:
    """Whether the run without regularisation overfits: its accuracy on the images it trained on
    (evaluated after training) exceeds its test accuracy by more than ``noise`` points. Below that,
    the chapter's comparisons are "too small to tell" (:func:`regularisation_effect`).

    Args:
        train_accuracy, validation_accuracy, test_accuracy: percentages (means over seeds).
        noise: points, 0 or more: the threshold (e.g. :func:`cvtutor.regularisation.difference_noise`).

    Returns:
        a :class:`Sentence`, one sentence; ``holds`` when the gap exceeds ``noise``.

    Raises:
        TypeError, ValueError: an accuracy outside 0-100, a negative noise.
    """
    train = _percent("train_accuracy", train_accuracy)
    validation = _percent("validation_accuracy", validation_accuracy)
    test = _percent("test_accuracy", test_accuracy)
    noise = scalar("noise", noise, numbers.Real, minimum=0)
    gap = train - test
    en = (f"Without regularisation the CNN reaches {train:.1f}% on the images it trained on, {validation:.1f}% on "
          f"the validation images and {test:.1f}% on the test images, a gap of {gap:.1f} points between training "
          f"and test")
    zh = (f"不加正则化时，CNN 在训练过的图像上达到 {train:.1f}%，在验证图像上为 {validation:.1f}%，在测试图像上为 "
          f"{test:.1f}%，训练与测试之差为 {gap:.1f} 个百分点")
    if gap > noise:
        return Sentence(True, en + f", more than the {noise:.1f} points of test noise: it overfits, and there is "
                                   f"something for regularisation to correct.",
                        zh + f"，超过了 {noise:.1f} 个百分点的测试噪声：它过拟合了，正则化有可以纠正的东西。")
    return Sentence(False, en + f", within the {noise:.1f} points of test noise: this run is too short to overfit, "
                                f"so it is too small to tell what regularisation does.",
                    zh + f"，没有超出 {noise:.1f} 个百分点的测试噪声：这次训练太短，还没有过拟合，所以看不出正则化的作用。")


def regularisation_effect(method, differences, noise: float, baseline_gap: float) -> Sentence:
    """What one regulariser did to the test accuracy, against the same recipe without it on the same
    budget (same model, training images, epochs and seeds).

    The rule: the mean of the per-seed differences (regularised minus baseline, paired by seed) must
    exceed the larger of two standard errors of that mean (the seed-to-seed spread) and ``noise``
    (two binomial standard errors of a difference of two test accuracies,
    :func:`cvtutor.regularisation.difference_noise`) to count as helping (above) or hurting
    (below); within it, the two are tied: no measurable effect. If the baseline does not overfit
    (``baseline_gap``, its training minus test accuracy, not above ``noise``), there is nothing for
    a regulariser to correct and the verdict is "too small to tell", whatever the difference.

    Args:
        method: the regulariser's name, ``(English, Chinese)``, e.g. ``("Dropout (rate 0.3)", "丢弃法（比率 0.3）")``.
        differences: test accuracy with it minus without it, one per seed, in points.
        noise: points, 0 or more.
        baseline_gap: points.

    Returns:
        a :class:`Sentence`, one sentence beginning with the method's name; ``holds`` when it
        helps.

    Raises:
        TypeError: ``method`` not a pair of strings, or a value that is not a number.
        ValueError: no differences, a difference or gap outside -100..100, a negative noise.
    """
    name, name_zh = _method(method)
    if isinstance(differences, (str, bytes)) or not hasattr(differences, "__len__") or len(differences) == 0:
        raise ValueError(f"differences must hold one value per seed, got {differences!r}")
    diffs = [scalar(f"differences[{i}]", d, numbers.Real, minimum=-100, maximum=100) for i, d in enumerate(differences)]
    noise = scalar("noise", noise, numbers.Real, minimum=0)
    baseline_gap = scalar("baseline_gap", baseline_gap, numbers.Real, minimum=-100, maximum=100)
    n = len(diffs)
    mean = round(sum(diffs) / n, 1) + 0.0  # as printed, and never "-0.0"
    if n > 1:
        se = math.sqrt(sum((d - mean) ** 2 for d in diffs) / (n - 1) / n)
        threshold = max(2 * se, noise)
        spread = f"standard error {se:.1f}"
        spread_zh = f"标准误差 {se:.1f}"
    else:
        threshold, spread, spread_zh = noise, "one seed, so no spread measured", "只有一个种子，测不出波动"
    seeds = f"{n} seed{'s' if n > 1 else ''}"
    measured = (f"changed the test accuracy by {mean:+.1f} points on average over {seeds} ({spread}), against a "
                f"threshold of {threshold:.1f} points")
    measured_zh = f"使测试准确率平均变化了 {mean:+.1f} 个百分点（{n} 个种子，{spread_zh}），门槛为 {threshold:.1f} 个百分点"
    if baseline_gap <= noise:
        return Sentence(False, f"{name}: too small to tell. It {measured}, but the baseline does not overfit "
                               f"beyond the noise in this run, so there is nothing for it to correct.",
                        f"{name_zh}：看不出作用。它{measured_zh}，但在这次运行中基线的过拟合没有超出噪声，"
                        f"它无可纠正。")
    if mean > threshold:
        return Sentence(True, f"{name} helps: it {measured}.", f"{name_zh}有帮助：它{measured_zh}。")
    if mean < -threshold:
        return Sentence(False, f"{name} hurts: it {measured}.", f"{name_zh}有害：它{measured_zh}。")
    return Sentence(False, f"{name} has no measurable effect (a tie with the baseline): it {measured}.",
                    f"{name_zh}没有可测出的作用（与基线打平）：它{measured_zh}。")


def early_stopping_reading(epochs_run, best_epochs, max_epochs: int) -> Sentence:
    """Where ``keras.callbacks.EarlyStopping(restore_best_weights=True)`` stopped each seed's run
    and which epoch's weights it restored (a plain statement; ``holds`` when every run stopped
    before ``max_epochs``).

    Args:
        epochs_run: epochs each seed's run trained (1..max_epochs).
        best_epochs: the epoch (1-based) whose weights each run restored (1..its epochs_run).
        max_epochs: the budget.

    Raises:
        TypeError: a value that is not an integer.
        ValueError: empty or unequal lists, a value out of range.
    """
    max_epochs = scalar("max_epochs", max_epochs, numbers.Integral, minimum=1)
    if len(epochs_run) == 0 or len(epochs_run) != len(best_epochs):
        raise ValueError(f"epochs_run and best_epochs need one value per seed each, got {len(epochs_run)} and "
                         f"{len(best_epochs)}")
    runs = [scalar(f"epochs_run[{i}]", e, numbers.Integral, minimum=1, maximum=max_epochs)
            for i, e in enumerate(epochs_run)]
    best = [scalar(f"best_epochs[{i}]", b, numbers.Integral, minimum=1, maximum=runs[i])
            for i, b in enumerate(best_epochs)]
    listed = ", ".join(str(e) for e in runs)
    restored = ", ".join(str(b) for b in best)
    budget = f"{max_epochs} epoch{'s' if max_epochs != 1 else ''}"
    if all(e < max_epochs for e in runs):
        return Sentence(True, f"it stopped every run before the budget of {budget} (after epochs {listed}) "
                              f"and restored the weights of epochs {restored}",
                        f"它让每次训练都在 {max_epochs} 轮的预算用完之前停了下来（分别在第 {listed} 轮之后），"
                        f"并恢复了第 {restored} 轮的权重")
    ran = (f"each ran {runs[0]} epoch{'s' if runs[0] != 1 else ''}" if len(set(runs)) == 1
           else f"they ran {listed} epochs")
    return Sentence(False, f"it did not stop every run before the budget of {budget} ({ran}) and restored the "
                           f"weights of epoch{'s' if len(best) != 1 else ''} {restored}",
                    f"它没有让每次训练都在 {max_epochs} 轮的预算用完之前停下（分别训练了 {listed} 轮），"
                    f"并恢复了第 {restored} 轮的权重")
