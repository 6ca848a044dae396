"""The book's one tool: build both editions, and write everything in the notebooks that is generated.

    python tools/book.py build                      # English in _build/html/, Chinese in _build/html/zh/
    python tools/book.py update                     # every generated part, in order (below)
    python tools/book.py check                      # exit 1 naming whatever is out of date (CI's tests run it)

    python tools/book.py sync [--check]             # setup cells, quoted-number cells, the version (sync_book.py)
    python tools/book.py exercises [--check]        # each chapter's Exercises section (exercise_sections.py)
    python tools/book.py run-times [--check]        # shipped records, each chapter's run time (run_times.py)
    python tools/book.py translations extract       # the English messages into the catalogs (translators)
    python tools/book.py translations notebooks     # the Chinese notebooks and search words, from the catalogs
    python tools/book.py translations check         # every translation keeps its numbers, math and links
    python tools/book.py translations coverage      # per page: translated, stale, missing (after a build)
    python tools/book.py wrap [--write]             # shorten long code lines (wrap_code_cells.py)
    python tools/book.py reference-values DIR --record R   # a full build's numbers into the package

Every notebook and generated file is written the one way ``notebook_files.py`` writes it: as
Jupyter does, atomically. ``update`` runs the generators in the order their outputs depend on each
other (the Chinese notebooks are made from the English ones last); running it twice changes nothing.

``build`` runs ``jupyter-book build . --all -W --keep-going`` (the English edition, every notebook
executed unless the execution cache holds it), then the Chinese edition in a process of its own
(myst-nb keeps glue data per process) from the same sources and the same execution cache, so no
notebook executes twice: Sphinx with ``language = "zh_CN"``, reading the ``.mo`` files that
``book/_ext/catalogs.py`` compiles from ``locales/zh_CN/LC_MESSAGES/*.po``, searching with jieba
and the glossary's terms (``locales/zh_CN/search_words.txt``), into ``_build/zh/html``, copied to
``_build/html/zh``.

``translations extract`` runs Sphinx's gettext builder with execution off (measured outputs never
reach a catalog) into ``_build/gettext`` and merges it into the catalogs with sphinx-intl: new
messages appear untranslated, changed ones are marked fuzzy with their old translation kept for
the translator, and the Chinese build shows neither (see ``book/_ext/translation.py``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "book" / "_ext"))

import catalogs  # noqa: E402
import exercise_sections  # noqa: E402
import run_times  # noqa: E402
import sync_book  # noqa: E402

BUILD = ROOT / "_build"
ENGLISH_COMMAND = ["jupyter-book", "build", ".", "--all", "-W", "--keep-going"]
SEARCH_WORDS = ROOT / catalogs.LOCALES / catalogs.LANGUAGE / "search_words.txt"
# The pages translated so far: each must keep at least COVERAGE_MIN percent of its messages translated
# and current (an English edit shows as stale, and fails only when a page drifts below it). The
# other pages are reported, and show English with a notice.
TRANSLATED_PAGES = ("book/attention", "book/attention_classifier", "book/background", "book/backprop",
                    "book/bibliography", "book/bigger_models", "book/challenges", "book/cnn_classifier",
                    "book/cnn_features", "book/complex_structures", "book/convolution", "book/core_concepts",
                    "book/efficient_training", "book/errata", "book/faq", "book/glossary", "book/intro",
                    "book/landscape", "book/pretrained", "book/recurrence", "book/regularisation", "book/results",
                    "book/rnn_classifier", "book/summary")
COVERAGE_MIN = 95.0


def _program(name: str) -> str:
    beside = Path(sys.executable).with_name(name)
    return str(beside) if beside.exists() else name


def chinese_overrides(root: Path = ROOT) -> dict:
    """The Sphinx settings of the Chinese edition, on top of _config.yml's."""
    return {
        "language": catalogs.LANGUAGE,
        "locale_dirs": [str(root / "_build" / "zh" / "locales")],
        "gettext_compact": False,
        "gettext_auto_build": False,  # the .mo files are compiled by catalogs.compile_catalogs
        "nb_execution_cache_path": str(root / "_build" / ".jupyter_cache"),  # the English build's
        "html_search_language": "zh",
        # Sphinx turns ASCII quotes into typographic ones except for a few languages, Chinese among
        # them; then a glued English value ("the archive's copy") would read differently on the two
        # editions' pages. Chinese prose already uses full-width quotes, which this leaves alone.
        "smartquotes_excludes": {"languages": [], "builders": ["man", "text"]},
        "html_search_options": {"dict": str(root / catalogs.LOCALES / catalogs.LANGUAGE / "search_words.txt")},
        # The Colab button opens the Chinese notebook (generated from the catalogs, committed).
        "html_theme_options": {"path_to_docs": f"{catalogs.LOCALES}/{catalogs.LANGUAGE}/notebooks"},
    }


