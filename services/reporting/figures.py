"""Every figure the reporting service publishes: its one definition (SQL) and its one description.

Each query groups by department AND across government in the same statement
(GROUPING SETS), so the all-government figure and the departments' figures come from the same
definition and cannot disagree. docs/metrics.md and the API descriptions are generated from
DEFINITIONS (`python -m services.reporting metrics-doc`).
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections import defaultdict
from typing import Any

import asyncpg

ALL = "all"  # the key of the across-government figures

IDEA_STATES = ("submitted", "shortlisted", "backed", "declined", "withdrawn", "merged")
EXPERIMENT_STATES = ("planned", "running", "overdue", "completed", "abandoned")
RESULTS = ("succeeded", "failed", "inconclusive")
FUNNEL_STAGES = ("raised", "shortlisted", "backed", "experiment", "outcome")

DEFINITIONS: dict[str, str] = {
    "ideas_raised": "Ideas whose idea.submitted event has been seen.",
    "ideas_by_state.<state>": "Ideas raised, by their latest state: merged, withdrawn or declined if any such event "
                              "was seen (in that order), else backed, else shortlisted, else submitted.",
    "endorsements": "Distinct (idea, person) pairs from idea.endorsed: one person endorsing an idea twice counts once.",
    "reviews": "idea.reviewed events.",
    "average_scores.<score>": "Mean of each review score (impact, feasibility, value_for_money, alignment) and of "
                              "all four together (overall) over all reviews, 1 to 5; null with no reviews.",
    "conversations": "Team conversations recorded (conversation.recorded).",
    "conversation_participants": "Sum of `participants` over the conversations recorded (a head count, not people).",
    "conversation_ideas_raised": "Sum of `ideas_raised` over the conversations recorded.",
    "participants": "Distinct pseudonyms named in any event of the department (submitter, endorser, reviewer, "
                    "panel member, sponsor, adopter). Pseudonyms are per department, so the across-government "
                    "figure is the sum of departments' figures.",
    "experiments_by_state.<state>": "Experiments by state: abandoned if experiment.abandoned was seen, else completed "
                                    "if experiment.completed, else overdue if experiment.overdue, else running if "
                                    "experiment.started, else planned.",
    "experiments": "Experiments seen (any experiments-stream event).",
    "overdue": "Experiments in state overdue: the time box passed (experiment.overdue) and the experiment has been "
               "neither completed nor abandoned since.",
    "outcomes_by_result.<result>": "outcome.recorded events by result: succeeded, failed, inconclusive.",
    "outcomes": "Outcomes recorded.",
    "learnings": "Learnings shared: the learnings listed in recorded outcomes, whatever the result.",
    "benefits.cash_savings_gbp_per_year": "Sum of cash savings (GBP per year) claimed in recorded outcomes.",
    "benefits.hours_saved_per_year": "Sum of hours saved per year claimed in recorded outcomes.",
    "benefits.people_affected": "Sum of people affected claimed in recorded outcomes.",
    "adoptions_made": "outcome.adopted events published by the department (it adopted another department's "
                      "outcome); across government: all adoptions. Like every adoption figure, it counts only "
                      "adoptions of an outcome whose outcome.recorded has been seen: one naming an outcome (or a "
                      "department) never heard of is left out until that outcome arrives, and never invents a "
                      "department or a link.",
    "adoptions_of_its_outcomes": "Adoptions elsewhere of the department's outcomes (adoptions naming it as origin).",
    "funnel.<stage>": "Ideas raised that reached each stage: raised; shortlisted (shortlisted or backed); backed; "
                      "experiment (at least one experiment planned for the idea); outcome (at least one outcome "
                      "recorded for it). Each stage counts ideas, not events.",
    "funnel_median_days.<from>_to_<to>": "Median days between consecutive stages of the ideas that reached both, "
                                         "from event times: submitted, first shortlisted (or backed), backed, first "
                                         "experiment planned, first outcome recorded.",
    "last_event_at": "Freshness: the latest event time (CloudEvents `time`) seen from the department.",
    "last_received_at": "When the service last applied an event from the department.",
    "events": "Events applied (valid and not duplicates) from the department.",
    "themes": "Per theme: ideas raised carrying it, how many are backed, and how many departments raised one.",
    "campaigns": "Per campaign: ideas raised for it and how many are backed.",
    "timeseries": "Per ISO week (Monday, UTC) of the event time: ideas raised, endorsements, experiments planned, "
                  "outcomes recorded, adoptions made (counted as in `adoptions_made`).",
}

_SCOPE = "coalesce(department, 'all') AS scope"
_BY_DEPT = "GROUP BY GROUPING SETS ((department), ())"

_IDEAS = f"""
SELECT {_SCOPE}, count(*) AS ideas_raised,
       {", ".join(f"count(*) FILTER (WHERE status = '{s}') AS state_{s}" for s in IDEA_STATES)}
