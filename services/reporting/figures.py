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
LATEST_RESULTS = (*RESULTS, "no_outcome")
DECLINE_REASONS = ("duplicate", "out_of_scope", "not_feasible", "insufficient_evidence", "other")
SCORES = ("impact", "feasibility", "value_for_money", "alignment", "overall")
WAITING_WEEKS = (2, 4, 8)
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
    "resources.ideas_backed": "Ideas raised that were backed (an idea.backed seen): the same count as `funnel.backed`. "
                              "Every resources figure is over these ideas, by the department that backed them.",
    "resources.budget_gbp": "Sum of `budget_gbp` committed by backing (idea.backed) over the ideas backed.",
    "resources.staff_days": "Sum of `staff_days` committed by backing (idea.backed) over the ideas backed.",
    "resources.mean_timebox_weeks": "Mean of the time boxes (`timebox_weeks` of idea.backed) of the ideas backed, "
                                    "1 decimal place; null with no idea backed.",
    "resources.running.<figure>": "Experiments still running (state running or overdue, as in "
                                  "`experiments_by_state`): how many (experiments), and the sums of their own "
                                  "resources as planned (budget_gbp, staff_days, squad_size of experiment.planned).",
    "resources.by_result.<result>.<figure>": "The ideas backed, by the result of their latest outcome (the latest "
                                             "`recorded_at`; on a tie the greatest outcome_id): succeeded, failed, "
                                             "inconclusive, or no_outcome when none is recorded yet; for each, how "
                                             "many ideas and the sums of the budget_gbp and staff_days they were "
                                             "backed with. The four add up to the ideas backed and their resources.",
    "return_claimed.budget_gbp": "Sum of the budget committed by backing to the ideas backed that have at least one "
                                 "outcome recorded: the resources the claimed return is set against.",
    "return_claimed.staff_days": "Sum of the staff days committed by backing to the ideas backed that have at least "
                                 "one outcome recorded.",
    "return_claimed.cash_savings_gbp_per_year": "Sum of the cash savings (GBP per year) claimed in the outcomes of the "
                                                "ideas backed (every outcome of each idea). Benefits are what the "
                                                "department claims when recording the outcome; nobody has verified "
                                                "them.",
    "return_claimed.hours_saved_per_year": "Sum of the hours saved per year claimed in the outcomes of the ideas "
                                           "backed (claimed by the department, not verified).",
    "return_claimed.cash_savings_per_gbp": "Claimed cash savings per year per pound backed: "
                                           "`return_claimed.cash_savings_gbp_per_year` / `return_claimed.budget_gbp`, "
                                           "2 decimal places; null when that budget is 0.",
    "return_claimed.hours_saved_per_staff_day": "Claimed hours saved per year per staff day backed: "
                                                "`return_claimed.hours_saved_per_year` / "
                                                "`return_claimed.staff_days`, 2 decimal places; null when those "
                                                "staff days are 0.",
    "return_claimed.learnings_per_experiment.<result>": "Learnings shared per experiment concluded: the learnings "
                                                        "of the outcomes recorded / the outcomes recorded (each "
                                                        "outcome concludes one experiment), for all outcomes and "
                                                        "for each result (succeeded, failed, inconclusive: failures "
                                                        "count too), 2 decimal places; null with no such outcome.",
    "judgement.<side>.ideas_reviewed": "Ideas raised that were backed (side `backed`) or declined (side "
                                       "`declined`) and have at least one review (idea.reviewed).",
    "judgement.<side>.<score>": "Mean panel score of the ideas backed (side `backed`) or declined (side "
                                "`declined`): each idea's mean over its own reviews of each criterion (impact, "
                                "feasibility, value_for_money, alignment; overall: the mean of all four together), "
                                "then the mean over the ideas, so an idea reviewed often weighs as much as one "
                                "reviewed once; 1 to 5, 2 decimal places; null with no idea reviewed.",
    "judgement.decline_reasons.<reason>": "Ideas raised that were declined, by the reason given (duplicate, "
                                          "out_of_scope, not_feasible, insufficient_evidence, other).",
    "judgement.decisions": "Ideas raised that were backed or declined.",
    "judgement.median_days_to_decision": "Median days from an idea's idea.submitted to its first decision "
                                         "(idea.backed or idea.declined), over the ideas decided; event times; "
                                         "1 decimal place; null with no decision.",
    "judgement.median_days_to_backing": "Median days from idea.submitted to idea.backed over the ideas backed, "
                                        "1 decimal place; null with none.",
    "judgement.median_days_to_decline": "Median days from idea.submitted to idea.declined over the ideas declined, "
                                        "1 decimal place; null with none.",
    "judgement.waiting.ideas": "The queue: ideas raised still waiting for a decision now (state submitted or "
                               "shortlisted).",
    "judgement.waiting.over_<n>_weeks": "Ideas waiting (as in `judgement.waiting.ideas`) whose age, the time "
                                        "from their idea.submitted to the moment of reading, is strictly more "
                                        "than 2, 4 or 8 weeks (14, 28, 56 days).",
    "front_line.ideas_from_conversations": "Ideas raised from a team conversation (idea.submitted with a "
                                           "`conversation_id`).",
    "front_line.share_from_conversations": "`front_line.ideas_from_conversations` / `ideas_raised`, a share from 0 "
                                           "to 1, 3 decimal places; null with no idea raised.",
    "themes": "Per theme: ideas raised carrying it, how many are backed, and how many departments raised one.",
    "campaigns": "Per campaign: ideas raised for it, how many are backed, how many departments raised one, its "
                 "reach (`people`: distinct people who raised or endorsed one of its ideas; a person endorsing "
                 "two of them counts once; pseudonyms are per department, so across government the departments' "
                 "reach adds up) and its endorsements (distinct (idea, person) pairs, as in `endorsements`).",
    "resources_by_quarter": "Per quarter of the UK government financial year (Q1 April to June ... Q4 January to "
                            "March; `2026-27 Q1` starts on 2026-04-01) of the backing time (idea.backed's time, "
                            "UTC): ideas backed and the budget_gbp and staff_days committed, as in `resources`. "
                            "Oldest first, every quarter from the first to the last with a backing (zeros between).",
    "resources_by_theme": "Per theme, over the ideas backed carrying it (an idea counts in each of its themes): "
                          "ideas_backed, budget_gbp, staff_days (as in `resources`); outcomes recorded for those "
                          "ideas and their learnings, learnings_per_experiment (learnings / outcomes, 2 decimal "
                          "places, null with none); return_budget_gbp, return_staff_days, cash_savings_gbp_per_year, "
                          "hours_saved_per_year, cash_savings_per_gbp and hours_saved_per_staff_day as in "
                          "`return_claimed` (claimed, not verified). Largest budget first, then by theme.",
    "participation_by_month": "Per calendar month (UTC): people (distinct pseudonyms named in an idea event or "
                              "an adoption of that month: submitter, endorser, reviewer, panel member, sponsor, "
                              "adopter; summed over departments, as pseudonyms are per department), new_people "
                              "(of them, those taking part for the first time), conversations held (by "
                              "`held_on`) and their participants (a head count), ideas_raised (by idea.submitted's "
                              "time) and ideas_from_conversations. Oldest first, every month from the first to the "
                              "last with any of these (zeros between).",
    "timeseries": "Per ISO week (Monday, UTC) of the event time: ideas raised, endorsements, experiments planned, "
                  "outcomes recorded, adoptions made (counted as in `adoptions_made`).",
}

