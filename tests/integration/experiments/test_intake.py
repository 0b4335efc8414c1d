"""A departmental project tool that runs an experiment itself emits its events onto the department's intake
topics (with kcat, a client that is not ours); the service applies each with its HTTP API's rules and is the one
writer of the canonical experiments and outcomes streams."""

import datetime
import uuid

import pytest

from services.experiments.consumers import intake_group
from services.experiments.domain import experiment_id_for
from shared.events import (
    Benefits, Event, ExperimentCompleted, ExperimentOverdue, ExperimentPlanned, ExperimentStarted, Measure,
    MeasurementRecorded, OutcomeRecorded, decode, encode, new_event,
)
from shared.events.topics import intake_topic, topic_name
from tests.integration.experiments.support import FakeClock, running_experiments
from tests.support import kcat
from tests.support.db import fetchval
from tests.support.events import backed
from tests.support.kafka import consumer_lag, dead_letters, publish, read_to_end
from tests.support.waiting import at_least, eventually

TODAY = datetime.date.today()
TOOL = "/departments/{department}/project-tool"


def from_tool(department: str, data, **envelope) -> Event:
    return new_event(data, department=department, service="tool", source=TOOL.format(department=department),
                     **envelope)


def emit(bootstrap: str, event: Event, *, department: str | None = None) -> None:
    """`event` onto the intake of its stream (of `department`, its own by default), with kcat, keyed as any keyed
    producer does."""
    topic, key, value, headers = encode(event)
    stream = "outcomes" if isinstance(event.data, OutcomeRecorded) else "experiments"
    kcat.produce(bootstrap, intake_topic(department or event.department, stream), partition=-1, key=key,
                 value=value, headers=headers)


def intakes(department: str) -> tuple[str, str]:
    return intake_topic(department, "experiments"), intake_topic(department, "outcomes")


async def settled(bootstrap: str, service) -> None:
    """Everything on both intake topics applied or dead-lettered, and every accepted event published."""
    async def check() -> bool:
        for topic in intakes(service.department):
            if await consumer_lag(bootstrap, intake_group(service.department), topic):
                return False
        return not await service.runtime.pool.fetchval("SELECT count(*) FROM outbox WHERE sent_at IS NULL")
    await eventually(check, what="the intake consumed and the outbox drained")


async def published(bootstrap: str, department: str, stream: str) -> list[Event]:
    topic = topic_name(department, stream)
    return [decode(r.value, r.headers, topic=topic) for r in await read_to_end(bootstrap, topic)]


async def reasons(bootstrap: str, department: str) -> dict[str, tuple[str, str]]:
    """Each dead-lettered intake event's id: its error class and reason."""
    letters = [letter for topic in intakes(department)
               for letter in await dead_letters(bootstrap, "experiments", topic)]
    return {dict(r.headers)["ce_id"].decode(): (dict(r.headers)["dlq_error_class"].decode(),
                                                dict(r.headers)["dlq_reason"].decode()) for r in letters}


@pytest.fixture
async def opened(kafka_bootstrap, new_database, department):
    """The service, and an experiment opened by idea.backed on the canonical ideas stream (in planning)."""
    dsn = await new_database("experiments")
    idea = uuid.uuid4()
    async with running_experiments(kafka_bootstrap, dsn, department, clock=FakeClock(TODAY)) as service:
        await publish(kafka_bootstrap, backed(department, idea, budget_gbp=5000, staff_days=10, timebox_weeks=6))
        experiment_id = experiment_id_for(department, idea)
        await eventually(lambda: fetchval(dsn, "SELECT count(*) = 1 FROM experiments WHERE experiment_id = $1",
                                          experiment_id), what="the experiment opened by idea.backed")
        yield service, experiment_id, idea


def planned(experiment_id: uuid.UUID, idea_id: uuid.UUID) -> ExperimentPlanned:
    return ExperimentPlanned(
        experiment_id=experiment_id, idea_id=idea_id, hypothesis="One booking page halves double bookings.",
        measure=Measure(name="double bookings", unit="per week", baseline=12.0, target=6.0, direction="decrease"),
        starts_on=TODAY, ends_on=TODAY + datetime.timedelta(weeks=4), squad_size=4, budget_gbp=4000.0,
        staff_days=8.0)


