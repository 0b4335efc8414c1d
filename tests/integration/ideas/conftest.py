"""The ideas service in-process against the real broker and a fresh database, with a key per role;
and as a real uvicorn process."""

import contextlib
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest

from services.ideas.config import IdeasSettings
from services.ideas.main import build
from shared.events.topics import intake_topic, topic_name
from tests.support.kafka import create_topics
from tests.support.ports import free_port
from tests.support.services import RunningService, serving

SECRET = "ideas-test-secret"


def settings_for(dsn: str, department: str, bootstrap: str, **more) -> IdeasSettings:
    # reporting unreachable unless a test starts one (never someone's `make up` on the default port)
    more.setdefault("reporting_url", "http://127.0.0.1:9")
    return IdeasSettings(department=department, database_url=dsn, kafka_bootstrap_servers=bootstrap,
                         pseudonym_secret=SECRET, **more)


def running(settings: IdeasSettings) -> contextlib.AbstractAsyncContextManager[RunningService]:
    """Builds the app and serves it: its lifespan (migrations, producer, relay), a client and keys."""
    return serving(build(settings), settings.database_url, settings.department, "http://ideas.test")


@pytest.fixture
def ideas_topic(department) -> str:
    return topic_name(department, "ideas")


@pytest.fixture
def intake(department) -> str:
    return intake_topic(department, "ideas")


@pytest.fixture
async def ideas(kafka_bootstrap, new_database, department, ideas_topic, intake) -> AsyncIterator[RunningService]:
    dsn = await new_database("ideas")
    await create_topics(kafka_bootstrap, ideas_topic, intake)
    async with running(settings_for(dsn, department, kafka_bootstrap)) as service:
        yield service


async def submit(service: RunningService, title: str = "Fewer forms", person: str = "alice", **fields) -> dict:
    body = {"title": title, "problem": "Too many forms.", "proposal": "Merge them.", **fields}
    response = await service.client.post("/v1/ideas", json=body, headers=service.headers("contributor", person))
    assert response.status_code == 201, response.text
    return response.json()


async def unsent(service: RunningService) -> int:
    return await service.runtime.pool.fetchval("SELECT count(*) FROM outbox WHERE sent_at IS NULL")


def correlation() -> str:
    return f"corr-{uuid.uuid4().hex[:12]}"


@contextlib.asynccontextmanager
async def served(settings: IdeasSettings) -> AsyncIterator[str]:
    """Runs the service as a real uvicorn process (`python -m services.ideas`); yields its base URL."""
    import asyncio
    import os
    import subprocess
    import sys

    port = free_port()
    env = {**os.environ, "INNOVATION_DEPARTMENT": settings.department, "IDEAS_DATABASE_URL": settings.database_url,
           "KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap_servers, "HTTP_PORT": str(port),
           "INNOVATION_PSEUDONYM_SECRET": settings.pseudonym_secret, "LOG_LEVEL": "WARNING",
           "REPORTING_URL": settings.reporting_url}
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
