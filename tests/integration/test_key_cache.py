"""API keys cached in each process (shared.auth.KeyCache), emptied on any change to a key: a revoked key
is refused by every worker of a running service without a restart, and a cache whose listening session
dies keeps nothing it could not hear about."""

from __future__ import annotations

import asyncio
import os
import signal

import asyncpg
import httpx
import pytest

from shared.auth import CACHE_SESSION, KeyCache, new_key, register_key, revoke_key
from shared.db import SHARED_MIGRATIONS, create_pool, prepare_database
from shared.events.topics import intake_topic, topic_name
from tests.support.kafka import create_topics
from tests.support.processes import ServiceProcess
from tests.support.services import issue_keys
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration


async def cache_sessions(dsn: str) -> list[int]:
    conn = await asyncpg.connect(dsn)
    try:
        return [row["pid"] for row in await conn.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name = $1",
            CACHE_SESSION)]
    finally:
        await conn.close()


async def statuses(url: str, key: str, times: int = 16) -> set[int]:
    """The statuses of `times` reads, each on a new connection (so the kernel spreads them over the workers)."""
    found = set()
    for _ in range(times):
        async with httpx.AsyncClient() as client:
            response = await client.get(f"{url}/v1/ideas", timeout=10,
                                        headers={"Authorization": f"Bearer {key}", "Connection": "close"})
            found.add(response.status_code)
    return found


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().split(")")[-1].split()[0] != "Z"


async def test_a_revoked_key_is_refused_by_every_worker_without_a_restart(tmp_path, kafka_bootstrap, new_database,
                                                                          department):
    dsn = await new_database("ideas")
    await create_topics(kafka_bootstrap, topic_name(department, "ideas"), intake_topic(department, "ideas"))
    service = ServiceProcess("ideas", log=tmp_path / "ideas.log", IDEAS_DATABASE_URL=dsn, HTTP_WORKERS="2",
                             INNOVATION_DEPARTMENT=department, KAFKA_BOOTSTRAP_SERVERS=kafka_bootstrap)
    await service.start()
    try:
        keys = await issue_keys(dsn, department)  # after the start: the service made the tables
        await eventually(lambda: _count(cache_sessions(dsn), 2), timeout=30, what="both workers' caches listening")
        children = [int(pid) for pid in open(f"/proc/{service.process.pid}/task/{service.process.pid}/children")
                    .read().split()]
        workers = [pid for pid in children if b"spawn_main" in open(f"/proc/{pid}/cmdline", "rb").read()]
        assert len(workers) == 2, children  # beside them, multiprocessing's resource tracker

        # a key registered after the start is found at once, and then served from the caches
        assert await statuses(service.url, keys["viewer"]) == {200}
        assert await statuses(service.url, keys["contributor"]) == {200}

        conn = await asyncpg.connect(dsn)
        try:
            assert await revoke_key(conn, keys["contributor"].split("_")[1])  # returns once both caches emptied
        finally:
            await conn.close()
        assert await statuses(service.url, keys["contributor"]) == {401}
        assert await statuses(service.url, keys["viewer"]) == {200}  # the other keys still work

        # the workers end with their supervisor, even a SIGKILLed one
        service.process.send_signal(signal.SIGKILL)
        service.process.wait(10)
        await eventually(lambda: _true(not any(alive(pid) for pid in children)), timeout=30,
                         what="the workers of a killed supervisor ending")
    finally:
        service.stop()


async def _count(sessions, expected: int) -> bool:
    return len(await sessions) == expected


async def _true(value: bool) -> bool:
    return value


async def test_a_cache_whose_session_dies_keeps_nothing_and_listens_again(new_database, department):
    dsn = await new_database("keys")
    await prepare_database(dsn, {"shared": SHARED_MIGRATIONS})
    key, other = new_key(), new_key()
    admin = await asyncpg.connect(dsn)
    pool = await create_pool(dsn, max_size=2)
    cache = KeyCache(dsn, pool, check_every_seconds=0.5)
    running = asyncio.create_task(cache.run())
    try:
        for each in (key, other):
            await register_key(admin, each, department=department, role="contributor")
        await eventually(lambda: _true(cache.listening), timeout=10, what="the cache listening")
        assert (await cache.find(key)).role == "contributor"
        assert await cache.find("ink_000000000000_unknownunknownunknown") is None

        # the listening session is ended by the server; the key is revoked before the cache listens again
        await admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1 "
                            "AND datname = current_database()", CACHE_SESSION)
        await admin.execute("UPDATE api_keys SET revoked_at = now() WHERE key_id = $1", key.split("_")[1])
        await eventually(lambda: _true(not cache.listening), timeout=10, what="the cache noticing its loss")
        assert await cache.find(key) is None

        # it listens again, caches again, and a revocation by hand (no CLI) still reaches it
        await eventually(lambda: _true(cache.listening), timeout=10, what="the cache listening again")
        assert (await cache.find(other)).role == "contributor"
        await admin.execute("UPDATE api_keys SET revoked_at = now() WHERE key_id = $1", other.split("_")[1])
        await eventually(lambda: _none(cache.find(other)), timeout=10, what="the revocation reaching the cache")
    finally:
        await cache.stop()
        await asyncio.wait_for(running, 10)
        await pool.close()
        await admin.close()


async def _none(found) -> bool:
    return await found is None