FROM ideas WHERE submitted_at IS NOT NULL {_BY_DEPT}"""

_ENDORSEMENTS = f"SELECT {_SCOPE}, count(*) AS endorsements FROM endorsements {_BY_DEPT}"

_REVIEWS = f"""
SELECT {_SCOPE}, count(*) AS reviews, avg(impact)::float8 AS impact, avg(feasibility)::float8 AS feasibility,
       avg(value_for_money)::float8 AS value_for_money, avg(alignment)::float8 AS alignment,
       avg((impact + feasibility + value_for_money + alignment) / 4.0)::float8 AS overall
FROM reviews {_BY_DEPT}"""

_PARTICIPANTS = f"SELECT {_SCOPE}, count(*) AS participants FROM participants {_BY_DEPT}"

_CONVERSATIONS = f"""
SELECT {_SCOPE}, count(*) AS conversations, coalesce(sum(participants), 0) AS conversation_participants,
       coalesce(sum(ideas_raised), 0) AS conversation_ideas_raised
FROM conversations {_BY_DEPT}"""

_EXPERIMENTS = f"""
SELECT {_SCOPE}, count(*) AS experiments,
       {", ".join(f"count(*) FILTER (WHERE status = '{s}') AS state_{s}" for s in EXPERIMENT_STATES)}
FROM experiments {_BY_DEPT}"""

_OUTCOMES = f"""
SELECT {_SCOPE}, count(*) AS outcomes,
       {", ".join(f"count(*) FILTER (WHERE result = '{r}') AS result_{r}" for r in RESULTS)},
       coalesce(sum(cash_savings_gbp_per_year), 0)::float8 AS cash_savings_gbp_per_year,
       coalesce(sum(hours_saved_per_year), 0)::float8 AS hours_saved_per_year,
       coalesce(sum(people_affected), 0)::int8 AS people_affected
FROM outcomes {_BY_DEPT}"""

_LEARNINGS = f"SELECT {_SCOPE}, count(*) AS learnings FROM learnings {_BY_DEPT}"

# The adoptions the figures count: those of an outcome seen recorded. Streams are read in parallel (and a
# rebuild replays them in any interleaving), so an adoption may arrive before the outcome it names: it is
# stored, and counts from the moment the outcome is there. One naming an outcome never recorded never counts.
_ADOPTIONS = """(SELECT * FROM adoptions a WHERE EXISTS (
    SELECT FROM outcomes o WHERE o.department = a.origin_department AND o.outcome_id = a.origin_outcome_id))"""

_ADOPTIONS_MADE = f"""
SELECT coalesce(adopting_department, 'all') AS scope, count(*) AS adoptions_made
FROM {_ADOPTIONS} AS a GROUP BY GROUPING SETS ((adopting_department), ())"""

_ADOPTIONS_OF = f"""
SELECT origin_department AS scope, count(*) AS adoptions_of_its_outcomes FROM {_ADOPTIONS} AS a
GROUP BY origin_department"""

_DAYS = "extract(epoch FROM ({b} - {a})) / 86400.0"
_STAGE_TIMES = ("submitted_at", "shortlisted_at", "backed_at", "experiment_at", "outcome_at")


def _median(a: str, b: str) -> str:
    return f"percentile_cont(0.5) WITHIN GROUP (ORDER BY {_DAYS.format(a=a, b=b)})"


_FUNNEL = f"""
WITH e AS (SELECT department, idea_id, min(planned_at) AS at FROM experiments
           WHERE idea_id IS NOT NULL AND planned_at IS NOT NULL GROUP BY 1, 2),
     o AS (SELECT department, idea_id, min(recorded_at) AS at FROM outcomes GROUP BY 1, 2),
     f AS (SELECT i.department, i.submitted_at, coalesce(i.shortlisted_at, i.backed_at) AS shortlisted_at,
                  i.backed_at, e.at AS experiment_at, o.at AS outcome_at
           FROM ideas i LEFT JOIN e USING (department, idea_id) LEFT JOIN o USING (department, idea_id)
           WHERE i.submitted_at IS NOT NULL)
