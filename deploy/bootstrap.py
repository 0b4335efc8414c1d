"""One-shot set-up of a local system: topics for each department (its streams and their intake topics, as
the department runs the services) and the demo API keys.

    python deploy/bootstrap.py --departments dwp hmrc --keys .run/demo-keys.json

Idempotent: existing topics are kept, and the keys file, once written, is reused, so the
same demo keys stay valid across `make up` runs.
"""

import argparse
import asyncio
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import asyncpg  # noqa: E402
from aiokafka.admin import AIOKafkaAdminClient, NewTopic  # noqa: E402
from aiokafka.errors import TopicAlreadyExistsError  # noqa: E402

from shared.auth import ROLES, new_key, register_key  # noqa: E402
from shared.db import SHARED_MIGRATIONS, prepare_database  # noqa: E402
from shared.events.topics import STREAMS, dlq_topic, intake_topic, topic_name  # noqa: E402
from shared.settings import local_postgres  # noqa: E402

DEPARTMENT_SERVICES = ("ideas", "experiments", "notifications")
CONSUMING_SERVICES = ("ideas", "experiments", "notifications", "reporting")  # ideas consumes its intake


async def create_topics(bootstrap: str, departments: list[str], partitions: int) -> None:
    wanted = [topic(d, s) for d in departments for s in STREAMS for topic in (topic_name, intake_topic)]
    wanted += [dlq_topic(s) for s in CONSUMING_SERVICES]
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        for topic in wanted:
            if topic in existing:
                continue
            try:
                await admin.create_topics([NewTopic(topic, num_partitions=partitions, replication_factor=1,
                                                    topic_configs={"retention.ms": "-1"})])
                print(f"created topic {topic}")
            except TopicAlreadyExistsError:
                pass
    finally:
        await admin.close()


def demo_keys(path: Path, departments: list[str]) -> dict[str, dict[str, str]]:
    keys = json.loads(path.read_text()) if path.exists() else {}
    for department in departments:
        for role in ROLES:
            keys.setdefault(department, {}).setdefault(role, new_key())
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(keys, indent=2) + "\n")
    path.chmod(0o600)
    return keys


async def register_keys(server: str, departments: list[str], keys: dict[str, dict[str, str]]) -> None:
    dsns = [f"{server}/{s}_{d.replace('-', '_')}" for d in departments for s in DEPARTMENT_SERVICES]
    dsns.append(os.environ.get("REPORTING_DATABASE_URL", f"{server}/reporting"))
    for dsn in dsns:
        await prepare_database(dsn, {"shared": SHARED_MIGRATIONS})
        conn = await asyncpg.connect(dsn)
        try:
            for department, by_role in keys.items():
                for role, key in by_role.items():
                    await register_key(conn, key, department=department, role=role, label="demo", acts_for_people=True)
        finally:
            await conn.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--departments", nargs="+", default=["dwp", "hmrc"])
    parser.add_argument("--keys", type=Path, default=Path(".run/demo-keys.json"))
    parser.add_argument("--partitions", type=int, default=3)
    args = parser.parse_args()
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", f"127.0.0.1:{os.environ.get('KAFKA_PORT', '9092')}")
    server = os.environ.get("POSTGRES_SERVER_URL", local_postgres())
    await create_topics(bootstrap, args.departments, args.partitions)
    keys = demo_keys(args.keys, args.departments)
    await register_keys(server, args.departments, keys)
    print(f"demo API keys: {args.keys}")


if __name__ == "__main__":
    asyncio.run(main())
