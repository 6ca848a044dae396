"""The Chinese edition's catalogs: a translation keeps every glued number, math expression, reference,
link and piece of code, and types no number of its own; same-notebook glue references are qualified
for the build; the search dictionary comes from the glossary."""

import sys

import pytest
from conftest import ROOT

sys.path.insert(0, str(ROOT / "book" / "_ext"))
import catalogs  # noqa: E402

MSGID = ("The CNN reached {glue:text}`acc:.1f`% on {glue:text}`n_test:,` images after "
         "$E$ epochs ({ref}`clf-augmentation`, {doc}`complex_structures`); see "
         "[the results](results.ipynb) and `make_dataset`, chapter 1.4.1, cvtutor {{ cvtutor_version }}.")
GOOD = ("CNN 在 {glue:text}`n_test:,` 张图像上达到 {glue:text}`acc:.1f`%，共训练 $E$ 轮"
        "（{ref}`数据增强 <clf-augmentation>`，{doc}`complex_structures`）；见"
        "[结果](results.ipynb)与 `make_dataset`，第 1.4.1 节，cvtutor {{cvtutor_version}}。")


def test_a_faithful_translation_has_no_problems():
    assert catalogs.problems(MSGID, GOOD, "cnn_classifier.ipynb") == []


@pytest.mark.parametrize("broken, problem", [
    (GOOD.replace("{glue:text}`acc:.1f`%", "67.3%"), "drops glue 'text acc:.1f'"),
    (GOOD.replace("{glue:text}`acc:.1f`%", "67.3%"), "types the number '67.3'"),
    (GOOD.replace("acc:.1f", "acc:.2f"), "adds glue 'text acc:.2f'"),
    (GOOD.replace("$E$", "E"), "drops math 'E'"),
    (GOOD.replace("<clf-augmentation>", "<clf-warmup-cosine>"), "adds reference 'ref clf-warmup-cosine'"),
    (GOOD.replace("(results.ipynb)", "(faq.ipynb)"), "drops link 'results.ipynb'"),
    (GOOD.replace("`make_dataset`", "`make_datasets`"), "drops code 'make_dataset'"),
    (GOOD + "共 10 类。", "types the number '10'"),
    (GOOD.replace("{{cvtutor_version}}", "0.1.0"), "drops substitution 'cvtutor_version'"),
])
def test_what_a_translation_breaks_is_named(broken, problem):
    found = catalogs.problems(MSGID, broken, "cnn_classifier.ipynb")
    assert any(problem in p for p in found), found


def test_a_reference_qualified_with_its_own_notebook_is_the_same_reference():
    qualified = GOOD.replace("{glue:text}`acc:.1f`", "{glue:text}`cnn_classifier.ipynb::acc:.1f`")
    assert catalogs.problems(MSGID, qualified, "cnn_classifier.ipynb") == []
    assert catalogs.problems(MSGID, qualified, "faq.ipynb") != [], "another notebook's value is another value"


def test_numbers_with_thousands_separators_are_the_same_number():
    assert catalogs.problems("2,000 training images", "2000 张训练图像") == []


def test_same_notebook_glue_references_are_qualified_for_the_build():
    text = "{glue:text}`acc:.1f` and {glue:text}`years` and {glue}`other.ipynb::x` and {glue:md}`table`"
    assert catalogs.qualify_glue(text, "cnn_classifier.ipynb") == (
        "{glue:text}`cnn_classifier.ipynb::acc:.1f` and {glue:text}`cnn_classifier.ipynb::years:s` and "
        "{glue}`other.ipynb::x` and {glue:md}`cnn_classifier.ipynb::table`")
    assert catalogs.qualify_glue(text, None) == text, "a Markdown page has no glue of its own"


def test_the_search_dictionary_holds_the_glossarys_chinese_terms():
    glossary = ("| English | 中文 | Definition |\n|---|---|---|\n"
                "| batch | 批次, 批量 | A group |\n| logits | logits（未归一化的分数） | Raw |\n"
                "| Adam | Adam | An optimizer |\n| self-attention | 自注意力 | Mixing |\n")
    assert catalogs.glossary_terms(glossary) == ["批次", "批量", "未归一化的分数", "自注意力"]
    terms = catalogs.glossary_terms((ROOT / "book" / "glossary.md").read_text(encoding="utf-8"))
    assert {"卷积", "卷积神经网络", "自注意力", "参数"} <= set(terms)


