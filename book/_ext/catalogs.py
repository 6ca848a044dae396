"""The Chinese edition's gettext catalogs: what a translation must keep, and the catalogs a build reads.

One catalog per page (``locales/zh_CN/LC_MESSAGES/<page>.po``, Sphinx's ``gettext_compact =
False``): each message is one paragraph, heading, list item, table cell, caption or admonition of
the English source, as MyST source text. A translation (``msgstr``) may reword the prose freely
but must keep, exactly, what the book computes or links: every glued number (``{glue:text}`key```
and its kin), every math expression (``$...$``), every cross-reference and citation target, every
link target and every piece of inline code; and it must type no number of its own (a number that
the English source does not state is a measured value typed by hand, which goes stale).
:func:`problems` finds what a translation broke; ``tools/book.py translations check`` and the
Chinese build run it on every entry.

:func:`compile_catalogs` writes the ``.mo`` files the Chinese build reads: translations that pass
the checks, with every glue reference to a value of the page's own notebook written in the
``notebook.ipynb::key`` form. (myst-nb 1.4 parses a translated paragraph as a document of its
own, where a bare ``key`` finds no glue data and renders empty; the qualified form is resolved
from the glue cache like a reference to another notebook.)

Standard library and Babel (which Sphinx requires) only.
"""

from __future__ import annotations

import collections
import json
import re
from pathlib import Path

LANGUAGE = "zh_CN"
LOCALES = "locales"  # under the book's root

GLUE = re.compile(r"\{glue(?::(?P<kind>\w+))?\}`(?P<target>[^`]+)`")
MATH = re.compile(r"(?<!\\)\$\$(?P<display>.+?)\$\$|(?<![\\$])\$(?P<inline>[^$\n]+?)\$(?!\$)", re.S)
ROLE = re.compile(r"\{(?P<role>[\w:.-]+)\}`(?P<body>[^`]+)`")
LINK = re.compile(r"\]\((?P<target>[^)\s]+)\)")
CODE = re.compile(r"(?<![`{}])`(?P<code>[^`]+)`")
SUBSTITUTION = re.compile(r"\{\{\s*(?P<name>[\w.-]+)\s*\}\}")  # MyST substitutions: {{ cvtutor_version }}
NUMBER = re.compile(r"(?P<digits>\d+(?:[.,]\d+)*)\s*(?P<scale>thousand|million|billion|千|万|亿)?")
# A number may be said at another scale in Chinese: 1.28 million = 128 万.
SCALES = {"thousand": 1e3, "million": 1e6, "billion": 1e9, "千": 1e3, "万": 1e4, "亿": 1e8}


# A sentence glued in both languages (cvtutor.notebook.glue_sentence): the translation quotes
# `name_zh` where the English quotes `name`.
CHINESE_GLUE_SUFFIX = "_zh"
_CHINESE_GLUE = re.compile(re.escape(CHINESE_GLUE_SUFFIX) + r"(?=(:[^:]*)?$)")


def glue_key(target: str, notebook: str | None) -> str:
    """A glue reference's key with its format, the page's own notebook prefix removed."""
    if notebook and target.startswith(f"{notebook}::"):
        return target[len(notebook) + 2:]
    return target


def role_target(body: str) -> str:
    """The target of a role's body: ``text <target>`` -> ``target``; ``~target`` -> ``target``."""
    found = re.search(r"<([^<>]+)>\s*$", body)
    return (found.group(1) if found else body).strip().lstrip("~")


def tokens(text: str, notebook: str | None = None) -> dict[str, collections.Counter]:
    """What a message computes or links, and the numbers it states in its prose."""
    found = {kind: collections.Counter()
             for kind in ("glue", "substitution", "math", "reference", "link", "code", "number")}
    rest = text
    for match in SUBSTITUTION.finditer(text):
        found["substitution"][match["name"]] += 1
    rest = SUBSTITUTION.sub(" ", rest)
    for match in GLUE.finditer(text):
        found["glue"][f"{match['kind'] or 'glue'} {glue_key(match['target'], notebook)}"] += 1
    rest = GLUE.sub(" ", rest)
    for match in ROLE.finditer(rest):
        found["reference"][f"{match['role']} {role_target(match['body'])}"] += 1
    rest = ROLE.sub(" ", rest)
    for match in MATH.finditer(rest):
        found["math"][(match["display"] or match["inline"]).strip()] += 1
    rest = MATH.sub(" ", rest)
    for match in CODE.finditer(rest):
        found["code"][match["code"]] += 1
    rest = CODE.sub(" ", rest)
    for match in LINK.finditer(rest):
        found["link"][match["target"]] += 1
    rest = LINK.sub("] ", rest)
    for match in NUMBER.finditer(rest):
        found["number"][_number_value(match)] += 1
    return found


