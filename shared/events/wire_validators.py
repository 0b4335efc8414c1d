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
"""

from __future__ import annotations

import copy
from typing import Any, Final

from pydantic_core import SchemaValidator, core_schema

from shared.events.envelope import Event

MISSING: Final = ""  # never a valid correlationid, so it can only come from the default


def binary_validator(envelope: type[Event[Any]]) -> SchemaValidator:
    schema = copy.deepcopy(envelope.__pydantic_core_schema__)
    model = _envelope_model(schema, envelope)
    fields = model["schema"]["fields"]
    for name, field in fields.items():
        if name == "data":
            field["schema"] = core_schema.json_schema(field["schema"])
        else:
            field["validation_alias"] = f"ce_{name}"
            field["schema"] = _text_then(field["schema"])
    _default_correlationid(fields)
    _replace(schema, model, lambda node: node.get("type") == "function-after" and node.get("schema") is model)
    return SchemaValidator(schema)


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
