"""Writes a batch's changes to the read models: one set-based statement per table.

Each statement merges like the projection does (earliest time wins, counts add up, first
write of an immutable record wins), so the result is independent of arrival order.
Table names are unqualified: the connection's search_path decides where they go (the live
tables, or the fresh schema a rebuild fills).
"""

from __future__ import annotations

import asyncpg

import dataclasses
from operator import attrgetter

from services.reporting.domain import (
    Adoption, Changes, Conversation, DepartmentRow, Endorsement, ExperimentRow, IdeaRow, Learning, Outcome,
    Participant, Participation, Review,
)

# The PostgreSQL type of every column the projection writes (a column name means the same everywhere).
_TYPES = {
    "adopted_at": "timestamptz", "adopting_department": "text", "adoption_id": "uuid", "alignment": "int2",
    "abandoned_at": "timestamptz", "backed_at": "timestamptz", "budget_gbp": "float8",
    "cash_savings_gbp_per_year": "float8", "campaign": "text", "completed_on": "date", "conversation_id": "uuid",
    "declined_at": "timestamptz", "decline_reason": "text", "department": "text", "endorsed_at": "timestamptz",
    "endorsed_by": "text", "ends_on": "date", "ends_on_set_at": "timestamptz", "event_id": "uuid",
    "events": "bigint", "experiment_id": "uuid", "feasibility": "int2", "first_event_at": "timestamptz",
    "first_seen_at": "timestamptz", "held_on": "date", "hours_saved_per_year": "float8", "idea_id": "uuid",
    "ideas_raised": "int", "impact": "int2", "last_event_at": "timestamptz", "learning": "text",
    "measurements": "int", "month": "date", "merged_at": "timestamptz", "merged_into": "text", "merged_into_idea_id": "uuid", "origin_department": "text",
    "origin_outcome_id": "uuid", "outcome_id": "uuid", "overdue_on": "date", "participants": "int",
    "people_affected": "int8", "planned_at": "timestamptz", "position": "int2", "pseudonym": "text",
    "recommendation": "text", "recorded_at": "timestamptz", "result": "text", "reviewed_at": "timestamptz",
    "shortlisted_at": "timestamptz", "squad_size": "int", "staff_days": "float8", "started_on": "date",
    "starts_on": "date", "submitted_at": "timestamptz", "submitted_by": "text", "summary": "text",
    "themes": "text", "timebox_weeks": "int2", "title": "text", "value_for_money": "int2",
    "withdrawn_at": "timestamptz",
}


def _fields(row: type) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(row)) if dataclasses.is_dataclass(row) else row._fields


def _insert(table: str, row: type, select: dict[str, str] | None = None, more: dict[str, str] | None = None) -> str:
    """`INSERT INTO table AS t (...) SELECT ... FROM unnest(...)`: the columns, the parameters' order and
    their types all follow the row type's fields. `select` replaces a column's value with an expression
    over the unnested columns; `more` adds columns that are not in the row."""
    names, select, more = _fields(row), select or {}, more or {}
    params = ", ".join(f"${n}::{_TYPES[name]}[]" for n, name in enumerate(names, 1))
    return (f"INSERT INTO {table} AS t ({', '.join([*names, *more])})\n"
            f"SELECT {', '.join([*(select.get(n, n) for n in names), *more.values()])}\n"
            f"FROM unnest({params}) AS u({', '.join(names)})\n")


_DEPARTMENTS = _insert("departments", DepartmentRow, more={"last_received_at": "clock_timestamp()"}) + """\
ON CONFLICT (department) DO UPDATE SET
    events = t.events + excluded.events,
    first_event_at = least(t.first_event_at, excluded.first_event_at),
    last_event_at = greatest(t.last_event_at, excluded.last_event_at),
    last_received_at = excluded.last_received_at
"""

# Themes travel joined by commas: unnest flattens an array of arrays.
_IDEAS = _insert("ideas", IdeaRow, select={
    "themes": "CASE WHEN themes = '' THEN '{}'::text[] ELSE string_to_array(themes, ',') END"}) + """\
ON CONFLICT (department, idea_id) DO UPDATE SET
    title = CASE WHEN excluded.submitted_at IS NOT NULL THEN excluded.title ELSE t.title END,
    campaign = CASE WHEN excluded.submitted_at IS NOT NULL THEN excluded.campaign ELSE t.campaign END,
    themes = CASE WHEN excluded.submitted_at IS NOT NULL THEN excluded.themes ELSE t.themes END,
    submitted_at = least(t.submitted_at, excluded.submitted_at),
    shortlisted_at = least(t.shortlisted_at, excluded.shortlisted_at),
    backed_at = least(t.backed_at, excluded.backed_at),
    declined_at = least(t.declined_at, excluded.declined_at),
    withdrawn_at = least(t.withdrawn_at, excluded.withdrawn_at),
    merged_at = least(t.merged_at, excluded.merged_at),
    submitted_by = CASE WHEN excluded.submitted_at IS NOT NULL THEN excluded.submitted_by ELSE t.submitted_by END,
    conversation_id = CASE WHEN excluded.submitted_at IS NOT NULL THEN excluded.conversation_id
                           ELSE t.conversation_id END,
    budget_gbp = coalesce(excluded.budget_gbp, t.budget_gbp),
    staff_days = coalesce(excluded.staff_days, t.staff_days),
    timebox_weeks = coalesce(excluded.timebox_weeks, t.timebox_weeks),
    decline_reason = coalesce(excluded.decline_reason, t.decline_reason),
    merged_into = coalesce(excluded.merged_into, t.merged_into),
    merged_into_idea_id = coalesce(excluded.merged_into_idea_id, t.merged_into_idea_id)
"""

