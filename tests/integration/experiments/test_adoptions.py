"""Adoption: a department adopts an outcome another department recorded, and only one that exists."""

import uuid

from shared.events import OutcomeRecorded, decode, new_event
from shared.events.topics import topic_name
from tests.integration.experiments.support import running_experiments
from tests.support.db import fetchval
from tests.support.kafka import publish, read_to_end
from tests.support.waiting import eventually


def recorded_outcome(department: str):
    data = OutcomeRecorded(
        outcome_id=uuid.uuid4(), experiment_id=uuid.uuid4(), idea_id=uuid.uuid4(), result="succeeded",
        summary="Claims were decided in half the time.", learnings=("Start with the form",),
        recommendation="adopt_elsewhere",
    )
    return new_event(data, department=department, service="experiments")


async def test_adopting_another_departments_outcome_publishes_outcome_adopted(
    kafka_bootstrap, new_database, department,
):
    origin = f"{department}o"
    outcome = recorded_outcome(origin)
    dsn = await new_database("experiments")
    async with running_experiments(kafka_bootstrap, dsn, department, outcomes_of=[origin]) as service:
        await publish(kafka_bootstrap, outcome)
        await eventually(lambda: fetchval(dsn, "SELECT true FROM outcome_catalogue WHERE outcome_id = $1",
                                          outcome.data.outcome_id), what="the outcome catalogued")
        body = {"origin_department": origin, "origin_outcome_id": str(outcome.data.outcome_id),
                "note": "Trying it in two job centres"}
        adopted = await service.client.post("/v1/adoptions", json=body,
                                            headers=service.headers("reviewer", "bob", **{"X-Correlation-Id": "adopt-1"}))
        assert adopted.status_code == 201, adopted.text
        again = await service.client.post("/v1/adoptions", json=body, headers=service.headers("reviewer"))
        assert again.status_code == 409 and "already adopted" in again.json()["error"]
        topic = topic_name(department, "outcomes")
        records = await eventually(lambda: read_to_end(kafka_bootstrap, topic), what="outcome.adopted published")
    assert len(records) == 1
    event = decode(records[0].value, records[0].headers, topic=topic)
    assert event.type == "uk.gov.innovation.outcome.adopted.v1"
    assert records[0].key == adopted.json()["adoption_id"].encode()
    assert (event.data.origin_department, event.data.origin_outcome_id) == (origin, outcome.data.outcome_id)
    assert event.data.adopting_department == department == event.department
    assert event.data.adopted_by == adopted.json()["adopted_by"] and event.data.adopted_by.startswith("p_")
    assert event.data.note == "Trying it in two job centres"
    assert event.correlationid == outcome.correlationid and event.causationid == "adopt-1"


async def test_an_unknown_outcome_cannot_be_adopted(kafka_bootstrap, new_database, department):
    origin = f"{department}o"
    known = recorded_outcome(origin)
    dsn = await new_database("experiments")
    async with running_experiments(kafka_bootstrap, dsn, department, outcomes_of=[origin]) as service:
        await publish(kafka_bootstrap, known)
        await eventually(lambda: fetchval(dsn, "SELECT count(*) = 1 FROM outcome_catalogue"), what="catalogued")
        h = service.headers("reviewer")
        unknown = await service.client.post("/v1/adoptions", headers=h, json={
            "origin_department": origin, "origin_outcome_id": str(uuid.uuid4())})
        wrong_department = await service.client.post("/v1/adoptions", headers=h, json={
            "origin_department": "hmrc", "origin_outcome_id": str(known.data.outcome_id)})
        never_published = await service.client.post("/v1/adoptions", headers=h, json={
            "origin_department": f"{department}n", "origin_outcome_id": str(known.data.outcome_id)})
        own = await service.client.post("/v1/adoptions", headers=h, json={
            "origin_department": department, "origin_outcome_id": str(known.data.outcome_id)})
        contributor = await service.client.post("/v1/adoptions", headers=service.headers("contributor"), json={
            "origin_department": origin, "origin_outcome_id": str(known.data.outcome_id)})
        hostile = await service.client.post("/v1/adoptions", headers=h, json={
            "origin_department": "x'; DROP TABLE adoptions;--", "origin_outcome_id": str(known.data.outcome_id)})
    for refused in (unknown, wrong_department, never_published):
        assert refused.status_code == 404
        assert "no recorded outcome" in refused.json()["error"]
        assert refused.json()["detail"] == [{"field": "origin_outcome_id", "rule": "a recorded outcome"}]
    assert f"from department {department}n" in never_published.json()["error"]
    assert own.status_code == 422 and own.json()["detail"][0]["field"] == "origin_department"
    assert contributor.status_code == 403
    assert hostile.status_code == 422 and hostile.json()["detail"][0]["field"] == "origin_department"
    assert await fetchval(dsn, "SELECT count(*) FROM adoptions") == 0
    assert await fetchval(dsn, "SELECT count(*) FROM outbox") == 0
