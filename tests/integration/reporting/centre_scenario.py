"""The centre's view (issue 18), worked by hand: three departments, A, B and C, with different numbers, and every
new figure they must produce (resources, claimed return, judgement, the front line, and the breakdowns by
quarter, theme, month and campaign). Each number has its working beside it; none is computed by the code
under test.

    scenario = CentreScenario(dept_a, dept_b, dept_c)
    scenario.events[dept_a]  ...  scenario.expected(dept_a), scenario.expected_all(),
    scenario.quarters(dept or None), scenario.themes(dept or None), scenario.months(dept or None),
    scenario.campaigns(dept or None)

Times are fixed (January to July 2026; UTC, at 09:00 unless said), except the ideas still waiting for a
decision: they are raised 10, 20, 40 and 70 days before the scenario was built (datetime.now), so their ages
stay what they are whenever the test runs, far from the 14-, 28- and 56-day limits.

People (pseudonyms of "<dept>:<name>"):
  A: ann, ben, cat (raise ideas), dan (endorses), rev1, rev2 (review), panel (shortlists, backs, declines),
     a-w1, a-w2 (raise the waiting ideas)
  B: bill, beth, bob (raise ideas; bill and beth also endorse), brev, brev2 (review), bpanel, b-w1
  C: cy, cole (raise ideas and endorse), crev, crev2 (review), cpanel, c-w1
Experiments and outcomes name no one here, so only idea events make people take part.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any

from shared.events import (
    Benefits, ConversationRecorded, ExperimentAbandoned, ExperimentCompleted, ExperimentOverdue, ExperimentPlanned,
    ExperimentStarted, IdeaBacked, IdeaDeclined, IdeaEndorsed, IdeaReviewed, IdeaShortlisted, IdeaSubmitted, Measure,
    OutcomeRecorded, Scores,
)
from tests.integration.reporting.scenario import T0, _ev
from tests.support.events import person


def on(y: int, m: int, d: int, h: int = 9, mi: int = 0) -> datetime:
    return datetime(y, m, d, h, mi, tzinfo=timezone.utc)


class _Department:
    """Builds one department's events at the given times (through scenario._ev)."""

    def __init__(self, dept: str) -> None:
        self.dept = dept
        self.events: list = []

    def _add(self, data, when: datetime, service: str = "ideas") -> None:
        self.events.append(_ev(data, self.dept, (when - T0) / timedelta(days=1), service))

    def who(self, name: str) -> str:
        return person(f"{self.dept}:{name}")

    def conversation(self, held_on: date, participants: int, ideas_raised: int) -> uuid.UUID:
        cid = uuid.uuid4()
        self._add(ConversationRecorded(conversation_id=cid, team="Front line", participants=participants,
                                       held_on=held_on, ideas_raised=ideas_raised),
                  datetime.combine(held_on, datetime.min.time(), timezone.utc) + timedelta(hours=17))
        return cid

    def submit(self, when: datetime, by: str, title: str, themes: tuple[str, ...] = (), campaign: str | None = None,
               conversation: uuid.UUID | None = None) -> uuid.UUID:
        idea = uuid.uuid4()
        self._add(IdeaSubmitted(idea_id=idea, title=title, problem="Too slow.", proposal="Make it quicker.",
                                themes=themes, campaign=campaign, conversation_id=conversation,
                                submitted_by=self.who(by)), when)
        return idea

    def endorse(self, idea, when, by) -> None:
        self._add(IdeaEndorsed(idea_id=idea, endorsed_by=self.who(by)), when)

    def review(self, idea, when, by, impact, feasibility, value_for_money, alignment) -> None:
        self._add(IdeaReviewed(idea_id=idea, reviewer=self.who(by), scores=Scores(
            impact=impact, feasibility=feasibility, value_for_money=value_for_money, alignment=alignment)), when)

    def shortlist(self, idea, when, by) -> None:
        self._add(IdeaShortlisted(idea_id=idea, by=self.who(by)), when)

    def back(self, idea, when, by, budget_gbp: float, staff_days: float, timebox_weeks: int) -> None:
        self._add(IdeaBacked(idea_id=idea, sponsor=self.who(by), budget_gbp=budget_gbp, staff_days=staff_days,
                             timebox_weeks=timebox_weeks), when)

    def decline(self, idea, when, by, reason: str) -> None:
        self._add(IdeaDeclined(idea_id=idea, by=self.who(by), reason=reason, note="Not now"), when)

    def plan(self, idea, when, budget_gbp: float, staff_days: float, squad_size: int) -> uuid.UUID:
        exp = uuid.uuid4()
        self._add(ExperimentPlanned(
            experiment_id=exp, idea_id=idea, hypothesis="It helps", squad_size=squad_size, budget_gbp=budget_gbp,
            staff_days=staff_days, measure=Measure(name="days", unit="days", baseline=10.0, target=5.0,
                                                   direction="decrease"),
            starts_on=when.date() + timedelta(days=3), ends_on=when.date() + timedelta(days=40)), when, "experiments")
        return exp

    def start(self, exp, when) -> None:
        self._add(ExperimentStarted(experiment_id=exp, started_on=when.date()), when, "experiments")

    def overdue(self, exp, when) -> None:
        self._add(ExperimentOverdue(experiment_id=exp, ended_on=when.date()), when, "experiments")

    def complete(self, exp, when) -> None:
        self._add(ExperimentCompleted(experiment_id=exp, completed_on=when.date()), when, "experiments")

    def abandon(self, exp, when) -> None:
        self._add(ExperimentAbandoned(experiment_id=exp, reason="Team moved"), when, "experiments")

    def outcome(self, exp, idea, when, result: str, learnings: int, **benefits) -> None:
        self._add(OutcomeRecorded(outcome_id=uuid.uuid4(), experiment_id=exp, idea_id=idea, result=result,
                                  summary="What happened", recommendation="iterate",
                                  learnings=tuple(f"Learning {n} of a {result} experiment" for n in range(learnings)),
                                  benefits=Benefits(**benefits)), when, "experiments")


