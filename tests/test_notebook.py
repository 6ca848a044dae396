"""cvtutor.notebook: tables of numbers and formulas render as text, never as Markdown emphasis."""

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from cvtutor.notebook import markdown_table

ROOT = Path(__file__).resolve().parent.parent

pytest.importorskip("IPython")


def _cells(table):
    return [line.split(" | ") for line in table.data.splitlines()]


def test_stars_and_bars_are_escaped_in_plain_text():
    table = markdown_table([{"layer": "Conv2D", "formula": "(3*3*3 + 1)*32", "note": "a|b"}], ["layer", "formula", "note"])
    body = table.data.splitlines()[2]
    assert r"(3\*3\*3 + 1)\*32" in body and r"a\|b" in body
    assert body.count(" | ") == 2  # still three columns


def test_code_spans_and_math_stay_verbatim():
    table = markdown_table([{"a": "`x*y|z`", "b": r"$2^{k} \cdot s*t$", "c": "*x* and `*y*`"}], ["a", "b", "c"])
    body = table.data.splitlines()[2]
    assert "`x*y|z`" in body and r"$2^{k} \cdot s*t$" in body
    assert r"\*x\* and `*y*`" in body


def test_headers_default_to_columns_and_are_escaped_too():
    table = markdown_table([{"a*b": 1}], ["a*b"])
    assert table.data.splitlines()[:2] == [r"| a\*b |", "|---|"]


def test_table_cells_rounded_to_zero_show_no_minus_sign():
    table = markdown_table([{"a": "-0.00", "b": "-0.01", "c": "-0.0%", "d": "-0.004"}], ["a", "b", "c", "d"])
    assert table.data.splitlines()[-1] == "| 0.00 | -0.01 | 0.0% | -0.004 |"


# --- glued values shown where the prose is read unrendered (JupyterLab, Colab) ---------------

from cvtutor import notebook  # noqa: E402


@pytest.fixture
def glued(monkeypatch):
    """An empty GLUED for the test (the kernel's values are module state)."""
    monkeypatch.setattr(notebook, "GLUED", {})
    return notebook.GLUED


@pytest.mark.parametrize("ref, parsed", [
    ("acc", (None, "acc", "s")),
    ("acc:.1f", (None, "acc", ".1f")),
    ("speed:,.0f", (None, "speed", ",.0f")),
    ("challenges.ipynb::largest_size:s", ("challenges.ipynb", "largest_size", "s")),
])
def test_references_are_read_as_myst_nb_reads_them(ref, parsed):
    assert notebook.parse_glue_ref(ref) == parsed


def test_values_are_formatted_as_myst_nb_formats_them():
    from myst_nb.core.variables import format_plain_text

    for value, spec in [(3.14159, ".1f"), (1234567, ",.0f"), ("AlexNet", "s"), (12, "d"), (0.5, ".0%"),
                        ("a 'quoted' word", "s"), ([1, 2], "s"), (2.0, "")]:
        text = notebook._plain_text(value)
        assert notebook.format_glued(text, spec) == format_plain_text(text, spec)


@pytest.mark.parametrize(("value", "spec", "shown"), [
    (-0.004, ".2f", "0.00"), (-0.0004, ".1%", "0.0%"), (-0.4, ".0f", "0"), (-0.0, ".1f", "0.0"),
    (-0.006, ".2f", "-0.01"), (-0.004, ".3f", "-0.004"), (-10.0, ".0f", "-10"), (-1e-9, ".2e", "-1.00e-09"),
])
def test_a_number_rounded_to_zero_shows_no_minus_sign(value, spec, shown):
    assert notebook.format_glued(notebook._plain_text(value), spec) == shown
    assert notebook.without_negative_zero("-0.00 s") == "-0.00 s", "only a whole number is changed"


def test_glue_remembers_values_and_show_quoted_formats_them(glued, capsys):
    notebook.glue("years", np.int64(11))
    notebook.glue("growth", 30.2345)
    notebook.glue("first", "AlexNet")
    assert glued == {"years": 11, "growth": 30.2345, "first": "AlexNet"}
    notebook.show_quoted("first", "years", "growth:.1f", "growth:.1f", "later")
    out = capsys.readouterr().out
    assert out.startswith("Numbers quoted below:")
    assert "first = AlexNet; years = 11; growth = 30.2;" in out and out.count("growth") == 1
    assert "later = (not computed yet" in out


