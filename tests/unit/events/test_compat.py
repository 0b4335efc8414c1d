"""The compatibility check: committed schemas are current, breaking changes fail, additive ones pass."""

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Annotated, Literal
from uuid import UUID

import pytest
from pydantic import Field

from shared.events import EventData
from shared.events.compat import breaking_changes
from shared.events.json_schemas import SCHEMAS_DIR, data_schema, generated_schemas, load_committed, render

ROOT = Path(__file__).resolve().parents[3]
BACKED = "uk.gov.innovation.idea.backed.v1"
DECLINED = "uk.gov.innovation.idea.declined.v1"
REVIEWED = "uk.gov.innovation.idea.reviewed.v1"


def test_committed_schemas_are_exactly_the_generated_ones():
    assert load_committed() == generated_schemas()
    assert breaking_changes(load_committed(), generated_schemas()) == []


def test_check_command_passes_on_the_committed_schemas():
    result = subprocess.run([sys.executable, "-m", "shared.events.compat", "check"], cwd=ROOT,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def mutated(event_type, change):
    schemas = generated_schemas()
    committed = copy.deepcopy(schemas)
    change(schemas[event_type])
    return committed, schemas


BREAKING = {
    "field removed": (BACKED, lambda s: s["properties"].pop("staff_days"), "data.staff_days: field removed"),
    "field retyped": (BACKED, lambda s: s["properties"]["staff_days"].update(type="string"), "retyped"),
    "optional made required": (BACKED, lambda s: s["required"].append("note"), "optional field made required"),
    "enum value removed": (DECLINED, lambda s: s["properties"]["reason"]["enum"].remove("other"), "'other'"),
    "bound tightened": (BACKED, lambda s: s["properties"]["timebox_weeks"].update(maximum=26), "maximum 52 -> 26"),
    "nested bound": (REVIEWED, lambda s: s["$defs"]["Scores"]["properties"]["impact"].update(minimum=2),
                     "data.scores.impact: bound tightened"),
    "closed object": (BACKED, lambda s: s.update(additionalProperties=False), "additionalProperties"),
    "new required field": (BACKED, lambda s: (s["properties"].update(x={"type": "string"}),
                                              s["required"].append("x")), "new field is required"),
}


@pytest.mark.parametrize("name", BREAKING)
def test_breaking_changes_are_listed(name):
    event_type, change, expected = BREAKING[name]
    committed, current = mutated(event_type, change)
    problems = breaking_changes(committed, current)
    assert any(expected in line and line.startswith(event_type) for line in problems), problems


ADDITIVE = {
    "new optional field": lambda s: s["properties"].update(channel={"anyOf": [{"type": "string"}, {"type": "null"}],
                                                                    "default": None}),
    "bound loosened": lambda s: s["properties"]["timebox_weeks"].update(maximum=104),
    "integer widened to number": lambda s: s["properties"]["timebox_weeks"].update(type="number"),
    "required made optional": lambda s: s["required"].remove("staff_days"),
}


@pytest.mark.parametrize("name", ADDITIVE)
def test_additive_changes_pass(name):
    committed, current = mutated(BACKED, ADDITIVE[name])
    assert breaking_changes(committed, current) == []


def test_new_enum_value_and_new_event_type_pass():
    committed, current = mutated(DECLINED, lambda s: s["properties"]["reason"]["enum"].append("on_hold"))
    current["uk.gov.innovation.idea.archived.v1"] = {"type": "object", "properties": {}}
    assert breaking_changes(committed, current) == []


class IdeaDeclinedFixture(EventData):
    """A deliberately breaking edit of idea.declined.v1: `note` gone, an enum value dropped."""

    event_type = DECLINED
    stream = "ideas"
    aggregate_id_field = "idea_id"

    idea_id: UUID
    by: Annotated[str, Field(pattern=r"^p_[0-9a-f]{16}$")]
    reason: Literal["duplicate", "out_of_scope", "not_feasible", "other"]


def test_a_breaking_model_fixture_fails_against_the_committed_schema():
    problems = breaking_changes(load_committed(), {**generated_schemas(), DECLINED: data_schema(IdeaDeclinedFixture)})
    assert f"{DECLINED}: data.note: field removed" in problems
    assert any("enum value(s) removed: ['insufficient_evidence']" in line for line in problems)


def test_check_command_fails_readably_and_write_refuses(tmp_path):
    for event_type, schema in generated_schemas().items():
        (tmp_path / f"{event_type}.json").write_text(render(schema))
    published = json.loads((tmp_path / f"{BACKED}.json").read_text())
    published["properties"]["legacy_code"] = {"type": "string"}  # a field the models no longer have
    (tmp_path / f"{BACKED}.json").write_text(render(published))

    for command in ("check", "write"):
        result = subprocess.run([sys.executable, "-m", "shared.events.compat", command, "--schemas", str(tmp_path)],
                                cwd=ROOT, capture_output=True, text=True)
        assert result.returncode == 1
        assert f"{BACKED}: data.legacy_code: field removed" in result.stdout
    assert "legacy_code" in (tmp_path / f"{BACKED}.json").read_text()
    assert SCHEMAS_DIR != tmp_path
