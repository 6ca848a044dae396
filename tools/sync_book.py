"""Write the release the book was built from into every place that a reader sees without the package.

One source of truth for each setting:

- the version: ``[project] version`` in ``pyproject.toml``;
- where the code lives: ``repository.url`` in ``_config.yml`` (the launch buttons use it too).

They reach three places that cannot read those files at run time: every chapter notebook's
first cell (a notebook opened alone in Colab has no checkout beside it), and the preface's
version substitution in ``_config.yml``. Run after changing either setting::

    python tools/sync_book.py           # rewrite what is out of date
    python tools/sync_book.py --check   # exit 1 naming what is out of date (tests/test_release.py)
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import yaml

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: the same parser from PyPI (the dev extra installs it)
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent

# The first code cell of every notebook. Plain Python (no %pip magic), so the tests can run it
# as a script; it prints one line either way.
SETUP_CELL = '''\
# Setup: this notebook runs against cvtutor {version}, the release the book was built from.
# Where it is installed (locally, CI) this cell only checks; elsewhere (Colab, a new
# environment) it installs it from PyPI, else from the book's repository at tag v{version}.
import importlib, importlib.metadata, subprocess, sys

CVTUTOR_VERSION = "{version}"
CVTUTOR_SOURCE = "git+{repository}@v{version}"


def installed_cvtutor():
    try:
        return importlib.metadata.version("cvtutor")
    except importlib.metadata.PackageNotFoundError:
        return None


if installed_cvtutor() is None:
    pip = [sys.executable, "-m", "pip", "install", "--quiet"]
    release = f"cvtutor[notebooks]=={{CVTUTOR_VERSION}}"
    if subprocess.run([*pip, release], capture_output=True).returncode != 0:
        print(f"pip could not install {{release}}; installing it from {{CVTUTOR_SOURCE}}")
        subprocess.run([*pip, f"cvtutor[notebooks] @ {{CVTUTOR_SOURCE}}"], check=True)
    importlib.invalidate_caches()
found = installed_cvtutor()
if found == CVTUTOR_VERSION:
    print(f"cvtutor {{found}}")
else:
    print(f"This notebook needs cvtutor {{CVTUTOR_VERSION}}, but {{found}} is installed: run "
          f'%pip install "cvtutor[notebooks]=={{CVTUTOR_VERSION}}" and restart the kernel.')'''

# The code is folded away on the book's pages; its one line of output shows.
SETUP_TAGS = ["hide-input"]


def settings(root: Path = ROOT) -> tuple[str, str]:
    """``(version, repository_url)`` from pyproject.toml and _config.yml."""
    version = tomllib.loads((root / "pyproject.toml").read_text())["project"]["version"]
    repository = yaml.safe_load((root / "_config.yml").read_text())["repository"]["url"].rstrip("/")
    return version, repository


def setup_cell(version: str, repository: str) -> str:
    """The source of every notebook's first code cell for this release."""
    return SETUP_CELL.format(version=version, repository=repository)


def notebooks(root: Path = ROOT) -> list[Path]:
    return sorted((root / "book").glob("*.ipynb"))


def _sync_notebook(path: Path, source: str, write: bool) -> bool:
    """True when the notebook's first code cell differs from ``source`` (rewritten if ``write``)."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    cell = next(c for c in nb["cells"] if c["cell_type"] == "code")
    tags = cell.setdefault("metadata", {}).get("tags", [])
    if "".join(cell["source"]) == source and all(t in tags for t in SETUP_TAGS):
        return False
    if write:
        cell["source"] = source.splitlines(keepends=True)
        cell["metadata"]["tags"] = tags + [t for t in SETUP_TAGS if t not in tags]
        path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return True


def _sync_config(path: Path, version: str, write: bool) -> bool:
    """True when _config.yml's ``cvtutor_version`` substitution differs from ``version``."""
    text = path.read_text(encoding="utf-8")
    new = re.sub(r'(?m)^(\s*cvtutor_version:\s*)"[^"]*"', rf'\g<1>"{version}"', text)
    if new == text:
        return False
    if write:
        path.write_text(new, encoding="utf-8")
    return True


def sync(root: Path = ROOT, write: bool = True) -> list[str]:
    """Bring every place up to date (or only report, with ``write=False``); returns what was out of date."""
    version, repository = settings(root)
    source = setup_cell(version, repository)
    stale = [str(p.relative_to(root)) for p in notebooks(root) if _sync_notebook(p, source, write)]
    if _sync_config(root / "_config.yml", version, write):
        stale.append("_config.yml (cvtutor_version)")
    return stale


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if anything is out of date")
    args = parser.parse_args(argv)
    stale = sync(write=not args.check)
    if stale and args.check:
        print("out of date (run python tools/sync_book.py): " + ", ".join(stale))
        return 1
    print("updated: " + ", ".join(stale) if stale else "everything matches pyproject.toml and _config.yml")
    return 0


if __name__ == "__main__":
    sys.exit(main())