def _a(d: _Department, now: datetime) -> list:
    ca1 = d.conversation(date(2026, 1, 6), participants=15, ideas_raised=2)
    ca2 = d.conversation(date(2026, 3, 3), participants=8, ideas_raised=1)
    # A1: raised Jan 7 from CA1, backed Feb 6 (30 days): 10,000 GBP, 20 staff days, 6 weeks. Two experiments: the
    # first failed (recorded Mar 10), the second succeeded (recorded Apr 21): its latest outcome is "succeeded".
    a1 = d.submit(on(2026, 1, 7), "ann", "Shorter claim form", ("ai", "customer-service"), "big-thing", ca1)
    d.endorse(a1, on(2026, 1, 8), "dan")
    d.endorse(a1, on(2026, 1, 9), "ben")
    d.review(a1, on(2026, 1, 10), "rev1", 5, 4, 4, 3)
    d.review(a1, on(2026, 1, 11), "rev2", 3, 4, 2, 5)
    d.shortlist(a1, on(2026, 1, 20), "panel")
    d.back(a1, on(2026, 2, 6), "panel", 10000.0, 20.0, 6)
    xa1 = d.plan(a1, on(2026, 2, 10), 4000.0, 8.0, 4)
    d.start(xa1, on(2026, 2, 13))
    d.complete(xa1, on(2026, 3, 9))
    d.outcome(xa1, a1, on(2026, 3, 10), "failed", 2)
    xa1b = d.plan(a1, on(2026, 3, 12), 3000.0, 6.0, 3)
    d.start(xa1b, on(2026, 3, 16))
    d.complete(xa1b, on(2026, 4, 20))
    d.outcome(xa1b, a1, on(2026, 4, 21), "succeeded", 3, cash_savings_gbp_per_year=24000.0,
              hours_saved_per_year=500.0, people_affected=300)
    # A2: raised Jan 14, backed Mar 31 at 23:30 UTC (still 2025-26 Q4 in UTC; 00:30 on April 1 in London):
    # 5,000 GBP, 10 days, 4 weeks; its experiment is running.
    a2 = d.submit(on(2026, 1, 14), "ben", "Solar lights in car parks", ("net-zero",), "big-thing")
    d.endorse(a2, on(2026, 1, 15), "dan")  # dan endorses two ideas of big-thing: one person in its reach
    d.review(a2, on(2026, 1, 16), "rev1", 4, 4, 4, 3)
    d.back(a2, on(2026, 3, 31, 23, 30), "panel", 5000.0, 10.0, 4)
    xa2 = d.plan(a2, on(2026, 4, 2), 2000.0, 4.0, 3)
    d.start(xa2, on(2026, 4, 6))
    # A3 and A4 declined.
    a3 = d.submit(on(2026, 2, 2), "cat", "Chatbot for leave requests", ("ai",), None, ca1)
    d.review(a3, on(2026, 2, 5), "rev2", 2, 1, 2, 3)
    d.decline(a3, on(2026, 2, 12), "panel", "duplicate")
    a4 = d.submit(on(2026, 3, 4), "ann", "Counter open at weekends", ("customer-service",), None, ca2)
    d.review(a4, on(2026, 3, 5), "rev1", 1, 2, 1, 2)
    d.review(a4, on(2026, 3, 6), "rev2", 3, 2, 3, 2)
    d.decline(a4, on(2026, 3, 24), "panel", "not_feasible")
    # Waiting: A5 raised 10 days ago (from CA2), shortlisted 9 days ago; A6 raised 70 days ago.
    a5 = d.submit(now - timedelta(days=10), "a-w1", "Text reminders", ("ai",), None, ca2)
    d.shortlist(a5, now - timedelta(days=9), "panel")
    d.submit(now - timedelta(days=70), "a-w2", "Fewer meetings")
    return d.events