# One Sphinx build as jupyter-book's command line makes it (its build_sphinx, _config.yml, _toc.yml), with
# settings of our own on top, in a process of its own: python -c SPHINX_BUILD ROOT OUT BUILDER OVERRIDES
SPHINX_BUILD = """
import json, sys
from pathlib import Path
from jupyter_book.sphinx import build_sphinx
root, out, builder, overrides = Path(sys.argv[1]), sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
overrides |= {"external_toc_path": (root / "_toc.yml").as_posix(), "latex_individualpages": False}
result = build_sphinx(root, out, noconfig=True, path_config=str(root / "_config.yml"), confoverrides=overrides,
                      builder=builder, force_all=True, freshenv=True, warningiserror=builder == "html",
                      keep_going=True, doctreedir=str(Path(out).parent / f".doctrees-{builder}"))
sys.exit(0 if result == 0 else 1)
"""


def sphinx_build(root: Path, out: Path, builder: str, overrides: dict) -> int:
    """Run :data:`SPHINX_BUILD`; its exit code."""
    return subprocess.run([sys.executable, "-c", SPHINX_BUILD, str(root), str(out), builder, json.dumps(overrides)],
                          cwd=root).returncode


def build_chinese(root: Path = ROOT) -> int:
    """The Chinese edition into ``_build/zh/html``, then copied to ``_build/html/zh``; its exit code."""
    zh = root / "_build" / "zh"
    shutil.rmtree(zh / "locales", ignore_errors=True)
    problems = catalogs.check_catalogs(root)
    if problems:
        print("\n".join(problems), file=sys.stderr)
        print(f"{len(problems)} translation(s) break what they must keep: see above", file=sys.stderr)
        return 1
    catalogs.compile_catalogs(root, zh / "locales")
    html = zh / "html"
    code = sphinx_build(root, html, "html", chinese_overrides(root))
    if code == 0:
        # The download button gives the page's source: the Chinese notebook, not the English one.
        for path in sorted((root / "book").glob("*.ipynb")):
            (html / "_sources" / path.relative_to(root)).write_text(catalogs.chinese_notebook(path, root),
                                                                   encoding="utf-8")
        shutil.rmtree(root / "_build" / "html" / "zh", ignore_errors=True)
        shutil.copytree(html, root / "_build" / "html" / "zh")
    return code


def build(root: Path = ROOT, editions: str = "both") -> int:
    """Build ``editions`` (``both``, ``en`` or ``zh``: the Chinese edition reuses the English
    build's executions, so alone it only reads them from the cache); the exit code."""
    if editions in ("both", "en"):
        start = time.monotonic()
        english = subprocess.run([_program("jupyter-book"), *ENGLISH_COMMAND[1:]], cwd=root)
        print(f"The English edition took {time.monotonic() - start:.0f} s (exit {english.returncode}).", flush=True)
        if english.returncode != 0 or editions == "en":
            return english.returncode
    start = time.monotonic()
    code = build_chinese(root)
    print(f"The Chinese edition took {time.monotonic() - start:.0f} s (exit {code}).", flush=True)
    return code


