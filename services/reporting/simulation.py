"""A realistic flow of departmental events, as departmental systems would emit them. No I/O.

Used by the departmental-system simulator (deploy/simulator.py) and the benchmark. Each aggregate's
events come in a valid order (submitted → endorsed/reviewed → shortlisted → backed → experiment planned →
started → measurements → completed → outcome, with declines, withdrawals, abandoned and overdue
experiments, failed outcomes, conversations and adoptions between departments).
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone

from shared.events import (
    Benefits, ConversationRecorded, Event, ExperimentAbandoned, ExperimentCompleted, ExperimentOverdue,
    ExperimentPlanned, ExperimentRescheduled, ExperimentStarted, IdeaBacked, IdeaDeclined, IdeaEndorsed,
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


@dataclass
class _Idea:
    department: str
    idea_id: uuid.UUID
    stage: str = "submitted"
    endorsers: int = 0


@dataclass
class _Experiment:
    department: str
    experiment_id: uuid.UUID
    idea_id: uuid.UUID
    stage: str = "planned"
    measurements: int = 0


@dataclass
class Flow:
    departments: tuple[str, ...] = DEPARTMENTS
    seed: int | None = None
    clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc)
    people_per_department: int = 2000
    rng: random.Random = field(init=False)
    ideas: list[_Idea] = field(default_factory=list)
    experiments: list[_Experiment] = field(default_factory=list)
    outcomes: list[tuple[str, uuid.UUID]] = field(default_factory=list)  # (department, outcome_id) worth adopting

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        self._now = datetime.now(timezone.utc)
        self._people = {d: [pseudonymise(f"simulator-{d}", f"person-{i}") for i in range(self.people_per_department)]
                        for d in self.departments}

    def __iter__(self) -> Iterator[Event]:
        while True:
            yield self.next()

    def _person(self, department: str) -> str:
        return self.rng.choice(self._people[department])

    def _event(self, data, department: str, service: str) -> Event:
        event = new_event(data, department=department, service=service)
        return event.model_copy(update={"time": self._now})

    def _today(self) -> date:
        return self._now.date()

    def next(self) -> Event:
        self._now = self.clock()  # one tick per event
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

    def _submit(self) -> Event:
        department = self.rng.choice(self.departments)
        idea = _Idea(department, uuid.uuid4())
        self.ideas.append(idea)
        title = f"{self.rng.choice(VERBS)} {self.rng.choice(OBJECTS)}"
        return self._event(IdeaSubmitted(
            idea_id=idea.idea_id, title=title, problem="It takes too long.", proposal=f"{title} in one team first.",
            themes=tuple(self.rng.sample(THEMES, self.rng.randint(0, 3))), campaign=self.rng.choice(CAMPAIGNS),
            submitted_by=self._person(department)), department, "ideas")

    def _conversation(self) -> Event:
        department = self.rng.choice(self.departments)
        return self._event(ConversationRecorded(
            conversation_id=uuid.uuid4(), team="Operations", participants=self.rng.randint(4, 40),
            held_on=self._today(), ideas_raised=self.rng.randint(0, 6)), department, "ideas")

    def _retire_idea(self, idea: _Idea) -> None:
        self.ideas.remove(idea)

    def _advance_idea(self, idea: _Idea) -> Event:
        d, rng = idea.department, self.rng
        if idea.stage in ("submitted", "shortlisted") and (idea.endorsers < 3 or rng.random() < 0.5):
            idea.endorsers += 1
            if rng.random() < 0.3:
                return self._event(IdeaReviewed(idea_id=idea.idea_id, reviewer=self._person(d), scores=Scores(
                    impact=rng.randint(1, 5), feasibility=rng.randint(1, 5), value_for_money=rng.randint(1, 5),
                    alignment=rng.randint(1, 5))), d, "ideas")
            return self._event(IdeaEndorsed(idea_id=idea.idea_id, endorsed_by=self._person(d)), d, "ideas")
        if idea.stage == "submitted":
            roll = rng.random()
            if roll < 0.5:
                idea.stage = "shortlisted"
                return self._event(IdeaShortlisted(idea_id=idea.idea_id, by=self._person(d)), d, "ideas")
            self._retire_idea(idea)
            if roll < 0.85:
                return self._event(IdeaDeclined(idea_id=idea.idea_id, by=self._person(d), note="",
                                                reason=rng.choice(("duplicate", "out_of_scope", "not_feasible"))), d, "ideas")
            return self._event(IdeaWithdrawn(idea_id=idea.idea_id, by=self._person(d)), d, "ideas")
        # shortlisted: backed (and an experiment follows) or declined
        self._retire_idea(idea)
        if rng.random() < 0.25:
            return self._event(IdeaDeclined(idea_id=idea.idea_id, by=self._person(d), reason="insufficient_evidence",
                                            note=""), d, "ideas")
        self.experiments.append(_Experiment(d, uuid.uuid4(), idea.idea_id))
        return self._event(IdeaBacked(idea_id=idea.idea_id, sponsor=self._person(d), budget_gbp=float(rng.randint(0, 50) * 1000),
                                      staff_days=float(rng.randint(5, 60)), timebox_weeks=rng.randint(2, 12)), d, "ideas")

    def _advance_experiment(self, x: _Experiment) -> Event:
        d, rng, today = x.department, self.rng, self._today()
        if x.stage == "planned":
            x.stage = "planning-sent"
            return self._event(ExperimentPlanned(
                experiment_id=x.experiment_id, idea_id=x.idea_id, hypothesis="It will save time",
                measure=Measure(name="minutes per case", unit="minutes", baseline=30.0, target=20.0, direction="decrease"),
                starts_on=today, ends_on=today + timedelta(weeks=6), squad_size=rng.randint(2, 8),
                budget_gbp=float(rng.randint(0, 20) * 1000), staff_days=float(rng.randint(5, 40))), d, "experiments")
        if x.stage == "planning-sent":
            x.stage = "running"
            return self._event(ExperimentStarted(experiment_id=x.experiment_id, started_on=today), d, "experiments")
        if x.stage in ("running", "overdue") and x.measurements < 4 and rng.random() < 0.7:
            x.measurements += 1
            return self._event(MeasurementRecorded(experiment_id=x.experiment_id, measured_on=today,
                                                   value=round(rng.uniform(15, 35), 1)), d, "experiments")
        roll = rng.random()
        if x.stage == "running" and roll < 0.06:
            return self._event(ExperimentRescheduled(experiment_id=x.experiment_id, ends_on=today + timedelta(weeks=2),
                                                     reason="Staff moved to peak work"), d, "experiments")
        if x.stage == "running" and roll < 0.14:
            x.stage = "overdue"
            return self._event(ExperimentOverdue(experiment_id=x.experiment_id, ended_on=today), d, "experiments")
        if roll < 0.24:
            self.experiments.remove(x)
            return self._event(ExperimentAbandoned(experiment_id=x.experiment_id, reason="The team was disbanded"), d, "experiments")
        if x.stage in ("running", "overdue"):
            x.stage = "completed"
            return self._event(ExperimentCompleted(experiment_id=x.experiment_id, completed_on=today), d, "experiments")
        # completed: the outcome, on the outcomes stream
        self.experiments.remove(x)
        result = rng.choices(("succeeded", "failed", "inconclusive"), weights=(6, 3, 2))[0]
        outcome_id = uuid.uuid4()
        recommendation = {"succeeded": rng.choice(("scale", "adopt_elsewhere")), "failed": "stop",
                          "inconclusive": "iterate"}[result]
        if recommendation == "adopt_elsewhere":
            self.outcomes.append((d, outcome_id))
        benefits = Benefits(cash_savings_gbp_per_year=float(rng.randint(1, 200) * 500), hours_saved_per_year=float(rng.randint(10, 5000)),
                            people_affected=rng.randint(10, 20000)) if result == "succeeded" else Benefits()
        return self._event(OutcomeRecorded(
            outcome_id=outcome_id, experiment_id=x.experiment_id, idea_id=x.idea_id, result=result,
            summary="What happened, in brief.", learnings=tuple(rng.sample(LEARNINGS, rng.randint(1, 3))),
            benefits=benefits, recommendation=recommendation), d, "experiments")

    def _adopt(self) -> Event:
        origin, outcome_id = self.rng.choice(self.outcomes)
        adopting = self.rng.choice([d for d in self.departments if d != origin])
        return self._event(OutcomeAdopted(
            adoption_id=uuid.uuid4(), origin_department=origin, origin_outcome_id=outcome_id,
            adopting_department=adopting, adopted_by=self._person(adopting), note="Trying it here"), adopting, "experiments")