def _b(d: _Department, now: datetime) -> list:
    cb1 = d.conversation(date(2026, 2, 12), participants=20, ideas_raised=3)
    d.conversation(date(2026, 5, 5), participants=6, ideas_raised=0)
    # B1: raised Feb 9, backed Apr 1 at 00:30 UTC (2026-27 Q1; 50 days 15.5 hours): 8,000 GBP, 12 days,
    # 10 weeks; its experiment is overdue (still counted as running).
    b1 = d.submit(on(2026, 2, 9), "bill", "Heat pumps in offices", ("ai", "net-zero"), "big-thing")
    d.endorse(b1, on(2026, 2, 10), "beth")
    d.review(b1, on(2026, 2, 11), "brev", 5, 5, 4, 4)
    d.back(b1, on(2026, 4, 1, 0, 30), "bpanel", 8000.0, 12.0, 10)
    xb1 = d.plan(b1, on(2026, 4, 3), 6000.0, 10.0, 5)
    d.start(xb1, on(2026, 4, 6))
    d.overdue(xb1, on(2026, 5, 15))
    # B2: raised Feb 16 from CB1, backed Mar 2 (14 days): 2,000 GBP, 5 days, 2 weeks; inconclusive outcome.
    b2 = d.submit(on(2026, 2, 16), "beth", "Plain-English letters", ("customer-service",), "big-thing", cb1)
    d.endorse(b2, on(2026, 2, 17), "bill")
    d.review(b2, on(2026, 2, 18), "brev", 3, 3, 3, 3)
    d.review(b2, on(2026, 2, 19), "brev2", 4, 2, 4, 2)
    d.shortlist(b2, on(2026, 2, 25), "bpanel")
    d.back(b2, on(2026, 3, 2), "bpanel", 2000.0, 5.0, 2)
    xb2 = d.plan(b2, on(2026, 3, 3), 1500.0, 4.0, 2)
    d.start(xb2, on(2026, 3, 6))
    d.complete(xb2, on(2026, 3, 20))
    d.outcome(xb2, b2, on(2026, 3, 23), "inconclusive", 4, hours_saved_per_year=100.0)
    # B3 and B4 declined (B4 never reviewed).
    b3 = d.submit(on(2026, 3, 9), "bill", "Robot receptionist", ("ai",), None, cb1)
    d.review(b3, on(2026, 3, 10), "brev", 1, 1, 1, 1)
    d.decline(b3, on(2026, 4, 8), "bpanel", "insufficient_evidence")
    b4 = d.submit(on(2026, 5, 4), "bob", "Electric pool cars", ("net-zero",))
    d.decline(b4, on(2026, 5, 6), "bpanel", "other")
    # B5: raised May 11, backed Jul 15 (65 days, 2026-27 Q2): 12,000 GBP, 15 days, 12 weeks; experiment abandoned.
    b5 = d.submit(on(2026, 5, 11), "beth", "AI triage of green complaints", ("ai", "customer-service", "net-zero"))
    d.review(b5, on(2026, 5, 12), "brev", 4, 5, 3, 4)
    d.back(b5, on(2026, 7, 15), "bpanel", 12000.0, 15.0, 12)
    xb5 = d.plan(b5, on(2026, 7, 20), 5000.0, 6.0, 4)
    d.abandon(xb5, on(2026, 8, 1))
    # Waiting: B6 raised 20 days ago from CB1.
    d.submit(now - timedelta(days=20), "b-w1", "Shared desks rota", (), None, cb1)
    return d.events


def _c(d: _Department, now: datetime) -> list:
    cc1 = d.conversation(date(2026, 1, 15), participants=30, ideas_raised=4)
    # C1: raised Jan 19 from CC1, backed Jan 29 (10 days): 1,000 GBP, 2 days, 3 weeks; failed outcome claiming
    # 10 hours a year.
    c1 = d.submit(on(2026, 1, 19), "cy", "Large-print forms", ("customer-service",), "better-letters", cc1)
    d.endorse(c1, on(2026, 1, 20), "cole")
    d.endorse(c1, on(2026, 1, 21), "cole")  # the same person again: one endorsement
    d.review(c1, on(2026, 1, 22), "crev", 3, 4, 3, 4)
    d.back(c1, on(2026, 1, 29), "cpanel", 1000.0, 2.0, 3)
    xc1 = d.plan(c1, on(2026, 2, 1), 800.0, 2.0, 2)
    d.start(xc1, on(2026, 2, 4))
    d.complete(xc1, on(2026, 2, 19))
    d.outcome(xc1, c1, on(2026, 2, 20), "failed", 3, hours_saved_per_year=10.0)
    # C2: raised Feb 23, backed Apr 30 (66 days, 2026-27 Q1): 6,000 GBP, 9 days, 5 weeks; succeeded; a second
    # experiment only planned (not running).
    c2 = d.submit(on(2026, 2, 23), "cole", "Letters drafted by AI", ("ai", "customer-service"), "better-letters")
    d.endorse(c2, on(2026, 2, 24), "cy")
    d.review(c2, on(2026, 2, 25), "crev", 5, 4, 5, 4)
    d.review(c2, on(2026, 2, 26), "crev2", 4, 4, 4, 3)
    d.back(c2, on(2026, 4, 30), "cpanel", 6000.0, 9.0, 5)
    xc2 = d.plan(c2, on(2026, 5, 4), 4000.0, 6.0, 3)
    d.start(xc2, on(2026, 5, 7))
    d.complete(xc2, on(2026, 6, 12))
    d.outcome(xc2, c2, on(2026, 6, 15), "succeeded", 1, cash_savings_gbp_per_year=9000.0,
              hours_saved_per_year=90.0, people_affected=40)
    d.plan(c2, on(2026, 6, 20), 2000.0, 3.0, 2)
    # C3 declined.
    c3 = d.submit(on(2026, 3, 2), "cy", "Four-day opening", (), None, cc1)
    d.review(c3, on(2026, 3, 3), "crev", 2, 3, 2, 1)
    d.decline(c3, on(2026, 3, 6), "cpanel", "out_of_scope")
    # Waiting: C4 raised 40 days ago from CC1, shortlisted 39 days ago.
    c4 = d.submit(now - timedelta(days=40), "c-w1", "Queue app", ("customer-service",), None, cc1)
    d.shortlist(c4, now - timedelta(days=39), "cpanel")
    return d.events