def outcome(experiment_id: uuid.UUID, idea_id: uuid.UUID) -> OutcomeRecorded:
    return OutcomeRecorded(
        outcome_id=uuid.uuid4(), experiment_id=experiment_id, idea_id=idea_id, result="succeeded",
        summary="Double bookings fell to four a week.", learnings=("People book where they already look.",),
        benefits=Benefits(hours_saved_per_year=320.0, people_affected=900), recommendation="scale")


async def held(service, experiment_id: uuid.UUID) -> uuid.UUID | None:
    return await service.runtime.pool.fetchval(
        "SELECT event_id FROM intake_completion_halves WHERE experiment_id = $1", experiment_id)


async def test_an_experiment_run_by_a_project_tool_is_completed_with_its_outcome(opened, kafka_bootstrap):
    service, experiment_id, idea_id = opened
    d = service.department
    lineage = {"correlationid": "tool-run-7", "causationid": "tool-task-3"}
    steps = [from_tool(d, planned(experiment_id, idea_id), **lineage),
             from_tool(d, ExperimentStarted(experiment_id=experiment_id, started_on=TODAY), **lineage),
             from_tool(d, MeasurementRecorded(experiment_id=experiment_id, measured_on=TODAY, value=7.5,
                                              note="week one"), **lineage),
             from_tool(d, ExperimentCompleted(experiment_id=experiment_id, completed_on=TODAY), **lineage)]
    recorded = from_tool(d, outcome(experiment_id, idea_id), **lineage)
    for event in steps:
        emit(kafka_bootstrap, event)
    # experiment.completed alone completes nothing: it waits for its outcome, and nothing of it is published
    assert await eventually(lambda: held(service, experiment_id), what="experiment.completed held") == steps[-1].id
    path = f"/v1/experiments/{experiment_id}"
    assert (await service.client.get(path, headers=service.headers("viewer"))).json()["status"] == "running"
    emit(kafka_bootstrap, recorded)
    await settled(kafka_bootstrap, service)

    shown = (await service.client.get(path, headers=service.headers("viewer"))).json()
    assert shown["status"] == "completed" and shown["completed_on"] == TODAY.isoformat()
    assert shown["hypothesis"] == steps[0].data.hypothesis and shown["budget_gbp"] == 4000.0
    assert shown["started_on"] == TODAY.isoformat() and [m["value"] for m in shown["measurements"]] == [7.5]
    assert shown["outcome"]["outcome_id"] == str(recorded.data.outcome_id)
    assert shown["outcome"]["result"] == "succeeded" and shown["outcome"]["recommendation"] == "scale"
    assert shown["outcome"]["benefits"]["hours_saved_per_year"] == 320.0
    assert await held(service, experiment_id) is None

    # the originals, each once: id, source, time, correlation, cause and data
    assert await published(kafka_bootstrap, d, "experiments") == steps
    assert await published(kafka_bootstrap, d, "outcomes") == [recorded]
    assert await reasons(kafka_bootstrap, d) == {}


