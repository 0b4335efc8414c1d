"""The dead-letter command without a broker: its arguments, what it reads out of a dead letter,
which ones its filters select, and how it prints them."""

import base64
import json
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from aiokafka import ConsumerRecord

from shared.dead_letters import (
    Command,
    DeadLetter,
    DeadLetterSettings,
    Selection,
    list_line,
    parse,
    replay_order,
    sent_line,
    show_text,
)
from shared.events import encode, encode_structured
from shared.events.dead_letter import dead_letter_headers
from tests.support.events import submitted

T0 = datetime(2025, 3, 1, 9, 30, tzinfo=timezone.utc)
ORIGINAL = "innovation.dwp.ideas.v1"


def record(*, headers, key=b"k", value=b"v", partition=0, offset=7, timestamp=0, topic="innovation.dlq.experiments"):
    return ConsumerRecord(topic, partition, offset, timestamp, 0, key, value, None, 0, 0, headers)


def letter(*, original_headers=(), error_class="EventTooLarge", reason="too big", at=T0, topic=ORIGINAL,
           original_partition=2, original_offset=40, more_headers=(), **fields) -> DeadLetter:
    """A dead letter as the project's writer (shared.events.dead_letter) makes it, read back."""
    headers = dead_letter_headers(topic=topic, partition=original_partition, offset=original_offset,
                                  error_class=error_class, reason=reason, original_headers=list(original_headers))
    headers += list(more_headers)
    headers = [(n, at.isoformat().replace("+00:00", "Z").encode()) if n == "dlq_time" else (n, v) for n, v in headers]
    return DeadLetter.from_record(record(headers=headers, **fields))


# -- arguments -------------------------------------------------------------------------------------


def test_list_takes_every_filter_and_repeats():
    command = parse(["list", "--service", "experiments", "--service", "innovation.dlq.reporting",
                     "--service", "experiments", "--original-topic", ORIGINAL, "--error-class", "EventTooLarge",
                     "--error-class", "Rejected", "--source", "/departments/dwp/ideas",
                     "--since", "2025-03-01", "--until", "2025-03-02T10:00:00+01:00"])
    assert command.name == "list" and command.services == ("experiments", "reporting")
    assert command.selection == Selection(
        original_topics=frozenset({ORIGINAL}), error_classes=frozenset({"EventTooLarge", "Rejected"}),
        sources=frozenset({"/departments/dwp/ideas"}), since=datetime(2025, 3, 1, tzinfo=timezone.utc),
        until=datetime(2025, 3, 2, 9, 0, tzinfo=timezone.utc),
    )


def test_show_and_replay_take_the_ids_list_prints():
    assert parse(["show", "experiments:2:15"]) == Command("show", ids=(("experiments", 2, 15),))
    replay = parse(["replay", "experiments:0:1", "innovation.dlq.reporting:1:9", "--dry-run"])
    assert replay.ids == (("experiments", 0, 1), ("reporting", 1, 9)) and replay.dry_run


@pytest.mark.parametrize(("argv", "complaint"), [
    ([], "required"),
    (["list", "--service", "Experiments"], "not valid for a dead-letter topic"),
    (["list", "--since", "yesterday"], "not an ISO 8601 time"),
    (["list", "--since", "2025-03-02", "--until", "2025-03-01"], "--since must be before --until"),
    (["show"], "required"),
    (["show", "experiments:0"], "not a dead letter id"),
    (["show", "experiments:0:-1"], "cannot be negative"),
    (["replay"], "replay needs --service"),
    (["replay", "--error-class", "Rejected"], "replay needs --service"),
    (["replay", "experiments:0:1", "--service", "experiments"], "not both"),
    (["replay", "experiments:0:1", "--since", "2025-01-01"], "not both"),
    (["list", "--dry-run"], "unrecognized arguments"),
])
def test_a_bad_argument_is_one_line_and_exit_status_2(argv, complaint, capsys):
    with pytest.raises(SystemExit) as stopped:
        parse(argv)
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert complaint in err and err.count("\n") == 1 and "usage:" not in err