_SCOPE = "coalesce(department, 'all') AS scope"
_BY_DEPT = "GROUP BY GROUPING SETS ((department), ())"

_IDEAS = f"""
SELECT {_SCOPE}, count(*) AS ideas_raised, count(conversation_id) AS from_conversations,
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

_RUNNING = "status IN ('running', 'overdue')"

_EXPERIMENTS = f"""
SELECT {_SCOPE}, count(*) AS experiments,
       {", ".join(f"count(*) FILTER (WHERE status = '{s}') AS state_{s}" for s in EXPERIMENT_STATES)},
       count(*) FILTER (WHERE {_RUNNING}) AS running,
       coalesce(sum(budget_gbp) FILTER (WHERE {_RUNNING}), 0)::float8 AS running_budget_gbp,
       coalesce(sum(staff_days) FILTER (WHERE {_RUNNING}), 0)::float8 AS running_staff_days,
       coalesce(sum(squad_size) FILTER (WHERE {_RUNNING}), 0)::int8 AS running_squad_size
FROM experiments {_BY_DEPT}"""

_OUTCOMES = f"""
SELECT {_SCOPE}, count(*) AS outcomes,
       {", ".join(f"count(*) FILTER (WHERE result = '{r}') AS result_{r}" for r in RESULTS)},
       coalesce(sum(cash_savings_gbp_per_year), 0)::float8 AS cash_savings_gbp_per_year,
       coalesce(sum(hours_saved_per_year), 0)::float8 AS hours_saved_per_year,
       coalesce(sum(people_affected), 0)::int8 AS people_affected
