import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.events import ALL_EVENT_MODELS, decode, encode, encode_structured, peek_type

from .strategies import events

@pytest.mark.parametrize("model", ALL_EVENT_MODELS, ids=lambda model: model.event_type)
@settings(max_examples=30, deadline=None)
@given(data=st.data())
def test_binary_and_structured_round_trip_for_every_type(model, data):
    event = data.draw(events(model))

    binary = encode(event)
    structured = encode_structured(event)

    assert decode(binary.value, binary.headers, topic=binary.topic) == event
    assert decode(structured.value, structured.headers, topic=structured.topic) == event


@settings(max_examples=200, deadline=None)
@given(event=events())
def test_binary_record_is_routable_without_the_body(event):
    record = encode(event)

    assert peek_type(record.headers) == event.type
    assert record.key == event.data.aggregate_id.encode()
    assert record.topic == f"innovation.{event.department}.{type(event.data).stream}.v1"
    assert dict(record.headers)["ce_subject"] == event.subject.encode()
    assert dict(record.headers)["content-type"] == b"application/json"


def test_every_catalogue_type_is_registered_once():
    from shared.events import EVENT_TYPES

    assert len(EVENT_TYPES) == 18
    assert sorted(EVENT_TYPES) == sorted(model.event_type for model in ALL_EVENT_MODELS)
    assert {model.stream for model in EVENT_TYPES.values()} == {"ideas", "experiments", "outcomes"}
