"""A record as large as the broker accepts cannot be dead-lettered whole with our headers added: it
is dead-lettered without its value, naming its size, and the original stays where the headers say."""

import uuid

from shared.events.dead_letter import publish_dead_letter
from shared.events.errors import EventTooLarge
from shared.events.topics import dlq_topic
from shared.outbox import new_producer
from tests.support.kafka import create_topics, read_to_end


async def test_a_dead_letter_too_large_for_the_broker_goes_without_its_value(kafka_bootstrap):
    service = f"size-{uuid.uuid4().hex[:8]}"
    await create_topics(kafka_bootstrap, dlq_topic(service), partitions=1)
    value = b"x" * 1_048_400  # under the broker's default message.max.bytes; with our headers, over it
    producer = new_producer(kafka_bootstrap)
    await producer.start()
    try:
        await publish_dead_letter(producer, service=service, topic="innovation.t.ideas.v1", partition=2, offset=7,
                                  key=b"k", value=value, headers=[("ce_id", b"1")],
                                  error=EventTooLarge("the record value is too large"))
        small = b'{"not": "an event"}'
        await publish_dead_letter(producer, service=service, topic="innovation.t.ideas.v1", partition=2, offset=8,
                                  key=b"k", value=small, headers=[], error=EventTooLarge("small"))
    finally:
        await producer.stop()
    large_letter, small_letter = await read_to_end(kafka_bootstrap, dlq_topic(service))
    headers = dict(large_letter.headers)
    assert large_letter.value is None and headers["dlq_value_omitted"] == str(len(value)).encode()
    assert headers["dlq_original_offset"] == b"7" and headers["dlq_error_class"] == b"EventTooLarge"
    assert small_letter.value == small and "dlq_value_omitted" not in dict(small_letter.headers)
