"""Use cases: load the idea (locked), call the domain, save it and its events in one transaction.

The events go to the shared outbox in the same transaction as the state change, so they
are published if and only if the change committed; the row lock keeps one idea's events
in commit order.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from uuid import UUID

import asyncpg

from services.ideas import repository
from services.ideas.domain import Conversation, Idea
from shared.events import EventData, IdeaSubmitted, new_event
from shared.logging import get_logger
from shared.outbox import enqueue
from shared.refusals import Conflict, NotFound

SERVICE = "ideas"
log = get_logger(__name__)


class UnknownIdea(NotFound):
    def __init__(self, idea_id: UUID) -> None:
        super().__init__("idea not found", field="idea_id", rule="an idea of this department", idea_id=str(idea_id))


class ConversationExists(Conflict):
    def __init__(self, conversation_id: UUID) -> None:
        super().__init__("conversation already recorded", field="conversation_id", rule="unique",
                         conversation_id=str(conversation_id))


@dataclass(frozen=True)
class Acting:
    """Who gives a command, and the request it came in: the events' correlation and cause."""

    person: str  # the pseudonym, never the raw reference
    correlation_id: str
    causation_id: str


class IdeasHandlers:
    def __init__(self, pool: asyncpg.Pool, department: str) -> None:
        self._pool = pool
        self._department = department

    @property
    def department(self) -> str:
        return self._department

    async def submit(self, acting: Acting, submission: IdeaSubmitted) -> asyncpg.Record:
        idea = Idea.submit(submission)
        async with self._pool.acquire() as conn, conn.transaction():
            row = await repository.insert_idea(conn, idea)
            await self._publish(conn, acting, idea.take_events())
        log.info("idea submitted", idea_id=str(idea.idea_id))
        return row

    async def change(self, acting: Acting, idea_id: UUID, command: Callable[[Idea], None]) -> asyncpg.Record:
        """Applies `command` (a domain method call) to the locked idea and saves what it caused."""
        async with self._pool.acquire() as conn, conn.transaction():
            idea = await repository.idea_for_update(conn, idea_id)
            if idea is None:
                raise UnknownIdea(idea_id)
            command(idea)
            events = idea.take_events()
            row = await repository.save_idea(conn, idea, events)
            await self._publish(conn, acting, events)
        log.info("idea changed", idea_id=str(idea_id), status=row["status"], events=[e.event_name for e in events])
        return row

    async def record_conversation(self, acting: Acting, conversation: Conversation) -> None:
        async with self._pool.acquire() as conn, conn.transaction():
            try:
                await repository.insert_conversation(conn, conversation)
            except asyncpg.UniqueViolationError:
                raise ConversationExists(conversation.conversation_id) from None
            await self._publish(conn, acting, [conversation.recorded()])
        log.info("conversation recorded", conversation_id=str(conversation.conversation_id))

    async def _publish(self, conn: asyncpg.Connection, acting: Acting, events: list[EventData]) -> None:
        await enqueue(conn, [
            new_event(data, department=self._department, service=SERVICE,
                      correlationid=acting.correlation_id, causationid=acting.causation_id)
            for data in events
        ])