def test_the_replay_help_says_why_replaying_twice_is_harmless(capsys):
    with pytest.raises(SystemExit):
        parse(["replay", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "harmless" in help_text and "inbox (consumer, source, id)" in help_text
    assert "--dry-run" in help_text


def test_the_settings_need_no_database_password_of_their_own(monkeypatch):
    """The command opens no database, so the local default URL (a published password) does not stop it."""
    monkeypatch.delenv("INNOVATION_DEVELOPMENT_MODE", raising=False)
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "broker:9092")
    assert DeadLetterSettings().kafka_bootstrap_servers == "broker:9092"


# -- reading a dead letter -------------------------------------------------------------------------


def test_a_dead_letter_gives_back_the_original_record_and_says_where_from_and_why():
    event = encode(submitted("dwp"))
    read = letter(original_headers=event.headers, key=event.key, value=event.value, partition=1, offset=12,
                  reason="the record value is 3000 bytes; the maximum is 1500")
    assert read.id == "experiments:1:12"
    assert (read.original_topic, read.original_partition, read.original_offset) == (ORIGINAL, 2, 40)
    assert read.error_class == "EventTooLarge" and read.reason.startswith("the record value is 3000 bytes")
    assert read.time == T0
    assert read.replay_headers == list(event.headers)
    assert read.cloudevent == {"type": "uk.gov.innovation.idea.submitted.v1",
                               "id": dict(event.headers)["ce_id"].decode(), "source": "/departments/dwp/ideas"}


def test_a_structured_event_names_its_type_id_and_source_from_its_body():
    event = encode_structured(submitted("dwp"))
    read = letter(original_headers=event.headers, value=event.value)
    assert read.cloudevent["source"] == "/departments/dwp/ideas" and read.cloudevent["type"].endswith("submitted.v1")
    assert letter(original_headers=[("content-type", b"application/cloudevents+json")], value=b"{not json").cloudevent == {}


def test_a_dead_letter_without_dlq_time_is_dated_by_its_record_timestamp():
    read = DeadLetter.from_record(record(headers=[("dlq_original_topic", ORIGINAL.encode())],
                                         timestamp=int(T0.timestamp() * 1000)))
    assert read.time == T0 and read.original_partition is None and read.error_class == "?"


def test_headers_the_client_could_not_read_are_shown_and_not_replayed():
    unreadable = json.dumps([[base64.b64encode(b"\xff\xfe").decode(), base64.b64encode(b"x").decode()],
                             [base64.b64encode(b"\xc3").decode(), None]]).encode()
    read = letter(original_headers=[("ce_id", b"1")], more_headers=[("dlq_unreadable_headers", unreadable)])
    assert read.unreadable_headers == [(b"\xff\xfe", b"x"), (b"\xc3", None)]
    assert read.replay_headers == [("ce_id", b"1")]
    assert "without 2 unreadable header(s)" in sent_line(read, 0, 5, dry_run=False)
    shown = show_text(read)
    assert "not re-sent by replay" in shown and "hex ff fe: x" in shown and "hex c3: (null)" in shown


# -- which ones ------------------------------------------------------------------------------------


def test_each_filter_selects_and_all_given_must_hold():
    big = letter(original_headers=[("ce_source", b"/departments/dwp/ideas")])
    other = letter(topic="innovation.hmrc.ideas.v1", error_class="MalformedEvent", at=T0 + timedelta(hours=1))
    assert Selection().matches(big) and Selection().matches(other)
    assert [Selection(original_topics=frozenset({ORIGINAL})).matches(x) for x in (big, other)] == [True, False]
    assert [Selection(error_classes=frozenset({"MalformedEvent"})).matches(x) for x in (big, other)] == [False, True]
    assert [Selection(sources=frozenset({"/departments/dwp/ideas"})).matches(x) for x in (big, other)] == [True, False]
    assert not Selection(original_topics=frozenset({ORIGINAL}), error_classes=frozenset({"MalformedEvent"})).matches(big)


def test_since_is_inclusive_until_exclusive_and_an_undated_letter_matches_no_time_range():
    at_t0 = letter(at=T0)
    assert Selection(since=T0).matches(at_t0) and not Selection(until=T0).matches(at_t0)
    assert Selection(until=T0 + timedelta(microseconds=1)).matches(at_t0)
    assert not Selection(since=T0 + timedelta(microseconds=1)).matches(at_t0)
    undated = DeadLetter.from_record(record(headers=[]))
    assert Selection().matches(undated) and not Selection(since=T0).matches(undated)


def test_replay_goes_in_original_order():
    letters = [letter(original_partition=p, original_offset=o, offset=n)
               for n, (p, o) in enumerate([(1, 5), (0, 9), (1, 2), (0, 3)])]
    ordered = replay_order(letters)
    assert [(x.original_partition, x.original_offset) for x in ordered] == [(0, 3), (0, 9), (1, 2), (1, 5)]


# -- how it prints ---------------------------------------------------------------------------------


def test_a_list_line_has_the_whole_story_on_one_line():
    event_id = str(uuid.uuid4())
    line = list_line(letter(original_headers=[("ce_type", b"t.v1"), ("ce_id", event_id.encode()),
                                              ("ce_source", b"/departments/dwp/ideas")],
                            reason="first line\nsecond line", partition=1, offset=12))
    assert "\n" not in line
    assert line.split("  ")[:5] == ["experiments:1:12", "2025-03-01T09:30:00.000Z", f"{ORIGINAL}[2]@40",
                                    "EventTooLarge", '"first line second line"']
    assert line.endswith(f"type=t.v1  id={event_id}  source=/departments/dwp/ideas")


def test_a_long_reason_is_cut_in_the_list_and_whole_in_show():
    reason = "x" * 500
    assert "x" * 157 + "..." in list_line(letter(reason=reason)) and reason not in list_line(letter(reason=reason))
    assert reason in show_text(letter(reason=reason))


def test_hostile_bytes_cannot_drive_the_terminal():
    """A record's contents are untrusted: an escape sequence is printed escaped, never sent as is."""
    hostile = letter(reason="\x1b[2J\x1b]0;owned\x07", original_headers=[("ce_source", b"\x1b[31mred")],
                     value="caf\u00e9 \x1b[5m".encode())
    for text in (list_line(hostile), show_text(hostile)):
        assert "\x1b" not in text and "\x07" not in text
    assert '"\\u001b[2J\\u001b]0;owned\\u0007"' in list_line(hostile) and "source=\\x1b[31mred" in list_line(hostile)


def test_show_prints_text_as_text_and_binary_as_hex():
    text = show_text(letter(value=b'{"idea_id": "not closed\n', key=None, reason="unterminated string"))
    assert 'value (24 bytes, text):\n{"idea_id": "not closed\n' in text
    assert "key: (null)" in text and "reason        unterminated string" in text
    assert "dlq_error_class: EventTooLarge" in text
    binary = show_text(letter(value=bytes(range(20))))
    assert "value (20 bytes, binary, hex):" in binary
    assert "00000000  00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f\n00000010  10 11 12 13" in binary
    assert "value: (null)" in show_text(letter(value=None))


def test_what_replay_prints():
    read = letter(original_headers=[("ce_id", b"abc")], partition=0, offset=3)
    assert sent_line(read, 2, 57, dry_run=False) == f"sent experiments:0:3 -> {ORIGINAL}[2]@57  EventTooLarge  id=abc"
    assert sent_line(read, None, None, dry_run=True) == f"would send experiments:0:3 -> {ORIGINAL}[2]  EventTooLarge  id=abc"