def _number_value(match) -> str:
    """A stated number as a comparable string: ``2,000`` -> ``2000``, ``1.28 million`` and ``128 万``
    -> ``1280000``; a dotted chapter number such as ``1.4.1`` stays as written."""
    digits = match["digits"].replace(",", "")
    if match["scale"] is None or digits.count(".") > 1:
        return digits
    value = float(digits) * SCALES[match["scale"]]
    return f"{value:.6g}" if value != int(value) else str(int(value))


GLUED_SENTENCE = re.compile(r"""glue_sentence\(\s*["'](?P<name>[\w.-]+)["']""")


def glued_sentences(path: Path) -> frozenset[str]:
    """The names a notebook glues as sentences in both languages (``glue_sentence("name", ...)``
    with a literal name), whose Chinese page must quote ``name_zh``."""
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    code = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    return frozenset(m["name"] for m in GLUED_SENTENCE.finditer(code))


def problems(msgid: str, msgstr: str, notebook: str | None = None, sentences=frozenset()) -> list[str]:
    """What ``msgstr`` broke of ``msgid``: each a short phrase naming the item; [] when it is sound.

    Glued values, math, references, link targets and inline code must be the same (as multisets; a
    glued sentence's Chinese version ``name_zh`` counts as ``name``); every number stated in the
    translation's prose must be stated in the original's. A glued sentence (``sentences``, from
    :func:`glued_sentences`) quoted as ``name`` would show the English one on the Chinese page.
    """
    source, translation = tokens(msgid, notebook), tokens(msgstr, notebook)
    english = sorted({key.split(" ", 1)[1].split(":")[0] for key in translation["glue"]} & set(sentences))
    translation["glue"] = collections.Counter({_CHINESE_GLUE.sub("", key): n for key, n in translation["glue"].items()})
    found = []
    for kind in ("glue", "substitution", "math", "reference", "link", "code"):
        missing, added = source[kind] - translation[kind], translation[kind] - source[kind]
        found += [f"drops {kind} {item!r}" for item in missing]
        found += [f"adds {kind} {item!r}" for item in added]
    typed = translation["number"] - source["number"]
    found += [f"types the number {item!r}, which the English does not state" for item in typed]
    found += [f"quotes the English of the glued sentence {name!r}: quote {name + CHINESE_GLUE_SUFFIX!r}"
              for name in english]
    return found


def qualify_glue(msgstr: str, notebook: str | None) -> str:
    """Same-notebook glue references written as ``notebook.ipynb::key`` (see the module's docstring)."""
    if not notebook:
        return msgstr

    def qualified(match):
        kind = f":{match['kind']}" if match["kind"] else ""
        target = match["target"]
        if "::" not in target:
            # {glue:text} splits a format off at the last colon: "nb.ipynb::key" alone would read as
            # key "nb.ipynb:" with format "key", so the default format "s" is written out.
            spec = "" if match["kind"] != "text" or ":" in target else ":s"
            target = f"{notebook}::{target}{spec}"
        return f"{{glue{kind}}}`{target}`"

    return GLUE.sub(qualified, msgstr)


def notebook_of(domain: str, root: Path) -> str | None:
    """The notebook file name of a page (``book/cnn_classifier`` -> ``cnn_classifier.ipynb``), if it is one."""
    path = root / f"{domain}.ipynb"
    return path.name if path.is_file() else None


def catalog_files(root: Path) -> dict[str, Path]:
    """{page (domain): its .po file} under ``root/locales/zh_CN/LC_MESSAGES``."""
    base = root / LOCALES / LANGUAGE / "LC_MESSAGES"
    return {p.relative_to(base).with_suffix("").as_posix(): p for p in sorted(base.rglob("*.po"))}


def read_catalog(path: Path):
    from babel.messages.pofile import read_po

    with open(path, "rb") as f:
        return read_po(f, locale=LANGUAGE)


