"""The transactional outbox and its relay.

`enqueue` writes events in the caller's transaction; the relay publishes unsent rows
with an idempotent producer (acks=all) and marks them sent only after the broker
acknowledged them, so a broker outage delays events and never drops them.

Order: rows are split into lanes by Kafka key, and each lane has one relay at a time
(a session advisory lock), which publishes its lane in id order. Callers serialise
writes to one aggregate (a row lock), so one aggregate's ids commit in order. With
several replicas, each takes the lanes no one holds; when one dies, its lock goes with
its connection and a survivor takes the lanes over.
"""

import asyncio
import contextlib
import time
import zlib
from collections.abc import Iterable
from datetime import timedelta

import asyncpg
from aiokafka import AIOKafkaProducer
from prometheus_client import Gauge, Histogram

from shared.events import Event, encode
from shared.logging import get_logger

LANES = 16
CHANNEL = "outbox"  # notified by the trigger of shared/migrations/0004_outbox_notify.sql
_LOCK_CLASS = 7_302_016  # advisory lock namespace of the relay lanes

log = get_logger(__name__)

OUTBOX_BACKLOG = Gauge("outbox_backlog", "Outbox rows not yet acknowledged by Kafka")
PUBLISH_LATENCY = Histogram(
    "outbox_commit_to_ack_seconds",
    "Time from an outbox row's commit to the broker's acknowledgement",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)


def lane_of(key: bytes) -> int:
    return zlib.crc32(key) % LANES


async def enqueue(conn: asyncpg.Connection, events: Iterable[Event]) -> None:
    """Adds events to the outbox inside the caller's transaction; the relay wakes at commit
    (a trigger notifies the `outbox` channel)."""
    rows = []
    for event in events:
        record = encode(event)
        rows.append((
            lane_of(record.key), event.id, record.topic, record.key, record.value,
            [name for name, _ in record.headers], [value for _, value in record.headers],
        ))
    if not rows:
        return
    await conn.executemany(
        """INSERT INTO outbox (lane, event_id, topic, key, value, header_names, header_values)
           VALUES ($1, $2, $3, $4, $5, $6, $7)""",
        rows,
    )


def new_producer(bootstrap_servers: str, **overrides) -> AIOKafkaProducer:
    """The one producer configuration for events: idempotent, acks from every in-sync replica."""
    settings = dict(
        bootstrap_servers=bootstrap_servers,
        enable_idempotence=True,
        acks="all",
        linger_ms=5,
        request_timeout_ms=15_000,
        max_request_size=2 * 1024 * 1024,
    )
    settings.update(overrides)
    return AIOKafkaProducer(**settings)


class OutboxRelay:
    def __init__(
        self,
        dsn: str,
        producer: AIOKafkaProducer,
        *,
        batch_size: int = 500,
        idle_check_seconds: float = 5.0,
        keep_sent: timedelta = timedelta(days=1),
        prune_every_seconds: float = 300.0,
    ) -> None:
        self._dsn = dsn
        self._producer = producer
        self._batch_size = batch_size
        self._idle_check = idle_check_seconds
        self._keep_sent = keep_sent
        self._prune_every = prune_every_seconds
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._lanes: list[int] = []
        self.published = 0

    @property
    def lanes(self) -> list[int]:
        return list(self._lanes)

    def wake(self) -> None:
        self._wake.set()

    async def stop(self) -> None:
        self._stopping.set()
        self._wake.set()

    async def run(self) -> None:
        """Publishes until stopped; reconnects with backoff after any failure."""
        backoff = 0.2
        while not self._stopping.is_set():
            try:
                await self._serve()
                backoff = 0.2
            except asyncio.CancelledError:
                raise
            except Exception as error:  # database or broker trouble: nothing is marked, try again
                log.warning("outbox relay failed; retrying", error=repr(error), retry_in=backoff)
                self._lanes = []
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), backoff)
                backoff = min(backoff * 2, 10.0)

    async def _serve(self) -> None:
        control = await asyncpg.connect(self._dsn)  # holds the lane locks and listens
        work = await asyncpg.connect(self._dsn)
        try:
            await control.add_listener(CHANNEL, lambda *_: self._wake.set())
            last_prune = 0.0
            while not self._stopping.is_set():
                await self._claim_lanes(control)
                self._wake.clear()
                while self._lanes and not self._stopping.is_set():
                    if await self.publish_batch(work) < self._batch_size:
                        break
                if time.monotonic() - last_prune > self._prune_every:
                    await self.prune(work)
                    last_prune = time.monotonic()
                OUTBOX_BACKLOG.set(await work.fetchval("SELECT count(*) FROM outbox WHERE sent_at IS NULL"))
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self._idle_check)
        finally:
            self._lanes = []
            await asyncio.gather(work.close(), control.close(), return_exceptions=True)

    async def _claim_lanes(self, control: asyncpg.Connection) -> None:
        for lane in range(LANES):
            if lane not in self._lanes and await control.fetchval(
                "SELECT pg_try_advisory_lock($1, $2)", _LOCK_CLASS, lane
            ):
                self._lanes.append(lane)

    async def publish_batch(self, conn: asyncpg.Connection) -> int:
        """Publishes one batch of this relay's unsent rows; returns how many it published."""
        async with conn.transaction():
            rows = await conn.fetch(
                """SELECT id, topic, key, value, header_names, header_values, created_at
                   FROM outbox WHERE sent_at IS NULL AND lane = ANY($1::smallint[])
                   ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED""",
                self._lanes, self._batch_size,
            )
            if not rows:
                return 0
            acks = [
                await self._producer.send(
                    row["topic"], value=row["value"], key=row["key"],
                    headers=list(zip(row["header_names"], row["header_values"])),
                )
                for row in rows
            ]
            await asyncio.gather(*acks)
            await self.before_mark(rows)
            acked_at = await conn.fetchval(
                "UPDATE outbox SET sent_at = clock_timestamp() WHERE id = ANY($1::bigint[]) RETURNING sent_at",
                [row["id"] for row in rows],
            )
        for row in rows:
            PUBLISH_LATENCY.observe(max(0.0, (acked_at - row["created_at"]).total_seconds()))
        self.published += len(rows)
        return len(rows)

    async def before_mark(self, rows: list[asyncpg.Record]) -> None:
        """Runs after the broker acknowledged a batch and before it is marked sent."""

    async def prune(self, conn: asyncpg.Connection) -> int:
        status = await conn.execute("DELETE FROM outbox WHERE sent_at < now() - $1::interval", self._keep_sent)
        return int(status.split()[-1])
