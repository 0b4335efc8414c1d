"""The transactional outbox and its relay.

`enqueue` writes events in the caller's transaction; the relay publishes unsent rows
with an idempotent producer (acks=all) and marks them sent only after the broker
acknowledged them, so a broker outage delays events and never drops them.

Order and fencing: rows are split into lanes by Kafka key, and a lane has one relay at a
time. A relay holds its lanes with session advisory locks on its one database connection,
the same connection that selects the lanes' rows and marks them sent: the locks and the
right to mark live and die with one session. When that session ends (killed, network lost,
process gone) the locks go and the relay can mark nothing more; it reconnects and claims
what is free, as every replica does on each wake-up. A lane stays with its relay while the
session lives. Callers serialise writes to one aggregate (a row lock), so one key's ids
commit in order, and a lane is published in id order from its oldest unsent row; a relay
that dies between the broker's acknowledgement and the mark leaves its rows unsent, and they
are published again: duplicates, never a key's first occurrences out of order (consumers
de-duplicate by event id).

Failures: a row the producer or the broker refuses (too large, a topic that is invalid,
missing or not authorised) stalls its lane only. The lane backs off (exponential, capped)
and retries that row alone; the other lanes go on, and what the broker acknowledged in the
same round is marked sent. `outbox_lane_stalled{lane}` shows the stall, a log line the row,
topic and error. aiokafka's idempotent producer never rewinds its sequence numbers, so after
the broker refused a record it refuses every later record of that partition: a relay given a
producer factory replaces its producer then; a relay given a shared producer cannot.
"""

import asyncio
import contextlib
import functools
import re
import time
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta

import asyncpg
from aiokafka import AIOKafkaProducer
from aiokafka.errors import InvalidTopicError
from prometheus_client import Counter, Gauge, Histogram

from shared.events import Event, encode
from shared.logging import get_logger
from shared.retry import Backoff, backoff_seconds

LANES = 16
CHANNEL = "outbox"  # notified by the trigger of shared/migrations/0004_outbox_notify.sql
_LOCK_CLASS = 7_302_016  # advisory lock namespace of the relay lanes
_TOPIC_NAME = re.compile(r"[a-zA-Z0-9._-]{1,249}")  # what Kafka accepts

log = get_logger(__name__)

