"""The package's own code on the book's pages: read from the installed source when a cell runs.

A chapter that explains something :mod:`cvtutor` implements shows that implementation with
:func:`show_source` instead of a copy, so the page cannot drift from the code the tests check.
It works wherever the notebook runs (Jupyter Book, where the output is part of the built page,
JupyterLab, Colab), unlike Sphinx's ``literalinclude``, which only the book build reads::

    from cvtutor import reference
    from cvtutor.notebook import show_source

    show_source(reference.conv2d, mark={"np.tensordot": "the sum over the input channels"})

The lines that carry a formula are marked (highlighted and numbered, with the note below the
code); a mark that no longer matches any line raises, so the build fails instead of pointing
at the wrong line.
"""

from __future__ import annotations

import ast
import html
import inspect
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

from cvtutor import checks


@dataclass(frozen=True)
class SourceCode:
    """Source lines of one function, class or method, with marked lines.

    Attributes:
        name: qualified name, e.g. ``"cvtutor.reference.conv2d"``.
        file: the file relative to the folder that holds the package, e.g.
            ``"cvtutor/reference.py"``.
        first_line, last_line: the lines of ``file`` the code spans (1-based, inclusive).
        code: the code as shown (dedented; the docstring left out unless asked for).
        marks: ``{line number in code (1-based): note}``.
    """

    name: str
    file: str
    first_line: int
    last_line: int
    code: str
    marks: dict[int, str] = field(default_factory=dict)
    docstring: bool = False

    @property
    def caption(self) -> str:
        left_out = "" if self.docstring else ", docstring left out"
        return f"{self.name}: {self.file}, lines {self.first_line}-{self.last_line}{left_out}"

    def notes(self) -> list[str]:
        return [f"line {number}: {note}" for number, note in sorted(self.marks.items())]

    def __str__(self) -> str:
        lines = self.code.splitlines()
        width = len(str(len(lines)))
        numbered = [f"{'>' if i in self.marks else ' '}{i:{width}d}  {line}"
                    for i, line in enumerate(lines, start=1)]
        return "\n".join([f"# {self.caption}", *numbered, *self.notes()])

    def _repr_pretty_(self, printer, cycle):  # IPython's plain-text display
        printer.text(str(self))

    def _repr_html_(self) -> str:
        try:
            from pygments import highlight
            from pygments.formatters import HtmlFormatter
            from pygments.lexers import PythonLexer
        except ImportError:  # pragma: no cover - pygments comes with IPython
            body = f"<pre>{html.escape(self.code)}</pre>"
        else:
            # Inline styles: the same colours in Jupyter Book, JupyterLab and Colab, whatever
            # style sheet the page has.
            formatter = HtmlFormatter(noclasses=True, linenos="inline", hl_lines=sorted(self.marks),
                                      style="default")
            body = highlight(self.code, PythonLexer(), formatter)
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


def _without_docstring(code: str) -> str:
    node = ast.parse(code).body[0]
    body = getattr(node, "body", [])
    if not (body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant)
            and isinstance(body[0].value.value, str)):
        return code
    lines = code.splitlines()
    first, last = body[0].lineno - 1, body[0].end_lineno
    return "\n".join(lines[:first] + lines[last:])


def source_of(obj, mark: dict[str, str] | None = None, docstring: bool = False) -> SourceCode:
    """The source code of ``obj`` (a function, class or method), read from its file now.

    Args:
        obj: a function, class, method or property's getter defined in Python.
        mark: ``{text: note}``: every line that contains ``text`` is marked with ``note``.
        docstring: keep the docstring (default: leave it out; the page's prose explains).

    Returns:
        A :class:`SourceCode`; Jupyter displays it as numbered, highlighted code.

    Raises:
        TypeError: ``obj`` has no Python source (a built-in, a C extension, an instance).
        ValueError: a ``mark`` text is on no line of the code shown.
    """
    target = inspect.unwrap(obj)
    try:
        lines, start = inspect.getsourcelines(target)
    except (OSError, TypeError) as error:
        raise TypeError(f"source_of: obj must be a function, class or method written in Python, "
                        f"got {checks.describe(obj)} ({error})") from None
    code = textwrap.dedent("".join(lines)).rstrip("\n")
    if not docstring:
        code = _without_docstring(code)
    shown = code.splitlines()
    marks: dict[int, str] = {}
    for text, note in (mark or {}).items():
        numbers = [i for i, line in enumerate(shown, start=1) if text in line]
        if not numbers:
            raise ValueError(f"source_of: no line of {getattr(target, '__qualname__', obj)} contains {text!r}; "
                             "the code changed, so the prose that points at this line needs a look")
        for number in numbers:
            marks[number] = note
    module = getattr(target, "__module__", "") or ""
    name = f"{module}.{getattr(target, '__qualname__', getattr(target, '__name__', '?'))}".lstrip(".")
    return SourceCode(name=name, file=_relative_file(target), first_line=start,
                      last_line=start + len(lines) - 1, code=code, marks=marks, docstring=docstring)


def show_source(obj, mark: dict[str, str] | None = None, docstring: bool = False) -> None:
    """Display the source of ``obj`` in the notebook (print it outside IPython).

    Same arguments as :func:`source_of`.

    Raises:
        TypeError: ``obj`` has no Python source (as :func:`source_of`).
        ValueError: a ``mark`` text is on no line of the code shown (as :func:`source_of`).
    """
    source = source_of(obj, mark=mark, docstring=docstring)
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