SELECT {_SCOPE}, count(*) AS raised, count(shortlisted_at) AS shortlisted, count(backed_at) AS backed,
       count(experiment_at) AS experiment, count(outcome_at) AS outcome,
       {", ".join(f"{_median(a, b)} AS median_{i}" for i, (a, b) in enumerate(zip(_STAGE_TIMES, _STAGE_TIMES[1:])))}
FROM f {_BY_DEPT}"""

_FRESHNESS = "SELECT department AS scope, events, last_event_at, last_received_at FROM departments"


def _empty() -> dict[str, Any]:
    return {
        "ideas_raised": 0,
        "ideas_by_state": dict.fromkeys(IDEA_STATES, 0),
        "endorsements": 0,
        "reviews": 0,
        "average_scores": dict.fromkeys(("impact", "feasibility", "value_for_money", "alignment", "overall")),
        "conversations": 0, "conversation_participants": 0, "conversation_ideas_raised": 0,
        "participants": 0,
        "experiments": 0,
        "experiments_by_state": dict.fromkeys(EXPERIMENT_STATES, 0),
        "overdue": 0,
        "outcomes": 0,
        "outcomes_by_result": dict.fromkeys(RESULTS, 0),
        "learnings": 0,
        "benefits": {"cash_savings_gbp_per_year": 0.0, "hours_saved_per_year": 0.0, "people_affected": 0},
        "adoptions_made": 0,
        "adoptions_of_its_outcomes": 0,
        "funnel": dict.fromkeys(FUNNEL_STAGES, 0),
        "funnel_median_days": {f"{a}_to_{b}": None for a, b in zip(FUNNEL_STAGES, FUNNEL_STAGES[1:])},
        "events": 0, "last_event_at": None, "last_received_at": None,
    }


def _round(value: float | None, places: int = 2) -> float | None:
    return None if value is None or math.isnan(value) else round(value, places)


async def all_figures(conn: asyncpg.Connection) -> dict[str, dict[str, Any]]:
    """Every scalar figure, for each department and for ALL, in one read-only snapshot."""
    out: dict[str, dict[str, Any]] = defaultdict(_empty)
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        for r in await conn.fetch(_FRESHNESS):
            f = out[r["scope"]]
            f["events"], f["last_event_at"], f["last_received_at"] = r["events"], r["last_event_at"], r["last_received_at"]
        for r in await conn.fetch(_IDEAS):
            f = out[r["scope"]]
            f["ideas_raised"] = r["ideas_raised"]
            f["ideas_by_state"] = {s: r[f"state_{s}"] for s in IDEA_STATES}
        for r in await conn.fetch(_ENDORSEMENTS):
            out[r["scope"]]["endorsements"] = r["endorsements"]
        for r in await conn.fetch(_REVIEWS):
            f = out[r["scope"]]
            f["reviews"] = r["reviews"]
            f["average_scores"] = {k: _round(r[k]) for k in f["average_scores"]}
        for r in await conn.fetch(_PARTICIPANTS):
            out[r["scope"]]["participants"] = r["participants"]
        for r in await conn.fetch(_CONVERSATIONS):
            f = out[r["scope"]]
            for k in ("conversations", "conversation_participants", "conversation_ideas_raised"):
                f[k] = int(r[k])
        for r in await conn.fetch(_EXPERIMENTS):
            f = out[r["scope"]]
            f["experiments"] = r["experiments"]
            f["experiments_by_state"] = {s: r[f"state_{s}"] for s in EXPERIMENT_STATES}
            f["overdue"] = r["state_overdue"]
        for r in await conn.fetch(_OUTCOMES):
            f = out[r["scope"]]
            f["outcomes"] = r["outcomes"]
            f["outcomes_by_result"] = {x: r[f"result_{x}"] for x in RESULTS}
            f["benefits"] = {k: r[k] for k in f["benefits"]}
        for r in await conn.fetch(_LEARNINGS):
            out[r["scope"]]["learnings"] = r["learnings"]
        for r in await conn.fetch(_ADOPTIONS_MADE):
            out[r["scope"]]["adoptions_made"] = r["adoptions_made"]
        for r in await conn.fetch(_ADOPTIONS_OF):
            out[r["scope"]]["adoptions_of_its_outcomes"] = r["adoptions_of_its_outcomes"]
        for r in await conn.fetch(_FUNNEL):
            f = out[r["scope"]]
            f["funnel"] = {s: r[s] for s in FUNNEL_STAGES}
            f["funnel_median_days"] = {
                f"{a}_to_{b}": _round(r[f"median_{i}"], 1)
                for i, (a, b) in enumerate(zip(FUNNEL_STAGES, FUNNEL_STAGES[1:]))
            }
    across = out[ALL]
    across["adoptions_of_its_outcomes"] = across["adoptions_made"]
    departments = [d for d in out if d != ALL]
    if departments:
        across["events"] = sum(out[d]["events"] for d in departments)
        across["last_event_at"] = max(out[d]["last_event_at"] for d in departments if out[d]["last_event_at"])
        across["last_received_at"] = max(out[d]["last_received_at"] for d in departments if out[d]["last_received_at"])
    return dict(out)


async def adoption_links(conn: asyncpg.Connection, department: str | None = None) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        f"""SELECT origin_department, adopting_department, count(*) AS adoptions, max(adopted_at) AS latest
           FROM {_ADOPTIONS} AS a WHERE $1::text IS NULL OR $1 IN (origin_department, adopting_department)
           GROUP BY 1, 2 ORDER BY adoptions DESC, 1, 2""", department)
    return [dict(r) for r in rows]


async def themes(conn: asyncpg.Connection, department: str | None = None) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        """SELECT theme, count(*) AS ideas, count(*) FILTER (WHERE status = 'backed') AS backed,
                  count(DISTINCT department) AS departments
           FROM ideas, unnest(themes) AS theme
           WHERE submitted_at IS NOT NULL AND ($1::text IS NULL OR department = $1)
           GROUP BY theme ORDER BY ideas DESC, theme""", department)
    return [dict(r) for r in rows]


async def campaigns(conn: asyncpg.Connection, department: str | None = None) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        """SELECT campaign, count(*) AS ideas, count(*) FILTER (WHERE status = 'backed') AS backed,
                  count(DISTINCT department) AS departments
           FROM ideas WHERE submitted_at IS NOT NULL AND campaign IS NOT NULL AND ($1::text IS NULL OR department = $1)
           GROUP BY campaign ORDER BY ideas DESC, campaign""", department)
    return [dict(r) for r in rows]


TIMESERIES_METRICS = ("ideas_raised", "endorsements", "experiments_planned", "outcomes_recorded", "adoptions")


async def timeseries(conn: asyncpg.Connection, department: str | None = None) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        f"""WITH x AS (
             SELECT department, submitted_at AS at, 'ideas_raised' AS metric FROM ideas WHERE submitted_at IS NOT NULL
             UNION ALL SELECT department, endorsed_at, 'endorsements' FROM endorsements
             UNION ALL SELECT department, planned_at, 'experiments_planned' FROM experiments WHERE planned_at IS NOT NULL
             UNION ALL SELECT department, recorded_at, 'outcomes_recorded' FROM outcomes
             UNION ALL SELECT adopting_department, adopted_at, 'adoptions' FROM {_ADOPTIONS} AS a)
           SELECT date_trunc('week', at AT TIME ZONE 'UTC')::date AS week, metric, count(*) AS n
           FROM x WHERE $1::text IS NULL OR department = $1 GROUP BY 1, 2 ORDER BY 1""", department)
    weeks: dict[Any, dict[str, Any]] = {}
    for r in rows:
        week = weeks.setdefault(r["week"], {"week": r["week"], **dict.fromkeys(TIMESERIES_METRICS, 0)})
        week[r["metric"]] = r["n"]
    if not weeks:
        return []
    first, last = min(weeks), max(weeks)
    series, week = [], first
    while week <= last:  # every week between the first and the last, zeros included
        series.append(weeks.get(week) or {"week": week, **dict.fromkeys(TIMESERIES_METRICS, 0)})
        week += dt.timedelta(days=7)
    return series


async def search_learnings(conn: asyncpg.Connection, q: str, limit: int) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        """SELECT department, outcome_id, learning, result, recorded_at,
                  ts_rank(search, websearch_to_tsquery('english', $1)) AS rank
           FROM learnings WHERE $1 = '' OR search @@ websearch_to_tsquery('english', $1)
           ORDER BY rank DESC, recorded_at DESC LIMIT $2""", q, limit)
    return [dict(r) for r in rows]


RECOMMENDATIONS = ("scale", "adopt_elsewhere", "iterate", "stop")

# An outcome as the library shows it: the idea's title and themes, the result, recommendation and benefits,
# its learnings in order and the departments that adopted it. Newest first; `arrival` is the cursor.
_LIBRARY = """
SELECT o.arrival, o.department, o.outcome_id, o.experiment_id, o.idea_id, i.title, coalesce(i.themes, '{}') AS themes,
       o.result, o.recommendation, o.recorded_at,
       jsonb_strip_nulls(jsonb_build_object(
           'cash_savings_gbp_per_year', o.cash_savings_gbp_per_year, 'hours_saved_per_year', o.hours_saved_per_year,
           'people_affected', o.people_affected))::text AS benefits,
       ARRAY(SELECT l.learning FROM learnings l WHERE l.department = o.department AND l.outcome_id = o.outcome_id
             ORDER BY l.position) AS learnings,
       coalesce((SELECT jsonb_agg(jsonb_build_object('department', a.adopting_department, 'adopted_at', a.adopted_at)
                                  ORDER BY a.adopted_at, a.adopting_department)
                 FROM adoptions a WHERE a.origin_department = o.department AND a.origin_outcome_id = o.outcome_id),
                '[]')::text AS adopted_by
