"""The one consumer rule of the project, used by every subscriber.

The invariant: a partition's offset is committed only when every record before it was applied
(its inbox row committed with its effect) or dead-lettered (the dead-letter publish acknowledged).

- Only a failure that belongs to one event's content is dead-lettered: it cannot be decoded or
  validated (`DecodeError`), its key is not its aggregate id, a header name is not UTF-8, or the
  service refuses it (`Rejected`, a domain `Refusal`, or PostgreSQL refusing its data: SQLSTATE classes 22 and 23 while
  applying that one event). The rest of the batch is applied without it.
- Every other failure, whatever its class (the database read-only or gone, the broker refusing the
  dead letter, a bug), is retried with capped backoff from the last committed position: never
  skipped, never dead-lettered, logged at error level and shown by `consumer_stalled`.
- Everything that is applied goes through the inbox, keyed by (consumer, source, id), in one
  transaction; a redelivered event changes nothing.

The loop is ours, not FastStream's: FastStream's subscriber swallows an exception that escapes a
handler under manual acknowledgement and its next ack commits past the batch, and an error raised
while aiokafka unpacks a fetch (a header name that is not UTF-8) ends its consume task. Here one
`AIOKafkaConsumer` per subscription is driven by `Subscription.run`, which commits explicit offsets
per partition after each batch, rewinds a failed batch with `seek`, and restarts the client with
backoff when it fails. Two batches are in hand at most: batch N+1 is fetched and decoded while batch
N's transaction runs and its offsets are committed; N+1's transaction starts only after that, and
when N fails, N+1 is rewound with it and never committed. `shared.kafka_records` makes aiokafka read hostile header names instead of
raising, so such a record reaches the dead-letter topic like any other bad input.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from uuid import UUID

import asyncpg
from asyncpg.pgproto.pgproto import UUID as _TextUUID
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.errors import CommitFailedError, ConsumerStoppedError, IllegalStateError
from prometheus_client import Counter, Gauge

from shared import kafka_records
from shared.events import DecodeError, Event, decode
from shared.events.binding import DEFAULT_MAX_BYTES
from shared.events.dead_letter import publish_dead_letter
from shared.events.errors import KeyMismatch, UnreadableHeader
from shared.inbox import first_deliveries, forget
from shared.logging import correlation, get_logger
from shared.refusals import Conflict, Refusal
from shared.retry import Backoff

if TYPE_CHECKING:
    from shared.runtime import Runtime

log = get_logger(__name__)

kafka_records.install()

EVENTS_APPLIED = Counter("consumer_events_applied_total", "Events applied", ["consumer"])
EVENTS_DUPLICATE = Counter("consumer_events_duplicate_total", "Redelivered events skipped by the inbox", ["consumer"])
EVENTS_DEAD_LETTERED = Counter("consumer_events_dead_lettered_total", "Events sent to the dead-letter topic",
                               ["consumer", "error_class"])
RETRIES = Counter("consumer_retries_total", "Batches retried from the last committed position, by failure",
                  ["consumer", "error_class"])
STALLED = Gauge("consumer_stalled", "1 while the consumer is retrying a batch it could not apply", ["consumer"])
RESTARTS = Counter("consumer_restarts_total", "Kafka consumer clients restarted after a failure", ["consumer"])


class Rejected(Conflict):
    """A valid event this service refuses, for a reason that retrying will not change; `error_class`
    names the reason's kind in the dead letter."""

    def __init__(self, reason: str, *, error_class: str = "Rejected") -> None:
        super().__init__(reason, rule=error_class)

    @property
    def error_class(self) -> str:
        return self.rule


def is_content_failure(error: BaseException) -> bool:
    """True when applying one event failed because of that event (so it is dead-lettered, not retried)."""
    return isinstance(error, (Refusal, asyncpg.DataError, asyncpg.IntegrityConstraintViolationError))


Apply = Callable[[asyncpg.Connection, Event], Awaitable[None]]
Letter = tuple[ConsumerRecord, Exception]
Fetched = dict[TopicPartition, list[ConsumerRecord]]

PREPARE_CHUNK = 250  # records decoded between two turns of the event loop


