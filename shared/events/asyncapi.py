"""The AsyncAPI 3 document of every topic and message, generated from the models.

    python -m shared.events.asyncapi write   # regenerate shared/asyncapi.yaml
    python -m shared.events.asyncapi check   # exit 1 if the committed document is stale
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import yaml
from pydantic.json_schema import models_json_schema

from shared.events.base import EventData
from shared.events.binding import encode
from shared.events.envelope import new_event
from shared.events.examples import EXAMPLES
from shared.events.registry import ALL_EVENT_MODELS
from shared.events.topics import DEPARTMENT_PATTERN, STREAMS

DOCUMENT_PATH = Path(__file__).resolve().parent.parent / "asyncapi.yaml"
_SCHEMAS = "#/components/schemas/"

_ATTRIBUTE_HEADERS: dict[str, dict[str, Any]] = {
    "ce_specversion": {"type": "string", "const": "1.0"},
    "ce_id": {"type": "string", "format": "uuid", "description": "The idempotency key everywhere downstream."},
    "ce_source": {"type": "string", "description": "/departments/<dept>/<service or system>"},
    "ce_subject": {"type": "string", "description": "<collection>/<aggregate id>, e.g. ideas/<idea_id>"},
    "ce_time": {"type": "string", "format": "date-time", "description": "RFC 3339, UTC"},
    "ce_department": {"type": "string", "pattern": DEPARTMENT_PATTERN,
                      "description": "Must equal the <department> of the topic, or the event is dead-lettered."},
    "ce_correlationid": {"type": "string", "description": "Carried from the first event of a flow."},
    "ce_causationid": {"type": "string", "description": "The id of the event or request that caused this one."},
    "content-type": {"type": "string", "const": "application/json"},
}
_REQUIRED_HEADERS = ["ce_specversion", "ce_id", "ce_source", "ce_type", "ce_time", "ce_department", "content-type"]


def build_document() -> dict[str, Any]:
    _, definitions = models_json_schema(
        [(model, "validation") for model in ALL_EVENT_MODELS], ref_template=_SCHEMAS + "{model}"
    )
    schemas: dict[str, Any] = dict(sorted(definitions["$defs"].items()))
    messages = {model.__name__: _message(model) for model in ALL_EVENT_MODELS}
    channels: dict[str, Any] = {
        stream: {
            "address": f"innovation.{{department}}.{stream}.v1",
            "title": f"A department's {stream} stream",
            "parameters": {"department": {"description": f"Department code, matching {DEPARTMENT_PATTERN}",
                                          "examples": ["dwp", "hmrc", "natural-england"]}},
            "messages": {
                model.__name__: {"$ref": f"#/components/messages/{model.__name__}"}
                for model in ALL_EVENT_MODELS if model.stream == stream
            },
        }
        for stream in STREAMS
    }
    channels["deadLetters"] = {
        "address": "innovation.dlq.{service}",
        "title": "Dead letters of one consuming service",
        "description": "The original record, byte for byte, with dlq_* headers saying where it came from and why.",
        "parameters": {"service": {"description": "The consuming service", "examples": ["reporting"]}},
        "messages": {"DeadLetter": {"$ref": "#/components/messages/DeadLetter"}},
    }
    messages["DeadLetter"] = {
        "name": "DeadLetter",
        "title": "A record that could not be decoded",
        "headers": {
            "type": "object",
            "properties": {name: {"type": "string"} for name in (
                "dlq_original_topic", "dlq_original_partition", "dlq_original_offset",
                "dlq_error_class", "dlq_reason", "dlq_time")},
            "required": ["dlq_original_topic", "dlq_original_partition", "dlq_original_offset",
                         "dlq_error_class", "dlq_reason", "dlq_time"],
        },
        "payload": {"description": "The original bytes, unchanged"},
    }
    operations: dict[str, Any] = {}
    for channel in channels:
        for action in ("send", "receive"):
            operations[f"{action}{channel[0].upper()}{channel[1:]}"] = {
                "action": action,
                "channel": {"$ref": f"#/channels/{channel}"},
                "messages": [{"$ref": f"#/channels/{channel}/messages/{name}"} for name in channels[channel]["messages"]],
            }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Innovation network events",
            "version": "1.0.0",
            "description": (
                "CloudEvents 1.0 on the Kafka protocol binding. Producers publish binary mode (attributes in "
                "ce_* headers, body = data); consumers also accept structured mode "
                "(content-type application/cloudevents+json). Unknown data fields and unknown extension "
                "attributes are ignored. Each message's payload is its `data`."
            ),
        },
        "defaultContentType": "application/json",
        "channels": channels,
        "operations": operations,
        "components": {"schemas": schemas, "messages": messages},
    }


def _message(model: type[EventData]) -> dict[str, Any]:
    example = next(example for example in EXAMPLES if type(example) is model)
    department = getattr(example, "adopting_department", "dwp")
    record = encode(new_event(example, department=department, service=model.stream))
    headers = dict(record.headers)
    stable = {"ce_id": "0f0e0d0c-0b0a-4908-8706-050403020100", "ce_time": "2025-04-07T09:30:00Z",
              "ce_correlationid": "0f0e0d0c-0b0a-4908-8706-050403020100"}
    return {
        "name": model.event_type,
        "title": model.__name__,
        "summary": (model.__doc__ or model.event_type).strip().splitlines()[0],
        "contentType": "application/json",
        "headers": {
            "type": "object",
            "properties": {**_ATTRIBUTE_HEADERS, "ce_type": {"type": "string", "const": model.event_type},
                           "ce_dataschema": {"type": "string", "const": model.dataschema}},
            "required": _REQUIRED_HEADERS,
        },
        "payload": {"$ref": _SCHEMAS + model.__name__},
        "bindings": {"kafka": {"key": {"type": "string", "format": "uuid",
                                       "description": f"the {model.aggregate_id_field}"},
                               "bindingVersion": "0.5.0"}},
        "examples": [{
            "name": model.event_name,
            "headers": {name: stable.get(name, value.decode()) for name, value in headers.items()},
            "payload": example.model_dump(mode="json"),
        }],
    }


def render() -> str:
    return yaml.safe_dump(build_document(), sort_keys=False, allow_unicode=True, width=100)


def main(argv: list[str] | None = None) -> int:
    command = (argv if argv is not None else sys.argv[1:]) or ["check"]
    if command == ["write"]:
        DOCUMENT_PATH.write_text(render())
        print(f"wrote {DOCUMENT_PATH}")
        return 0
    if command == ["check"]:
        if DOCUMENT_PATH.exists() and DOCUMENT_PATH.read_text() == render():
            print(f"{DOCUMENT_PATH} is current")
            return 0
        print(f"{DOCUMENT_PATH} is stale; run `python -m shared.events.asyncapi write`")
        return 1
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main())
