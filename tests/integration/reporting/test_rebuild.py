"""A rebuild takes in a department whose topics appear while it replays (found again before the swap)."""

from __future__ import annotations

import asyncio
import threading

import asyncpg

from services.reporting.rebuild import rebuild
from tests.integration.reporting.conftest import new_department, publish, settings_for
from tests.integration.reporting.scenario import department_events


async def test_a_department_appearing_during_a_rebuild_is_in_the_swapped_in_tables(
        kafka_bootstrap, new_database, department, topics_for):
    early, late = department, new_department()
    dsn = await new_database("reporting")
    await topics_for(early)
    early_events, outcome = department_events(early)
    late_events, _ = department_events(late, adopt_from=(early, outcome))
    await publish(kafka_bootstrap, early_events)

    async def late_department_arrives() -> None:
        await topics_for(late)
        await publish(kafka_bootstrap, late_events)

    def report(line: str) -> None:
        # The first progress line comes after the first batch, long before the swap: the new department's
        # topics and events appear then (in a thread of its own, since the rebuild's loop is waiting here).
        if not arrived.is_set():
            worker = threading.Thread(target=asyncio.run, args=(late_department_arrives(),))
            worker.start()
            worker.join()
            arrived.set()

    arrived = threading.Event()
    progress = await rebuild(settings_for(dsn, kafka_bootstrap, [early, late]), batch=10, report=report,
                             report_every=0)

    assert arrived.is_set()
    assert progress.read == progress.applied == len(early_events) + len(late_events)
    conn = await asyncpg.connect(dsn)
    try:
        counts = dict(await conn.fetch("SELECT department, events FROM departments"))
    finally:
        await conn.close()
    assert counts == {early: len(early_events), late: len(late_events)}
