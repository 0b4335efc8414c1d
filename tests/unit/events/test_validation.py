"""The catalogue's limits, bounds and enums, as a consumer sees them: a SchemaViolation naming the field."""

import json
from uuid import uuid4

import pytest

from shared.events import (
    DepartmentMismatch,
    IdeaReviewed,
    IdeaSubmitted,
    MissingAttribute,
    SchemaViolation,
    StreamMismatch,
    decode,
    encode,
    new_event,
)
from shared.events.examples import EXAMPLES

BY_TYPE = {type(example).event_name: example for example in EXAMPLES}


def record_with(event_name, department="dwp", **changes):
    example = BY_TYPE[event_name]
    record = encode(new_event(example, department=department, service="test"))
    data = json.loads(record.value)
    for path, value in changes.items():
        target = data
        *parents, leaf = path.split("__")
        for parent in parents:
            target = target[parent]
        if value is DELETE:
            del target[leaf]
        else:
            target[leaf] = value
    return record._replace(value=json.dumps(data).encode())


DELETE = object()

INVALID = [
    ("idea.submitted", "title", "ab", "string_too_short"),
    ("idea.submitted", "title", "x" * 201, "string_too_long"),
    ("idea.submitted", "problem", "x" * 5001, "string_too_long"),
    ("idea.submitted", "proposal", "x" * 5001, "string_too_long"),
    ("idea.submitted", "expected_benefits", "x" * 2001, "string_too_long"),
    ("idea.submitted", "themes", [f"t{i}" for i in range(11)], "too_long"),
    ("idea.submitted", "themes", ["Net Zero"], "string_pattern_mismatch"),
    ("idea.submitted", "campaign", "One_Big_Thing", "string_pattern_mismatch"),
    ("idea.submitted", "submitted_by", "alice@dwp.gov.uk", "string_pattern_mismatch"),
    ("idea.submitted", "submitted_by", "p_0123456789ABCDEF", "string_pattern_mismatch"),
    ("idea.submitted", "submitted_by", "p_0123456789abcde", "string_pattern_mismatch"),
    ("idea.submitted", "idea_id", "not-a-uuid", "uuid_parsing"),
    ("idea.submitted", "title", DELETE, "missing"),
    ("idea.endorsed", "endorsed_by", "Bob Smith", "string_pattern_mismatch"),
    ("idea.reviewed", "scores__impact", 0, "greater_than_equal"),
    ("idea.reviewed", "scores__alignment", 6, "less_than_equal"),
    ("idea.reviewed", "scores__feasibility", "5", "int_type"),
    ("idea.reviewed", "scores__value_for_money", 4.0, "int_type"),
    ("idea.backed", "budget_gbp", -1, "greater_than_equal"),
    ("idea.backed", "staff_days", -0.5, "greater_than_equal"),
    ("idea.backed", "timebox_weeks", 0, "greater_than_equal"),
    ("idea.backed", "timebox_weeks", 53, "less_than_equal"),
    ("idea.declined", "reason", "too_expensive", "literal_error"),
    ("idea.declined", "note", DELETE, "missing"),
    ("idea.merged", "into_department", "Not A Dept", "string_pattern_mismatch"),
    ("conversation.recorded", "participants", 0, "greater_than_equal"),
    ("conversation.recorded", "participants", 501, "less_than_equal"),
    ("conversation.recorded", "ideas_raised", -1, "greater_than_equal"),
    ("conversation.recorded", "held_on", 1741000000, "date_type"),
    ("conversation.recorded", "held_on", "2025-02-30", "date_parsing"),
    ("experiment.planned", "squad_size", 0, "greater_than_equal"),
    ("experiment.planned", "squad_size", 51, "less_than_equal"),
    ("experiment.planned", "measure__direction", "sideways", "literal_error"),
    ("experiment.measurement_recorded", "value", "12", "float_type"),
    ("outcome.recorded", "result", "won", "literal_error"),
    ("outcome.recorded", "recommendation", "celebrate", "literal_error"),
    ("outcome.recorded", "learnings", [], "too_short"),
    ("outcome.recorded", "learnings", ["a lesson"] * 21, "too_long"),
    ("outcome.recorded", "benefits__people_affected", -3, "greater_than_equal"),
    ("outcome.recorded", "benefits__cash_savings_gbp_per_year", -0.01, "greater_than_equal"),
    ("outcome.adopted", "adopted_by", "carol", "string_pattern_mismatch"),
]


@pytest.mark.parametrize(("event_name", "field", "value", "rule"), INVALID, ids=lambda v: str(v)[:30])
def test_each_limit_is_refused_with_the_field_and_rule(event_name, field, value, rule):
    department = "hmrc" if event_name == "outcome.adopted" else "dwp"
    record = record_with(event_name, department, **{field: value})

    with pytest.raises(SchemaViolation) as raised:
        decode(record.value, record.headers, topic=record.topic)

    path = "data." + field.replace("__", ".")
    assert any(p.path.startswith(path) and p.rule == rule for p in raised.value.problems), raised.value.reason
    assert path.split(".")[1] in raised.value.reason


