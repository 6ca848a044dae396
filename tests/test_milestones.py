"""cvtutor.milestones: the table of published classifiers ships with the package and is read typed."""

import subprocess
import sys
from pathlib import Path

import pytest

from cvtutor.milestones import read_milestones

HEADER = "model,year,params_millions,imagenet_top1,source,note\n"
PACKAGED = Path(__file__).resolve().parent.parent / "cvtutor" / "resources" / "milestones.csv"


def _write(tmp_path, text):
    path = tmp_path / "milestones.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_read_milestones_types_the_numeric_columns(tmp_path):
    path = _write(tmp_path, HEADER + 'NetA,2012,60,59.3,ref1,"a note, with a comma"\nNetB,2020,5.5,80,ref2,\n')
    rows = read_milestones(path)
    assert rows == [
        {"model": "NetA", "year": 2012, "params_millions": 60.0, "imagenet_top1": 59.3, "source": "ref1",
         "note": "a note, with a comma"},
        {"model": "NetB", "year": 2020, "params_millions": 5.5, "imagenet_top1": 80.0, "source": "ref2", "note": ""},
    ]
    assert isinstance(rows[0]["year"], int) and isinstance(rows[1]["imagenet_top1"], float)
    assert read_milestones(str(path)) == rows  # a str path works too


def test_read_milestones_reads_the_books_table():
    rows = read_milestones()
    assert len(rows) == len(PACKAGED.read_text(encoding="utf-8").strip().splitlines()) - 1
    for row in rows:
        assert isinstance(row["year"], int) and 2000 < row["year"] < 2100
        assert row["params_millions"] > 0 and 0 < row["imagenet_top1"] <= 100


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "no rows"),
        (HEADER, "no rows"),
        ("model,year,params_millions,source\nNetA,2012,60,ref1\n", "imagenet_top1"),
    ],
)
def test_read_milestones_rejects_missing_columns_or_rows(tmp_path, text, message):
    with pytest.raises(ValueError, match=message):
        read_milestones(_write(tmp_path, text))


def test_read_milestones_rejects_a_non_number_naming_its_line(tmp_path):
    text = HEADER + "NetA,2012,60,59.3,ref1,\nNetB,twenty,60,59.3,ref1,\n"
    with pytest.raises(ValueError, match=r"line 3 \('NetB'\): year must be an integer, got 'twenty'"):
        read_milestones(_write(tmp_path, text))



def test_the_packaged_table_is_read_from_any_working_directory(tmp_path):
    """A notebook opened alone (Colab) runs in a folder with no data/ beside it."""
    code = "from cvtutor.milestones import read_milestones; print(len(read_milestones()))"
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True)
    assert int(out.stdout) == len(read_milestones()) > 5


def test_a_missing_file_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothere.csv"):
        read_milestones(tmp_path / "nothere.csv")
