"""Write the release the book was built from into every place that a reader sees without the package.

One source of truth for each setting:

- the version: ``[project] version`` in ``pyproject.toml``;
- where the code lives: ``repository.url`` in ``_config.yml`` (the launch buttons use it too).

They reach three places that cannot read those files at run time: every chapter notebook's
first cell (a notebook opened alone in Colab has no checkout beside it), and the preface's
version substitution in ``_config.yml``.

It also writes, above every Markdown cell that quotes numbers through ``{glue:text}`` references,
one code cell that shows those numbers (:func:`cvtutor.notebook.show_quoted`): JupyterLab and
Colab show the references unrendered. The cell is tagged ``remove-cell`` (the book's text shows
the numbers), carries ``"cvtutor": "show_quoted"`` in its metadata, and is rewritten when the
paragraph's references change, removed when they go. A code cell of nothing but ``glue(...)``
calls and ``assert`` statements is tagged ``remove-cell`` too: the page shows its numbers in the
prose (tests/test_book.py checks both). Run after changing either setting, and
after editing any Markdown cell's glue references::

    python tools/book.py sync           # rewrite what is out of date
    python tools/book.py sync --check   # exit 1 naming what is out of date (tests/test_release.py)

Only notebooks that are out of date are rewritten, each read and written back in one step
(written to a temporary file, then renamed over it); running it twice changes nothing.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import yaml
from notebook_files import update_text, write_notebook

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: the same parser from PyPI (the dev extra installs it)
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent

# The first code cell of every notebook. Plain Python (no %pip magic), so the tests can run it
# as a script; it prints one line either way.
SETUP_CELL = '''\
# Setup: this notebook runs against cvtutor {version}, the release the book was built
# from, with its "notebooks" extra ({modules_text}). Where they are installed
# (locally, CI) this cell only checks; elsewhere (Colab, a new environment) it
# installs them from PyPI, else from the book's repository at tag v{version}.
import importlib, importlib.metadata, importlib.util, subprocess, sys

CVTUTOR_VERSION = "{version}"
CVTUTOR_SOURCE = "git+{repository}@v{version}"
# What the chapters import beyond cvtutor's own requirements:
EXTRA_MODULES = {modules}


def installed_cvtutor():
    try:
        return importlib.metadata.version("cvtutor")
    except importlib.metadata.PackageNotFoundError:
        return None


missing = [m for m in EXTRA_MODULES if importlib.util.find_spec(m) is None]
if installed_cvtutor() is None or (installed_cvtutor() == CVTUTOR_VERSION and missing):
    pip = [sys.executable, "-m", "pip", "install", "--quiet"]
    release = f"cvtutor[notebooks]=={{CVTUTOR_VERSION}}"
    if subprocess.run([*pip, release], capture_output=True).returncode != 0:
        print(f"pip could not install {{release}}; installing it from {{CVTUTOR_SOURCE}}")
        subprocess.run([*pip, f"cvtutor[notebooks] @ {{CVTUTOR_SOURCE}}"], check=True)
    importlib.invalidate_caches()
found = installed_cvtutor()
if found == CVTUTOR_VERSION:
    print(f"cvtutor {{found}}")
    # In a notebook, an error shows its message and the lines that raised it.
    if "IPython" in sys.modules:
        from cvtutor.notebook import short_tracebacks

        short_tracebacks()
else:
    fix = f'%pip install "cvtutor[notebooks]=={{CVTUTOR_VERSION}}"'
    print(f"This notebook needs cvtutor {{CVTUTOR_VERSION}}, but {{found}} is installed: "
          f"run {{fix}} and restart the kernel.")'''

# The code is folded away on the book's pages; its one line of output shows.
SETUP_TAGS = ["hide-input"]


def settings(root: Path = ROOT) -> tuple[str, str]:
    """``(version, repository_url)`` from pyproject.toml and _config.yml."""
    version = tomllib.loads((root / "pyproject.toml").read_text())["project"]["version"]
    repository = yaml.safe_load((root / "_config.yml").read_text())["repository"]["url"].rstrip("/")
    return version, repository


# The modules the notebooks extra's distributions provide, for the setup cell's check.
EXTRA_MODULE_OF = {"scikit-image": "skimage", "scipy": "scipy"}


def extra_modules(root: Path = ROOT) -> list[str]:
    """The import names of pyproject.toml's ``notebooks`` extra.

    Raises:
        KeyError: a distribution of the extra with no entry in ``EXTRA_MODULE_OF``.
    """
    extra = tomllib.loads((root / "pyproject.toml").read_text())["project"]["optional-dependencies"]["notebooks"]
    names = [re.match(r"[A-Za-z0-9._-]+", requirement).group(0).lower() for requirement in extra]
    # cvtutor's own extras that it includes (pretrained: keras-hub, for chapter 1.5.3's pre-trained
    # section, which imports it itself) are installed with it but not checked by every setup cell
    return [EXTRA_MODULE_OF[name] for name in names if name != "cvtutor"]


def setup_cell(version: str, repository: str) -> str:
    """The source of every notebook's first code cell for this release."""
    modules = extra_modules()
    return SETUP_CELL.format(version=version, repository=repository, modules=json.dumps(modules),
                             modules_text=", ".join(modules))


