"""cvtutor.notebook: tables of numbers and formulas render as text, never as Markdown emphasis."""

import pytest

from cvtutor.notebook import markdown_table

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
