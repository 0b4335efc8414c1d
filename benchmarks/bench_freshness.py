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
import collections
import contextlib
import json
import sys
import tempfile
import uuid
from pathlib import Path

import asyncpg
from aiokafka import AIOKafkaConsumer

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.common import (  # noqa: E402
    KAFKA, Figure, RawHttp, open_loop, own_database, own_topics, peak_rss_of_tree, percentile, report)
from shared.auth import new_key, register_key  # noqa: E402
from shared.db import SHARED_MIGRATIONS, prepare_database  # noqa: E402
from shared.events.topics import intake_topic, topic_name  # noqa: E402
from tests.support.processes import ServiceProcess  # noqa: E402

BODY = json.dumps({"title": "Fewer forms for new claimants", "problem": "Claimants fill in the same details on four forms.",
                   "proposal": "One form, shared by the four teams.", "themes": ["customer-service"]}).encode()
STREAMS = ("ideas", "experiments", "outcomes")


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
    parser.add_argument("--warm-up", type=float, default=3, help="seconds at the rate before timing starts")
    parser.add_argument("--sample", type=int, default=10, help="time every n-th idea through the reporting API")
    parser.add_argument("--poll-ms", type=float, default=50)
    args = parser.parse_args()

    tag = uuid.uuid4().hex[:8]
    department = f"fresh{tag}"
    logs = Path(tempfile.mkdtemp(prefix="bench-freshness-"))
    async with contextlib.AsyncExitStack() as stack:
        ideas_dsn = await own_database(stack, f"bench_fresh_ideas_{tag}")
        reporting_dsn = await own_database(stack, f"bench_fresh_reporting_{tag}")
        topics = [topic_name(department, stream) for stream in STREAMS]
        await own_topics(stack, *topics, intake_topic(department, "ideas"))
        await prepare_database(ideas_dsn, {"shared": SHARED_MIGRATIONS, "ideas": ROOT / "services" / "ideas" / "migrations"})
        key = new_key()
        conn = await asyncpg.connect(ideas_dsn)
        await register_key(conn, key, department=department, role="contributor", label="benchmark", acts_for_people=True)
        await conn.close()

        common = {"KAFKA_BOOTSTRAP_SERVERS": KAFKA, "LOG_LEVEL": "WARNING"}
        ideas = ServiceProcess("ideas", log=logs / "ideas.log", INNOVATION_DEPARTMENT=department,
                               IDEAS_DATABASE_URL=ideas_dsn, **common)
        reporting = ServiceProcess("reporting", log=logs / "reporting.log", REPORTING_DATABASE_URL=reporting_dsn,
                                   REPORTING_TOPIC_PATTERN=rf"^innovation\.{department}\.(ideas|experiments|outcomes)\.v1$",
                                   REPORTING_GROUP_ID=f"bench-fresh-{tag}", **common)
        for service in (ideas, reporting):
            stack.callback(service.stop)
            await service.start(timeout=120)
        on_kafka = OnKafka(topics[0])
        await on_kafka.start()
        stack.push_async_callback(on_kafka.stop)
        print(f"ideas at {ideas.url}, reporting at {reporting.url}; department {department}; {args.rate:.0f} ideas/s, "
              f"{args.warm_up:.0f}s warm-up then {args.seconds:.0f}s timed, every {args.sample}th to the reporting API")

        submit, read = RawHttp(ideas.url), RawHttp(reporting.url)
        stack.callback(submit.close)
        stack.callback(read.close)
        headers = {"Authorization": f"Bearer {key}", "X-Person-Ref": "bench-person-1", "Content-Type": "application/json"}
        loop = asyncio.get_running_loop()
        due_of: dict[str, float] = {}
        visible: list[float] = []
        answered: list[float] = []  # the submission's own HTTP latency
        failures: collections.Counter[str] = collections.Counter()  # by reason
        counter = 0

        async def one(due: float, timed: bool = True) -> None:
            nonlocal counter
            counter += 1
            sampled = counter % args.sample == 0
            try:
                status, body = await submit.request("POST", "/v1/ideas", headers=headers, body=BODY)
            except (OSError, asyncio.IncompleteReadError) as error:
                failures[f"submit: {type(error).__name__}"] += timed
                return
            if status != 201:
                failures[f"submit: HTTP {status}"] += timed
                return
            if not timed:
                return
            answered.append((loop.time() - due) * 1000)
            idea_id = json.loads(body)["idea_id"]
            due_of[idea_id] = due
            if not sampled:
                return
            while True:
                try:
                    status, _ = await read.request("GET", f"/v1/ideas/{department}/{idea_id}")
                except (OSError, asyncio.IncompleteReadError) as error:
                    failures[f"read: {type(error).__name__}"] += 1
                    return
                if status == 200:
                    visible.append((loop.time() - due) * 1000)
                    return
                if status != 404 or loop.time() - due > 60:
                    failures[f"read: HTTP {status}"] += 1
                    return
                await asyncio.sleep(args.poll_ms / 1000)

        await open_loop(args.rate, args.warm_up, lambda due: one(due, timed=False))
        await asyncio.sleep(1)
        await open_loop(args.rate, args.seconds, one)
        for _ in range(100):  # the last events' arrival on Kafka
            if all(idea_id in on_kafka.seen for idea_id in due_of):
                break
            await asyncio.sleep(0.1)
        arrived = sorted((on_kafka.seen[i] - due) * 1000 for i, due in due_of.items() if i in on_kafka.seen)
        visible.sort()
        answered.sort()
        memory = {service.service: peak_rss_of_tree(service.process.pid) for service in (ideas, reporting)}

    print(f"  {len(due_of)} ideas accepted, {sum(failures.values())} failed {dict(failures) or ''}; "
          f"{len(visible)} timed to the reporting API, {len(arrived)} seen on Kafka")
    for name, values in (("submitted -> 201 answered", answered), ("submitted -> on Kafka", arrived),
                         ("submitted -> reporting API", visible)):
        print(f"  {name:<27}: p50 {percentile(values, 50):7.1f} ms  p99 {percentile(values, 99):7.1f} ms  "
              f"max {values[-1]:7.1f} ms")
    report(
        Figure(f"freshness p50, idea submitted -> reporting API at {args.rate:.0f}/s", percentile(visible, 50), "ms",
               baseline="submitted -> on Kafka, p50", baseline_value=percentile(arrived, 50)),
        Figure(f"freshness p99, idea submitted -> reporting API at {args.rate:.0f}/s", percentile(visible, 99), "ms",
               target=1000, higher_is_better=False, baseline="submitted -> on Kafka (outbox only), p99",
               baseline_value=percentile(arrived, 99)),
        Figure(f"freshness max at {args.rate:.0f}/s", visible[-1], "ms", baseline="submitted -> on Kafka, max",
               baseline_value=arrived[-1]),
        Figure("failed submissions or reads in the freshness run", sum(failures.values()), "requests", target=1,
               higher_is_better=False),
        *(Figure(f"peak resident memory, {name} (freshness run)", mb, "MB", target=300, higher_is_better=False)
          for name, mb in memory.items()),
    )


if __name__ == "__main__":
    asyncio.run(main())
