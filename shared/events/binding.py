"""The CloudEvents Kafka protocol binding: events to Kafka records and back.

We publish binary mode (attributes in `ce_*` headers, body = data) so that
consumers can route on `ce_type` without reading the body; we read both
binary and structured mode (`application/cloudevents+json`).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple

import orjson
from pydantic import ValidationError

from shared.events.envelope import Event
from shared.events.errors import (
    DecodeError,
    DepartmentMismatch,
    EventTooLarge,
    MalformedEvent,
    MissingAttribute,
    StreamMismatch,
    UpcastFailed,
    schema_violation,
)
from shared.events.registry import DEFAULT_REGISTRY, Registry, Resolution
from shared.events.topics import parse_topic, topic_name

DEFAULT_MAX_BYTES = 1_048_576
JSON = "application/json"
STRUCTURED_JSON = "application/cloudevents+json; charset=utf-8"

# Attributes we read; any other ce_* header is an extension we ignore unread.
_ATTRIBUTES = frozenset(
    {"specversion", "id", "source", "type", "subject", "time", "datacontenttype", "dataschema",
     "department", "correlationid", "causationid"}
)
_REQUIRED = ("specversion", "id", "source", "type", "time", "department")


class KafkaRecord(NamedTuple):
    topic: str
    key: bytes
    value: bytes
    headers: list[tuple[str, bytes]]


def encode(event: Event[Any]) -> KafkaRecord:
    """Binary mode: attributes as `ce_*` headers, the data as the JSON body."""
    headers = [(f"ce_{name}", value.encode()) for name, value in _attributes(event).items()]
    headers.append(("content-type", JSON.encode()))
    data = event.data
    return KafkaRecord(_topic(event), data.aggregate_id.encode(), data.__pydantic_serializer__.to_json(data), headers)


def encode_structured(event: Event[Any]) -> KafkaRecord:
    """Structured mode: the whole event as one JSON object."""
    document: dict[str, Any] = {**_attributes(event), "datacontenttype": JSON}
    document["data"] = event.data.model_dump(mode="json")
    return KafkaRecord(
        _topic(event),
        event.data.aggregate_id.encode(),
        orjson.dumps(document),
        [("content-type", STRUCTURED_JSON.encode())],
    )


def peek_type(headers: Sequence[tuple[str, bytes]] | None) -> str | None:
    """The `ce_type` header, without reading the body (None in structured mode or when unreadable)."""
    for key, value in headers or ():
        if key == "ce_type" and isinstance(value, bytes | bytearray):
            try:
                return bytes(value).decode()
            except UnicodeDecodeError:
                return None
    return None


def decode(
    value: bytes | None,
    headers: Sequence[tuple[str, bytes]] | None,
    *,
    topic: str | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    upcast: bool = True,
    registry: Registry = DEFAULT_REGISTRY,
) -> Event[Any]:
    """A typed event from one Kafka record, or a DecodeError saying why not.

    With `topic`, the event's department and stream must be the topic's.
    With `upcast`, older major versions are upcast to the newest one the registry knows.
    """
    if value is None:
        raise MalformedEvent("the record has no value (a tombstone), so it carries no event")
    if not isinstance(value, bytes | bytearray | memoryview):
        raise MalformedEvent(f"the record value is {type(value).__name__}, not bytes")
    if len(value) > max_bytes:
        raise EventTooLarge(f"the record value is {len(value)} bytes; the maximum is {max_bytes}")
    attributes, content_type = _read_headers(headers)
    if content_type is not None and content_type.lower().startswith("application/cloudevents"):
        event = _decode_structured(value, registry, upcast)
    elif "specversion" in attributes:
        event = _decode_binary(value, attributes, content_type, registry, upcast)
    else:
        # No ce_ headers: a structured event whose producer left out the content-type.
        event = _decode_structured(value, registry, upcast)
    if topic is not None:
        _check_topic(event, topic)
    return event


def _decode_binary(
    value: bytes, attributes: dict[str, str], content_type: str | None, registry: Registry, upcast: bool
) -> Event[Any]:
    _require(attributes)
    if content_type is not None and content_type.split(";", 1)[0].strip().lower() != JSON:
        raise MalformedEvent(f"content-type {content_type!r} is not supported; the data must be {JSON}")
    resolution = registry.resolve(attributes["type"], upcast=upcast)
    if resolution.upcasters:
        data = _validate_data(resolution, _upcast(resolution, _load_object(value, "body")))
    else:
        try:
            data = resolution.model.__pydantic_validator__.validate_json(value)
        except ValidationError as error:
            raise _body_error(error) from None
    return _envelope(resolution, attributes, data)


def _decode_structured(value: bytes, registry: Registry, upcast: bool) -> Event[Any]:
    document = _load_object(value, "structured event")
    attributes = {name: document[name] for name in _ATTRIBUTES if name in document}
    _require(attributes)
    if not isinstance(attributes["type"], str):
        raise MalformedEvent("the type attribute is not a string")
    resolution = registry.resolve(attributes["type"], upcast=upcast)
    raw = _structured_data(document)
    data = _validate_data(resolution, _upcast(resolution, raw) if resolution.upcasters else raw)
    return _envelope(resolution, attributes, data)


def _structured_data(document: dict[str, Any]) -> Any:
    if "data_base64" in document and "data" not in document:
        encoded = document["data_base64"]
        if not isinstance(encoded, str):
            raise MalformedEvent("data_base64 is not a string")
        try:
            return _load_object(base64.b64decode(encoded, validate=True), "data_base64")
        except (binascii.Error, ValueError):
            raise MalformedEvent("data_base64 is not valid base64") from None
    if "data" not in document:
        raise MissingAttribute(["data"])
    return document["data"]


def _validate_data(resolution: Resolution, raw: Any) -> Any:
    # Through JSON so that strict fields read dates and numbers exactly as in binary mode.
    try:
        body = orjson.dumps(raw)
    except TypeError:  # orjson.JSONEncodeError: nesting deeper than orjson writes
        raise MalformedEvent("the data is nested too deeply") from None
    try:
        return resolution.model.__pydantic_validator__.validate_json(body)
    except ValidationError as error:
        raise _body_error(error) from None


def _upcast(resolution: Resolution, raw: Any) -> Any:
    if not isinstance(raw, dict):
        raise MalformedEvent("the data is not a JSON object")
    for step in resolution.upcasters:
        try:
            raw = step(raw)
        except Exception as error:  # an upcaster is plain code over untrusted data
            raise UpcastFailed(f"upcasting to {resolution.model.event_type} failed: {error!r}") from None
    return raw


def _envelope(resolution: Resolution, attributes: dict[str, Any], data: Any) -> Event[Any]:
    model = resolution.model
    fields = dict(attributes)
    fields["data"] = data
    fields.pop("datacontenttype", None)
    if resolution.upcasters:
        fields["type"] = model.event_type
        fields["dataschema"] = model.dataschema()
    else:
        fields.setdefault("dataschema", model.dataschema())
    fields.setdefault("subject", data.subject)
    fields.setdefault("correlationid", attributes["id"])
    try:
        return resolution.envelope.model_validate(fields)
    except ValidationError as error:
        raise schema_violation(error) from None


def _body_error(error: ValidationError) -> DecodeError:
    first = error.errors(include_url=False, include_input=False)[0]
    if first["type"] == "json_invalid":
        return MalformedEvent(f"the body is not valid JSON: {first['msg']}")
    if first["type"] in {"model_type", "model_attributes_type"} and not first["loc"]:
        return MalformedEvent("the body is not a JSON object")
    return schema_violation(error, within="data")


def _load_object(value: bytes | str, what: str) -> dict[str, Any]:
    try:
        document = orjson.loads(value)
    except orjson.JSONDecodeError as error:
        raise MalformedEvent(f"the {what} is not valid JSON: {error}") from None
    if not isinstance(document, dict):
        raise MalformedEvent(f"the {what} is not a JSON object")
    return document


def _read_headers(headers: Sequence[tuple[str, bytes]] | None) -> tuple[dict[str, str], str | None]:
    attributes: dict[str, str] = {}
    content_type: str | None = None
    if headers is None:
        return attributes, None
    try:
        for key, raw in headers:
            if not isinstance(key, str):
                raise MalformedEvent("a header name is not a string")
            if key[:3] == "ce_":
                name = key[3:]
                if name not in _ATTRIBUTES or raw is None:
                    continue
                if name in attributes:
                    raise MalformedEvent(f"header {key} appears more than once")
                attributes[name] = _header_text(key, raw)
            elif key.lower() == "content-type" and raw is not None:
                content_type = _header_text(key, raw)
    except (TypeError, ValueError):
        raise MalformedEvent("the headers are not a sequence of (name, bytes) pairs") from None
    return attributes, content_type


def _header_text(key: str, raw: bytes) -> str:
    if not isinstance(raw, bytes | bytearray | memoryview):
        raise MalformedEvent(f"header {key} is not bytes")
    try:
        return bytes(raw).decode()
    except UnicodeDecodeError:
        raise MalformedEvent(f"header {key} is not UTF-8") from None


def _require(attributes: dict[str, Any]) -> None:
    missing = [name for name in _REQUIRED if attributes.get(name) in (None, "")]
    if missing:
        raise MissingAttribute(missing)


def _check_topic(event: Event[Any], topic: str) -> None:
    parsed = parse_topic(topic)
    if parsed is None:
        return  # not a departmental topic (e.g. a dead-letter topic being replayed)
    department, stream = parsed
    if event.department != department:
        raise DepartmentMismatch(event.department, topic, department)
    if type(event.data).stream != stream:
        raise StreamMismatch(event.type, type(event.data).stream, topic)


def _attributes(event: Event[Any]) -> dict[str, str]:
    attributes = {
        "specversion": event.specversion,
        "id": str(event.id),
        "source": event.source,
        "type": event.type,
        "subject": event.subject,
        "time": _rfc3339(event.time),
        "dataschema": event.dataschema,
        "department": event.department,
        "correlationid": event.correlationid,
    }
    if event.causationid is not None:
        attributes["causationid"] = event.causationid
    return attributes


def _rfc3339(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _topic(event: Event[Any]) -> str:
    return topic_name(event.department, type(event.data).stream)
