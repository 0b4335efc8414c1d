"""JSON Schemas of the event data models: generated from the models, committed under shared/schemas/."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from shared.events.base import EventData
from shared.events.registry import ALL_EVENT_MODELS

SCHEMAS_DIR = Path(__file__).resolve().parent.parent / "schemas"


def data_schema(model: type[EventData]) -> dict[str, Any]:
    schema = model.model_json_schema(mode="validation")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": model.dataschema,
        "title": model.event_type,
        **{key: value for key, value in schema.items() if key != "title"},
    }


def generated_schemas(models: tuple[type[EventData], ...] = ALL_EVENT_MODELS) -> dict[str, dict[str, Any]]:
    return {model.event_type: data_schema(model) for model in models}


def schema_file(directory: Path, event_type: str) -> Path:
    return directory / f"{event_type}.json"


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def load_committed(directory: Path = SCHEMAS_DIR) -> dict[str, dict[str, Any]]:
    return {path.stem: json.loads(path.read_text()) for path in sorted(directory.glob("uk.gov.innovation.*.json"))}
