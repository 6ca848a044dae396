"""The Chinese edition: nothing silently stale, the translation's coverage, and a link to the other language.

Sphinx translates each message of a page (a paragraph, heading, list item, table cell, caption)
whose English text has a sound translation in the page's catalog (``catalogs.py``); any other
message stays English. In a Chinese build this extension makes that visible: an English message
gets a short notice, **本段尚未翻译** when the catalog has nothing for it, and **译文可能已过期**
when the catalog has a translation of an earlier wording of it (an entry marked fuzzy, or one
whose English is close to it by Babel's own fuzzy matching, as ``msgmerge`` would pair them): the
old translation is never shown. Messages inside cell outputs (measured tables, printed text) are
left as executed. The API reference (``book/api/``), generated from the package's docstrings,
stays English and says so once at its top.

Every page, in both editions, links to the same page in the other one (the English edition at
``_build/html/``, the Chinese at ``_build/html/zh/``).

The counts per page (messages, translated, stale, missing) are written at the end of a Chinese
build to ``translation-coverage.json`` beside its output folder; ``tools/book.py translations
coverage`` reads them.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from docutils import nodes
from sphinx.transforms import SphinxSmartQuotes, SphinxTransform
from sphinx.transforms.post_transforms import SphinxPostTransform
from sphinx.util import logging
from sphinx.util.i18n import docname_to_domain
from sphinx.util.nodes import extract_messages

import catalogs

LOGGER = logging.getLogger(__name__)
ENGLISH_ONLY = "book/api/"  # pages that stay English
API_NOTE = "本附录（API 参考）由 cvtutor 的文档字符串生成，保持英文原文。"
COVERAGE_FILE = "translation-coverage.json"
OTHER = {"en": ("zh", "中文版", "zh-CN"), "zh": ("en", "English edition", "en")}


def is_chinese(config) -> bool:
    return (config.language or "").lower().startswith("zh")


def in_output(node: nodes.Node) -> bool:
    """Whether ``node`` lies inside a notebook cell's output (left as executed)."""
    parent = node.parent
    while parent is not None:
        if isinstance(parent, nodes.Element) and "cell_output" in parent.get("classes", []):
            return True
        parent = parent.parent
    return False


class RememberMessages(SphinxTransform):
    """Before Sphinx translates (``Locale``, priority 20): note each translatable node's English message."""

    default_priority = 19

    def apply(self, **kwargs) -> None:
        if not is_chinese(self.config) or self.app.builder.name == "gettext":
            return
        for node, msg in extract_messages(self.document):
            node["cvtutor_msgid"] = msg


class MarkUntranslated(SphinxTransform):
    """After Sphinx translated: a notice on every message left English, and the page's counts."""

    default_priority = 26

    def apply(self, **kwargs) -> None:
        if not is_chinese(self.config) or self.app.builder.name == "gettext":
            return
        docname = self.env.docname
        if docname.startswith(ENGLISH_ONLY):
            section = next(self.document.findall(nodes.section), None)
            if section is not None:  # below the page's title
                section.insert(1, nodes.note("", nodes.paragraph(text=API_NOTE)))
            return
        catalog = page_catalog(Path(self.env.srcdir), docname_to_domain(docname, self.config.gettext_compact))
        counts = {"messages": 0, "translated": 0, "stale": 0, "missing": 0}
        for node in list(self.document.findall(nodes.Element)):
            msg = node.get("cvtutor_msgid")
            if msg is None or in_output(node):
                continue
            counts["messages"] += 1
            # Sphinx leaves a message whose translation is itself (a number, a name) untranslated.
            state = "translated" if node.get("translated") else catalog.state(msg)
            counts[state] += 1
            # A title's notice would follow it into the navigation and the browser's tab: it is
            # counted, and shown by the first paragraph below it that is English too.
            if state != "translated" and not isinstance(node, nodes.title):
                text = catalogs.STALE if state == "stale" else catalogs.MISSING
                node += nodes.inline("", f" [{text}]", classes=["cvtutor-i18n", f"cvtutor-i18n-{state}"])
        self.env.cvtutor_translation[docname] = counts


