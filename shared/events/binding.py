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
    FieldProblem,
    MalformedEvent,
    MissingAttribute,
    SchemaViolation,
    StreamMismatch,
    UpcastFailed,
    schema_violation,
)
from shared.events.registry import DEFAULT_REGISTRY, Registry, Resolution
from shared.events.topics import parse_topic, topic_name
from shared.events.wire_validators import MISSING

DEFAULT_MAX_BYTES = 1_048_576
JSON = "application/json"
STRUCTURED_JSON = "application/cloudevents+json; charset=utf-8"

_JSON_BYTES = JSON.encode()
_BYTES = (bytes, bytearray, memoryview)
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
        if key == "ce_type" and isinstance(value, _BYTES):
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
    # This is every consumer's hot path: the common case (binary mode, a current type, our own headers) is
    # a few dict look-ups around one pydantic-core call that leaves nothing to do in Python; anything
    # else, and any record it refuses, takes the general path below, which decides and names the error.
    if type(value) is not bytes:
        value = _as_bytes(value)
    if len(value) > max_bytes:
        raise EventTooLarge(f"the record value is {len(value)} bytes; the maximum is {max_bytes}")
    try:
        fields = dict(headers) if headers is not None else {}
    except (TypeError, ValueError):
        raise MalformedEvent("the headers are not a sequence of (name, bytes) pairs") from None
    raw_type = fields.get("ce_type")
    plan = registry.binary_plans.get(raw_type) if type(raw_type) is bytes else None
    if plan is not None and fields.get("content-type", _JSON_BYTES) == _JSON_BYTES:
        validator, dataschema, prefix, known_topics, plain, _ = plan
        subject = fields.get("ce_subject", prefix)
        if (
            type(subject) is bytes
            and subject.startswith(prefix)
            and fields.get("ce_dataschema", dataschema) == dataschema
        ):
            fields["data"] = value
            try:
                event = validator.validate_python(fields)
            except ValidationError:
                pass  # decoded again below, the exact way: binary mode or not, and which error
            else:
                if not plain:
                    event = _finish(event)
                # The department header passed validation, so equal bytes are an equal department.
                if topic is not None and fields["ce_department"] != known_topics.get(topic):
                    _check_topic(event, topic, known_topics)
                return event
    content_type = fields.get("content-type")
    if "ce_specversion" in fields and (content_type is None or content_type == _JSON_BYTES or not _is_structured(content_type)):
        event = _decode_binary(value, fields, content_type, registry, upcast)
    else:
        # Structured mode, also when a producer left out both the ce_ headers and the content-type.
        event = _decode_structured(value, registry, upcast)
    if topic is not None:
        _check_topic(event, topic)
    return event


def _decode_binary(
    value: bytes, fields: dict[Any, Any], content_type: Any, registry: Registry, upcast: bool
) -> Event[Any]:
    if content_type is not None and content_type != _JSON_BYTES and _media_type(content_type) != JSON:
        raise MalformedEvent(f"content-type {content_type!r} is not supported; binary-mode data must be {JSON}")
    raw_type = fields.get("ce_type")
    if type(raw_type) is not bytes:
        if not isinstance(raw_type, _BYTES):
            raise MissingAttribute([name for name in _REQUIRED if f"ce_{name}" not in fields] or ["type"])
        raw_type = bytes(raw_type)
    resolution = registry.resolve(raw_type, upcast=upcast)
    if resolution.upcasters:
        value = orjson.dumps(_upcast(resolution, _load_object(value, "body")))
        fields["ce_type"] = resolution.type_header
        fields.pop("ce_dataschema", None)
    _check_derived(fields.get("ce_dataschema"), fields.get("ce_subject"), resolution)
    fields["data"] = value
    try:
        event = resolution.binary.validate_python(fields)
    except ValidationError as error:
        raise _violation(error, binary=True) from None
    if event.correlationid is MISSING or event.time.utcoffset() or resolution.model.department_field:
        return _finish(event)
    return event


def _decode_structured(value: bytes, registry: Registry, upcast: bool) -> Event[Any]:
    document = _load_object(value, "structured event")
    event_type = document.get("type")
    if not isinstance(event_type, str):
        raise MissingAttribute(["type"]) if event_type is None else MalformedEvent("type is not a string")
    resolution = registry.resolve(event_type, upcast=upcast)
    if "data" not in document and "data_base64" in document:
        document["data"] = _load_object(_base64(document.pop("data_base64")), "data_base64")
    if resolution.upcasters and "data" in document:
        document["data"] = _upcast(resolution, document["data"])
        document["type"] = resolution.model.event_type
        document.pop("dataschema", None)
    dataschema, subject = _utf8(document.get("dataschema")), _utf8(document.get("subject"))
    if (dataschema is not None and dataschema != resolution.dataschema_header) or (
        subject is not None and not (isinstance(subject, bytes) and subject.startswith(resolution.subject_prefix))
    ):
        _reject_derived(dataschema, subject, resolution)
    try:
        # Back through JSON so that strict fields read dates and numbers exactly as in binary mode.
        event = resolution.structured.validate_json(orjson.dumps(document))
    except orjson.JSONEncodeError:
        raise MalformedEvent("the event is nested too deeply") from None
    except ValidationError as error:
        raise _violation(error, binary=False) from None
    return _finish(event)


