"""cvtutor.source: the package's code shown on the page, read from the source when the cell runs."""

import inspect
import re
import textwrap

import pytest

from cvtutor import reference
from cvtutor.source import MAX_HANG, source_of


def test_a_function_is_shown_as_its_file_has_it_without_the_docstring():
    source = source_of(reference.conv2d)
    lines, start = inspect.getsourcelines(reference.conv2d)
    assert source.file == "cvtutor/reference.py" and source.first_line == start
    assert source.last_line == start + len(lines) - 1
    assert source.code.startswith("def conv2d(") and "np.tensordot" in source.code
    assert "Like every deep-learning" not in source.code  # the docstring is left out
    assert "Like every deep-learning" in source_of(reference.conv2d, docstring=True).code
    # What is shown still compiles: the docstring came out whole.
    compile(source.code, "conv2d", "exec")


def test_marked_lines_are_numbered_highlighted_and_explained():
    source = source_of(reference.conv2d, mark={"np.tensordot": "the sum over c"})
    [(number, note)] = source.marks.items()
    lines, start = inspect.getsourcelines(reference.conv2d)
    # numbered as the file numbers them: the marked line is that line of the file
    assert "np.tensordot" in lines[number - start] and note == "the sum over c"
    assert "np.tensordot" in source.code.splitlines()[source.numbers.index(number)]
    page = source._repr_html_()
    assert "tensordot" in page and f"line {number}: the sum over c" in page
    assert "background-color" in page  # the marked line is highlighted
    text = str(source)
    assert f">{number}  " in text and "cvtutor/reference.py" in text


def test_lines_keep_their_file_numbers_after_the_docstring_is_left_out():
    source = source_of(reference.conv2d)
    lines, start = inspect.getsourcelines(reference.conv2d)
    assert source.numbers[0] == start and len(source.numbers) == len(source.code.splitlines())
    for number, line in zip(source.numbers, source.code.splitlines()):
        assert lines[number - start].rstrip("\n").endswith(line.strip()), (number, line)
    # the docstring's lines are skipped, so the numbers jump once
    jumps = [b - a for a, b in zip(source.numbers, source.numbers[1:]) if b - a != 1]
    assert len(jumps) == 1 and jumps[0] > 2


def test_an_excerpt_shows_its_lines_with_their_numbers_and_elides_the_rest():
    from cvtutor import training

    source = source_of(training.fit, excerpt=("history = model.fit(", "model.evaluate(test_ds"),
                       mark={"history = model.fit(": "Keras trains"})
    lines, start = inspect.getsourcelines(training.fit)
    code = source.code.splitlines()
    assert code[0].strip() == "..." and code[-1].strip() == "..." and source.numbers[0] is None
    assert "history = model.fit(" in code[1] and "model.evaluate(test_ds" in code[-2]
    first, last = source.excerpt_lines
    assert source.numbers[1:-1] == tuple(range(first, last + 1))
    assert "history = model.fit(" in lines[first - start]
    assert f"lines {start}-{start + len(lines) - 1}, lines {first}-{last} shown" in source.caption
    assert list(source.marks) == [first]
    # what is shown still parses: an elided part is Python's Ellipsis at the right indentation
    compile("def f():\n" + textwrap.indent(textwrap.dedent(source.code), "    "), "fit", "exec")
    with pytest.raises(ValueError, match="no line of fit contains 'never there'"):
        source_of(training.fit, excerpt=("history = model.fit(", "never there"))
    with pytest.raises(ValueError, match="no line of fit contains 'def build'"):
        source_of(training.fit, excerpt=("history = model.fit(", "model.evaluate(test_ds"), mark={"def build": "x"})


def test_a_long_line_wraps_under_its_own_indentation():
    source = source_of(reference.conv2d)
    page = source._repr_html_()
    # every line is a block with a hanging indent: its number, two spaces, its own indentation, 4 more
    hangs = [int(h) for h in re.findall(r"padding-left:(\d+)ch;text-indent:-\1ch", page)]
    digits = len(str(max(source.numbers)))
    indents = [len(line) - len(line.lstrip(" ")) for line in source.code.splitlines()]
    assert hangs == [digits + 2 + min(indent + 4, MAX_HANG) for indent in indents] and max(indents) > 0


def test_a_mark_that_matches_no_line_fails_instead_of_pointing_nowhere():
    with pytest.raises(ValueError, match="no line of conv2d contains 'np.einsum'"):
        source_of(reference.conv2d, mark={"np.einsum": "moved"})


def test_methods_and_classes_of_keras_layers_are_shown_dedented():
    from cvtutor.layers import SelfAttention

    call = source_of(SelfAttention.call)
    assert call.code.startswith("def call(") and call.name == "cvtutor.layers.SelfAttention.call"
    whole = source_of(SelfAttention)
    assert whole.code.splitlines()[:2] == [  # the decorator is part of what the class is
        '@keras.saving.register_keras_serializable(package="cvtutor")', "class SelfAttention(keras.layers.Layer):"]
    assert "def build(" in whole.code


def test_objects_without_python_source_get_one_clear_line():
    with pytest.raises(TypeError, match="obj must be a function, class or method written in Python"):
        source_of(len)
    with pytest.raises(TypeError, match="got int 3 "):
        source_of(3)


def test_show_source_prints_outside_ipython(capsys):
    from cvtutor.notebook import show_source

    show_source(reference.max_pool2d)
    out = capsys.readouterr().out
    assert out.startswith("# cvtutor.reference.max_pool2d: cvtutor/reference.py, lines ")
    assert "def max_pool2d(" in out
