"""Freshness: an idea submitted over HTTP, until the central reporting API shows it.

    .venv/bin/python benchmarks/bench_freshness.py [--rate 200] [--seconds 20] [--sample 10]

Not a test: it prints figures. The ideas service and the reporting service run as real processes
(`python -m services.<name>`) on a fresh department, each with a fresh database, against the broker
and server in KAFKA_BOOTSTRAP_SERVERS and POSTGRES_URL. Ideas are submitted at a fixed rate (an
open loop: each is timed from when it was due); every --sample'th idea is then asked for at
`GET /v1/ideas/{department}/{idea_id}` of reporting every --poll-ms until it answers 200, so the
figure is exact to within one polling interval. The baseline, in the same run: a plain aiokafka
consumer of the department's ideas topic, timing when each idea's event reaches Kafka (what the
outbox alone costs; the rest is the projection). Target: p99 < 1 s at 200 submissions/s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import uuid
from pathlib import Path

import asyncpg
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.common import KAFKA, POSTGRES, Figure, RawHttp, open_loop, peak_rss_of_tree, percentile, report  # noqa: E402
from shared.auth import new_key, register_key  # noqa: E402
from shared.db import SHARED_MIGRATIONS, prepare_database  # noqa: E402
from shared.events.topics import topic_name  # noqa: E402
from tests.support.processes import ServiceProcess  # noqa: E402

BODY = json.dumps({"title": "Fewer forms for new claimants", "problem": "Claimants fill in the same details on four forms.",
                   "proposal": "One form, shared by the four teams.", "themes": ["customer-service"]}).encode()
STREAMS = ("ideas", "experiments", "outcomes")


async def admin(statement: str) -> None:
    conn = await asyncpg.connect(POSTGRES)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


def dsn_of(database: str) -> str:
    return POSTGRES.rsplit("/", 1)[0] + "/" + database


class OnKafka:
    """When each idea's first event reaches its topic, read by a plain consumer from the end."""

    def __init__(self, topic: str) -> None:
        self.consumer = AIOKafkaConsumer(topic, bootstrap_servers=KAFKA, auto_offset_reset="latest",
                                         enable_auto_commit=False, group_id=None)
        self.seen: dict[str, float] = {}
        self.task: asyncio.Task | None = None

    async def start(self) -> None:
        await self.consumer.start()
        await self.consumer.seek_to_end()
        self.task = asyncio.create_task(self.read())

    async def read(self) -> None:
        loop = asyncio.get_running_loop()
        async for record in self.consumer:
            idea_id = json.loads(record.value).get("idea_id")
            self.seen.setdefault(idea_id, loop.time())

    async def stop(self) -> None:
        if self.task:
            self.task.cancel()
        await self.consumer.stop()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=200)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--sample", type=int, default=10, help="time every n-th idea through the reporting API")
    parser.add_argument("--poll-ms", type=float, default=50)
    args = parser.parse_args()

    tag = uuid.uuid4().hex[:8]
    department = f"fresh{tag}"
    databases = {"ideas": f"bench_fresh_ideas_{tag}", "reporting": f"bench_fresh_reporting_{tag}"}
    topics = [topic_name(department, stream) for stream in STREAMS]
    kafka_admin = AIOKafkaAdminClient(bootstrap_servers=KAFKA)
    await kafka_admin.start()
    logs = Path(tempfile.mkdtemp(prefix="bench-freshness-"))
    services: list[ServiceProcess] = []
    try:
        for database in databases.values():
            await admin(f'CREATE DATABASE "{database}"')
        await kafka_admin.create_topics([NewTopic(topic, 3, 1) for topic in topics])
        ideas_dsn = dsn_of(databases["ideas"])
        await prepare_database(ideas_dsn, {"shared": SHARED_MIGRATIONS, "ideas": ROOT / "services" / "ideas" / "migrations"})
        key = new_key()
        conn = await asyncpg.connect(ideas_dsn)
        await register_key(conn, key, department=department, role="contributor", label="benchmark", acts_for_people=True)
        await conn.close()

        common = {"KAFKA_BOOTSTRAP_SERVERS": KAFKA, "LOG_LEVEL": "WARNING"}
        ideas = ServiceProcess("ideas", log=logs / "ideas.log", INNOVATION_DEPARTMENT=department,
                               IDEAS_DATABASE_URL=ideas_dsn, **common)
        reporting = ServiceProcess("reporting", log=logs / "reporting.log",
                                   REPORTING_DATABASE_URL=dsn_of(databases["reporting"]),
                                   REPORTING_TOPIC_PATTERN=rf"^innovation\.{department}\.(ideas|experiments|outcomes)\.v1$",
                                   REPORTING_GROUP_ID=f"bench-fresh-{tag}", **common)
        for service in (ideas, reporting):
            services.append(service)
            await service.start(timeout=120)
        on_kafka = OnKafka(topics[0])
        await on_kafka.start()
        print(f"ideas at {ideas.url}, reporting at {reporting.url}; department {department}; "
              f"{args.rate:.0f} ideas/s for {args.seconds:.0f}s, every {args.sample}th timed to the reporting API")

        submit, read = RawHttp(ideas.url), RawHttp(reporting.url)
        headers = {"Authorization": f"Bearer {key}", "X-Person-Ref": "bench-person-1", "Content-Type": "application/json"}
        loop = asyncio.get_running_loop()
        due_of: dict[str, float] = {}
        visible: list[float] = []
        answered: list[float] = []  # the submission's own HTTP latency
        failures = 0
        counter = 0

        async def one(due: float) -> None:
            nonlocal failures, counter
            counter += 1
            timed = counter % args.sample == 0
            try:
                status, body = await submit.request("POST", "/v1/ideas", headers=headers, body=BODY)
            except (OSError, asyncio.IncompleteReadError):
                failures += 1
                return
            if status != 201:
                failures += 1
                return
            answered.append((loop.time() - due) * 1000)
            idea_id = json.loads(body)["idea_id"]
            due_of[idea_id] = due
            if not timed:
                return
            while True:
                status, _ = await read.request("GET", f"/v1/ideas/{department}/{idea_id}")
                if status == 200:
                    visible.append((loop.time() - due) * 1000)
                    return
                if status != 404 or loop.time() - due > 60:
                    failures += 1
                    return
                await asyncio.sleep(args.poll_ms / 1000)

        await open_loop(args.rate, args.seconds, one)
        for _ in range(100):  # the last events' arrival on Kafka
            if all(idea_id in on_kafka.seen for idea_id in due_of):
                break
            await asyncio.sleep(0.1)
        await on_kafka.stop()
        submit.close()
        read.close()
        arrived = sorted((on_kafka.seen[i] - due) * 1000 for i, due in due_of.items() if i in on_kafka.seen)
        visible.sort()
        answered.sort()
        memory = {service.service: peak_rss_of_tree(service.process.pid) for service in services}
    finally:
        for service in services:
            service.stop()
        await kafka_admin.delete_topics(topics)
        await kafka_admin.close()
        for database in databases.values():
            await admin(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')

    print(f"  {len(due_of)} ideas accepted, {failures} failed; {len(visible)} timed to the reporting API, "
          f"{len(arrived)} seen on Kafka")
    print(f"  submitted -> 201 answered  : p50 {percentile(answered, 50):7.1f} ms  p99 {percentile(answered, 99):7.1f} ms"
          f"  max {answered[-1]:7.1f} ms")
    print(f"  submitted -> on Kafka       : p50 {percentile(arrived, 50):7.1f} ms  p99 {percentile(arrived, 99):7.1f} ms"
          f"  max {arrived[-1]:7.1f} ms")
    print(f"  submitted -> reporting API  : p50 {percentile(visible, 50):7.1f} ms  p99 {percentile(visible, 99):7.1f} ms"
          f"  max {visible[-1]:7.1f} ms  (polled every {args.poll_ms:.0f} ms)")
    baseline = "submitted -> on Kafka (outbox only), p99"
    report(
        Figure(f"freshness p50, idea submitted -> reporting API at {args.rate:.0f}/s", percentile(visible, 50), "ms",
               baseline="submitted -> on Kafka, p50", baseline_value=percentile(arrived, 50)),
        Figure(f"freshness p99, idea submitted -> reporting API at {args.rate:.0f}/s", percentile(visible, 99), "ms",
               target=1000, higher_is_better=False, baseline=baseline, baseline_value=percentile(arrived, 99)),
        Figure(f"freshness max at {args.rate:.0f}/s", visible[-1], "ms", baseline="submitted -> on Kafka, max",
               baseline_value=arrived[-1]),
        Figure("failed submissions or reads in the freshness run", failures, "requests", target=1, higher_is_better=False),
        *(Figure(f"peak resident memory, {name} (freshness run)", mb, "MB", target=300, higher_is_better=False)
          for name, mb in memory.items()),
    )


if __name__ == "__main__":
    asyncio.run(main())
