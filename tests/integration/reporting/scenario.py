"""A department's week, as events, and the figures it must produce (worked out by hand below)."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta, timezone

from shared.events import (
    Benefits, ConversationRecorded, ExperimentAbandoned, ExperimentCompleted, ExperimentOverdue, ExperimentPlanned,
    ExperimentStarted, IdeaBacked, IdeaDeclined, IdeaEndorsed, IdeaReviewed, IdeaShortlisted, IdeaSubmitted,
    IdeaWithdrawn, Measure, MeasurementRecorded, OutcomeAdopted, OutcomeRecorded, Scores, new_event,
)
from tests.support.events import person

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)  # a Monday


def at(event, days: float):
    """The event with its time set to T0 + days (events are frozen; the envelope is copied)."""
    return event.model_copy(update={"time": T0 + timedelta(days=days)})


def _ev(data, dept: str, days: float, service: str = "ideas"):
    return at(new_event(data, department=dept, service=service), days)


def _submitted(dept, idea, title, days, **kw):
    return _ev(IdeaSubmitted(idea_id=idea, title=title, problem="Call alice@example.org on 07700 900123.",
                             proposal="Do it.", submitted_by=person(f"{dept}-author-{title}"), **kw), dept, days)


def _experiment(dept, exp, idea, days):
    return _ev(ExperimentPlanned(
        experiment_id=exp, idea_id=idea, hypothesis="It helps", squad_size=3, budget_gbp=1000.0, staff_days=5.0,
        measure=Measure(name="calls", unit="calls", baseline=10.0, target=5.0, direction="decrease"),
        starts_on=date(2026, 3, 20), ends_on=date(2026, 4, 20)), dept, days, "experiments")


def department_events(dept: str, *, title_a: str = "Fewer paper forms for claimants", adopt_from: tuple[str, uuid.UUID] | None = None):
    """Ideas A..E, three experiments, two outcomes, a conversation, optionally an adoption.

    Returns (events, outcome id of A's experiment)."""
    a, b, c, d, e = (uuid.uuid4() for _ in range(5))
    x, y, z = (uuid.uuid4() for _ in range(3))
    outcome_a = uuid.uuid4()
    ev = [
        _submitted(dept, a, title_a, 0, themes=("ai", "customer-service"), campaign="one-big-thing"),
        _ev(IdeaEndorsed(idea_id=a, endorsed_by=person("e1")), dept, 1),
        _ev(IdeaEndorsed(idea_id=a, endorsed_by=person("e2")), dept, 1),
        _ev(IdeaEndorsed(idea_id=a, endorsed_by=person("e1")), dept, 2),  # the same person again: counts once
        _ev(IdeaReviewed(idea_id=a, reviewer=person("r1"), scores=Scores(impact=4, feasibility=3, value_for_money=5,
                                                                         alignment=2), comment="Ask Bob Smith"), dept, 2),
        _ev(IdeaShortlisted(idea_id=a, by=person("panel")), dept, 4),
        _ev(IdeaBacked(idea_id=a, sponsor=person("panel"), budget_gbp=2000.0, staff_days=3.0, timebox_weeks=4), dept, 10),
        _submitted(dept, b, "Shared printer rota", 0.5, themes=("ai",)),
        _ev(IdeaDeclined(idea_id=b, by=person("panel"), reason="duplicate", note="see Bob"), dept, 3),
        _submitted(dept, c, "Chatbot for payroll questions", 1),
        _ev(IdeaReviewed(idea_id=c, reviewer=person("r1"), scores=Scores(impact=2, feasibility=5, value_for_money=3,
                                                                         alignment=4)), dept, 2),
        _ev(IdeaShortlisted(idea_id=c, by=person("panel")), dept, 5),
        _ev(IdeaBacked(idea_id=c, sponsor=person("panel"), budget_gbp=0.0, staff_days=1.0, timebox_weeks=2), dept, 11),
        _submitted(dept, d, "Standing meetings", 1.5),
        _ev(IdeaWithdrawn(idea_id=d, by=person(f"{dept}-author-Standing meetings")), dept, 2),
        _submitted(dept, e, "Solar panels on depots", 8, themes=("net-zero",)),
        _ev(IdeaShortlisted(idea_id=e, by=person("panel")), dept, 9),
        _ev(IdeaBacked(idea_id=e, sponsor=person("panel"), budget_gbp=100.0, staff_days=1.0, timebox_weeks=1), dept, 9),
        _ev(ConversationRecorded(conversation_id=uuid.uuid4(), team="Benefits ops", participants=12,
                                 held_on=date(2026, 3, 3), ideas_raised=3), dept, 1),
        # experiments: x (A) completed with a success; y (C) overdue; z (E) abandoned with a failure
        _experiment(dept, x, a, 12),
        _ev(ExperimentStarted(experiment_id=x, started_on=date(2026, 3, 20)), dept, 18, "experiments"),
        _ev(MeasurementRecorded(experiment_id=x, measured_on=date(2026, 3, 27), value=7.0), dept, 25, "experiments"),
        _ev(MeasurementRecorded(experiment_id=x, measured_on=date(2026, 4, 3), value=5.0), dept, 32, "experiments"),
        _ev(ExperimentCompleted(experiment_id=x, completed_on=date(2026, 4, 10)), dept, 39, "experiments"),
        _experiment(dept, y, c, 14),
        _ev(ExperimentStarted(experiment_id=y, started_on=date(2026, 3, 20)), dept, 18, "experiments"),
        _ev(ExperimentOverdue(experiment_id=y, ended_on=date(2026, 4, 20)), dept, 49, "experiments"),
        _experiment(dept, z, e, 15),
        _ev(ExperimentAbandoned(experiment_id=z, reason="Depot closed"), dept, 20, "experiments"),
        _ev(OutcomeRecorded(outcome_id=outcome_a, experiment_id=x, idea_id=a, result="succeeded",
                            summary="Worked; thanks to carol.jones@example.org (07700 900456)", recommendation="adopt_elsewhere",
                            learnings=("Claimants prefer one short form", "Print less"),
                            benefits=Benefits(cash_savings_gbp_per_year=12000.0, hours_saved_per_year=300.0,
                                              people_affected=150)), dept, 40, "experiments"),
        _ev(OutcomeRecorded(outcome_id=uuid.uuid4(), experiment_id=z, idea_id=e, result="failed", summary="No",
                            recommendation="stop", learnings=("Check the estate plan before starting",)),
            dept, 21, "experiments"),
    ]
    if adopt_from:
        origin, origin_outcome = adopt_from
        ev.append(_ev(OutcomeAdopted(adoption_id=uuid.uuid4(), origin_department=origin, origin_outcome_id=origin_outcome,
                                     adopting_department=dept, adopted_by=person("adopter"), note="Rolling out"),
                      dept, 45, "experiments"))
    return ev, outcome_a


def expected(*, adoptions_made: int = 0, adoptions_of: int = 0) -> dict:
    """The figures of one department_events(...) run."""
    return {
        "ideas_raised": 5,
        "ideas_by_state": {"submitted": 0, "shortlisted": 0, "backed": 3, "declined": 1, "withdrawn": 1, "merged": 0},
        "endorsements": 2,
        "reviews": 2,
        # impact (4+2)/2, feasibility (3+5)/2, value (5+3)/2, alignment (2+4)/2; overall (14/4 + 14/4)/2
        "average_scores": {"impact": 3.0, "feasibility": 4.0, "value_for_money": 4.0, "alignment": 3.0, "overall": 3.5},
        "conversations": 1, "conversation_participants": 12, "conversation_ideas_raised": 3,
        # authors of A B C D E (5), e1, e2, r1, panel, adopter
        "participants": 5 + 4 + adoptions_made,
        "experiments": 3,
        "experiments_by_state": {"planned": 0, "running": 0, "overdue": 1, "completed": 1, "abandoned": 1},
        "overdue": 1,
        "outcomes": 2,
        "outcomes_by_result": {"succeeded": 1, "failed": 1, "inconclusive": 0},
        "learnings": 3,
        "benefits": {"cash_savings_gbp_per_year": 12000.0, "hours_saved_per_year": 300.0, "people_affected": 150},
        "adoptions_made": adoptions_made,
        "adoptions_of_its_outcomes": adoptions_of,
        "funnel": {"raised": 5, "shortlisted": 3, "backed": 3, "experiment": 3, "outcome": 2},
        # raised->shortlisted: A 4, C 4, E 1 -> 4; shortlisted->backed: A 6, C 6, E 0 -> 6;
        # backed->experiment: A 2, C 3, E 6 -> 3; experiment->outcome: A 28, E 6 -> 17
        "funnel_median_days": {"raised_to_shortlisted": 4.0, "shortlisted_to_backed": 6.0,
                               "backed_to_experiment": 3.0, "experiment_to_outcome": 17.0},
    }


STABLE_KEYS = tuple(expected())  # the figures compared between runs (freshness times excluded)


def submitted_event(dept: str, title: str = "Fewer forms"):
    return _submitted(dept, uuid.uuid4(), title, 50)
