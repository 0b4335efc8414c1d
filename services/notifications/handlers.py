"""Use cases: turning events into deliveries, and managing subscriptions and webhooks.

The consumers and the HTTP routes both come through here; the delivery worker is in worker.py.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg

from services.notifications import repository
from services.notifications.domain import adoption_of_ours
from shared.events import Event, encode_structured
from shared.events.pseudonym import pseudonymise
from shared.logging import get_logger

SERVICE = "notifications"
log = get_logger(__name__)


@dataclass
class Notifications:
    """The notifications of one department."""

    pool: asyncpg.Pool
    department: str
    pseudonym_secret: str

    # -- from the topics -------------------------------------------------------------------

    async def department_event(self, conn: asyncpg.Connection, event: Event[Any]) -> None:
        """Any event of the department's own three streams."""
        await self._deliver(conn, event)

    async def outcomes_event(self, conn: asyncpg.Connection, event: Event[Any]) -> None:
        """Any department's outcomes: only adoptions of this department's outcomes matter here
        (the department's own topic is read by the department consumer already)."""
        if adoption_of_ours(event, self.department):
            await self._deliver(conn, event)

    async def _deliver(self, conn: asyncpg.Connection, event: Event[Any]) -> None:
        added = await repository.add_deliveries(conn, event.id, event.type, encode_structured(event).value)
        if added:
            log.info("deliveries added", count=added)

    # -- subscriptions ---------------------------------------------------------------------

    def person(self, person_ref: str) -> str:
        return pseudonymise(self.pseudonym_secret, person_ref)

    async def subscribe(self, person: str, email: str, name: str | None, types: Sequence[str]) -> tuple[Any, bool]:
        return await repository.put_subscription(self.pool, person, email, name, types)

    async def subscription(self, person: str) -> Any:
        return await repository.get_subscription(self.pool, person)

    async def unsubscribe(self, person: str) -> bool:
        async with self.pool.acquire() as conn:
            return await repository.delete_subscription(conn, person)

    # -- webhooks --------------------------------------------------------------------------

    async def add_webhook(self, url: str, secret: str, types: Sequence[str], description: str | None) -> Any:
        return await repository.add_webhook(self.pool, url, secret, types, description)

    async def webhooks(self) -> list[Any]:
        return await repository.list_webhooks(self.pool)

    async def remove_webhook(self, webhook_id: uuid.UUID) -> bool:
        async with self.pool.acquire() as conn:
            return await repository.delete_webhook(conn, webhook_id)

    # -- deliveries ------------------------------------------------------------------------

    async def deliveries(self, *, after: int, limit: int, **filters: Any) -> list[Any]:
        return await repository.list_deliveries(self.pool, after=after, limit=limit, **filters)
