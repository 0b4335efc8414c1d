"""The foundation works end to end on the real broker and the real database server."""

import asyncio
import uuid
from pathlib import Path

import asyncpg
from faststream import AckPolicy
from faststream.kafka import KafkaBroker

from shared.db import migrate, prepare_database
from tests.support.kafka import create_topics


async def test_faststream_publish_is_consumed_by_another_group_and_stored(kafka_bootstrap, new_database, department):
    topic = f"innovation.{department}.ideas.v1"
    await create_topics(kafka_bootstrap, topic)
    dsn = await new_database("foundation")
    conn = await asyncpg.connect(dsn)
    await conn.execute("CREATE TABLE received (id uuid PRIMARY KEY, title text NOT NULL)")
    stored = asyncio.Event()

    consumer_side = KafkaBroker(kafka_bootstrap, logger=None)

    @consumer_side.subscriber(topic, group_id=f"{department}-readers", auto_offset_reset="earliest",
                              ack_policy=AckPolicy.ACK)
    async def store(body: dict) -> None:
        await conn.execute("INSERT INTO received (id, title) VALUES ($1, $2)", uuid.UUID(body["id"]), body["title"])
        stored.set()

    producer_side = KafkaBroker(kafka_bootstrap, logger=None)
    sent_id = uuid.uuid4()
    async with consumer_side, producer_side:
        await consumer_side.start()
        await producer_side.publish({"id": str(sent_id), "title": "Fewer forms"}, topic, key=b"k")
        await asyncio.wait_for(stored.wait(), 30)
    row = await conn.fetchrow("SELECT id, title FROM received")
    await conn.close()
    assert (row["id"], row["title"]) == (sent_id, "Fewer forms")


async def test_migration_runner_is_idempotent(new_database, tmp_path: Path):
    dsn = await new_database("migrations")
    (tmp_path / "0001_create.sql").write_text("CREATE TABLE things (id int PRIMARY KEY);")
    (tmp_path / "0002_add.sql").write_text("ALTER TABLE things ADD COLUMN name text;")
    first = await prepare_database(dsn, {"demo": tmp_path})
    second = await prepare_database(dsn, {"demo": tmp_path})
    assert [m.version for m in first] == [1, 2]
    assert second == []
    conn = await asyncpg.connect(dsn)
    try:
        columns = await conn.fetch("SELECT column_name FROM information_schema.columns WHERE table_name = 'things'")
        recorded = await conn.fetchval("SELECT count(*) FROM schema_migrations WHERE component = 'demo'")
    finally:
        await conn.close()
    assert {c["column_name"] for c in columns} == {"id", "name"}
    assert recorded == 2


async def test_migration_runner_refuses_an_edited_migration(new_database, tmp_path: Path):
    dsn = await new_database("migrations")
    (tmp_path / "0001_create.sql").write_text("CREATE TABLE things (id int PRIMARY KEY);")
    await prepare_database(dsn, {"demo": tmp_path})
    (tmp_path / "0001_create.sql").write_text("CREATE TABLE things (id bigint PRIMARY KEY);")
    conn = await asyncpg.connect(dsn)
    try:
        try:
            await migrate(conn, {"demo": tmp_path})
        except Exception as error:
            assert "was changed after it was applied" in str(error)
        else:
            raise AssertionError("an edited migration was accepted")
    finally:
        await conn.close()


async def test_concurrent_migrators_apply_each_migration_once(new_database, tmp_path: Path):
    dsn = await new_database("migrations")
    (tmp_path / "0001_create.sql").write_text("CREATE TABLE things (id int PRIMARY KEY);")
    await prepare_database(dsn, {})  # the database exists before the race
    results = await asyncio.gather(*(prepare_database(dsn, {"demo": tmp_path}) for _ in range(4)))
    assert sorted(len(r) for r in results) == [0, 0, 0, 1]
