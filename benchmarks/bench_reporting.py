"""Reporting throughput: the projection beside a raw aiokafka reader of the same topics, and a rebuild.

    .venv/bin/python benchmarks/bench_reporting.py [--events 200000] [--rebuild-events 1000000]

Not a test: it prints figures (benchmarks/common.py's `report`). The broker and the database server are
common.KAFKA and common.POSTGRES (KAFKA_BOOTSTRAP_SERVERS, POSTGRES_URL); the benchmark makes topics of
its own (innovation.bench<tag>*.v1, which no running reporting service's pattern needs to see through) and
databases of its own, and deletes them at the end, even when a phase fails. Each phase runs in its own
process, so its peak RSS is its own:
  publish   the simulator's mixed flow for five fresh departments (not timed as part of any figure)
  raw       a plain aiokafka consumer reading every record of those topics (no decoding): the baseline
  project   the reporting service (its consumer: decode, inbox, bulk upsert) in-process against a fresh
            database, until every event is in the inbox
  copy      PostgreSQL's COPY of the rows the projection wrote (inbox and read models) into empty tables
            of the same definition: the database's own write ceiling for those events
  rebuild   `services.reporting.rebuild` from offset 0 over --rebuild-events events, beside a raw read of
            the same records
Targets (2 cores, Kafka and PostgreSQL on the same machine): >= 20,000 events/s, >= half the raw read
rate, a 1,000,000-event rebuild under 60 s, under 300 MB resident.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.common import KAFKA as BOOTSTRAP, Figure, drop_database, new_database, report  # noqa: E402

MEMORY_TARGET_MB = 300


def pattern(departments: list[str]) -> str:
    return rf"^innovation\.({'|'.join(departments)})\.(ideas|experiments|outcomes)\.v1$"


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def publish(departments: list[str], count: int, seed: int) -> dict:
    from deploy.simulation import Flow
    from shared.events import encode
    from shared.outbox import new_producer
    from tests.support.kafka import create_topics

    await create_topics(BOOTSTRAP, *(f"innovation.{d}.{s}.v1" for d in departments for s in ("ideas", "experiments", "outcomes")))
    producer = new_producer(BOOTSTRAP)
    await producer.start()
    started = time.perf_counter()
    try:
        flow = Flow(departments=tuple(departments), seed=seed)
        for n, event in enumerate(flow):
            if n >= count:
                break
            record = encode(event)
            await producer.send(record.topic, record.value, key=record.key, headers=record.headers)
        await producer.flush()
    finally:
        await producer.stop()
    return {"published": count, "seconds": time.perf_counter() - started}


async def raw(departments: list[str], count: int) -> dict:
    from aiokafka import AIOKafkaConsumer

    tag = departments[0][len("bench"):-len("dwp")]
    consumer = AIOKafkaConsumer(bootstrap_servers=BOOTSTRAP, group_id=f"bench-raw-{tag}-{uuid.uuid4().hex[:8]}",
                                auto_offset_reset="earliest", enable_auto_commit=False, metadata_max_age_ms=1000)
    consumer.subscribe(pattern=pattern(departments))
    await consumer.start()
    started = time.perf_counter()
    seen, first = 0, None
    try:
        while seen < count:
            batches = await consumer.getmany(timeout_ms=1000, max_records=5000)
            for records in batches.values():
                if records and first is None:
                    first = time.perf_counter()
                seen += len(records)
    finally:
        await consumer.stop()
    end = time.perf_counter()
    return {"records": seen, "seconds": end - started, "seconds_after_first": end - (first or started)}


async def project(departments: list[str], count: int, dsn: str) -> dict:
    import asyncpg

    from services.reporting.config import ReportingSettings
    from services.reporting.main import build

    settings = ReportingSettings(database_url=dsn, kafka_bootstrap_servers=BOOTSTRAP, topic_pattern=pattern(departments),
                                 group_id=f"bench-reporting-{departments[0][len('bench'):-len('dwp')]}-{uuid.uuid4().hex[:8]}",
                                 batch_max_records=5000,
                                 log_level="WARNING")
    app = build(settings)
    conn = await asyncpg.connect(dsn.rsplit("/", 1)[0] + "/postgres")
    await conn.close()
    started = time.perf_counter()
    first = None
    async with app.router.lifespan_context(app):
        conn = await asyncpg.connect(dsn)
        try:
            while True:
                applied = await conn.fetchval("SELECT count(*) FROM inbox")
                if applied and first is None:
                    first = time.perf_counter()
                if applied >= count:
                    break
                await asyncio.sleep(0.25)
        finally:
            await conn.close()
    end = time.perf_counter()
    return {"events": count, "seconds": end - started, "seconds_after_first": end - (first or started)}


async def rebuild(departments: list[str], dsn: str) -> dict:
    from services.reporting.config import ReportingSettings
    from services.reporting.rebuild import rebuild as run_rebuild

    settings = ReportingSettings(database_url=dsn, kafka_bootstrap_servers=BOOTSTRAP, topic_pattern=pattern(departments))
    started = time.perf_counter()
    progress = await run_rebuild(settings, batch=5000, report=lambda line: print("   ", line, file=sys.stderr, flush=True),
                                 report_every=10)
    seconds = time.perf_counter() - started
    import asyncpg

    from services.reporting import figures

    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("ANALYZE")
        began = time.perf_counter()
        await figures.all_figures(conn)
        summary_seconds = time.perf_counter() - began
    finally:
        await conn.close()
    return {"read": progress.read, "applied": progress.applied, "seconds": seconds, "summary_seconds": summary_seconds}


async def copy(dsn: str, events: int) -> dict:
    """COPY (binary) of every row the projection wrote into empty tables LIKE the live ones (their indexes
    too), in one transaction: what the database itself needs to store these events' rows."""
    import io

    import asyncpg

    conn = await asyncpg.connect(dsn)
    try:
        tables = [r["relname"] for r in await conn.fetch(
            """SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
               WHERE n.nspname = 'public' AND c.relkind = 'r' AND c.relname NOT IN ('outbox', 'api_keys', 'migrations')
               AND c.relname NOT LIKE '%migration%'""")]
        data, rows = {}, 0
        for table in tables:
            columns = [r["attname"] for r in await conn.fetch(
                """SELECT attname FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped
                   AND attgenerated = '' AND attidentity = '' ORDER BY attnum""", table)]
            buffer = io.BytesIO()
            await conn.copy_from_table(table, columns=columns, output=buffer, format="binary")
            data[table] = (columns, buffer.getvalue())
            rows += await conn.fetchval(f'SELECT count(*) FROM "{table}"')
        await conn.execute("CREATE SCHEMA copy_ceiling")
        for table in tables:
            await conn.execute(f'CREATE TABLE copy_ceiling."{table}" (LIKE public."{table}" INCLUDING ALL)')
        started = time.perf_counter()
        async with conn.transaction():
            for table, (columns, payload) in data.items():
                await conn.copy_to_table(table, schema_name="copy_ceiling", columns=columns,
                                         source=io.BytesIO(payload), format="binary")
        seconds = time.perf_counter() - started
        await conn.execute("DROP SCHEMA copy_ceiling CASCADE")
    finally:
        await conn.close()
    return {"tables": len(tables), "rows": rows, "events": events, "seconds": seconds}