_CATALOGS: dict[tuple[str, str], catalogs.PageCatalog] = {}


def page_catalog(root: Path, domain: str) -> catalogs.PageCatalog:
    """The page's catalog, read once per build."""
    if (str(root), domain) not in _CATALOGS:
        _CATALOGS[str(root), domain] = catalogs.PageCatalog(root, domain)
    return _CATALOGS[str(root), domain]


def language_link(app, pagename, templatename, context, doctree) -> None:
    """html-page-context: a link to this page in the other edition, at the top of its body."""
    if "body" not in context:
        return
    here = "zh" if is_chinese(app.config) else "en"
    other, label, hreflang = OTHER[here]
    up = "../" * pagename.count("/")
    href = f"{up}{'zh/' if other == 'zh' else '../'}{pagename}.html"
    link = (f'<p class="cvtutor-language"><a href="{href}" hreflang="{hreflang}" lang="{hreflang}">'
            f"{label}</a></p>\n")
    context["body"] = link + context["body"]


def _purge(app, env, docname) -> None:
    env.cvtutor_translation.pop(docname, None)


def _merge(app, env, docnames, other) -> None:
    env.cvtutor_translation.update({d: c for d, c in other.cvtutor_translation.items() if d in docnames})


def _init(app) -> None:
    if not hasattr(app.env, "cvtutor_translation"):
        app.env.cvtutor_translation = {}
    _CATALOGS.clear()


def write_coverage(app, exception) -> None:
    """build-finished: the counts per page, beside the output folder."""
    if exception is not None or not is_chinese(app.config) or app.builder.name == "gettext":
        return
    path = Path(app.outdir).parent / COVERAGE_FILE
    report = {"language": app.config.language, "english_only": ENGLISH_ONLY,
              "pages": dict(sorted(app.env.cvtutor_translation.items()))}
    path.write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


# Chinese search. Sphinx indexes Chinese pages with jieba (``cut_for_search``: every word and its
# shorter dictionary words), given the glossary's terms as a user dictionary (``search_dict``).
# The query is split in the browser, where jieba is not: Sphinx's default splitQuery keeps a
# run of Chinese characters as one term (卷积神经网络的参数 finds nothing). This one cuts each
# run of Chinese characters by forward maximum matching against the terms of the page index
# itself, so a query is cut into the words the pages were indexed by; single characters (的) are
# dropped, as the indexer drops them (SearchChinese.word_filter).
SPLIT_QUERY_JS = r"""
function splitQuery(query) {
  const index = (typeof Search !== "undefined" && Search._index) ? Search._index.terms : {};
  const words = [];
  for (const chunk of query.split(/[^\p{Letter}\p{Number}_\p{Emoji_Presentation}]+/gu)) {
    for (const run of chunk.match(/\p{Script=Han}+|[^\p{Script=Han}]+/gu) || []) {
      if (!/\p{Script=Han}/u.test(run)) { words.push(run); continue; }
      let start = 0;
      while (start < run.length) {
        let end = Math.min(run.length, start + 12);
        while (end > start + 1 && !(run.slice(start, end) in index)) end--;
        if (end - start > 1) words.push(run.slice(start, end));
        start = end;
      }
    }
  }
  return words;
}
"""


def chinese_search_language():
    from sphinx.search.zh import SearchChinese

    class SearchChineseByIndexTerms(SearchChinese):
        js_splitter_code = SPLIT_QUERY_JS

    return SearchChineseByIndexTerms


class GlueSmartQuotes(SphinxPostTransform):
    """Typographic quotes in glued text too, as in the rest of the page: myst-nb inserts values glued
    from another notebook (and, on a translated page, from its own: see ``catalogs.qualify_glue``)
    after Sphinx's SmartQuotes transform has run, so "the archive's copy" would read differently on
    the two editions' pages. SmartQuotes again over the page changes only what it has not seen:
    quotes it made are no longer ASCII, and code is left alone as before."""

    default_priority = 6  # right after myst-nb's ReplacePendingGlueReferences (5)

    def run(self, **kwargs):
        SphinxSmartQuotes(self.document, startnode=None).apply()


