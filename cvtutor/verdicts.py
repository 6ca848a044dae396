"""Sentences that conclude from a measurement, decided by code with a stated threshold.

A qualitative word about a measured quantity ("concentrated", "learns", "beyond the noise") is
only as true as the numbers printed beside it, and the book is built in two profiles: a quick
build trains for one epoch on 2,000 images, where a sentence written for the full run can be
false. So the chapters do not type such words: each function here takes the numbers, applies a
threshold it states, and returns a :class:`Sentence` whose wording follows the verdict, in both of
the book's languages. A chapter glues both (:func:`cvtutor.notebook.glue_sentence`); the English
page shows ``name``, the Chinese edition ``name_zh``.

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

__all__ = ["Sentence", "above_chance", "attention_concentration", "chance_margin", "close_to_best", "deletion_verdict",
           "largest_against_best", "lead_change", "log_linear_fit", "more_data_helps", "overfitting_gap",
           "position_layout", "ranking_note", "still_learning", "sweep_verdict", "wins", "wins_verdict"]


_CJK_LATIN = re.compile(r"(?<=[A-Za-z0-9%])(?=[\u4e00-\u9fff])|(?<=[\u4e00-\u9fff])(?=[A-Za-z0-9])")


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
            f"是集中的：最受关注的 {top_k} 个图像块得到了这一块全部注意力的 {top_share:.1f}%，是均匀注意力"
            f"所给的 {uniform:.1f}% 的 {times:.1f} 倍（称为集中的门槛：{ratio:g} 倍）",
        )
    return Sentence(
        False,
        f"close to uniform: the {top_k} most-attended patches receive {top_share:.1f}% of all the attention "
        f"in this block, against {uniform:.1f}% under uniform attention (concentrated would take at least "
        f"{ratio:g} times as much), so this run has not taught the heads where to look",
        f"接近均匀：最受关注的 {top_k} 个图像块只得到这一块全部注意力的 {top_share:.1f}%，而均匀注意力下为 "
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
            f"高出 {z:g} 个标准误以上（界限为 {margin:.1f}%）",
        )
    return Sentence(
        False,
        f"{english} has not measurably learned in this run: {accuracy:.1f}% on {test_images:,} test images "
        f"is within {z:g} standard errors of chance ({chance:.0f}%; the bound is {margin:.1f}%), so this "
        f"build gave it too few images or epochs",
        f"{chinese}在这次运行中还没有学到可测出的东西：在 {test_images:,} 张测试图像上的 {accuracy:.1f}% "
        f"与随机猜测（{chance:.0f}%）相差不到 {z:g} 个标准误（界限为 {margin:.1f}%），说明这次构建给它的"
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


def deletion_verdict(results, images: int, z: float = 2.0, resolution: float = 0.01) -> Sentence:
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

    Returns:
        a :class:`Sentence` of one or two sentences; ``holds`` when every map beats random.

    Raises:
        ValueError: no results, or a negative standard error.
    """
    results = [(str(m), float(e), scalar("standard error", s, numbers.Real, minimum=0)) for m, e, s in results]
    if not results:
        raise ValueError("results must list at least one map, got none")
    images = scalar("images", images, numbers.Integral, minimum=1)
    beats = [m for m, extra, se in results if extra > z * se and extra >= resolution / 2]
    short = [m for m, _, _ in results if m not in beats]

    def names(items, conjunction):
        return items[0] if len(items) == 1 else ", ".join(items[:-1]) + conjunction + items[-1]

    head = f"Paired image by image over these {images:,} images,"
    rule = (f"the random one by more than {z:g} standard errors of the difference and by at least "
            f"{resolution / 2:g}")
    head_zh = f"在这 {images:,} 张图像上逐图配对比较，"
    rule_zh = f"比随机像素的下降多出差值的 {z:g} 个标准误以上、且至少 {resolution / 2:g}"
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
        f"{head_zh}{names(beats, ' 和 ')} 的置信度下降{rule_zh}，{names(short, ' 和 ')} 则没有，"
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
            zh + f"这一变化（{change:+.1f} 个百分点）在本实验的噪声之内（两个准确率之差的变化量的两个标准误："
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
        f"标准误）：在这里测试的规模之内，前沿还没有变平。",
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
    per epoch) rose over the last epoch. With a single epoch there is no trend to show."""
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
        f"百分点（两者之差的两个标准误）的两个准确率在噪声之内。领先者对第二名的优势，在 {small:,} 张图像时为 "
        f"{small_margin:.1f} 个百分点，在 {large:,} 张图像时为 {large_margin:.1f} 个百分点：{words[1]}",
    )


def more_data_helps(last_step: dict, noise: float, before: int, after: int, total: int = 50_000) -> Sentence:
    """Whether each model still gained from the last growth of its training set (``before`` to
    ``after`` images): a gain of no more than ``noise`` points shows neither a rise nor a plateau.

    Args:
        last_step: ``{model name: accuracy gained, points}`` from ``before`` to ``after`` images.
        noise: two standard errors of a difference, points.
        before, after: the two training-set sizes.
        total: the training images the data set has (CIFAR-10: 50,000), to say what share ``after`` is.

    Raises:
        TypeError, ValueError: sizes that are not positive integers, a negative noise, no models.
    """
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
    changes_zh = "，".join(f"{name} {gain:+.1f} 个百分点" for name, gain in last_step.items())
    flat_en = " and the ".join(flat)
    flat_zh = "和".join(flat)
    return Sentence(
        False,
        f"From {before:,} to {after:,} images the accuracy changed by {changes}: for the {flat_en} that is no more "
        f"than the noise ({noise:.1f} points, see below), so this run cannot tell whether more data still helps "
        f"{'it' if len(flat) == 1 else 'them'} at this number of epochs.",
        f"从 {before:,} 张增加到 {after:,} 张图像时，准确率的变化为：{changes_zh}。"
        f"对 {flat_zh} 而言，这一变化不超过噪声"
        f"（{noise:.1f} 个百分点，见下文），所以这次运行无法判断在这样的轮数下更多数据是否仍有帮助。",
    )
