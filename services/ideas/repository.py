"""asyncpg SQL for ideas and conversations: domain objects in and out, rows for reading."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any
from uuid import UUID

import asyncpg
import orjson

from services.ideas.domain import Backing, Closure, Conversation, Idea, Status
from shared.events import EventData, IdeaEndorsed, IdeaReviewed

_IDEA_COLUMNS = """idea_id, position, status, title, problem, proposal, expected_benefits, themes, team, campaign,
    conversation_id, submitted_by, endorsements, reviews, shortlisted_by, backing, closure, source, submitted_at, updated_at"""


def _json(value: Any) -> str | None:
    if value is None:
        return None
    return orjson.dumps({k: v for k, v in asdict(value).items() if v is not None}, default=str).decode()


async def insert_idea(conn: asyncpg.Connection, idea: Idea, *, source: str) -> asyncpg.Record:
    """`source`: the source of the event that submitted it (the API's, or a departmental system's)."""
    return await conn.fetchrow(
        f"""INSERT INTO ideas (idea_id, status, title, problem, proposal, expected_benefits, themes, team,
                               campaign, conversation_id, submitted_by, source)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING {_IDEA_COLUMNS}""",
        idea.idea_id, idea.status.value, idea.title, idea.problem, idea.proposal, idea.expected_benefits,
        list(idea.themes), idea.team, idea.campaign, idea.conversation_id, idea.submitted_by, source,
    )


async def idea_for_update(conn: asyncpg.Connection, idea_id: UUID) -> Idea | None:
    """Loads an idea and locks its row until the transaction ends, so one idea's changes
    (and the outbox rows they write) commit one after the other."""
    row = await conn.fetchrow(f"SELECT {_IDEA_COLUMNS} FROM ideas WHERE idea_id = $1 FOR UPDATE", idea_id)
    if row is None:
        return None
    endorsers = await conn.fetch("SELECT endorsed_by FROM endorsements WHERE idea_id = $1", idea_id)
    backing, closure = _load(row["backing"]), _load(row["closure"])
    if closure and closure.get("into_idea_id"):
        closure["into_idea_id"] = UUID(closure["into_idea_id"])
    return Idea(
        idea_id=row["idea_id"], status=Status(row["status"]), title=row["title"], problem=row["problem"],
        proposal=row["proposal"], submitted_by=row["submitted_by"], expected_benefits=row["expected_benefits"],
        themes=tuple(row["themes"]), team=row["team"], campaign=row["campaign"],
        conversation_id=row["conversation_id"], endorsed_by={r["endorsed_by"] for r in endorsers},
        shortlisted_by=row["shortlisted_by"], backing=Backing(**backing) if backing else None,
        closure=Closure(**closure) if closure else None,
    )


async def save_idea(conn: asyncpg.Connection, idea: Idea, events: list[EventData]) -> asyncpg.Record:
    """Writes what the events changed; returns the idea's row as it now reads."""
    endorsements = [(idea.idea_id, e.endorsed_by) for e in events if isinstance(e, IdeaEndorsed)]
    reviews = [
        (idea.idea_id, e.reviewer, e.scores.impact, e.scores.feasibility, e.scores.value_for_money,
         e.scores.alignment, e.comment)
        for e in events if isinstance(e, IdeaReviewed)
    ]
    if endorsements:
        await conn.executemany("INSERT INTO endorsements (idea_id, endorsed_by) VALUES ($1, $2)", endorsements)
    if reviews:
        await conn.executemany(
            """INSERT INTO reviews (idea_id, reviewer, impact, feasibility, value_for_money, alignment, comment)
               VALUES ($1, $2, $3, $4, $5, $6, $7)""",
            reviews,
        )
    return await conn.fetchrow(
        f"""UPDATE ideas SET status = $2, shortlisted_by = $3, backing = $4::jsonb, closure = $5::jsonb,
                   endorsements = endorsements + $6, reviews = reviews + $7, updated_at = now()
            WHERE idea_id = $1 RETURNING {_IDEA_COLUMNS}""",
        idea.idea_id, idea.status.value, idea.shortlisted_by, _json(idea.backing), _json(idea.closure),
        len(endorsements), len(reviews),
    )


async def fetch_idea(conn: asyncpg.Connection | asyncpg.Pool, idea_id: UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(f"SELECT {_IDEA_COLUMNS} FROM ideas WHERE idea_id = $1", idea_id)


async def average_scores(conn: asyncpg.Connection | asyncpg.Pool, idea_id: UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(
        """SELECT avg(impact)::float AS impact, avg(feasibility)::float AS feasibility,
                  avg(value_for_money)::float AS value_for_money, avg(alignment)::float AS alignment
           FROM reviews WHERE idea_id = $1 HAVING count(*) > 0""",
        idea_id,
    )


async def list_ideas(
    conn: asyncpg.Connection | asyncpg.Pool, *, status: str | None, theme: str | None, campaign: str | None,
    before: int | None, limit: int, submitted_by: str | None = None, endorsed_by: str | None = None,
    words: str | None = None,
) -> list[asyncpg.Record]:
    """Newest first; `before` is the position of the last idea of the previous page. `words`: found,
    case-insensitively, in the title, problem or proposal."""
    return await conn.fetch(
        f"""SELECT {_IDEA_COLUMNS} FROM ideas
            WHERE ($1::text IS NULL OR status = $1) AND ($2::text IS NULL OR themes @> ARRAY[$2::text])
              AND ($3::text IS NULL OR campaign = $3) AND ($4::bigint IS NULL OR position < $4)
              AND ($6::text IS NULL OR submitted_by = $6)
              AND ($7::text IS NULL OR EXISTS (SELECT 1 FROM endorsements e
                                                WHERE e.idea_id = ideas.idea_id AND e.endorsed_by = $7))
              AND ($8::text IS NULL OR strpos(lower(title || ' ' || problem || ' ' || proposal), lower($8)) > 0)
            ORDER BY position DESC LIMIT $5""",
        status, theme, campaign, before, limit, submitted_by, endorsed_by, words,
    )


async def insert_conversation(conn: asyncpg.Connection, conversation: Conversation, *, source: str) -> None:
    await conn.execute(
        """INSERT INTO conversations (conversation_id, team, participants, held_on, ideas_raised, recorded_by, source)
           VALUES ($1, $2, $3, $4, $5, $6, $7)""",
        conversation.conversation_id, conversation.team, conversation.participants, conversation.held_on,
        conversation.ideas_raised, conversation.recorded_by, source,
    )


def _load(value: str | None) -> dict[str, Any] | None:
    return orjson.loads(value) if value else None

