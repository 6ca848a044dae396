"""The Chinese edition (中文版): one source, the English build's executions, the same numbers, nothing
silently stale.

The fast tests check the catalogs and the files generated from them. The ``book`` tests read the
session's build (``python tools/book.py build``: English in ``_build/html``, Chinese in
``_build/html/zh``). The slow one builds a one-chapter book in both editions and edits its English.
"""

import collections
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REAL_DATA, ROOT

sys.path.insert(0, str(ROOT / "book" / "_ext"))
sys.path.insert(0, str(ROOT / "tools"))
import book as book_tool  # noqa: E402
import catalogs  # noqa: E402

PASTED = re.compile(r'<span class="pasted-text">([^<]*)</span>')
LANGUAGE_LINK = re.compile(r'<p class="cvtutor-language"><a href="([^"]+)" hreflang="([^"]+)"')


def html_pages(html: Path) -> list[str]:
    """The chapter and appendix pages of an edition, relative to its folder, without ``.html``."""
    return sorted(p.relative_to(html).with_suffix("").as_posix() for p in (html / "book").rglob("*.html"))


# --- the catalogs and what is generated from them ------------------------------------------------


def test_every_translation_keeps_what_it_must_and_the_generated_files_are_current():
    result = subprocess.run([sys.executable, str(ROOT / "tools" / "book.py"), "translations", "check"],
                            capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_chinese_notebooks_run_the_same_code():
    for path in sorted((ROOT / "book").glob("*.ipynb")):
        english = json.loads(path.read_text(encoding="utf-8"))
        chinese = json.loads((book_tool.NOTEBOOKS / path.relative_to(ROOT)).read_text(encoding="utf-8"))
        assert [c["cell_type"] for c in chinese["cells"]] == [c["cell_type"] for c in english["cells"]], path.name
        for ours, theirs in zip(chinese["cells"], english["cells"]):
            if theirs["cell_type"] == "code":
                assert ours == theirs, f"{path.name}: a code cell differs from the English notebook's"


def test_a_translated_chapter_reads_in_chinese_in_its_notebook():
    chinese = json.loads((book_tool.NOTEBOOKS / "book" / "background.ipynb").read_text(encoding="utf-8"))
    title = "".join(chinese["cells"][0]["source"]).splitlines()[0]
    assert title == "# 1.1 背景介绍", "the article's own heading"
    prose = "".join("".join(c["source"]) for c in chinese["cells"] if c["cell_type"] == "markdown")
    assert catalogs.MISSING not in prose and catalogs.STALE not in prose
    assert len(re.findall(r"[\u4e00-\u9fff]", prose)) > 1000


def test_a_list_tables_caption_and_cells_are_translated_and_its_options_kept():
    source = (":::{list-table} The classifiers, as trained.\n:header-rows: 1\n:name: the-table\n\n"
              "* - model\n  - test accuracy (%)\n* - CNN\n  - {glue:text}`acc:.1f`\n:::")
    words = {"The classifiers, as trained.": "本次构建训练的分类器。", "model": "模型", "test accuracy (%)": "测试准确率（%）"}
    translated = catalogs.translate_markdown(source, words.get)
    assert translated == (":::{list-table} 本次构建训练的分类器。\n:header-rows: 1\n:name: the-table\n\n"
                          "* - 模型\n  - 测试准确率（%）\n* - CNN\n  - {glue:text}`acc:.1f`\n:::")


def test_only_the_api_reference_has_no_catalog():
    pages = {p.relative_to(ROOT).with_suffix("").as_posix() for p in (ROOT / "book").glob("*.*")
             if p.suffix in (".md", ".ipynb")}
    assert set(catalogs.catalog_files(ROOT)) == pages


# --- the session's build -------------------------------------------------------------------------


@pytest.mark.skipif(not REAL_DATA, reason="the book's chapters need CIFAR-10: set CVTUTOR_DATA")
def test_the_chinese_edition_executes_nothing(built_book):
    built_book.require_success()
    log = built_book.stdout + built_book.stderr
    english, chinese = log.split("loading translations [zh_CN]", 1)
    executed = [line for line in english.splitlines() if "Executed notebook in" in line]
    cached = [line for line in chinese.splitlines() if "Using cached notebook" in line]
    assert executed and len(cached) == len(executed), (len(executed), len(cached))
    assert "Executed notebook" not in chinese and "Executing notebook" not in chinese


def _sentence_twins(html: Path) -> tuple[set, set]:
    """The sentences glued in both languages (cvtutor.notebook.glue_sentence: ``name`` and ``name_zh``)
    in this build: (English ones, Chinese ones), as plain text with plain quotes (:func:`_normal`: a
    page shows them typographic)."""
    import ast

    def plain(output):
        text = output["data"].get("text/plain", "")
        try:
            return str(ast.literal_eval(text))
        except (SyntaxError, ValueError):
            return text

    english, chinese = set(), set()
    for path in (html.parent / "jupyter_execute").rglob("*.glue.json"):
        glued = json.loads(path.read_text(encoding="utf-8"))
        for key, output in glued.items():
            if key.endswith("_zh") and key[:-3] in glued:
                chinese.add(_normal(plain(output)))
                english.add(_normal(plain(glued[key[:-3]])))
    return english, chinese


def _normal(text: str) -> str:
    import html

    return html.unescape(text).translate(str.maketrans("‘’“”", "''\"\""))


@pytest.mark.skipif(not REAL_DATA, reason="the book's chapters need CIFAR-10: set CVTUTOR_DATA")
def test_every_page_shows_the_same_numbers_and_links_to_the_other_edition(built_book):
    built_book.require_success()
    english_html, chinese_html = built_book.html, built_book.html / "zh"
    pages = html_pages(english_html)
    assert pages == html_pages(chinese_html)
    # A sentence decided from the numbers is glued in both languages; a translated paragraph shows the
    # Chinese one, an untranslated paragraph the English one.
    english_twins, chinese_twins = _sentence_twins(english_html)
    for page in pages:
        english = (english_html / f"{page}.html").read_text(encoding="utf-8")
        chinese = (chinese_html / f"{page}.html").read_text(encoding="utf-8")
        english_values = [v for v in PASTED.findall(english) if _normal(v) not in english_twins]
        chinese_values = [v for v in PASTED.findall(chinese) if _normal(v) not in chinese_twins | english_twins]
        assert collections.Counter(chinese_values) == collections.Counter(english_values), page
        (to_chinese, lang_zh), = LANGUAGE_LINK.findall(english)
        (to_english, lang_en), = LANGUAGE_LINK.findall(chinese)
        assert (lang_zh, lang_en) == ("zh-CN", "en")
        assert (english_html / page).parent.joinpath(to_chinese).resolve() == (chinese_html / f"{page}.html").resolve()
        assert (chinese_html / page).parent.joinpath(to_english).resolve() == (english_html / f"{page}.html").resolve()


@pytest.mark.skipif(not REAL_DATA, reason="the book's chapters need CIFAR-10: set CVTUTOR_DATA")
def test_a_translated_page_is_chinese_and_its_buttons_give_the_chinese_notebook(built_book):
    built_book.require_success()
    page = (built_book.html / "zh" / "book" / "background.html").read_text(encoding="utf-8")
    assert "<title>1.1 背景介绍" in page and catalogs.MISSING not in page.split('id="main-content"')[-1]
    assert "/blob/main/locales/zh_CN/notebooks/book/background.ipynb" in page, "the Colab button"
    source = json.loads((built_book.html / "zh" / "_sources" / "book" / "background.ipynb").read_text(encoding="utf-8"))
    assert "".join(source["cells"][0]["source"]).startswith("# 1.1 背景介绍"), "the download button"


@pytest.mark.skipif(not REAL_DATA, reason="the book's chapters need CIFAR-10: set CVTUTOR_DATA")
def test_the_translation_coverage_of_translated_pages_holds(built_book, capsys):
    built_book.require_success()
    assert book_tool.coverage() == 0, capsys.readouterr()
    report = json.loads((ROOT / "_build" / "zh" / "translation-coverage.json").read_text(encoding="utf-8"))
    assert set(book_tool.TRANSLATED_PAGES) <= set(report["pages"])


# --- a one-chapter book, built in both editions, then edited ---------------------------------------

TOY_CODE = ("from cvtutor.notebook import glue\nglue('answer', 42)\nglue('name', \"the archive's copy\")\n"
            "glue('tiny', -0.004)")
PARAGRAPHS = {
    "kept": "This paragraph stays as it was translated.",
    "edited": "This paragraph will be edited after its translation was written.",
    "glued": "The answer is {glue:text}`answer` and the data set is {glue:text}`name`.",
    "never": "Nobody has translated this paragraph yet.",
    "zero": "Rounded, the correlation is {glue:text}`tiny:.2f`.",
}
TRANSLATIONS = {
    "Toy chapter · 玩具": "玩具章节",
    PARAGRAPHS["kept"]: "这一段保持翻译时的样子。",
    PARAGRAPHS["edited"]: "这一段在译文写好之后会被修改。",
    PARAGRAPHS["glued"]: "答案是 {glue:text}`answer`，数据集是 {glue:text}`name`。",
}


def _toy(root: Path, paragraphs: dict) -> None:
    (root / "book").mkdir(parents=True, exist_ok=True)
    (root / "_config.yml").write_text(
        "title: toy\nonly_build_toc_files: true\n"
        "execute:\n  execute_notebooks: cache\n  run_in_temp: true\n"
        "sphinx:\n  local_extensions:\n"
        f"    execution_cache: {ROOT / 'book' / '_ext'}\n    translation: {ROOT / 'book' / '_ext'}\n")
    (root / "_toc.yml").write_text("format: jb-book\nroot: book/toy\n")
    (root / "book" / "glossary.md").write_text("| English | 中文 | Definition |\n|---|---|---|\n| toy | 玩具 | A toy. |\n")
    prose = "# Toy chapter · 玩具\n\n" + "\n\n".join(paragraphs.values())
    nb = {"cells": [{"cell_type": "code", "id": "c", "metadata": {}, "execution_count": None, "outputs": [],
                     "source": TOY_CODE},
                    {"cell_type": "markdown", "id": "m", "metadata": {}, "source": prose}],
          "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
          "nbformat": 4, "nbformat_minor": 5}
    (root / "book" / "toy.ipynb").write_text(json.dumps(nb))


def _write_catalog(root: Path, translations: dict) -> Path:
    from babel.messages.catalog import Catalog
    from babel.messages.pofile import write_po

    catalog = Catalog(locale="zh_CN")
    for msgid, msgstr in translations.items():
        catalog.add(msgid, msgstr)
    path = root / "locales" / "zh_CN" / "LC_MESSAGES" / "book" / "toy.po"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        write_po(f, catalog)
    return path


def _text(html_file: Path) -> str:
    import html

    body = html_file.read_text(encoding="utf-8").split('id="main-content"')[-1]
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body)))


