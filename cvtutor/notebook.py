"""Small helpers for the book's notebooks, safe to use outside Jupyter Book too.

- :func:`glue` stores a number for the prose (myst-nb's ``{glue:text}`` role) and remembers it
  in the kernel, so that :func:`show_quoted` can show it where the prose is read unrendered
  (JupyterLab, Colab): there ``{glue:text}`name``` stays a placeholder.
- :func:`short_tracebacks` makes an error show its message and the lines that raised it.
- :func:`markdown_table` renders rows as a Markdown table.
- :func:`cvtutor.source.show_source` shows the package's own code on the page (:mod:`cvtutor.source`).

Importing it also keeps one warning of TensorFlow's off the pages (:class:`KerasStepRetracing`).
"""

from __future__ import annotations

import json
import logging
import re
import sys
import textwrap
import traceback
from pathlib import Path

from cvtutor.files import portable  # noqa: F401  (the notebooks import it from here)
from cvtutor.source import show_source  # noqa: F401  (likewise)

# Spans whose text Markdown leaves alone: `code` and $math$ (kept whole by the split's group).
_VERBATIM = re.compile(r"(`[^`]*`|\$[^$]*\$)")

class KerasStepRetracing(logging.Filter):
    """Drops TensorFlow's warning that a Keras model's own step function "triggered tf.function
    retracing" (``TensorFlowTrainer.make_predict_function`` and its train and test twins).

    Every Keras model builds its own predict, train and test functions, each traced on its first
    call, and TensorFlow warns once five traces of the same code happen in a row: a page that
    predicts with five models gets 20 lines about object addresses, which say nothing about the
    reader's code. TensorFlow's other retracing warnings (a ``tf.function`` of the reader's own,
    re-created in a loop) pass. :mod:`cvtutor.notebook` installs it on the ``tensorflow`` logger
    when imported.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not ("triggered tf.function retracing" in message and "TensorFlowTrainer.make_" in message)


logging.getLogger("tensorflow").addFilter(KerasStepRetracing())

#: Every value glued in this kernel, by name (the names that the glue references of the prose use).
GLUED: dict[str, object] = {}
# Where show_quoted keeps each chapter's glued values, so that another chapter that quotes them
# (``{glue:text}`other.ipynb::name```) can show them too: a folder of the cvtutor cache.
_QUOTED_FOLDER = "quoted"


#: The MIME-type prefix of a value glued without being shown (myst-nb's and papermill's record).
GLUE_PREFIX = "application/papermill.record/"


def glue(name: str, value, display: bool = False):
    """Store ``value`` under ``name`` for the book's prose (``{glue:text}`name```).

    Writes the output myst-nb's ``glue`` writes (the scrapbook protocol, the same bytes), so that a
    book build reads it, without needing myst-nb in the kernel: the book's notebooks run in an
    environment with only cvtutor, its ``notebooks`` extra and ipykernel, as in Colab. The value's
    display data (``IPython.core.formatters.format_display_data``) goes out as one display
    output whose metadata names it (``{"scrapbook": {"name": name, "mime_prefix": ...}}``); unless
    ``display``, its MIME types carry the prefix :data:`cvtutor.notebook.GLUE_PREFIX`, which no front end renders,
    so the value is not shown. Outside IPython nothing is displayed.

    Either way the value is kept in :data:`cvtutor.notebook.GLUED`, for :func:`show_quoted`. NumPy scalars are
    stored as Python numbers, so format specs such as ``{glue:text}`name:.2f``` work on them
    (NumPy 2 reprs them as ``np.float64(...)``).

    Source: ``myst_nb.glue`` (myst-nb 1.x, ``myst_nb/ext/glue/__init__.py``).
    """
    if hasattr(value, "item") and getattr(value, "ndim", None) == 0:
        value = value.item()
    GLUED[name] = value
    try:
        from IPython import get_ipython
        from IPython.core.formatters import format_display_data
        from IPython.display import display as show
    except ImportError:  # pragma: no cover - no IPython: nothing can show or record the value
        return
    if get_ipython() is None:
        return
    bundle, metadata = format_display_data(value)
    prefix = "" if display else GLUE_PREFIX
    metadata["scrapbook"] = {"name": name, "mime_prefix": prefix}
    show({prefix + kind: data for kind, data in bundle.items()}, raw=True, metadata=metadata)


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """``n`` and ``noun`` in the right number: ``counted(1, "epoch")`` is ``"1 epoch"``,
    ``counted(3, "epoch")`` ``"3 epochs"``, ``counted(2, "class", "classes")`` ``"2 classes"``;
    thousands separated (``"1,799 images"``)."""
    return f"{n:,} {noun if n == 1 else plural or noun + 's'}"


# The Chinese edition's glue name for a sentence glued in both languages (glue_sentence): the
# translation of a paragraph that quotes {glue:text}`name` quotes {glue:text}`name_zh` instead
# (book/_ext/catalogs.py accepts the pair).
CHINESE_SUFFIX = "_zh"


def glue_sentence(name: str, sentence) -> None:
    """Glue a sentence decided from numbers (a :class:`cvtutor.verdicts.Sentence`) in both of the
    book's languages: the English under ``name``, the Chinese under ``name + CHINESE_SUFFIX``."""
    glue(name, sentence.en)
    glue(name + CHINESE_SUFFIX, sentence.zh)


