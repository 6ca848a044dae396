"""Reading and writing the book's notebooks and generated files, the one way every tool does it.

A notebook is written as Jupyter writes it (JSON, one space of indent, non-ASCII kept, a final
newline) and atomically: to a temporary file in the same folder, then renamed over the old one
(:func:`cvtutor.files.atomic_write`), so an interrupted tool leaves each file whole, old or new,
with its permissions.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the checkout's package, also where another cvtutor is installed

from cvtutor.files import atomic_write  # noqa: E402


def read_notebook(path: Path) -> dict:
    """The notebook at ``path`` as JSON."""
    return json.loads(Path(path).read_text(encoding="utf-8"))


def notebook_text(nb: dict) -> str:
    """``nb`` as the book's notebooks are stored."""
    return json.dumps(nb, indent=1, ensure_ascii=False) + "\n"


def write_text(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` (UTF-8) in one rename."""
    with atomic_write(path, "w") as f:
        f.write(text)


def write_notebook(path: Path, nb: dict) -> None:
    """Replace the notebook at ``path`` with ``nb`` in one rename."""
    write_text(path, notebook_text(nb))


def update_text(path: Path, text: str, write: bool) -> bool:
    """Whether ``path`` is missing or differs from ``text``; written if ``write``."""
    path = Path(path)
    stale = not path.is_file() or path.read_text(encoding="utf-8") != text
    if stale and write:
        write_text(path, text)
    return stale
