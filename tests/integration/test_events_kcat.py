"""A producer that is not Python (kcat, librdkafka) publishes to the real broker; our decoder reads it.

Needs kcat on PATH (Debian package `kcat`) and the broker from `bash deploy/kafka.sh start`.
"""

import json
import shutil
import subprocess
import uuid

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from shared.events import IdeaEndorsed, UnknownEventType, decode
from shared.events.dead_letter import publish_dead_letter
from shared.events.topics import dlq_topic, topic_name

pytestmark = pytest.mark.integration


async def create_topics(bootstrap, *topics):
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1) for topic in topics])
    finally:
        await admin.close()


async def read_all(bootstrap, topic, count):
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                                enable_auto_commit=False, group_id=None)
    await consumer.start()
    try:
        records = []
        while len(records) < count:
            batch = await consumer.getmany(timeout_ms=10_000, max_records=count)
            assert batch, f"only {len(records)} of {count} records arrived on {topic}"
            records.extend(record for part in batch.values() for record in part)
        return records
    finally:
        await consumer.stop()


def kcat(bootstrap, topic, key, body, headers):
    kcat_path = shutil.which("kcat")
    assert kcat_path, "kcat is required: apt-get install -y kcat"
    command = [kcat_path, "-P", "-b", bootstrap, "-t", topic, "-k", key]
    for name, value in headers.items():
        command += ["-H", f"{name}={value}"]
    subprocess.run(command, input=body, check=True, timeout=60)


async def test_kcat_binary_and_structured_events_decode(kafka_bootstrap, department):
    topic = topic_name(department, "ideas")
    await create_topics(kafka_bootstrap, topic)
    idea_id, event_id = str(uuid.uuid4()), str(uuid.uuid4())
    data = {"idea_id": idea_id, "endorsed_by": "p_0123456789abcdef", "channel": "intranet"}
    kcat(kafka_bootstrap, topic, idea_id, json.dumps(data).encode(), {
        "ce_specversion": "1.0", "ce_id": event_id, "ce_source": f"/departments/{department}/hr-system",
        "ce_type": "uk.gov.innovation.idea.endorsed.v1", "ce_subject": f"ideas/{idea_id}",
        "ce_time": "2025-05-01T12:00:00Z", "ce_department": department, "ce_correlationid": "hr-batch-7",
        "ce_vendorext": "ignored", "content-type": "application/json",
    })
    structured = {"specversion": "1.0", "id": str(uuid.uuid4()), "source": f"/departments/{department}/bot",
                  "type": "uk.gov.innovation.idea.endorsed.v1", "time": "2025-05-01T13:00:00+02:00",
                  "datacontenttype": "application/json", "department": department, "data": data}
    kcat(kafka_bootstrap, topic, idea_id, json.dumps(structured).encode(),
         {"content-type": "application/cloudevents+json; charset=utf-8"})

    binary_record, structured_record = await read_all(kafka_bootstrap, topic, 2)
    from_binary = decode(binary_record.value, binary_record.headers, topic=binary_record.topic)
    from_structured = decode(structured_record.value, structured_record.headers, topic=structured_record.topic)

    assert from_binary.data == IdeaEndorsed(idea_id=idea_id, endorsed_by="p_0123456789abcdef")
    assert (str(from_binary.id), from_binary.correlationid, from_binary.department) == (event_id, "hr-batch-7",
                                                                                        department)
    assert binary_record.key == idea_id.encode()
    assert from_structured.data == from_binary.data
    assert from_structured.time.isoformat() == "2025-05-01T11:00:00+00:00"
    assert from_structured.correlationid == str(from_structured.id)


async def test_dead_letter_reaches_the_broker_with_the_original_bytes(kafka_bootstrap, department):
    service = f"svc-{department}"
    await create_topics(kafka_bootstrap, dlq_topic(service))
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        value, headers = b"{not json", [("ce_specversion", b"1.0"), ("ce_type", b"x")]
        with pytest.raises(UnknownEventType) as raised:
            decode(value, headers)
        await publish_dead_letter(producer, service=service, topic=topic_name(department, "ideas"), partition=0,
                                  offset=7, key=b"k", value=value, headers=headers, error=raised.value)
    finally:
        await producer.stop()

    [record] = await read_all(kafka_bootstrap, dlq_topic(service), 1)
    received = dict(record.headers)
    assert (record.key, record.value) == (b"k", b"{not json")
    assert received["dlq_error_class"] == b"UnknownEventType"
    assert received["dlq_original_offset"] == b"7"
    assert received["ce_type"] == b"x"
