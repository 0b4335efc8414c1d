"""The consumer's two batches in hand (shared.consumer.Subscription), against the real broker and real
PostgreSQL: batch N+1 is fetched and decoded while batch N is applied, yet a failure of batch N lets
nothing of N+1 be committed, and both are applied exactly once when N is retried."""

import asyncio

import asyncpg

from shared.consumer import EventConsumer, Prepared, Subscription
from shared.events.topics import topic_name
from shared.outbox import new_producer
from shared.retry import Backoff
from tests.support.db import fetchval
from tests.integration.test_dead_letters import database  # noqa: F401 - a database with its `applied` table
from tests.support.events import submitted
from tests.support.kafka import consumer_lag, create_topics, publish
from tests.support.waiting import eventually

EVENTS = 30
BATCH = 10


class FirstBatchFailsOnce(EventConsumer):
    """Applies ideas into `applied`; its first transaction waits until the next batch has been decoded,
    then fails for a reason that is not about any event (as a database failing mid-batch does)."""

    def __init__(self, **options) -> None:
        super().__init__(apply=self._apply_one, **options)
        self.prepared: list[list[int]] = []  # the offsets of each batch decoded, in order
        self.failed = asyncio.Event()

    @staticmethod
    async def _apply_one(conn: asyncpg.Connection, event) -> None:
        await conn.execute("INSERT INTO applied (source, event_id) VALUES ($1, $2)", event.source, event.id)

    async def prepare(self, records) -> Prepared:
        prepared = await super().prepare(records)
        self.prepared.append([record.offset for record in records])
        return prepared

    async def apply_events(self, conn, events, ahead=None):
        refused = await super().apply_events(conn, events, ahead)
        if not self.failed.is_set():
            await eventually(self._next_batch_decoded, what="the next batch decoded while this one is applied")
            self.failed.set()
            raise ConnectionResetError("the database went away mid-batch")
        return refused

    async def _next_batch_decoded(self) -> bool:
        return len(self.prepared) >= 2


async def test_a_failed_batch_takes_the_batch_decoded_after_it_back_with_it(kafka_bootstrap, department, database):
    dsn, pool = database
    topic = topic_name(department, "ideas")
    await create_topics(kafka_bootstrap, topic, partitions=1)  # one partition: "after" means after
    await publish(kafka_bootstrap, *(submitted(department) for _ in range(EVENTS)))
    producer = new_producer(kafka_bootstrap)
    await producer.start()
    consumer = FirstBatchFailsOnce(service="pipeline-test", name="pipeline-test", pool=pool, producer=producer)
    group = f"pipeline-{department}"
    subscription = Subscription(consumer, topic, group_id=group, max_records=BATCH,
                                client_options={"bootstrap_servers": kafka_bootstrap},
                                backoff=Backoff(first_delay=3.0, max_delay=3.0))
    task = asyncio.create_task(subscription.run())
    try:
        await asyncio.wait_for(consumer.failed.wait(), 60)
        first, second = consumer.prepared[:2]
        assert second[0] == first[-1] + 1, "the second batch follows the first"
        # The first batch failed while the second was decoded and waiting: during the pause before the retry,
        # nothing is committed and nothing applied.
        await asyncio.sleep(1.0)
        assert await consumer_lag(kafka_bootstrap, group, topic) == EVENTS
        assert await fetchval(dsn, "SELECT count(*) FROM applied") == 0

        async def all_committed() -> bool:
            return await consumer_lag(kafka_bootstrap, group, topic) == 0

        await eventually(all_committed, what="every offset committed after the retry", timeout=60)
    finally:
        subscription.stop()
        await asyncio.wait_for(task, 30)
        await producer.stop()
    assert await fetchval(dsn, "SELECT count(*) FROM applied") == EVENTS
    assert await fetchval(dsn, "SELECT count(DISTINCT event_id) FROM applied") == EVENTS
    assert await fetchval(dsn, "SELECT count(*) FROM inbox WHERE consumer = 'pipeline-test'") == EVENTS
    # Both batches were decoded again after the failure: the second was given back with the first.
    offsets = [offset for batch in consumer.prepared for offset in batch]
    assert offsets.count(second[0]) >= 2 and offsets.count(first[0]) >= 2
