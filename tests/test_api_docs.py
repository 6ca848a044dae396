"""The API reference appendix (book/api/) has an entry for every public module and name of cvtutor,
and the chapters link to the entries of the functions they call.

Public: a module none of whose dotted name's parts starts with ``_``; in it, the names of its
``__all__``, or, where it has none, the functions and classes it defines under a name without a
leading ``_``. A sub-package with an ``__all__`` (``cvtutor.data``) is documented through the
names it exports; its submodules are its implementation.

The fast tests read the pages' directives; the others read the built book's English edition (``english_book``).
"""

import argparse
import importlib
import importlib.util
import inspect
import json
import pkgutil
import re
from functools import cache
from pathlib import Path

import pytest
from conftest import REAL_DATA, ROOT

import cvtutor

API = ROOT / "book" / "api"
AUTOMODULE = re.compile(r"^\.\. automodule:: *(\S+)\n((?:[ \t]+:[\w-]+:.*\n)*)", re.M)
# A MyST role that links to a Python object: {py:func}`target`, {py:class}`text <target>`, ...
ROLE = re.compile(r"\{py:(\w+)\}`(?:[^`<]*<)?~?([\w.]+)>?`")
# What a chapter's code calls -> the entry its prose must link to.
CALLS = {
    r"\bload_cifar10\(": "cvtutor.data.load_cifar10",
    r"\bmake_dataset\(": "cvtutor.data.make_dataset",
    r"\bSelfAttention\(": "cvtutor.layers.SelfAttention",
    r"\bbuild_cnn\b": "cvtutor.models.build_cnn",
    r"\bbuild_rnn\b": "cvtutor.models.build_rnn",
    r"\bbuild_attention\b": "cvtutor.models.build_attention",
    r"\bbuild_vit\b": "cvtutor.models.build_vit",
    r"\bbuild_resnet\b": "cvtutor.models.build_resnet",
    r"\btraining\.fit\(": "cvtutor.training.fit",
    r"\btrain_recipe\(": "cvtutor.recipes.train_recipe",
    r"\bgradients\.dense_backward\b": "cvtutor.gradients.dense_backward",
    r"\bgradients\.conv2d_backward\b": "cvtutor.gradients.conv2d_backward",
    r"\boptimizers\.sgd_step\b": "cvtutor.optimizers.sgd_step",
    r"\boptimizers\.momentum_step\b": "cvtutor.optimizers.momentum_step",
    r"\boptimizers\.adam_step\b": "cvtutor.optimizers.adam_step",
    r"\bplots\.optimizer_paths\(": "cvtutor.plots.maps.optimizer_paths",
    r"\bverdicts\.fewest_steps\(": "cvtutor.verdicts.fewest_steps",
    r"\bfeatures\.layer_outputs\(": "cvtutor.features.layer_outputs",
    r"\bfeatures\.neighbour_contrast\b": "cvtutor.features.neighbour_contrast",
    r"\bfeatures\.rearranged_contrast\(": "cvtutor.features.rearranged_contrast",
    r"\bfeatures\.top_activating\(": "cvtutor.features.top_activating",
    r"\bfeatures\.nearest_neighbours\(": "cvtutor.features.nearest_neighbours",
    r"\bfeatures\.knn_accuracy\(": "cvtutor.features.knn_accuracy",
    r"\bplots\.filter_banks\(": "cvtutor.plots.features.filter_banks",
    r"\bstart_run\(": "cvtutor.recipes.start_run",

    r"\bregularisation\.inverted_dropout\b": "cvtutor.regularisation.inverted_dropout",
    r"\bregularisation\.measure_run\b": "cvtutor.regularisation.measure_run",
    r"\bverdicts\.regularisation_effect\(": "cvtutor.verdicts.regularisation_effect",
}


def is_public(module_name: str) -> bool:
    return not any(part.startswith("_") for part in module_name.split("."))


