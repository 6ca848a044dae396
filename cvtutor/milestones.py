"""The table of published image classifiers behind chapters 1.1 and 1.5.4.

The table ships inside the package (``cvtutor/resources/milestones.csv``), so
a notebook opened alone (Colab, a downloaded ``.ipynb``) reads the same rows
as the book; it is found through :mod:`importlib.resources`, never through a
path relative to the working directory.
"""

from __future__ import annotations

import csv
import io
import os
from importlib import resources

COLUMNS = ("model", "year", "params_millions", "imagenet_top1", "source")


def read_milestones(path: str | os.PathLike | None = None) -> list[dict]:
    """Rows of a milestones CSV, with ``year`` as int and the two numeric columns as float.

    Args:
        path: a CSV with the columns ``model, year, params_millions, imagenet_top1,
            source`` (``note`` optional); None reads the book's own table, shipped
            with the package.

    Returns:
        list: one dict per row, in file order, ``params_millions`` in millions of
        parameters, ``imagenet_top1`` in percent.

    Raises:
        FileNotFoundError: no file at ``path``.
        ValueError: a required column is missing, the file has no rows, or a numeric
            cell is not a number (the message names the line and the model).
    """
    if path is None:
        name = "cvtutor/resources/milestones.csv"
        text = resources.files("cvtutor").joinpath("resources", "milestones.csv").read_text(encoding="utf-8")
    else:
        name = os.fspath(path)
        with open(path, encoding="utf-8", newline="") as f:
            text = f.read()
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    if not rows or not set(COLUMNS) <= rows[0].keys():
        raise ValueError(f"{name}: expected columns {sorted(COLUMNS)}, got {sorted(rows[0]) if rows else 'no rows'}")
    for line, row in enumerate(rows, start=2):  # line 1 is the header
        for column, kind in (("year", int), ("params_millions", float), ("imagenet_top1", float)):
            try:
                row[column] = kind(row[column])
            except (TypeError, ValueError):
                raise ValueError(f"{name}, line {line} ({row.get('model')!r}): {column} must be "
                                 f"{'an integer' if kind is int else 'a number'}, got {row[column]!r}") from None
    return rows
