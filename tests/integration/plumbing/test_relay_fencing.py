"""Two relays on one outbox while their database sessions are killed, one at a time, again and
again: every event reaches Kafka, and per key the first occurrences keep the commit order."""

import asyncio
import random
import uuid
from collections import defaultdict

import asyncpg
import pytest

from shared.db import SHARED_MIGRATIONS, prepare_database
from shared.events.topics import topic_name
from shared.outbox import OutboxRelay, enqueue, new_producer
from tests.integration.ideas.test_delivery import assert_published_in_order
from tests.support.db import fetchval
from tests.support.events import endorsed, submitted
from tests.support.kafka import create_topics, read_to_end
from tests.support.waiting import eventually

IDEAS = 12
KILLS = 20


@pytest.fixture
async def outbox_db(new_database):
    dsn = await new_database("fencing")
    await prepare_database(dsn, {"shared": SHARED_MIGRATIONS})
    return dsn


async def relay_sessions(conn: asyncpg.Connection) -> list[int]:
    return [row["pid"] for row in await conn.fetch(
        """SELECT pid FROM pg_stat_activity
           WHERE datname = current_database() AND application_name = 'outbox-relay'""")]


async def test_relays_whose_sessions_are_killed_publish_every_event_in_order_per_key(
        kafka_bootstrap, outbox_db, department):
    topic = topic_name(department, "ideas")
    await create_topics(kafka_bootstrap, topic)
    relays = [OutboxRelay(outbox_db, lambda: new_producer(kafka_bootstrap), idle_check_seconds=0.5)
              for _ in range(2)]
    running = [asyncio.create_task(relay.run()) for relay in relays]
    writers = await asyncpg.create_pool(outbox_db, min_size=4, max_size=4,
                                        server_settings={"application_name": "writer"})
    killer = await asyncpg.connect(outbox_db, server_settings={"application_name": "killer"})
    committed: dict[bytes, list[uuid.UUID]] = defaultdict(list)  # per idea, in commit order
    kills = 0
    killing = True

    async def write() -> None:
        """One idea's events, one or two per transaction, while the sessions are being killed."""
        idea = uuid.uuid4()
        key = str(idea).encode()
        batch = [submitted(department, idea)]
        while killing:
            async with writers.acquire() as conn, conn.transaction():
                await enqueue(conn, batch)
            committed[key] += [event.id for event in batch]
            batch = [endorsed(department, idea, who=f"fan-{len(committed[key]) + n}")
                     for n in range(random.randint(1, 2))]
            await asyncio.sleep(random.uniform(0, 0.01))

    async def kill_one_session_after_each_step_of_progress() -> None:
        nonlocal kills, killing
        try:
            while kills < KILLS:
                sent = await killer.fetchval("SELECT count(*) FROM outbox WHERE sent_at IS NOT NULL")
                await eventually(lambda: killer.fetchval(
                    "SELECT count(*) > $1 FROM outbox WHERE sent_at IS NOT NULL", sent),
                    timeout=60, what="the relays to make progress")
                await asyncio.sleep(random.uniform(0, 0.05))
                sessions = await relay_sessions(killer)
                if sessions:
                    await killer.execute("SELECT pg_terminate_backend($1)", random.choice(sessions))
                    kills += 1
        finally:
            killing = False

    try:
        await asyncio.gather(kill_one_session_after_each_step_of_progress(), *(write() for _ in range(IDEAS)))
        await eventually(lambda: fetchval(outbox_db, "SELECT count(*) = 0 FROM outbox WHERE sent_at IS NULL"),
                         timeout=60, what="the outbox to drain")
    finally:
        for relay in relays:
            await relay.stop()
        await asyncio.gather(*running)
        await killer.close()
        await writers.close()

    assert kills == KILLS
    assert all(relay.published > 0 for relay in relays), "the lanes never moved to the other relay"
    total = sum(map(len, committed.values()))
    assert await fetchval(outbox_db, "SELECT count(*) FROM outbox") == total
    records = await read_to_end(kafka_bootstrap, topic)
    assert len(records) >= total
    assert_published_in_order(records, committed, duplicates_allowed=True)