def check_catalogs(root: Path) -> list[str]:
    """Every translated entry of every catalog that :func:`problems` finds fault with, one line each
    naming the file, the line and the message's start."""
    lines = []
    for domain, path in catalog_files(root).items():
        notebook = notebook_of(domain, root)
        sentences = glued_sentences(root / f"{domain}.ipynb") if notebook else frozenset()
        for message in read_catalog(path):
            if not message.id or not message.string or message.fuzzy:
                continue
            for problem in problems(message.id, message.string, notebook, sentences):
                start = message.id if len(message.id) <= 50 else message.id[:47] + "..."
                lines.append(f"{path.relative_to(root)}:{message.lineno}: the translation of {start!r} {problem}")
    return lines


def compile_catalogs(root: Path, out: Path) -> dict[str, int]:
    """Write ``out/zh_CN/LC_MESSAGES/<page>.mo`` from the catalogs: sound, non-fuzzy translations
    only, their same-notebook glue references qualified. Returns {page: messages written}."""
    from babel.messages.catalog import Catalog
    from babel.messages.mofile import write_mo

    written = {}
    for domain, path in catalog_files(root).items():
        notebook = notebook_of(domain, root)
        sentences = glued_sentences(root / f"{domain}.ipynb") if notebook else frozenset()
        sound = Catalog(locale=LANGUAGE, domain=domain)
        for message in read_catalog(path):
            if (message.id and message.string and not message.fuzzy
                    and not problems(message.id, message.string, notebook, sentences)):
                sound.add(message.id, qualify_glue(message.string, notebook))
        target = out / LANGUAGE / "LC_MESSAGES" / f"{domain}.mo"
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(target, "wb") as f:
            write_mo(f, sound)
        written[domain] = len(sound)
    return written


def glossary_terms(glossary: str) -> list[str]:
    """The Chinese terms of the glossary's table (its second column), one per name given, in order:
    ``批次, 批量`` gives both, ``logits（未归一化的分数）`` gives ``未归一化的分数``, Latin names
    such as ``Adam`` are left out."""
    terms = []
    for line in glossary.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) < 3 or cells[0] == "English" or not re.search(r"[\u4e00-\u9fff]", cells[1]):
            continue
        for part in re.split(r"[,，、；;]|[（(]|[）)]", cells[1]):
            part = part.strip()
            if len(part) >= 2 and re.fullmatch(r"[\u4e00-\u9fff]+", part) and part not in terms:
                terms.append(part)
    return terms


def search_words_text(glossary: str) -> str:
    """jieba's user dictionary (one word per line) for the Chinese edition's search: the glossary's terms."""
    return "".join(f"{term}\n" for term in glossary_terms(glossary))


# --- the Chinese notebooks: the same code cells, the Markdown cells through the catalogs ----------

# Directives whose body is prose (parsed as Markdown by MyST); their bodies are translated too.
PROSE_DIRECTIVES = {"note", "tip", "important", "warning", "caution", "attention", "danger", "error", "hint",
                    "seealso", "admonition", "figure", "dropdown", "margin", "sidebar", "topic", "epigraph",
                    "list-table"}
# Those whose argument is a title or caption (a message of its own).
TITLED_DIRECTIVES = {"admonition", "dropdown", "topic", "sidebar", "list-table"}
MYST_EXTENSIONS = {"dollarmath", "amsmath", "colon_fence", "deflist", "substitution"}


def _parser():
    from markdown_it.renderer import RendererHTML
    from myst_parser.config.main import MdParserConfig
    from myst_parser.parsers.mdit import create_md_parser

    return create_md_parser(MdParserConfig(enable_extensions=MYST_EXTENSIONS), RendererHTML)


def message_of(inline_source: str) -> str:
    """A block's message as Sphinx extracts it: its inline source, line breaks as spaces."""
    return inline_source.replace("\n", " ").strip()


def translate_markdown(source: str, translate, parser=None) -> str:
    """``source`` with the text of each paragraph, heading, list item, table cell, admonition and
    caption replaced by ``translate(message)`` (a message is what Sphinx extracts: the block's
    inline source on one line); a block for which it returns None stays as it is. The Markdown
    around the text (heading marks, bullets, table pipes, directive fences and options) is kept."""
    parser = parser or _parser()
    lines = source.split("\n")
    edits = []  # (first line, end line, new lines)
    tokens = parser.parse(source)
    row = None
    for i, token in enumerate(tokens):
        if token.type == "tr_open":
            row = token.map
        if token.type in ("fence", "colon_fence"):
            edits += _directive_edits(token, lines, translate, parser)
            continue
        if token.type != "inline" or i == 0:
            continue
        opener = tokens[i - 1]
        text = translate(message_of(token.content))
        if text is None:
            continue
        if opener.type in ("th_open", "td_open") and row is not None:
            line = lines[row[0]]
            if token.content.strip() in line:
                lines[row[0]] = line.replace(token.content.strip(), text.replace("|", "\\|"), 1)
            continue
        if opener.map is None or opener.type not in ("paragraph_open", "heading_open", "dt_open"):
            continue
        start, end = opener.map
        first = token.content.split("\n")[0].strip()
        at = lines[start].find(first)
        if at < 0:
            continue
        tail = lines[end - 1][lines[end - 1].find(token.content.split("\n")[-1]) + len(token.content.split("\n")[-1]):] \
            if opener.type == "heading_open" else ""
        edits.append((start, end, [lines[start][:at] + text + tail]))
    for start, end, new in sorted(edits, reverse=True):
        lines[start:end] = new
    return "\n".join(lines)