def parse_glue_ref(ref: str) -> tuple[str | None, str, str]:
    """``(notebook, name, format_spec)`` of a ``{glue:text}`` reference, read as myst-nb reads it.

    ``"acc:.1f"`` gives ``(None, "acc", ".1f")``; ``"other.ipynb::acc:.1f"`` gives
    ``("other.ipynb", "acc", ".1f")``; without a spec the spec is ``"s"``.
    """
    key, spec = ref.rsplit(":", 1) if ":" in ref else (ref, "s")
    parts = key.split("::", 1)
    return (parts[0], parts[1], spec) if len(parts) == 2 else (None, key, spec)


def _plain_text(value) -> str:
    """The ``text/plain`` that myst-nb's glue stores for ``value``."""
    try:
        from IPython.lib.pretty import pretty
    except ImportError:  # pragma: no cover - IPython comes with every notebook install
        return repr(value)
    return pretty(value)


def format_glued(text: str, spec: str) -> str:
    """``text`` (a glued value's ``text/plain``) formatted with ``spec`` as ``{glue:text}`` shows it.

    The same steps as myst-nb's ``format_plain_text``: the text is read back as a Python
    literal when it is one, then ``s`` formats its ``str``, ``d`` (and other integer types) its
    ``int``, ``f`` (and other float types) its ``float``.
    """
    from ast import literal_eval

    try:
        value = literal_eval(text)
    except (SyntaxError, ValueError):
        value = text
    if spec == "":
        return str(value)
    kind = spec[-1]
    if kind == "s":
        value = str(value)
    elif kind in "bcdoxX":
        value = int(value)
    elif kind in "eEfFgGn%":
        value = float(value)
    return without_negative_zero(format(value, spec))


def without_negative_zero(text: str) -> str:
    """``text`` without the minus sign of a number that its format rounded to zero: ``"-0.00"`` is
    ``"0.00"``, ``"-0.0%"`` ``"0.0%"`` (a correlation of -0.004 shown to two places is 0.00, not a
    negative value); any other text is returned unchanged. The book applies it to every glued
    value (``book/_ext/translation.py``) and :func:`format_glued` to what it shows in Jupyter."""
    return text[1:] if re.fullmatch(r"-[0.]*0[0.]*%?", text) else text


def _quoted_file(notebook: str) -> Path:
    from cvtutor.data.cache import cache_dir

    return cache_dir() / _QUOTED_FOLDER / f"{Path(notebook).name}.json"


def _save_glued(chapter: str) -> None:
    """Keep this kernel's glued values as ``chapter``'s, for chapters that quote them."""
    from cvtutor.files import atomic_write

    try:
        with atomic_write(_quoted_file(chapter), "w") as f:
            json.dump({name: _plain_text(value) for name, value in GLUED.items()}, f, ensure_ascii=False)
    except OSError:
        pass  # a read-only cache: other chapters then say where the number comes from