FROM outcomes {_BY_DEPT}"""

_LEARNINGS = f"""
SELECT {_SCOPE}, count(*) AS learnings,
       {", ".join(f"count(*) FILTER (WHERE result = '{r}') AS learnings_{r}" for r in RESULTS)}
FROM learnings {_BY_DEPT}"""

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

_DAYS = "date_part('epoch', {b} - {a}) / 86400"  # double precision: sorting numeric made medians slow
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

# The ideas backed (the funnel's), with what their outcomes claimed and the result of the latest one.
_BACKED = """
WITH latest AS (SELECT DISTINCT ON (department, idea_id) department, idea_id, result FROM outcomes
                ORDER BY department, idea_id, recorded_at DESC, outcome_id DESC),
     claimed AS (SELECT department, idea_id, count(*) AS outcomes,
                        coalesce(sum(cash_savings_gbp_per_year), 0) AS cash_savings_gbp_per_year,
                        coalesce(sum(hours_saved_per_year), 0) AS hours_saved_per_year
                 FROM outcomes GROUP BY department, idea_id),
     backed AS (SELECT i.department, i.idea_id, i.themes, i.budget_gbp, i.staff_days, i.timebox_weeks,
                       coalesce(latest.result, 'no_outcome') AS result, claimed.outcomes,
                       claimed.cash_savings_gbp_per_year, claimed.hours_saved_per_year
                FROM ideas i LEFT JOIN latest USING (department, idea_id) LEFT JOIN claimed USING (department, idea_id)
                WHERE i.submitted_at IS NOT NULL AND i.backed_at IS NOT NULL {only})"""


def _money_sum(column: str, where: str | None = None) -> str:
    return f"coalesce(sum({column}){f' FILTER (WHERE {where})' if where else ''}, 0)::float8"


_RESOURCES = _BACKED.format(only="") + f"""
SELECT {_SCOPE}, count(*) AS ideas_backed, {_money_sum("budget_gbp")} AS budget_gbp,
       {_money_sum("staff_days")} AS staff_days, avg(timebox_weeks)::float8 AS mean_timebox_weeks,
       {", ".join(f"count(*) FILTER (WHERE result = '{r}') AS {r}_ideas, "
                  f"{_money_sum('budget_gbp', 'result = ' + repr(r))} AS {r}_budget_gbp, "
                  f"{_money_sum('staff_days', 'result = ' + repr(r))} AS {r}_staff_days" for r in LATEST_RESULTS)},
       {_money_sum("budget_gbp", "outcomes IS NOT NULL")} AS return_budget_gbp,
       {_money_sum("staff_days", "outcomes IS NOT NULL")} AS return_staff_days,
       {_money_sum("cash_savings_gbp_per_year")} AS cash_savings_gbp_per_year,
       {_money_sum("hours_saved_per_year")} AS hours_saved_per_year
FROM backed {_BY_DEPT}"""

# Each decided idea's mean score per criterion over its own reviews (then the mean over the ideas). Only
# the reviews of decided ideas are grouped: grouping every review by idea is most of the query's cost.
_IDEA_SCORES = """SELECT department, idea_id, avg(impact::float8) AS impact, avg(feasibility::float8) AS feasibility,
       avg(value_for_money::float8) AS value_for_money, avg(alignment::float8) AS alignment,
       avg((impact + feasibility + value_for_money + alignment) / 4.0::float8) AS overall
FROM reviews r WHERE EXISTS (SELECT FROM ideas d WHERE d.department = r.department AND d.idea_id = r.idea_id
                             AND (d.backed_at IS NOT NULL OR d.declined_at IS NOT NULL))
