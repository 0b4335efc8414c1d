"""The HTTP surface of experiments and adoptions: routes calling the handlers.

Roles: any key of the department reads; contributors and reviewers (and admins) plan, start,
measure, reschedule and complete; reviewers and admins abandon and adopt. A key of another
department finds nothing here (404).
"""

import uuid
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints, field_validator
from pydantic_core import PydanticCustomError

from services.experiments.domain import (
    Experiment,
    Measure,
    Measurement,
    Outcome,
)
from services.experiments.handlers import Experiments
from shared.auth import Caller, acting_person, department_member
from shared.events.fields import DepartmentCode
from shared.http import ApiError
from shared.runtime import runtime_of

router = APIRouter(prefix="/v1", tags=["experiments"])


def _text(max_length: int, min_length: int = 1) -> Any:
    return Annotated[str, StringConstraints(min_length=min_length, max_length=max_length)]


Name, Unit, Text, Summary, Note = _text(200), _text(50), _text(2000), _text(5000), _text(2000, min_length=0)


Number = Annotated[float, Field(allow_inf_nan=False, ge=-1e15, le=1e15)]
Money = Annotated[float, Field(allow_inf_nan=False, ge=0, le=1_000_000_000)]
Days = Annotated[float, Field(allow_inf_nan=False, ge=0, le=1_000_000)]


def _date_text(value: Any) -> Any:
    if not isinstance(value, str):  # refuse numbers, which lax parsing would read as timestamps
        raise PydanticCustomError("date_type", "Input should be a date as YYYY-MM-DD text")
    return value


IsoDay = Annotated[date, BeforeValidator(_date_text)]


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, (list, tuple)):
        return any(_has_nul(v) for v in value)
    return False


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        if _has_nul(value):  # PostgreSQL cannot store them
            raise PydanticCustomError("no_nul_character", "text must not contain NUL characters")
        return value


class MeasureIn(_Body):
    name: Name
    unit: Unit
    baseline: Number
    target: Number
    direction: Literal["increase", "decrease"]


class PlanIn(_Body):
    hypothesis: Text
    measure: MeasureIn
    starts_on: IsoDay
    ends_on: IsoDay
    squad_size: Annotated[int, Field(ge=1, le=50)]
    budget_gbp: Money | None = None  # defaults to the backing's
    staff_days: Days | None = None


class MeasurementIn(_Body):
    measured_on: IsoDay
    value: Number
    note: Text | None = None


class RescheduleIn(_Body):
    ends_on: IsoDay
    reason: Text


class BenefitsIn(_Body):
    cash_savings_gbp_per_year: Money | None = None
    hours_saved_per_year: Annotated[float, Field(allow_inf_nan=False, ge=0, le=1_000_000_000)] | None = None
    people_affected: Annotated[int, Field(ge=0, le=100_000_000)] | None = None


class CompleteIn(_Body):
    result: Literal["succeeded", "failed", "inconclusive"]
    summary: Summary
    learnings: Annotated[list[Text], Field(min_length=1, max_length=20)]
    benefits: BenefitsIn = BenefitsIn()
    recommendation: Literal["scale", "adopt_elsewhere", "iterate", "stop"]


class AbandonIn(_Body):
    reason: Text


class AdoptionIn(_Body):
    origin_department: DepartmentCode
    origin_outcome_id: uuid.UUID
    note: Note = ""


# -- who may do what ------------------------------------------------------------------------------


def _experiments(request: Request) -> Experiments:
    return runtime_of(request).handlers


def _not_found(experiment_id: uuid.UUID | None = None) -> ApiError:
    return ApiError(404, "experiment not found", [{"field": "experiment_id", "rule": "an experiment of this department"}],
                    **({"experiment_id": str(experiment_id)} if experiment_id else {}))


def member(*roles: str, on_experiment: bool = True):
    return department_member(*roles, hidden_as=_not_found if on_experiment else None)


Reader = Depends(member())
Runner = Depends(member("contributor", "reviewer"))
Decider = Depends(member("reviewer"))
Adopter = Depends(member("reviewer", on_experiment=False))
Person = Depends(acting_person)


def _request_id(request: Request) -> str:
    return request.state.correlation_id


# -- reads ----------------------------------------------------------------------------------------


@router.get("/experiments", summary="The department's experiments, oldest first, a page at a time")
async def list_experiments(
    request: Request,
    status: Literal["planning", "running", "completed", "abandoned"] | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(pattern=r"^[0-9]{1,18}$")] = None,
    _: Caller = Reader,
) -> dict[str, Any]:
    items, next_seq = await _experiments(request).list(status=status, after=int(cursor or 0), limit=limit)
    return {"items": [present(e) for e in items], "next_cursor": None if next_seq is None else str(next_seq)}


@router.get("/experiments/{experiment_id}", summary="One experiment")
async def get_experiment(request: Request, experiment_id: uuid.UUID, _: Caller = Reader) -> dict[str, Any]:
    return present(await _experiments(request).get(experiment_id))


