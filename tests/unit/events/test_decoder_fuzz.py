"""Whatever arrives, decode returns an event or raises one of our DecodeErrors: nothing else."""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.events import DecodeError, Event, EventTooLarge, MalformedEvent, decode, encode, encode_structured
from shared.events.examples import EXAMPLES
from shared.events import new_event
from tests.unit.events.strategies import header_values

RECORDS = [encode(new_event(d, department=getattr(d, "adopting_department", "dwp"), service="fuzz")) for d in EXAMPLES]
STRUCTURED = [encode_structured(new_event(d, department=getattr(d, "adopting_department", "dwp"), service="fuzz"))
              for d in EXAMPLES]
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

header_names = st.sampled_from(
    ["ce_specversion", "ce_id", "ce_source", "ce_type", "ce_subject", "ce_time", "ce_department",
     "ce_correlationid", "ce_causationid", "ce_dataschema", "content-type", "ce_other"]
) | st.text(max_size=12)
headers = st.lists(st.tuples(header_names, header_values), max_size=14)


def outcome(value, headers, **kwargs):
    try:
        return decode(value, headers, **kwargs)
    except DecodeError as error:
        assert error.reason and error.error_class == type(error).__name__
        return error


@FUZZ
@given(value=st.binary(max_size=512) | st.none(), headers=headers | st.none())
def test_random_bytes_and_headers(value, headers):
    assert isinstance(outcome(value, headers, topic="innovation.dwp.ideas.v1"), Event | DecodeError)


@FUZZ
@given(record=st.sampled_from(RECORDS + STRUCTURED), data=st.data())
def test_truncated_json(record, data):
    cut = data.draw(st.integers(0, len(record.value) - 1))
    assert isinstance(outcome(record.value[:cut], record.headers), DecodeError)


@FUZZ
@given(record=st.sampled_from(RECORDS), name=st.sampled_from([n for n, _ in RECORDS[0].headers]),
       value=header_values | st.none() | st.integers() | st.text())
def test_one_header_replaced_by_anything(record, name, value):
    replaced = [(n, value if n == name else v) for n, v in record.headers]
    assert isinstance(outcome(record.value, replaced), Event | DecodeError)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=10,
)


@FUZZ
@given(record=st.sampled_from(STRUCTURED), data=st.data(), wrong=json_values)
def test_wrong_types_in_any_field(record, data, wrong):
    document = json.loads(record.value)
    attribute = data.draw(st.sampled_from(sorted(document)))
    if isinstance(document["data"], dict) and data.draw(st.booleans()):
        document["data"][data.draw(st.sampled_from(sorted(document["data"])))] = wrong
    else:
        document[attribute] = wrong
    assert isinstance(outcome(json.dumps(document).encode(), record.headers), Event | DecodeError)


@pytest.mark.parametrize("depth", [100, 300, 2_000, 100_000])
@pytest.mark.parametrize("mode", ["binary", "structured", "inside data"])
def test_deep_nesting_is_refused_without_recursion_error(depth, mode):
    nested = b"[" * depth + b"]" * depth
    if mode == "binary":
        value, headers = nested, RECORDS[1].headers
    elif mode == "structured":
        value, headers = nested, STRUCTURED[1].headers
    else:
        value = STRUCTURED[1].value[:-2] + b',"x":' + nested + b"}}"
        headers = STRUCTURED[1].headers
    result = outcome(value, headers)
    if mode == "inside data" and depth <= 300:
        assert isinstance(result, Event | MalformedEvent)  # an unknown field, ignored or too deep to re-encode
    else:
        assert isinstance(result, MalformedEvent)


@pytest.mark.parametrize("record", [RECORDS[0], STRUCTURED[0]], ids=["binary", "structured"])
def test_ten_megabyte_body_is_refused_before_parsing(record):
    body = b"{" + b" " * (10 * 1024 * 1024) + b"}"  # valid JSON would parse; size alone refuses it
    with pytest.raises(EventTooLarge, match="maximum is 1048576"):
        decode(body, record.headers)


def test_configured_maximum_applies():
    record = RECORDS[0]
    with pytest.raises(EventTooLarge):
        decode(record.value, record.headers, max_bytes=len(record.value) - 1)
    assert decode(record.value, record.headers, max_bytes=len(record.value)).id


@pytest.mark.parametrize(
    "value",
    [b"\x00", b'{"idea_id": "\x00"}', b"\xff\xfe{}", b'{"title": "\xc3\x28"}', b"", b"null", b"123", b'"x"'],
)
def test_nul_bytes_non_utf8_and_non_objects_are_malformed_or_violations(value):
    for record in (RECORDS[0], STRUCTURED[0]):
        assert isinstance(outcome(value, record.headers), MalformedEvent | DecodeError)


def test_tombstone_is_malformed():
    with pytest.raises(MalformedEvent, match="tombstone"):
        decode(None, RECORDS[0].headers)