FROM outcomes o LEFT JOIN ideas i ON i.department = o.department AND i.idea_id = o.idea_id
WHERE ($1::text IS NULL OR o.department = $1) AND ($2::uuid IS NULL OR o.outcome_id = $2)
  AND ($3::uuid IS NULL OR o.idea_id = $3) AND ($4::text IS NULL OR $4 = ANY(i.themes))
  AND ($5::text IS NULL OR o.result = $5) AND ($6::text IS NULL OR o.recommendation = $6)
  AND ($7::text = '' OR to_tsvector('english', coalesce(i.title, '')) @@ websearch_to_tsquery('english', $7)
       OR EXISTS (SELECT FROM learnings l WHERE l.department = o.department AND l.outcome_id = o.outcome_id
                  AND l.search @@ websearch_to_tsquery('english', $7)))
  AND ($8::bigint IS NULL OR o.arrival < $8)
ORDER BY o.arrival DESC LIMIT $9"""


async def outcomes(conn: asyncpg.Connection, *, department: str | None = None, outcome_id: Any = None,
                   idea_id: Any = None, theme: str | None = None, result: str | None = None,
                   recommendation: str | None = None, q: str = "", before: int | None = None,
                   limit: int = 20) -> list[dict[str, Any]]:
    """Recorded outcomes, newest first, after the filters; each row keeps its `arrival` for paging."""
    rows = await conn.fetch(_LIBRARY, department, outcome_id, idea_id, theme, result, recommendation, q, before,
                            limit)
    return [dict(r) | {"benefits": json.loads(r["benefits"]), "adopted_by": json.loads(r["adopted_by"])}
            for r in rows]


async def similar_ideas(conn: asyncpg.Connection, q: str, limit: int, exclude_department: str | None) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        """SELECT department, idea_id, title, status, themes,
                  greatest(similarity(title, $1), ts_rank(title_search, plainto_tsquery('english', $1))) AS score,
                  (SELECT o.outcome_id FROM outcomes o WHERE o.department = ideas.department
                   AND o.idea_id = ideas.idea_id ORDER BY o.recorded_at DESC LIMIT 1) AS outcome_id
           FROM ideas
           WHERE title IS NOT NULL AND ($3::text IS NULL OR department <> $3)
             AND (title % $1 OR title_search @@ plainto_tsquery('english', $1))
           ORDER BY score DESC, title LIMIT $2""", q, limit, exclude_department)
    return [dict(r) | {"score": round(r["score"], 3)} for r in rows]


async def recent_ideas(conn: asyncpg.Connection, limit: int) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        """SELECT department, title, status, submitted_at FROM ideas WHERE submitted_at IS NOT NULL
           ORDER BY submitted_at DESC, idea_id LIMIT $1""", limit)
    return [dict(r) for r in rows]


async def idea(conn: asyncpg.Connection, department: str, idea_id: Any) -> dict[str, Any] | None:
    """One idea of the catalogue, with the ideas merged into it (any department's, in the order they were merged)
    and the idea it was merged into; None when reporting has seen no event of it."""
    row = await conn.fetchrow(
        """SELECT department, idea_id, title, status, themes,
                  coalesce((SELECT jsonb_agg(jsonb_build_object('department', m.department, 'idea_id', m.idea_id)
                                             ORDER BY m.merged_at, m.department, m.idea_id)
                            FROM ideas m WHERE m.merged_into = ideas.department
                                           AND m.merged_into_idea_id = ideas.idea_id), '[]')::text AS merged_from,
                  CASE WHEN merged_into_idea_id IS NOT NULL THEN jsonb_build_object(
                      'department', merged_into, 'idea_id', merged_into_idea_id)::text END AS merged_into
           FROM ideas WHERE department = $1 AND idea_id = $2""", department, idea_id)
    if row is None:
        return None
    return dict(row) | {"merged_from": json.loads(row["merged_from"]),
                        "merged_into": json.loads(row["merged_into"]) if row["merged_into"] else None}
