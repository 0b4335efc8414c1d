"""The reporting service run in-process against the real broker and database, narrowed to a test's own
departments (the shared broker carries every engineer's test topics)."""

from __future__ import annotations

import asyncio
import contextlib
import re
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from services.reporting.config import ReportingSettings
from services.reporting.main import build
from shared.events import encode
from shared.outbox import new_producer
from shared.runtime import Runtime
from tests.conftest import RUN_ID

ROOT_DIR = str(Path(__file__).resolve().parents[3])
from tests.support.kafka import create_topics


def new_department() -> str:
    return f"t{RUN_ID}{uuid.uuid4().hex[:6]}"


def pattern_for(*departments: str) -> str:
    return rf"^innovation\.({'|'.join(map(re.escape, departments))})\.(ideas|experiments|outcomes)\.v1$"


def settings_for(dsn: str, bootstrap: str, departments: Sequence[str], **more) -> ReportingSettings:
    return ReportingSettings(
        database_url=dsn, kafka_bootstrap_servers=bootstrap, topic_pattern=pattern_for(*departments),
        **{"group_id": f"reporting-test-{uuid.uuid4().hex[:8]}", "metadata_max_age_ms": 1000, "batch_max_records": 500,
           **more},
    )


async def publish(bootstrap: str, events, *, raw: Sequence[tuple[str, bytes | None, list]] = ()) -> None:
    producer = new_producer(bootstrap)
    await producer.start()
    try:
        for event in events:
            record = encode(event)
            await producer.send(record.topic, record.value, key=record.key, headers=record.headers)
        for topic, value, headers in raw:
            await producer.send(topic, value, key=b"poison", headers=headers)
        await producer.flush()
    finally:
        await producer.stop()


async def wait_for(condition, timeout: float = 60.0, what: str = "condition") -> None:
    """Polls an async condition; the service gives no other signal that a batch was applied."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await condition():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)


async def inbox_count(dsn: str, consumer: str = "reporting") -> int:
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetchval("SELECT count(*) FROM inbox WHERE consumer = $1", consumer)
    finally:
        await conn.close()


async def wait_applied(dsn: str, count: int, timeout: float = 60.0) -> None:
    async def done() -> bool:
        return await inbox_count(dsn) >= count
    await wait_for(done, timeout, f"{count} events applied")


async def viewer_key_header(dsn: str, department: str) -> dict[str, str]:
    """A viewer key of the department, registered in the service's database, as an Authorization header."""
    from shared.auth import new_key, register_key

    key = new_key()
    conn = await asyncpg.connect(dsn)
    try:
        await register_key(conn, key, department=department, role="viewer")
    finally:
        await conn.close()
    return {"Authorization": f"Bearer {key}"}


@dataclass
class Running:
    settings: ReportingSettings
    client: httpx.AsyncClient
    app: FastAPI

    @property
    def runtime(self) -> Runtime:
        return self.app.state.runtime

    async def get(self, path: str, **params) -> dict:
        response = await self.client.get(path, params=params)
        assert response.status_code == 200, response.text
        return response.json()


@contextlib.asynccontextmanager
async def running(settings: ReportingSettings) -> AsyncIterator[Running]:
    app = build(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://reporting") as client:
            yield Running(settings, client, app)


@pytest.fixture
async def topics_for(kafka_bootstrap):
    async def make(*departments: str) -> None:
        await create_topics(kafka_bootstrap, *(f"innovation.{d}.{s}.v1" for d in departments
                                               for s in ("ideas", "experiments", "outcomes")))
    return make
