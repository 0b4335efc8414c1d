"""Small Kafka helpers for tests: create topics, publish, read what arrived, measure lag.

Two readers, for two questions: `read_records` waits until `count` records arrived (for what is
still on its way); `read_to_end` takes what a topic holds now (for "this and nothing else")."""

import asyncio
import uuid
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from shared.events import Event, encode
from shared.events.topics import dlq_topic


async def create_topics(bootstrap: str, *topics: str, partitions: int = 3) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        for topic in topics:
            try:
                await admin.create_topics([NewTopic(topic, num_partitions=partitions, replication_factor=1)])
            except TopicAlreadyExistsError:
                pass
    finally:
        await admin.close()


async def publish(bootstrap: str, *items: Event[Any] | tuple[str, bytes | None, bytes, list]) -> None:
    """Sends events (binary mode) or raw (topic, key, value, headers) records, and waits for the acks."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    await producer.start()
    try:
        sent = []
        for item in items:
            topic, key, value, headers = encode(item) if isinstance(item, Event) else item
            sent.append(await producer.send(topic, value=value, key=key, headers=headers))
        await asyncio.gather(*sent)
    finally:
        await producer.stop()


async def read_records(
    bootstrap: str, *topics: str, count: int, timeout: float = 30.0, group_id: str | None = None
) -> list[ConsumerRecord]:
    """Reads from the beginning until `count` records arrived or `timeout` passed; returns what arrived."""
    consumer = AIOKafkaConsumer(
        *topics,
        bootstrap_servers=bootstrap,
        group_id=group_id or f"test-reader-{uuid.uuid4().hex[:8]}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    records: list[ConsumerRecord] = []
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while len(records) < count and loop.time() < deadline:
            batch = await consumer.getmany(timeout_ms=500)
            for part in batch.values():
                records.extend(part)
    finally:
        await consumer.stop()
    return records


async def _partitions(consumer: AIOKafkaConsumer, topic: str) -> list[TopicPartition]:
    """The topic's partitions; refreshes the metadata once when the topic is new to this client."""
    known = consumer.partitions_for_topic(topic)
    if not known:
        await consumer._client.force_metadata_update()  # noqa: SLF001 - aiokafka has no public refresh
        known = consumer.partitions_for_topic(topic)
    return [TopicPartition(topic, p) for p in known or ()]


async def read_to_end(bootstrap: str, topic: str) -> list[ConsumerRecord]:
    """Every record of `topic` up to its end offsets at the time of the call."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                                auto_offset_reset="earliest", group_id=None)
    await consumer.start()
    try:
        partitions = await _partitions(consumer, topic)
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


async def topic_size(bootstrap: str, topic: str) -> int:
    """How many records `topic` holds: the sum of its partitions' end offsets."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await consumer.start()
    try:
        return sum((await consumer.end_offsets(await _partitions(consumer, topic))).values())
    finally:
        await consumer.stop()


async def consumer_lag(bootstrap: str, group_id: str, topic: str) -> int:
    """End offsets minus the group's committed offsets, over the topic's partitions."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None)
    await admin.start()
    await consumer.start()
    try:
        committed = await admin.list_consumer_group_offsets(group_id)
        partitions = await _partitions(consumer, topic)
        ends = await consumer.end_offsets(partitions)
        return sum(ends[tp] - (committed[tp].offset if tp in committed else 0) for tp in partitions)
    finally:
        await consumer.stop()
        await admin.close()


async def dead_letters(bootstrap: str, service: str, original_topic: str) -> list[ConsumerRecord]:
    """The records in `service`'s dead-letter topic that came from `original_topic`, in the order
    they stood there (dead letters keep their keys, so they spread over the dead-letter topic's
    partitions, and reading several partitions gives no order between them)."""
    letters = [r for r in await read_to_end(bootstrap, dlq_topic(service))
               if dict(r.headers).get("dlq_original_topic") == original_topic.encode()]
    return sorted(letters, key=_original_position)


def _original_position(letter: ConsumerRecord) -> tuple[int, int]:
    headers = dict(letter.headers)
    return int(headers["dlq_original_partition"]), int(headers["dlq_original_offset"])
