"""HTTP routes: authenticate, name the acting person, call the handlers, shape the answer.

Roles: any key of the department reads; contributors and reviewers (and admins) plan, start,
measure, reschedule and complete; reviewers and admins abandon and adopt. A key of another
department finds nothing here (404).
"""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Request

from services.experiments import repository
from services.experiments.domain import Experiment, Measure, Measurement, Outcome
from services.experiments.handlers import Change, Experiments, UnknownExperiment
from services.experiments.schemas import (
    Abandon,
    AdoptionOut,
    Adopt,
    Complete,
    ExperimentOut,
    ExperimentPage,
    Plan,
    RecordMeasurement,
    Reschedule,
)
from shared.auth import Caller, acting_person, department_member
from shared.paging import Cursor, Limit, page, position_of
from shared.runtime import runtime_of

router = APIRouter(prefix="/v1", tags=["experiments"])


def member(*roles: str, on_experiment: bool = True):
    # Another department's key is told what an unknown experiment's id would be told: there is none here.
    return department_member(*roles, hidden_as=UnknownExperiment if on_experiment else None)


def handlers(request: Request) -> Experiments:
    return runtime_of(request).handlers


Reader = Annotated[Caller, Depends(member())]
Runner = Annotated[Caller, Depends(member("contributor", "reviewer"))]
Decider = Annotated[Caller, Depends(member("reviewer"))]
Adopter = Annotated[Caller, Depends(member("reviewer", on_experiment=False))]
Handlers = Annotated[Experiments, Depends(handlers)]
Person = Annotated[str, Depends(acting_person)]

_RESPONSES = {
    400: {"description": "X-Person-Ref missing or malformed"},
    401: {"description": "missing, unknown or revoked API key"},
    403: {"description": "the key's role may not do this"},
    404: {"description": "no such experiment in this department"},
    409: {"description": "the experiment's state does not allow this; the body names the state and the reason"},
}


def experiment_out(e: Experiment) -> ExperimentOut:
    outcome = e.outcome and {**vars(e.outcome), "benefits": e.outcome}
    return ExperimentOut.model_validate({**vars(e), "outcome": outcome}, from_attributes=True)


# -- reads ----------------------------------------------------------------------------------------


@router.get("/experiments", response_model=ExperimentPage, responses=_RESPONSES,
            summary="The department's experiments, oldest first, a page at a time")
async def list_experiments(
    request: Request,
    caller: Reader,
    status: Literal["planning", "running", "completed", "abandoned"] | None = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> ExperimentPage:
    rows = await repository.list_experiments(runtime_of(request).pool, status=status, after=position_of(cursor),
                                             limit=limit + 1)
    rows, next_cursor = page(rows, limit, lambda row: row.position)
    return ExperimentPage(items=[experiment_out(r.experiment) for r in rows], next_cursor=next_cursor)


@router.get("/experiments/{experiment_id}", response_model=ExperimentOut, responses=_RESPONSES,
            summary="One experiment")
async def get_experiment(experiment_id: uuid.UUID, request: Request, caller: Reader) -> ExperimentOut:
    experiment = await repository.get(runtime_of(request).pool, experiment_id)
    if experiment is None:
        raise UnknownExperiment(experiment_id)
    return experiment_out(experiment)


# -- commands -------------------------------------------------------------------------------------


async def _act(request: Request, handlers: Experiments, experiment_id: uuid.UUID, change: Change) -> ExperimentOut:
    experiment = await handlers.act(experiment_id, change, causation=request.state.correlation_id)
    return experiment_out(experiment)


@router.post("/experiments/{experiment_id}/plan", response_model=ExperimentOut, responses=_RESPONSES,
             summary="Plan (or re-plan) an experiment still in planning")
async def plan(experiment_id: uuid.UUID, body: Plan, request: Request, caller: Runner, person: Person,
               handlers: Handlers) -> ExperimentOut:
    measure = Measure(**body.measure.model_dump())
    squad = handlers.people(body.squad)
    return await _act(request, handlers, experiment_id, lambda e, today: e.plan(
        hypothesis=body.hypothesis, measure=measure, starts_on=body.starts_on, ends_on=body.ends_on,
        squad_size=body.squad_size, budget_gbp=body.budget_gbp, staff_days=body.staff_days, by=person, squad=squad,
    ))


@router.post("/experiments/{experiment_id}/start", response_model=ExperimentOut, responses=_RESPONSES,
             summary="Start a planned experiment today")
async def start(experiment_id: uuid.UUID, request: Request, caller: Runner, person: Person,
                handlers: Handlers) -> ExperimentOut:
    return await _act(request, handlers, experiment_id, lambda e, today: e.start(today, by=person))


@router.post("/experiments/{experiment_id}/measurements", response_model=ExperimentOut, responses=_RESPONSES,
             summary="Record a measurement of a running experiment")
async def record_measurement(experiment_id: uuid.UUID, body: RecordMeasurement, request: Request, caller: Runner,
                             person: Person, handlers: Handlers) -> ExperimentOut:
    measurement = Measurement(body.measured_on, body.value, body.note, recorded_by=person)
    return await _act(request, handlers, experiment_id, lambda e, today: e.record_measurement(measurement, today))


@router.post("/experiments/{experiment_id}/reschedule", response_model=ExperimentOut, responses=_RESPONSES,
             summary="Move the end date, with a reason")
async def reschedule(experiment_id: uuid.UUID, body: Reschedule, request: Request, caller: Runner, person: Person,
                     handlers: Handlers) -> ExperimentOut:
    return await _act(request, handlers, experiment_id, lambda e, today: e.reschedule(body.ends_on, body.reason,
                                                                                     by=person))


@router.post("/experiments/{experiment_id}/complete", response_model=ExperimentOut, responses=_RESPONSES,
             summary="Complete a running experiment with its outcome")
async def complete(experiment_id: uuid.UUID, body: Complete, request: Request, caller: Runner, person: Person,
                   handlers: Handlers) -> ExperimentOut:
    outcome = Outcome(
        outcome_id=uuid.uuid4(), result=body.result, summary=body.summary, learnings=body.learnings,
        recommendation=body.recommendation, recorded_by=person, **body.benefits.model_dump(),
    )
    return await _act(request, handlers, experiment_id, lambda e, today: e.complete(outcome, today, by=person))


@router.post("/experiments/{experiment_id}/abandon", response_model=ExperimentOut, responses=_RESPONSES,
             summary="Abandon an experiment, with a reason")
async def abandon(experiment_id: uuid.UUID, body: Abandon, request: Request, caller: Decider, person: Person,
                  handlers: Handlers) -> ExperimentOut:
    return await _act(request, handlers, experiment_id, lambda e, today: e.abandon(body.reason, by=person))


@router.post("/adoptions", status_code=201, response_model=AdoptionOut, responses=_RESPONSES,
             summary="Adopt another department's recorded outcome")
async def adopt(body: Adopt, request: Request, caller: Adopter, person: Person, handlers: Handlers) -> AdoptionOut:
    adoption_id = await handlers.adopt(
        origin_department=body.origin_department, origin_outcome_id=body.origin_outcome_id,
        adopted_by=person, note=body.note, causation=request.state.correlation_id,
    )
    return AdoptionOut(adoption_id=adoption_id, adopting_department=handlers.department, adopted_by=person,
                       **body.model_dump())
