"""Data models of the outcomes stream.

outcome.recorded is keyed by experiment_id, so an experiment's outcome stays
in order with the experiment's own events. outcome.adopted is keyed by
adoption_id: an adoption is the adopting department's own aggregate, published
on the adopting department's topic, whereas origin_outcome_id names another
department's record (and several departments may adopt the same outcome).
"""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from shared.events.base import EventData
from shared.events.fields import Count, DepartmentCode, Hours, Money, Pseudonym, text


class Benefits(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    cash_savings_gbp_per_year: Money | None = None
    hours_saved_per_year: Hours | None = None
    people_affected: Count | None = None


class OutcomeRecorded(EventData):
    event_type = "uk.gov.innovation.outcome.recorded.v1"
    stream = "outcomes"
    aggregate_id_field = "experiment_id"

    outcome_id: UUID
    experiment_id: UUID
    idea_id: UUID
    result: Literal["succeeded", "failed", "inconclusive"]
    summary: Annotated[str, text(5000)]
    learnings: Annotated[tuple[Annotated[str, text(2000)], ...], Field(min_length=1, max_length=20)]
    benefits: Benefits = Benefits()
    recommendation: Literal["scale", "adopt_elsewhere", "iterate", "stop"]
    by: Pseudonym | None = None  # who recorded it (completed the experiment); optional, as on experiment.completed


class OutcomeAdopted(EventData):
    event_type = "uk.gov.innovation.outcome.adopted.v1"
    stream = "outcomes"
    aggregate_id_field = "adoption_id"
    department_field = "adopting_department"

    adoption_id: UUID
    origin_department: DepartmentCode
    origin_outcome_id: UUID
    adopting_department: DepartmentCode
    adopted_by: Pseudonym
    note: Annotated[str, text(2000, min_length=0)]


OUTCOMES_EVENTS: tuple[type[EventData], ...] = (OutcomeRecorded, OutcomeAdopted)
