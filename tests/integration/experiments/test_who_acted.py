"""Who acted at each step of an experiment, and the squad named on the plan, on the real broker and database:
the API names the acting person (a pseudonym) on every event, the experiment shows its squad and its history,
the squad is vetted, and events from before `by` existed (or a tool's that do not say) are still applied."""

import uuid
from datetime import date, datetime, timedelta

import orjson
import pytest

from services.experiments.consumers import intake_group
from services.experiments.domain import experiment_id_for
from shared.events import (
    ExperimentCompleted, ExperimentPlanned, ExperimentStarted, IdeaWithdrawn, Measure, MeasurementRecorded,
    OutcomeRecorded, decode, encode, new_event,
)
from shared.events.pseudonym import pseudonymise
from shared.events.topics import intake_topic, topic_name
from tests.integration.experiments.support import FakeClock, running_experiments
from tests.support.db import fetchval
from tests.support.events import backed, person
from tests.support.kafka import consumer_lag, dead_letters, publish, read_to_end
from tests.support.waiting import at_least, eventually

TODAY = date(2025, 3, 10)


def plan_body(**change):
    body = {
        "hypothesis": "A call-back script halves repeat calls",
        "measure": {"name": "Repeat calls", "unit": "calls/week", "baseline": 400, "target": 200,
                    "direction": "decrease"},
        "starts_on": TODAY.isoformat(), "ends_on": (TODAY + timedelta(weeks=4)).isoformat(), "squad_size": 4,
    }
    return {**body, **change}


OUTCOME = {"result": "failed", "summary": "Repeat calls did not fall.", "learnings": ["Scripts alone do not help"],
           "recommendation": "iterate"}


def pseudonym(service, ref: str) -> str:
    return pseudonymise(service.runtime.settings.pseudonym_secret, ref)


async def open_experiment(kafka_bootstrap, service) -> tuple[uuid.UUID, uuid.UUID]:
    idea = uuid.uuid4()
    await publish(kafka_bootstrap, backed(service.department, idea))
    experiment_id = experiment_id_for(service.department, idea)
    await eventually(lambda: fetchval(service.dsn, "SELECT true FROM experiments WHERE experiment_id = $1",
                                      experiment_id), what="the experiment opened")
    return experiment_id, idea


async def shown(service, experiment_id) -> dict:
    answer = await service.client.get(f"/v1/experiments/{experiment_id}", headers=service.headers("viewer"))
    assert answer.status_code == 200, answer.text
    return answer.json()


@pytest.fixture
async def clock():
    return FakeClock(TODAY)


@pytest.fixture
async def service(kafka_bootstrap, new_database, department, clock):
    dsn = await new_database("experiments")
    async with running_experiments(kafka_bootstrap, dsn, department, clock=clock) as running:
        yield running


async def test_every_step_names_who_acted_in_the_events_and_the_experiments_history(kafka_bootstrap, service):
    experiment_id, _ = await open_experiment(kafka_bootstrap, service)
    base = f"/v1/experiments/{experiment_id}"
    alice, bob, carol, dora = (pseudonym(service, ref) for ref in ("alice", "bob", "carol", "dora"))
    client = service.client

    planned = await client.post(f"{base}/plan", json=plan_body(squad=["bob", "carol"], squad_size=3),
                                headers=service.headers("contributor", person="alice"))
    assert planned.status_code == 200, planned.text
    assert planned.json()["squad_lead"] == alice and planned.json()["squad"] == [bob, carol]
    assert (await client.post(f"{base}/start", headers=service.headers(person="bob"))).status_code == 200
    measured = await client.post(f"{base}/measurements", json={"measured_on": TODAY.isoformat(), "value": 380},
                                 headers=service.headers(person="carol"))
    assert measured.json()["measurements"] == [
        {"measured_on": TODAY.isoformat(), "value": 380.0, "note": None, "recorded_by": carol}]
    rescheduled = await client.post(f"{base}/reschedule", json={
        "ends_on": (TODAY + timedelta(weeks=5)).isoformat(), "reason": "a bank holiday"},
        headers=service.headers(person="bob"))
    assert rescheduled.status_code == 200
    completed = await client.post(f"{base}/complete", json=OUTCOME, headers=service.headers("reviewer", person="dora"))
    assert completed.status_code == 200, completed.text

    body = await shown(service, experiment_id)
    assert body == completed.json()
    assert body["squad_lead"] == alice and body["squad"] == [bob, carol] and body["squad_size"] == 3
    assert body["outcome"]["recorded_by"] == dora and body["measurements"][0]["recorded_by"] == carol
    history = body["history"]
    assert [(s["step"], s["by"]) for s in history] == [
        ("planned", alice), ("started", bob), ("measured", carol), ("rescheduled", bob), ("completed", dora)]
    assert [s["detail"] for s in history] == [
        "2025-03-10 to 2025-04-07, a squad of 3", "started on 2025-03-10", "380 calls/week on 2025-03-10",
        "to end on 2025-04-14: a bank holiday", "failed"]
    moments = [datetime.fromisoformat(s["at"]) for s in history]
    assert moments == sorted(moments) and all(m.tzinfo is not None for m in moments)
    # and the list shows the same
    listed = (await client.get("/v1/experiments", headers=service.headers("viewer"))).json()["items"]
    assert [item for item in listed if item["experiment_id"] == str(experiment_id)] == [body]

    # each event on the canonical streams names who acted; the history's times are the events' times
    topic = topic_name(service.department, "experiments")
    records = await eventually(lambda: at_least(read_to_end(kafka_bootstrap, topic), 5), what="five events")
    events = [decode(r.value, r.headers, topic=topic) for r in sorted(records, key=lambda r: r.offset)]
    assert [e.data.by for e in events] == [alice, bob, carol, bob, dora]
    assert events[0].data.squad == (bob, carol)
    assert [e.time for e in events] == moments
    outcomes = topic_name(service.department, "outcomes")
    recorded = await eventually(lambda: at_least(read_to_end(kafka_bootstrap, outcomes), 1), what="the outcome")
    assert decode(recorded[0].value, recorded[0].headers, topic=outcomes).data.by == dora
    # no raw reference reaches the database or the topics
    stored = await fetchval(service.dsn, "SELECT row_to_json(e)::text FROM experiments e WHERE experiment_id = $1",
                            experiment_id)
    assert '"carol"' not in stored and "dora" not in stored
    assert not any(b"carol" in r.value for r in records)