def test_a_number_said_at_chinese_scale_is_the_same_number():
    assert catalogs.problems("ImageNet's 1.28 million images", "ImageNet 的 128 万张图像") == []
    assert catalogs.problems("from 10 thousand", "从 1 万") == []
    assert catalogs.problems("1.28 million images", "129 万张图像") != [], "another value"
    assert catalogs.problems("chapter 1.4.1", "第 1.4.1 节") == []


def test_a_sentence_glued_in_both_languages_is_quoted_in_chinese_by_its_chinese_name():
    from cvtutor.notebook import CHINESE_SUFFIX

    assert catalogs.CHINESE_GLUE_SUFFIX == CHINESE_SUFFIX
    msgid = "The attention is {glue:text}`att_concentration`. Here: {glue:text}`other.ipynb::att_learned:s`."
    chinese = "注意力{glue:text}`att_concentration_zh`。这里：{glue:text}`other.ipynb::att_learned_zh:s`。"
    assert catalogs.problems(msgid, chinese, "attention_classifier.ipynb") == []
    assert catalogs.problems(msgid, chinese.replace("att_learned_zh", "att_lerned_zh"), None) != []


def test_a_glued_value_is_spaced_from_the_chinese_around_it_as_chinese_books_do():
    """A translated sentence is written once for values that may be Latin or Chinese: the space at
    each edge of a glued value follows the value (the Chinese edition's post-transform)."""
    from docutils import nodes

    import translation

    def render(before, value, after):
        paragraph = nodes.paragraph("", "", nodes.Text(before),
                                    nodes.inline(value, value, classes=["pasted-text"]), nodes.Text(after))
        translation.space_glued_values(paragraph)
        return paragraph.astext()

    assert render("最好的模型是 ", "宽度为 8 的 ResNet", "（22.9%）") == "最好的模型是宽度为 8 的 ResNet（22.9%）"
    assert render("最好的模型是 ", "CNN", "（22.9%）") == "最好的模型是 CNN（22.9%）"
    assert render("按推理计，", "ResNet", "在这颗 CPU 上") == "按推理计，ResNet 在这颗 CPU 上"
    assert render("，", "图像块注意力模型", " 排在最后") == "，图像块注意力模型排在最后"
    assert render("相关系数最高达 ", "0.99", "；") == "相关系数最高达 0.99；"
    assert render("准确率为", "22.9", "%") == "准确率为 22.9%"


def test_a_glued_sentence_is_quoted_in_its_chinese_version(tmp_path):
    msgid = "The run says: {glue:text}`verdict`"
    assert catalogs.problems(msgid, "运行表明：{glue:text}`verdict_zh`", "x.ipynb", {"verdict"}) == []
    found = catalogs.problems(msgid, "运行表明：{glue:text}`verdict`", "x.ipynb", {"verdict"})
    assert found == ["quotes the English of the glued sentence 'verdict': quote 'verdict_zh'"]
    assert catalogs.problems(msgid, "运行表明：{glue:text}`verdict`", "x.ipynb") == [], "a plain glued value"
    notebook = tmp_path / "x.ipynb"
    notebook.write_text('{"cells": [{"cell_type": "code", "source": ["glue_sentence(\\"verdict\\", s)\\n", '
                        '"glue(\\"n\\", 3)"]}, {"cell_type": "markdown", "source": ["glue_sentence(\\"no\\", x)"]}]}',
                        encoding="utf-8")
    assert catalogs.glued_sentences(notebook) == {"verdict"}


def test_every_catalog_quotes_the_chinese_of_its_glued_sentences():
    sentences = catalogs.glued_sentences(ROOT / "book" / "cnn_classifier.ipynb")
    assert {"fast_whiten_decision", "fast_shift_gain"} <= sentences
    assert not [line for line in catalogs.check_catalogs(ROOT) if "glued sentence" in line]