def notebooks(root: Path = ROOT) -> list[Path]:
    return sorted((root / "book").glob("*.ipynb"))


# {glue:text}`ref` (and the plain {glue}`ref` / {glue:any}`ref` roles) in Markdown.
GLUE_ROLE = re.compile(r"\{glue(?::(text|any))?\}`([^`]+)`")
QUOTED_MARK = "show_quoted"  # the value of the generated cells' "cvtutor" metadata
QUOTED_TAGS = ["remove-cell"]
QUOTED_HEADER = """\
# The numbers the next paragraph quotes (JupyterLab and Colab show its glue references
# unrendered). Written by tools/sync_book.py; the book hides this cell.
from cvtutor.notebook import show_quoted
"""
LINE = 88  # the longest line of a generated cell (tests/test_book.py checks every code cell)


def glue_refs(markdown: str) -> list[str]:
    """The glue references of a Markdown cell in order, each as ``show_quoted`` takes it."""
    refs = []
    for role, ref in GLUE_ROLE.findall(markdown):
        refs.append(ref if role == "text" else f"{ref}:s")  # plain {glue} pastes the text as is
    return list(dict.fromkeys(refs))


def quoted_cell_source(refs: list[str], notebook: str) -> str:
    """The generated cell's code: ``show_quoted(*refs, chapter=notebook)``, lines kept short."""
    args = [json.dumps(ref, ensure_ascii=False) for ref in refs] + [f"chapter={json.dumps(notebook)}"]
    one_line = "show_quoted(" + ", ".join(args) + ")"
    if len(one_line) <= LINE:
        return QUOTED_HEADER + "\n" + one_line
    lines, line = [], "   "
    for arg in args:
        if len(line) + len(arg) + 2 > LINE and line.strip():
            lines.append(line)
            line = "   "
        line += f" {arg},"
    lines.append(line)
    return QUOTED_HEADER + "\nshow_quoted(\n" + "\n".join(lines) + "\n)"


def is_quoted_cell(cell: dict) -> bool:
    return cell["cell_type"] == "code" and cell.get("metadata", {}).get("cvtutor") == QUOTED_MARK


def quoted_cell(refs: list[str], notebook: str, markdown_id: str | None) -> dict:
    cell = {"cell_type": "code", "execution_count": None,
            "metadata": {"cvtutor": QUOTED_MARK, "tags": list(QUOTED_TAGS)}, "outputs": [],
            "source": quoted_cell_source(refs, notebook).splitlines(keepends=True)}
    if markdown_id is not None:  # nbformat 4.5: ids are required and unique
        cell["id"] = f"quoted-{markdown_id}"[:64]
    return cell


def with_quoted_cells(cells: list[dict], notebook: str) -> list[dict]:
    """``cells`` with one generated cell right above each Markdown cell that has glue references
    (after the setup cell), and no other generated cells."""
    out: list[dict] = []
    seen_code = False
    for cell in cells:
        if is_quoted_cell(cell):
            continue
        if cell["cell_type"] == "markdown" and seen_code:
            refs = glue_refs("".join(cell["source"]))
            if refs:
                out.append(quoted_cell(refs, notebook, cell.get("id")))
        seen_code = seen_code or cell["cell_type"] == "code"
        out.append(cell)
    return out