async def test_the_squad_lead_may_be_named_too_and_counts_once_and_a_replan_changes_the_squad(
    kafka_bootstrap, service,
):
    experiment_id, _ = await open_experiment(kafka_bootstrap, service)
    base = f"/v1/experiments/{experiment_id}"
    first = await service.client.post(f"{base}/plan", json=plan_body(squad=["alice", "bob"], squad_size=2),
                                      headers=service.headers(person="alice"))
    assert first.status_code == 200, first.text
    again = await service.client.post(f"{base}/plan", json=plan_body(squad_size=1),
                                      headers=service.headers(person="erin"))
    assert again.status_code == 200, again.text
    body = await shown(service, experiment_id)
    assert body["squad_lead"] == pseudonym(service, "erin") and body["squad"] == []
    assert [(s["step"], s["by"]) for s in body["history"]] == [
        ("planned", pseudonym(service, "alice")), ("planned", pseudonym(service, "erin"))]


async def test_abandoning_and_the_clock_are_in_the_history(kafka_bootstrap, service, clock):
    experiment_id, _ = await open_experiment(kafka_bootstrap, service)
    base = f"/v1/experiments/{experiment_id}"
    assert (await service.client.post(f"{base}/plan", json=plan_body(),
                                      headers=service.headers(person="alice"))).status_code == 200
    clock.now = TODAY + timedelta(weeks=5)  # the plan's end date has passed: the time box marks it overdue
    await eventually(lambda: fetchval(service.dsn, "SELECT overdue_at IS NOT NULL FROM experiments "
                                                   "WHERE experiment_id = $1", experiment_id), what="overdue")
    abandoned = await service.client.post(f"{base}/abandon", json={"reason": "the team moved"},
                                          headers=service.headers("admin", person="frank"))
    assert abandoned.status_code == 200, abandoned.text
    assert [(s["step"], s["by"], s["detail"]) for s in abandoned.json()["history"]] == [
        ("planned", pseudonym(service, "alice"), "2025-03-10 to 2025-04-07, a squad of 4"),
        ("overdue", None, "the end date 2025-04-07 passed with no outcome"),
        ("abandoned", pseudonym(service, "frank"), "the team moved"),
    ]


async def test_an_idea_withdrawn_in_planning_abandons_its_experiment_by_who_withdrew_it(kafka_bootstrap, service):
    experiment_id, idea = await open_experiment(kafka_bootstrap, service)
    await publish(kafka_bootstrap, new_event(IdeaWithdrawn(idea_id=idea, by=person("gina")),
                                             department=service.department, service="ideas"))
    body = await eventually(lambda: _when_abandoned(service, experiment_id), what="abandoned")
    assert [(s["step"], s["by"], s["detail"]) for s in body["history"]] == [
        ("abandoned", person("gina"), "the idea was withdrawn")]


async def _when_abandoned(service, experiment_id):
    body = await shown(service, experiment_id)
    return body if body["status"] == "abandoned" else None


