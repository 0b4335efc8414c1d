"""Validators that read an envelope straight off the wire in one pydantic-core call.

They are the envelope's own core schema, re-aliased, so the field rules stay
those of `Event` and the result is an `Event` instance:

- binary mode: the input is `dict(kafka_headers)` plus `data` = the raw body;
  each attribute is read from its `ce_<name>` header as UTF-8 text, and the
  body is parsed as JSON by the data model: no per-header Python work. The
  envelope's after-validator is left out; the decoder calls
  `Event.normalised()` itself (the type check it would do is implied by the
  decoder choosing the model from the type).
- structured mode: the input is the whole JSON body.

In both, a missing `correlationid` defaults to MISSING; the decoder then uses the id.

- fast binary mode (`fast_binary_validator`): the binary validator made stricter so
  that whatever it accepts needs no Python afterwards: `ce_specversion` is
  required (without it the record is not binary mode), `ce_time` must be in UTC
  (no normalising needed) and a missing `correlationid` is the event's id at once.
  The decoder tries it first and, on any error, decodes the record again the
  exact way above, so the errors (and everything it does not accept) stay those
  of the binary validator.
"""

from __future__ import annotations

import copy
from typing import Any, Final

from pydantic_core import SchemaValidator, core_schema

from shared.events.envelope import Event

MISSING: Final = ""  # never a valid correlationid, so it can only come from the default


def binary_validator(envelope: type[Event[Any]]) -> SchemaValidator:
    schema, fields = _binary_schema(envelope)
    _default_correlationid(fields)
    return SchemaValidator(schema)


def fast_binary_validator(envelope: type[Event[Any]]) -> SchemaValidator:
    """The binary validator, accepting only what needs no Python afterwards (see the module's doc)."""
    schema, fields = _binary_schema(envelope)
    specversion = fields["specversion"]["schema"]
    if specversion.get("type") != "default":
        raise LookupError("the envelope's specversion has no default to remove")
    fields["specversion"]["schema"] = specversion["schema"]  # required: no ce_specversion, no binary mode
    time = fields["time"]["schema"]
    if time.get("type") != "datetime" or time.get("tz_constraint") != "aware":
        raise LookupError("the envelope's time is not an aware datetime")
    fields["time"]["schema"] = {**time, "tz_constraint": 0}  # UTC: a zero offset, "Z" or "+00:00"
    correlationid = fields["correlationid"]
    correlationid["schema"] = core_schema.with_default_schema(
        correlationid["schema"], default_factory=_own_id, default_factory_takes_data=True
    )
    return SchemaValidator(schema)


def _own_id(validated: dict[str, Any]) -> str:
    """The default correlationid: the event's own id. Without a valid id the event is refused anyway
    (pydantic-core calls this even when the id is missing), so the value then does not matter."""
    event_id = validated.get("id")
    return MISSING if event_id is None else str(event_id)


def _binary_schema(envelope: type[Event[Any]]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The envelope's core schema read from headers, and its fields (to adjust before building)."""
    schema = copy.deepcopy(envelope.__pydantic_core_schema__)
    model = _envelope_model(schema, envelope)
    fields = model["schema"]["fields"]
    for name, field in fields.items():
        if name == "data":
            field["schema"] = core_schema.json_schema(field["schema"])
        else:
            field["validation_alias"] = f"ce_{name}"
            field["schema"] = _text_then(field["schema"])
    _replace(schema, model, lambda node: node.get("type") == "function-after" and node.get("schema") is model)
    return schema, fields


def structured_validator(envelope: type[Event[Any]]) -> SchemaValidator:
    schema = copy.deepcopy(envelope.__pydantic_core_schema__)
    _default_correlationid(_envelope_model(schema, envelope)["schema"]["fields"])
    return SchemaValidator(schema)


def _nodes(schema: Any) -> list[dict[str, Any]]:
    found, pending = [], [schema]
    while pending:
        node = pending.pop()
        if isinstance(node, dict):
            found.append(node)
            pending.extend(node.values())
        elif isinstance(node, list):
            pending.extend(node)
    return found


def _envelope_model(schema: Any, envelope: type[Event[Any]]) -> dict[str, Any]:
    for node in _nodes(schema):
        if node.get("type") == "model" and node.get("cls") is envelope:
            return node
    raise LookupError(f"no model schema of {envelope.__name__} in its own core schema")


def _replace(schema: dict[str, Any], model: dict[str, Any], is_wrapper: Any) -> None:
    """Unwrap the envelope's after-validator, wherever the core schema put it."""
    for node in _nodes(schema):
        for key, child in list(node.items()):
            if isinstance(child, dict) and is_wrapper(child):
                node[key] = model
                return
    raise LookupError("the envelope's after-validator was not found in its core schema")


def _text_then(schema: dict[str, Any]) -> dict[str, Any]:
    """Header bytes must be UTF-8 text; the attribute's own rule applies to that text.

    pydantic reads bytes as text for strings and datetimes itself; a UUID it
    would read from 16 raw bytes, and a literal not at all, so those go
    through a string first.
    """
    if schema.get("type") in {"default", "nullable"}:
        return {**schema, "schema": _text_then(schema["schema"])}
    if schema.get("type") in {"uuid", "literal"}:
        return core_schema.chain_schema([core_schema.str_schema(), schema])
    return schema


def _default_correlationid(fields: dict[str, Any]) -> None:
    field = fields["correlationid"]
    field["schema"] = core_schema.with_default_schema(field["schema"], default=MISSING)
