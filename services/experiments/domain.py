"""The experiment lifecycle and its rules. No I/O: an experiment records the events it causes.

    planning --start--> running --complete--> completed (with an outcome)
    planning | running --abandon--> abandoned
    planning | running --reschedule--> same status, new end date
    planning | running: overdue, once, when the end date has passed with no outcome

A backed idea opens an experiment in `planning` with the backing's budget, staff days and
time box; `plan` adds the hypothesis, the measure, the dates and the squad (its lead is the person
who plans), and may be repeated until the experiment starts.

Every command names who acted (`by`, a pseudonym; None where a project tool's event does not say), and
every event the experiment publishes becomes a step of its history (`remember`), at the event's time.
"""

from __future__ import annotations

import uuid

from shared.events.experiments import experiment_id_for  # noqa: F401 (re-exported)
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Literal

from shared.events import (
    Benefits,
    EventData,
    ExperimentAbandoned,
    ExperimentCompleted,
    ExperimentOverdue,
    ExperimentPlanned,
    ExperimentRescheduled,
    ExperimentStarted,
)
from shared.events import Measure as MeasureData
from shared.events import MeasurementRecorded, OutcomeAdopted, OutcomeRecorded
from shared.events.experiments import MAX_SQUAD
from shared.refusals import Conflict, Invalid

Status = Literal["planning", "running", "completed", "abandoned"]
Direction = Literal["increase", "decrease"]
Result = Literal["succeeded", "failed", "inconclusive"]
Recommendation = Literal["scale", "adopt_elsewhere", "iterate", "stop"]
StepName = Literal["planned", "started", "measured", "rescheduled", "completed", "abandoned", "overdue"]

OPEN: tuple[Status, ...] = ("planning", "running")
MAX_LEARNINGS = 20
MAX_MEASUREMENTS = 1000
MAX_REVISIONS = 200  # plans and reschedules of one experiment: each is a step kept in its history
# Every experiment's id is derived from its idea: one backed idea, one experiment.


class InvalidTransition(Conflict):
    """The command is not allowed in the experiment's current state."""

    def __init__(self, reason: str, status: str) -> None:
        super().__init__("not allowed in the experiment's current state", field="status", rule=reason,
                         status=status, reason=reason)


class InvalidInput(Invalid):
    """The command breaks a rule of the data: which field, which rule."""

    def __init__(self, field: str, rule: str) -> None:
        super().__init__("validation failed", field=field, rule=rule)


@dataclass(frozen=True)
class Measure:
    name: str
    unit: str
    baseline: float
    target: float
    direction: Direction

    def check(self) -> None:
        if self.direction == "increase" and not self.target > self.baseline:
            raise InvalidInput("measure.target", "must be greater than measure.baseline when direction is increase")
        if self.direction == "decrease" and not self.target < self.baseline:
            raise InvalidInput("measure.target", "must be less than measure.baseline when direction is decrease")


@dataclass(frozen=True)
class Measurement:
    measured_on: date
    value: float
    note: str | None = None
    recorded_by: str | None = None


@dataclass(frozen=True)
class Step:
    """One step of an experiment's history: what happened, who did it (None: unknown, or the clock), when."""

    step: StepName
    by: str | None
    at: datetime
    detail: str | None = None


