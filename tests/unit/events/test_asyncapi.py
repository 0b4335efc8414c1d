"""The committed AsyncAPI document is current and valid against the official AsyncAPI 3.0.0 JSON Schema."""

import json
import subprocess
from pathlib import Path

import jsonschema
import pytest
import yaml

from shared.events import ALL_EVENT_MODELS
from shared.events.asyncapi import DOCUMENT_PATH, render

TOOLS = Path(__file__).resolve().parents[3] / "tools" / "asyncapi"
SPEC = TOOLS / "node_modules" / "@asyncapi" / "specs" / "schemas" / "3.0.0-without-$id.json"


@pytest.fixture(scope="module")
def asyncapi_3_validator():
    if not SPEC.exists():  # the pinned @asyncapi/specs package, from tools/asyncapi/package-lock.json
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=TOOLS, check=True, timeout=300)
    spec = json.loads(SPEC.read_text())
    return jsonschema.Draft7Validator(spec)


def test_committed_document_is_current():
    assert DOCUMENT_PATH.read_text() == render(), "run: python -m shared.events.asyncapi write"


def test_committed_document_is_valid_asyncapi_3(asyncapi_3_validator):
    document = yaml.safe_load(DOCUMENT_PATH.read_text())
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in asyncapi_3_validator.iter_errors(document)]
    assert errors == []


def test_the_validator_is_not_a_rubber_stamp(asyncapi_3_validator):
    document = yaml.safe_load(DOCUMENT_PATH.read_text())
    document["operations"]["sendIdeas"]["action"] = "publish"  # AsyncAPI 2 wording, invalid in 3
    assert list(asyncapi_3_validator.iter_errors(document))


def test_every_topic_and_message_is_described():
    document = yaml.safe_load(DOCUMENT_PATH.read_text())
    addresses = {channel["address"] for channel in document["channels"].values()}
    assert addresses == {"innovation.{department}.ideas.v1", "innovation.{department}.experiments.v1",
                         "innovation.{department}.outcomes.v1", "innovation.dlq.{service}"}
    names = {message["name"] for message in document["components"]["messages"].values()}
    assert {model.event_type for model in ALL_EVENT_MODELS} <= names
