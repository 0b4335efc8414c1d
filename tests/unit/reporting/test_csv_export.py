"""The CSV export's guard against formula injection: no cell a spreadsheet would read as a formula."""

import csv
import io

import pytest
from hypothesis import given, strategies as st

from services.reporting.http import FORMULA_STARTS, spreadsheet_safe, to_csv


@pytest.mark.parametrize("hostile", [
    "=1+1", "+1", "-1+2", "@SUM(A1)", "\t=1+1", "\r=1+1", "\t", "\r",
    '=HYPERLINK("http://evil.example","x")', "=cmd|' /C calc'!A0",
])
def test_text_starting_like_a_formula_is_quoted(hostile):
    assert spreadsheet_safe(hostile) == "'" + hostile


@pytest.mark.parametrize("safe", ["dwp", "all", "2026-03-02T09:00:00+00:00", "", " =1", "a=1", "\n=1"])
def test_other_text_is_left_alone(safe):
    assert spreadsheet_safe(safe) == safe


@pytest.mark.parametrize("number", [0, -3, -2.5, 1e15])
def test_numbers_are_left_alone_even_negative(number):
    assert spreadsheet_safe(number) == number


def test_none_is_an_empty_cell():
    assert spreadsheet_safe(None) == ""


@given(st.sampled_from(FORMULA_STARTS), st.text())
def test_a_guarded_cell_survives_the_export_and_still_starts_with_the_quote(start, rest):
    exported = to_csv([{"department": "dwp", "note": start + rest, "n": -1}])
    assert list(csv.DictReader(io.StringIO(exported, newline=""))) == [
        {"department": "dwp", "note": "'" + start + rest, "n": "-1"}]


@given(st.text())
def test_any_text_stays_in_its_own_cell_and_row(text):
    # A carriage return or line feed inside a cell must not start a new row (or a cell) of its own.
    exported = to_csv([{"department": "dwp", "note": text}, {"department": "all", "note": ""}])
    rows = list(csv.DictReader(io.StringIO(exported, newline="")))
    assert [r["department"] for r in rows] == ["dwp", "all"]
    assert rows[0]["note"] in (text, "'" + text)
