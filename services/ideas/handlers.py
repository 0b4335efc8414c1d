"""Use cases: load the idea (locked), call the domain, save it and its events in one transaction.

The events go to the shared outbox in the same transaction as the state change, so they
are published if and only if the change committed; the row lock keeps one idea's events
in commit order. Commands come from the HTTP API (`Acting`: new events) and from the
department's intake topic (`apply_intake`: the departmental system's own event, kept as it is).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from uuid import UUID

import asyncpg

from services.ideas import repository
from services.ideas.catalogue import Catalogue, CatalogueUnavailable
from services.ideas.domain import Backing, Conversation, Idea, MergeTarget
from shared.events import (
    ConversationRecorded,
    Event,
    EventData,
    IdeaBacked,
    IdeaDeclined,
    IdeaEndorsed,
    IdeaMerged,
    IdeaReviewed,
    IdeaShortlisted,
    IdeaSubmitted,
    IdeaWithdrawn,
    new_event,
)
from shared.logging import get_logger
from shared.outbox import enqueue
from shared.refusals import Conflict, Forbidden, Invalid, NotFound

SERVICE = "ideas"
log = get_logger(__name__)


class UnknownIdea(NotFound):
    """No such idea here; without an id, what a key of another department is told about any."""

    def __init__(self, idea_id: UUID | None = None) -> None:
        super().__init__("idea not found", field="idea_id", rule="an idea of this department",
                         **({"idea_id": str(idea_id)} if idea_id else {}))


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


class IdeaExists(Conflict):
    def __init__(self, idea_id: UUID) -> None:
        super().__init__("idea already submitted", field="idea_id", rule="unique", idea_id=str(idea_id))


class OtherDepartment(Forbidden):
    def __init__(self, department: str, ours: str) -> None:
        super().__init__(f"an event of department {department!r} on the intake of {ours!r}", field="department",
                         rule="this service's department", department=department)


class IdeasHandlers:
    def __init__(self, pool: asyncpg.Pool, department: str, catalogue: Catalogue | None = None) -> None:
        self._pool = pool
        self._department = department
        self._catalogue = catalogue

    @property
    def department(self) -> str:
        return self._department

    async def submit(self, acting: Acting, submission: IdeaSubmitted) -> asyncpg.Record:
        idea = Idea.submit(submission)
        events = self._events(acting, idea.take_events())
        try:  # the idea and its events in one statement: one round trip, atomic on its own
            row = await repository.submit_idea(self._pool, idea, source=events[0].source, events=events)
        except asyncpg.UniqueViolationError as error:
            if error.table_name != "ideas":
                raise
            raise IdeaExists(idea.idea_id) from None
        log.info("idea submitted", idea_id=str(idea.idea_id))
        return row

    async def change(self, acting: Acting, idea_id: UUID, command: Callable[[Idea], None]) -> asyncpg.Record:
        """Applies `command` (a domain method call) to the locked idea and saves what it caused."""
        async with self._pool.acquire() as conn, conn.transaction():
            row, events = await _change(conn, idea_id, command, self._department)
            await enqueue(conn, self._events(acting, events))
        log.info("idea changed", idea_id=str(idea_id), status=row["status"], events=[e.event_name for e in events])
        return row

    async def merge(self, acting: Acting, idea_id: UUID, into_department: str, into_idea_id: UUID) -> asyncpg.Record:
        """Merges the idea into another: this department's (looked up and locked with it), or another's, looked
        up in the central catalogue before the transaction (503 if reporting cannot answer)."""
        elsewhere = None
        if into_department != self._department:
            elsewhere = await self._remote_target(into_department, into_idea_id)
        async with self._pool.acquire() as conn, conn.transaction():
            row, events = await self._merge(conn, idea_id, acting.person, into_department, into_idea_id, elsewhere)
            await enqueue(conn, self._events(acting, events))
        log.info("idea merged", idea_id=str(idea_id), into_department=into_department, into_idea_id=str(into_idea_id))
        return row

    async def _remote_target(self, department: str, idea_id: UUID) -> MergeTarget | None:
        if self._catalogue is None:
            raise CatalogueUnavailable("no central catalogue configured")
        return await self._catalogue.idea(department, idea_id)

    async def _merge(self, conn: asyncpg.Connection, idea_id: UUID, by: str, into_department: str,
                     into_idea_id: UUID, elsewhere: MergeTarget | None) -> tuple[asyncpg.Record, list[EventData]]:
        """In the caller's transaction: a target of this department is locked with the merged idea (one order for
        both, so crossed merges serialise: the second finds its target closed), then the domain decides."""
        target = elsewhere
        if into_department == self._department:
            statuses = await repository.lock_ideas(conn, {idea_id, into_idea_id})
            status = statuses.get(into_idea_id)
            target = MergeTarget(into_department, into_idea_id, status) if status else None
        row, events = await _change(conn, idea_id, lambda idea: idea.merge(
            by, into_department, into_idea_id, department=self._department, target=target), self._department)
        if events and into_department == self._department:
            await repository.count_lineage_endorsements(conn, into_idea_id)
        return row, events

    async def record_conversation(self, acting: Acting, conversation: Conversation) -> None:
        recorded = self._events(acting, [conversation.recorded()])
        async with self._pool.acquire() as conn, conn.transaction():
            await _insert_conversation(conn, conversation, source=recorded[0].source)
            await enqueue(conn, recorded)
        log.info("conversation recorded", conversation_id=str(conversation.conversation_id))

    async def apply_intake(self, conn: asyncpg.Connection, event: Event) -> None:
        """Applies an event a departmental system emitted onto the intake, in the consumer's transaction, with
        the rules of the HTTP API; the domain's refusal is raised (the consumer dead-letters the event). Accepted,
        the event itself (its id, source, correlation, cause, time and data) goes to the outbox, for the
        canonical stream, with the change: this service stays the stream's one writer."""
        if event.department != self._department:  # decode checks the topic's department; this, the service's
            raise OtherDepartment(event.department, self._department)
        data = event.data
        match data:
            case IdeaSubmitted():
                await _insert_idea(conn, Idea.submit(data), source=event.source)
            case ConversationRecorded():
                conversation = Conversation(
                    conversation_id=data.conversation_id, team=data.team, participants=data.participants,
                    held_on=data.held_on, ideas_raised=data.ideas_raised, recorded_by=None)
                await _insert_conversation(conn, conversation, source=event.source)
            case IdeaMerged():  # the target checked as for the API; reporting unreachable: retried, not refused
                elsewhere = None
                if data.into_department != self._department:
                    elsewhere = await self._remote_target(data.into_department, data.into_idea_id)
                await self._merge(conn, data.idea_id, data.by, data.into_department, data.into_idea_id, elsewhere)
            case _:
                await _change(conn, data.idea_id, _command_of(data), self._department)
        await enqueue(conn, [event])
        log.info("intake event applied", event_type=event.type, source=event.source, subject=event.subject)

    def _events(self, acting: Acting, events: list[EventData]) -> list[Event]:
        return [
            new_event(data, department=self._department, service=SERVICE,
                      correlationid=acting.correlation_id, causationid=acting.causation_id)
            for data in events
        ]