def test_other_chapters_values_come_from_where_that_chapter_ran(glued, capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("CVTUTOR_CACHE", str(tmp_path))
    monkeypatch.setattr(notebook, "reference_values", lambda: {"build": {}, "chapters": {}})
    notebook.show_quoted("challenges.ipynb::largest_size:s")
    assert "largest_size (challenges) = (computed by challenges.ipynb: run that chapter first)" in capsys.readouterr().out
    notebook.glue("largest_size", "50,000")
    notebook.glue("acc", 0.8123)
    notebook.show_quoted("largest_size", chapter="challenges.ipynb")  # keeps this chapter's values
    glued.clear()
    notebook.show_quoted("challenges.ipynb::largest_size:s", "challenges.ipynb::acc:.2f", chapter="faq.ipynb")
    out = " ".join(capsys.readouterr().out.split())
    assert "largest_size (challenges) = 50,000; acc (challenges) = 0.81" in out


def test_a_chapter_not_run_here_shows_the_books_full_build_labelled_as_such(glued, capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("CVTUTOR_CACHE", str(tmp_path))
    shipped = {"build": {"profile": "full", "finished": "2026-12-07T02:40:00+00:00"},
               "chapters": {"challenges.ipynb": {"acc": "0.8123", "largest_size": "'50,000'"}}}
    monkeypatch.setattr(notebook, "reference_values", lambda: shipped)
    notebook.show_quoted("challenges.ipynb::acc:.2f", "challenges.ipynb::other:s", chapter="faq.ipynb")
    out = " ".join(capsys.readouterr().out.split())
    assert "acc (challenges, the book's full build of 2026-12-07) = 0.81" in out
    assert "other (challenges) = (computed by challenges.ipynb: run that chapter first)" in out
    # once the reader has run that chapter, its own value wins
    notebook.glue("acc", 0.5)
    notebook.show_quoted("acc", chapter="challenges.ipynb")
    glued.clear()
    notebook.show_quoted("challenges.ipynb::acc:.2f", chapter="faq.ipynb")
    assert "acc (challenges) = 0.50" in " ".join(capsys.readouterr().out.split())


def test_reference_values_come_from_a_full_builds_glue_data(tmp_path):
    sys.path.insert(0, str(ROOT / "tools"))
    import reference_values

    executed = tmp_path / "jupyter_execute" / "book"
    executed.mkdir(parents=True)
    (executed / "faq.glue.json").write_text(json.dumps({
        "n": {"output_type": "display_data", "data": {"text/plain": "42"}, "metadata": {}},
        "fig": {"output_type": "display_data", "data": {"image/png": "..."}, "metadata": {}}}))
    record = {"profile": "full", "commit": "abc", "finished": "2026-12-07T00:00:00+00:00", "command": "python -m x"}
    text = json.loads(reference_values.resource_text(tmp_path / "jupyter_execute", record))
    assert text == {"build": record, "chapters": {"faq.ipynb": {"n": "42"}}}
    with pytest.raises(ValueError, match="come from a full-profile build; the record says 'quick'"):
        reference_values.resource_text(tmp_path / "jupyter_execute", record | {"profile": "quick"})
    with pytest.raises(ValueError, match="holds no glued values"):
        reference_values.collect(tmp_path / "nothing")


def test_long_lists_wrap_to_the_width(glued, capsys):
    for i in range(30):
        notebook.glue(f"value_{i}", i * 1000.5)
    notebook.show_quoted(*[f"value_{i}:,.1f" for i in range(30)], width=60)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) > 5 and max(map(len, lines)) <= 60
    assert all(f"{i * 1000.5:,.1f}" in " ".join(lines) for i in range(30))


# --- short tracebacks ---------------------------------------------------------------------


def _raise_deep(n):
    if n == 0:
        raise ValueError("the message a reader needs")
    return _raise_deep(n - 1)


def test_short_traceback_keeps_the_cell_the_raising_frame_and_the_message():
    try:
        _raise_deep(20)
    except ValueError as exc:
        etype, value, tb = type(exc), exc, exc.__traceback__
    cell = __file__  # stands in for the notebook cell's file
    lines = notebook.short_traceback(etype, value, tb, cell_names={cell: "Cell In[3]"})
    text = "\n".join(lines)
    assert lines[-1] == "ValueError: the message a reader needs"
    assert len(lines) < 60 and "_raise_deep(20)" in text and "Cell In[3]" in text
    assert "/" + "tmp/" not in text and str(Path(__file__).parent) not in text


def test_library_paths_are_shown_relative_to_their_import_root():
    import json

    assert notebook._short_path(json.__file__) == "json/__init__.py"
    assert notebook._short_path("/nowhere/at/all/x.py") == "x.py"


def test_short_tracebacks_does_nothing_outside_ipython():
    notebook.short_tracebacks()
    notebook.short_tracebacks(False)


def test_portable_hides_this_machines_folders(monkeypatch, tmp_path):
    import tempfile

    monkeypatch.setenv("CVTUTOR_DATA", "/srv/shared/data")
    text = notebook.portable("python -m benchmarks.run rnn --data-dir /srv/shared/data --seeds 0")
    assert text == "python -m benchmarks.run rnn --data-dir $CVTUTOR_DATA --seeds 0"
    assert notebook.portable("copy: /srv/shared/data/cifar10.tar.gz") == "copy: $CVTUTOR_DATA/cifar10.tar.gz"
    assert notebook.portable("--data-dir=/elsewhere/x") == "--data-dir=$CVTUTOR_DATA"
    assert notebook.portable(f"{tempfile.gettempdir()}/run-1/model.keras") == "$TMPDIR/run-1/model.keras"
    assert notebook.portable(str(Path.home() / "notes")) == "~/notes"


@pytest.mark.parametrize("display", [False, True])
@pytest.mark.parametrize("value", [0.8123, np.float64(3.5), "AlexNet", 12_000])
def test_glue_writes_what_myst_nbs_glue_writes_without_needing_myst_nb(monkeypatch, glued, value, display):
    """The book's kernels have no myst-nb (only cvtutor, its notebooks extra and ipykernel, as in
    Colab): cvtutor's glue must write the very output myst-nb's glue writes, which the build reads."""
    import IPython
    import IPython.display
    import myst_nb.ext.glue as myst_glue

    calls = []
    monkeypatch.setattr(IPython, "get_ipython", lambda: object())
    monkeypatch.setattr(IPython.display, "display", lambda *a, **k: calls.append(("cvtutor", a, k)))
    monkeypatch.setattr(myst_glue, "ipy_display", lambda *a, **k: calls.append(("myst-nb", a, k)))
    notebook.glue("name", value, display=display)
    myst_glue.glue("name", value.item() if hasattr(value, "item") else value, display=display)
    (_, ours, our_kwargs), (_, theirs, their_kwargs) = calls
    assert ours == theirs and our_kwargs == their_kwargs
    assert our_kwargs["metadata"]["scrapbook"]["name"] == "name"
    assert all(kind.startswith("application/papermill.record/") != display for kind in ours[0])


def test_glue_outside_ipython_only_remembers(glued, capsys, monkeypatch):
    import IPython

    monkeypatch.setattr(IPython, "get_ipython", lambda: None)
    notebook.glue("n", 3, display=True)
    assert glued == {"n": 3} and capsys.readouterr().out == ""


def test_counts_read_in_the_right_number():
    from cvtutor.notebook import counted

    assert [counted(1, "epoch"), counted(3, "epoch"), counted(1799, "image")] == ["1 epoch", "3 epochs", "1,799 images"]
    assert counted(2, "class", "classes") == "2 classes" and counted(0, "epoch") == "0 epochs"


def test_the_shipped_reference_values_are_a_recorded_full_build():
    """What the package ships names a full-profile build whose record is committed, and holds a
    value for every chapter that executed in it."""
    shipped = notebook.reference_values()
    records = [json.loads(path.read_text(encoding="utf-8"))
               for path in (ROOT / "benchmarks" / "results" / "rebuilds").glob("full-*.json")]
    [record] = [r for r in records if r["finished"] == shipped["build"]["finished"]]
    assert shipped["build"] == {key: record[key] for key in ("profile", "commit", "finished", "command")}
    executed = {Path(name).name for name in record["steps"]["first"]["executed"] if name.endswith(".ipynb")}
    assert executed <= set(shipped["chapters"]), "a chapter's glued values are missing"


def test_keras_step_retracing_is_kept_off_the_pages_and_other_retracing_is_not(caplog):
    import logging

    logger = logging.getLogger("tensorflow")
    keras_step = ("5 out of the last 5 calls to <function TensorFlowTrainer.make_predict_function.<locals>."
                  "one_step_on_data_distributed at 0x7fe6ca4e2a20> triggered tf.function retracing. Tracing is "
                  "expensive ...")
    own = "6 out of the last 6 calls to <function my_step at 0x7f00> triggered tf.function retracing."
    with caplog.at_level(logging.WARNING, logger="tensorflow"):
        logger.warning(keras_step)
        logger.warning(own)
        logger.warning("another TensorFlow warning")
    assert [r.getMessage() for r in caplog.records] == [own, "another TensorFlow warning"]
    assert any(isinstance(f, notebook.KerasStepRetracing) for f in logger.filters)


def test_reference_number_reads_the_shipped_full_build(monkeypatch):
    shipped = {"build": {"finished": "2026-12-07T08:24:15+00:00"},
               "chapters": {"cnn_classifier.ipynb": {"cnn_params": "'122,570'", "cnn_accuracy": "66.87",
                                                     "cnn_hardware": "'x86_64, 2 CPU cores'"}}}
    monkeypatch.setattr(notebook, "reference_values", lambda: shipped)
    assert notebook.reference_number("cnn_classifier.ipynb", "cnn_params") == 122570.0
    assert notebook.reference_number("book/cnn_classifier.ipynb", "cnn_accuracy") == 66.87
    assert notebook.reference_number("cnn_classifier.ipynb", "missing") is None
    assert notebook.reference_number("landscape.ipynb", "x") is None
    with pytest.raises(ValueError, match="not a number"):
        notebook.reference_number("cnn_classifier.ipynb", "cnn_hardware")
    with pytest.raises(TypeError, match="name must be"):
        notebook.reference_number("cnn_classifier.ipynb", 3)
