"""SIGKILL the reporting service in the middle of its batches, start it again: nothing lost, nothing twice."""

from __future__ import annotations

import uuid

import asyncpg
import httpx

from shared.events import IdeaEndorsed, IdeaSubmitted, new_event
from tests.integration.reporting.conftest import inbox_count, pattern_for, publish, wait_applied, wait_for
from tests.support.events import person
from tests.support.kafka import create_topics
from tests.support.processes import reporting_process

IDEAS, ENDORSERS = 20, 200  # 20 ideas, each endorsed by 200 people: 4,020 events


async def test_sigkill_mid_batch_loses_nothing_and_counts_nothing_twice(kafka_bootstrap, new_database, department, tmp_path):
    dsn = await new_database("reporting")
    await create_topics(kafka_bootstrap, *(f"innovation.{department}.{s}.v1" for s in ("ideas", "experiments", "outcomes")))
    ideas = [uuid.uuid4() for _ in range(IDEAS)]
    people = [person(f"endorser-{i}") for i in range(ENDORSERS)]
    events = [new_event(IdeaSubmitted(idea_id=i, title=f"Idea {n}", problem="p", proposal="q",
                                      submitted_by=person("author")), department=department, service="ideas")
              for n, i in enumerate(ideas)]
    events += [new_event(IdeaEndorsed(idea_id=i, endorsed_by=p), department=department, service="ideas")
               for p in people for i in ideas]
    total = len(events)
    service = reporting_process(dsn=dsn, bootstrap=kafka_bootstrap, pattern=pattern_for(department),
                                group_id=f"reporting-kill-{uuid.uuid4().hex[:8]}", log=tmp_path / "service.log",
                                REPORTING_BATCH_MAX_RECORDS="100")
    try:
        await service.start()
        await publish(kafka_bootstrap, events)

        async def part_applied() -> bool:
            return await inbox_count(dsn) >= 500
        await wait_for(part_applied, what="the first batches")
        service.kill()
        applied_when_killed = await inbox_count(dsn)
        assert applied_when_killed < total, "the service finished before it could be killed mid-stream"

        await service.start()
        await wait_applied(dsn, total, timeout=120)
        async with httpx.AsyncClient() as client:
            figures = (await client.get(f"{service.url}/v1/departments/{department}")).json()
        assert figures["ideas_raised"] == IDEAS
        assert figures["endorsements"] == IDEAS * ENDORSERS
        assert figures["participants"] == ENDORSERS + 1
        assert figures["events"] == total  # incremented once per applied event: a double count would show here
        assert await inbox_count(dsn) == total
        conn = await asyncpg.connect(dsn)
        try:
            assert await conn.fetchval("SELECT sum(events) FROM departments") == total
        finally:
            await conn.close()
    finally:
        service.stop()
