"""A realistic flow of departmental events, as departmental systems would emit them. No I/O.

Used by the departmental-system simulator (deploy/simulator.py), the benchmark and tests. Each
aggregate walks a transition table: for its current state, the events that may follow and their
weights, some only when a guard holds (an experiment is overdue only once its end date has passed).
The tables follow the services' own rules (services/ideas/domain.py, services/experiments/domain.py),
and tests/unit/test_simulation.py replays simulated streams through those domains to keep it so.

    idea:       submitted -> shortlisted -> backed; submitted | shortlisted -> declined | withdrawn | merged
    experiment: planning -> planned -> running -> completed (with its outcome, in the same step);
                any of the first three -> abandoned; overdue once, while open, after the end date

Ids come from the seeded generator, so the same seed and clock give the same stream (event ids aside).

`ConversationTool` is one departmental system of a department that runs the services: it emits onto the
department's intake the conversations it records, the ideas they raise and their endorsements (its own
table); the department's panel reviews, shortlists and backs ideas through the ideas service's API.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone

from services.experiments.domain import experiment_id_for
from shared.events import (
    Benefits, ConversationRecorded, Event, EventData, ExperimentAbandoned, ExperimentCompleted, ExperimentOverdue,
    ExperimentPlanned, ExperimentRescheduled, ExperimentStarted, IdeaBacked, IdeaDeclined, IdeaEndorsed, IdeaMerged,
    IdeaReviewed, IdeaShortlisted, IdeaSubmitted, IdeaWithdrawn, Measure, MeasurementRecorded, OutcomeAdopted,
    OutcomeRecorded, Scores, new_event,
)
from shared.events.pseudonym import pseudonymise

DEPARTMENTS = ("dwp", "hmrc", "mhclg", "natural-england", "dfe")
THEMES = ("ai", "net-zero", "customer-service", "paperless", "wellbeing", "data", "automation", "estates")
CAMPAIGNS = ("one-big-thing-2025", "spending-review-ideas", None, None)
VERBS = ("Automate", "Simplify", "Share", "Digitise", "Pilot", "Replace", "Merge", "Publish")
OBJECTS = ("benefit claim forms", "payroll queries", "travel booking", "meeting room booking", "FOI responses",
           "grant applications", "case notes", "appointment reminders", "office energy use", "supplier invoices",
           "new starter onboarding", "complaint triage", "phone call backlog", "site inspections")
LEARNINGS = ("Users preferred a shorter form", "Staff needed a week of training first",
             "The data was not clean enough to automate", "Texts cut missed appointments",
             "Savings only appeared after the second month", "Legal review took longer than the experiment",
             "A chatbot answered the simple questions but not the urgent ones", "Teams kept the old process running in parallel",
             "Switching lights off needs sensors, not reminders", "Citizens trusted a named contact more than a portal")
MAX_MEASUREMENTS = 6

# State -> (transition, weight). A state with no transitions is final: the aggregate leaves the flow.
IDEA_TRANSITIONS: dict[str, tuple[tuple[str, float], ...]] = {
    "submitted": (("endorse", 6), ("review", 2), ("shortlist", 3), ("decline", 2), ("withdraw", 0.6), ("merge", 0.4)),
    "shortlisted": (("endorse", 2), ("review", 2), ("back", 4.5), ("decline", 1.2), ("withdraw", 0.3), ("merge", 0.2)),
    "backed": (), "declined": (), "withdrawn": (), "merged": (),
}
# "planning" is an experiment opened by its idea's backing, not yet planned; "planned" has a plan (and may be
# planned again) but has not started. Overdue is not a state: it is recorded once, while open, after ends_on.
EXPERIMENT_TRANSITIONS: dict[str, tuple[tuple[str, float], ...]] = {
    "planning": (("plan", 6), ("overdue", 6), ("abandon", 0.2)),
    "planned": (("start", 5), ("plan", 0.4), ("reschedule", 0.4), ("overdue", 6), ("abandon", 0.5)),
    "running": (("measure", 8), ("reschedule", 0.6), ("overdue", 6), ("complete", 3), ("abandon", 1)),
    "completed": (), "abandoned": (),
}
# A team-conversation tool's users endorse the ideas it raised; the rest of an idea's life is the panel's.
CONVERSATION_TOOL_IDEA_TRANSITIONS: dict[str, tuple[tuple[str, float], ...]] = {"submitted": (("endorse", 1),)}


@dataclass
class _Idea:
    department: str
    idea_id: uuid.UUID
    submitted_by: str
    state: str = "submitted"
    endorsers: set[str] = field(default_factory=set)
    reviewers: set[str] = field(default_factory=set)


@dataclass
class _Experiment:
    department: str
    idea_id: uuid.UUID
    budget_gbp: float
    staff_days: float
    timebox_weeks: int
    starts_on: date
    ends_on: date
    state: str = "planning"
    measurements: int = 0
    overdue: bool = False

    @property
    def experiment_id(self) -> uuid.UUID:
        return experiment_id_for(self.department, self.idea_id)


@dataclass
class Flow:
    departments: tuple[str, ...] = DEPARTMENTS
    seed: int | None = None
    clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc)
    people_per_department: int = 2000
    source: str | None = None  # the events' `source`; None: /departments/<dept>/<service>, as the services' own
    rng: random.Random = field(init=False)
    ideas: list[_Idea] = field(default_factory=list)
    experiments: list[_Experiment] = field(default_factory=list)
    outcomes: list[tuple[str, uuid.UUID]] = field(default_factory=list)  # (department, outcome_id) worth adopting
    idea_transitions = IDEA_TRANSITIONS  # a class attribute, not a field: a subclass may walk its own table

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        self._now = datetime.now(timezone.utc)
        self._pending: list[Event] = []  # the second event of a step that causes two (completed, then its outcome)
        self._people = {d: [pseudonymise(f"simulator-{d}", f"person-{i}") for i in range(self.people_per_department)]
                        for d in self.departments}

    def __iter__(self) -> Iterator[Event]:
        while True:
            yield self.next()

    def next(self) -> Event:
        if self._pending:
            return self._pending.pop(0)
        self._now = self.clock()  # one tick per step
        r = self.rng.random()
        if r < 0.12 or not self.ideas:
            return self._submit()
        if r < 0.14:
            return self._conversation()
        if r < 0.16 and self.outcomes and len(self.departments) > 1:
            return self._adopt()
        if r < 0.45 and self.experiments:
            return self._advance_experiment(self.rng.choice(self.experiments))
        return self._advance_idea(self.rng.choice(self.ideas))

    # -- helpers ------------------------------------------------------------------------------

    def _id(self) -> uuid.UUID:
        return uuid.UUID(int=self.rng.getrandbits(128), version=4)

    def _person(self, department: str) -> str:
        return self.rng.choice(self._people[department])

    def _panel(self, idea: _Idea) -> str:
        """A person of the idea's department other than its submitter (no conflict of interest)."""
        person = self._person(idea.department)
        while person == idea.submitted_by:
            person = self._person(idea.department)
        return person

    def _today(self) -> date:
        return self._now.date()

    def _event(self, data: EventData, department: str, service: str) -> Event:
        return new_event(data, department=department, service=service, source=self.source).model_copy(
            update={"time": self._now})

    def _walk(self, table: dict[str, tuple[tuple[str, float], ...]], state: str, allowed: Callable[[str], bool]) -> str:
        choices = [(name, weight) for name, weight in table[state] if allowed(name)]
        return self.rng.choices([n for n, _ in choices], weights=[w for _, w in choices])[0]

    # -- ideas ----------------------------------------------------------------------------------

    def _submit(self, department: str | None = None, conversation_id: uuid.UUID | None = None) -> Event:
        department = department or self.rng.choice(self.departments)
        idea = _Idea(department, self._id(), self._person(department))
        self.ideas.append(idea)
        title = f"{self.rng.choice(VERBS)} {self.rng.choice(OBJECTS)}"
        return self._event(IdeaSubmitted(
            idea_id=idea.idea_id, title=title, problem="It takes too long.", proposal=f"{title} in one team first.",
            themes=tuple(self.rng.sample(THEMES, self.rng.randint(0, 3))), campaign=self.rng.choice(CAMPAIGNS),
            submitted_by=idea.submitted_by, conversation_id=conversation_id), department, "ideas")

    def _conversation(self) -> Event:
        department = self.rng.choice(self.departments)
        return self._event(ConversationRecorded(
            conversation_id=self._id(), team="Operations", participants=self.rng.randint(4, 40),
            held_on=self._today(), ideas_raised=self.rng.randint(0, 6)), department, "ideas")

    def _idea_allowed(self, idea: _Idea, transition: str) -> bool:
        if transition == "endorse":
            return len(idea.endorsers) < self.people_per_department
        if transition == "merge":
            return len(self.ideas) > 1
        if transition == "review":  # one review per reviewer, never the submitter
            return len(idea.reviewers) < self.people_per_department - 1
        return True

    def _advance_idea(self, idea: _Idea) -> Event:
        transition = self._walk(self.idea_transitions, idea.state, lambda t: self._idea_allowed(idea, t))
        data = getattr(self, f"_idea_{transition}")(idea)
        if not self.idea_transitions[idea.state]:
            self.ideas.remove(idea)
        return self._event(data, idea.department, "ideas")

    def _idea_endorse(self, idea: _Idea) -> EventData:
        person = self._person(idea.department)
        while person in idea.endorsers:  # a person endorses an idea once
            person = self._person(idea.department)
        idea.endorsers.add(person)
        return IdeaEndorsed(idea_id=idea.idea_id, endorsed_by=person)

    def _idea_review(self, idea: _Idea) -> EventData:
        rng = self.rng
        reviewer = self._panel(idea)
        while reviewer in idea.reviewers:
            reviewer = self._panel(idea)
        idea.reviewers.add(reviewer)
        return IdeaReviewed(idea_id=idea.idea_id, reviewer=reviewer, scores=Scores(
            impact=rng.randint(1, 5), feasibility=rng.randint(1, 5), value_for_money=rng.randint(1, 5),
            alignment=rng.randint(1, 5)))

    def _idea_shortlist(self, idea: _Idea) -> EventData:
        idea.state = "shortlisted"
        return IdeaShortlisted(idea_id=idea.idea_id, by=self._panel(idea))

    def _idea_decline(self, idea: _Idea) -> EventData:
        reasons = ("duplicate", "out_of_scope", "not_feasible") if idea.state == "submitted" else ("insufficient_evidence",)
        idea.state = "declined"
        return IdeaDeclined(idea_id=idea.idea_id, by=self._panel(idea), reason=self.rng.choice(reasons), note="")

    def _idea_withdraw(self, idea: _Idea) -> EventData:
        idea.state = "withdrawn"
        return IdeaWithdrawn(idea_id=idea.idea_id, by=idea.submitted_by)  # only the submitter withdraws

    def _idea_merge(self, idea: _Idea) -> EventData:
        into = self.rng.choice([other for other in self.ideas if other is not idea])
        idea.state = "merged"
        return IdeaMerged(idea_id=idea.idea_id, into_department=into.department, into_idea_id=into.idea_id,
                          by=self._panel(idea))

    def _idea_back(self, idea: _Idea) -> EventData:
        rng, today = self.rng, self._today()
        idea.state = "backed"
        data = IdeaBacked(idea_id=idea.idea_id, sponsor=self._panel(idea),
                          budget_gbp=float(rng.randint(0, 50) * 1000), staff_days=float(rng.randint(5, 60)),
                          timebox_weeks=rng.randint(2, 12))
        # The experiments service opens the experiment from the backing, its time box starting today.
        self.experiments.append(_Experiment(
            idea.department, idea.idea_id, data.budget_gbp, data.staff_days, data.timebox_weeks,
            starts_on=today, ends_on=today + timedelta(weeks=data.timebox_weeks)))
        return data

    # -- experiments ----------------------------------------------------------------------------

    def _experiment_allowed(self, x: _Experiment, transition: str) -> bool:
        if transition == "overdue":
            return not x.overdue and self._today() > x.ends_on
        if transition == "measure":
            return x.measurements < MAX_MEASUREMENTS
        return True

    def _advance_experiment(self, x: _Experiment) -> Event:
        transition = self._walk(EXPERIMENT_TRANSITIONS, x.state, lambda t: self._experiment_allowed(x, t))
        data = getattr(self, f"_experiment_{transition}")(x)
        if not EXPERIMENT_TRANSITIONS[x.state]:
            self.experiments.remove(x)
        service = "experiments"
        if transition == "complete":  # completed and its outcome are recorded together
            completed, outcome = data
            self._pending.append(self._event(outcome, x.department, service))
            data = completed
        return self._event(data, x.department, service)

    def _experiment_plan(self, x: _Experiment) -> EventData:
        rng, today = self.rng, self._today()
        # Within the backing (or the previous plan): budget, staff days, and the time box from the start.
        x.budget_gbp = float(rng.randint(0, int(x.budget_gbp) // 1000) * 1000)
        x.staff_days = float(rng.randint(1, int(x.staff_days))) if x.staff_days >= 1 else 0.0
        x.starts_on, x.ends_on = today, today + timedelta(days=rng.randint(7, 7 * min(x.timebox_weeks, 8)))
        x.state = "planned"
        return ExperimentPlanned(
            experiment_id=x.experiment_id, idea_id=x.idea_id, hypothesis="It will save time",
            measure=Measure(name="minutes per case", unit="minutes", baseline=30.0, target=20.0, direction="decrease"),
            starts_on=x.starts_on, ends_on=x.ends_on, squad_size=rng.randint(2, 8), budget_gbp=x.budget_gbp,
            staff_days=x.staff_days)

    def _experiment_start(self, x: _Experiment) -> EventData:
        x.state = "running"
        return ExperimentStarted(experiment_id=x.experiment_id, started_on=self._today())

    def _experiment_measure(self, x: _Experiment) -> EventData:
        x.measurements += 1
        return MeasurementRecorded(experiment_id=x.experiment_id, measured_on=self._today(),
                                   value=round(self.rng.uniform(15, 35), 1))

    def _experiment_reschedule(self, x: _Experiment) -> EventData:
        ends_on = max(self._today(), x.starts_on) + timedelta(days=self.rng.randint(7, 21))
        if ends_on == x.ends_on:
            ends_on += timedelta(days=1)
        x.ends_on = ends_on
        return ExperimentRescheduled(experiment_id=x.experiment_id, ends_on=ends_on, reason="Staff moved to peak work")

    def _experiment_overdue(self, x: _Experiment) -> EventData:
        x.overdue = True
        return ExperimentOverdue(experiment_id=x.experiment_id, ended_on=x.ends_on)

    def _experiment_abandon(self, x: _Experiment) -> EventData:
        x.state = "abandoned"
        return ExperimentAbandoned(experiment_id=x.experiment_id, reason="The team was disbanded")

    def _experiment_complete(self, x: _Experiment) -> tuple[EventData, EventData]:
        rng, d = self.rng, x.department
        x.state = "completed"
        result = rng.choices(("succeeded", "failed", "inconclusive"), weights=(6, 3, 2))[0]
        outcome_id = self._id()
        recommendation = {"succeeded": rng.choice(("scale", "adopt_elsewhere")), "failed": "stop",
                          "inconclusive": "iterate"}[result]
        if recommendation == "adopt_elsewhere":
            self.outcomes.append((d, outcome_id))
        benefits = Benefits(cash_savings_gbp_per_year=float(rng.randint(1, 200) * 500),
                            hours_saved_per_year=float(rng.randint(10, 5000)),
                            people_affected=rng.randint(10, 20000)) if result == "succeeded" else Benefits()
        return (ExperimentCompleted(experiment_id=x.experiment_id, completed_on=self._today()), OutcomeRecorded(
            outcome_id=outcome_id, experiment_id=x.experiment_id, idea_id=x.idea_id, result=result,
            summary="What happened, in brief.", learnings=tuple(rng.sample(LEARNINGS, rng.randint(1, 3))),
            benefits=benefits, recommendation=recommendation))

    def _adopt(self) -> Event:
        origin, outcome_id = self.rng.choice(self.outcomes)
        adopting = self.rng.choice([d for d in self.departments if d != origin])
        return self._event(OutcomeAdopted(
            adoption_id=self._id(), origin_department=origin, origin_outcome_id=outcome_id,
            adopting_department=adopting, adopted_by=self._person(adopting), note="Trying it here"), adopting, "experiments")


@dataclass
class ConversationTool(Flow):
    """A department's team-conversation tool emitting onto its intake: a conversation.recorded, then an
    idea.submitted (with its conversation_id) for each idea the conversation raised, and endorsements of them."""

    idea_transitions = CONVERSATION_TOOL_IDEA_TRANSITIONS

    def next(self) -> Event:
        if self._pending:
            return self._pending.pop(0)
        self._now = self.clock()
        if self.rng.random() < 0.3 or not self.ideas:
            recorded = self._conversation()
            conversation_id = recorded.data.conversation_id
            self._pending += [self._submit(recorded.department, conversation_id)
                              for _ in range(recorded.data.ideas_raised)]
            return recorded
        return self._advance_idea(self.rng.choice(self.ideas))

    def _event(self, data: EventData, department: str, service: str) -> Event:
        return super()._event(data, department, service).model_copy(
            update={"source": self.source or tool_source(department)})


def tool_source(department: str) -> str:
    """The `source` of the team-conversation tool's events: a departmental system, not one of our services."""
    return f"/departments/{department}/systems/team-conversations"
