"""Rebuild every read model from offset 0 into fresh tables, then swap them in.

    python -m services.reporting rebuild [--batch 5000]

1. Create schema `reporting_next` and run the service's own migrations in it (the same definition
   as the live tables), plus an inbox table shaped like the shared one.
2. Replay every partition of every matching topic from its beginning with the same projection the
   live consumer uses (records that do not decode are skipped: the live consumer dead-letters them);
   the next batch is read, decoded and projected while the previous one is written.
3. Swap, in one transaction: lock the live inbox (the live consumer's next batch waits), catch up
   to the then-current end offsets, drop the live tables and move the fresh ones (with their inbox)
   into their place. The live consumer then continues on the new tables, and its inbox holds exactly
   the events the new tables contain, so it neither skips nor double-counts an event.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

import asyncpg
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from services.reporting.config import GC_THRESHOLDS, MIGRATIONS, ReportingSettings
from services.reporting.domain import Changes, project
from services.reporting.repository import save
from shared.db import SHARED_MIGRATIONS, load_migrations, prepare_database
from shared.runtime import settle_garbage_collector
from shared.consumer import PREPARE_CHUNK, read_event
from shared.events import DecodeError
from shared.inbox import first_deliveries

NEXT = "reporting_next"


@dataclass
class Progress:
    total: int = 0
    read: int = 0
    applied: int = 0
    skipped: int = 0  # did not decode (dead-lettered by the live consumer)
    started: float = 0.0

    def line(self) -> str:
        elapsed = max(time.monotonic() - self.started, 1e-9)
        share = f" ({100 * self.read / self.total:.0f}%)" if self.total else ""
        return (f"rebuild: {self.read:,} of {self.total:,} records{share}, {self.applied:,} applied, "
                f"{self.skipped:,} skipped, {self.read / elapsed:,.0f} records/s")


class Rebuild:
    def __init__(self, settings: ReportingSettings, *, batch: int = 5000,
                 report: Callable[[str], None] = lambda line: print(line, file=sys.stderr, flush=True),
                 report_every: float = 2.0) -> None:
        self.settings, self.batch, self.report, self.report_every = settings, batch, report, report_every
        self.progress = Progress()
        self.positions: dict[TopicPartition, int] = {}
        self._last_report = 0.0

    async def run(self) -> Progress:
        s = self.settings
        await prepare_database(s.database_url, {"shared": SHARED_MIGRATIONS, "reporting": MIGRATIONS})
        conn = await asyncpg.connect(s.database_url)
        consumer = AIOKafkaConsumer(bootstrap_servers=s.kafka_bootstrap_servers, group_id=None,
                                    enable_auto_commit=False, auto_offset_reset="earliest",
                                    max_partition_fetch_bytes=1048576, fetch_max_bytes=8 * 1048576,
                                    **s.kafka_client_options())
        admin = AIOKafkaAdminClient(bootstrap_servers=s.kafka_bootstrap_servers, **s.kafka_client_options())
        self.progress.started = time.monotonic()
        try:
            await self._fresh_schema(conn)
            await consumer.start()
            await admin.start()
            ends = await self._assign(admin, consumer)
            self.progress.total = sum(ends[tp] - self.positions[tp] for tp in ends)
            await self._replay(consumer, conn, ends)
            async with conn.transaction():
                # The swap waits for its WAL to be flushed, and with it every fill transaction's before it.
                await conn.execute("SET LOCAL synchronous_commit = on")
                await conn.execute("LOCK TABLE public.inbox IN EXCLUSIVE MODE")
                ends = await self._assign(admin, consumer)  # topics created since, and what arrived meanwhile
                self.progress.total = self.progress.read + sum(ends[tp] - self.positions[tp] for tp in ends)
                await self._replay(consumer, conn, ends)
                await self._swap(conn)
            self.report(self.progress.line() + f"; swapped in after {time.monotonic() - self.progress.started:.1f}s")
            return self.progress
        finally:
            await admin.close()
            await consumer.stop()
            await conn.close()

    async def _fresh_schema(self, conn: asyncpg.Connection) -> None:
        await conn.execute(f"DROP SCHEMA IF EXISTS {NEXT} CASCADE; CREATE SCHEMA {NEXT}")
        await conn.execute(f"SET search_path = {NEXT}, public")
        # Filling the fresh schema need not wait for each commit's WAL flush: after a crash the rebuild is
        # run again from offset 0 into a fresh schema; only the swap (synchronous) makes its tables live.
        await conn.execute("SET synchronous_commit = off")
        for migration in load_migrations("reporting", MIGRATIONS):
            await conn.execute(migration.sql)
        await conn.execute("CREATE TABLE inbox (LIKE public.inbox INCLUDING ALL)")

    async def _assign(self, admin: AIOKafkaAdminClient, consumer: AIOKafkaConsumer) -> dict[TopicPartition, int]:
        """Every partition of every matching topic, read from fresh metadata (the consumer's own metadata
        knows only the topics that existed when it started), each at its replay position."""
        pattern = re.compile(self.settings.topic_pattern)
        partitions = sorted(TopicPartition(t["topic"], p["partition"]) for t in await admin.describe_topics()
                            if pattern.fullmatch(t["topic"]) for p in t["partitions"])
        new = [tp for tp in partitions if tp not in self.positions]
        if new:
            for tp, offset in (await consumer.beginning_offsets(new)).items():
                self.positions[tp] = offset
        consumer.assign(partitions)
        for tp in partitions:
            consumer.seek(tp, self.positions[tp])
        return await consumer.end_offsets(partitions) if partitions else {}

    async def _replay(self, consumer: AIOKafkaConsumer, conn: asyncpg.Connection, ends: dict[TopicPartition, int]) -> None:
        """Reads, decodes and projects the next batch while the database writes the previous one."""
        batches: asyncio.Queue = asyncio.Queue(maxsize=2)

        async def read() -> None:
            while any(self.positions[tp] < end for tp, end in ends.items()):
                fetched = await consumer.getmany(timeout_ms=1000, max_records=self.batch)
                events = []
                for tp, records in fetched.items():
                    for start in range(0, len(records), PREPARE_CHUNK):
                        await asyncio.sleep(0)  # the write of the batch before keeps its round trips going
                        for record in records[start:start + PREPARE_CHUNK]:
                            try:
                                events.append(read_event(record))
                            except DecodeError:
                                self.progress.skipped += 1
                    self.progress.read += len(records)
                    if records:
                        self.positions[tp] = records[-1].offset + 1
                if events:
                    await asyncio.sleep(0)
                    await batches.put((events, project(events)))
            await batches.put(None)

        reader = asyncio.create_task(read())
        try:
            while (batch := await batches.get()) is not None:
                await self._apply(conn, *batch)
            await reader
        finally:
            reader.cancel()
            await asyncio.gather(reader, return_exceptions=True)

    async def _apply(self, conn: asyncpg.Connection, events: list, changes: Changes) -> None:
        """Writes a batch; `changes` is its projection, which holds when none of it was applied before."""
        async with conn.transaction():
            first = await first_deliveries(conn, self.settings.consumer_name, events)
            if first is None:
                fresh = events
            else:
                fresh = [event for event, is_first in zip(events, first) if is_first]
                changes = project(fresh)
            await save(conn, changes)
        self.progress.applied += len(fresh)
        now = time.monotonic()
        if now - self._last_report >= self.report_every:
            self._last_report = now
            self.report(self.progress.line())

    async def _swap(self, conn: asyncpg.Connection) -> None:
        names = [r["relname"] for r in await conn.fetch(
            """SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
               WHERE n.nspname = $1 AND c.relkind IN ('r', 'p', 'v', 'm')""", NEXT)]
        for name in names:
            await conn.execute(f'DROP TABLE IF EXISTS public."{name}" CASCADE')
        for name in names:
            await conn.execute(f'ALTER TABLE {NEXT}."{name}" SET SCHEMA public')
        await conn.execute(f"DROP SCHEMA {NEXT}")
        await conn.execute("SET LOCAL search_path = public")


async def rebuild(settings: ReportingSettings | None = None, **options) -> Progress:
    return await Rebuild(settings or ReportingSettings(), **options).run()


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m services.reporting rebuild", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=int, default=5000, help="records per transaction")
    args = parser.parse_args(argv)
    settle_garbage_collector(GC_THRESHOLDS)
    asyncio.run(rebuild(batch=args.batch))
