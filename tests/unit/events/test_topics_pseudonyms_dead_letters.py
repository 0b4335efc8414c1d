import hashlib
import hmac

import pytest

from shared.events import MalformedEvent, decode
from shared.events.dead_letter import MAX_REASON_BYTES, dead_letter_headers, publish_dead_letter
from shared.events.pseudonym import is_pseudonym, pseudonymise
from shared.events.topics import (
    DEPARTMENT_RE,
    REPORTING_PATTERN,
    STREAMS,
    department_of_topic,
    dlq_topic,
    topic_name,
    validate_department,
)


@pytest.mark.parametrize("department", ["dwp", "hmrc", "mhclg", "natural-england", "a1"])
def test_valid_departments_make_topics_the_reporting_pattern_matches(department):
    import re

    for stream in STREAMS:
        topic = topic_name(department, stream)
        assert topic == f"innovation.{department}.{stream}.v1"
        assert re.fullmatch(REPORTING_PATTERN, topic)
        assert department_of_topic(topic) == department


@pytest.mark.parametrize("department", ["", "d", "DWP", "1dwp", "dwp_x", "dwp.x", "a" * 32, "dwp\n"])
def test_invalid_departments_are_refused_with_the_rule(department):
    assert not DEPARTMENT_RE.fullmatch(department)
    with pytest.raises(ValueError, match=r"must match \^\[a-z\]"):
        validate_department(department)


def test_other_topics_and_streams():
    assert dlq_topic("reporting") == "innovation.dlq.reporting"
    assert department_of_topic("innovation.dlq.reporting") is None
    assert department_of_topic("innovation.dwp.ideas.v2") is None
    with pytest.raises(ValueError, match="stream 'votes'"):
        topic_name("dwp", "votes")
    with pytest.raises(ValueError):
        dlq_topic("Bad Service")


def test_pseudonym_is_truncated_hmac_sha256():
    expected = "p_" + hmac.new(b"dwp-secret", b"EMP-001", hashlib.sha256).hexdigest()[:16]
    assert pseudonymise(b"dwp-secret", "EMP-001") == expected == pseudonymise("dwp-secret", "EMP-001")
    assert pseudonymise("hmrc-secret", "EMP-001") != expected
    assert is_pseudonym(expected)
    assert not any(map(is_pseudonym, ["EMP-001", "p_" + "A" * 16, "p_" + "a" * 15, "p_" + "a" * 17, None]))
    with pytest.raises(ValueError):
        pseudonymise(b"", "EMP-001")


class RecordingProducer:
    """A fake with aiokafka's send_and_wait signature."""

    def __init__(self):
        self.sent = []

    async def send_and_wait(self, topic, value=None, key=None, partition=None, timestamp_ms=None, headers=None):
        self.sent.append({"topic": topic, "value": value, "key": key, "headers": headers})


async def test_dead_letter_keeps_the_original_bytes_and_says_why():
    original = [("ce_type", b"uk.gov.innovation.idea.endorsed.v1"), ("dlq_reason", b"an older dead-lettering")]
    try:
        decode(b"\xff not json", original)
    except MalformedEvent as error:
        producer = RecordingProducer()
        await publish_dead_letter(producer, service="reporting", topic="innovation.dwp.ideas.v1", partition=3,
                                  offset=42, key=b"k", value=b"\xff not json", headers=original, error=error)
    [sent] = producer.sent
    headers = dict(sent["headers"])
    assert (sent["topic"], sent["key"], sent["value"]) == ("innovation.dlq.reporting", b"k", b"\xff not json")
    assert headers["ce_type"] == b"uk.gov.innovation.idea.endorsed.v1"
    assert headers["dlq_original_topic"] == b"innovation.dwp.ideas.v1"
    assert (headers["dlq_original_partition"], headers["dlq_original_offset"]) == (b"3", b"42")
    assert headers["dlq_error_class"] == b"MalformedEvent"
    assert headers["dlq_reason"].startswith(b"the structured event is not valid JSON")
    assert headers["dlq_time"].endswith(b"Z")
    assert [n for n, _ in sent["headers"]].count("dlq_reason") == 1


def test_long_reasons_are_truncated_on_a_character_boundary():
    headers = dict(dead_letter_headers(topic="t", partition=0, offset=0, error_class="X", reason="é" * 5000,
                                       original_headers=None))
    assert len(headers["dlq_reason"]) <= MAX_REASON_BYTES
    assert headers["dlq_reason"].decode().endswith("[truncated]")