def _by_result(succeeded, failed, inconclusive, no_outcome) -> dict:
    names = ("ideas", "budget_gbp", "staff_days")
    return {"succeeded": dict(zip(names, succeeded)), "failed": dict(zip(names, failed)),
            "inconclusive": dict(zip(names, inconclusive)), "no_outcome": dict(zip(names, no_outcome))}


def _scores(ideas_reviewed, impact, feasibility, value_for_money, alignment, overall) -> dict:
    return {"ideas_reviewed": ideas_reviewed, "impact": impact, "feasibility": feasibility,
            "value_for_money": value_for_money, "alignment": alignment, "overall": overall}


NO_REASONS = {"duplicate": 0, "out_of_scope": 0, "not_feasible": 0, "insufficient_evidence": 0, "other": 0}

# Days from raised to decided:
#   A1 30 (Jan 7 -> Feb 6), A2 76.604 (Jan 14 09:00 -> Mar 31 23:30: 76 days 14.5 hours), A3 10, A4 20
#   B1 50.646 (Feb 9 09:00 -> Apr 1 00:30: 50 days 15.5 hours), B2 14, B3 30, B4 2, B5 65 (May 11 -> Jul 15)
#   C1 10, C2 66 (Feb 23 -> Apr 30), C3 4
# Idea-level mean scores (each idea's mean over its reviews; overall = the mean of all four criteria):
#   A1 (5,4,4,3)+(3,4,2,5) -> 4, 4, 3, 4; 3.75    A2 4, 4, 4, 3; 3.75
#   A3 2, 1, 2, 3; 2.0                            A4 (1,2,1,2)+(3,2,3,2) -> 2, 2, 2, 2; 2.0
#   B1 5, 5, 4, 4; 4.5                            B2 (3,3,3,3)+(4,2,4,2) -> 3.5, 2.5, 3.5, 2.5; 3.0
#   B3 1, 1, 1, 1; 1.0    B4 no review            B5 4, 5, 3, 4; 4.0
#   C1 3, 4, 3, 4; 3.5                            C2 (5,4,5,4)+(4,4,4,3) -> 4.5, 4, 4.5, 3.5; 4.125
#   C3 2, 3, 2, 1; 2.0
# (Review-level means differ: A's backed value_for_money over reviews is (4+2+4)/3 = 3.33, not 3.5.)

