"""shared.requests (request bodies typed like their events) and shared.paging (one cursor format)."""

import json
from datetime import date

import pytest
from pydantic import ValidationError

from shared.events import ExperimentRescheduled
from shared.paging import page, position_of
from shared.refusals import Invalid
from shared.requests import Command, like


class Reschedule(Command):
    ends_on: like(ExperimentRescheduled, "ends_on")
    reason: like(ExperimentRescheduled, "reason")


def _rule(body: dict) -> tuple[str, str]:
    with pytest.raises(ValidationError) as refused:
        Reschedule.model_validate_json(json.dumps(body))
    error = refused.value.errors()[0]
    return ".".join(str(p) for p in error["loc"]), error["type"]


def test_like_takes_the_events_strict_day_as_iso_text():
    assert Reschedule.model_validate_json('{"ends_on": "2025-03-10", "reason": "r"}').ends_on == date(2025, 3, 10)


def test_like_refuses_a_number_for_a_date():
    assert _rule({"ends_on": 1741564800, "reason": "r"}) == ("ends_on", "date_type")


def test_like_keeps_the_events_limits():
    assert _rule({"ends_on": "2025-03-10", "reason": "x" * 2001}) == ("reason", "string_too_long")


def test_a_command_refuses_nul_characters():
    assert _rule({"ends_on": "2025-03-10", "reason": "nul \x00 inside"}) == ("reason", "no_nul_character")


def test_a_command_refuses_unknown_fields():
    assert _rule({"ends_on": "2025-03-10", "reason": "r", "surprise": True}) == ("surprise", "extra_forbidden")


def test_a_cursor_round_trips_to_its_position():
    rows = [{"position": p} for p in (7, 8, 9)]
    kept, cursor = page(rows, 2, lambda row: row["position"])
    assert kept == rows[:2]
    assert position_of(cursor) == 8
    assert position_of(None) is None


@pytest.mark.parametrize("garbage", ["drop table", "12", "cA", "cHg", "!!!!"])  # cA, cHg: base64 of "p", "px"
def test_a_cursor_not_made_here_is_an_invalid_cursor(garbage):
    with pytest.raises(Invalid) as refused:
        position_of(garbage)
    assert refused.value.field == "cursor"


def test_a_page_with_limit_plus_one_rows_has_a_next_cursor_and_one_with_fewer_has_none():
    position = lambda row: row  # noqa: E731
    assert page([1, 2, 3], 2, position)[1] is not None
    assert page([1, 2], 2, position) == ([1, 2], None)
    assert page([], 2, position) == ([], None)
