"""The ideas service in-process against the real broker and a fresh database, with a key per role."""

import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from services.ideas.config import IdeasSettings
from services.ideas.main import build
from shared.auth import ROLES, new_key, register_key
from shared.events.topics import topic_name
from tests.support.kafka import create_topics

SECRET = "ideas-test-secret"


@dataclass
class IdeasService:
    app: FastAPI
    client: httpx.AsyncClient
    dsn: str
    department: str
    bootstrap: str
    keys: dict[str, str] = field(default_factory=dict)

    @property
    def topic(self) -> str:
        return topic_name(self.department, "ideas")

    @property
    def runtime(self):
        return self.app.state.runtime

    def headers(self, role: str = "contributor", person: str | None = "alice", **more: str) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.keys[role]}", **more}
        if person is not None:
            headers["X-Person-Ref"] = person
        return headers

    async def submit(self, title: str = "Fewer forms", person: str = "alice", **fields) -> dict:
        body = {"title": title, "problem": "Too many forms.", "proposal": "Merge them.", **fields}
        response = await self.client.post("/v1/ideas", json=body, headers=self.headers("contributor", person))
        assert response.status_code == 201, response.text
        return response.json()

    async def unsent(self) -> int:
        return await self.runtime.pool.fetchval("SELECT count(*) FROM outbox WHERE sent_at IS NULL")


def settings_for(dsn: str, department: str, bootstrap: str, **more) -> IdeasSettings:
    return IdeasSettings(department=department, database_url=dsn, kafka_bootstrap_servers=bootstrap,
                         pseudonym_secret=SECRET, **more)


async def issue_keys(dsn: str, department: str) -> dict[str, str]:
    """A key per role for `department`, stored in the service's database (already migrated)."""
    keys = {}
    conn = await asyncpg.connect(dsn)
    try:
        for role in ROLES:
            keys[role] = new_key()
            await register_key(conn, keys[role], department=department, role=role, label=f"test {role}")
    finally:
        await conn.close()
    return keys


@contextlib.asynccontextmanager
async def running(settings: IdeasSettings, keys: dict[str, str] | None = None) -> AsyncIterator[IdeasService]:
    """Builds the app, runs its lifespan (migrations, producer, relay), and gives an HTTP client."""
    app = build(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://ideas.test") as client:
            service = IdeasService(app, client, settings.database_url, settings.department,
                                   settings.kafka_bootstrap_servers)
            service.keys = keys if keys is not None else await issue_keys(settings.database_url, settings.department)
            yield service


@pytest.fixture
async def ideas(kafka_bootstrap, new_database, department) -> AsyncIterator[IdeasService]:
    dsn = await new_database("ideas")
    await create_topics(kafka_bootstrap, topic_name(department, "ideas"))
    async with running(settings_for(dsn, department, kafka_bootstrap)) as service:
        yield service


def correlation() -> str:
    return f"corr-{uuid.uuid4().hex[:12]}"


@contextlib.asynccontextmanager
async def served(settings: IdeasSettings) -> AsyncIterator[str]:
    """Runs the service as a real uvicorn process (`python -m services.ideas`); yields its base URL."""
    import asyncio
    import os
    import socket
    import subprocess
    import sys

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "INNOVATION_DEPARTMENT": settings.department, "IDEAS_DATABASE_URL": settings.database_url,
           "KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap_servers, "HTTP_PORT": str(port),
           "INNOVATION_PSEUDONYM_SECRET": settings.pseudonym_secret, "LOG_LEVEL": "WARNING"}
    process = subprocess.Popen([sys.executable, "-m", "services.ideas"], env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=base) as client:
            for _ in range(300):
                assert process.poll() is None, "the ideas service exited during start-up"
                with contextlib.suppress(httpx.TransportError):
                    if (await client.get("/healthz")).status_code == 200:
                        break
                await asyncio.sleep(0.1)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