EXPECTED: dict[str, dict[str, Any]] = {
    "a": {
        "resources": {
            "ideas_backed": 2,  # A1, A2
            "budget_gbp": 15000.0,  # 10,000 + 5,000
            "staff_days": 30.0,  # 20 + 10
            "mean_timebox_weeks": 5.0,  # (6 + 4) / 2
            # XA2 running (XA1, XA1b completed)
            "running": {"experiments": 1, "budget_gbp": 2000.0, "staff_days": 4.0, "squad_size": 3},
            # A1's latest outcome (Apr 21) succeeded, though its first (Mar 10) failed; A2 none yet
            "by_result": _by_result((1, 10000.0, 20.0), (0, 0.0, 0.0), (0, 0.0, 0.0), (1, 5000.0, 10.0)),
        },
        "return_claimed": {
            "budget_gbp": 10000.0, "staff_days": 20.0,  # A1, the only backed idea with an outcome
            "cash_savings_gbp_per_year": 24000.0,  # A1's outcomes: none claimed + 24,000
            "hours_saved_per_year": 500.0,
            "cash_savings_per_gbp": 2.4,  # 24,000 / 10,000
            "hours_saved_per_staff_day": 25.0,  # 500 / 20
            # 2 outcomes: failed with 2 learnings, succeeded with 3
            "learnings_per_experiment": {"all": 2.5, "succeeded": 3.0, "failed": 2.0, "inconclusive": None},
        },
        "judgement": {
            # A1, A2: impact (4+4)/2, feasibility (4+4)/2, value (3+4)/2, alignment (4+3)/2, overall (3.75+3.75)/2
            "backed": _scores(2, 4.0, 4.0, 3.5, 3.5, 3.75),
            # A3, A4: impact (2+2)/2, feasibility (1+2)/2, value (2+2)/2, alignment (3+2)/2, overall (2+2)/2
            "declined": _scores(2, 2.0, 1.5, 2.0, 2.5, 2.0),
            "decline_reasons": NO_REASONS | {"duplicate": 1, "not_feasible": 1},
            "decisions": 4,
            "median_days_to_decision": 25.0,  # 10, 20, 30, 76.6 -> (20 + 30) / 2
            "median_days_to_backing": 53.3,  # (30 + 76.604) / 2 = 53.302
            "median_days_to_decline": 15.0,  # (10 + 20) / 2
            "waiting": {"ideas": 2, "over_2_weeks": 1, "over_4_weeks": 1, "over_8_weeks": 1},  # A5 10 days, A6 70
        },
        "front_line": {"ideas_from_conversations": 4, "share_from_conversations": 0.667},  # A1 A3 A4 A5 of 6
    },
    "b": {
        "resources": {
            "ideas_backed": 3,  # B1, B2, B5
            "budget_gbp": 22000.0,  # 8,000 + 2,000 + 12,000
            "staff_days": 32.0,  # 12 + 5 + 15
            "mean_timebox_weeks": 8.0,  # (10 + 2 + 12) / 3
            # XB1 overdue counts as running (XB2 completed, XB5 abandoned)
            "running": {"experiments": 1, "budget_gbp": 6000.0, "staff_days": 10.0, "squad_size": 5},
            # B2 inconclusive; B1 and B5 no outcome: 8,000 + 12,000, 12 + 15
            "by_result": _by_result((0, 0.0, 0.0), (0, 0.0, 0.0), (1, 2000.0, 5.0), (2, 20000.0, 27.0)),
        },
        "return_claimed": {
            "budget_gbp": 2000.0, "staff_days": 5.0,  # B2
            "cash_savings_gbp_per_year": 0.0,  # none claimed
            "hours_saved_per_year": 100.0,
            "cash_savings_per_gbp": 0.0,  # 0 / 2,000
            "hours_saved_per_staff_day": 20.0,  # 100 / 5
            "learnings_per_experiment": {"all": 4.0, "succeeded": None, "failed": None, "inconclusive": 4.0},
        },
        "judgement": {
            # B1, B2, B5: impact (5+3.5+4)/3 = 4.167, feasibility (5+2.5+5)/3 = 4.167, value (4+3.5+3)/3 = 3.5,
            # alignment (4+2.5+4)/3 = 3.5, overall (4.5+3+4)/3 = 3.833
            "backed": _scores(3, 4.17, 4.17, 3.5, 3.5, 3.83),
            "declined": _scores(1, 1.0, 1.0, 1.0, 1.0, 1.0),  # B3 only (B4 was never reviewed)
            "decline_reasons": NO_REASONS | {"insufficient_evidence": 1, "other": 1},
            "decisions": 5,
            "median_days_to_decision": 30.0,  # 2, 14, 30, 50.6, 65
            "median_days_to_backing": 50.6,  # 14, 50.646, 65
            "median_days_to_decline": 16.0,  # (2 + 30) / 2
            "waiting": {"ideas": 1, "over_2_weeks": 1, "over_4_weeks": 0, "over_8_weeks": 0},  # B6 20 days
        },
        "front_line": {"ideas_from_conversations": 3, "share_from_conversations": 0.5},  # B2 B3 B6 of 6
    },
    "c": {
        "resources": {
            "ideas_backed": 2,  # C1, C2
            "budget_gbp": 7000.0,  # 1,000 + 6,000
            "staff_days": 11.0,  # 2 + 9
            "mean_timebox_weeks": 4.0,  # (3 + 5) / 2
            # XC1, XC2 completed; C2's second experiment only planned
            "running": {"experiments": 0, "budget_gbp": 0.0, "staff_days": 0.0, "squad_size": 0},
            "by_result": _by_result((1, 6000.0, 9.0), (1, 1000.0, 2.0), (0, 0.0, 0.0), (0, 0.0, 0.0)),
        },
        "return_claimed": {
            "budget_gbp": 7000.0, "staff_days": 11.0,  # C1 and C2 both have an outcome
            "cash_savings_gbp_per_year": 9000.0,  # C2
            "hours_saved_per_year": 100.0,  # 10 (C1, failed) + 90 (C2)
            "cash_savings_per_gbp": 1.29,  # 9,000 / 7,000 = 1.2857
            "hours_saved_per_staff_day": 9.09,  # 100 / 11 = 9.0909
            # failed with 3 learnings, succeeded with 1: all 4 / 2
            "learnings_per_experiment": {"all": 2.0, "succeeded": 1.0, "failed": 3.0, "inconclusive": None},
        },
        "judgement": {
            # C1, C2: impact (3+4.5)/2, feasibility (4+4)/2, value (3+4.5)/2, alignment (4+3.5)/2,
            # overall (3.5+4.125)/2 = 3.8125
            "backed": _scores(2, 3.75, 4.0, 3.75, 3.75, 3.81),
            "declined": _scores(1, 2.0, 3.0, 2.0, 1.0, 2.0),  # C3
            "decline_reasons": NO_REASONS | {"out_of_scope": 1},
            "decisions": 3,
            "median_days_to_decision": 10.0,  # 4, 10, 66
            "median_days_to_backing": 38.0,  # (10 + 66) / 2
            "median_days_to_decline": 4.0,
            "waiting": {"ideas": 1, "over_2_weeks": 1, "over_4_weeks": 1, "over_8_weeks": 0},  # C4 40 days
        },
        "front_line": {"ideas_from_conversations": 3, "share_from_conversations": 0.75},  # C1 C3 C4 of 4
    },
}

