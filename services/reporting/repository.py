"""Writes a batch's changes to the read models: one set-based statement per table.

Each statement merges like the projection does (earliest time wins, counts add up, first
write of an immutable record wins), so the result is independent of arrival order.
Table names are unqualified: the connection's search_path decides where they go (the live
tables, or the fresh schema a rebuild fills).
"""

from __future__ import annotations

import asyncpg

from services.reporting.domain import Changes

_DEPARTMENTS = """
INSERT INTO departments AS t (department, events, first_event_at, last_event_at, last_received_at)
SELECT d, n, f, l, clock_timestamp() FROM unnest($1::text[], $2::bigint[], $3::timestamptz[], $4::timestamptz[]) AS u(d, n, f, l)
ON CONFLICT (department) DO UPDATE SET
    events = t.events + excluded.events,
    first_event_at = least(t.first_event_at, excluded.first_event_at),
    last_event_at = greatest(t.last_event_at, excluded.last_event_at),
    last_received_at = excluded.last_received_at
"""

_IDEAS = """
INSERT INTO ideas AS t (department, idea_id, title, campaign, themes, submitted_at, shortlisted_at, backed_at,
                        declined_at, withdrawn_at, merged_at, budget_gbp, staff_days, decline_reason, merged_into)
SELECT d, i, ti, ca, CASE WHEN th = '' THEN '{}'::text[] ELSE string_to_array(th, ',') END, su, sh, ba, de, wi, me, bu, sd, dr, mi
FROM unnest($1::text[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::timestamptz[], $7::timestamptz[],
            $8::timestamptz[], $9::timestamptz[], $10::timestamptz[], $11::timestamptz[], $12::float8[], $13::float8[],
            $14::text[], $15::text[]) AS u(d, i, ti, ca, th, su, sh, ba, de, wi, me, bu, sd, dr, mi)
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
    budget_gbp = coalesce(excluded.budget_gbp, t.budget_gbp),
    staff_days = coalesce(excluded.staff_days, t.staff_days),
    decline_reason = coalesce(excluded.decline_reason, t.decline_reason),
    merged_into = coalesce(excluded.merged_into, t.merged_into)
"""

_ENDORSEMENTS = """
INSERT INTO endorsements AS t (department, idea_id, endorsed_by, endorsed_at)
SELECT * FROM unnest($1::text[], $2::uuid[], $3::text[], $4::timestamptz[])
ON CONFLICT (department, idea_id, endorsed_by) DO UPDATE SET endorsed_at = least(t.endorsed_at, excluded.endorsed_at)
"""

_REVIEWS = """
INSERT INTO reviews (event_id, department, idea_id, reviewed_at, impact, feasibility, value_for_money, alignment)
SELECT * FROM unnest($1::uuid[], $2::text[], $3::uuid[], $4::timestamptz[], $5::int2[], $6::int2[], $7::int2[], $8::int2[])
ON CONFLICT (event_id) DO NOTHING
"""

_PARTICIPANTS = """
INSERT INTO participants AS t (department, pseudonym, first_seen_at)
SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[])
ON CONFLICT (department, pseudonym) DO NOTHING
"""

_CONVERSATIONS = """
INSERT INTO conversations (department, conversation_id, held_on, participants, ideas_raised)
SELECT * FROM unnest($1::text[], $2::uuid[], $3::date[], $4::int[], $5::int[])
ON CONFLICT (department, conversation_id) DO NOTHING
"""

_EXPERIMENTS = """
INSERT INTO experiments AS t (department, experiment_id, idea_id, planned_at, starts_on, ends_on, ends_on_set_at,
                              started_on, overdue_on, completed_on, abandoned_at, squad_size, budget_gbp, staff_days,
                              measurements)
SELECT * FROM unnest($1::text[], $2::uuid[], $3::uuid[], $4::timestamptz[], $5::date[], $6::date[], $7::timestamptz[],
                     $8::date[], $9::date[], $10::date[], $11::timestamptz[], $12::int[], $13::float8[], $14::float8[],
                     $15::int[])
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

_OUTCOMES = """
INSERT INTO outcomes (department, outcome_id, experiment_id, idea_id, result, recommendation,
                      cash_savings_gbp_per_year, hours_saved_per_year, people_affected, recorded_at)
SELECT * FROM unnest($1::text[], $2::uuid[], $3::uuid[], $4::uuid[], $5::text[], $6::text[], $7::float8[],
                     $8::float8[], $9::int8[], $10::timestamptz[])
ON CONFLICT (department, outcome_id) DO NOTHING
"""

_LEARNINGS = """
INSERT INTO learnings (department, outcome_id, position, learning, result, recorded_at)
SELECT * FROM unnest($1::text[], $2::uuid[], $3::int2[], $4::text[], $5::text[], $6::timestamptz[])
ON CONFLICT (department, outcome_id, position) DO NOTHING
"""

_ADOPTIONS = """
INSERT INTO adoptions (adoption_id, origin_department, origin_outcome_id, adopting_department, adopted_at)
SELECT * FROM unnest($1::uuid[], $2::text[], $3::uuid[], $4::text[], $5::timestamptz[])
ON CONFLICT (adoption_id) DO NOTHING
"""


def _columns(rows: list[tuple]) -> list[list]:
    return [list(column) for column in zip(*rows)]


async def save(conn: asyncpg.Connection, c: Changes) -> None:
    """Applies one batch's changes inside the caller's transaction."""
    if c.departments:
        await conn.execute(_DEPARTMENTS, *_columns(
            [(d, r.events, r.first_event_at, r.last_event_at) for d, r in c.departments.items()]))
    if c.ideas:
        await conn.execute(_IDEAS, *_columns([
            (d, i, r.title, r.campaign, ",".join(r.themes), r.submitted_at, r.shortlisted_at, r.backed_at,
             r.declined_at, r.withdrawn_at, r.merged_at, r.budget_gbp, r.staff_days, r.decline_reason, r.merged_into)
            for (d, i), r in c.ideas.items()]))
    if c.endorsements:
        await conn.execute(_ENDORSEMENTS, *_columns([(*k, at) for k, at in c.endorsements.items()]))
    if c.reviews:
        await conn.execute(_REVIEWS, *_columns(c.reviews))
    if c.participants:
        await conn.execute(_PARTICIPANTS, *_columns([(*k, at) for k, at in c.participants.items()]))
    if c.conversations:
        await conn.execute(_CONVERSATIONS, *_columns([(*k, *v) for k, v in c.conversations.items()]))
    if c.experiments:
        await conn.execute(_EXPERIMENTS, *_columns([
            (d, x, r.idea_id, r.planned_at, r.starts_on, r.ends_on, r.ends_on_set_at, r.started_on, r.overdue_on,
             r.completed_on, r.abandoned_at, r.squad_size, r.budget_gbp, r.staff_days, r.measurements)
            for (d, x), r in c.experiments.items()]))
    if c.outcomes:
        await conn.execute(_OUTCOMES, *_columns([(*k, *v) for k, v in c.outcomes.items()]))
    if c.learnings:
        await conn.execute(_LEARNINGS, *_columns([(*k, *v) for k, v in c.learnings.items()]))
    if c.adoptions:
        await conn.execute(_ADOPTIONS, *_columns([(k, *v) for k, v in c.adoptions.items()]))