SQUAD_REFUSALS = {
    "more people than squad_size": (plan_body(squad=["bob", "carol"], squad_size=2), "squad",
                                    "3 people named on the plan, the lead included, but squad_size is 2"),
    "a person named twice": (plan_body(squad=["bob", "bob"]), "squad", "each person named once"),
    "an empty reference": (plan_body(squad=[""]), "squad.0", "string_pattern_mismatch"),
    "a reference with a control character": (plan_body(squad=["bob", "car\nol"]), "squad.1",
                                             "string_pattern_mismatch"),
    "a reference over 200 characters": (plan_body(squad=["x" * 201]), "squad.0", "string_pattern_mismatch"),
    "a reference that is not text": (plan_body(squad=[42]), "squad.0", "string_type"),
    "not a list": (plan_body(squad="bob"), "squad", "list_type"),
    "over 50 people": (plan_body(squad=[f"person-{n}" for n in range(51)], squad_size=50), "squad", "too_long"),
}


@pytest.mark.parametrize("case", SQUAD_REFUSALS)
async def test_a_squad_that_breaks_a_rule_is_refused_naming_squad_and_nothing_changes(
    kafka_bootstrap, service, case,
):
    experiment_id, _ = await open_experiment(kafka_bootstrap, service)
    body, field, rule = SQUAD_REFUSALS[case]
    answer = await service.client.post(f"/v1/experiments/{experiment_id}/plan", json=body,
                                       headers=service.headers(person="alice"))
    assert answer.status_code == 422, answer.text
    detail = answer.json()["detail"]
    assert detail[0]["field"] == field and rule in detail[0]["rule"], detail
    after = await shown(service, experiment_id)
    assert after["hypothesis"] is None and after["squad_lead"] is None and after["history"] == []
    assert await fetchval(service.dsn, "SELECT count(*) FROM outbox") == 0


async def test_fifty_people_fit_a_squad_of_fifty_and_a_huge_body_is_refused_whole(kafka_bootstrap, service):
    experiment_id, _ = await open_experiment(kafka_bootstrap, service)
    path = f"/v1/experiments/{experiment_id}/plan"
    squad = [f"staff-{n:04d}" for n in range(49)]
    ok = await service.client.post(path, json=plan_body(squad=squad, squad_size=50),
                                   headers=service.headers(person="alice"))
    assert ok.status_code == 200, ok.text
    assert ok.json()["squad"] == [pseudonym(service, ref) for ref in squad]
    huge = await service.client.post(path, json=plan_body(squad=["y" * 200] * 5000),
                                     headers=service.headers(person="alice"))
    assert huge.status_code == 413
    assert (await shown(service, experiment_id))["squad"] == ok.json()["squad"]


# -- events without `by`: from before it existed, or a tool's that does not say ---------------------------------


def without_who(event) -> tuple[str, bytes | None, bytes, list]:
    """The event as a producer from before `by` and `squad` wrote it: those keys absent from the JSON."""
    topic, key, value, headers = encode(event)
    data = orjson.loads(value)
    for name in ("by", "squad"):
        data.pop(name, None)
    return intake_topic(event.department, "experiments"), key, orjson.dumps(data), headers


async def test_an_event_without_by_is_applied_and_shown_with_nobody_named_and_a_redelivery_changes_nothing(
    kafka_bootstrap, service,
):
    experiment_id, idea = await open_experiment(kafka_bootstrap, service)
    d = service.department
    source = f"/departments/{d}/project-tool"
    plan = new_event(ExperimentPlanned(
        experiment_id=experiment_id, idea_id=idea, hypothesis="One booking page halves double bookings.",
        measure=Measure(name="double bookings", unit="per week", baseline=12.0, target=6.0, direction="decrease"),
        starts_on=TODAY, ends_on=TODAY + timedelta(weeks=4), squad_size=4, budget_gbp=4000.0, staff_days=8.0),
        department=d, service="tool", source=source)
    start = new_event(ExperimentStarted(experiment_id=experiment_id, started_on=TODAY), department=d,
                      service="tool", source=source)
    # a tool that says who measured: kept as it sent it
    measured = new_event(MeasurementRecorded(experiment_id=experiment_id, measured_on=TODAY, value=7.0,
                                             by=person("hal")), department=d, service="tool", source=source)
    raw = [without_who(plan), without_who(start)]
    assert all(b'"by"' not in value and b'"squad"' not in value for _, _, value, _ in raw)
    await publish(kafka_bootstrap, *raw, (intake_topic(d, "experiments"), *encode(measured)[1:]))
    await _settled(kafka_bootstrap, service)
    first = await shown(service, experiment_id)
    assert first["status"] == "running" and first["squad_lead"] is None and first["squad"] == []
    assert [(s["step"], s["by"]) for s in first["history"]] == [
        ("planned", None), ("started", None), ("measured", person("hal"))]
    assert [datetime.fromisoformat(s["at"]) for s in first["history"]] == [plan.time, start.time, measured.time]
    assert first["measurements"][0]["recorded_by"] == person("hal")

    # the same events again (same source and id): nothing changes, nothing is published twice
    await publish(kafka_bootstrap, *raw, (intake_topic(d, "experiments"), *encode(measured)[1:]))
    await _settled(kafka_bootstrap, service)
    assert await shown(service, experiment_id) == first
    canonical = topic_name(d, "experiments")
    published = [decode(r.value, r.headers, topic=canonical) for r in await read_to_end(kafka_bootstrap, canonical)]
    assert sorted(str(e.id) for e in published) == sorted(str(e.id) for e in (plan, start, measured))
    assert {e.id: e.data.by for e in published} == {plan.id: None, start.id: None, measured.id: person("hal")}
    assert await dead_letters(kafka_bootstrap, "experiments", intake_topic(d, "experiments")) == []


