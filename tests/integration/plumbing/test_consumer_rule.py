"""The project's one consumer rule (shared.consumer), proved on the experiments service's ideas
consumer against the real broker and real PostgreSQL:

- bad input is dead-lettered with its reason and never blocks the partition;
- a database outage is retried, never dead-lettered, and loses or repeats nothing.
"""

import uuid

import pytest
from aiokafka import AIOKafkaProducer

from services.experiments.consumers import IDEAS_CONSUMER, ideas_group
from shared.consumer import RETRIES
from shared.events import encode
from shared.events.topics import topic_name
from tests.integration.experiments.support import running_experiments
from tests.support.db import fetchval
from tests.support.events import backed
from tests.support.kafka import consumer_lag, dead_letters
from tests.support.own_postgres import OwnPostgres
from tests.support.waiting import at_least, eventually


async def _send_to_partition_zero(kafka_bootstrap: str, records) -> None:
    """One partition, so "before" means before."""
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all", linger_ms=5)
    await producer.start()
    try:
        for topic, key, value, headers in records:
            await producer.send_and_wait(topic, value=value, key=key, headers=headers, partition=0)
    finally:
        await producer.stop()


async def test_malformed_and_unknown_events_are_dead_lettered_and_the_hundred_after_them_applied(
    kafka_bootstrap, new_database, department,
):
    dsn = await new_database("experiments")
    topic = topic_name(department, "ideas")
    malformed = (topic, b"m", b'{"idea_id": "not closed', [("content-type", b"application/cloudevents+json")])
    unknown = encode(backed(department, uuid.uuid4()))
    unknown_headers = [(k, b"uk.gov.innovation.idea.teleported.v1" if k == "ce_type" else v) for k, v in unknown.headers]
    unknown = (topic, unknown.key, unknown.value, unknown_headers)
    valid = [encode(backed(department, uuid.uuid4())) for _ in range(100)]
    async with running_experiments(kafka_bootstrap, dsn, department):
        await _send_to_partition_zero(kafka_bootstrap, [malformed, unknown, *valid])
        await eventually(lambda: fetchval(dsn, "SELECT count(*) = 100 FROM experiments"), what="100 experiments")
        letters = await eventually(lambda: at_least(dead_letters(kafka_bootstrap, "experiments", topic), 2),
                                   what="two dead letters")
        await eventually(lambda: _zero(consumer_lag(kafka_bootstrap, ideas_group(department), topic)),
                         what="consumer lag zero")
    assert len(letters) == 2
    first, second = (dict(letter.headers) for letter in letters)
    assert letters[0].value == malformed[2] and first["dlq_original_offset"] == b"0"
    assert first["dlq_error_class"] == b"MalformedEvent" and first["dlq_reason"]
    assert second["dlq_original_offset"] == b"1" and second["dlq_error_class"] == b"UnknownEventType"
    assert b"idea.teleported" in second["dlq_reason"]
    assert second["dlq_original_topic"] == topic.encode() and second["dlq_original_partition"] == b"0"
    assert await fetchval(dsn, "SELECT count(*) FROM inbox WHERE consumer = $1", IDEAS_CONSUMER) == 100


async def _zero(lag_coroutine):
    return await lag_coroutine == 0


# -- a database outage, on a PostgreSQL server of this test's own ----------------------------------


@pytest.fixture
def own_postgres():
    server = OwnPostgres(prefix="experiments-outage-")
    server.start()
    yield server
    server.remove()


def _retries() -> float:
    """Batches retried by the ideas consumer so far, whatever the failure."""
    return sum(sample.value for metric in RETRIES.collect() for sample in metric.samples
               if sample.name.endswith("_total") and sample.labels["consumer"] == IDEAS_CONSUMER)


async def test_a_database_outage_mid_stream_loses_nothing_repeats_nothing_and_dead_letters_nothing(
    kafka_bootstrap, department, own_postgres,
):
    topic = topic_name(department, "ideas")
    before, during = ([backed(department, uuid.uuid4()) for _ in range(100)] for _ in range(2))
    dsn = own_postgres.dsn("experiments_outage")
    async with running_experiments(kafka_bootstrap, dsn, department, consumer_max_records=10) as service:
        await _send_to_partition_zero(kafka_bootstrap, [encode(e) for e in before])
        await eventually(lambda: fetchval(dsn, "SELECT count(*) >= 10 FROM experiments"), what="the stream flowing")
        retries = _retries()
        own_postgres.stop()
        await _send_to_partition_zero(kafka_bootstrap, [encode(e) for e in during])
        # The batch has been given back and read again, more than once.
        await eventually(lambda: _async(_retries() >= retries + 3), what="transient failures retried", timeout=90)
        own_postgres.start()
        await eventually(lambda: fetchval(dsn, "SELECT count(*) = 200 FROM experiments"), what="200 experiments",
                         timeout=90)
        await eventually(lambda: _zero(consumer_lag(kafka_bootstrap, ideas_group(department), topic)),
                         what="consumer lag zero")
        listed = (await service.client.get("/v1/experiments?limit=200", headers=service.headers("viewer"))).json()
    assert sorted(e["idea_id"] for e in listed["items"]) == sorted(str(e.data.idea_id) for e in before + during)
    assert await fetchval(dsn, "SELECT count(*) FROM inbox WHERE consumer = $1", IDEAS_CONSUMER) == 200
    assert await dead_letters(kafka_bootstrap, "experiments", topic) == []


async def _async(value):
    return value