@dataclass
class Prepared:
    """A batch decoded, before its transaction."""

    decoded: list[tuple[ConsumerRecord, Event]]
    letters: list[Letter]  # records that did not decode
    ahead: Any = None  # EventConsumer.ahead's result for `decoded`


def read_event(record: ConsumerRecord, *, max_bytes: int = DEFAULT_MAX_BYTES) -> Event:
    """The event a record carries, or a DecodeError: the decoder's checks, plus readable header names
    and the aggregate id as the key."""
    if kafka_records.may_be_unreadable(record.headers):
        raise UnreadableHeader("a header name is not UTF-8; the record's headers cannot be read")
    event = decode(record.value, record.headers, topic=record.topic, max_bytes=max_bytes)
    if record.key is None or record.key != _key(event.data):
        key = event.data.aggregate_id
        raise KeyMismatch(f"the record key must be the event's aggregate id {key!r}; it is {record.key!r}")
    return event


def _key(data: Any) -> bytes:
    """The record key an event's data must have: the text of its aggregate id (`EventData.aggregate_id`) as
    UTF-8. A UUID's canonical text is written by asyncpg's C UUID, equal to str() and a third of its cost."""
    value = getattr(data, data.aggregate_id_field)
    if type(value) is UUID:
        return str(_TextUUID(value.bytes)).encode()
    return str(value).encode()


class EventConsumer:
    """Decode, dead-letter or apply through the inbox: one batch at a time. `handle` raises on any
    failure that is not about one event's content; the subscription then retries the batch."""

    def __init__(
        self,
        *,
        service: str,
        name: str,
        pool: asyncpg.Pool,
        producer: AIOKafkaProducer,
        apply: Apply | None = None,
        max_event_bytes: int = DEFAULT_MAX_BYTES,
    ) -> None:
        self.service, self.name = service, name
        self._pool, self._producer, self._apply = pool, producer, apply
        self._max_bytes = max_event_bytes

    async def handle(self, records: Sequence[ConsumerRecord]) -> None:
        """Decodes, applies and dead-letters one batch (`prepare`, then `apply`)."""
        await self.apply(await self.prepare(records))

    async def prepare(self, records: Sequence[ConsumerRecord]) -> Prepared:
        """The CPU half of a batch, no I/O: decodes every record (what does not decode becomes a letter) and
        lets `ahead` prepare the write. It yields to the loop every `PREPARE_CHUNK` records, so the batch
        before it, applying meanwhile, keeps its database round trips going."""
        letters: list[Letter] = []
        decoded: list[tuple[ConsumerRecord, Event]] = []
        max_bytes = self._max_bytes
        for start in range(0, len(records), PREPARE_CHUNK):
            if start:
                await asyncio.sleep(0)
            for record in records[start:start + PREPARE_CHUNK]:
                try:
                    decoded.append((record, read_event(record, max_bytes=max_bytes)))
                except DecodeError as error:
                    letters.append((record, error))
        if decoded:
            await asyncio.sleep(0)
        return Prepared(decoded, letters, self.ahead(decoded) if decoded else None)

    def ahead(self, decoded: Sequence[tuple[ConsumerRecord, Event]]) -> Any:
        """What a service can prepare of a batch's write before knowing which events are redeliveries (most
        batches have none): passed to `apply_events` when every event of the batch is fresh. None here."""
        return None

    async def apply(self, prepared: Prepared) -> None:
        """The I/O half: the batch's transaction, then its dead letters in offset order. Raises on any
        failure that is not about one event's content."""
        letters = list(prepared.letters)
        if prepared.decoded:
            letters += await self._apply_batch(prepared)
        for record, error in sorted(letters, key=lambda letter: (letter[0].topic, letter[0].partition, letter[0].offset)):
            await self._dead_letter(record, error)

    async def apply_events(self, conn: asyncpg.Connection, events: Sequence[tuple[ConsumerRecord, Event]],
                           ahead: Any = None) -> list[Letter]:
        """Applies fresh events in the batch's open transaction, each in a savepoint; returns the events
        refused for their content. A service may override this to apply in bulk; `ahead` is what its
        `ahead` returned for exactly these events, or None when some of the batch were redeliveries."""
        refused: list[Letter] = []
        for record, event in events:
            with correlation(event.correlationid, event_id=str(event.id), event_type=event.type):
                try:
                    async with conn.transaction():
                        await self._apply(conn, event)
                except Exception as error:
                    if not is_content_failure(error):
                        raise
                    refused.append((record, error))
        return refused

    async def _apply_batch(self, prepared: Prepared) -> list[Letter]:
        decoded = prepared.decoded
        async with self._pool.acquire() as conn, conn.transaction():
            first = await first_deliveries(conn, self.name, [event for _, event in decoded])
            if first is None:  # every event is new: what was prepared ahead holds
                fresh, ahead = decoded, prepared.ahead
            else:
                fresh, ahead = [pair for pair, is_first in zip(decoded, first) if is_first], None
            refused = await self.apply_events(conn, fresh, ahead) if fresh else []
            if refused:  # a dead letter is not applied: a replay after the fix must find it new
                at_fault = {id(record) for record, _ in refused}
                await forget(conn, self.name, [event for record, event in fresh if id(record) in at_fault])
        EVENTS_APPLIED.labels(self.name).inc(len(fresh) - len(refused))
        if skipped := len(decoded) - len(fresh):
            EVENTS_DUPLICATE.labels(self.name).inc(skipped)
            log.info("redelivered events skipped", consumer=self.name, count=skipped)
        return refused

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

    async def recover(self) -> None:
        """After a failed batch: the pool's sessions may be dead or stuck in a state (read-only after a
        failover) that outlives the fault, so the next attempt starts on new ones."""
        await self._pool.expire_connections()


