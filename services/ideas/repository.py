"""asyncpg SQL for ideas and conversations: domain objects in and out, rows for reading."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any
from uuid import UUID

import asyncpg
import orjson

from services.ideas.domain import Backing, Closure, Conversation, Idea, Status
from shared.events import Event, EventData, IdeaEndorsed, IdeaReviewed
from shared.outbox import outbox_insert

# merged_from: the ideas of this department merged into this one, in the order they were merged.
_IDEA_COLUMNS = """idea_id, position, status, title, problem, proposal, expected_benefits, themes, team, campaign,
    conversation_id, submitted_by, endorsements, reviews, shortlisted_by, backing, closure, source, submitted_at, updated_at,
    ARRAY(SELECT m.idea_id FROM ideas m WHERE m.merged_into = ideas.idea_id
          ORDER BY m.updated_at, m.position) AS merged_from"""

# The endorsements an idea counts: the distinct people who endorsed it or any idea of this department merged
# into it, through any chain of merges ($1: the idea).
_LINEAGE_ENDORSERS = """(WITH RECURSIVE lineage(idea_id) AS (
        SELECT $1::uuid UNION SELECT m.idea_id FROM ideas m JOIN lineage l ON m.merged_into = l.idea_id)
     SELECT count(DISTINCT e.endorsed_by)::int FROM endorsements e JOIN lineage l ON e.idea_id = l.idea_id)"""


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
        *_new_idea(idea, source),
    )


async def submit_idea(pool: asyncpg.Pool | asyncpg.Connection, idea: Idea, *, source: str,
                      events: list[Event]) -> asyncpg.Record:
    """Inserts a new idea and its events' outbox rows in one statement (atomic without a transaction
    of its own, one round trip); returns the idea's row. A duplicate idea_id raises UniqueViolationError."""
    outbox, arguments = outbox_insert(events, first_parameter=13)
    return await pool.fetchrow(
        f"""WITH idea AS (
                INSERT INTO ideas (idea_id, status, title, problem, proposal, expected_benefits, themes, team,
                                   campaign, conversation_id, submitted_by, source)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING {_IDEA_COLUMNS}),
            events AS ({outbox})
            SELECT * FROM idea""",
        *_new_idea(idea, source), *arguments,
    )


def _new_idea(idea: Idea, source: str) -> tuple:
    return (idea.idea_id, idea.status.value, idea.title, idea.problem, idea.proposal, idea.expected_benefits,
            list(idea.themes), idea.team, idea.campaign, idea.conversation_id, idea.submitted_by, source)


async def idea_for_update(conn: asyncpg.Connection, idea_id: UUID) -> Idea | None:
    """Loads an idea and locks its row until the transaction ends, so one idea's changes
    (and the outbox rows they write) commit one after the other."""
    row = await conn.fetchrow(f"SELECT {_IDEA_COLUMNS} FROM ideas WHERE idea_id = $1 FOR UPDATE", idea_id)
    if row is None:
        return None
    endorsers = await conn.fetch("SELECT endorsed_by FROM endorsements WHERE idea_id = $1", idea_id)
    reviewers = await conn.fetch("SELECT DISTINCT reviewer FROM reviews WHERE idea_id = $1", idea_id)
    backing, closure = _load(row["backing"]), _load(row["closure"])
    if closure and closure.get("into_idea_id"):
        closure["into_idea_id"] = UUID(closure["into_idea_id"])
    return Idea(
        idea_id=row["idea_id"], status=Status(row["status"]), title=row["title"], problem=row["problem"],
        proposal=row["proposal"], submitted_by=row["submitted_by"], expected_benefits=row["expected_benefits"],
        themes=tuple(row["themes"]), team=row["team"], campaign=row["campaign"],
        conversation_id=row["conversation_id"], endorsed_by={r["endorsed_by"] for r in endorsers},
        reviewed_by={r["reviewer"] for r in reviewers},
        shortlisted_by=row["shortlisted_by"], backing=Backing(**backing) if backing else None,
        closure=Closure(**closure) if closure else None,
    )