@cache
def public_api() -> dict[str, tuple[str, ...]]:
    """{module name: its public names} for every public module of the installed cvtutor."""
    names = ["cvtutor"] + [m.name for m in pkgutil.walk_packages(cvtutor.__path__, "cvtutor.")]
    modules = {name: importlib.import_module(name) for name in names if is_public(name)}
    facades = [name for name, m in modules.items() if name != "cvtutor" and hasattr(m, "__all__")
               and hasattr(m, "__path__")]
    api = {}
    for name, module in sorted(modules.items()):
        if any(name.startswith(facade + ".") for facade in facades):
            continue
        if hasattr(module, "__all__"):
            api[name] = tuple(module.__all__)
        else:
            api[name] = tuple(n for n, obj in vars(module).items() if not n.startswith("_")
                              and (inspect.isfunction(obj) or inspect.isclass(obj))
                              and obj.__module__ == name)
    return api


def pages() -> dict[str, str]:
    return {path.stem: path.read_text() for path in sorted(API.glob("*.md"))}


def automodules() -> dict[str, tuple[str, str]]:
    """{module: (page, its directive's options)} for every automodule directive in book/api/."""
    found = {}
    for page, text in pages().items():
        for module, options in AUTOMODULE.findall(text):
            assert module not in found, f"{module} is documented twice ({found[module][0]}.md, {page}.md)"
            found[module] = (page, options)
    return found


def toc_files() -> list[str]:
    import yaml

    def walk(entries):
        for entry in entries:
            yield entry["file"]
            yield from walk(entry.get("sections", []))

    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    return [toc["root"], *walk(c for part in toc["parts"] for c in part["chapters"])]


def chapters() -> list[Path]:
    return sorted((ROOT / "book").glob("*.ipynb"))


def markdown_of(path: Path) -> str:
    return "\n".join("".join(c["source"]) for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "markdown")