def extract(root: Path = ROOT) -> int:
    """The English messages (execution off) into ``_build/gettext``, merged into the catalogs."""
    pot = root / "_build" / "gettext"
    shutil.rmtree(pot, ignore_errors=True)
    code = sphinx_build(root, pot, "gettext", {"nb_execution_mode": "off", "gettext_compact": False})
    if code != 0:
        return code
    from sphinx_intl.basic import update

    # The API reference stays English (its prose is the package's docstrings): no catalogs for it.
    from translation import ENGLISH_ONLY

    shutil.rmtree(pot / ENGLISH_ONLY, ignore_errors=True)
    update(str(root / catalogs.LOCALES), str(pot), (catalogs.LANGUAGE,))
    return 0


NOTEBOOKS = ROOT / catalogs.LOCALES / catalogs.LANGUAGE / "notebooks"


def generated_files(root: Path = ROOT) -> dict[Path, str]:
    """{path: text} of what the catalogs and the glossary generate: every chapter's Chinese notebook
    (``locales/zh_CN/notebooks/book/*.ipynb``, which the Chinese pages' Colab and download buttons
    open) and the search dictionary (``locales/zh_CN/search_words.txt``)."""
    base = root / catalogs.LOCALES / catalogs.LANGUAGE
    files = {base / "search_words.txt": catalogs.search_words_text(
        (root / "book" / "glossary.md").read_text(encoding="utf-8"))}
    for path in sorted((root / "book").glob("*.ipynb")):
        files[base / "notebooks" / path.relative_to(root)] = catalogs.chinese_notebook(path, root)
    return files


def write_generated(root: Path = ROOT, check: bool = False) -> list[str]:
    """Bring the generated files up to date (only report with ``check``); returns the stale ones."""
    from cvtutor.files import atomic_write

    stale = []
    for path, text in generated_files(root).items():
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            stale.append(str(path.relative_to(root)))
            if not check:
                with atomic_write(path, "w") as f:
                    f.write(text)
    return stale


def coverage(root: Path = ROOT, minimum: float = COVERAGE_MIN, pages=TRANSLATED_PAGES) -> int:
    """Print each page's share of messages translated and current; 1 if one of ``pages`` is below
    ``minimum`` percent (or missing from the report)."""
    path = root / "_build" / "zh" / "translation-coverage.json"
    if not path.is_file():
        print(f"no {path.relative_to(root)}: build the Chinese edition first (python tools/book.py build)",
              file=sys.stderr)
        return 1
    report = json.loads(path.read_text(encoding="utf-8"))
    low = [page for page in pages if page not in report["pages"]]
    print(f"{'page':28s} {'messages':>8s} {'current':>8s} {'stale':>6s} {'missing':>7s} {'share':>7s}")
    for page, counts in report["pages"].items():
        share = 100.0 * counts["translated"] / counts["messages"] if counts["messages"] else 100.0
        held = "  (kept at " + f"{minimum:g}%)" if page in pages else ""
        print(f"{page:28s} {counts['messages']:8d} {counts['translated']:8d} {counts['stale']:6d} "
              f"{counts['missing']:7d} {share:6.1f}%{held}")
        if page in pages and share < minimum:
            low.append(page)
    total = sum(c["messages"] for c in report["pages"].values())
    done = sum(c["translated"] for c in report["pages"].values())
    print(f"all pages: {done} of {total} messages translated and current ({100.0 * done / max(total, 1):.1f}%); "
          f"pages under {report['english_only']} stay English (generated from docstrings)")
    if low:
        print(f"{len(low)} translated page(s) below {minimum:g}%: {', '.join(low)}", file=sys.stderr)
        return 1
    return 0


def generators(root: Path = ROOT) -> dict:
    """The generated parts of the notebooks, in the order ``update`` writes them: name ->
    ``function(write) -> list of what was out of date``."""
    return {
        "sync": lambda write: sync_book.sync(root, write=write),
        "exercises": lambda write: exercise_sections.sync(root, write=write),
        "run-times": lambda write: run_times.sync(root, write=write),
        "translations notebooks": lambda write: write_generated(root, check=not write),
    }