def _directive_edits(token, lines, translate, parser):
    name = token.info.strip()
    if not (name.startswith("{") and "}" in name) or token.map is None:
        return []
    directive, argument = name[1:name.index("}")], name[name.index("}") + 1:].strip()
    if directive not in PROSE_DIRECTIVES:
        return []
    start, end = token.map
    edits = []
    if argument and directive in TITLED_DIRECTIVES:
        title = translate(message_of(argument))
        if title is not None:
            edits.append((start, start + 1, [lines[start].replace(argument, title, 1)]))
    body_start = start + 1
    while body_start < end and re.match(r"\s*:[\w-]+:", lines[body_start]):  # the directive's options
        body_start += 1
    body_end = end - 1 if end - 1 > body_start and lines[end - 1].strip().startswith((token.markup[:3], ":::")) else end
    body = "\n".join(lines[body_start:body_end])
    translated = translate_markdown(body, translate, parser)
    if translated != body:
        edits.append((body_start, body_end, translated.split("\n")))
    return edits


MISSING = "本段尚未翻译"
STALE = "译文可能已过期"


class PageCatalog:
    """One page's catalog as the Chinese edition reads it.

    Args:
        root: the book's root.
        domain: the page, e.g. ``"book/cnn_classifier"``.
    """

    def __init__(self, root: Path, domain: str):
        self.notebook = notebook_of(domain, root)
        self.current: dict[str, str] = {}  # msgid -> sound, non-fuzzy translation
        self.fuzzy: set[str] = set()
        self._candidates: dict[str, str] = {}  # fuzzy-match key -> msgid, of every translated entry
        path = catalog_files(root).get(domain)
        for message in read_catalog(path) if path is not None else ():
            if not message.id or not message.string:
                continue
            if message.fuzzy or problems(message.id, message.string, self.notebook):
                self.fuzzy.add(message.id)
            else:
                self.current[message.id] = message.string
            self._candidates[message.id.lower().strip()] = message.id

    def state(self, msg: str) -> str:
        """``"translated"``, ``"stale"`` (the catalog translates an earlier wording of it: marked
        fuzzy, or close to it by Babel's fuzzy matching, as msgmerge pairs them) or ``"missing"``."""
        from babel.messages.catalog import get_close_matches

        if msg in self.current:
            return "translated"
        if msg in self.fuzzy or get_close_matches(msg.lower().strip(), self._candidates.keys(), 1):
            return "stale"
        return "missing"

    def for_notebook(self, msg: str) -> str:
        """What a Chinese notebook shows for a message: its translation, else the English with the notice."""
        state = self.state(msg)
        if state == "translated":
            return self.current[msg]
        return f"{msg} [{STALE if state == 'stale' else MISSING}]"


def chinese_notebook(path: Path, root: Path) -> str:
    """The Chinese notebook of the chapter at ``path``, as text: every code cell byte-identical,
    every Markdown cell through the page's catalog (:func:`translate_markdown`)."""
    import json

    nb = json.loads(path.read_text(encoding="utf-8"))
    catalog = PageCatalog(root, path.relative_to(root).with_suffix("").as_posix())
    parser = _parser()
    for cell in nb["cells"]:
        if cell["cell_type"] == "markdown":
            source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
            cell["source"] = translate_markdown(source, catalog.for_notebook, parser).splitlines(keepends=True)
    nb["metadata"]["cvtutor"] = {"language": LANGUAGE, "generated_from": path.relative_to(root).as_posix(),
                                 "by": "python tools/book.py translations notebooks"}
    return json.dumps(nb, indent=1, ensure_ascii=False) + "\n"
