"""The department's ideas stream opens and abandons experiments, once per event."""

import uuid

from shared.events import IdeaWithdrawn, decode, new_event
from shared.events.topics import topic_name
from tests.integration.experiments.support import running_experiments
from tests.support.db import fetchval
from tests.support.events import backed, endorsed, person, submitted
from tests.support.kafka import dead_letters, publish, read_to_end
from tests.support.waiting import eventually


async def test_the_same_backing_delivered_twice_opens_one_experiment(kafka_bootstrap, new_database, department):
    dsn = await new_database("experiments")
    idea = uuid.uuid4()
    backing = backed(department, idea, budget_gbp=2500.0, staff_days=4.0, timebox_weeks=3)
    async with running_experiments(kafka_bootstrap, dsn, department) as service:
        # submitted and endorsed mean nothing here; they are recorded as applied all the same
        await publish(kafka_bootstrap, submitted(department, idea), endorsed(department, idea), backing, backing)
        await eventually(lambda: fetchval(dsn, "SELECT count(*) = 3 FROM inbox WHERE consumer = 'experiments.ideas'"),
                         what="three distinct events applied")
        listed = (await service.client.get("/v1/experiments", headers=service.headers("viewer"))).json()
    assert len(listed["items"]) == 1
    experiment = listed["items"][0]
    assert experiment["idea_id"] == str(idea) and experiment["status"] == "planning"
    assert (experiment["budget_gbp"], experiment["staff_days"], experiment["timebox_weeks"]) == (2500.0, 4.0, 3)
    assert experiment["starts_on"] == backing.time.date().isoformat()
    assert await fetchval(dsn, "SELECT correlation_id FROM experiments") == backing.correlationid
    assert await dead_letters(kafka_bootstrap, "experiments", topic_name(department, "ideas")) == []


async def test_a_withdrawal_abandons_a_planned_experiment_and_one_of_an_idea_never_backed_changes_nothing(
    kafka_bootstrap, new_database, department,
):
    dsn = await new_database("experiments")
    idea, never_backed = uuid.uuid4(), uuid.uuid4()
    backing = backed(department, idea)
    withdrawn = new_event(IdeaWithdrawn(idea_id=idea, by=person()), department=department, service="ideas",
                          correlationid=backing.correlationid, causationid=str(backing.id))
    # The usual withdrawal: an idea is withdrawn before it is backed, so experiments never heard of it.
    stray = new_event(IdeaWithdrawn(idea_id=never_backed, by=person()), department=department, service="ideas")
    async with running_experiments(kafka_bootstrap, dsn, department) as service:
        await publish(kafka_bootstrap, submitted(department, never_backed), stray, backing, withdrawn)
        await eventually(lambda: fetchval(dsn, "SELECT status = 'abandoned' FROM experiments WHERE idea_id = $1", idea),
                         what="the experiment abandoned")
        # A dead-lettered event is not in the inbox: the stray being there means it was applied (as a no-op).
        await eventually(lambda: fetchval(
            dsn, "SELECT count(*) = 1 FROM inbox WHERE consumer = 'experiments.ideas' AND event_id = $1", stray.id),
            what="the stray withdrawal recorded as applied")
        experiment = (await service.client.get("/v1/experiments", headers=service.headers())).json()["items"]
        abandoned = await eventually(
            lambda: _published(kafka_bootstrap, topic_name(department, "experiments")), what="experiment.abandoned")
    assert await fetchval(dsn, "SELECT count(*) FROM inbox WHERE consumer = 'experiments.ideas'") == 4
    assert await dead_letters(kafka_bootstrap, "experiments", topic_name(department, "ideas")) == []
    assert len(experiment) == 1 and experiment[0]["idea_id"] == str(idea)
    assert experiment[0]["abandon_reason"] == "the idea was withdrawn"
    assert [e.type for e in abandoned] == ["uk.gov.innovation.experiment.abandoned.v1"]
    assert abandoned[0].correlationid == backing.correlationid and abandoned[0].causationid == str(withdrawn.id)


async def _published(kafka_bootstrap, topic):
    return [decode(r.value, r.headers, topic=topic) for r in await read_to_end(kafka_bootstrap, topic)]
