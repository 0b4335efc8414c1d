"""Data models of the experiments stream (key: experiment_id)."""

from __future__ import annotations

from typing import Annotated, Literal
import uuid
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from shared.events.base import EventData
from shared.events.fields import Day, Days, Money, Pseudonym, Quantity, text, whole_number


class _ExperimentEvent(EventData):
    stream = "experiments"
    aggregate_id_field = "experiment_id"

    experiment_id: UUID


MAX_SQUAD = 50

# Who acted: the pseudonym of the person behind a step. Optional, so events from before it was kept (and a
# project tool's that do not say) still decode; experiment.overdue has none, the service's clock caused it.
By = Pseudonym | None


class Measure(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    name: Annotated[str, text(200)]
    unit: Annotated[str, text(50)]
    baseline: Quantity
    target: Quantity
    direction: Literal["increase", "decrease"]


class ExperimentPlanned(_ExperimentEvent):
    event_type = "uk.gov.innovation.experiment.planned.v1"

    idea_id: UUID
    hypothesis: Annotated[str, text(2000)]
    measure: Measure
    starts_on: Day
    ends_on: Day
    squad_size: Annotated[int, whole_number(1, MAX_SQUAD)]
    budget_gbp: Money
    staff_days: Days
    by: By = None  # the squad lead
    squad: Annotated[tuple[Pseudonym, ...], Field(max_length=MAX_SQUAD)] = ()  # the others named on the plan


class ExperimentStarted(_ExperimentEvent):
    event_type = "uk.gov.innovation.experiment.started.v1"

    started_on: Day
    by: By = None


class MeasurementRecorded(_ExperimentEvent):
    event_type = "uk.gov.innovation.experiment.measurement_recorded.v1"

    measured_on: Day
    value: Quantity
    note: Annotated[str, text(2000)] | None = None
    by: By = None


class ExperimentRescheduled(_ExperimentEvent):
    event_type = "uk.gov.innovation.experiment.rescheduled.v1"

    ends_on: Day
    reason: Annotated[str, text(2000)]
    by: By = None


class ExperimentOverdue(_ExperimentEvent):
    event_type = "uk.gov.innovation.experiment.overdue.v1"

    ended_on: Day


class ExperimentCompleted(_ExperimentEvent):
    event_type = "uk.gov.innovation.experiment.completed.v1"

    completed_on: Day
    by: By = None


class ExperimentAbandoned(_ExperimentEvent):
    event_type = "uk.gov.innovation.experiment.abandoned.v1"

    reason: Annotated[str, text(2000)]
    by: By = None


EXPERIMENTS_EVENTS: tuple[type[EventData], ...] = (
    ExperimentPlanned,
    ExperimentStarted,
    MeasurementRecorded,
    ExperimentRescheduled,
    ExperimentOverdue,
    ExperimentCompleted,
    ExperimentAbandoned,
)


_EXPERIMENT_NAMESPACE = uuid.UUID("6f1d8a62-3c0e-4f5b-9a57-4f0a3d2c1e90")


def experiment_id_for(department: str, idea_id: uuid.UUID) -> uuid.UUID:
    """The experiment a backed idea opens: derived, so every reader (the portal too) finds it by the idea."""
    return uuid.uuid5(_EXPERIMENT_NAMESPACE, f"{department}/{idea_id}")