def code_of(path: Path) -> str:
    # The first code cell is the generated setup cell (tools/sync_book.py): not the chapter's code.
    code = [c for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code"]
    return "\n".join("".join(c["source"]) for c in code[1:])


def required_links(path: Path) -> list[str]:
    code = code_of(path)
    return [target for pattern, target in CALLS.items() if re.search(pattern, code)]


def documented_names() -> set[str]:
    return {f"{m}.{n}" for m, names in public_api().items() for n in names} | set(public_api())


# --- the pages --------------------------------------------------------------------------------


def test_every_public_module_has_a_page_that_lists_all_its_members():
    documented = automodules()
    missing = sorted(set(public_api()) - set(documented))
    assert not missing, (f"no API reference page documents {missing}: add an automodule directive "
                         "(with :members: and :undoc-members:) to a page in book/api/ and the page to _toc.yml")
    stale = sorted(m for m in documented if not is_public(m) or importlib.util.find_spec(m) is None)
    assert not stale, f"book/api/ documents modules that are not public modules of cvtutor: {stale}"
    for module, (page, options) in documented.items():
        for option in (":members:", ":undoc-members:"):
            assert option in options, f"book/api/{page}.md: automodule {module} lacks {option}"


def test_every_public_name_can_get_an_entry():
    """autodoc gives a module-level value (not a function or class) an entry only when the module
    that lists it has a ``#:`` comment on its assignment, or a page describes it by hand."""
    from sphinx.pycode import ModuleAnalyzer

    text = "\n".join(pages().values())
    for module_name, names in public_api().items():
        module = importlib.import_module(module_name)
        attr_docs = ModuleAnalyzer.for_module(module_name).find_attr_docs()
        for name in names:
            assert hasattr(module, name), f"{module_name}.__all__ lists {name!r}, which it does not define"
            obj = getattr(module, name)
            if inspect.isclass(obj) or inspect.isroutine(obj) or inspect.ismodule(obj):
                continue
            by_hand = re.search(rf"^\.\. py:data:: {re.escape(name)}$", text, re.M)
            assert ("", name) in attr_docs or by_hand, (
                f"{module_name}.{name} would get no entry: give its assignment in {module_name} a '#: ...' "
                f"doc comment, or describe it with '.. py:data:: {name}' on its page in book/api/")


def test_every_api_page_is_in_the_toc_and_the_index():
    toc = toc_files()
    for page in pages():
        assert f"book/api/{page}" in toc, f"book/api/{page}.md is not in _toc.yml"
    index = pages()["index"]
    listed = set(re.findall(r"^ {3}(cvtutor[\w.]*)$", index, re.M))
    assert set(automodules()) <= listed, f"book/api/index.md's table lacks {sorted(set(automodules()) - listed)}"


def test_readme_module_table_lists_every_module_and_links_to_the_reference():
    readme = (ROOT / "README.md").read_text()
    rows = set(re.findall(r"^\| `(cvtutor[\w.]*)` \|", readme, re.M))
    top_level = {m for m in public_api() if m.count(".") <= 1}
    assert top_level <= rows, f"README.md's module table lacks {sorted(top_level - rows)}"
    assert "](book/api/index.md)" in readme, "README.md should link to the API reference (book/api/index.md)"


def test_cli_page_has_a_section_per_command():
    from cvtutor.cli import build_parser

    parser = build_parser()
    subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    text = pages()["cli"]
    sections = re.findall(r"^## `cvtutor (\w+)`$", text, re.M)
    shown = re.findall(r'^cvtutor\("(\w+)", "--help"\)$', text, re.M)
    assert sections == shown == list(subparsers.choices), (
        f"book/api/cli.md should show `cvtutor COMMAND --help` for {list(subparsers.choices)}: "
        f"sections {sections}, cells {shown}")


# --- the chapters' links ----------------------------------------------------------------------


@pytest.mark.parametrize("path", chapters(), ids=lambda p: p.name)
def test_chapter_links_to_the_functions_it_calls(path):
    linked = {target for _, target in ROLE.findall(markdown_of(path))}
    missing = [t for t in required_links(path) if t not in linked]
    assert not missing, (f"{path.name} calls {missing} but its prose never links to their reference entries "
                         "(e.g. {py:func}`cvtutor.data.load_cifar10` in a markdown cell, at first use)")


def test_every_python_role_in_the_book_has_a_target():
    """A {py:...} role without a target renders as plain code, with no warning even under -W."""
    documented = documented_names()
    sources = list(chapters()) + sorted((ROOT / "book").glob("*.md"))
    for path in sources:
        text = markdown_of(path) if path.suffix == ".ipynb" else path.read_text()
        for role, target in ROLE.findall(text):
            assert target in documented, f"{path.name}: {{py:{role}}}`{target}` has no entry in the API reference"


# --- the built book ---------------------------------------------------------------------------


@pytest.mark.skipif(not REAL_DATA, reason="the book's chapters need CIFAR-10: set CVTUTOR_DATA")
def test_built_reference_has_an_entry_for_every_public_name(english_book):
    english_book.require_success()
    html = "\n".join(p.read_text() for p in sorted((english_book.html / "book" / "api").glob("*.html")))
    ids = set(re.findall(r'id="([^"]+)"', html))
    missing = []
    for module, names in public_api().items():
        if f"module-{module}" not in ids:
            missing.append(module)
        missing += [f"{module}.{name}" for name in names if f"{module}.{name}" not in ids]
    assert not missing, f"no entry (id=...) in _build/html/book/api/ for {missing}"
    assert "usage: cvtutor" in (english_book.html / "book" / "api" / "cli.html").read_text()


@pytest.mark.skipif(not REAL_DATA, reason="the book's chapters need CIFAR-10: set CVTUTOR_DATA")
@pytest.mark.parametrize("path", [p for p in chapters() if required_links(p)], ids=lambda p: p.name)
def test_built_chapter_links_into_the_reference(english_book, path):
    english_book.require_success()
    page = (english_book.html / "book" / path.with_suffix(".html").name).read_text()
    hrefs = set(re.findall(r'href="(api/[^"]+)"', page))
    for target in required_links(path):
        assert any(h.endswith(f"#{target}") for h in hrefs), f"{path.name}: no link to the entry of {target}"
