"""The package's own code on the book's pages: read from the installed source when a cell runs.

A chapter that explains something :mod:`cvtutor` implements shows that implementation with
:func:`show_source` instead of a copy, so the page cannot drift from the code the tests check.
It works wherever the notebook runs (Jupyter Book, where the output is part of the built page,
JupyterLab, Colab), unlike Sphinx's ``literalinclude``, which only the book build reads::

    from cvtutor import reference
    from cvtutor.notebook import show_source

    show_source(reference.conv2d, mark={"np.tensordot": "the sum over the input channels"})

Every line is numbered as its file numbers it. The lines that carry a formula are marked
(highlighted, with the note below the code); a mark that no longer matches any line raises, so
the build fails instead of pointing at the wrong line. Of a long function, ``excerpt=(first,
last)`` shows only the part the page explains. A line too long for the page wraps with a
hanging indent, so its continuation never reads as a line at column 0.
"""

from __future__ import annotations

import ast
import html
import inspect
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

from cvtutor import checks


# How far in a wrapped line's continuation starts, at most (characters past the line number).
MAX_HANG = 16


@dataclass(frozen=True)
class SourceCode:
    """Source lines of one function, class or method (or an excerpt of them), with marked lines.

    Every line is numbered as its file numbers it, so the listing and an editor agree.

    Attributes:
        name: qualified name, e.g. ``"cvtutor.reference.conv2d"``.
        file: the file relative to the folder that holds the package, e.g.
            ``"cvtutor/reference.py"``.
        first_line, last_line: the lines of ``file`` the object spans (1-based, inclusive).
        code: the code as shown (dedented; the docstring left out unless asked for; lines an
            excerpt leaves out shown as one ``...`` line).
        marks: ``{line number in file: note}``.
        numbers: the line number in ``file`` of each line of ``code``; ``None`` for a ``...`` line.
        excerpt_lines: the lines of ``file`` shown, ``(first, last)``, when only an excerpt is shown.
    """

    name: str
    file: str
    first_line: int
    last_line: int
    code: str
    marks: dict[int, str] = field(default_factory=dict)
    docstring: bool = False
    numbers: tuple[int | None, ...] = ()
    excerpt_lines: tuple[int, int] | None = None

    @property
    def caption(self) -> str:
        left_out = "" if self.docstring else ", docstring left out"
        shown = f", lines {self.excerpt_lines[0]}-{self.excerpt_lines[1]} shown" if self.excerpt_lines else ""
        return f"{self.name}: {self.file}, lines {self.first_line}-{self.last_line}{shown}{left_out}"

    def notes(self) -> list[str]:
        return [f"line {number}: {note}" for number, note in sorted(self.marks.items())]

    def _width(self) -> int:
        return len(str(max((n for n in self.numbers if n is not None), default=1)))

    def __str__(self) -> str:
        width = self._width()
        numbered = [f"{'>' if n in self.marks else ' '}{'' if n is None else n:>{width}}  {line}"
                    for n, line in zip(self.numbers, self.code.splitlines())]
        return "\n".join([f"# {self.caption}", *numbered, *self.notes()])

    def _repr_pretty_(self, printer, cycle):  # IPython's plain-text display
        printer.text(str(self))

    def _repr_html_(self) -> str:
        try:
            from pygments import highlight
            from pygments.formatters import HtmlFormatter
            from pygments.lexers import PythonLexer
        except ImportError:  # pragma: no cover - pygments comes with IPython
            lines = [html.escape(line) for line in self.code.splitlines()]
        else:
            # Inline styles: the same colours in Jupyter Book, JupyterLab and Colab, whatever
            # style sheet the page has. Pygments closes its spans at every line end (nowrap),
            # so the highlighted code splits into lines.
            formatter = HtmlFormatter(noclasses=True, nowrap=True, style="default")
            lines = highlight(self.code, PythonLexer(), formatter).rstrip("\n").split("\n")
        width = self._width()
        rows = []
        for n, plain, shown in zip(self.numbers, self.code.splitlines(), lines):
            # A line too long for the column wraps with a hanging indent, under its own code
            # (4 characters in), never at column 0 where it would read as broken indentation;
            # at most 16 characters in, so that a deeply indented line keeps room on a phone.
            hang = width + 2 + min(len(plain) - len(plain.lstrip(" ")) + 4, MAX_HANG)
            style = f"display:block;padding-left:{hang}ch;text-indent:-{hang}ch"
            if n in self.marks:
                style += ";background-color:#ffffcc"
            number = html.escape(f"{'' if n is None else n:>{width}}")
            rows.append(f'<span style="{style}"><span style="color:#8a8a8a">{number}</span>  {shown}</span>')
        body = ('<div class="highlight" style="background:#f8f8f8"><pre style="line-height:125%;'
                f'white-space:pre-wrap">{"".join(rows)}</pre></div>')
        notes = "".join(f"<li>{html.escape(note)}</li>" for note in self.notes())
        return (f'<div class="cvtutor-source"><p><code>{html.escape(self.caption)}</code></p>{body}'
                + (f"<ul>{notes}</ul>" if notes else "") + "</div>")


