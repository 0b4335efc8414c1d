"""Events built by the official CloudEvents Python SDK decode into our models, and back."""

import json
from uuid import uuid4

import pytest
from cloudevents.v1.http import CloudEvent
from cloudevents.v1.kafka import KafkaMessage, from_binary, from_structured, to_binary, to_structured
from hypothesis import given, settings

from shared.events import IdeaSubmitted, decode, encode, encode_structured

from .strategies import events

TOPIC = "innovation.dwp.ideas.v1"


def sdk_event(**extra):
    idea_id = str(uuid4())
    attributes = {
        "type": "uk.gov.innovation.idea.submitted.v1",
        "source": "/departments/dwp/idea-box",
        "id": str(uuid4()),
        "subject": f"ideas/{idea_id}",
        "time": "2025-03-04T10:15:00+01:00",
        "datacontenttype": "application/json",
        "department": "dwp",
        "correlationid": "flow-42",
        "partitionkey": idea_id,
        **extra,
    }
    data = {
        "idea_id": idea_id,
        "title": "Share one form",
        "problem": "Two forms ask the same thing.",
        "proposal": "Merge them.",
        "themes": ["customer-service"],
        "submitted_by": "p_0123456789abcdef",
    }
    return CloudEvent(attributes, data), attributes, data


@pytest.mark.parametrize("to_kafka", [to_binary, to_structured], ids=["binary", "structured"])
def test_an_sdk_event_decodes_into_our_model(to_kafka):
    cloud_event, attributes, data = sdk_event(tenant="ignored-extension")
    message = to_kafka(cloud_event)

    event = decode(message.value, list(message.headers.items()), topic=TOPIC)

    assert isinstance(event.data, IdeaSubmitted)
    assert str(event.id) == attributes["id"]
    assert str(event.data.idea_id) == data["idea_id"]
    assert event.data.themes == ("customer-service",)
    assert event.subject == attributes["subject"]
    assert event.source == attributes["source"]
    assert event.correlationid == "flow-42"
    assert event.causationid is None
    assert event.time.isoformat() == "2025-03-04T09:15:00+00:00"
    assert message.key == data["idea_id"]


@pytest.mark.parametrize(
    ("our_encoding", "sdk_decoding"), [(encode, from_binary), (encode_structured, from_structured)],
    ids=["binary", "structured"],
)
@settings(max_examples=50, deadline=None)
@given(event=events())
def test_the_sdk_reads_our_records_with_every_attribute(our_encoding, sdk_decoding, event):
    record = our_encoding(event)

    read = sdk_decoding(KafkaMessage(headers=dict(record.headers), key=record.key, value=record.value))

    attributes = read.get_attributes()
    assert attributes["specversion"] == "1.0"
    assert attributes["id"] == str(event.id)
    assert attributes["source"] == event.source
    assert attributes["type"] == event.type
    assert attributes["subject"] == event.subject
    assert attributes["dataschema"] == event.dataschema
    # In structured mode the SDK reports the Kafka content-type header here, not the body's attribute.
    body_datacontenttype = json.loads(record.value)["datacontenttype"] if our_encoding is encode_structured else None
    assert "application/json" in (attributes["datacontenttype"], body_datacontenttype)
    assert attributes["department"] == event.department
    assert attributes["correlationid"] == event.correlationid
    assert attributes.get("causationid") == event.causationid
    assert attributes["time"] == event.time.isoformat().replace("+00:00", "Z")
    data = read.get_data()
    data = json.loads(data) if isinstance(data, bytes | str) else data
    assert data == event.data.model_dump(mode="json")
