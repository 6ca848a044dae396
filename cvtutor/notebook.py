"""Small helpers for the book's notebooks, safe to use outside Jupyter Book too."""

from __future__ import annotations

import re

# Spans whose text Markdown leaves alone: `code` and $math$ (kept whole by the split's group).
_VERBATIM = re.compile(r"(`[^`]*`|\$[^$]*\$)")


def glue(name: str, value, display: bool = False):
    """Store ``value`` under ``name`` for the book's prose (``{glue:text}`name```).

    Uses myst-nb's ``glue`` when it is installed (the book build, CI). In Colab
    or a plain Jupyter where it is not, the value is only shown if ``display``.
    NumPy scalars are stored as Python numbers, so format specs such as
    ``{glue:text}`name:.2f``` work on them (NumPy 2 reprs them as ``np.float64(...)``).
    """
    if hasattr(value, "item") and getattr(value, "ndim", None) == 0:
        value = value.item()
    try:
        from myst_nb import glue as myst_glue
    except ImportError:
        if display:
            from IPython.display import display as show

            show(value)
        return
    myst_glue(name, value, display=display)


def _escape_cell(value) -> str:
    """Table-cell text with ``*`` and ``|`` escaped outside code spans and ``$math$``, so that
    ``(3*3*3 + 1)*32`` stays text instead of turning into emphasis, and ``|`` starts no column."""
    parts = _VERBATIM.split(str(value))
    for i in range(0, len(parts), 2):  # even parts lie outside the verbatim spans
        parts[i] = parts[i].replace("*", "\\*").replace("|", "\\|")
    return "".join(parts)


def markdown_table(rows, columns, headers=None):
    """An ``IPython.display.Markdown`` table of ``rows`` (dicts) restricted to ``columns``.

    Cell values are shown as text: ``*`` and ``|`` are escaped, except inside
    backtick code spans and ``$...$`` math, which stay as they are.
    """
    from IPython.display import Markdown

    headers = headers or columns
    lines = ["| " + " | ".join(_escape_cell(h) for h in headers) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(_escape_cell(row[c]) for c in columns) + " |" for row in rows]
    return Markdown("\n".join(lines))
