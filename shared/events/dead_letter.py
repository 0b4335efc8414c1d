"""The one dead-letter path every consumer uses: the original bytes, plus why and where from."""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any, Protocol

from aiokafka.errors import MessageSizeTooLargeError

from shared.events.topics import dlq_topic
from shared.kafka_records import raw_name, unreadable_headers

MAX_REASON_BYTES = 2000
_DLQ_PREFIX = "dlq_"


class Producer(Protocol):
    """The part of aiokafka's AIOKafkaProducer this module uses."""

    async def send_and_wait(
        self, topic: str, value: bytes | None = None, key: bytes | None = None, *,
        headers: list[tuple[str, bytes]] | None = None,
    ) -> Any: ...


def dead_letter_headers(
    *,
    topic: str,
    partition: int,
    offset: int,
    error_class: str,
    reason: str,
    original_headers: Sequence[tuple[str, bytes]] | None,
) -> list[tuple[str, bytes]]:
    """The original headers (minus any dlq_* of an earlier dead-lettering) and ours. Headers whose names
    were not UTF-8 cannot be sent as headers again: they travel, base64-encoded, in `dlq_unreadable_headers`."""
    unreadable = unreadable_headers(original_headers)
    kept = [(name, value) for name, value in original_headers or ()
            if not str(name).startswith(_DLQ_PREFIX) and (name, value) not in unreadable]
    if unreadable:
        kept.append(("dlq_unreadable_headers", json.dumps([
            [base64.b64encode(raw_name(name)).decode(), None if value is None else base64.b64encode(value).decode()]
            for name, value in unreadable
        ]).encode()))
    return kept + [
        ("dlq_original_topic", topic.encode()),
        ("dlq_original_partition", str(partition).encode()),
        ("dlq_original_offset", str(offset).encode()),
        ("dlq_error_class", error_class.encode()),
        ("dlq_reason", _truncate(reason)),
        ("dlq_time", datetime.now(timezone.utc).isoformat().replace("+00:00", "Z").encode()),
    ]


async def publish_dead_letter(
    producer: Producer,
    *,
    service: str,
    topic: str,
    partition: int,
    offset: int,
    key: bytes | None,
    value: bytes | None,
    headers: Sequence[tuple[str, bytes]] | None,
    error: BaseException,
) -> None:
    """Send the original record, byte for byte, to `innovation.dlq.<service>` and wait for the broker.

    A record too large to be sent again with our headers (the broker or the producer refuses it) is
    dead-lettered without its value, with `dlq_value_omitted` giving its size: the original stays in its
    topic (retention is unlimited) at the partition and offset the headers name."""
    letter = dead_letter_headers(
        topic=topic,
        partition=partition,
        offset=offset,
        error_class=getattr(error, "error_class", type(error).__name__),
        reason=getattr(error, "reason", None) or str(error) or type(error).__name__,
        original_headers=headers,
    )
    try:
        await producer.send_and_wait(dlq_topic(service), value=value, key=key, headers=letter)
    except MessageSizeTooLargeError:
        omitted = [("dlq_value_omitted", str(len(value or b"")).encode())]
        await producer.send_and_wait(dlq_topic(service), value=None, key=key, headers=letter + omitted)


def _truncate(reason: str) -> bytes:
    encoded = reason.encode()
    if len(encoded) <= MAX_REASON_BYTES:
        return encoded
    marker = " [truncated]".encode()
    return encoded[: MAX_REASON_BYTES - len(marker)].decode(errors="ignore").encode() + marker
