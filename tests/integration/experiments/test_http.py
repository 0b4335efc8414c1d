"""The experiments HTTP surface on the real broker and database: the lifecycle, its refusals,
bad input, roles and departments."""

import uuid
from datetime import date, timedelta

import pytest

from services.experiments.domain import experiment_id_for
from shared.events import decode
from shared.events.pseudonym import pseudonymise
from shared.events.topics import topic_name
from tests.integration.experiments.support import FakeClock, running_experiments
from tests.support.db import fetchval
from tests.support.events import backed
from tests.support.kafka import publish, read_to_end
from tests.support.waiting import eventually

TODAY = date(2025, 3, 10)


def plan_body(**change):
    body = {
        "hypothesis": "A call-back script halves repeat calls",
        "measure": {"name": "Repeat calls", "unit": "calls/week", "baseline": 400, "target": 200, "direction": "decrease"},
        "starts_on": TODAY.isoformat(), "ends_on": (TODAY + timedelta(weeks=4)).isoformat(), "squad_size": 4,
    }
    return {**body, **change}


def outcome_body(**change):
    body = {"result": "succeeded", "summary": "Repeat calls fell by a third.",
            "learnings": ["Scripts help", "Train first"], "benefits": {"hours_saved_per_year": 900},
            "recommendation": "adopt_elsewhere"}
    return {**body, **change}


async def open_experiment(kafka_bootstrap, service, **backing) -> tuple[str, object]:
    idea = uuid.uuid4()
    event = backed(service.department, idea, **backing)
    await publish(kafka_bootstrap, event)
    experiment_id = str(experiment_id_for(service.department, idea))
    await eventually(lambda: fetchval(service.dsn, "SELECT true FROM experiments WHERE experiment_id = $1",
                                      uuid.UUID(experiment_id)), what="the experiment opened")
    return experiment_id, event


@pytest.fixture
async def service(kafka_bootstrap, new_database, department):
    dsn = await new_database("experiments")
    async with running_experiments(kafka_bootstrap, dsn, department, clock=FakeClock(TODAY)) as running:
        yield running


async def test_plan_start_measure_reschedule_complete_publishes_every_event_with_the_ideas_correlation(
    kafka_bootstrap, service,
):
    experiment_id, backing = await open_experiment(kafka_bootstrap, service)
    client, h = service.client, service.headers()
    base = f"/v1/experiments/{experiment_id}"
    assert (await client.post(f"{base}/plan", json=plan_body(), headers=h)).json()["status"] == "planning"
    started = await client.post(f"{base}/start", headers={**h, "X-Correlation-Id": "start-request-1"})
    assert started.status_code == 200 and started.json()["started_on"] == TODAY.isoformat()
    measured = await client.post(f"{base}/measurements", json={"measured_on": TODAY.isoformat(), "value": 380},
                                 headers=h)
    assert measured.json()["measurements"] == [{"measured_on": TODAY.isoformat(), "value": 380.0, "note": None,
                                                "recorded_by": pseudonymise(service.runtime.settings.pseudonym_secret,
                                                                            "alice")}]
    rescheduled = await client.post(f"{base}/reschedule", json={
        "ends_on": (TODAY + timedelta(weeks=5)).isoformat(), "reason": "a bank holiday"}, headers=h)
    assert rescheduled.status_code == 200
    completed = await client.post(f"{base}/complete", json=outcome_body(), headers=h)
    assert completed.status_code == 200, completed.text
    body = completed.json()
    assert body["status"] == "completed" and body["outcome"]["learnings"] == ["Scripts help", "Train first"]
    assert (await client.get(base, headers=service.headers("viewer"))).json() == body

    experiments_topic = topic_name(service.department, "experiments")
    outcomes_topic = topic_name(service.department, "outcomes")
    records = await eventually(
        lambda: _records_when(kafka_bootstrap, experiments_topic, 5), what="five experiment events published")
    events = [decode(r.value, r.headers, topic=experiments_topic) for r in records]
    assert [e.type.split(".")[-2] for e in events] == [
        "planned", "started", "measurement_recorded", "rescheduled", "completed"]
    assert {r.key for r in records} == {experiment_id.encode()}
    assert {e.correlationid for e in events} == {backing.correlationid}
    assert events[1].causationid == "start-request-1"
    assert all(e.causationid for e in events)
    outcomes = await eventually(lambda: _records_when(kafka_bootstrap, outcomes_topic, 1), what="outcome.recorded")
    recorded = decode(outcomes[0].value, outcomes[0].headers, topic=outcomes_topic)
    assert recorded.type == "uk.gov.innovation.outcome.recorded.v1"
    assert recorded.correlationid == backing.correlationid and outcomes[0].key == experiment_id.encode()
    assert str(recorded.data.outcome_id) == body["outcome"]["outcome_id"]
    assert recorded.data.benefits.hours_saved_per_year == 900