async def clean_up(departments: list[str], databases: list[str]) -> None:
    """Deletes the benchmark's topics (the broker then drops its groups' offsets for them) and its databases."""
    from aiokafka.admin import AIOKafkaAdminClient

    try:
        admin = AIOKafkaAdminClient(bootstrap_servers=BOOTSTRAP)
        await admin.start()
        try:
            topics = [t for t in await admin.list_topics() if any(t.startswith(f"innovation.{d}.") for d in departments)]
            if topics:
                await admin.delete_topics(topics)
        finally:
            await admin.close()
    finally:
        for name in databases:
            await drop_database(name)


def phase(*args: str) -> dict:
    """Runs one phase in a fresh interpreter and returns what it printed (JSON) with its peak RSS."""
    out = subprocess.run([sys.executable, __file__, "--phase", *args], capture_output=True, text=True, cwd=ROOT)
    sys.stderr.write(out.stderr[-5000:])
    out.check_returncode()
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--rebuild-events", type=int, default=1_000_000, help="0 to skip the rebuild")
    parser.add_argument("--phase", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        name, *rest = args.phase
        from services.reporting.config import GC_THRESHOLDS
        from shared.runtime import settle_garbage_collector

        settle_garbage_collector(GC_THRESHOLDS)  # as the reporting service and its `rebuild` command do
        departments = rest[0].split(",")
        coroutine = {
            "publish": lambda: publish(departments, int(rest[1]), int(rest[2])),
            "raw": lambda: raw(departments, int(rest[1])),
            "project": lambda: project(departments, int(rest[1]), rest[2]),
            "rebuild": lambda: rebuild(departments, rest[1]),
            "copy": lambda: copy(rest[0], int(rest[1])),
        }[name]()
        result = asyncio.run(coroutine)
        result["peak_rss_mb"] = round(peak_rss_mb(), 1)
        print(json.dumps(result))
        return

    tag = uuid.uuid4().hex[:6]
    departments = [f"bench{tag}{d}" for d in ("dwp", "hmrc", "mhclg", "defra", "dfe")]
    databases: list[str] = []
    try:
        run(args, departments, databases)
    finally:
        asyncio.run(clean_up(departments, databases))
        print(f"(topics innovation.bench{tag}*.v1 and {len(databases)} database(s) deleted)")


def memory(phase_name: str, result: dict) -> Figure:
    return Figure(f"reporting {phase_name}: peak RSS", result["peak_rss_mb"], "MB", target=MEMORY_TARGET_MB,
                  higher_is_better=False)


def run(args: argparse.Namespace, departments: list[str], databases: list[str]) -> None:
    names = ",".join(departments)
    print(f"publishing {args.events:,} mixed events for 5 departments ...", flush=True)
    published = phase("publish", names, str(args.events), "1")
    print(f"  published in {published['seconds']:.1f}s")
    raw_result = phase("raw", names, str(args.events))
    raw_rate = raw_result["records"] / raw_result["seconds_after_first"]
    print(f"raw aiokafka read: {raw_result['records']:,} records in {raw_result['seconds_after_first']:.2f}s after the first "
          f"record ({raw_result['seconds']:.2f}s with group join) = {raw_rate:,.0f} records/s, peak RSS {raw_result['peak_rss_mb']} MB")
    databases.append(f"bench_reporting_{uuid.uuid4().hex[:8]}")
    dsn = asyncio.run(new_database(databases[-1]))
    projected = phase("project", names, str(args.events), dsn)
    rate = args.events / projected["seconds_after_first"]
    print(f"projection: {args.events:,} events in {projected['seconds_after_first']:.2f}s after the first applied batch "
          f"({projected['seconds']:.2f}s from start, incl. migrations and group join) = {rate:,.0f} events/s, "
          f"{rate / raw_rate:.2f} of the raw read rate, peak RSS {projected['peak_rss_mb']} MB")
    copied = phase("copy", dsn, str(args.events))
    copy_rate = args.events / copied["seconds"]
    print(f"COPY of the projection's {copied['rows']:,} rows ({copied['tables']} tables, inbox included) into empty "
          f"tables of the same definition: {copied['seconds']:.2f}s = {copy_rate:,.0f} events/s")
    raw_baseline = f"raw aiokafka read of the same topics ({raw_result['records']:,} records)"
    report(
        Figure("reporting projection", rate, "events/s", target=20_000, baseline=raw_baseline,
               baseline_value=raw_rate, baseline_unit="records/s"),
        Figure("reporting projection as a share of the raw read", rate / raw_rate, "share", target=0.5,
               baseline=raw_baseline, baseline_value=raw_rate, baseline_unit="records/s"),
        Figure("reporting projection against PostgreSQL COPY of its rows", rate, "events/s",
               baseline=f"COPY (binary) of the same {copied['rows']:,} rows into empty tables LIKE them",
               baseline_value=copy_rate),
        memory("raw read", raw_result),
        memory("projection", projected),
    )
    if args.rebuild_events:
        more = args.rebuild_events - args.events
        if more > 0:
            print(f"publishing {more:,} more events for the rebuild ...", flush=True)
            extra = phase("publish", names, str(more), "2")
            print(f"  published in {extra['seconds']:.1f}s")
        total = max(args.rebuild_events, args.events)
        raw_all = phase("raw", names, str(total))
        print(f"raw aiokafka read of the rebuild's {raw_all['records']:,} records: {raw_all['seconds']:.1f}s "
              f"(with group join)")
        rebuilt = phase("rebuild", names, dsn)
        print(f"rebuild: {rebuilt['read']:,} records ({rebuilt['applied']:,} applied) in {rebuilt['seconds']:.1f}s = "
              f"{rebuilt['read'] / rebuilt['seconds']:,.0f} records/s, peak RSS {rebuilt['peak_rss_mb']} MB; "
              f"every figure then reads in {rebuilt['summary_seconds']:.2f}s")
        report(
            Figure(f"reporting rebuild of {rebuilt['read']:,} events", rebuilt["seconds"], "s", target=60,
                   higher_is_better=False, baseline=f"raw aiokafka read of the same {raw_all['records']:,} records",
                   baseline_value=raw_all["seconds"]),
            memory("rebuild", rebuilt),
        )


if __name__ == "__main__":
    main()