def run_generators(names, write: bool, root: Path = ROOT) -> int:
    """Run the generators ``names``; with ``write=False`` print what is out of date and return 1 if
    anything is (translations also checked for what they must keep)."""
    problems = []
    if "exercises" in names:
        problems += [f"the exercise registry is incomplete: {p}" for p in exercise_sections.check_registry()]
    if "translations notebooks" in names and not write:
        problems += catalogs.check_catalogs(root)
    stale = []
    for name, generate in generators(root).items():
        if name in names:
            stale += [f"{path} (python tools/book.py {name.split()[0]}{' notebooks' if ' ' in name else ''})"
                      for path in generate(write)]
    if write:
        print("\n".join(problems) if problems else (f"updated: {', '.join(stale)}" if stale else "all up to date"))
        return 1 if problems else 0
    problems += [f"out of date: {item}" for item in stale]
    print("\n".join(problems) if problems else "all up to date")
    return 1 if problems else 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python tools/book.py", description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=ROOT,
                        help="the checkout whose notebooks the generators read and write (default: this one)")
    sub = parser.add_subparsers(dest="command", required=True)
    build_parser = sub.add_parser("build", help="both editions (the README's build command)")
    build_parser.add_argument("--editions", choices=["both", "en", "zh"], default="both",
                              help="build only one edition (default: both)")
    sub.add_parser("update", help="write every generated part of the notebooks, in order")
    sub.add_parser("check", help="change nothing; exit 1 naming whatever is out of date")
    for name, text in (("sync", "the setup cells, quoted-number cells and the version from pyproject.toml"),
                       ("exercises", "each chapter's Exercises section from cvtutor.exercises"),
                       ("run-times", "the shipped benchmark records and each chapter's run time")):
        one = sub.add_parser(name, help=text)
        one.add_argument("--check", action="store_true", help="change nothing; exit 1 naming what is out of date")
    reference = sub.add_parser("reference-values", help="ship a full build's glued values with the package")
    reference.add_argument("executed", type=Path, help="the build's jupyter_execute folder")
    reference.add_argument("--record", type=Path, required=True, help="the build's benchmark record (full profile)")
    wrap = sub.add_parser("wrap", help="shorten code lines longer than the page (list them; --write to change)")
    wrap.add_argument("--write", action="store_true", help="change the notebooks")
    wrap.add_argument("notebooks", nargs="*", help="default: every chapter")
    translations = sub.add_parser("translations", help="the Chinese edition's catalogs")
    action = translations.add_subparsers(dest="action", required=True)
    action.add_parser("extract", help="merge the English messages into the catalogs")
    action.add_parser("check", help="every translation keeps its glued numbers, math and links; "
                                    "the generated files are up to date")
    notebooks = action.add_parser("notebooks", help="write the Chinese notebooks and the search dictionary")
    notebooks.add_argument("--check", action="store_true", help="change nothing; exit 1 naming what is stale")
    cover = action.add_parser("coverage", help="per page: translated and current, after a build")
    cover.add_argument("--min", type=float, default=COVERAGE_MIN, help=f"percent (default {COVERAGE_MIN:g})")
    args = parser.parse_args(argv)
    if args.command == "build":
        return build(editions=args.editions)
    if args.command in ("update", "check"):
        return run_generators(list(generators()), write=args.command == "update", root=args.root)
    if args.command in ("sync", "exercises", "run-times"):
        return run_generators([args.command], write=not args.check, root=args.root)
    if args.command == "reference-values":
        import reference_values

        changed = reference_values.write(args.executed, args.record)
        print(f"{'updated' if changed else 'unchanged'}: {reference_values.RESOURCE.relative_to(ROOT)}")
        return 0
    if args.command == "wrap":
        import wrap_code_cells

        return wrap_code_cells.wrap(args.notebooks, write=args.write)
    if args.action == "extract":
        return extract()
    if args.action in ("check", "notebooks"):
        write = args.action == "notebooks" and not args.check
        return run_generators(["translations notebooks"], write=write, root=args.root)
    return coverage(minimum=args.min)


if __name__ == "__main__":
    os.chdir(ROOT)
    sys.exit(main())
