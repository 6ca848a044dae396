"""cvtutor.source: the package's code shown on the page, read from the source when the cell runs."""

import inspect

import pytest

from cvtutor import reference
from cvtutor.source import source_of


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
    assert "np.tensordot" in source.code.splitlines()[number - 1] and note == "the sum over c"
    page = source._repr_html_()
    assert "tensordot" in page and f"line {number}: the sum over c" in page
    assert "background-color" in page  # pygments highlights the marked line
    text = str(source)
    assert f">{number:{len(str(len(source.code.splitlines())))}d}" in text and "cvtutor/reference.py" in text


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