@dataclass(frozen=True)
class Outcome:
    outcome_id: uuid.UUID
    result: Result
    summary: str
    learnings: tuple[str, ...]
    recommendation: Recommendation
    cash_savings_gbp_per_year: float | None = None
    hours_saved_per_year: float | None = None
    people_affected: int | None = None
    recorded_by: str | None = None

    def check(self) -> None:
        if not 1 <= len(self.learnings) <= MAX_LEARNINGS:
            raise InvalidInput("learnings", f"between 1 and {MAX_LEARNINGS} learnings")
        if any(not learning.strip() for learning in self.learnings):
            raise InvalidInput("learnings", "each learning must have text")
        if not self.summary.strip():
            raise InvalidInput("summary", "must have text")
        for name in ("cash_savings_gbp_per_year", "hours_saved_per_year", "people_affected"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise InvalidInput(f"benefits.{name}", "must not be negative")


@dataclass
class Experiment:
    experiment_id: uuid.UUID
    idea_id: uuid.UUID
    status: Status
    budget_gbp: float
    staff_days: float
    backed_budget_gbp: float  # what the backing gave: the plan's budget and staff days are at most these
    backed_staff_days: float
    timebox_weeks: int
    correlation_id: str  # of the idea.backed event: every event of the experiment carries it
    starts_on: date
    ends_on: date
    hypothesis: str | None = None
    measure: Measure | None = None
    squad_size: int | None = None
    squad_lead: str | None = None
    squad: tuple[str, ...] = ()
    started_on: date | None = None
    completed_on: date | None = None
    abandon_reason: str | None = None
    overdue: bool = False
    measurements: list[Measurement] = field(default_factory=list)
    outcome: Outcome | None = None
    history: list[Step] = field(default_factory=list)
    events: list[EventData] = field(default_factory=list, repr=False, compare=False)

    @classmethod
    def open_from_backing(
        cls, *, department: str, idea_id: uuid.UUID, budget_gbp: float, staff_days: float, timebox_weeks: int,
        correlation_id: str, backed_on: date,
    ) -> Experiment:
        """A backed idea becomes an experiment in planning, its time box starting the day it was backed."""
        if budget_gbp < 0:
            raise InvalidInput("budget_gbp", "must not be negative")
        if staff_days < 0:
            raise InvalidInput("staff_days", "must not be negative")
        if not 1 <= timebox_weeks <= 52:
            raise InvalidInput("timebox_weeks", "between 1 and 52")
        return cls(
            experiment_id=experiment_id_for(department, idea_id), idea_id=idea_id, status="planning",
            budget_gbp=budget_gbp, staff_days=staff_days, backed_budget_gbp=budget_gbp, backed_staff_days=staff_days,
            timebox_weeks=timebox_weeks, correlation_id=correlation_id, starts_on=backed_on, ends_on=backed_on + timedelta(weeks=timebox_weeks),
        )

    @property
    def planned(self) -> bool:
        return self.hypothesis is not None

    # -- commands -------------------------------------------------------------------------

    def plan(
        self, *, hypothesis: str, measure: Measure, starts_on: date, ends_on: date, squad_size: int,
        budget_gbp: float | None = None, staff_days: float | None = None, by: str | None = None,
        squad: tuple[str, ...] = (),
    ) -> None:
        """`by` plans and leads the squad; `squad` names the others (the lead may be named too)."""
        self._require(("planning",), "plan")
        self._require_revisable()
        budget = self.backed_budget_gbp if budget_gbp is None else budget_gbp
        days = self.backed_staff_days if staff_days is None else staff_days
        if not hypothesis.strip():
            raise InvalidInput("hypothesis", "must have text")
        measure.check()
        _check_dates(starts_on, ends_on)
        if ends_on > starts_on + timedelta(weeks=self.timebox_weeks):
            raise InvalidInput("ends_on", f"within the backed time box of {self.timebox_weeks} weeks from starts_on")
        if not 1 <= squad_size <= 50:
            raise InvalidInput("squad_size", "between 1 and 50")
        for name, value, backed in (("budget_gbp", budget, self.backed_budget_gbp),
                                    ("staff_days", days, self.backed_staff_days)):
            if value < 0:
                raise InvalidInput(name, "must not be negative")
            if value > backed:
                raise InvalidInput(name, f"at most the {backed:g} the backing gave")
        _check_squad(squad, by, squad_size)
        self.hypothesis, self.measure, self.squad_size = hypothesis, measure, squad_size
        self.squad_lead, self.squad = by, tuple(squad)
        self.starts_on, self.ends_on, self.budget_gbp, self.staff_days = starts_on, ends_on, budget, days
        self.events.append(ExperimentPlanned(
            experiment_id=self.experiment_id, idea_id=self.idea_id, hypothesis=hypothesis,
            measure=MeasureData(name=measure.name, unit=measure.unit, baseline=float(measure.baseline),
                                target=float(measure.target), direction=measure.direction),
            starts_on=starts_on, ends_on=ends_on, squad_size=squad_size, budget_gbp=float(budget),
            staff_days=float(days), by=by, squad=tuple(squad),
        ))

    def start(self, today: date, *, by: str | None = None) -> None:
        self._require(("planning",), "start")
        if not self.planned:
            raise InvalidTransition("the experiment cannot start before it is planned (hypothesis, measure, dates)",
                                    self.status)
        self.status, self.started_on = "running", today
        self.events.append(ExperimentStarted(experiment_id=self.experiment_id, started_on=today, by=by))

    def record_measurement(self, measurement: Measurement, today: date) -> None:
        """`measurement.recorded_by` is who acted."""
        self._require(("running",), "record a measurement")
        assert self.started_on is not None
        if measurement.measured_on < self.started_on:
            raise InvalidInput("measured_on", f"not before the experiment started ({self.started_on})")
        if measurement.measured_on > today:
            raise InvalidInput("measured_on", "not in the future")
        if len(self.measurements) >= MAX_MEASUREMENTS:
            raise InvalidTransition(f"the experiment already has {MAX_MEASUREMENTS} measurements", self.status)
        self.measurements.append(measurement)
        self.events.append(MeasurementRecorded(
            experiment_id=self.experiment_id, measured_on=measurement.measured_on, value=float(measurement.value),
            note=measurement.note, by=measurement.recorded_by,
        ))

    def reschedule(self, ends_on: date, reason: str, *, by: str | None = None) -> None:
        self._require(OPEN, "reschedule")
        if not self.planned:
            raise InvalidTransition("the experiment cannot be rescheduled before it is planned", self.status)
        self._require_revisable()
        if not reason.strip():
            raise InvalidInput("reason", "must have text")
        _check_dates(self.starts_on, ends_on)
        if ends_on == self.ends_on:
            raise InvalidInput("ends_on", "must differ from the current end date")
        self.ends_on = ends_on
        self.events.append(ExperimentRescheduled(experiment_id=self.experiment_id, ends_on=ends_on, reason=reason,
                                                 by=by))

    def complete(self, outcome: Outcome, today: date, *, by: str | None = None) -> None:
        """`by` completes the experiment; `outcome.recorded_by` recorded the outcome (through the API, the same
        person; a project tool's two events may say each their own)."""
        self.check_completion(outcome, on=today)
        self.status, self.completed_on, self.outcome = "completed", today, outcome
        self.events.append(ExperimentCompleted(experiment_id=self.experiment_id, completed_on=today, by=by))
        self.events.append(OutcomeRecorded(
            outcome_id=outcome.outcome_id, experiment_id=self.experiment_id, idea_id=self.idea_id,
            result=outcome.result, summary=outcome.summary, learnings=outcome.learnings,
            benefits=Benefits(
                cash_savings_gbp_per_year=_float_or_none(outcome.cash_savings_gbp_per_year),
                hours_saved_per_year=_float_or_none(outcome.hours_saved_per_year),
                people_affected=outcome.people_affected,
            ),
            recommendation=outcome.recommendation, by=outcome.recorded_by,
        ))

    def check_completion(self, outcome: Outcome | None = None, *, on: date | None = None) -> None:
        """What `complete` requires, also of a completion known in part (a project tool's experiment.completed
        and outcome.recorded arrive apart): the experiment running, the outcome valid, the day not before it
        started."""
        self._require(("running",), "complete")
        assert self.started_on is not None
        if on is not None and on < self.started_on:
            raise InvalidInput("completed_on", f"not before the experiment started ({self.started_on})")
        if outcome is not None:
            outcome.check()

    def abandon(self, reason: str, *, by: str | None = None) -> None:
        self._require(OPEN, "abandon")
        if not reason.strip():
            raise InvalidInput("reason", "must have text")
        self.status, self.abandon_reason = "abandoned", reason
        self.events.append(ExperimentAbandoned(experiment_id=self.experiment_id, reason=reason, by=by))

    def idea_withdrawn(self, by: str | None = None) -> bool:
        """The idea behind the experiment was withdrawn (by `by`): abandons it while still in planning.
        Returns whether it did (a running or finished experiment carries on as it is)."""
        if self.status != "planning":
            return False
        self.abandon("the idea was withdrawn", by=by)
        return True

    def mark_overdue(self, today: date) -> bool:
        """Records experiment.overdue once, when the end date has passed with no outcome."""
        if self.overdue or self.status not in OPEN or not today > self.ends_on:
            return False
        self.overdue = True
        self.events.append(ExperimentOverdue(experiment_id=self.experiment_id, ended_on=self.ends_on))
        return True

    def take_events(self) -> list[EventData]:
        events, self.events = self.events, []
        return events

    def remember(self, data: EventData, at: datetime) -> None:
        """Adds the step an event of this experiment records to its history, `at` the event's time. The
        outcome has no step of its own: experiment.completed, published with it, is the step."""
        step = _step_of(data, self.measure, self.outcome)
        if step is not None:
            name, by, detail = step
            self.history.append(Step(step=name, by=by, at=at, detail=detail))

    def _require_revisable(self) -> None:
        if sum(step.step in ("planned", "rescheduled") for step in self.history) >= MAX_REVISIONS:
            raise InvalidTransition(f"the experiment was already planned or rescheduled {MAX_REVISIONS} times",
                                    self.status)

    def _require(self, allowed: tuple[Status, ...], action: str) -> None:
        if self.status not in allowed:
            states = " or ".join(allowed)
            raise InvalidTransition(f"cannot {action} an experiment that is {self.status}; it must be {states}",
                                    self.status)


def _check_squad(squad: tuple[str, ...], lead: str | None, squad_size: int) -> None:
    if len(squad) > MAX_SQUAD:
        raise InvalidInput("squad", f"at most {MAX_SQUAD} people")
    if len(set(squad)) != len(squad):
        raise InvalidInput("squad", "each person named once")
    # The lead counts whether named or not; a tool's plan that names no lead counts the people it names.
    people = len(set(squad) | {lead}) if lead is not None else len(squad)
    if people > squad_size:
        raise InvalidInput("squad", f"{people} people named on the plan, the lead included, but squad_size is "
                                    f"{squad_size}: name at most squad_size people, or make the squad bigger")


def _step_of(data: EventData, measure: Measure | None,
             outcome: Outcome | None) -> tuple[StepName, str | None, str | None] | None:
    match data:
        case ExperimentPlanned():
            return "planned", data.by, f"{data.starts_on} to {data.ends_on}, a squad of {data.squad_size}"
        case ExperimentStarted():
            return "started", data.by, f"started on {data.started_on}"
        case MeasurementRecorded():
            unit = f" {measure.unit}" if measure else ""
            return "measured", data.by, f"{data.value:g}{unit} on {data.measured_on}"
        case ExperimentRescheduled():
            return "rescheduled", data.by, f"to end on {data.ends_on}: {data.reason}"
        case ExperimentOverdue():
            return "overdue", None, f"the end date {data.ended_on} passed with no outcome"
        case ExperimentCompleted():
            return "completed", data.by, outcome.result if outcome else None
        case ExperimentAbandoned():
            return "abandoned", data.by, data.reason
    return None


def _check_dates(starts_on: date, ends_on: date) -> None:
    if not ends_on > starts_on:
        raise InvalidInput("ends_on", "must be after starts_on")


def _float_or_none(value: float | None) -> float | None:
    return None if value is None else float(value)


def adopt(
    *, adoption_id: uuid.UUID, adopting_department: str, origin_department: str, origin_outcome_id: uuid.UUID,
    adopted_by: str, note: str,
) -> OutcomeAdopted:
    """A department adopts another department's recorded outcome (whose existence the caller checked)."""
    if origin_department == adopting_department:
        raise InvalidInput("origin_department", "another department's outcome: a department does not adopt its own")
    return OutcomeAdopted(
        adoption_id=adoption_id, origin_department=origin_department, origin_outcome_id=origin_outcome_id,
        adopting_department=adopting_department, adopted_by=adopted_by, note=note,
    )