async def _records_when(kafka_bootstrap, topic, count):
    records = await read_to_end(kafka_bootstrap, topic)
    return sorted(records, key=lambda r: (r.partition, r.offset)) if len(records) >= count else None


async def test_invalid_transitions_are_refused_with_409_and_the_reason(kafka_bootstrap, service):
    experiment_id, _ = await open_experiment(kafka_bootstrap, service)
    client, h = service.client, service.headers()
    base = f"/v1/experiments/{experiment_id}"
    unplanned = await client.post(f"{base}/start", headers=h)
    assert unplanned.status_code == 409 and "before it is planned" in unplanned.json()["reason"]
    early = await client.post(f"{base}/complete", json=outcome_body(), headers=h)
    assert early.status_code == 409
    assert early.json()["error"] == "not allowed in the experiment's current state"
    assert early.json()["status"] == "planning"
    assert early.json()["detail"] == [{"field": "status", "rule": early.json()["reason"]}]
    assert "cannot complete an experiment that is planning" in early.json()["reason"]
    abandoned = await client.post(f"{base}/abandon", json={"reason": "priorities changed"},
                                  headers=service.headers("reviewer"))
    assert abandoned.status_code == 200 and abandoned.json()["status"] == "abandoned"
    again = await client.post(f"{base}/abandon", json={"reason": "twice"}, headers=service.headers("reviewer"))
    assert again.status_code == 409 and "that is abandoned" in again.json()["reason"]
    assert (await client.post(f"{base}/plan", json=plan_body(), headers=h)).status_code == 409


@pytest.mark.parametrize("path, body, field, rule", [
    ("plan", plan_body(ends_on=TODAY.isoformat()), "ends_on", "must be after starts_on"),
    ("plan", plan_body(ends_on=(TODAY - timedelta(days=3)).isoformat()), "ends_on", "must be after starts_on"),
    ("plan", plan_body(measure={"name": "Repeat calls", "unit": "calls", "baseline": 400, "target": 450,
                                "direction": "decrease"}), "measure.target", "less than measure.baseline"),
    ("plan", plan_body(budget_gbp=-5), "budget_gbp", "greater_than_equal"),
    ("plan", plan_body(staff_days=-1), "staff_days", "greater_than_equal"),
    ("plan", plan_body(budget_gbp=10_000), "budget_gbp", "at most the 5000 the backing gave"),
    ("plan", plan_body(hypothesis="x" * 2001), "hypothesis", "string_too_long"),
    ("plan", plan_body(squad_size=51), "squad_size", "less_than_equal"),
    ("plan", plan_body(surprise=True), "surprise", "extra_forbidden"),
    ("plan", plan_body(starts_on="next tuesday"), "starts_on", "date_from_datetime_parsing"),
    ("complete", outcome_body(learnings=[f"learning {n}" for n in range(21)]), "learnings", "too_long"),
    ("complete", outcome_body(learnings=[]), "learnings", "too_short"),
    ("complete", outcome_body(summary="s" * 5001), "summary", "string_too_long"),
    ("complete", outcome_body(benefits={"cash_savings_gbp_per_year": -1}), "benefits.cash_savings_gbp_per_year",
     "greater_than_equal"),
    ("complete", outcome_body(result="triumph"), "result", "literal_error"),
    # A number sent as text is refused, as the event's Quantity refuses it (it was read as a number before).
    ("measurements", {"measured_on": TODAY.isoformat(), "value": "NaN"}, "value", "float_type"),
    ("measurements", {"measured_on": TODAY.isoformat(), "value": "380"}, "value", "float_type"),
    ("plan", plan_body(squad_size=4.0), "squad_size", "int_type"),
    ("reschedule", {"ends_on": TODAY.isoformat(), "reason": ""}, "reason", "string_too_short"),
    ("reschedule", {"ends_on": 1741564800, "reason": "a timestamp"}, "ends_on", "date_type"),
    ("complete", outcome_body(learnings=["fine", "nul \x00 inside"]), "learnings", "no_nul_character"),
    ("plan", plan_body(hypothesis="nul \x00"), "hypothesis", "no_nul_character"),
])
async def test_bad_input_is_refused_with_422_naming_the_field_and_the_rule(kafka_bootstrap, service, path, body,
                                                                              field, rule):
    experiment_id, _ = await open_experiment(kafka_bootstrap, service)
    base = f"/v1/experiments/{experiment_id}"
    if path != "plan":  # reach a state where the command is allowed, so the refusal is the input's
        assert (await service.client.post(f"{base}/plan", json=plan_body(), headers=service.headers())).is_success
        assert (await service.client.post(f"{base}/start", headers=service.headers())).is_success
    answer = await service.client.post(f"{base}/{path}", json=body, headers=service.headers())
    assert answer.status_code == 422, answer.text
    details = answer.json()["detail"]
    assert any(d["field"] == field and rule in d["rule"] for d in details), details
    assert (await service.client.get(base, headers=service.headers())).json()["status"] in ("planning", "running")