GROUP BY department, idea_id"""
_DECIDED = {"backed": "backed_at IS NOT NULL", "declined": "declined_at IS NOT NULL"}
_WAITING = "status IN ('submitted', 'shortlisted')"

_JUDGEMENT = f"""
WITH s AS ({_IDEA_SCORES})
SELECT {_SCOPE},
       {", ".join(f"count(s.idea_id) FILTER (WHERE {where}) AS {side}_ideas_reviewed, " + ", ".join(
           f"avg(s.{k}) FILTER (WHERE {where})::float8 AS {side}_{k}" for k in SCORES)
           for side, where in _DECIDED.items())},
       {", ".join(f"count(*) FILTER (WHERE declined_at IS NOT NULL AND decline_reason = '{r}') AS reason_{r}"
                  for r in DECLINE_REASONS)},
       count(*) FILTER (WHERE backed_at IS NOT NULL OR declined_at IS NOT NULL) AS decisions,
       {_median("submitted_at", "least(backed_at, declined_at)")} AS median_days_to_decision,
       {_median("submitted_at", "backed_at")} AS median_days_to_backing,
       {_median("submitted_at", "declined_at")} AS median_days_to_decline,
       count(*) FILTER (WHERE {_WAITING}) AS waiting,
       {", ".join(f"count(*) FILTER (WHERE {_WAITING} AND now() - submitted_at > interval '{7 * w} days') "
                  f"AS waiting_over_{w}" for w in WAITING_WEEKS)}
FROM ideas i LEFT JOIN s USING (department, idea_id)
WHERE i.submitted_at IS NOT NULL {_BY_DEPT}"""

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
        "resources": {
            "ideas_backed": 0, "budget_gbp": 0.0, "staff_days": 0.0, "mean_timebox_weeks": None,
            "running": {"experiments": 0, "budget_gbp": 0.0, "staff_days": 0.0, "squad_size": 0},
            "by_result": {r: {"ideas": 0, "budget_gbp": 0.0, "staff_days": 0.0} for r in LATEST_RESULTS},
        },
        "return_claimed": {
            "budget_gbp": 0.0, "staff_days": 0.0, "cash_savings_gbp_per_year": 0.0, "hours_saved_per_year": 0.0,
            "cash_savings_per_gbp": None, "hours_saved_per_staff_day": None,
            "learnings_per_experiment": dict.fromkeys((ALL, *RESULTS)),
        },
        "judgement": {
            "backed": {"ideas_reviewed": 0, **dict.fromkeys(SCORES)},
            "declined": {"ideas_reviewed": 0, **dict.fromkeys(SCORES)},
            "decline_reasons": dict.fromkeys(DECLINE_REASONS, 0),
            "decisions": 0,
            "median_days_to_decision": None, "median_days_to_backing": None, "median_days_to_decline": None,
            "waiting": {"ideas": 0, **{f"over_{w}_weeks": 0 for w in WAITING_WEEKS}},
        },
        "front_line": {"ideas_from_conversations": 0, "share_from_conversations": None},
    }


def _round(value: float | None, places: int = 2) -> float | None:
    return None if value is None or math.isnan(value) else round(value, places)


def _ratio(numerator: float, denominator: float, places: int = 2) -> float | None:
    """numerator / denominator rounded; None when the denominator is 0 (nothing to set the figure against)."""
    return _round(numerator / denominator, places) if denominator else None


def _returned(budget_gbp: float, staff_days: float, cash: float, hours: float) -> dict[str, Any]:
    """The claimed return on resources (return_claimed and each theme of resources_by_theme)."""
    return {"cash_savings_per_gbp": _ratio(cash, budget_gbp), "hours_saved_per_staff_day": _ratio(hours, staff_days)}


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
            f["front_line"] = {"ideas_from_conversations": r["from_conversations"],
                               "share_from_conversations": _ratio(r["from_conversations"], r["ideas_raised"], 3)}
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
            f["resources"]["running"] = {"experiments": r["running"], "budget_gbp": r["running_budget_gbp"],
                                         "staff_days": r["running_staff_days"], "squad_size": r["running_squad_size"]}
        for r in await conn.fetch(_OUTCOMES):
            f = out[r["scope"]]
            f["outcomes"] = r["outcomes"]
            f["outcomes_by_result"] = {x: r[f"result_{x}"] for x in RESULTS}
            f["benefits"] = {k: r[k] for k in f["benefits"]}
        learnings_by_result: dict[str, dict[str, int]] = {}
        for r in await conn.fetch(_LEARNINGS):
            out[r["scope"]]["learnings"] = r["learnings"]
            learnings_by_result[r["scope"]] = {x: r[f"learnings_{x}"] for x in RESULTS}
        for r in await conn.fetch(_RESOURCES):
            f = out[r["scope"]]
            f["resources"] |= {
                "ideas_backed": r["ideas_backed"], "budget_gbp": r["budget_gbp"], "staff_days": r["staff_days"],
                "mean_timebox_weeks": _round(r["mean_timebox_weeks"], 1),
                "by_result": {x: {"ideas": r[f"{x}_ideas"], "budget_gbp": r[f"{x}_budget_gbp"],
                                  "staff_days": r[f"{x}_staff_days"]} for x in LATEST_RESULTS},
            }
            f["return_claimed"] |= {
                "budget_gbp": r["return_budget_gbp"], "staff_days": r["return_staff_days"],
                "cash_savings_gbp_per_year": r["cash_savings_gbp_per_year"],
                "hours_saved_per_year": r["hours_saved_per_year"],
                **_returned(r["return_budget_gbp"], r["return_staff_days"], r["cash_savings_gbp_per_year"],
                            r["hours_saved_per_year"]),
            }
        for r in await conn.fetch(_JUDGEMENT):
            f = out[r["scope"]]
            f["judgement"] = {
                **{side: {"ideas_reviewed": r[f"{side}_ideas_reviewed"],
                          **{k: _round(r[f"{side}_{k}"]) for k in SCORES}} for side in _DECIDED},
                "decline_reasons": {x: r[f"reason_{x}"] for x in DECLINE_REASONS},
                "decisions": r["decisions"],
                **{k: _round(r[k], 1) for k in ("median_days_to_decision", "median_days_to_backing",
                                                 "median_days_to_decline")},
                "waiting": {"ideas": r["waiting"], **{f"over_{w}_weeks": r[f"waiting_over_{w}"] for w in WAITING_WEEKS}},
            }
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
    for scope, f in out.items():
        learnt = learnings_by_result.get(scope, dict.fromkeys(RESULTS, 0))
        f["return_claimed"]["learnings_per_experiment"] = {
            ALL: _ratio(f["learnings"], f["outcomes"]),
            **{x: _ratio(learnt[x], f["outcomes_by_result"][x]) for x in RESULTS}}
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


# c is inlined where it is used (NOT MATERIALIZED) so the planner sees its size and hashes it, not the endorsements.
_CAMPAIGNS = """
WITH c AS NOT MATERIALIZED (
         SELECT department, idea_id, campaign, status, submitted_by FROM ideas
         WHERE submitted_at IS NOT NULL AND campaign IS NOT NULL AND ($1::text IS NULL OR department = $1)),
     counts AS (SELECT campaign, count(*) AS ideas, count(*) FILTER (WHERE status = 'backed') AS backed,
                       count(DISTINCT department) AS departments FROM c GROUP BY campaign),
     endorsed AS (SELECT c.campaign, e.department, e.endorsed_by FROM c JOIN endorsements e USING (department, idea_id)),
     reach AS (SELECT campaign, count(*) AS people FROM (
                   SELECT campaign, department, submitted_by FROM c WHERE submitted_by IS NOT NULL
                   UNION SELECT campaign, department, endorsed_by FROM endorsed) AS people GROUP BY campaign),
     total AS (SELECT campaign, count(*) AS endorsements FROM endorsed GROUP BY campaign)