EXPECTED_ALL: dict[str, Any] = {
    "resources": {
        "ideas_backed": 7,  # 2 + 3 + 2
        "budget_gbp": 44000.0,  # 15,000 + 22,000 + 7,000
        "staff_days": 73.0,  # 30 + 32 + 11
        "mean_timebox_weeks": 6.0,  # (6+4 + 10+2+12 + 3+5) / 7 = 42 / 7
        # XA2 and XB1: 2,000 + 6,000; 4 + 10; 3 + 5
        "running": {"experiments": 2, "budget_gbp": 8000.0, "staff_days": 14.0, "squad_size": 8},
        # succeeded: A1, C2 (10,000 + 6,000; 20 + 9); failed: C1; inconclusive: B2;
        # no outcome: A2, B1, B5 (5,000 + 8,000 + 12,000; 10 + 12 + 15)
        "by_result": _by_result((2, 16000.0, 29.0), (1, 1000.0, 2.0), (1, 2000.0, 5.0), (3, 25000.0, 37.0)),
    },
    "return_claimed": {
        "budget_gbp": 19000.0, "staff_days": 36.0,  # A1, B2, C1, C2: 10,000 + 2,000 + 1,000 + 6,000; 20 + 5 + 2 + 9
        "cash_savings_gbp_per_year": 33000.0,  # 24,000 + 9,000
        "hours_saved_per_year": 700.0,  # 500 + 100 + 10 + 90
        "cash_savings_per_gbp": 1.74,  # 33,000 / 19,000 = 1.7368
        "hours_saved_per_staff_day": 19.44,  # 700 / 36 = 19.444
        # 5 outcomes, 2+3+4+3+1 = 13 learnings; succeeded (3+1)/2; failed (2+3)/2; inconclusive 4/1
        "learnings_per_experiment": {"all": 2.6, "succeeded": 2.0, "failed": 2.5, "inconclusive": 4.0},
    },
    "judgement": {
        # A1 A2 B1 B2 B5 C1 C2: impact (4+4+5+3.5+4+3+4.5)/7 = 28/7; feasibility (4+4+5+2.5+5+4+4)/7 = 4.071;
        # value (3+4+4+3.5+3+3+4.5)/7 = 3.571; alignment (4+3+4+2.5+4+4+3.5)/7 = 3.571;
        # overall (3.75+3.75+4.5+3+4+3.5+4.125)/7 = 26.625/7 = 3.804
        "backed": _scores(7, 4.0, 4.07, 3.57, 3.57, 3.8),
        # A3 A4 B3 C3: impact (2+2+1+2)/4, feasibility (1+2+1+3)/4, value (2+2+1+2)/4, alignment (3+2+1+1)/4,
        # overall (2+2+1+2)/4
        "declined": _scores(4, 1.75, 1.75, 1.75, 1.75, 1.75),
        "decline_reasons": {"duplicate": 1, "out_of_scope": 1, "not_feasible": 1, "insufficient_evidence": 1,
                            "other": 1},
        "decisions": 12,  # 4 + 5 + 3
        # 2, 4, 10, 10, 14, 20 | 30, 30, 50.6, 65, 66, 76.6 -> (20 + 30) / 2
        "median_days_to_decision": 25.0,
        "median_days_to_backing": 50.6,  # 10, 14, 30, 50.646, 65, 66, 76.6
        "median_days_to_decline": 10.0,  # 2, 4, 10, 20, 30
        # A5 10, B6 20, C4 40, A6 70 days
        "waiting": {"ideas": 4, "over_2_weeks": 3, "over_4_weeks": 2, "over_8_weeks": 1},
    },
    "front_line": {"ideas_from_conversations": 10, "share_from_conversations": 0.625},  # 4 + 3 + 3 of 6 + 6 + 4
}


def _quarter(label: str, starts_on: date, ideas: int, budget: float, staff: float) -> dict:
    return {"quarter": label, "starts_on": starts_on, "ideas_backed": ideas, "budget_gbp": budget,
            "staff_days": staff}


Q4_2025 = ("2025-26 Q4", date(2026, 1, 1))
Q1_2026 = ("2026-27 Q1", date(2026, 4, 1))
Q2_2026 = ("2026-27 Q2", date(2026, 7, 1))

QUARTERS: dict[str | None, list[dict]] = {
    "a": [_quarter(*Q4_2025, 2, 15000.0, 30.0)],  # A1 (Feb 6), A2 (Mar 31 23:30 UTC)
    "b": [_quarter(*Q4_2025, 1, 2000.0, 5.0),  # B2 (Mar 2)
          _quarter(*Q1_2026, 1, 8000.0, 12.0),  # B1 (Apr 1 00:30 UTC)
          _quarter(*Q2_2026, 1, 12000.0, 15.0)],  # B5 (Jul 15)
    "c": [_quarter(*Q4_2025, 1, 1000.0, 2.0),  # C1 (Jan 29)
          _quarter(*Q1_2026, 1, 6000.0, 9.0)],  # C2 (Apr 30)
    None: [_quarter(*Q4_2025, 4, 18000.0, 37.0),  # A1 A2 B2 C1: 10,000+5,000+2,000+1,000; 20+10+5+2
           _quarter(*Q1_2026, 2, 14000.0, 21.0),  # B1 C2: 8,000 + 6,000; 12 + 9
           _quarter(*Q2_2026, 1, 12000.0, 15.0)],  # B5
}

_THEME_KEYS = ("theme", "ideas_backed", "budget_gbp", "staff_days", "outcomes", "learnings",
               "learnings_per_experiment", "return_budget_gbp", "return_staff_days", "cash_savings_gbp_per_year",
               "hours_saved_per_year", "cash_savings_per_gbp", "hours_saved_per_staff_day")