async def test_refused_intake_events_are_dead_lettered_with_reasons_and_never_published(opened, kafka_bootstrap):
    service, experiment_id, idea_id = opened
    d = service.department
    unknown = from_tool(d, ExperimentStarted(experiment_id=uuid.uuid4(), started_on=TODAY))
    start_unplanned = from_tool(d, ExperimentStarted(experiment_id=experiment_id, started_on=TODAY))
    wrong_idea = from_tool(d, planned(experiment_id, uuid.uuid4()))
    accepted = from_tool(d, planned(experiment_id, idea_id))
    complete_not_started = from_tool(d, ExperimentCompleted(experiment_id=experiment_id, completed_on=TODAY))
    outcome_not_started = from_tool(d, outcome(experiment_id, idea_id))
    overdue = from_tool(d, ExperimentOverdue(experiment_id=experiment_id, ended_on=TODAY))
    other_department = from_tool("elsewhere", ExperimentStarted(experiment_id=experiment_id, started_on=TODAY))
    for event in (unknown, start_unplanned, wrong_idea, accepted, complete_not_started, outcome_not_started, overdue):
        emit(kafka_bootstrap, event)
    emit(kafka_bootstrap, other_department, department=d)

    refused = (unknown, start_unplanned, wrong_idea, complete_not_started, outcome_not_started, overdue,
               other_department)
    await eventually(lambda: at_least(reasons(kafka_bootstrap, d), len(refused)), what="seven dead letters")
    await settled(kafka_bootstrap, service)
    why = await reasons(kafka_bootstrap, d)
    assert why.keys() == {str(e.id) for e in refused}
    assert why[str(unknown.id)][0] == "UnknownExperiment" and "experiment not found" in why[str(unknown.id)][1]
    assert why[str(start_unplanned.id)][0] == "InvalidTransition"
    assert "cannot start before it is planned" in why[str(start_unplanned.id)][1]
    assert why[str(wrong_idea.id)][0] == "NotAsRecorded" and "idea_id" in why[str(wrong_idea.id)][1]
    for not_running in (complete_not_started, outcome_not_started):
        assert why[str(not_running.id)][0] == "InvalidTransition"
        assert "cannot complete an experiment that is planning" in why[str(not_running.id)][1]
    assert why[str(overdue.id)][0] == "Invalid" and "not accepted on the experiments intake" in why[str(overdue.id)][1]
    assert why[str(other_department.id)][0] == "DepartmentMismatch"

    assert [e.id for e in await published(kafka_bootstrap, d, "experiments")] == [accepted.id]
    assert await published(kafka_bootstrap, d, "outcomes") == []
    shown = (await service.client.get(f"/v1/experiments/{experiment_id}", headers=service.headers("viewer"))).json()
    assert shown["status"] == "planning" and shown["hypothesis"] == accepted.data.hypothesis
    assert await held(service, experiment_id) is None


async def test_redelivered_intake_events_change_nothing_and_a_second_outcome_is_refused(opened, kafka_bootstrap):
    service, experiment_id, idea_id = opened
    d = service.department
    plan = from_tool(d, planned(experiment_id, idea_id))
    start = from_tool(d, ExperimentStarted(experiment_id=experiment_id, started_on=TODAY))
    measured = from_tool(d, MeasurementRecorded(experiment_id=experiment_id, measured_on=TODAY, value=9.0))
    recorded = from_tool(d, outcome(experiment_id, idea_id))
    another = from_tool(d, outcome(experiment_id, idea_id))  # a second outcome, while the first waits
    completed = from_tool(d, ExperimentCompleted(experiment_id=experiment_id, completed_on=TODAY))
    for event in (plan, plan, start, measured, start, measured):
        emit(kafka_bootstrap, event)
    # the two intake topics are read in one consumer's batches in no set order across topics: the outcome is sent
    # once the experiment runs, or it could be checked first and refused (not running)
    await eventually(lambda: fetchval(service.dsn, "SELECT status = 'running' AND jsonb_array_length(measurements) = 1 "
                                                   "FROM experiments WHERE experiment_id = $1", experiment_id),
                     what="the experiment running with its measurement")
    for event in (recorded, recorded):
        emit(kafka_bootstrap, event)
    # this time outcome.recorded comes first and waits for experiment.completed
    assert await eventually(lambda: held(service, experiment_id), what="outcome.recorded held") == recorded.id
    emit(kafka_bootstrap, another)
    await eventually(lambda: at_least(reasons(kafka_bootstrap, d), 1), what="the second outcome refused")
    for event in (completed, completed, recorded, plan):
        emit(kafka_bootstrap, event)
    await settled(kafka_bootstrap, service)

    assert await published(kafka_bootstrap, d, "experiments") == [plan, start, measured, completed]
    assert await published(kafka_bootstrap, d, "outcomes") == [recorded]
    shown = (await service.client.get(f"/v1/experiments/{experiment_id}", headers=service.headers("viewer"))).json()
    assert shown["status"] == "completed" and len(shown["measurements"]) == 1
    assert shown["outcome"]["outcome_id"] == str(recorded.data.outcome_id)
    why = await reasons(kafka_bootstrap, d)
    assert why.keys() == {str(another.id)}
    assert why[str(another.id)][0] == "HalfAlreadyHeld" and str(recorded.id) in why[str(another.id)][1]