SELECT counts.*, coalesce(reach.people, 0) AS people, coalesce(total.endorsements, 0) AS endorsements
FROM counts LEFT JOIN reach USING (campaign) LEFT JOIN total USING (campaign) ORDER BY ideas DESC, campaign"""


async def campaigns(conn: asyncpg.Connection, department: str | None = None) -> list[dict[str, Any]]:
    return [dict(r) for r in await conn.fetch(_CAMPAIGNS, department)]


_QUARTERS = """
WITH q AS (SELECT date_trunc('quarter', backed_at AT TIME ZONE 'UTC')::date AS starts_on, count(*) AS ideas_backed,
                  sum(budget_gbp)::float8 AS budget_gbp, sum(staff_days)::float8 AS staff_days
           FROM ideas WHERE submitted_at IS NOT NULL AND backed_at IS NOT NULL AND ($1::text IS NULL OR department = $1)
           GROUP BY 1),
     -- calendar quarters are the financial year's, three months on: April-June is calendar Q2 and financial Q1
     span AS (SELECT s::date AS starts_on, extract(year FROM s - interval '3 months')::int AS fy,
                     extract(quarter FROM s - interval '3 months')::int AS fq
              FROM generate_series((SELECT min(starts_on) FROM q)::timestamp, (SELECT max(starts_on) FROM q)::timestamp,
                                   interval '3 months') AS s)
