"""decode's fast path (binary mode, a current type) gives exactly what the general path gives.

The general path is the decoder without its fast plans (a registry whose `binary_plans` is empty);
whatever the record, both must return equal events (same attributes, same fields set, time in the same
time zone) or raise the same DecodeError with the same reason.
"""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.events import DEFAULT_REGISTRY, DecodeError, DepartmentMismatch, StreamMismatch, decode, encode, new_event
from shared.events.examples import EXAMPLES

from tests.unit.events.strategies import events, header_values

GENERAL = DEFAULT_REGISTRY.copy()
GENERAL.binary_plans = {}
RECORDS = [encode(new_event(d, department=getattr(d, "adopting_department", "dwp"), service="fast")) for d in EXAMPLES]
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def outcome(value, headers, **kwargs):
    try:
        event = decode(value, headers, **kwargs)
    except DecodeError as error:
        return type(error), error.reason
    return event, event.model_dump(), dict(event.__dict__), event.__pydantic_fields_set__, event.time.tzinfo


def assert_same(value, headers, **kwargs):
    fast = outcome(value, headers, **kwargs)
    general = outcome(value, headers, registry=GENERAL, **kwargs)
    if isinstance(fast[0], type):
        assert fast == general
        return None
    assert type(fast[0]) is type(general[0])
    assert fast[1:4] == general[1:4]
    assert type(fast[4]) is type(general[4]) and fast[0].time.utcoffset() == general[0].time.utcoffset()
    return fast[0]


def without(record, *names):
    return [(n, v) for n, v in record.headers if n not in names]


def replaced(record, name, value):
    return [(n, value if n == name else v) for n, v in record.headers]


@pytest.mark.parametrize("record", RECORDS, ids=lambda r: r.headers[3][1].decode())
def test_every_type_as_we_publish_it(record):
    event = assert_same(record.value, record.headers, topic=record.topic)
    assert event is not None and event.type.encode() in DEFAULT_REGISTRY.binary_plans


@pytest.mark.parametrize("record", RECORDS[:2] + RECORDS[-1:], ids=lambda r: r.headers[3][1].decode())
@pytest.mark.parametrize(
    "headers",
    [
        pytest.param(lambda r: without(r, "ce_correlationid"), id="no correlationid: the id"),
        pytest.param(lambda r: without(r, "ce_causationid", "ce_subject", "ce_dataschema", "content-type"),
                     id="only what is required"),
        pytest.param(lambda r: without(r, "ce_specversion"), id="no specversion: structured mode"),
        pytest.param(lambda r: replaced(r, "ce_time", b"2025-06-01T10:00:00+01:00"), id="time not in UTC"),
        pytest.param(lambda r: replaced(r, "ce_time", b"2025-06-01T10:00:00+00:00"), id="time +00:00"),
        pytest.param(lambda r: replaced(r, "ce_time", b"2025-06-01T10:00:00-00:00"), id="time -00:00"),
        pytest.param(lambda r: replaced(r, "ce_time", b"2025-06-01T10:00:00"), id="time without zone"),
        pytest.param(lambda r: replaced(r, "ce_specversion", b"0.3"), id="specversion 0.3"),
        pytest.param(lambda r: replaced(r, "ce_id", b"0123456789abcdef"), id="16-byte id"),
        pytest.param(lambda r: replaced(r, "ce_subject", b"experiments/1"), id="subject of another collection"),
        pytest.param(lambda r: replaced(r, "ce_subject", "ideas/1"), id="subject as text"),
        pytest.param(lambda r: replaced(r, "ce_dataschema", b"urn:x"), id="another dataschema"),
        pytest.param(lambda r: replaced(r, "content-type", b"application/json; charset=utf-8"), id="charset"),
        pytest.param(lambda r: replaced(r, "content-type", "application/json"), id="content-type as text"),
        pytest.param(lambda r: replaced(r, "ce_type", bytearray(r.headers[3][1])), id="type as bytearray"),
        pytest.param(lambda r: replaced(r, "ce_type", memoryview(r.headers[3][1])), id="type as memoryview"),
        pytest.param(lambda r: replaced(r, "ce_department", "dwp"), id="department as text"),
        pytest.param(lambda r: replaced(r, "ce_department", b"DWP"), id="department not a code"),
        pytest.param(lambda r: r.headers + [("ce_datacontenttype", b"text/plain")], id="ce_datacontenttype"),
        pytest.param(lambda r: r.headers + [("data", b"{}")], id="a header named data"),
        pytest.param(lambda r: r.headers + [("ce_department", b"hmrc")], id="department twice, last wins"),
    ],
)
def test_each_way_off_the_common_case(record, headers):
    assert_same(record.value, headers(record), topic=record.topic)
    assert_same(record.value, headers(record))


@FUZZ
@given(record=st.sampled_from(RECORDS), name=st.sampled_from([n for n, _ in RECORDS[0].headers]),
       value=header_values | st.none() | st.integers() | st.text())
def test_one_header_replaced_by_anything(record, name, value):
    assert_same(record.value, replaced(record, name, value), topic=record.topic)


@FUZZ
@given(event=events(), data=st.data())
def test_any_valid_event(event, data):
    record = encode(event)
    topic = data.draw(st.sampled_from([record.topic, "innovation.other.ideas.v1", "innovation.dlq.reporting", None]))
    assert_same(record.value, record.headers, topic=topic)


def test_a_topic_passed_once_still_refuses_another_department_or_stream():
    record = RECORDS[0]  # idea.submitted by dwp
    assert decode(record.value, record.headers, topic=record.topic).department == "dwp"
    other = encode(new_event(EXAMPLES[0], department="hmrc", service="fast"))

    with pytest.raises(DepartmentMismatch):
        decode(other.value, other.headers, topic=record.topic)
    with pytest.raises(StreamMismatch):
        decode(record.value, record.headers, topic="innovation.dwp.outcomes.v1")
    assert decode(record.value, record.headers, topic="innovation.dlq.reporting").department == "dwp"
    assert decode(record.value, record.headers, topic=record.topic).department == "dwp"