@pytest.mark.slow
def test_an_edited_english_paragraph_shows_the_english_marked_stale_never_the_old_translation(tmp_path, monkeypatch):
    root = tmp_path / "toy"
    _toy(root, PARAGRAPHS)
    _write_catalog(root, TRANSLATIONS)
    monkeypatch.setattr(book_tool, "_program", lambda name: str(Path(sys.executable).with_name(name)))
    edited = dict(PARAGRAPHS, edited=PARAGRAPHS["edited"].replace("will be edited", "was edited"))
    for paragraphs in (PARAGRAPHS, edited):
        _toy(root, paragraphs)
        book_tool.write_generated(root)
        assert book_tool.build(root) == 0
    text = _text(root / "_build" / "html" / "zh" / "book" / "toy.html")
    assert "这一段保持翻译时的样子。" in text
    assert "答案是 42 ，数据集是 the archive’s copy" in text.replace("  ", " "), "numbers glued in the same notebook"
    # a glued value reads the same in both editions, typographic apostrophe included
    assert "the data set is the archive’s copy" in _text(root / "_build" / "html" / "book" / "toy.html")
    # a glued number rounded to zero has no minus sign
    english = _text(root / "_build" / "html" / "book" / "toy.html")
    assert "the correlation is 0.00 ." in english and "-0.00" not in english
    assert f"This paragraph was edited after its translation was written. [{catalogs.STALE}]" in text
    assert "这一段在译文写好之后会被修改" not in text, "never the old translation"
    assert f"Nobody has translated this paragraph yet. [{catalogs.MISSING}]" in text
    counts = json.loads((root / "_build" / "zh" / "translation-coverage.json").read_text())["pages"]["book/toy"]
    assert counts == {"messages": 6, "translated": 3, "stale": 1, "missing": 2}
    notebook = (root / "locales" / "zh_CN" / "notebooks" / "book" / "toy.ipynb").read_text(encoding="utf-8")
    assert catalogs.STALE in notebook and "这一段保持翻译时的样子。" in notebook

    # A translation that types the number instead of the glue role fails the build, in one line.
    _write_catalog(root, TRANSLATIONS | {PARAGRAPHS["glued"]: "答案是 42，数据集是 {glue:text}`name`。"})
    result = subprocess.run([sys.executable, str(ROOT / "tools" / "book.py"), "translations", "check"],
                            capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, "the book's own catalogs are unaffected"
    assert book_tool.build_chinese(root) == 1
    problems = catalogs.check_catalogs(root)
    assert len(problems) == 2 and all("toy.po" in p for p in problems)
    assert any("drops glue 'text answer'" in p for p in problems)
    assert any("types the number '42'" in p for p in problems)
