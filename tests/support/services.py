"""A service app running in the test's own loop: its lifespan, an HTTP client on it, and an
API key per role. Each service's harness builds its app from its own settings and serves it here."""

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

import asyncpg
import httpx
from fastapi import FastAPI

from shared.auth import ROLES, new_key, register_key
from shared.runtime import Runtime


@dataclass
class RunningService:
    department: str
    dsn: str
    app: FastAPI
    client: httpx.AsyncClient
    keys: dict[str, str]  # role -> a key of this department; "stranger" -> an admin key of another department

    @property
    def runtime(self) -> Runtime:
        """What the app holds while it runs: pools, producer, broker, relay, subscriptions, handlers."""
        return self.app.state.runtime

    def headers(self, role: str = "contributor", person: str | None = "alice", **more: str) -> dict[str, str]:
        """The key of `role`; `person` as X-Person-Ref unless None; `more` as further headers."""
        acting = {"X-Person-Ref": person} if person is not None else {}
        return {"Authorization": f"Bearer {self.keys[role]}", **acting, **more}


async def issue_keys(dsn: str, department: str) -> dict[str, str]:
    """A key per role of `department`, and a "stranger" (an admin of another department), stored
    in the service's database (already migrated); each acts for people (may send X-Person-Ref)."""
    grants = [(role, department, role) for role in ROLES] + [("stranger", "elsewhere", "admin")]
    keys = {}
    conn = await asyncpg.connect(dsn)
    try:
        for name, of, role in grants:
            keys[name] = new_key()
            await register_key(conn, keys[name], department=of, role=role, label=f"test {name}", acts_for_people=True)
    finally:
        await conn.close()
    return keys


@contextlib.asynccontextmanager
async def serving(app: FastAPI, dsn: str, department: str, base_url: str) -> AsyncIterator[RunningService]:
    """Runs the app's lifespan (migrations, pool, producer, consumers...), opens an HTTP client on
    it and issues the keys. An unhandled error reaches the client as the 500 a real client gets."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url=base_url) as client:
            yield RunningService(department, dsn, app, client, await issue_keys(dsn, department))