class Subscription:
    """Feeds one `EventConsumer` from Kafka under the invariant above, until stopped."""

    def __init__(
        self,
        consumer: EventConsumer,
        *topics: str,
        pattern: str | None = None,
        group_id: str,
        max_records: int = 500,
        client_options: dict[str, Any],
        backoff: Backoff = Backoff(),
        batch_deadline_seconds: float = 120.0,
        description: str | None = None,
    ) -> None:
        if bool(topics) == bool(pattern):
            raise ValueError("a subscription takes topics or a pattern")
        self.consumer, self.name = consumer, consumer.name
        self.topics, self.pattern, self.group_id = topics, pattern, group_id
        self.description = description
        self._max_records = max_records
        self._options = client_options
        self._backoff = backoff
        self._deadline = batch_deadline_seconds
        self._stopping = asyncio.Event()
        self._failures = 0  # consecutive failed attempts at the batch in hand

    def stop(self) -> None:
        """Asks the loop to finish the batch in hand, commit it and close the client."""
        self._stopping.set()

    async def run(self) -> None:
        restarts = 0
        STALLED.labels(self.name).set(0)  # the series exists from the start, for alerts to read
        while not self._stopping.is_set():
            kafka = AIOKafkaConsumer(
                *self.topics, group_id=self.group_id, enable_auto_commit=False, auto_offset_reset="earliest",
                **self._options,
            )
            if self.pattern:
                kafka.subscribe(pattern=self.pattern)
            try:
                await kafka.start()
                log.info("consumer started", consumer=self.name, group_id=self.group_id)
                await self._consume(kafka)
                restarts = 0
            except Exception as error:  # the client itself failed: a new one resumes from the committed offsets
                restarts += 1
                RESTARTS.labels(self.name).inc()
                delay = self._backoff.delay(restarts)
                log.error("consumer failed; restarting from the committed offsets", consumer=self.name,
                          error=repr(error), restart_in=delay, exc_info=error)
                await self._pause(delay)
            finally:
                with contextlib.suppress(Exception):
                    await kafka.stop()
        STALLED.labels(self.name).set(0)

    async def _consume(self, kafka: AIOKafkaConsumer) -> None:
        """Two batches in hand at most: while batch N is applied and its offsets committed (a task), batch N+1
        is fetched and decoded. N+1's transaction starts only after N's offsets were committed, so batches
        are applied and committed in order; when N fails, N+1 is given back with it, never committed."""
        pending: tuple[Fetched, asyncio.Task] | None = None  # the batch being applied, and its task
        try:
            while not self._stopping.is_set():
                try:
                    fetched = await kafka.getmany(timeout_ms=500, max_records=self._max_records)
                except ConsumerStoppedError:
                    return
                if not fetched:
                    if pending is not None and pending[1].done():
                        await self._settle(kafka, pending)
                        pending = None
                    continue
                records = [record for part in fetched.values() for record in part]
                prepared: Prepared | Exception
                try:
                    prepared = await self.consumer.prepare(records)
                except Exception as error:  # a bug: retried like any failure that is not about one event
                    prepared = error
                if pending is not None:
                    settled, pending = await self._settle(kafka, pending, later=fetched), None
                    if not settled:  # given back with the batch before it
                        continue
                if isinstance(prepared, Exception):
                    await self._give_back(kafka, fetched, prepared)
                    continue
                pending = (fetched, asyncio.create_task(self._apply(kafka, fetched, prepared)))
        except asyncio.CancelledError:
            if pending is not None:
                pending[1].cancel()
            raise
        finally:
            if pending is not None and not pending[1].cancelled():
                with contextlib.suppress(Exception):  # stopping, or the client failed: the batch in hand finishes
                    await self._settle(kafka, pending)

    async def _apply(self, kafka: AIOKafkaConsumer, fetched: Fetched, prepared: Prepared) -> None:
        async with asyncio.timeout(self._deadline):
            await self.consumer.apply(prepared)
        if self._failures:
            log.info("consumer recovered", consumer=self.name, failed_attempts=self._failures)
            self._failures = 0
            STALLED.labels(self.name).set(0)
        try:
            await kafka.commit({tp: part[-1].offset + 1 for tp, part in fetched.items()})
        except CommitFailedError as error:  # the group rebalanced: the new owner re-reads, the inbox de-duplicates
            log.warning("offsets not committed after a rebalance; the batch will be redelivered",
                        consumer=self.name, error=repr(error))

    async def _settle(self, kafka: AIOKafkaConsumer, pending: tuple[Fetched, asyncio.Task],
                      later: Fetched | None = None) -> bool:
        """Waits for a batch's task; True if it was applied and committed. If it failed, it is given back with
        the batch fetched after it (`later`): each partition rewinds to its first record not committed."""
        fetched, task = pending
        try:
            await task
        except Exception as error:
            await self._give_back(kafka, {**(later or {}), **fetched}, error)
            return False
        return True

    async def _give_back(self, kafka: AIOKafkaConsumer, fetched: Fetched, error: Exception) -> None:
        """Rewinds every partition of a failed batch to its first record (the last committed position)."""
        self._failures += 1
        failures = self._failures
        delay = self._backoff.delay(failures)
        RETRIES.labels(self.name, type(error).__name__).inc()
        STALLED.labels(self.name).set(1)
        log.error("batch not applied; retrying it from the last committed position", consumer=self.name,
                  error=repr(error), attempt=failures, retry_in=delay, exc_info=failures == 1)
        for tp, part in fetched.items():
            with contextlib.suppress(IllegalStateError):  # no longer ours: its new owner reads it from the commit
                kafka.seek(tp, part[0].offset)
        with contextlib.suppress(Exception):
            await self.consumer.recover()
        await self._pause(delay)

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)


@dataclass(frozen=True)
class Consumes:
    """One subscription, as a service declares it (its consumers.py); the runtime builds it, runs it
    while the service runs and stops it with the service."""

    name: str  # the consumer's name: its inbox rows and metrics carry it
    group_id: str
    apply: Apply  # applies one event in the batch's transaction
    description: str
    topics: Sequence[str] = ()
    pattern: str | None = None  # instead of topics: every topic matching it, including new ones
    max_records: int = 500
    consumer: type[EventConsumer] = EventConsumer  # a subclass may apply a batch in bulk

    def subscription(self, runtime: Runtime, service: str) -> Subscription:
        """The running form of this declaration, on the runtime's pool, producer and client options."""
        consumer = self.consumer(service=service, name=self.name, pool=runtime.pool, producer=runtime.producer,
                                 apply=self.apply, max_event_bytes=runtime.settings.max_event_bytes)
        return Subscription(consumer, *self.topics, pattern=self.pattern, group_id=self.group_id,
                            max_records=self.max_records, client_options=runtime.consumer_options(),
                            description=self.description)
