"""Request and response bodies of the HTTP API.

Field names and limits are the event catalogue's: each request field takes its type from
the event model it becomes (`like(ExperimentPlanned, "hypothesis")`, `shared.requests`), so the two cannot drift.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, Field, StringConstraints

from services.experiments.domain import Direction, Recommendation, Result, Status, StepName
from shared.auth import PERSON_REF_PATTERN
from shared.events import (
    Benefits,
    ExperimentAbandoned,
    ExperimentPlanned,
    ExperimentRescheduled,
    MeasurementRecorded,
    OutcomeAdopted,
    OutcomeRecorded,
)
from shared.events import Measure as MeasureData
from shared.events.experiments import MAX_SQUAD
from shared.paging import Page
from shared.requests import Command, like

PersonRef = Annotated[str, StringConstraints(pattern=PERSON_REF_PATTERN)]


class MeasureIn(Command):
    name: like(MeasureData, "name")
    unit: like(MeasureData, "unit")
    baseline: like(MeasureData, "baseline")
    target: like(MeasureData, "target")
    direction: like(MeasureData, "direction")


class Plan(Command):
    hypothesis: like(ExperimentPlanned, "hypothesis")
    measure: MeasureIn
    starts_on: like(ExperimentPlanned, "starts_on")
    ends_on: like(ExperimentPlanned, "ends_on")
    squad_size: like(ExperimentPlanned, "squad_size")
    budget_gbp: like(ExperimentPlanned, "budget_gbp") | None = Field(default=None, description="defaults to the backing's")
    staff_days: like(ExperimentPlanned, "staff_days") | None = Field(default=None, description="defaults to the backing's")
    squad: list[PersonRef] = Field(
        default=[], max_length=MAX_SQUAD,
        description="the squad's members other than its lead (the person planning), each named once by the "
                    "department's own reference for them, as in X-Person-Ref; squad_size counts them and the lead")


class RecordMeasurement(Command):
    measured_on: like(MeasurementRecorded, "measured_on")
    value: like(MeasurementRecorded, "value")
    note: like(MeasurementRecorded, "note") = None


class Reschedule(Command):
    ends_on: like(ExperimentRescheduled, "ends_on")
    reason: like(ExperimentRescheduled, "reason")


class BenefitsIn(Command):
    cash_savings_gbp_per_year: like(Benefits, "cash_savings_gbp_per_year") = None
    hours_saved_per_year: like(Benefits, "hours_saved_per_year") = None
    people_affected: like(Benefits, "people_affected") = None


class Complete(Command):
    result: like(OutcomeRecorded, "result")
    summary: like(OutcomeRecorded, "summary")
    learnings: like(OutcomeRecorded, "learnings")
    benefits: BenefitsIn = BenefitsIn()
    recommendation: like(OutcomeRecorded, "recommendation")


class Abandon(Command):
    reason: like(ExperimentAbandoned, "reason")


class Adopt(Command):
    origin_department: like(OutcomeAdopted, "origin_department")
    origin_outcome_id: like(OutcomeAdopted, "origin_outcome_id")
    note: like(OutcomeAdopted, "note") = ""


# Responses


class MeasureOut(BaseModel):
    name: str
    unit: str
    baseline: float
    target: float
    direction: Direction


class MeasurementOut(BaseModel):
    measured_on: date
    value: float
    note: str | None
    recorded_by: str | None


class StepOut(BaseModel):
    step: StepName
    by: str | None = Field(description="the pseudonym of who acted; null for the clock, or not known")
    at: datetime
    detail: str | None


class BenefitsOut(BaseModel):
    cash_savings_gbp_per_year: float | None
    hours_saved_per_year: float | None
    people_affected: int | None


class OutcomeOut(BaseModel):
    outcome_id: UUID
    result: Result
    summary: str
    learnings: list[str]
    recommendation: Recommendation
    benefits: BenefitsOut
    recorded_by: str | None


class ExperimentOut(BaseModel):
    experiment_id: UUID
    idea_id: UUID
    status: Status
    overdue: bool
    budget_gbp: float
    staff_days: float
    backed_budget_gbp: float = Field(description="what the backing gave: the plan's budget_gbp is at most this")
    backed_staff_days: float = Field(description="what the backing gave: the plan's staff_days is at most this")
    timebox_weeks: int
    hypothesis: str | None
    measure: MeasureOut | None
    starts_on: date
    ends_on: date
    squad_size: int | None
    squad_lead: str | None
    squad: list[str]
    started_on: date | None
    completed_on: date | None
    abandon_reason: str | None
    measurements: list[MeasurementOut]
    outcome: OutcomeOut | None
    history: list[StepOut] = Field(description="what happened, oldest first")


ExperimentPage = Page[ExperimentOut]


class AdoptionOut(BaseModel):
    adoption_id: UUID
    origin_department: str
    origin_outcome_id: UUID
    adopting_department: str
    adopted_by: str
    note: str
