"""A consumer that knows v2 receives v1 events upcast to v2 (a test-only v2: there is no production v2)."""

from typing import Annotated

import pytest
from pydantic import StringConstraints

from shared.events import (
    DEFAULT_REGISTRY,
    EVENT_TYPES,
    EventData,
    IdeaWithdrawn,
    UnknownEventType,
    UnknownMajorVersion,
    UpcastFailed,
    decode,
    encode,
    encode_structured,
    new_event,
)
from shared.events.examples import EXAMPLES

V1 = "uk.gov.innovation.idea.withdrawn.v1"
V2 = "uk.gov.innovation.idea.withdrawn.v2"


class IdeaWithdrawnV2(EventData):
    event_type = V2
    stream = "ideas"
    aggregate_id_field = "idea_id"

    idea_id: str
    withdrawn_by: Annotated[str, StringConstraints(pattern=r"^p_[0-9a-f]{16}$")]  # renamed from `by`
    reason: str


@pytest.fixture
def registry():
    registry = DEFAULT_REGISTRY.copy()
    registry.register(IdeaWithdrawnV2)

    @registry.upcaster(V1, V2)
    def upcast_v1_v2(data):
        return {"idea_id": data["idea_id"], "withdrawn_by": data.pop("by"), "reason": "not recorded in v1"}

    return registry


V1_EVENT = new_event(next(e for e in EXAMPLES if isinstance(e, IdeaWithdrawn)), department="dwp", service="ideas")


@pytest.mark.parametrize("encoding", [encode, encode_structured], ids=["binary", "structured"])
def test_v1_events_reach_a_v2_consumer_as_v2(registry, encoding):
    record = encoding(V1_EVENT)

    event = decode(record.value, record.headers, topic=record.topic, registry=registry)

    assert isinstance(event.data, IdeaWithdrawnV2)
    assert event.type == V2
    assert event.dataschema == "urn:uk.gov.innovation:schema:idea.withdrawn:2"
    assert event.data.withdrawn_by == V1_EVENT.data.by
    assert event.data.reason == "not recorded in v1"
    assert (event.id, event.time, event.correlationid) == (V1_EVENT.id, V1_EVENT.time, V1_EVENT.correlationid)


def test_v2_events_decode_as_they_are(registry):
    v2 = new_event(IdeaWithdrawnV2(idea_id=str(V1_EVENT.data.idea_id), withdrawn_by="p_0000000000000000",
                                   reason="moved team"), department="dwp", service="ideas")
    record = encode(v2)
    assert decode(record.value, record.headers, registry=registry) == v2


def test_upcasting_can_be_turned_off(registry):
    record = encode(V1_EVENT)
    assert decode(record.value, record.headers, registry=registry, upcast=False) == V1_EVENT


def test_the_default_registry_knows_no_v2():
    record = encode(V1_EVENT)
    assert V2 not in EVENT_TYPES
    assert decode(record.value, record.headers) == V1_EVENT
    headers = [(n, V2.encode() if n == "ce_type" else v) for n, v in record.headers]
    with pytest.raises(UnknownMajorVersion, match="knows v1"):
        decode(record.value, headers)


def test_unknown_major_and_unknown_type_differ(registry):
    record = encode(V1_EVENT)
    for wire_type, error in [("uk.gov.innovation.idea.withdrawn.v3", UnknownMajorVersion),
                             ("uk.gov.innovation.idea.teleported.v1", UnknownEventType),
                             ("com.example.other", UnknownEventType)]:
        headers = [(n, wire_type.encode() if n == "ce_type" else v) for n, v in record.headers]
        with pytest.raises(error):
            decode(record.value, headers, registry=registry)


def test_a_failing_upcaster_is_a_decode_error(registry):
    record = encode(V1_EVENT)
    with pytest.raises(UpcastFailed, match="KeyError"):
        decode(record.value.replace(b'"by"', b'"who"'), record.headers, registry=registry)


def test_upcasters_go_one_major_at_a_time(registry):
    with pytest.raises(ValueError, match="one major version to the next"):
        registry.upcaster(V1, "uk.gov.innovation.idea.withdrawn.v3")
