"""Intake topics: where a department's other systems emit events for the service that owns a stream."""

import re

import pytest

from shared.events import DepartmentMismatch, StreamMismatch, decode, encode, encode_structured
from shared.events.topics import REPORTING_PATTERN, STREAMS, department_of_topic, intake_topic, parse_topic, topic_name
from tests.support.events import submitted


@pytest.mark.parametrize("department", ["dwp", "hmrc", "natural-england", "a1"])
def test_an_intake_topic_per_department_and_stream_that_reporting_never_matches(department):
    for stream in STREAMS:
        topic = intake_topic(department, stream)
        assert topic == f"innovation.{department}.inbound.{stream}.v1"
        assert re.fullmatch(REPORTING_PATTERN, topic) is None
        assert re.fullmatch(REPORTING_PATTERN, topic_name(department, stream))
        assert parse_topic(topic) == (department, stream) == parse_topic(topic_name(department, stream))
        assert department_of_topic(topic) == department


@pytest.mark.parametrize("department", ["", "DWP", "dwp.inbound", "dwp_x", "a" * 32])
def test_an_invalid_department_has_no_intake(department):
    with pytest.raises(ValueError, match="department code"):
        intake_topic(department, "ideas")


def test_an_unknown_stream_has_no_intake_and_near_names_are_not_intakes():
    with pytest.raises(ValueError, match="stream 'votes'"):
        intake_topic("dwp", "votes")
    for topic in ("innovation.dwp.inbound.ideas.v2", "innovation.dwp.inbound.votes.v1",
                  "innovation.dwp.outbound.ideas.v1", "innovation.dwp.inbound.inbound.ideas.v1"):
        assert parse_topic(topic) is None


@pytest.mark.parametrize("encoding", [encode, encode_structured])
def test_decode_accepts_an_event_on_its_own_departments_intake_only(encoding):
    event = submitted("dwp")
    _, key, value, headers = encoding(event)
    assert decode(value, headers, topic=intake_topic("dwp", "ideas")) == event
    with pytest.raises(DepartmentMismatch):
        decode(value, headers, topic=intake_topic("hmrc", "ideas"))
    with pytest.raises(StreamMismatch):
        decode(value, headers, topic=intake_topic("dwp", "experiments"))