def _load_glued(notebook: str) -> dict[str, str]:
    try:
        return json.loads(_quoted_file(notebook).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def reference_values() -> dict:
    """The glued values of the book's latest full-profile build, as the package ships them
    (``cvtutor/resources/reference_values.json``, written by ``tools/book.py reference-values``):
    ``{"build": {"profile", "commit", "finished", "command"}, "chapters": {notebook: {name:
    text/plain}}}``; empty chapters where the package ships none."""
    from importlib import resources

    try:
        text = resources.files("cvtutor").joinpath("resources", "reference_values.json").read_text(encoding="utf-8")
    except (FileNotFoundError, OSError):
        return {"build": {}, "chapters": {}}
    return json.loads(text)


def reference_number(notebook: str, name: str) -> float | None:
    """A number the book's latest full-profile build glued in ``notebook`` (see
    :func:`reference_values`), as a float: ``"'45,000'"`` is 45000.0, ``"66.87"`` 66.87.

    Returns None when the package ships no such value (a chapter not yet in a recorded build).

    Raises:
        TypeError: ``notebook`` or ``name`` is not a str.
        ValueError: the value shipped is not a number (a sentence, a name).
    """
    from cvtutor import checks

    checks.instance("notebook", notebook, str, "a notebook's file name, e.g. 'cnn_classifier.ipynb'")
    checks.instance("name", name, str, "a glued name, e.g. 'cnn_accuracy'")
    text = reference_values()["chapters"].get(Path(notebook).name, {}).get(name)
    if text is None:
        return None
    plain = text.strip().strip("'\"").replace(",", "")
    try:
        return float(plain)
    except ValueError:
        raise ValueError(f"{notebook}::{name} is not a number in the book's full build: {text!r}") from None


def quoted_values(*refs: str, chapter: str | None = None) -> list[tuple[str, str]]:
    """``(label, text)`` for each distinct reference, ``text`` formatted as the prose shows it.

    A name glued in this kernel is formatted from :data:`cvtutor.notebook.GLUED`; a name from another notebook
    (``other.ipynb::name``) from what :func:`show_quoted` kept when that chapter ran here
    (see ``chapter``), else from the book's latest full build (:func:`reference_values`),
    labelled as such. A value in neither says so instead of a number.
    """
    shown = []
    for ref in dict.fromkeys(refs):
        notebook, name, spec = parse_glue_ref(ref)
        if notebook is None or (chapter and Path(notebook).name == Path(chapter).name):
            label = name
            text = _plain_text(GLUED[name]) if name in GLUED else None
            missing = "(not computed yet: run the cells above)"
        else:
            label = f"{name} ({Path(notebook).stem})"
            text = _load_glued(notebook).get(name)
            missing = f"(computed by {Path(notebook).name}: run that chapter first)"
            if text is None:  # not run here: the book's full build, labelled as such
                reference = reference_values()
                text = reference["chapters"].get(Path(notebook).name, {}).get(name)
                if text is not None:
                    label = f"{name} ({Path(notebook).stem}, the book's full build of {reference['build']['finished'][:10]})"
        try:
            shown.append((label, missing if text is None else format_glued(text, spec)))
        except (TypeError, ValueError):
            shown.append((label, text))
    return shown


def show_quoted(*refs: str, chapter: str | None = None, width: int = 88):
    """Show the values that the next Markdown cell quotes through ``{glue:text}`` references.

    The book renders each reference as its number; JupyterLab and Colab show the reference
    itself, so every notebook has, above each paragraph that quotes numbers, a cell (written by
    ``tools/sync_book.py``, hidden in the book) that calls this with that paragraph's references
    exactly as written there, e.g. ``show_quoted("years", "param_growth:.0f")``.

    Args:
        *refs: the references, ``name[:format_spec]`` or ``other.ipynb::name:format_spec``.
        chapter: this notebook's file name. Its glued values are kept in the cvtutor cache
            (``$CVTUTOR_CACHE/quoted/``) so that other chapters quoting them can show them.
        width: the longest line of the display.
    """
    if chapter:
        _save_glued(chapter)
    items = [f"{label} = {text}" for label, text in quoted_values(*refs, chapter=chapter)]
    lines = ["Numbers quoted below:"]
    for i, item in enumerate(items):  # lines break between items, not inside one
        item += ";" if i < len(items) - 1 else ""
        if len(lines[-1]) + 1 + len(item) > width:
            lines.append(" ")
        lines[-1] += " " + item
    text = "\n".join(wrapped for line in lines
                     for wrapped in textwrap.wrap(line, width, subsequent_indent="  ", break_on_hyphens=False))
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:  # pragma: no cover
        print(text)
        return
    if get_ipython() is None:
        print(text)
    else:
        display({"text/plain": text}, raw=True)


def _short_path(filename: str) -> str:
    """``filename`` relative to the ``sys.path`` folder it was imported from (``keras/src/...``),
    so that no machine's folders show in an error; its name alone if none holds it."""
    path = Path(filename)
    roots = [Path(p) for p in sys.path if p and Path(p).is_absolute()]
    for root in sorted(roots, key=lambda r: len(r.parts), reverse=True):
        try:
            return path.relative_to(root).as_posix()
        except ValueError:
            continue
    return path.name


def short_traceback(etype, value, tb, cell_names=None, frames: int = 1) -> list[str]:
    """The lines of a short traceback: the notebook cell's own lines, the last ``frames`` frames
    (where the error was raised), how many were left out between them, and the exception.

    Args:
        cell_names: maps a frame's file name to the name a reader sees (``Cell In[3]``); frames
            in such files are the reader's own code and are always shown.
        frames: how many of the innermost library frames to show.
    """
    cell_names = cell_names or {}
    stack = traceback.extract_tb(tb)
    own = [i for i, f in enumerate(stack) if f.filename in cell_names]
    first = own[0] if own else 0  # the frames above the cell are the notebook's machinery
    keep = sorted(set(own) | set(range(max(first, len(stack) - frames), len(stack))))
    lines = ["Traceback (most recent call last; frames inside libraries left out):"]
    previous = first - 1
    for i in keep:
        if i > previous + 1:
            lines.append(f"  ... {i - previous - 1} frame(s) inside libraries ...")
        f = stack[i]
        where = cell_names.get(f.filename) or _short_path(f.filename)
        lines.append(f"  {where}, line {f.lineno}, in {f.name}")
        if f.line:
            lines.append(f"    {f.line.strip()}")
        previous = i
    lines += [line.rstrip("\n") for line in traceback.format_exception_only(etype, value)]
    return lines


def short_tracebacks(enable: bool = True, frames: int = 1) -> None:
    """Make IPython show an error as :func:`short_traceback` writes it (``enable=False`` undoes).

    A Keras error raised by one line of a cell otherwise shows dozens of library frames, with
    the message that explains it at the very end. Does nothing outside IPython.
    """
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover
        return
    shell = get_ipython()
    if shell is None:
        return
    if not enable:
        shell.set_custom_exc((), None)
        return

    def handler(shell, etype, value, tb, tb_offset=None):
        names = getattr(shell.compile, "_filename_map", {})
        cells = {name: f"Cell In[{number}]" for name, number in names.items()}
        stb = short_traceback(etype, value, tb, cell_names=cells, frames=frames)
        shell._showtraceback(etype, value, ["\n".join(stb)])
        return stb

    shell.set_custom_exc((Exception,), handler)


def _escape_cell(value) -> str:
    """Table-cell text with ``*`` and ``|`` escaped outside code spans and ``$math$``, so that
    ``(3*3*3 + 1)*32`` stays text instead of turning into emphasis, and ``|`` starts no column."""
    parts = _VERBATIM.split(without_negative_zero(str(value)))
    for i in range(0, len(parts), 2):  # even parts lie outside the verbatim spans
        parts[i] = parts[i].replace("*", "\\*").replace("|", "\\|")
    return "".join(parts)


def markdown_table(rows, columns, headers=None):
    """An ``IPython.display.Markdown`` table of ``rows`` (dicts) restricted to ``columns``.

    Cell values are shown as text: ``*`` and ``|`` are escaped, except inside
    backtick code spans and ``$...$`` math, which stay as they are; a number its format rounded
    to zero shows no minus sign (``"-0.00"`` is ``"0.00"``: :func:`without_negative_zero`).
    """
    from IPython.display import Markdown

    headers = headers or columns
    lines = ["| " + " | ".join(_escape_cell(h) for h in headers) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(_escape_cell(row[c]) for c in columns) + " |" for row in rows]
    return Markdown("\n".join(lines))