def _relative_file(obj) -> str:
    path = Path(inspect.getsourcefile(obj) or inspect.getfile(obj)).resolve()
    package = inspect.getmodule(obj)
    top = (package.__name__.split(".")[0]) if package else ""
    for parent in path.parents:
        if parent.name == top:
            return path.relative_to(parent.parent).as_posix()
    return path.name


def _docstring_lines(code: str) -> range:
    """The 0-based indices of the docstring's lines in ``code`` (empty without a docstring)."""
    node = ast.parse(code).body[0]
    body = getattr(node, "body", [])
    if not (body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant)
            and isinstance(body[0].value.value, str)):
        return range(0)
    return range(body[0].lineno - 1, body[0].end_lineno)


def _first_containing(lines: list[str], text: str, start: int = 0) -> int | None:
    return next((i for i in range(start, len(lines)) if text in lines[i]), None)


def _elision(next_line: str) -> str:
    """A ``...`` line (Python's Ellipsis: what is shown still parses) at ``next_line``'s indentation."""
    return " " * (len(next_line) - len(next_line.lstrip(" "))) + "..."


def source_of(obj, mark: dict[str, str] | None = None, docstring: bool = False,
              excerpt: tuple[str, str] | None = None) -> SourceCode:
    """The source code of ``obj`` (a function, class or method), read from its file now.

    Args:
        obj: a function, class, method or property's getter defined in Python.
        mark: ``{text: note}``: every line shown that contains ``text`` is marked with ``note``.
        docstring: keep the docstring (default: leave it out; the page's prose explains).
        excerpt: ``(first, last)``: show only the lines from the first that contains ``first``
            to the next that contains ``last`` (inclusive), the rest elided as ``...``; the part
            of a long function that the page explains.

    Returns:
        A :class:`SourceCode`; Jupyter displays it as highlighted code numbered as in its file.

    Raises:
        TypeError: ``obj`` has no Python source (a built-in, a C extension, an instance).
        ValueError: a ``mark`` text is on no line of the code shown, or an ``excerpt`` text on
            no line of the code.
    """
    target = inspect.unwrap(obj)
    try:
        lines, start = inspect.getsourcelines(target)
    except (OSError, TypeError) as error:
        raise TypeError(f"source_of: obj must be a function, class or method written in Python, "
                        f"got {checks.describe(obj)} ({error})") from None
    qualname = getattr(target, "__qualname__", obj)
    code = textwrap.dedent("".join(lines)).rstrip("\n")
    all_lines = code.splitlines()
    kept = [i for i in range(len(all_lines)) if docstring or i not in _docstring_lines(code)]
    shown_range = None
    if excerpt is not None:
        first_text, last_text = excerpt
        body = [all_lines[i] for i in kept]
        first = _first_containing(body, first_text)
        last = None if first is None else _first_containing(body, last_text, first)
        if first is None or last is None:
            missing = first_text if first is None else last_text
            raise ValueError(f"source_of: no line of {qualname} contains {missing!r} (excerpt"
                             f"{' after ' + repr(first_text) if first is not None else ''}); the code changed, "
                             "so the prose that points at this excerpt needs a look")
        shown_range = (start + kept[first], start + kept[last])
        kept = kept[first:last + 1]
    shown: list[str] = []
    numbers: list[int | None] = []
    if excerpt is not None and kept[0] > 0:
        shown.append(_elision(all_lines[kept[0]]))
        numbers.append(None)
    for i in kept:
        shown.append(all_lines[i])
        numbers.append(start + i)
    if excerpt is not None and kept[-1] < len(all_lines) - 1:
        shown.append(_elision(all_lines[kept[-1]]))
        numbers.append(None)
    marks: dict[int, str] = {}
    for text, note in (mark or {}).items():
        found = [n for n, line in zip(numbers, shown) if n is not None and text in line]
        if not found:
            raise ValueError(f"source_of: no line of {qualname} contains {text!r}; "
                             "the code changed, so the prose that points at this line needs a look")
        for number in found:
            marks[number] = note
    module = getattr(target, "__module__", "") or ""
    name = f"{module}.{getattr(target, '__qualname__', getattr(target, '__name__', '?'))}".lstrip(".")
    return SourceCode(name=name, file=_relative_file(target), first_line=start,
                      last_line=start + len(lines) - 1, code="\n".join(shown), marks=marks,
                      docstring=docstring, numbers=tuple(numbers), excerpt_lines=shown_range)


def show_source(obj, mark: dict[str, str] | None = None, docstring: bool = False,
                excerpt: tuple[str, str] | None = None) -> None:
    """Display the source of ``obj`` in the notebook (print it outside IPython).

    Same arguments as :func:`source_of`.

    Raises:
        TypeError: ``obj`` has no Python source (as :func:`source_of`).
        ValueError: a ``mark`` or ``excerpt`` text is on no line of the code (as :func:`source_of`).
    """
    source = source_of(obj, mark=mark, docstring=docstring, excerpt=excerpt)
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:  # pragma: no cover - notebooks have IPython
        print(source)
        return
    if get_ipython() is None:
        print(source)
    else:
        display(source)
