"""The consumer looks for header names that were not UTF-8 on the wire only once this process has read a
batch leniently: until then no record can carry one (aiokafka's own readers refuse them), and after it
every record is looked at, so such a record is still dead-lettered as UnreadableHeader."""

import pytest
from aiokafka import ConsumerRecord

from shared import kafka_records
from shared.consumer import read_event
from shared.events.errors import UnreadableHeader
from tests.unit.test_kafka_records import _batch, _read

HOSTILE = b"\xff\xfe".decode("utf-8", "surrogateescape")


def _record(headers) -> ConsumerRecord:
    return ConsumerRecord("innovation.dwp.ideas.v1", 0, 0, 0, 0, b"k", b"{}", None, 1, 2, tuple(headers))


@pytest.fixture
def fresh_process(monkeypatch):
    monkeypatch.setattr(kafka_records._Reads, "lenient", False)  # noqa: SLF001 - as in a process that read none


def test_readable_batches_leave_the_per_record_look_off(fresh_process):
    _read(_batch([(b"k1", b"v1", [("ce_id", b"1")])]))
    assert kafka_records.may_be_unreadable([(HOSTILE, b"x")]) == []  # such a name cannot exist yet


def test_a_lenient_read_turns_the_look_on_before_its_records_arrive(fresh_process):
    data = _batch([(b"k1", b"hostile", [("XX", b"x"), ("ce_id", b"2")])], hostile_name=b"\xff\xfe")
    [hostile] = _read(data)
    [(name, value)] = kafka_records.may_be_unreadable(hostile.headers)
    assert kafka_records.raw_name(name) == b"\xff\xfe" and value == b"x"
    assert kafka_records.may_be_unreadable([("ce_id", b"1")]) == []
    with pytest.raises(UnreadableHeader):
        read_event(_record(hostile.headers))