async def _settled(bootstrap: str, service) -> None:
    async def check() -> bool:
        for stream in ("experiments", "outcomes"):
            if await consumer_lag(bootstrap, intake_group(service.department), intake_topic(service.department,
                                                                                             stream)):
                return False
        return not await service.runtime.pool.fetchval("SELECT count(*) FROM outbox WHERE sent_at IS NULL")
    await eventually(check, what="the intake consumed and the outbox drained")


def from_tool(department: str, data):
    return new_event(data, department=department, service="tool", source=f"/departments/{department}/project-tool")


async def test_a_tools_plan_squad_is_vetted_and_its_completion_pair_keeps_who_each_names(kafka_bootstrap, service):
    experiment_id, idea = await open_experiment(kafka_bootstrap, service)
    d = service.department
    plan = dict(experiment_id=experiment_id, idea_id=idea, hypothesis="Fewer letters", starts_on=TODAY,
                measure=Measure(name="letters", unit="per day", baseline=9.0, target=5.0, direction="decrease"),
                ends_on=TODAY + timedelta(weeks=2), budget_gbp=100.0, staff_days=1.0, by=person("lead"))
    too_many = from_tool(d, ExperimentPlanned(**plan, squad_size=2, squad=(person("a1"), person("a2"))))
    twice = from_tool(d, ExperimentPlanned(**plan, squad_size=5, squad=(person("a1"), person("a1"))))
    fits = from_tool(d, ExperimentPlanned(**plan, squad_size=3, squad=(person("a1"), person("a2"))))
    started = from_tool(d, ExperimentStarted(experiment_id=experiment_id, started_on=TODAY, by=person("a1")))
    for event in (too_many, twice, fits, started):
        await publish(kafka_bootstrap, (intake_topic(d, "experiments"), *encode(event)[1:]))
    await _settled(kafka_bootstrap, service)
    letters = {dict(r.headers)["ce_id"].decode(): (dict(r.headers)["dlq_error_class"].decode(),
                                                   dict(r.headers)["dlq_reason"].decode())
               for r in await dead_letters(kafka_bootstrap, "experiments", intake_topic(d, "experiments"))}
    assert letters.keys() == {str(too_many.id), str(twice.id)}
    assert letters[str(too_many.id)][0] == "InvalidInput" and "squad_size is 2" in letters[str(too_many.id)][1]
    assert "each person named once" in letters[str(twice.id)][1]

    completed = from_tool(d, ExperimentCompleted(experiment_id=experiment_id, completed_on=TODAY, by=person("a2")))
    recorded = from_tool(d, OutcomeRecorded(
        outcome_id=uuid.uuid4(), experiment_id=experiment_id, idea_id=idea, result="succeeded", summary="Fewer",
        learnings=("Ask once",), recommendation="scale", by=person("scribe")))
    await publish(kafka_bootstrap, (intake_topic(d, "experiments"), *encode(completed)[1:]))
    await eventually(lambda: fetchval(service.dsn, "SELECT event_id FROM intake_completion_halves"),
                     what="experiment.completed held")
    await publish(kafka_bootstrap, (intake_topic(d, "outcomes"), *encode(recorded)[1:]))
    await _settled(kafka_bootstrap, service)
    body = await shown(service, experiment_id)
    assert body["status"] == "completed" and body["squad_lead"] == person("lead")
    assert body["squad"] == [person("a1"), person("a2")]
    assert [(s["step"], s["by"]) for s in body["history"]] == [
        ("planned", person("lead")), ("started", person("a1")), ("completed", person("a2"))]
    assert body["outcome"]["recorded_by"] == person("scribe")
    assert datetime.fromisoformat(body["history"][-1]["at"]) == completed.time
