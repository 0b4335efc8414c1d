"""asyncpg SQL in, domain objects out. Every function takes the caller's connection, so the
caller owns the transaction (a read outside one may be given the pool)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, NamedTuple

import asyncpg
import orjson

from services.experiments.domain import Experiment, Measure, Measurement, Outcome, Step
from shared.events import Event, decode, encode_structured
from shared.events.binding import STRUCTURED_JSON

_COLUMNS = """experiment_id, idea_id, status, budget_gbp, staff_days, timebox_weeks, correlation_id,
    starts_on, ends_on, hypothesis, measure, squad_size, started_on, completed_on, abandon_reason,
    measurements, outcome, overdue_at, squad_lead, squad, history, backed_budget_gbp, backed_staff_days"""


async def insert(conn: asyncpg.Connection, experiment: Experiment) -> bool:
    """Stores a new experiment; False when its idea already has one."""
    status = await conn.execute(
        f"""INSERT INTO experiments ({_COLUMNS})
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17,
                    CASE WHEN $18 THEN now() END, $19, $20, $21, $22, $23)
            ON CONFLICT DO NOTHING""",
        *_values(experiment),
    )
    return status.endswith(" 1")


async def update(conn: asyncpg.Connection, experiment: Experiment) -> None:
    await conn.execute(
        """UPDATE experiments SET status = $3, budget_gbp = $4, staff_days = $5, timebox_weeks = $6,
               correlation_id = $7, starts_on = $8, ends_on = $9, hypothesis = $10, measure = $11,
               squad_size = $12, started_on = $13, completed_on = $14, abandon_reason = $15,
               measurements = $16, outcome = $17,
               overdue_at = CASE WHEN $18 THEN coalesce(overdue_at, now()) END, squad_lead = $19, squad = $20,
               history = $21, backed_budget_gbp = $22, backed_staff_days = $23, updated_at = now()
           WHERE experiment_id = $1 AND idea_id = $2""",
        *_values(experiment),
    )


async def get(
    conn: asyncpg.Connection | asyncpg.Pool, experiment_id: uuid.UUID, *, for_update: bool = False
) -> Experiment | None:
    row = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM experiments WHERE experiment_id = $1{' FOR UPDATE' if for_update else ''}",
        experiment_id,
    )
    return _experiment(row) if row else None


async def get_by_idea(conn: asyncpg.Connection, idea_id: uuid.UUID, *, for_update: bool = False) -> Experiment | None:
    row = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM experiments WHERE idea_id = $1{' FOR UPDATE' if for_update else ''}", idea_id
    )
    return _experiment(row) if row else None


class Listed(NamedTuple):
    position: int  # creation order, the list's cursor (shared.paging)
    experiment: Experiment


async def list_experiments(
    conn: asyncpg.Connection | asyncpg.Pool, *, status: str | None, after: int | None, limit: int
) -> list[Listed]:
    """Up to `limit` experiments created after position `after` (from the first when None), oldest first."""
    rows = await conn.fetch(
        f"""SELECT seq, {_COLUMNS} FROM experiments
            WHERE seq > coalesce($1::bigint, 0) AND ($2::text IS NULL OR status = $2) ORDER BY seq LIMIT $3""",
        after, status, limit,
    )
    return [Listed(r["seq"], _experiment(r)) for r in rows]


async def lock_overdue(conn: asyncpg.Connection, today: date, limit: int) -> list[Experiment]:
    """Open experiments whose end date has passed and that are not yet marked overdue, locked
    for this transaction; rows another replica is marking are skipped, not waited for."""
    rows = await conn.fetch(
        f"""SELECT {_COLUMNS} FROM experiments
            WHERE overdue_at IS NULL AND status IN ('planning', 'running') AND ends_on < $1
            ORDER BY ends_on LIMIT $2 FOR UPDATE SKIP LOCKED""",
        today, limit,
    )
    return [_experiment(r) for r in rows]


# -- the outcome catalogue and adoptions ------------------------------------------------------


@dataclass(frozen=True)
class CataloguedOutcome:
    department: str
    outcome_id: uuid.UUID
    experiment_id: uuid.UUID
    idea_id: uuid.UUID
    result: str
    summary: str
    recommendation: str
    event_id: uuid.UUID
    correlation_id: str
    recorded_at: datetime


async def catalogue_outcome(conn: asyncpg.Connection, outcome: CataloguedOutcome) -> None:
    await conn.execute(
        """INSERT INTO outcome_catalogue (department, outcome_id, experiment_id, idea_id, result, summary,
               recommendation, event_id, correlation_id, recorded_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT DO NOTHING""",
        outcome.department, outcome.outcome_id, outcome.experiment_id, outcome.idea_id, outcome.result,
        outcome.summary, outcome.recommendation, outcome.event_id, outcome.correlation_id, outcome.recorded_at,
    )


async def find_outcome(conn: asyncpg.Connection, department: str, outcome_id: uuid.UUID) -> CataloguedOutcome | None:
    row = await conn.fetchrow(
        "SELECT * FROM outcome_catalogue WHERE department = $1 AND outcome_id = $2", department, outcome_id
    )
    return CataloguedOutcome(**dict(row)) if row else None


async def insert_adoption(
    conn: asyncpg.Connection, *, adoption_id: uuid.UUID, origin_department: str, origin_outcome_id: uuid.UUID,
    adopted_by: str, note: str,
) -> bool:
    """False when this department already adopted that outcome."""
    status = await conn.execute(
        """INSERT INTO adoptions (adoption_id, origin_department, origin_outcome_id, adopted_by, note)
           VALUES ($1, $2, $3, $4, $5) ON CONFLICT (origin_department, origin_outcome_id) DO NOTHING""",
        adoption_id, origin_department, origin_outcome_id, adopted_by, note,
    )
    return status.endswith(" 1")


# -- a project tool's completion, half arrived ----------------------------------------------------


async def held_half(conn: asyncpg.Connection, experiment_id: uuid.UUID) -> Event[Any] | None:
    """The half of a project tool's completion pair that waits for the other (the caller holds the
    experiment's row lock)."""
    value = await conn.fetchval("SELECT event FROM intake_completion_halves WHERE experiment_id = $1", experiment_id)
    return decode(value, [("content-type", STRUCTURED_JSON.encode())]) if value is not None else None


async def hold_half(conn: asyncpg.Connection, event: Event[Any]) -> None:
    await conn.execute(
        "INSERT INTO intake_completion_halves (experiment_id, event_id, event) VALUES ($1, $2, $3)",
        event.data.experiment_id, event.id, encode_structured(event).value,
    )


async def drop_half(conn: asyncpg.Connection, experiment_id: uuid.UUID) -> None:
    await conn.execute("DELETE FROM intake_completion_halves WHERE experiment_id = $1", experiment_id)


# -- mapping -----------------------------------------------------------------------------------


def _values(e: Experiment) -> tuple[Any, ...]:
    measure = _dump(e.measure.__dict__) if e.measure else None
    measurements = _dump([{"measured_on": m.measured_on, "value": m.value, "note": m.note,
                            "recorded_by": m.recorded_by} for m in e.measurements])
    outcome = _dump({**e.outcome.__dict__, "outcome_id": str(e.outcome.outcome_id)}) if e.outcome else None
    return (
        e.experiment_id, e.idea_id, e.status, e.budget_gbp, e.staff_days, e.timebox_weeks, e.correlation_id,
        e.starts_on, e.ends_on, e.hypothesis, measure, e.squad_size, e.started_on, e.completed_on,
        e.abandon_reason, measurements, outcome, e.overdue, e.squad_lead, _dump(list(e.squad)),
        _dump([vars(step) for step in e.history]), e.backed_budget_gbp, e.backed_staff_days,
    )


def _experiment(row: asyncpg.Record) -> Experiment:
    measure = orjson.loads(row["measure"]) if row["measure"] else None
    outcome = orjson.loads(row["outcome"]) if row["outcome"] else None
    return Experiment(
        experiment_id=row["experiment_id"], idea_id=row["idea_id"], status=row["status"],
        budget_gbp=row["budget_gbp"], staff_days=row["staff_days"], backed_budget_gbp=row["backed_budget_gbp"],
        backed_staff_days=row["backed_staff_days"], timebox_weeks=row["timebox_weeks"],
        correlation_id=row["correlation_id"], starts_on=row["starts_on"], ends_on=row["ends_on"],
        hypothesis=row["hypothesis"], measure=Measure(**measure) if measure else None,
        squad_size=row["squad_size"], started_on=row["started_on"], completed_on=row["completed_on"],
        abandon_reason=row["abandon_reason"], overdue=row["overdue_at"] is not None,
        measurements=[
            Measurement(date.fromisoformat(m["measured_on"]), m["value"], m["note"], m.get("recorded_by"))
            for m in orjson.loads(row["measurements"])
        ],
        squad_lead=row["squad_lead"], squad=tuple(orjson.loads(row["squad"])),
        history=[Step(**{**step, "at": datetime.fromisoformat(step["at"])}) for step in orjson.loads(row["history"])],
        outcome=Outcome(**{**outcome, "outcome_id": uuid.UUID(outcome["outcome_id"]),
                           "learnings": tuple(outcome["learnings"])}) if outcome else None,
    )


def _dump(value: Any) -> str:
    return orjson.dumps(value).decode()