_ENDORSEMENTS = _insert("endorsements", Endorsement) + """\
ON CONFLICT (department, idea_id, endorsed_by) DO UPDATE SET endorsed_at = least(t.endorsed_at, excluded.endorsed_at)
"""

_REVIEWS = _insert("reviews", Review) + """\
ON CONFLICT (event_id) DO NOTHING
"""

_PARTICIPANTS = _insert("participants", Participant) + """\
ON CONFLICT (department, pseudonym) DO NOTHING
"""

_PARTICIPATION = _insert("participation", Participation) + """\
ON CONFLICT (department, month, pseudonym) DO NOTHING
"""

_CONVERSATIONS = _insert("conversations", Conversation) + """\
ON CONFLICT (department, conversation_id) DO NOTHING
"""

_EXPERIMENTS = _insert("experiments", ExperimentRow) + """\
ON CONFLICT (department, experiment_id) DO UPDATE SET
    idea_id = coalesce(t.idea_id, excluded.idea_id),
    planned_at = least(t.planned_at, excluded.planned_at),
    starts_on = coalesce(excluded.starts_on, t.starts_on),
    ends_on = CASE WHEN excluded.ends_on_set_at >= t.ends_on_set_at OR t.ends_on_set_at IS NULL
                   THEN coalesce(excluded.ends_on, t.ends_on) ELSE t.ends_on END,
    ends_on_set_at = greatest(t.ends_on_set_at, excluded.ends_on_set_at),
    started_on = least(t.started_on, excluded.started_on),
    overdue_on = least(t.overdue_on, excluded.overdue_on),
    completed_on = least(t.completed_on, excluded.completed_on),
    abandoned_at = least(t.abandoned_at, excluded.abandoned_at),
    squad_size = coalesce(excluded.squad_size, t.squad_size),
    budget_gbp = coalesce(excluded.budget_gbp, t.budget_gbp),
    staff_days = coalesce(excluded.staff_days, t.staff_days),
    measurements = t.measurements + excluded.measurements
"""

_OUTCOMES = _insert("outcomes", Outcome) + """\
ON CONFLICT (department, outcome_id) DO NOTHING
"""

_LEARNINGS = _insert("learnings", Learning) + """\
ON CONFLICT (department, outcome_id, position) DO NOTHING
"""

_ADOPTIONS = _insert("adoptions", Adoption) + """\
ON CONFLICT (adoption_id) DO NOTHING
"""


_DEPARTMENT_VALUES = attrgetter(*_fields(DepartmentRow))
_IDEA_VALUES = attrgetter(*_fields(IdeaRow))
_THEMES = _fields(IdeaRow).index("themes")
_EXPERIMENT_VALUES = attrgetter(*_fields(ExperimentRow))


def _columns(rows) -> list[list]:
    return [list(column) for column in zip(*rows)]


async def save(conn: asyncpg.Connection, c: Changes) -> None:
    """Applies one batch's changes inside the caller's transaction."""
    if c.departments:
        await conn.execute(_DEPARTMENTS, *_columns(map(_DEPARTMENT_VALUES, c.departments.values())))
    if c.ideas:
        columns = _columns(map(_IDEA_VALUES, c.ideas.values()))
        columns[_THEMES] = [",".join(themes) for themes in columns[_THEMES]]
        await conn.execute(_IDEAS, *columns)
    if c.endorsements:  # Endorsement: the key's fields, then the time
        await conn.execute(_ENDORSEMENTS, *_columns([(*k, at) for k, at in c.endorsements.items()]))
    if c.reviews:
        await conn.execute(_REVIEWS, *_columns(c.reviews))
    if c.participants:  # Participant: the key's fields, then the time
        await conn.execute(_PARTICIPANTS, *_columns([(*k, at) for k, at in c.participants.items()]))
    if c.participation:
        await conn.execute(_PARTICIPATION, *_columns(c.participation))
    if c.conversations:
        await conn.execute(_CONVERSATIONS, *_columns(c.conversations.values()))
    if c.experiments:
        await conn.execute(_EXPERIMENTS, *_columns(map(_EXPERIMENT_VALUES, c.experiments.values())))
    if c.outcomes:
        await conn.execute(_OUTCOMES, *_columns(c.outcomes.values()))
    if c.learnings:
        await conn.execute(_LEARNINGS, *_columns(c.learnings.values()))
    if c.adoptions:
        await conn.execute(_ADOPTIONS, *_columns(c.adoptions.values()))