SELECT format('%s-%s Q%s', fy, lpad(((fy + 1) % 100)::text, 2, '0'), fq) AS quarter,
       span.starts_on, coalesce(q.ideas_backed, 0) AS ideas_backed, coalesce(q.budget_gbp, 0) AS budget_gbp,
       coalesce(q.staff_days, 0) AS staff_days
FROM span LEFT JOIN q USING (starts_on) ORDER BY span.starts_on"""


async def resources_by_quarter(conn: asyncpg.Connection, department: str | None = None) -> list[dict[str, Any]]:
    return [dict(r) for r in await conn.fetch(_QUARTERS, department)]


_BY_THEME = _BACKED.format(only="AND ($1::text IS NULL OR i.department = $1)") + f""",
     learnt AS (SELECT o.department, o.idea_id, count(*) AS learnings
                FROM learnings l JOIN outcomes o USING (department, outcome_id)
                WHERE $1::text IS NULL OR o.department = $1 GROUP BY 1, 2)
SELECT theme, count(*) AS ideas_backed, {_money_sum("budget_gbp")} AS budget_gbp,
       {_money_sum("staff_days")} AS staff_days, coalesce(sum(outcomes), 0)::int8 AS outcomes,
       coalesce(sum(learnt.learnings), 0)::int8 AS learnings,
       NULL::float8 AS learnings_per_experiment,  -- learnings / outcomes, rounded as every ratio (_ratio)
       {_money_sum("budget_gbp", "outcomes IS NOT NULL")} AS return_budget_gbp,
       {_money_sum("staff_days", "outcomes IS NOT NULL")} AS return_staff_days,
       {_money_sum("cash_savings_gbp_per_year")} AS cash_savings_gbp_per_year,
       {_money_sum("hours_saved_per_year")} AS hours_saved_per_year
FROM backed CROSS JOIN unnest(backed.themes) AS theme LEFT JOIN learnt USING (department, idea_id)
GROUP BY theme ORDER BY budget_gbp DESC, theme"""


async def resources_by_theme(conn: asyncpg.Connection, department: str | None = None) -> list[dict[str, Any]]:
    return [{**dict(r), "learnings_per_experiment": _ratio(r["learnings"], r["outcomes"]),
             **_returned(r["return_budget_gbp"], r["return_staff_days"], r["cash_savings_gbp_per_year"],
                         r["hours_saved_per_year"])}
            for r in await conn.fetch(_BY_THEME, department)]


_MONTHS = """
WITH p AS (SELECT department, pseudonym, month FROM participation WHERE $1::text IS NULL OR department = $1),
     people AS (SELECT month, count(*) AS people FROM p GROUP BY month),
     newcomers AS (SELECT month, count(*) AS new_people
                   FROM (SELECT min(month) AS month FROM p GROUP BY department, pseudonym) AS first GROUP BY month),
     talks AS (SELECT date_trunc('month', held_on::timestamp)::date AS month, count(*) AS conversations,
                      sum(participants) AS conversation_participants
               FROM conversations WHERE $1::text IS NULL OR department = $1 GROUP BY 1),
     raised AS (SELECT date_trunc('month', submitted_at AT TIME ZONE 'UTC')::date AS month, count(*) AS ideas_raised,
                       count(conversation_id) AS ideas_from_conversations
                FROM ideas WHERE submitted_at IS NOT NULL AND ($1::text IS NULL OR department = $1) GROUP BY 1),
     span AS (SELECT min(month) AS first, max(month) AS last FROM (
                  SELECT month FROM people UNION ALL SELECT month FROM talks UNION ALL SELECT month FROM raised) AS m)
SELECT s::date AS month, coalesce(people, 0) AS people, coalesce(new_people, 0) AS new_people,
       coalesce(conversations, 0) AS conversations, coalesce(conversation_participants, 0)::int8 AS conversation_participants,
       coalesce(ideas_raised, 0) AS ideas_raised, coalesce(ideas_from_conversations, 0) AS ideas_from_conversations
FROM span CROSS JOIN generate_series(span.first::timestamp, span.last::timestamp, interval '1 month') AS s
     LEFT JOIN people ON people.month = s::date LEFT JOIN newcomers ON newcomers.month = s::date
     LEFT JOIN talks ON talks.month = s::date LEFT JOIN raised ON raised.month = s::date
ORDER BY 1"""


async def participation_by_month(conn: asyncpg.Connection, department: str | None = None) -> list[dict[str, Any]]:
    return [dict(r) for r in await conn.fetch(_MONTHS, department)]


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
