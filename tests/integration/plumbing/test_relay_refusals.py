"""A row that can never be published stalls only its own lane: the other lanes go on, the rows
before it are published once, the rows after it wait, and the lane's metric shows the stall.
Once an operator repairs the row, the lane flows again in order."""

import asyncio
import uuid
from collections import defaultdict

import asyncpg
import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import InvalidTopicError
from prometheus_client import REGISTRY

from shared.db import SHARED_MIGRATIONS, prepare_database
from shared.events import Event, decode, encode
from shared.events.topics import topic_name
from shared.outbox import OutboxRelay, backoff_seconds, check_topic_name, enqueue, lane_of, new_producer
from tests.integration.ideas.test_delivery import assert_published_in_order
from tests.support.db import fetchval
from tests.support.events import endorsed, submitted
from tests.support.kafka import read_to_end
from tests.support.waiting import eventually

TOPIC_LIMIT = 16 * 1024  # max.message.bytes of the topic, for the refusal by the broker

# how the row is broken: the column, a function of its intact value, and the error the relay reports
BREAKS = {
    "too large for the producer": ("value", lambda value: value + b" " * (1024 * 1024), "MessageSizeTooLargeError"),
    "too large for the topic": ("value", lambda value: value + b" " * (2 * TOPIC_LIMIT), "MessageSizeTooLargeError"),
    "an invalid topic name": ("topic", lambda topic: topic + " (draft)", "InvalidTopicError"),
}


@pytest.fixture
async def outbox_db(new_database):
    dsn = await new_database("refusals")
    await prepare_database(dsn, {"shared": SHARED_MIGRATIONS})
    return dsn


async def create_topic(bootstrap: str, topic: str, **config: str) -> None:
    """One partition: every row shares it, so a refusal that harmed the partition would show."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1, topic_configs=config)])
    finally:
        await admin.close()


def idea_where(lane_ok) -> uuid.UUID:
    while not lane_ok(lane_of(str(idea := uuid.uuid4()).encode())):
        pass
    return idea


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.mark.parametrize("how", BREAKS)
async def test_a_refused_row_stalls_only_its_lane(kafka_bootstrap, outbox_db, department, how):
    column, damage, error_class = BREAKS[how]
    topic = topic_name(department, "ideas")
    await create_topic(kafka_bootstrap, topic, **{"max.message.bytes": str(TOPIC_LIMIT)})
    stuck = uuid.uuid4()
    lane = str(lane_of(str(stuck).encode()))
    others = [idea_where(lambda other: str(other) != lane) for _ in range(4)]
    committed: dict[bytes, list[uuid.UUID]] = defaultdict(list)
    conn = await asyncpg.connect(outbox_db)

    def intact(event: Event):
        return getattr(encode(event), column)

    async def write(*events: Event, broken: bool = False) -> None:
        async with conn.transaction():
            await enqueue(conn, events)
            if broken:
                await conn.execute(f"UPDATE outbox SET {column} = $2 WHERE event_id = $1",
                                   events[0].id, damage(intact(events[0])))
        for event in events:
            committed[str(event.data.idea_id).encode()].append(event.id)

    await write(submitted(department, stuck))
    await write(*(endorsed(department, stuck, who=f"fan-{n}") for n in range(2)))
    await write(*(submitted(department, idea) for idea in others[:3]))
    broken = endorsed(department, stuck, who="the broken one")
    await write(broken, broken=True)
    after = [endorsed(department, stuck, who=f"late-fan-{n}") for n in range(2)]
    await write(*after)
    await write(submitted(department, others[3]))  # sent after the broken row, in the same round
    before = committed[str(stuck).encode()][:3]

    failures = dict(name="outbox_publish_failures_total", lane=lane, error=error_class)
    refused_before = sample(**failures)
    relay = OutboxRelay(outbox_db, lambda: new_producer(kafka_bootstrap),
                        retry_backoff_seconds=0.05, max_retry_backoff_seconds=0.4)
    running = asyncio.create_task(relay.run())
    try:
        async def refused_thrice() -> bool:
            return sample(**failures) >= refused_before + 3

        await eventually(refused_thrice, what="the row to be refused three times")
        assert sample("outbox_lane_stalled", lane=lane) == 1

        await write(*(endorsed(department, idea, who="later") for idea in others))  # the other lanes go on
        expected_elsewhere = {event_id for idea in others for event_id in committed[str(idea).encode()]}
        await eventually(lambda: _arrived(kafka_bootstrap, topic, expected_elsewhere), what="the other lanes' events")

        on_kafka = [decode(r.value, r.headers, topic=r.topic).id for r in await read_to_end(kafka_bootstrap, topic)]
        assert [on_kafka.count(event_id) for event_id in before] == [1, 1, 1]  # once, however often the lane retried
        assert not {broken.id, *(event.id for event in after)} & set(on_kafka)
        assert await conn.fetchval("SELECT count(*) FROM outbox WHERE sent_at IS NULL") == 3
        assert sample("outbox_lane_stalled", lane=lane) == 1

        await conn.execute(f"UPDATE outbox SET {column} = $2 WHERE event_id = $1", broken.id, intact(broken))  # repair
        await eventually(lambda: fetchval(outbox_db, "SELECT count(*) = 0 FROM outbox WHERE sent_at IS NULL"),
                         what="the lane to flow again")
        assert sample("outbox_lane_stalled", lane=lane) == 0
    finally:
        await relay.stop()
        await running
        await conn.close()
    assert_published_in_order(await read_to_end(kafka_bootstrap, topic), committed, duplicates_allowed=False)


async def _arrived(bootstrap: str, topic: str, event_ids: set[uuid.UUID]) -> bool:
    records = await read_to_end(bootstrap, topic)
    return event_ids <= {decode(r.value, r.headers, topic=r.topic).id for r in records}


@pytest.mark.parametrize("name", ["innovation.dept.ideas.v1 (draft)", "", ".", "..", "a" * 250, "ideas/v1", "idées"])
def test_names_kafka_refuses_are_refused_before_sending(name):
    with pytest.raises(InvalidTopicError):
        check_topic_name(name)


def test_names_kafka_accepts_pass():
    check_topic_name("innovation.dept-1.ideas_v1." + "a" * 220)


def test_a_lane_backs_off_exponentially_up_to_a_cap():
    assert [backoff_seconds(n, 0.5, 30.0) for n in range(1, 9)] == [0.5, 1, 2, 4, 8, 16, 30, 30]
