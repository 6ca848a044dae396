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
import re
from pathlib import Path

LANGUAGE = "zh_CN"
LOCALES = "locales"  # under the book's root

GLUE = re.compile(r"\{glue(?::(?P<kind>\w+))?\}`(?P<target>[^`]+)`")
MATH = re.compile(r"(?<!\\)\$\$(?P<display>.+?)\$\$|(?<![\\$])\$(?P<inline>[^$\n]+?)\$(?!\$)", re.S)
ROLE = re.compile(r"\{(?P<role>[\w:.-]+)\}`(?P<body>[^`]+)`")
LINK = re.compile(r"\]\((?P<target>[^)\s]+)\)")
CODE = re.compile(r"(?<![`{}])`(?P<code>[^`]+)`")
NUMBER = re.compile(r"\d+(?:[.,]\d+)*")


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
    found = {kind: collections.Counter() for kind in ("glue", "math", "reference", "link", "code", "number")}
    rest = text
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
        found["number"][match.group(0).replace(",", "")] += 1
    return found


def problems(msgid: str, msgstr: str, notebook: str | None = None) -> list[str]:
    """What ``msgstr`` broke of ``msgid``: each a short phrase naming the item; [] when it is sound.

    Glued values, math, references, link targets and inline code must be the same (as multisets);
    every number stated in the translation's prose must be stated in the original's.
    """
    source, translation = tokens(msgid, notebook), tokens(msgstr, notebook)
    found = []
    for kind in ("glue", "math", "reference", "link", "code"):
        missing, added = source[kind] - translation[kind], translation[kind] - source[kind]
        found += [f"drops {kind} {item!r}" for item in missing]
        found += [f"adds {kind} {item!r}" for item in added]
    typed = translation["number"] - source["number"]
    found += [f"types the number {item!r}, which the English does not state" for item in typed]
    return found


def qualify_glue(msgstr: str, notebook: str | None) -> str:
    """Same-notebook glue references written as ``notebook.ipynb::key`` (see the module's docstring)."""
    if not notebook:
        return msgstr

    def qualified(match):
        kind = f":{match['kind']}" if match["kind"] else ""
        target = match["target"] if "::" in match["target"] else f"{notebook}::{match['target']}"
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
        for message in read_catalog(path):
            if not message.id or not message.string or message.fuzzy:
                continue
            for problem in problems(message.id, message.string, notebook):
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
        sound = Catalog(locale=LANGUAGE, domain=domain)
        for message in read_catalog(path):
            if message.id and message.string and not message.fuzzy and not problems(message.id, message.string, notebook):
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