# -- commands -------------------------------------------------------------------------------------


async def _act(request: Request, experiment_id: uuid.UUID, command) -> dict[str, Any]:
    experiment = await _experiments(request).act(experiment_id, command, causation=_request_id(request))
    return present(experiment)


@router.post("/experiments/{experiment_id}/plan", summary="Plan (or re-plan) an experiment still in planning")
async def plan(request: Request, experiment_id: uuid.UUID, body: PlanIn, _: Caller = Runner, __: str = Person):
    measure = Measure(**body.measure.model_dump())
    return await _act(request, experiment_id, lambda e, today: e.plan(
        hypothesis=body.hypothesis, measure=measure, starts_on=body.starts_on, ends_on=body.ends_on,
        squad_size=body.squad_size, budget_gbp=body.budget_gbp, staff_days=body.staff_days,
    ))


@router.post("/experiments/{experiment_id}/start", summary="Start a planned experiment today")
async def start(request: Request, experiment_id: uuid.UUID, _: Caller = Runner, __: str = Person):
    return await _act(request, experiment_id, lambda e, today: e.start(today))


@router.post("/experiments/{experiment_id}/measurements", summary="Record a measurement of a running experiment")
async def record_measurement(
    request: Request, experiment_id: uuid.UUID, body: MeasurementIn, _: Caller = Runner, __: str = Person,
):
    measurement = Measurement(body.measured_on, body.value, body.note)
    return await _act(request, experiment_id, lambda e, today: e.record_measurement(measurement, today))


@router.post("/experiments/{experiment_id}/reschedule", summary="Move the end date, with a reason")
async def reschedule(request: Request, experiment_id: uuid.UUID, body: RescheduleIn, _: Caller = Runner,
                     __: str = Person):
    return await _act(request, experiment_id, lambda e, today: e.reschedule(body.ends_on, body.reason))


@router.post("/experiments/{experiment_id}/complete", summary="Complete a running experiment with its outcome")
async def complete(request: Request, experiment_id: uuid.UUID, body: CompleteIn, _: Caller = Runner,
                   __: str = Person):
    outcome = Outcome(
        outcome_id=uuid.uuid4(), result=body.result, summary=body.summary, learnings=tuple(body.learnings),
        recommendation=body.recommendation, **body.benefits.model_dump(),
    )
    return await _act(request, experiment_id, lambda e, today: e.complete(outcome, today))


@router.post("/experiments/{experiment_id}/abandon", summary="Abandon an experiment, with a reason")
async def abandon(request: Request, experiment_id: uuid.UUID, body: AbandonIn, _: Caller = Decider,
                  __: str = Person):
    return await _act(request, experiment_id, lambda e, today: e.abandon(body.reason))


@router.post("/adoptions", status_code=201, summary="Adopt another department's recorded outcome")
async def adopt(request: Request, body: AdoptionIn, _: Caller = Adopter, person: str = Person) -> dict[str, Any]:
    adoption_id = await _experiments(request).adopt(
        origin_department=body.origin_department, origin_outcome_id=body.origin_outcome_id,
        adopted_by=person, note=body.note, causation=_request_id(request),
    )
    return {
        "adoption_id": str(adoption_id), "origin_department": body.origin_department,
        "origin_outcome_id": str(body.origin_outcome_id),
        "adopting_department": runtime_of(request).settings.department, "adopted_by": person, "note": body.note,
    }


def present(e: Experiment) -> dict[str, Any]:
    return {
        "experiment_id": str(e.experiment_id),
        "idea_id": str(e.idea_id),
        "status": e.status,
        "overdue": e.overdue,
        "budget_gbp": e.budget_gbp,
        "staff_days": e.staff_days,
        "timebox_weeks": e.timebox_weeks,
        "hypothesis": e.hypothesis,
        "measure": None if e.measure is None else dict(e.measure.__dict__),
        "starts_on": e.starts_on.isoformat(),
        "ends_on": e.ends_on.isoformat(),
        "squad_size": e.squad_size,
        "started_on": e.started_on and e.started_on.isoformat(),
        "completed_on": e.completed_on and e.completed_on.isoformat(),
        "abandon_reason": e.abandon_reason,
        "measurements": [
            {"measured_on": m.measured_on.isoformat(), "value": m.value, "note": m.note} for m in e.measurements
        ],
        "outcome": None if e.outcome is None else {
            "outcome_id": str(e.outcome.outcome_id), "result": e.outcome.result, "summary": e.outcome.summary,
            "learnings": list(e.outcome.learnings), "recommendation": e.outcome.recommendation,
            "benefits": {
                "cash_savings_gbp_per_year": e.outcome.cash_savings_gbp_per_year,
                "hours_saved_per_year": e.outcome.hours_saved_per_year,
                "people_affected": e.outcome.people_affected,
            },
        },
    }
