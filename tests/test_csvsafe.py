"""CSV cells a spreadsheet would run as a formula get a leading apostrophe."""

from __future__ import annotations

import csv
import io

import pandas as pd
import pytest

from intel.csvsafe import frame_to_csv, restore_cell, rows_to_csv, safe_cell


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"),
        ("+SUM(A1)", "'+SUM(A1)"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ('=HYPERLINK("http://evil/","x")', '\'=HYPERLINK("http://evil/","x")'),
        ("acme", "acme"),
        ("a=b", "a=b"),  # only the start matters
        (" =1", " =1"),
        ("", ""),
        ("'quoted", "'quoted"),
        (-5, -5),  # numbers are not formulas
        (3.5, 3.5),
        (None, None),
    ],
)
def test_safe_cell(value, expected):
    assert safe_cell(value) == expected


@pytest.mark.parametrize(
    "value",
    ["=1+1", "+x", "-y", "@z", "\tt", "\rr", "plain", "", "'quoted", "a-b", "'", None, 7],
)
def test_restore_undoes_safe_cell(value):
    assert restore_cell(safe_cell(value)) == value


@pytest.mark.parametrize(
    ("value", "expected"),
    [("'=1", "=1"), ("'-x", "-x"), ("'plain", "'plain"), ("''=1", "''=1"), ("'", "'")],
)
def test_restore_cell(value, expected):
    assert restore_cell(value) == expected


def test_rows_to_csv_neutralises_every_text_cell():
    text = rows_to_csv(["id", "note"], [["=1+1", "@x"], ["d-1", "-2"], ["ok", 5]])
    rows = list(csv.reader(io.StringIO(text)))
    assert rows == [["id", "note"], ["'=1+1", "'@x"], ["d-1", "'-2"], ["ok", "5"]]
    # no line of the file starts a formula
    assert not any(line.startswith(("=", "+", "-", "@")) for line in text.splitlines())


def test_frame_to_csv_leaves_numbers_and_neutralises_text():
    frame = pd.DataFrame({"tenant": ["=cmd|' /C calc'!A0", "acme", None],
                          "failures": [-1, 2, 3], "ratio": [0.5, -0.25, 1.0]})
    text = frame_to_csv(frame)
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["tenant", "failures", "ratio"]
    assert rows[1] == ["'=cmd|' /C calc'!A0", "-1", "0.5"]
    assert rows[2] == ["acme", "2", "-0.25"]
    assert rows[3] == ["", "3", "1.0"]
    assert frame["tenant"].iloc[0] == "=cmd|' /C calc'!A0"  # the input frame is untouched


def test_frame_column_names_are_made_safe_too():
    text = frame_to_csv(pd.DataFrame({"=x": [1]}))
    assert text.splitlines()[0] == "'=x"