async def test_a_measurement_is_any_finite_number_as_in_its_event(kafka_bootstrap, service):
    experiment_id, _ = await open_experiment(kafka_bootstrap, service)
    client, h, base = service.client, service.headers(), f"/v1/experiments/{experiment_id}"
    assert (await client.post(f"{base}/plan", json=plan_body(), headers=h)).is_success
    assert (await client.post(f"{base}/start", headers=h)).is_success
    nan = await client.post(f"{base}/measurements", headers={**h, "Content-Type": "application/json"},
                            content=f'{{"measured_on": "{TODAY.isoformat()}", "value": NaN}}')
    assert nan.status_code == 422 and nan.json()["detail"][0]["rule"] == "finite_number", nan.text
    # No bound beyond the event's: the row keeps measurements as jsonb, which holds any double exactly.
    for value in (1e300, -1.7976931348623157e308, 5e-324):
        measured = await client.post(f"{base}/measurements", json={"measured_on": TODAY.isoformat(), "value": value},
                                     headers=h)
        assert measured.status_code == 200, measured.text
    stored = (await client.get(base, headers=h)).json()["measurements"]
    assert [m["value"] for m in stored] == [1e300, -1.7976931348623157e308, 5e-324]


async def test_an_oversized_body_is_refused_with_413(kafka_bootstrap, service):
    experiment_id, _ = await open_experiment(kafka_bootstrap, service)
    answer = await service.client.post(f"/v1/experiments/{experiment_id}/plan",
                                       json=plan_body(hypothesis="x" * 70_000), headers=service.headers())
    assert answer.status_code == 413


async def test_roles_and_departments(kafka_bootstrap, service):
    experiment_id, _ = await open_experiment(kafka_bootstrap, service)
    client, base = service.client, f"/v1/experiments/{experiment_id}"
    assert (await client.get(base)).status_code == 401
    assert (await client.get(base, headers={"Authorization": "Bearer ink_000000000000_notakeynotakeynotakey"})).status_code == 401
    assert (await client.get(base, headers=service.headers("viewer"))).status_code == 200
    stranger = await client.get(base, headers=service.headers("stranger"))
    assert stranger.status_code == 404
    assert (await client.get("/v1/experiments", headers=service.headers("stranger"))).status_code == 404
    assert (await client.post(f"{base}/plan", json=plan_body(), headers=service.headers("stranger"))).status_code == 404
    adoption = {"origin_department": "hmrc", "origin_outcome_id": str(uuid.uuid4())}
    assert (await client.post("/v1/adoptions", json=adoption, headers=service.headers("stranger"))).status_code == 403
    assert (await client.post(f"{base}/plan", json=plan_body(), headers=service.headers("viewer"))).status_code == 403
    contributor_abandons = await client.post(f"{base}/abandon", json={"reason": "r"}, headers=service.headers())
    assert contributor_abandons.status_code == 403
    nameless = await client.post(f"{base}/plan", json=plan_body(), headers={"Authorization": service.headers()["Authorization"]})
    assert nameless.status_code == 400 and nameless.json()["detail"][0]["field"] == "X-Person-Ref"
    missing = await client.get(f"/v1/experiments/{uuid.uuid4()}", headers=service.headers())
    assert missing.status_code == 404
    assert missing.json()["detail"] == [{"field": "experiment_id", "rule": "an experiment of this department"}]
    assert (await client.get(base, headers=service.headers())).json()["status"] == "planning"


async def test_the_list_pages_with_a_cursor_and_filters_by_status(kafka_bootstrap, service):
    ids = [ (await open_experiment(kafka_bootstrap, service))[0] for _ in range(3)]
    h = service.headers("viewer")
    first = (await service.client.get("/v1/experiments?limit=2", headers=h)).json()
    second = (await service.client.get(f"/v1/experiments?limit=2&cursor={first['next_cursor']}", headers=h)).json()
    assert second["next_cursor"] is None
    assert sorted(e["experiment_id"] for e in first["items"] + second["items"]) == sorted(ids)
    await service.client.post(f"/v1/experiments/{ids[1]}/abandon", json={"reason": "r"}, headers=service.headers("admin"))
    abandoned = (await service.client.get("/v1/experiments?status=abandoned", headers=h)).json()["items"]
    assert [e["experiment_id"] for e in abandoned] == [ids[1]]
    assert (await service.client.get("/v1/experiments?cursor=drop%20table", headers=h)).status_code == 422