def _theme(*values) -> dict:
    return dict(zip(_THEME_KEYS, values, strict=True))


# Per theme, over the backed ideas carrying it (an idea counts in each of its themes).
THEMES: dict[str | None, list[dict]] = {
    "a": [
        _theme("ai", 1, 10000.0, 20.0, 2, 5, 2.5, 10000.0, 20.0, 24000.0, 500.0, 2.4, 25.0),  # A1
        _theme("customer-service", 1, 10000.0, 20.0, 2, 5, 2.5, 10000.0, 20.0, 24000.0, 500.0, 2.4, 25.0),  # A1
        _theme("net-zero", 1, 5000.0, 10.0, 0, 0, None, 0.0, 0.0, 0.0, 0.0, None, None),  # A2
    ],
    "b": [
        _theme("ai", 2, 20000.0, 27.0, 0, 0, None, 0.0, 0.0, 0.0, 0.0, None, None),  # B1, B5
        _theme("net-zero", 2, 20000.0, 27.0, 0, 0, None, 0.0, 0.0, 0.0, 0.0, None, None),  # B1, B5
        # B2, B5: 2,000 + 12,000; 5 + 15; B2's outcome: 4 learnings, 100 hours over B2's 5 days
        _theme("customer-service", 2, 14000.0, 20.0, 1, 4, 4.0, 2000.0, 5.0, 0.0, 100.0, 0.0, 20.0),
    ],
    "c": [
        # C1, C2; outcomes of both: 3 + 1 learnings; 9,000 / 7,000; (10 + 90) / 11
        _theme("customer-service", 2, 7000.0, 11.0, 2, 4, 2.0, 7000.0, 11.0, 9000.0, 100.0, 1.29, 9.09),
        _theme("ai", 1, 6000.0, 9.0, 1, 1, 1.0, 6000.0, 9.0, 9000.0, 90.0, 1.5, 10.0),  # C2: 9,000/6,000; 90/9
    ],
    None: [
        # A1 B1 B5 C2: 10,000+8,000+12,000+6,000; 20+12+15+9; outcomes of A1 (2) and C2 (1): 2+3+1 learnings;
        # return over A1 and C2: 16,000 and 29 days; 24,000 + 9,000 = 33,000 / 16,000 = 2.0625; 590 / 29 = 20.34
        _theme("ai", 4, 36000.0, 56.0, 3, 6, 2.0, 16000.0, 29.0, 33000.0, 590.0, 2.06, 20.34),
        # A1 B2 B5 C1 C2: 10,000+2,000+12,000+1,000+6,000; 20+5+15+2+9; 5 outcomes, 13 learnings;
        # return over A1 B2 C1 C2: 19,000 and 36 days; 33,000 / 19,000 = 1.737; 700 / 36 = 19.44
        _theme("customer-service", 5, 31000.0, 51.0, 5, 13, 2.6, 19000.0, 36.0, 33000.0, 700.0, 1.74, 19.44),
        # A2 B1 B5: 5,000 + 8,000 + 12,000; 10 + 12 + 15; no outcome
        _theme("net-zero", 3, 25000.0, 37.0, 0, 0, None, 0.0, 0.0, 0.0, 0.0, None, None),
    ],
}

# Campaigns: ideas, backed, departments (as before), reach (distinct submitters and endorsers) and endorsements.
CAMPAIGNS: dict[str | None, list[dict]] = {
    # A1, A2: ann and ben raised them, dan (both), ben endorsed: ann, ben, dan; 2 + 1 endorsements
    "a": [{"campaign": "big-thing", "ideas": 2, "backed": 2, "departments": 1, "people": 3, "endorsements": 3}],
    # B1, B2: bill and beth raised them and endorsed each other's
    "b": [{"campaign": "big-thing", "ideas": 2, "backed": 2, "departments": 1, "people": 2, "endorsements": 2}],
    # C1, C2: cy and cole; cole endorsed C1 twice (once counted), cy C2
    "c": [{"campaign": "better-letters", "ideas": 2, "backed": 2, "departments": 1, "people": 2, "endorsements": 2}],
    None: [{"campaign": "big-thing", "ideas": 4, "backed": 4, "departments": 2, "people": 5, "endorsements": 5},
           {"campaign": "better-letters", "ideas": 2, "backed": 2, "departments": 1, "people": 2, "endorsements": 2}],
}

_MONTH_KEYS = ("people", "new_people", "conversations", "conversation_participants", "ideas_raised",
               "ideas_from_conversations")