async def save_idea(conn: asyncpg.Connection, idea: Idea, events: list[EventData], *,
                    department: str) -> asyncpg.Record:
    """Writes what the events changed; returns the idea's row as it now reads. `department`: this
    database's, so a merge into one of its ideas links the two (`merged_into`)."""
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
    closure = idea.closure
    merged_into = closure.into_idea_id if closure and closure.into_department == department else None
    return await conn.fetchrow(
        f"""UPDATE ideas SET status = $2, shortlisted_by = $3, backing = $4::jsonb, closure = $5::jsonb,
                   endorsements = CASE WHEN $6 THEN {_LINEAGE_ENDORSERS} ELSE endorsements END,
                   reviews = reviews + $7, merged_into = coalesce($8, merged_into), updated_at = now()
            WHERE idea_id = $1 RETURNING {_IDEA_COLUMNS}""",
        idea.idea_id, idea.status.value, idea.shortlisted_by, _json(idea.backing), _json(idea.closure),
        bool(endorsements), len(reviews), merged_into,
    )


async def lock_ideas(conn: asyncpg.Connection, idea_ids: set[UUID]) -> dict[UUID, str]:
    """Locks the ideas (in one order, so two merges of the same pair cannot deadlock); their statuses."""
    rows = await conn.fetch("SELECT idea_id, status FROM ideas WHERE idea_id = ANY($1::uuid[]) ORDER BY idea_id "
                            "FOR UPDATE", sorted(idea_ids))
    return {r["idea_id"]: r["status"] for r in rows}


async def count_lineage_endorsements(conn: asyncpg.Connection, idea_id: UUID) -> None:
    """After a merge into `idea_id`: its endorsements now count the merged idea's endorsers."""
    await conn.execute(f"UPDATE ideas SET endorsements = {_LINEAGE_ENDORSERS}, updated_at = now() WHERE idea_id = $1",
                       idea_id)


async def fetch_idea(conn: asyncpg.Connection | asyncpg.Pool, idea_id: UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(f"SELECT {_IDEA_COLUMNS} FROM ideas WHERE idea_id = $1", idea_id)


# An idea's average scores and their mean (`overall`), from the reviews of the idea `ideas.idea_id`.
_AVERAGES = """SELECT avg(impact)::float AS impact, avg(feasibility)::float AS feasibility,
                  avg(value_for_money)::float AS value_for_money, avg(alignment)::float AS alignment,
                  ((avg(impact) + avg(feasibility) + avg(value_for_money) + avg(alignment)) / 4)::float AS overall
           FROM reviews r WHERE r.idea_id = ideas.idea_id HAVING count(*) > 0"""
SCORE_NAMES = ("impact", "feasibility", "value_for_money", "alignment", "overall")


async def average_scores(conn: asyncpg.Connection | asyncpg.Pool, idea_id: UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(f"SELECT s.* FROM ideas, LATERAL ({_AVERAGES}) s WHERE ideas.idea_id = $1", idea_id)


async def reviews_of(conn: asyncpg.Connection | asyncpg.Pool, idea_id: UUID) -> list[asyncpg.Record]:
    """An idea's reviews, oldest first."""
    return await conn.fetch(
        """SELECT reviewer, impact, feasibility, value_for_money, alignment, comment, reviewed_at FROM reviews
           WHERE idea_id = $1 ORDER BY reviewed_at, review_id""", idea_id)


async def review_queue(conn: asyncpg.Connection | asyncpg.Pool, *, person: str, after: int | None,
                       limit: int) -> list[asyncpg.Record]:
    """Ideas open for review (submitted or shortlisted) that `person` neither submitted nor reviewed, oldest
    first; `after` is the position of the last idea of the previous page."""
    return await conn.fetch(
        f"""SELECT {_IDEA_COLUMNS} FROM ideas
            WHERE status IN ('submitted', 'shortlisted') AND submitted_by <> $1
              AND NOT EXISTS (SELECT FROM reviews r WHERE r.idea_id = ideas.idea_id AND r.reviewer = $1)
              AND ($2::bigint IS NULL OR position > $2)
            ORDER BY position LIMIT $3""",
        person, after, limit,
    )


async def ranking(conn: asyncpg.Connection | asyncpg.Pool, *, limit: int) -> list[asyncpg.Record]:
    """Shortlisted ideas by their overall average score, best first, unreviewed last; ties oldest first.
    Each row has the idea's columns and its averages (null when unreviewed)."""
    return await conn.fetch(
        f"""SELECT {_IDEA_COLUMNS}, s.impact, s.feasibility, s.value_for_money, s.alignment, s.overall
            FROM ideas LEFT JOIN LATERAL ({_AVERAGES}) s ON true
            WHERE status = 'shortlisted'
            ORDER BY s.overall DESC NULLS LAST, position LIMIT $1""",
        limit,
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