OUTBOX_BACKLOG = Gauge("outbox_backlog", "Outbox rows not yet acknowledged by Kafka")
PUBLISH_LATENCY = Histogram(
    "outbox_commit_to_ack_seconds",
    "Time from an outbox row's commit to the broker's acknowledgement",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
LANE_STALLED = Gauge(
    "outbox_lane_stalled", "1 while this relay's lane backs off because its oldest unsent row was refused", ["lane"]
)
PUBLISH_FAILURES = Counter(
    "outbox_publish_failures", "Outbox rows the producer or the broker refused, by lane and error class",
    ["lane", "error"],
)


def lane_of(key: bytes) -> int:
    return zlib.crc32(key) % LANES


_OUTBOX_COLUMNS = "lane, event_id, topic, key, value, header_names, header_values"
_OUTBOX_WIDTH = len(_OUTBOX_COLUMNS.split(", "))


def outbox_insert(events: Iterable[Event], first_parameter: int = 1) -> tuple[str | None, list]:
    """An `INSERT INTO outbox` of `events` and its arguments, numbered from `$first_parameter`, for
    the caller to run in its own statement (alone, or as a CTE beside the state change it records).
    (None, []) when there is no event."""
    arguments: list = []
    for event in events:
        record = encode(event)
        arguments += [lane_of(record.key), event.id, record.topic, record.key, record.value,
                      [name for name, _ in record.headers], [value for _, value in record.headers]]
    if not arguments:
        return None, []
    return _outbox_statement(first_parameter, len(arguments) // _OUTBOX_WIDTH), arguments


@functools.lru_cache(maxsize=64)
def _outbox_statement(first_parameter: int, rows: int) -> str:
    """The INSERT's text for `rows` rows from `$first_parameter` (built once per shape: a submit's is
    always the same)."""
    values = ", ".join(
        "(" + ", ".join(f"${first_parameter + start + i}" for i in range(_OUTBOX_WIDTH)) + ")"
        for start in range(0, rows * _OUTBOX_WIDTH, _OUTBOX_WIDTH)
    )
    return f"INSERT INTO outbox ({_OUTBOX_COLUMNS}) VALUES {values}"


async def enqueue(conn: asyncpg.Connection, events: Iterable[Event]) -> None:
    """Adds events to the outbox inside the caller's transaction, in one statement; the relay wakes
    at commit (a trigger notifies the `outbox` channel)."""
    statement, arguments = outbox_insert(events)
    if statement is not None:
        await conn.execute(statement, *arguments)


def new_producer(bootstrap_servers: str, **overrides) -> AIOKafkaProducer:
    """The one producer configuration for events: idempotent, acks from every in-sync replica.
    max_request_size stays at the broker's default message.max.bytes (1 MiB): a bigger record is
    refused here, before it is sent, rather than by the broker (see the module's docstring)."""
    settings = dict(
        bootstrap_servers=bootstrap_servers,
        enable_idempotence=True,
        acks="all",
        linger_ms=5,
        request_timeout_ms=15_000,
        max_request_size=1024 * 1024,
    )
    settings.update(overrides)
    return AIOKafkaProducer(**settings)


def check_topic_name(topic: str) -> None:
    """Refuses a name Kafka would refuse, before the producer waits for its metadata in vain."""
    if not _TOPIC_NAME.fullmatch(topic) or topic in (".", ".."):
        raise InvalidTopicError(f"{topic!r} is not a valid Kafka topic name")


_RECONNECT = Backoff(first_delay=0.2, max_delay=10.0)
_LOOK_EVERY = 1.0  # seconds between a session's looks for free lanes and at the backlog


@dataclass
class _Refusal:
    row: asyncpg.Record
    error: Exception
    by_broker: bool  # sent, then refused in the acknowledgement


@dataclass
class _Stall:
    failures: int
    retry_at: float  # time.monotonic()


class OutboxRelay:
    def __init__(
        self,
        dsn: str,
        producer: AIOKafkaProducer | Callable[[], AIOKafkaProducer],
        *,
        batch_size: int = 500,
        idle_check_seconds: float = 5.0,
        keep_sent: timedelta = timedelta(days=1),
        prune_every_seconds: float = 300.0,
        send_timeout_seconds: float = 5.0,
        retry_backoff_seconds: float = 0.5,
        max_retry_backoff_seconds: float = 30.0,
        application_name: str = "outbox-relay",
    ) -> None:
        """`producer` is a started producer the caller owns, or a function making a new one:
        then the relay starts it, replaces it after the broker refused a record, and stops it."""
        if isinstance(producer, AIOKafkaProducer):
            self._producer, self._make_producer = producer, None
        else:
            self._producer, self._make_producer = None, producer
        self._dsn = dsn
        self._batch_size = batch_size
        self._idle_check = idle_check_seconds
        self._keep_sent = keep_sent
        self._prune_every = prune_every_seconds
        self._send_timeout = send_timeout_seconds
        self._first_backoff = retry_backoff_seconds
        self._max_backoff = max_retry_backoff_seconds
        self._session_settings = {
            "application_name": application_name,
            # A relay's host that vanished holds its lanes until the server notices: in seconds,
            # not after the kernel's default two hours (no effect over a Unix socket).
            "tcp_keepalives_idle": "10", "tcp_keepalives_interval": "5", "tcp_keepalives_count": "3",
        }
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._held: list[int] = []  # lanes whose locks the current session holds
        self._stalls: dict[int, _Stall] = {}  # of held lanes only
        self._last_prune = 0.0
        self._healthy = False
        self.published = 0

    def wake(self) -> None:
        self._wake.set()

    async def stop(self) -> None:
        self._stopping.set()
        self._wake.set()

    async def run(self) -> None:
        """Publishes until stopped; reconnects with backoff after any failure."""
        failures = 0
        try:
            while not self._stopping.is_set():
                self._healthy = False
                try:
                    await self._serve()
                except asyncio.CancelledError:
                    raise
                except Exception as error:  # database or broker trouble: nothing unacknowledged is marked
                    failures = 1 if self._healthy else failures + 1
                    delay = _RECONNECT.delay(failures)
                    log.warning("outbox relay failed; retrying", error=repr(error), retry_in=delay)
                    with contextlib.suppress(asyncio.TimeoutError):
                        await asyncio.wait_for(self._stopping.wait(), delay)
        finally:
            if self._make_producer and self._producer:
                await self._producer.stop()
                self._producer = None

    async def _serve(self) -> None:
        if self._producer is None:
            self._producer = await self._started_producer()
        conn = await asyncpg.connect(self._dsn, server_settings=self._session_settings)
        try:
            conn.add_termination_listener(lambda _: self._wake.set())
            await conn.add_listener(CHANNEL, lambda *_: self._wake.set())
            last_claim = last_count = -1.0  # a new session claims and counts at once
            while not self._stopping.is_set():
                # Lanes that are free (a relay that ended) and the backlog are looked at once a second at
                # most, not at every wake: under load each wake is a commit, and each look a round trip.
                if time.monotonic() - last_claim >= _LOOK_EVERY:
                    self._held += await self._claim(conn)
                    last_claim = time.monotonic()
                self._wake.clear()
                while not self._stopping.is_set() and await self._round(conn):
                    pass
                if time.monotonic() - self._last_prune > self._prune_every:
                    await self.prune(conn)
                    self._last_prune = time.monotonic()
                if time.monotonic() - last_count >= _LOOK_EVERY:
                    OUTBOX_BACKLOG.set(await conn.fetchval("SELECT count(*) FROM outbox WHERE sent_at IS NULL"))
                    last_count = time.monotonic()
                self._healthy = True
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self._idle_timeout())
        finally:
            for lane in self._held:  # the session's locks are gone with it
                self._stalls.pop(lane, None)
                LANE_STALLED.labels(lane=str(lane)).set(0)
            self._held = []
            try:
                await conn.close(timeout=5)
            except Exception:
                conn.terminate()

    async def _claim(self, conn: asyncpg.Connection) -> list[int]:
        """Locks the lanes no session holds; returns the ones this session got."""
        free = [lane for lane in range(LANES) if lane not in self._held]
        rows = await conn.fetch(
            "SELECT lane FROM unnest($1::int[]) AS lane WHERE pg_try_advisory_lock($2, lane)", free, _LOCK_CLASS
        )
        return [row["lane"] for row in rows]

    def _idle_timeout(self) -> float:
        retries = [stall.retry_at - time.monotonic() for stall in self._stalls.values()]
        return max(0.0, min([self._idle_check, *retries]))

    async def _round(self, conn: asyncpg.Connection) -> bool:
        """Publishes a batch of the held lanes' oldest unsent rows, and the oldest row of each
        stalled lane that is due; marks what the broker acknowledged. Returns whether rows may be
        waiting (a full batch, or a lane that came back)."""
        now = time.monotonic()
        healthy = [lane for lane in self._held if lane not in self._stalls]
        due = [lane for lane in self._held if lane in self._stalls and self._stalls[lane].retry_at <= now]
        rows = await self._unsent(conn, healthy, self._batch_size) if healthy else []
        more = len(rows) == self._batch_size
        refusals = await self._publish_and_mark(conn, rows)
        for lane in due:  # one at a time, after the batch: a refused row takes no other row down with it
            refusals |= await self._publish_and_mark(conn, await self._unsent(conn, [lane], 1))
        for lane, refusal in refusals.items():
            self._lane_refused(lane, refusal)
        for lane in due:
            if lane not in refusals:  # its oldest row went out, or there is none left
                self._stalls.pop(lane)
                LANE_STALLED.labels(lane=str(lane)).set(0)
                log.info("outbox lane flows again", lane=lane)
                more = True
        return more

    async def _publish_and_mark(self, conn: asyncpg.Connection, rows: list[asyncpg.Record]) -> dict[int, _Refusal]:
        """Publishes rows, marks what the broker acknowledged, and returns the refusals by lane.
        A producer that sent a record the broker refused refuses the rest of that partition (see
        the module's docstring): it is replaced, once the acknowledged rows are marked."""
        acked, refusals = await self._publish(rows)
        if acked:
            await self.before_mark(acked)
            acked_at = await conn.fetchval(
                "UPDATE outbox SET sent_at = clock_timestamp() WHERE id = ANY($1::bigint[]) RETURNING sent_at",
                [row["id"] for row in acked],
            )
            for row in acked:
                PUBLISH_LATENCY.observe(max(0.0, (acked_at - row["created_at"]).total_seconds()))
            self.published += len(acked)
        if any(refusal.by_broker for refusal in refusals.values()):
            await self._replace_producer()
        return refusals

    @staticmethod
    async def _unsent(conn: asyncpg.Connection, lanes: list[int], limit: int) -> list[asyncpg.Record]:
        # FOR UPDATE fails at once on a read-only database (a failover to a node that is still a
        # replica): the relay publishes nothing it could not mark.
        return await conn.fetch(
            """SELECT id, lane, event_id, topic, key, value, header_names, header_values, created_at
               FROM outbox WHERE sent_at IS NULL AND lane = ANY($1::smallint[])
               ORDER BY id LIMIT $2 FOR UPDATE""",
            lanes, limit,
        )

    async def _publish(self, rows: list[asyncpg.Record]) -> tuple[list[asyncpg.Record], dict[int, _Refusal]]:
        """Sends rows in id order, none of a lane after its first refused row; returns the rows the
        broker acknowledged and each refusing lane's oldest refused row."""
        refusals: dict[int, _Refusal] = {}
        sent = []
        for row in rows:
            if row["lane"] in refusals:
                continue
            try:
                check_topic_name(row["topic"])
                ack = await asyncio.wait_for(self._producer.send(
                    row["topic"], value=row["value"], key=row["key"],
                    headers=list(zip(row["header_names"], row["header_values"])),
                ), self._send_timeout)
            except Exception as error:
                refusals[row["lane"]] = _Refusal(row, error, by_broker=False)
            else:
                sent.append((row, ack))
        acked = []
        for row, ack in sent:
            try:
                await ack
            except Exception as error:
                refused = refusals.get(row["lane"])
                if refused is None or row["id"] < refused.row["id"]:
                    refusals[row["lane"]] = _Refusal(row, error, by_broker=True)
            else:
                acked.append(row)
        return acked, refusals

    def _lane_refused(self, lane: int, refusal: _Refusal) -> None:
        failures = self._stalls[lane].failures + 1 if lane in self._stalls else 1
        delay = backoff_seconds(failures, self._first_backoff, self._max_backoff)
        self._stalls[lane] = _Stall(failures, time.monotonic() + delay)
        LANE_STALLED.labels(lane=str(lane)).set(1)
        PUBLISH_FAILURES.labels(lane=str(lane), error=type(refusal.error).__name__).inc()
        row = refusal.row
        log.warning(
            "outbox row refused; its lane backs off", lane=lane, row_id=row["id"], event_id=str(row["event_id"]),
            topic=row["topic"], error_class=type(refusal.error).__name__, error=str(refusal.error),
            refused_by="broker" if refusal.by_broker else "producer", failures=failures, retry_in=delay,
        )

    async def _replace_producer(self) -> None:
        if self._make_producer is None:
            log.error("the broker refused a record of the shared producer, which now refuses every later record "
                      "of that partition until it is replaced: give the relay a producer factory")
            return
        old, self._producer = self._producer, None
        await old.stop()
        self._producer = await self._started_producer()

    async def _started_producer(self) -> AIOKafkaProducer:
        producer = self._make_producer()
        try:
            await producer.start()
        except BaseException:
            await producer.stop()
            raise
        return producer

    async def before_mark(self, rows: list[asyncpg.Record]) -> None:
        """Runs after the broker acknowledged `rows` and before they are marked sent."""

    async def prune(self, conn: asyncpg.Connection) -> int:
        status = await conn.execute("DELETE FROM outbox WHERE sent_at < now() - $1::interval", self._keep_sent)
        return int(status.split()[-1])