# participation_by_month for the fixed months (January to July 2026):
# (people, new people, conversations, their participants, ideas raised, of which from conversations)
FIXED_MONTHS: dict[str | None, dict[date, tuple]] = {
    "a": {
        # ann (A1), dan, ben (endorse; A2), rev1, rev2, panel (shortlists A1); CA1 (15); A1 (from CA1), A2
        date(2026, 1, 1): (6, 6, 1, 15, 2, 1),
        # cat (A3, new), rev2, panel (backs A1, declines A3); A3 from CA1
        date(2026, 2, 1): (3, 1, 0, 0, 1, 1),
        # ann (A4), rev1, rev2, panel (declines A4, backs A2 on Mar 31); CA2 (8); A4 from CA2
        date(2026, 3, 1): (4, 0, 1, 8, 1, 1),
    },
    "b": {
        # bill, beth, brev, brev2, bpanel: all new; CB1 (20); B1, B2 (from CB1)
        date(2026, 2, 1): (5, 5, 1, 20, 2, 1),
        date(2026, 3, 1): (3, 0, 0, 0, 1, 1),  # bpanel (backs B2), bill (B3 from CB1), brev
        date(2026, 4, 1): (1, 0, 0, 0, 0, 0),  # bpanel (backs B1, declines B3)
        # bob (B4, new), bpanel (declines B4), beth (B5), brev; CB2 (6)
        date(2026, 5, 1): (4, 1, 1, 6, 2, 0),
        date(2026, 6, 1): (0, 0, 0, 0, 0, 0),
        date(2026, 7, 1): (1, 0, 0, 0, 0, 0),  # bpanel (backs B5)
    },
    "c": {
        # cy (C1), cole (endorses twice), crev, cpanel (backs C1); CC1 (30); C1 from CC1
        date(2026, 1, 1): (4, 4, 1, 30, 1, 1),
        date(2026, 2, 1): (4, 1, 0, 0, 1, 0),  # cole (C2), cy (endorses), crev, crev2 (new)
        date(2026, 3, 1): (3, 0, 0, 0, 1, 1),  # cy (C3 from CC1), crev, cpanel (declines C3)
        date(2026, 4, 1): (1, 0, 0, 0, 0, 0),  # cpanel (backs C2)
    },
    None: {  # the departments' rows added up (pseudonyms are per department)
        date(2026, 1, 1): (10, 10, 2, 45, 3, 2),  # A + C
        date(2026, 2, 1): (12, 7, 1, 20, 4, 2),  # A + B + C
        date(2026, 3, 1): (10, 0, 1, 8, 3, 3),  # A + B + C
        date(2026, 4, 1): (2, 0, 0, 0, 0, 0),  # B + C
        date(2026, 5, 1): (4, 1, 1, 6, 2, 0),  # B
        date(2026, 6, 1): (0, 0, 0, 0, 0, 0),
        date(2026, 7, 1): (1, 0, 0, 0, 0, 0),  # B
    },
}


def _month(at: datetime) -> date:
    return date(at.year, at.month, 1)


def _next_month(m: date) -> date:
    return date(m.year + m.month // 12, m.month % 12 + 1, 1)


@dataclass
class CentreScenario:
    a: str
    b: str
    c: str
    now: datetime = field(default_factory=lambda: datetime.now(timezone.utc))

    def __post_init__(self) -> None:
        self.roles = {self.a: "a", self.b: "b", self.c: "c"}
        self.events = {self.a: _a(_Department(self.a), self.now), self.b: _b(_Department(self.b), self.now),
                       self.c: _c(_Department(self.c), self.now)}

    @property
    def all_events(self) -> list:
        return [e for events in self.events.values() for e in events]

    def expected(self, dept: str) -> dict[str, Any]:
        return EXPECTED[self.roles[dept]]

    def expected_all(self) -> dict[str, Any]:
        return EXPECTED_ALL

    def quarters(self, dept: str | None = None) -> list[dict]:
        return QUARTERS[self.roles[dept] if dept else None]

    def themes(self, dept: str | None = None) -> list[dict]:
        return THEMES[self.roles[dept] if dept else None]

    def campaigns(self, dept: str | None = None) -> list[dict]:
        return CAMPAIGNS[self.roles[dept] if dept else None]

    def _recent(self, role: str) -> list[tuple[datetime, str, str]]:
        """The waiting ideas' events, (time, person, what): each submitter is someone new (a-w1 ...), raising
        one idea; "conversation" marks one raised from a conversation; panels have taken part before."""
        ago = lambda days: self.now - timedelta(days=days)  # noqa: E731
        return {
            "a": [(ago(10), "a-w1", "conversation"), (ago(9), "panel", "shortlist"), (ago(70), "a-w2", "idea")],
            "b": [(ago(20), "b-w1", "conversation")],
            "c": [(ago(40), "c-w1", "conversation"), (ago(39), "cpanel", "shortlist")],
        }[role]

    def months(self, dept: str | None = None) -> list[dict]:
        """participation_by_month: the fixed months above, then one row a month up to the waiting ideas' latest
        month (zeros between), the waiting ideas' rows as their events say."""
        roles = [self.roles[dept]] if dept else ["a", "b", "c"]
        rows = {m: list(v) for m, v in FIXED_MONTHS[dept and self.roles[dept]].items()}
        for role in roles:
            seen: set[tuple[date, str]] = set()
            for at, who, what in self._recent(role):
                row = rows.setdefault(_month(at), [0] * 6)
                if (_month(at), who) not in seen:
                    seen.add((_month(at), who))
                    row[0] += 1  # people
                if what != "shortlist":
                    row[1] += 1  # a new person
                    row[4] += 1  # an idea raised
                    row[5] += what == "conversation"
        out, month = [], min(rows)
        while month <= max(rows):
            out.append({"month": month, **dict(zip(_MONTH_KEYS, rows.get(month, [0] * 6)))})
            month = _next_month(month)
        return out