def _command_of(data: EventData) -> Callable[[Idea], None]:
    """The domain command that records `data` on an idea: the HTTP API's, with the person the event names.
    A withdrawal is the submitter's own (no system withdraws on someone's behalf)."""
    match data:
        case IdeaEndorsed():
            return lambda idea: idea.endorse(data.endorsed_by)
        case IdeaReviewed():
            return lambda idea: idea.review(data.reviewer, data.scores, data.comment)
        case IdeaShortlisted():
            return lambda idea: idea.shortlist(data.by, data.note)
        case IdeaBacked():
            backing = Backing(sponsor=data.sponsor, budget_gbp=data.budget_gbp, staff_days=data.staff_days,
                              timebox_weeks=data.timebox_weeks, note=data.note)
            return lambda idea: idea.back(backing)
        case IdeaDeclined():
            return lambda idea: idea.decline(data.by, data.reason, data.note)
        case IdeaWithdrawn():
            return lambda idea: idea.withdraw(data.by)
    raise Invalid(f"{data.event_type} is not accepted on the ideas intake", field="type",
                  rule="an event of the ideas stream")


async def _insert_idea(conn: asyncpg.Connection, idea: Idea, *, source: str) -> asyncpg.Record:
    try:
        async with conn.transaction():  # a savepoint: the refusal leaves the caller's transaction usable
            return await repository.insert_idea(conn, idea, source=source)
    except asyncpg.UniqueViolationError:
        raise IdeaExists(idea.idea_id) from None


async def _insert_conversation(conn: asyncpg.Connection, conversation: Conversation, *, source: str) -> None:
    try:
        async with conn.transaction():
            await repository.insert_conversation(conn, conversation, source=source)
    except asyncpg.UniqueViolationError:
        raise ConversationExists(conversation.conversation_id) from None


async def _change(conn: asyncpg.Connection, idea_id: UUID, command: Callable[[Idea], None],
                  department: str) -> tuple[asyncpg.Record, list[EventData]]:
    """Loads the idea locked (so one idea's commands, from HTTP or the intake, commit one after the other),
    applies `command` and saves what it caused."""
    idea = await repository.idea_for_update(conn, idea_id)
    if idea is None:
        raise UnknownIdea(idea_id)
    command(idea)
    events = idea.take_events()
    return await repository.save_idea(conn, idea, events, department=department), events