class GlueWithoutNegativeZero(SphinxPostTransform):
    """A glued number that its format rounds to zero reads 0.00, not -0.00, in both editions
    (:func:`cvtutor.notebook.without_negative_zero`, which also serves Jupyter readers)."""

    default_priority = 6  # after myst-nb's ReplacePendingGlueReferences (5), with GlueSmartQuotes

    def run(self, **kwargs):
        from cvtutor.notebook import without_negative_zero

        for node in self.document.findall(nodes.inline):
            if "pasted-text" in node["classes"] and (text := node.astext()) != without_negative_zero(text):
                node[:] = [nodes.Text(without_negative_zero(text))]


# Chinese technical writing puts a space between a Chinese character and a Latin letter or digit
# (cvtutor.verdicts.Sentence does so inside glued sentences) and none between two Chinese characters.
_HAN = "\u4e00-\u9fff"
_LATIN_END = re.compile(r"[A-Za-z0-9%)]$")
_LATIN_START = re.compile(r"^[A-Za-z0-9]")


def _gap(before: str, after: str) -> str | None:
    """What the boundary between two texts needs: ``"space"`` between a Chinese character and a
    Latin letter or digit, ``"close"`` where spaces separate two Chinese characters, else None."""
    han_end, han_start = re.search(f"[{_HAN}]$", before), re.match(f"[{_HAN}]", after)
    if (han_end and _LATIN_START.match(after)) or (_LATIN_END.search(before) and han_start):
        return "space"
    if (han_start and re.search(f"[{_HAN}] +$", before)) or (han_end and re.match(f" +[{_HAN}]", after)):
        return "close"
    return None


def space_glued_values(document: nodes.Node) -> None:
    """Space each glued value (myst-nb's ``pasted-text`` inline) from the Chinese text around it: a
    translation writes its sentence once for values that may be Latin ("ResNet") or Chinese
    ("宽度为 8 的 ResNet"), so the space at either edge is decided here, once the value is known.
    Only the plain text beside a value changes; code and the value itself are left alone."""
    for glued in list(document.findall(nodes.inline)):
        if "pasted-text" not in glued["classes"] or not isinstance(glued.parent, nodes.Element):
            continue
        parent, value = glued.parent, glued.astext()
        index = parent.index(glued)
        if index > 0 and isinstance(parent[index - 1], nodes.Text):
            text = str(parent[index - 1])
            gap = _gap(text, value)
            if gap:
                parent[index - 1] = nodes.Text(text + " " if gap == "space" else text.rstrip(" "))
        if index + 1 < len(parent) and isinstance(parent[index + 1], nodes.Text):
            text = str(parent[index + 1])
            gap = _gap(value, text)
            if gap:
                parent[index + 1] = nodes.Text(" " + text if gap == "space" else text.lstrip(" "))


class GlueSpacing(SphinxPostTransform):
    """:func:`space_glued_values` on every page of the Chinese edition."""

    default_priority = 7  # after the glued values are in place and final (priority 5 and 6)

    def run(self, **kwargs):
        if is_chinese(self.config):
            space_glued_values(self.document)


def setup(app):
    app.add_post_transform(GlueSmartQuotes)
    app.add_post_transform(GlueWithoutNegativeZero)
    app.add_post_transform(GlueSpacing)
    app.add_search_language(chinese_search_language())
    app.add_transform(RememberMessages)
    app.add_transform(MarkUntranslated)
    app.connect("builder-inited", _init)
    app.connect("env-purge-doc", _purge)
    app.connect("env-merge-info", _merge)
    app.connect("html-page-context", language_link)
    app.connect("build-finished", write_coverage)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "env_version": 1}
