"""The time box: experiment.overdue is published exactly once per experiment, with two
replicas racing and across restarts."""

import asyncio
import uuid
from datetime import date, timedelta

from shared.events import decode
from shared.events.topics import topic_name
from tests.integration.experiments.support import FakeClock, running_experiments
from tests.support.db import fetchval
from tests.support.events import backed
from tests.support.kafka import publish, read_to_end
from tests.support.waiting import at_least, eventually

OVERDUE = "uk.gov.innovation.experiment.overdue.v1"
EXPERIMENTS = 30


async def test_overdue_is_published_exactly_once_with_two_replicas_and_after_a_restart(
    kafka_bootstrap, new_database, department,
):
    dsn = await new_database("experiments")
    clock = FakeClock(date.today())
    backings = [backed(department, uuid.uuid4(), timebox_weeks=1 + n % 3) for n in range(EXPERIMENTS)]
    async with running_experiments(kafka_bootstrap, dsn, department, clock=clock) as one, \
            running_experiments(kafka_bootstrap, dsn, department, clock=clock) as two:
        await publish(kafka_bootstrap, *backings)
        await eventually(lambda: fetchval(dsn, "SELECT count(*) = $1 FROM experiments", EXPERIMENTS),
                         what="every experiment opened")
        assert await fetchval(dsn, "SELECT count(*) FROM experiments WHERE overdue_at IS NOT NULL") == 0
        clock.now = date.today() + timedelta(weeks=4)  # every time box has passed
        replicas = [s.app.state.runtime.handlers for s in (one, two)]
        # Both replicas' background tasks are running; race them harder by hand as well.
        await asyncio.gather(*(replica.mark_overdue(limit=7) for replica in replicas for _ in range(5)))
        await eventually(lambda: fetchval(dsn, "SELECT count(*) = $1 FROM experiments WHERE overdue_at IS NOT NULL",
                                          EXPERIMENTS), what="every experiment marked overdue")
    async with running_experiments(kafka_bootstrap, dsn, department, clock=clock) as restarted:
        assert await restarted.app.state.runtime.handlers.mark_overdue() == 0
        topic = topic_name(department, "experiments")
        records = await eventually(lambda: at_least(read_to_end(kafka_bootstrap, topic), EXPERIMENTS),
                                   what="overdue published")
    events = [decode(r.value, r.headers, topic=topic) for r in records]
    assert [e.type for e in events] == [OVERDUE] * EXPERIMENTS
    assert sorted(str(e.data.experiment_id) for e in events) == sorted(
        str(x) for x in await _experiment_ids(dsn))  # one each, none twice
    by_correlation = {b.correlationid for b in backings}
    assert {e.correlationid for e in events} == by_correlation
    assert await fetchval(dsn, "SELECT count(*) FROM outbox") == EXPERIMENTS
    assert await fetchval(dsn, "SELECT count(*) FROM outbox WHERE sent_at IS NULL") == 0


async def test_a_rescheduled_or_finished_experiment_is_not_overdue(kafka_bootstrap, new_database, department):
    dsn = await new_database("experiments")
    clock = FakeClock(date.today())
    early, done = backed(department, uuid.uuid4(), timebox_weeks=1), backed(department, uuid.uuid4(), timebox_weeks=1)
    async with running_experiments(kafka_bootstrap, dsn, department, clock=clock) as service:
        await publish(kafka_bootstrap, early, done)
        await eventually(lambda: fetchval(dsn, "SELECT count(*) = 2 FROM experiments"), what="two experiments")
        h = service.headers("admin")
        ids = {r["idea_id"]: r["experiment_id"] for r in
               (await service.client.get("/v1/experiments", headers=h)).json()["items"]}
        base = f"/v1/experiments/{ids[str(early.data.idea_id)]}"
        plan = {"hypothesis": "h", "measure": {"name": "m", "unit": "u", "baseline": 1, "target": 2,
                                               "direction": "increase"},
                "starts_on": date.today().isoformat(), "ends_on": (date.today() + timedelta(days=5)).isoformat(),
                "squad_size": 2}
        assert (await service.client.post(f"{base}/plan", json=plan, headers=h)).is_success
        moved = await service.client.post(f"{base}/reschedule", json={
            "ends_on": (date.today() + timedelta(weeks=8)).isoformat(), "reason": "more data"}, headers=h)
        assert moved.is_success
        other = f"/v1/experiments/{ids[str(done.data.idea_id)]}"
        assert (await service.client.post(f"{other}/abandon", json={"reason": "r"}, headers=h)).is_success
        clock.now = date.today() + timedelta(weeks=4)
        experiments = service.app.state.runtime.handlers
        assert await experiments.mark_overdue() == 0
        assert (await service.client.get(base, headers=h)).json()["overdue"] is False
        clock.now = date.today() + timedelta(weeks=9)
        await eventually(lambda: _overdue(service, base, h), what="overdue after the new end date")


async def _overdue(service, base, headers):
    return (await service.client.get(base, headers=headers)).json()["overdue"]


async def _experiment_ids(dsn):
    import asyncpg
    conn = await asyncpg.connect(dsn)
    try:
        return [r["experiment_id"] for r in await conn.fetch("SELECT experiment_id FROM experiments")]
    finally:
        await conn.close()
