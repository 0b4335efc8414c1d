"""Public reads (dashboard and /v1/*) cannot starve the projection: they run on a pool of their own,
and a read that takes too long is cut off with a 503 instead of holding its connection."""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter

import asyncpg

from deploy.simulation import Flow
from tests.integration.reporting.conftest import (
    inbox_count, new_department, publish, running, settings_for, wait_applied,
)
from tests.integration.reporting.scenario import department_events

PAGES = ("/", "/v1/summary", "/v1/departments", "/v1/export.csv", "/v1/timeseries", "/v1/themes",
         "/v1/learnings?q=form", "/v1/ideas/similar?q=shared+printer")


def expected_counts(events) -> tuple[Counter, Counter]:
    """Events and ideas raised per department, counted by hand from what was published."""
    per_department = Counter(e.department for e in events)
    raised = Counter(e.department for e in events if e.type == "uk.gov.innovation.idea.submitted.v1")
    return per_department, raised


async def test_concurrent_readers_while_events_stream_in_leave_every_event_applied(
    kafka_bootstrap, new_database, department, topics_for,
):
    departments = (department, new_department())
    dsn = await new_database("reporting")
    await topics_for(*departments)
    events = list(itertools.islice(Flow(departments=departments, seed=5), 2000))
    per_department, raised = expected_counts(events)
    settings = settings_for(dsn, kafka_bootstrap, departments, read_pool_size=2, batch_max_records=100)

    async with running(settings) as service:
        statuses: Counter = Counter()

        async def reader(n: int) -> None:
            for i in range(25):  # 16 readers x 25 requests: 400 full pages and API reads
                response = await service.client.get(PAGES[(n + i) % len(PAGES)])
                statuses[response.status_code] += 1

        async def stream() -> None:
            for start in range(0, len(events), 200):
                await publish(kafka_bootstrap, events[start:start + 200])

        await asyncio.gather(stream(), *(reader(n) for n in range(16)))
        await wait_applied(dsn, len(events))

        assert statuses == {200: 400}
        assert await inbox_count(dsn) == len(events)
        summary = await service.get("/v1/summary")
        assert summary["events"] == len(events) and summary["ideas_raised"] == sum(raised.values())
        listed = {d["department"]: d for d in (await service.get("/v1/departments"))["departments"]}
        assert {d: f["events"] for d, f in listed.items()} == dict(per_department)
        assert {d: f["ideas_raised"] for d, f in listed.items()} == dict(raised)


async def test_readers_holding_every_read_connection_do_not_stop_the_projection(
    kafka_bootstrap, new_database, department, topics_for,
):
    dsn = await new_database("reporting")
    await topics_for(department)
    events, _ = department_events(department)
    async with running(settings_for(dsn, kafka_bootstrap, [department], read_pool_size=2)) as service:
        read_pool = service.runtime.read_pool
        assert read_pool is not service.runtime.pool
        # Slow readers in flight: every connection of the read pool taken, and one more request waiting.
        held = [await read_pool.acquire() for _ in range(read_pool.get_max_size())]
        waiting = asyncio.create_task(service.client.get("/v1/summary"))
        try:
            await publish(kafka_bootstrap, events)
            await wait_applied(dsn, len(events))  # the projection writes on its own pool meanwhile
            assert await inbox_count(dsn) == len(events)
            assert not waiting.done()  # it can only be served by a read connection, and none is free
        finally:
            for conn in held:
                await read_pool.release(conn)
        summary = (await waiting).json()
        assert (summary["events"], summary["ideas_raised"]) == (len(events), 5)


async def test_a_read_that_takes_too_long_is_cut_off_with_503_and_the_next_one_is_served(
    kafka_bootstrap, new_database, department, topics_for,
):
    dsn = await new_database("reporting")
    await topics_for(department)
    events, _ = department_events(department)
    async with running(settings_for(dsn, kafka_bootstrap, [department], read_statement_timeout_ms=300)) as service:
        await publish(kafka_bootstrap, events)
        await wait_applied(dsn, len(events))
        blocker = await asyncpg.connect(dsn)
        try:
            # A read that cannot finish: the table every figure starts from is locked until the blocker ends.
            async with blocker.transaction():
                await blocker.execute("LOCK TABLE departments IN ACCESS EXCLUSIVE MODE")
                cut_off = [await service.client.get(path) for path in ("/v1/summary", "/", "/v1/export.csv")]
        finally:
            await blocker.close()
        after = await service.get("/v1/summary")
    for response in cut_off:
        assert response.status_code == 503, response.text
        assert response.json() == {"error": "the figures took too long to read; try again shortly", "detail": []}
    assert after["events"] == len(events)


async def test_a_read_is_one_snapshot_while_the_projection_writes(kafka_bootstrap, new_database, department, topics_for):
    """Every statement of one read sees the same events: a page's figures and its breakdowns agree even when a
    batch is applied between two of its statements."""
    from types import SimpleNamespace

    from services.reporting import figures
    from services.reporting.reads import reading
    from tests.integration.reporting.scenario import submitted_event

    dsn = await new_database("reporting")
    await topics_for(department)
    events, _ = department_events(department)
    async with running(settings_for(dsn, kafka_bootstrap, [department])) as service:
        await publish(kafka_bootstrap, events)
        await wait_applied(dsn, len(events))
        async with reading(SimpleNamespace(app=service.app)) as conn:
            before = await figures.all_figures(conn)
            await publish(kafka_bootstrap, [submitted_event(department, "Applied in the middle of a read")])
            await wait_applied(dsn, len(events) + 1)  # committed by the projection, on its own pool
            during = await figures.all_figures(conn)
            months = await figures.participation_by_month(conn, department)
        assert before[department]["ideas_raised"] == during[department]["ideas_raised"] == 5
        assert sum(m["ideas_raised"] for m in months) == 5
        assert (await service.get(f"/v1/departments/{department}"))["ideas_raised"] == 6  # the next read sees it
