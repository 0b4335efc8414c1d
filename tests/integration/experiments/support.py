"""Running the experiments service in a test against the real broker and database, and
reading what it did: its tables, its topics, its dead letters and its consumer lag."""

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import asyncpg
import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from services.experiments.config import ExperimentsSettings
from services.experiments.main import build
from shared.auth import ROLES, new_key, register_key
from shared.events import Event, encode
from shared.events.topics import dlq_topic, topic_name
from tests.support.kafka import create_topics

DLQ = dlq_topic("experiments")


class FakeClock:
    def __init__(self, today: date | None = None) -> None:
        self.now = today or date.today()

    def today(self) -> date:
        return self.now


@dataclass
class RunningService:
    department: str
    dsn: str
    app: Any
    client: httpx.AsyncClient
    keys: dict[str, str] = field(default_factory=dict)  # role -> key of this department

    def headers(self, role: str = "contributor", person: str = "alice", **more: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[role]}", "X-Person-Ref": person, **more}


@contextlib.asynccontextmanager
async def running_experiments(
    kafka_bootstrap: str, dsn: str, department: str, *, outcomes_of: Iterable[str] = (), clock: FakeClock | None = None,
    **settings: Any,
) -> AsyncIterator[RunningService]:
    """The service of `department`, its catalogue restricted to the outcomes topics of `outcomes_of`
    (and its own); topics are created first, so the pattern subscription sees them at once."""
    departments = sorted({department, *outcomes_of})
    await create_topics(kafka_bootstrap, topic_name(department, "ideas"), topic_name(department, "experiments"),
                        *(topic_name(d, "outcomes") for d in departments))
    pattern = r"^innovation\.(" + "|".join(departments) + r")\.outcomes\.v1$"
    config = ExperimentsSettings(
        department=department, database_url=dsn, kafka_bootstrap_servers=kafka_bootstrap,
        outcomes_pattern=pattern, **{"overdue_check_seconds": 0.2, **settings},
    )
    app = build(config, clock=clock or FakeClock())
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://experiments") as client:
            service = RunningService(department, dsn, app, client)
            conn = await asyncpg.connect(dsn)
            try:
                for role in ROLES:
                    service.keys[role] = new_key()
                    await register_key(conn, service.keys[role], department=department, role=role)
                service.keys["stranger"] = new_key()  # an admin of another department
                await register_key(conn, service.keys["stranger"], department="elsewhere", role="admin")
            finally:
                await conn.close()
            yield service


async def publish(kafka_bootstrap: str, *items: Event[Any] | tuple[str, bytes | None, bytes, list]) -> None:
    """Sends events (binary mode) or raw (topic, key, value, headers) records, and waits for the acks."""
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all", linger_ms=5)
    await producer.start()
    try:
        sent = []
        for item in items:
            topic, key, value, headers = encode(item) if isinstance(item, Event) else item
            sent.append(await producer.send(topic, value=value, key=key, headers=headers))
        await asyncio.gather(*sent)
    finally:
        await producer.stop()


async def eventually(check: Callable[[], Awaitable[Any]], *, timeout: float = 45.0, what: str = "condition") -> Any:
    """Polls `check` until it returns something truthy; fails naming `what` after `timeout`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        result = await check()
        if result:
            return result
        assert loop.time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.1)


async def fetchval(dsn: str, query: str, *args: Any) -> Any:
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetchval(query, *args)
    finally:
        await conn.close()


async def read_to_end(kafka_bootstrap: str, topic: str) -> list[Any]:
    """Every record of `topic` up to its end offsets at the time of the call."""
    consumer = AIOKafkaConsumer(bootstrap_servers=kafka_bootstrap, enable_auto_commit=False,
                                auto_offset_reset="earliest", group_id=None)
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in (consumer.partitions_for_topic(topic) or ())]
        if not partitions:
            await consumer._client.force_metadata_update()  # noqa: SLF001 - the topic may be new to this client
            partitions = [TopicPartition(topic, p) for p in (consumer.partitions_for_topic(topic) or ())]
        if not partitions:
            return []
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        records = []
        while [tp for tp in partitions if await consumer.position(tp) < ends[tp]]:
            for batch in (await consumer.getmany(timeout_ms=500)).values():
                records.extend(r for r in batch if r.offset < ends[TopicPartition(r.topic, r.partition)])
        return records
    finally:
        await consumer.stop()


async def dead_letters_from(kafka_bootstrap: str, original_topic: str) -> list[Any]:
    """The records in the experiments dead-letter topic that came from `original_topic`."""
    return [r for r in await read_to_end(kafka_bootstrap, DLQ)
            if dict(r.headers).get("dlq_original_topic") == original_topic.encode()]


async def consumer_lag(kafka_bootstrap: str, group_id: str, topic: str) -> int:
    """End offsets minus the group's committed offsets, over the topic's partitions."""
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    consumer = AIOKafkaConsumer(bootstrap_servers=kafka_bootstrap, group_id=None)
    await admin.start()
    await consumer.start()
    try:
        committed = await admin.list_consumer_group_offsets(group_id)
        await consumer._client.force_metadata_update()  # noqa: SLF001
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        ends = await consumer.end_offsets(partitions)
        return sum(ends[tp] - (committed[tp].offset if tp in committed else 0) for tp in partitions)
    finally:
        await consumer.stop()
        await admin.close()