VALID_EDGES = [
    ("idea.submitted", "title", "abc"),
    ("idea.submitted", "title", "x" * 200),
    ("idea.submitted", "themes", [f"t{i}" for i in range(10)]),
    ("idea.submitted", "themes", []),
    ("idea.submitted", "expected_benefits", None),
    ("idea.reviewed", "scores__impact", 1),
    ("idea.reviewed", "scores__impact", 5),
    ("idea.backed", "budget_gbp", 0),
    ("idea.backed", "timebox_weeks", 52),
    ("conversation.recorded", "participants", 500),
    ("outcome.recorded", "learnings", ["one"] * 20),
    ("outcome.recorded", "benefits", {}),
]


@pytest.mark.parametrize(("event_name", "field", "value"), VALID_EDGES, ids=lambda v: str(v)[:30])
def test_values_on_the_bounds_are_accepted(event_name, field, value):
    record = record_with(event_name, **{field: value})
    assert decode(record.value, record.headers, topic=record.topic).data


def test_unknown_data_fields_and_extensions_are_ignored():
    record = record_with("idea.endorsed", mood="cheerful", endorsed_at="today")
    headers = record.headers + [("ce_traceparent", b"00-abc-01"), ("ce_partitionkey", b"\xff not utf-8")]

    event = decode(record.value, headers, topic=record.topic)

    assert event.data == BY_TYPE["idea.endorsed"]
    assert not hasattr(event.data, "mood")


def test_department_must_match_the_topic():
    record = record_with("idea.endorsed", department="hmrc")
    with pytest.raises(DepartmentMismatch, match="'hmrc' does not match topic 'innovation.dwp.ideas.v1'"):
        decode(record.value, record.headers, topic="innovation.dwp.ideas.v1")


def test_stream_must_match_the_topic():
    record = record_with("idea.endorsed")
    with pytest.raises(StreamMismatch, match="ideas stream"):
        decode(record.value, record.headers, topic="innovation.dwp.outcomes.v1")


def test_adopting_department_is_the_events_department():
    record = record_with("outcome.adopted", department="hmrc", adopting_department="dwp")
    with pytest.raises(SchemaViolation, match="adopting_department must equal"):
        decode(record.value, record.headers, topic=record.topic)


def test_missing_attributes_are_named():
    record = encode(new_event(BY_TYPE["idea.endorsed"], department="dwp", service="test"))
    headers = [(n, v) for n, v in record.headers if n not in ("ce_time", "ce_source")]
    with pytest.raises(MissingAttribute, match="source, time"):
        decode(record.value, headers)


def test_optional_attributes_are_derived():
    record = encode(new_event(BY_TYPE["idea.endorsed"], department="dwp", service="test"))
    kept = {"ce_specversion", "ce_id", "ce_source", "ce_type", "ce_time", "ce_department"}
    event = decode(record.value, [(n, v) for n, v in record.headers if n in kept])

    assert event.correlationid == str(event.id)
    assert event.subject == f"ideas/{BY_TYPE['idea.endorsed'].idea_id}"
    assert event.dataschema == "urn:uk.gov.innovation:schema:idea.endorsed:1"


@pytest.mark.parametrize(
    ("header", "value", "rule"),
    [("ce_subject", b"experiments/1", "subject_mismatch"), ("ce_dataschema", b"urn:x", "dataschema_mismatch"),
     ("ce_time", b"2025-01-01T10:00:00", "timezone_aware"), ("ce_time", b"yesterday", "datetime_from_date_parsing"),
     ("ce_specversion", b"0.3", "literal_error"), ("ce_department", b"DWP", "string_pattern_mismatch"),
     ("ce_id", b"0123456789abcdef", "uuid_parsing")],
)
def test_bad_attributes_are_schema_violations(header, value, rule):
    record = encode(new_event(BY_TYPE["idea.endorsed"], department="dwp", service="test"))
    headers = [(n, value if n == header else v) for n, v in record.headers]
    with pytest.raises(SchemaViolation) as raised:
        decode(record.value, headers)
    assert [p.rule for p in raised.value.problems] == [rule]
    assert raised.value.problems[0].path == header.removeprefix("ce_")


def test_time_is_normalised_to_utc():
    record = encode(new_event(BY_TYPE["idea.endorsed"], department="dwp", service="test"))
    headers = [(n, b"2025-06-01T10:00:00+01:00" if n == "ce_time" else v) for n, v in record.headers]
    assert decode(record.value, headers).time.isoformat() == "2025-06-01T09:00:00+00:00"


def test_python_construction_applies_the_same_rules():
    with pytest.raises(ValueError, match="string_pattern_mismatch|should match pattern"):
        IdeaReviewed(idea_id=uuid4(), reviewer="Jane", scores={"impact": 1, "feasibility": 1,
                                                                "value_for_money": 1, "alignment": 1})
    with pytest.raises(ValueError, match="department code 'DWP' is not valid"):
        new_event(BY_TYPE["idea.endorsed"], department="DWP", service="test")
    assert isinstance(BY_TYPE["idea.submitted"], IdeaSubmitted)
