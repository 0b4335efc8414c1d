"""The outbox relay against the real broker and database: nothing accepted is lost."""

import asyncio
import uuid
from collections import defaultdict

import asyncpg
import pytest

from shared.db import SHARED_MIGRATIONS, prepare_database
from shared.events import decode
from shared.outbox import OutboxRelay, enqueue, new_producer
from tests.support.db import fetchval
from tests.support.events import endorsed, submitted
from tests.support.kafka import create_topics, read_records
from tests.support.waiting import eventually


@pytest.fixture
async def outbox_db(new_database):
    dsn = await new_database("outbox")
    await prepare_database(dsn, {"shared": SHARED_MIGRATIONS})
    return dsn


async def _drained(dsn: str) -> bool:
    return await fetchval(dsn, "SELECT count(*) = 0 FROM outbox WHERE sent_at IS NULL")


def _events_for(department: str, ideas: int, endorsements: int):
    events = []
    for _ in range(ideas):
        idea = uuid.uuid4()
        events.append(submitted(department, idea))
        events += [endorsed(department, idea, who=f"colleague-{n}") for n in range(endorsements)]
    return events


async def test_relay_publishes_committed_rows_in_order_per_idea(kafka_bootstrap, outbox_db, department):
    topic = f"innovation.{department}.ideas.v1"
    await create_topics(kafka_bootstrap, topic)
    events = _events_for(department, ideas=10, endorsements=4)
    conn = await asyncpg.connect(outbox_db)
    async with conn.transaction():
        await enqueue(conn, events)
    rolled_back = submitted(department, title="Rolled back")
    with pytest.raises(asyncpg.DivisionByZeroError):
        async with conn.transaction():  # fails after the state change: publishes nothing
            await enqueue(conn, [rolled_back])
            await conn.execute("SELECT 1/0")
    assert await conn.fetchval("SELECT count(*) FROM outbox") == len(events)
    await conn.close()

    producer = new_producer(kafka_bootstrap)
    await producer.start()
    relay = OutboxRelay(outbox_db, producer)
    task = asyncio.create_task(relay.run())
    try:
        await eventually(lambda: _drained(outbox_db), timeout=30, what="the outbox to drain")
        records = await read_records(kafka_bootstrap, topic, count=len(events))
    finally:
        await relay.stop()
        await task
        await producer.stop()
    decoded = [decode(r.value, r.headers, topic=r.topic) for r in records]
    assert rolled_back.id not in {e.id for e in decoded}
    assert sorted(e.id for e in decoded) == sorted(e.id for e in events)
    by_key = defaultdict(list)
    for record, event in zip(records, decoded):
        assert record.key == str(event.data.idea_id).encode()
        by_key[record.key].append(event.id)
    for idea_events in by_key.values():
        expected = [e.id for e in events if e.id in set(idea_events)]
        assert idea_events == expected