def _same_cells(old: list[dict], new: list[dict]) -> bool:
    """Equal cell by cell, comparing the generated cells on their source, tags and id only."""
    if len(old) != len(new):
        return False
    for a, b in zip(old, new):
        if a is b:
            continue
        if not (is_quoted_cell(a) and is_quoted_cell(b)):
            return False
        if ("".join(a["source"]), a["metadata"].get("tags"), a.get("id")) != (
                "".join(b["source"]), b["metadata"].get("tags"), b.get("id")):
            return False
    return True


def _cell_source(cell) -> str:
    return cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])


def _is_glue_call(node) -> bool:
    return (isinstance(node, ast.Expr) and isinstance(node.value, ast.Call)
            and getattr(node.value.func, "id", getattr(node.value.func, "attr", None)) == "glue"
            and not any(k.arg == "display" for k in node.value.keywords))


def _names_used(source: str) -> set[str]:
    try:
        return {n.id for n in ast.walk(ast.parse(source)) if isinstance(n, ast.Name)}
    except SyntaxError:  # IPython magics
        return set()


def glue_or_assert_only(cells: list[dict], index: int, strict: bool = True) -> bool:
    """Whether code cell ``index`` only glues numbers for the prose or asserts facts.

    Every statement is an ``assert``, a ``glue(...)`` call, an import, a loop or ``if`` of those,
    and, unless ``strict``, an assignment to a name that no later cell uses (a temporary of the
    glue); at least one glue or assert. With ``strict=False`` the caller also checks that the
    cell showed nothing when it ran (a temporary may come from a call that prints).
    """
    try:
        body = ast.parse(_cell_source(cells[index])).body
    except SyntaxError:
        return False
    later = set().union(*[_names_used(_cell_source(c)) for c in cells[index + 1:] if c["cell_type"] == "code"])
    found = []

    def ok(statements) -> bool:
        for node in statements:
            if isinstance(node, ast.Assert) or _is_glue_call(node):
                found.append(node)
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                continue
            elif isinstance(node, (ast.For, ast.If)):
                if not ok(node.body + node.orelse):
                    return False
            elif not strict and isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                names = {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
                if names & later:
                    return False
            else:
                return False
        return True

    return ok(body) and bool(found)


def _hide_glue_cells(cells: list[dict]) -> bool:
    """Tag ``remove-cell`` every code cell of nothing but glue calls and asserts; True if any was not."""
    changed = False
    for i, cell in enumerate(cells):
        tags = cell.get("metadata", {}).get("tags", [])
        if cell["cell_type"] == "code" and "remove-cell" not in tags and glue_or_assert_only(cells, i):
            cell.setdefault("metadata", {})["tags"] = tags + ["remove-cell"]
            changed = True
    return changed


def _sync_notebook(path: Path, source: str, write: bool) -> bool:
    """True when the notebook's setup cell differs from ``source`` or its show_quoted cells are
    missing, stale or extra (all rewritten if ``write``)."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    stale = False
    cell = next(c for c in nb["cells"] if c["cell_type"] == "code" and not is_quoted_cell(c))
    tags = cell.setdefault("metadata", {}).get("tags", [])
    if "".join(cell["source"]) != source or not all(t in tags for t in SETUP_TAGS):
        stale = True
        cell["source"] = source.splitlines(keepends=True)
        cell["metadata"]["tags"] = tags + [t for t in SETUP_TAGS if t not in tags]
    if _hide_glue_cells(nb["cells"]):
        stale = True
    cells = with_quoted_cells(nb["cells"], path.name)
    if not _same_cells(nb["cells"], cells):
        stale = True
        nb["cells"] = cells
    if stale and write:
        write_notebook(path, nb)
    return stale


def _sync_config(path: Path, version: str, write: bool) -> bool:
    """True when _config.yml's ``cvtutor_version`` substitution differs from ``version``."""
    text = path.read_text(encoding="utf-8")
    new = re.sub(r'(?m)^(\s*cvtutor_version:\s*)"[^"]*"', rf'\g<1>"{version}"', text)
    return update_text(path, new, write)


def sync(root: Path = ROOT, write: bool = True) -> list[str]:
    """Bring every place up to date (or only report, with ``write=False``); returns what was out of date."""
    version, repository = settings(root)
    source = setup_cell(version, repository)
    stale = [str(p.relative_to(root)) for p in notebooks(root) if _sync_notebook(p, source, write)]
    if _sync_config(root / "_config.yml", version, write):
        stale.append("_config.yml (cvtutor_version)")
    return stale
