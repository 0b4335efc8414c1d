"""The one consumer rule of the project, used by every subscriber.

- An event that cannot be decoded or validated goes to `innovation.dlq.<service>` with its
  reason, and the partition moves on.
- An event the service cannot apply for a lasting reason (`Rejected`, or a failure that is
  not transient) is dead-lettered too, and the rest of its batch is applied without it.
- A transient failure (database or broker unreachable) is retried with backoff; when the
  bounded retries run out the batch is handed back (the partition rewinds to it), never
  dead-lettered and never skipped.
- Everything that is applied goes through the inbox in one transaction, and offsets are
  committed only after that transaction: a redelivered event changes nothing.

FastStream's default policy commits before the handler runs, which would lose a message
whose handling fails: every subscriber here uses AckPolicy.MANUAL.
"""

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
from aiokafka import AIOKafkaProducer, ConsumerRecord
from aiokafka.errors import KafkaConnectionError, KafkaTimeoutError, NotEnoughReplicasError
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from faststream.message import StreamMessage
from prometheus_client import Counter

from shared.events import DecodeError, Event, decode
from shared.events.dead_letter import publish_dead_letter
from shared.inbox import first_deliveries
from shared.logging import correlation, get_logger

log = get_logger(__name__)

TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    asyncio.TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.CannotConnectNowError,
    asyncpg.TooManyConnectionsError,
    asyncpg.SerializationError,
    asyncpg.DeadlockDetectedError,
    asyncpg.AdminShutdownError,
    KafkaConnectionError,
    KafkaTimeoutError,
    NotEnoughReplicasError,
)

EVENTS_APPLIED = Counter("consumer_events_applied_total", "Events applied", ["consumer"])
EVENTS_DUPLICATE = Counter("consumer_events_duplicate_total", "Redelivered events skipped by the inbox", ["consumer"])
EVENTS_DEAD_LETTERED = Counter("consumer_events_dead_lettered_total", "Events sent to the dead-letter topic", ["consumer", "error_class"])
RETRIES = Counter("consumer_transient_retries_total", "Transient failures retried", ["consumer"])


class Rejected(Exception):
    """A valid event this service cannot apply, for a reason that retrying will not change."""

    def __init__(self, reason: str, *, error_class: str = "Rejected") -> None:
        super().__init__(reason)
        self.reason = reason
        self.error_class = error_class


class TransientFailure(Exception):
    """The bounded retries ran out on a transient failure; the batch must be read again."""


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 6
    first_delay: float = 0.2
    max_delay: float = 5.0

    def delays(self):
        delay = self.first_delay
        for _ in range(self.attempts - 1):
            yield delay
            delay = min(delay * 2, self.max_delay)


class _EventFailed(Exception):
    def __init__(self, record: ConsumerRecord, error: Exception) -> None:
        self.record, self.error = record, error


Apply = Callable[[asyncpg.Connection, Event], Awaitable[None]]


class EventConsumer:
    """Decode, dead-letter or apply through the inbox: one batch at a time."""

    def __init__(
        self,
        *,
        service: str,
        name: str,
        pool: asyncpg.Pool,
        producer: AIOKafkaProducer,
        apply: Apply | None = None,
        retry: RetryPolicy = RetryPolicy(),
        max_event_bytes: int = 1_048_576,
    ) -> None:
        self.service, self.name = service, name
        self._pool, self._producer, self._apply = pool, producer, apply
        self._retry = retry
        self._max_bytes = max_event_bytes

    async def apply_events(self, conn: asyncpg.Connection, events: Sequence[tuple[ConsumerRecord, Event]]) -> None:
        """Applies fresh events in one open transaction. A service may override this to apply in bulk."""
        for record, event in events:
            with correlation(event.correlationid, event_id=str(event.id), event_type=event.type):
                try:
                    await self._apply(conn, event)
                except TRANSIENT_ERRORS:
                    raise
                except Exception as error:
                    raise _EventFailed(record, error) from error

    async def handle(self, records: Sequence[ConsumerRecord]) -> None:
        decoded: list[tuple[ConsumerRecord, Event]] = []
        for record in records:
            try:
                decoded.append((record, decode(record.value, record.headers, topic=record.topic, max_bytes=self._max_bytes)))
            except DecodeError as error:
                await self._with_retries(self._dead_letter, record, error)
        while decoded:
            try:
                await self._with_retries(self._apply_batch, decoded)
                return
            except _EventFailed as failed:
                await self._with_retries(self._dead_letter, failed.record, failed.error)
                decoded = [pair for pair in decoded if pair[0] is not failed.record]

    async def _apply_batch(self, decoded: list[tuple[ConsumerRecord, Event]]) -> None:
        async with self._pool.acquire() as conn, conn.transaction():
            fresh_ids = await first_deliveries(conn, self.name, [event.id for _, event in decoded])
            fresh = []
            for record, event in decoded:
                if event.id in fresh_ids:
                    fresh_ids.discard(event.id)
                    fresh.append((record, event))
            await self.apply_events(conn, fresh)
        EVENTS_APPLIED.labels(self.name).inc(len(fresh))
        if skipped := len(decoded) - len(fresh):
            EVENTS_DUPLICATE.labels(self.name).inc(skipped)
            log.info("redelivered events skipped", consumer=self.name, count=skipped)

    async def _dead_letter(self, record: ConsumerRecord, error: Exception) -> None:
        error_class = getattr(error, "error_class", type(error).__name__)
        reason = getattr(error, "reason", None) or str(error) or error_class
        await publish_dead_letter(
            self._producer, service=self.service, topic=record.topic, partition=record.partition,
            offset=record.offset, key=record.key, value=record.value, headers=record.headers, error=error,
        )
        EVENTS_DEAD_LETTERED.labels(self.name, error_class).inc()
        log.warning(
            "event dead-lettered", consumer=self.name, topic=record.topic, partition=record.partition,
            offset=record.offset, error_class=error_class, reason=reason,
        )

    async def _with_retries(self, operation: Callable[..., Awaitable[Any]], *args: Any) -> Any:
        delays = self._retry.delays()
        while True:
            try:
                return await operation(*args)
            except TRANSIENT_ERRORS as error:
                delay = next(delays, None)
                if delay is None:
                    raise TransientFailure(repr(error)) from error
                RETRIES.labels(self.name).inc()
                log.warning("transient failure; retrying", consumer=self.name, error=repr(error), retry_in=delay)
                await asyncio.sleep(delay)


async def _records(message: StreamMessage[Any]) -> Any:
    """Hands the handler aiokafka's records untouched: decoding is ours, never FastStream's."""
    return None


def subscribe(
    broker: KafkaBroker,
    consumer: EventConsumer,
    *topics: str,
    group_id: str,
    pattern: str | None = None,
    batch: bool = False,
    max_records: int | None = None,
    description: str | None = None,
) -> None:
    """Attaches `consumer` to `broker` under the project's consumer rule (manual acknowledgement)."""
    subscriber = broker.subscriber(
        *topics,
        pattern=pattern,
        group_id=group_id,
        batch=batch,
        max_records=max_records,
        auto_offset_reset="earliest",
        ack_policy=AckPolicy.MANUAL,
        decoder=_records,
        description=description,
    )

    @subscriber
    async def on_records(message: KafkaMessage) -> None:
        raw = message.raw_message
        records = raw if isinstance(raw, tuple) else (raw,)
        try:
            await consumer.handle(records)
        except TransientFailure as failure:
            log.error("transient failure outlasted the retries; the batch will be read again",
                      consumer=consumer.name, error=str(failure))
            await message.nack()
            return
        await message.ack()