def _finish(event: Event[Any]) -> Event[Any]:
    if event.correlationid is MISSING:
        event.__dict__["correlationid"] = str(event.id)
    try:
        return event.normalised()
    except ValueError as error:
        raise SchemaViolation([FieldProblem("data", "value_error", str(error))]) from None


def _check_derived(dataschema: Any, subject: Any, resolution: Resolution) -> None:
    """Binary mode: the ce_dataschema and ce_subject headers, if sent, must agree with the type."""
    if (dataschema is not None and dataschema != resolution.dataschema_header) or (
        subject is not None and not (type(subject) is bytes and subject.startswith(resolution.subject_prefix))
    ):
        _reject_derived(dataschema, subject, resolution)


def _reject_derived(dataschema: Any, subject: Any, resolution: Resolution) -> None:
    """subject and dataschema are derived from the data; a producer that sends them must agree."""
    problems = []
    if dataschema is not None and dataschema != resolution.dataschema_header:
        problems.append(FieldProblem("dataschema", "dataschema_mismatch",
                                     f"must be {resolution.model.dataschema} for {resolution.model.event_type}"))
    prefix = resolution.subject_prefix
    if subject is not None and not (isinstance(subject, bytes) and subject.startswith(prefix)):
        problems.append(FieldProblem("subject", "subject_mismatch",
                                     f"must be {prefix.decode()}<{resolution.model.aggregate_id_field}>"))
    raise SchemaViolation(problems)


def _upcast(resolution: Resolution, raw: Any) -> Any:
    if not isinstance(raw, dict):
        raise MalformedEvent("the data is not a JSON object")
    for step in resolution.upcasters:
        try:
            raw = step(raw)
        except Exception as error:  # an upcaster is plain code over untrusted data
            raise UpcastFailed(f"upcasting to {resolution.model.event_type} failed: {error!r}") from None
    return raw


def _violation(error: ValidationError, *, binary: bool) -> DecodeError:
    problems = error.errors(include_url=False, include_input=False)
    missing = [_attribute(p["loc"][0], binary) for p in problems if p["type"] == "missing" and len(p["loc"]) == 1]
    if missing:
        return MissingAttribute(missing)
    for problem in problems:
        if problem["type"] == "json_invalid":
            return MalformedEvent(f"the data is not valid JSON: {problem['msg']}")
        if problem["type"] == "string_unicode":
            return MalformedEvent(f"{_attribute(problem['loc'][0], binary)} is not UTF-8 text")
        if problem["type"] in {"model_type", "model_attributes_type"} and tuple(problem["loc"]) == ("data",):
            return MalformedEvent("the data is not a JSON object")
    return schema_violation(error, rename=lambda name: _attribute(name, binary))


def _attribute(loc: Any, binary: bool) -> str:
    name = str(loc)
    return name[3:] if binary and name.startswith("ce_") else name


def _media_type(content_type: bytes) -> str:
    try:
        return content_type.decode().split(";", 1)[0].strip().lower()
    except (UnicodeDecodeError, AttributeError):
        raise MalformedEvent("the content-type header is not text") from None


def _base64(encoded: Any) -> bytes:
    if not isinstance(encoded, str):
        raise MalformedEvent("data_base64 is not a string")
    try:
        return base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise MalformedEvent("data_base64 is not valid base64") from None


def _utf8(value: Any) -> Any:
    return value.encode() if isinstance(value, str) else value


def _load_object(value: bytes, what: str) -> dict[str, Any]:
    try:
        document = orjson.loads(value)
    except orjson.JSONDecodeError as error:
        raise MalformedEvent(f"the {what} is not valid JSON: {error}") from None
    if not isinstance(document, dict):
        raise MalformedEvent(f"the {what} is not a JSON object")
    return document


def _as_bytes(value: Any) -> bytes:
    if value is None:
        raise MalformedEvent("the record has no value (a tombstone), so it carries no event")
    if not isinstance(value, _BYTES):
        raise MalformedEvent(f"the record value is {type(value).__name__}, not bytes")
    return bytes(value)


def _is_structured(content_type: Any) -> bool:
    return isinstance(content_type, _BYTES) and bytes(content_type[:23]).lower() == b"application/cloudevents"


_KNOWN_TOPICS_MAX = 4096


def _check_topic(event: Event[Any], topic: str, known_topics: dict[str, bytes] | None = None) -> None:
    """The event's department and stream must be the topic's; `known_topics` (of the event's stream)
    remembers a departmental topic that passed, as topic -> department header bytes."""
    parsed = parse_topic(topic)
    if parsed is None:
        return  # not a departmental topic (e.g. a dead-letter topic being replayed)
    department, stream = parsed
    if event.department != department:
        raise DepartmentMismatch(event.department, topic, department)
    if type(event.data).stream != stream:
        raise StreamMismatch(event.type, type(event.data).stream, topic)
    if known_topics is not None:
        if len(known_topics) >= _KNOWN_TOPICS_MAX:
            known_topics.clear()
        known_topics[topic] = department.encode()


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
