"""Hostile records, written by kcat (librdkafka, not our client), between valid events on one
partition of a three-partition topic, while the other partitions carry valid events fetched in the
same poll (everything is on the topic before the consumer starts). Afterwards every valid event is
applied exactly once, every hostile record is in the dead-letter topic with its original bytes and a
reason, and the offsets are committed to the end."""

import base64
import json
from dataclasses import dataclass

import orjson
from aiokafka import AIOKafkaProducer

from shared.events import encode
from tests.support import kcat
from tests.support.kafka import dead_letters

VALID_BETWEEN = 5  # valid events before, between and after the hostile ones on partition 0
OTHER_PARTITIONS = {1: 30, 2: 30}  # valid events on the other partitions
MAX_EVENT_BYTES = 65_536  # the consumers' limit, lowered so that the dead letter can carry the original bytes
OVERSIZE = 100_000  # bytes of padding: over that limit


@dataclass
class Record:
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str | bytes, bytes]]
    dead_letter: bool = True  # False: valid after all
    error_class: str | None = None  # the dead letter's class, when the contract names one
    offset: int = -1  # on partition 0, once produced


def _hostile(target, reused) -> list[Record]:
    """One record per way in, each otherwise a valid event, so that only its own fault explains it."""
    def fresh():
        return encode(target.event())

    name = fresh()
    ce_value = fresh()
    null_value = fresh()
    null_key = fresh()
    large = fresh()
    padded = orjson.dumps({**orjson.loads(large.value), "padding": "x" * OVERSIZE})
    other_source = f"/departments/{target.department}/hr-import"
    reuse = encode(target.event().model_copy(update={"id": reused.id, "source": other_source}))
    bad_source = [(k, b"/departments/\xff\xfe" if k == "ce_source" else v) for k, v in ce_value.headers]
    return [
        Record(name.key, name.value, [*name.headers, (b"\xff\xfe", b"x")], error_class="UnreadableHeader"),
        Record(ce_value.key, ce_value.value, bad_source),  # a DecodeError of some class: any is fine
        Record(null_value.key, None, null_value.headers, error_class="MalformedEvent"),
        Record(None, null_key.value, null_key.headers, error_class="KeyMismatch"),
        Record(large.key, padded, large.headers, error_class="EventTooLarge"),
        # Valid: the same id from another source is another event.
        Record(reuse.key, reuse.value, reuse.headers, dead_letter=False),
    ]


async def _send(bootstrap: str, topic: str, partition: int, records) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for record in records:
            await producer.send_and_wait(topic, record.value, key=record.key, headers=record.headers,
                                         partition=partition)
    finally:
        await producer.stop()


async def test_hostile_records_are_dead_lettered_and_every_valid_event_applied_once(
        kind, make_target, kafka_bootstrap, new_database):
    target = await make_target(kind, dsn=await new_database(kind), bootstrap=kafka_bootstrap,
                               MAX_EVENT_BYTES=str(MAX_EVENT_BYTES))
    others = {p: [encode(target.event()) for _ in range(n)] for p, n in OTHER_PARTITIONS.items()}
    reused = target.event()
    others[1][0] = encode(reused)
    for partition, records in others.items():
        await _send(kafka_bootstrap, target.topic, partition, records)

    hostile = _hostile(target, reused)
    offset = 0
    for record in hostile:
        await _send(kafka_bootstrap, target.topic, 0, [encode(target.event()) for _ in range(VALID_BETWEEN)])
        offset += VALID_BETWEEN
        kcat.produce(kafka_bootstrap, target.topic, partition=0, value=record.value, key=record.key,
                     headers=record.headers)
        record.offset = offset
        offset += 1
    await _send(kafka_bootstrap, target.topic, 0, [encode(target.event()) for _ in range(VALID_BETWEEN)])
    valid = VALID_BETWEEN * (len(hostile) + 1) + 1 + sum(OTHER_PARTITIONS.values())
    bad = [record for record in hostile if record.dead_letter]

    await target.process.start()
    await target.caught_up()
    await target.assert_applied_once(valid)

    letters = await dead_letters(target.bootstrap, target.service, target.topic)
    where = [(dict(letter.headers)["dlq_original_partition"], dict(letter.headers)["dlq_original_offset"])
             for letter in letters]
    assert where == [(b"0", str(record.offset).encode()) for record in bad], "not exactly the hostile records"
    for letter, record in zip(letters, bad):
        headers = dict(letter.headers)
        what = f"the dead letter of offset {record.offset} ({headers['dlq_error_class']!r})"
        assert (letter.key, letter.value) == (record.key, record.value), f"{what}: not the original bytes"
        assert headers["dlq_reason"], f"{what}: no reason"
        if record.error_class:
            assert headers["dlq_error_class"] == record.error_class.encode(), headers["dlq_reason"]
    unreadable = dict(letters[0].headers)
    assert json.loads(unreadable["dlq_unreadable_headers"]) == [[_b64(b"\xff\xfe"), _b64(b"x")]]
    readable = [(name, value) for name, value in bad[0].headers if isinstance(name, str)]
    assert all(header in letters[0].headers for header in readable), "the readable headers were not kept"
    assert await target.process.metric("consumer_events_dead_lettered_total", consumer=target.consumer) == len(bad)
    await target.assert_not_stalled()


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()
