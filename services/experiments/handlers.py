"""Use cases: load, call the domain, save and enqueue the events in one transaction.

The HTTP routes, the consumers and the time-box task all come through here. The HTTP API and the
time box make new events; the department's intake (`apply_intake`) brings a project tool's own
events, applied with the same domain rules and published as they are.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any, Protocol

import asyncpg

from services.experiments import repository
from services.experiments.domain import Experiment, InvalidInput, Measure, Measurement, Outcome, adopt
from shared.consumer import Rejected
from shared.events import (
    Event,
    EventData,
    ExperimentAbandoned,
    ExperimentCompleted,
    ExperimentPlanned,
    ExperimentRescheduled,
    ExperimentStarted,
    IdeaBacked,
    IdeaWithdrawn,
    MeasurementRecorded,
    OutcomeRecorded,
    new_event,
)
from shared.events.pseudonym import pseudonymise
from shared.logging import get_logger
from shared.outbox import enqueue
from shared.refusals import Conflict, Forbidden, Invalid, NotFound

SERVICE = "experiments"
log = get_logger(__name__)


class Clock(Protocol):
    def today(self) -> date: ...


class SystemClock:
    def today(self) -> date:
        return datetime.now(timezone.utc).date()


class UnknownExperiment(NotFound):
    """No such experiment here; without an id, what a key of another department is told about any."""

    def __init__(self, experiment_id: uuid.UUID | None = None) -> None:
        super().__init__("experiment not found", field="experiment_id", rule="an experiment of this department",
                         **({"experiment_id": str(experiment_id)} if experiment_id else {}))


class UnknownOutcome(NotFound):
    def __init__(self, origin_department: str, origin_outcome_id: uuid.UUID) -> None:
        reason = f"no recorded outcome {origin_outcome_id} from department {origin_department} is known here"
        super().__init__(reason, field="origin_outcome_id", rule="a recorded outcome", reason=reason)


class AlreadyAdopted(Conflict):
    def __init__(self, origin_department: str, origin_outcome_id: uuid.UUID) -> None:
        super().__init__(f"this department already adopted outcome {origin_outcome_id} of {origin_department}",
                         field="origin_outcome_id", rule="adopted once")


class OtherDepartment(Forbidden):
    def __init__(self, department: str, ours: str) -> None:
        super().__init__(f"an event of department {department!r} on the intake of {ours!r}", field="department",
                         rule="this service's department", department=department)


class HalfAlreadyHeld(Conflict):
    def __init__(self, held: Event[Any]) -> None:
        super().__init__(f"the experiment already holds {held.type} {held.id} from the intake, waiting for its "
                         "partner", field="type", rule="one experiment.completed and one outcome.recorded",
                         held_event_id=str(held.id))


class NotAsRecorded(Invalid):
    """The event says something else than what the domain records for the same command."""

    def __init__(self, event_type: str, fields: list[str]) -> None:
        super().__init__(f"{event_type} does not match what the experiment records ({', '.join(fields)})",
                         field=fields[0] if fields else "data", rule="as the domain records it")


Change = Callable[[Experiment, date], None]  # a domain method applied to the loaded experiment, given today


@dataclass
class Experiments:
    """The experiments of one department, and what may be done to them."""

    pool: asyncpg.Pool
    department: str
    clock: Clock
    pseudonym_secret: str = ""  # names people from the department's own references (the squad on a plan)

    def people(self, person_refs: list[str]) -> tuple[str, ...]:
        """The pseudonyms of people named in a request body, in order (the acting person's comes from
        shared.auth)."""
        return tuple(pseudonymise(self.pseudonym_secret, ref) for ref in person_refs)

    # -- from the department's ideas stream --------------------------------------------------

    async def apply_idea_event(self, conn: asyncpg.Connection, event: Event[Any]) -> None:
        if isinstance(event.data, IdeaBacked):
            await self.open_from_backing(conn, event)
        elif isinstance(event.data, IdeaWithdrawn):
            await self.idea_withdrawn(conn, event)
        # Every other idea event means nothing here; the inbox still records it as applied.

    async def open_from_backing(self, conn: asyncpg.Connection, event: Event[IdeaBacked]) -> None:
        data = event.data
        existing = await repository.get_by_idea(conn, data.idea_id)
        if existing is not None:
            raise Rejected(f"idea {data.idea_id} was already backed: it has experiment {existing.experiment_id}",
                           error_class="AlreadyBacked")
        experiment = Experiment.open_from_backing(
            department=self.department, idea_id=data.idea_id, budget_gbp=data.budget_gbp,
            staff_days=data.staff_days, timebox_weeks=data.timebox_weeks, correlation_id=event.correlationid,
            backed_on=event.time.date(),
        )
        if not await repository.insert(conn, experiment):
            raise Rejected(f"idea {data.idea_id} was already backed", error_class="AlreadyBacked")
        log.info("experiment opened", experiment_id=str(experiment.experiment_id), idea_id=str(data.idea_id))

    async def idea_withdrawn(self, conn: asyncpg.Connection, event: Event[IdeaWithdrawn]) -> None:
        experiment = await repository.get_by_idea(conn, event.data.idea_id, for_update=True)
        if experiment is None:
            # The usual case: an idea can only be withdrawn before it is backed, so it never had an experiment.
            return
        if experiment.idea_withdrawn(by=event.data.by):
            await self._save(conn, experiment, causation=str(event.id))
        else:
            log.info("idea withdrawn after its experiment left planning; the experiment carries on",
                     experiment_id=str(experiment.experiment_id), status=experiment.status)

    # -- from every department's outcomes streams ----------------------------------------------

    async def catalogue(self, conn: asyncpg.Connection, event: Event[Any]) -> None:
        if not isinstance(event.data, OutcomeRecorded):
            return  # adoptions are on the same topics; the catalogue holds recorded outcomes only
        data = event.data
        await repository.catalogue_outcome(conn, repository.CataloguedOutcome(
            department=event.department, outcome_id=data.outcome_id, experiment_id=data.experiment_id,
            idea_id=data.idea_id, result=data.result, summary=data.summary, recommendation=data.recommendation,
            event_id=event.id, correlation_id=event.correlationid, recorded_at=event.time,
        ))

    # -- from the department's project tools (its intake topics) --------------------------------

    async def apply_intake(self, conn: asyncpg.Connection, event: Event[Any]) -> None:
        """Applies a project tool's event on the locked experiment with the HTTP API's rules, in the consumer's
        transaction; a refusal is raised (the consumer dead-letters the event). Accepted, the event itself (id,
        source, correlation, cause, time, data) goes to the outbox with the change: this service stays the one
        writer of the canonical streams."""
        if event.department != self.department:  # decode checks the topic's department; this, the service's
            raise OtherDepartment(event.department, self.department)
        data = event.data
        if not isinstance(data, _INTAKE_EVENTS):
            raise Invalid(f"{data.event_type} is not accepted on the experiments intake", field="type",
                          rule=_ACCEPTED)
        experiment = await self._locked(conn, data.experiment_id)
        if isinstance(data, (ExperimentCompleted, OutcomeRecorded)):
            await self._complete_from_intake(conn, experiment, event)
            return
        _command_of(data)(experiment, self.clock.today())
        _as_recorded(experiment.take_events(), [event])
        experiment.remember(event.data, event.time)
        await repository.update(conn, experiment)
        await enqueue(conn, [event])
        log.info("intake event applied", event_type=event.type, source=event.source, subject=event.subject)

    async def _complete_from_intake(self, conn: asyncpg.Connection, experiment: Experiment,
                                    event: Event[Any]) -> None:
        """A tool completes an experiment with experiment.completed and outcome.recorded, on two topics, so in
        either order. The first is checked against the domain's rules and held; the second completes the
        experiment with both (the domain's `complete`), and the pair is enqueued together: the canonical
        streams carry each original once, only when the experiment is completed."""
        held = await repository.held_half(conn, experiment.experiment_id)
        if held is not None and type(held.data) is type(event.data):
            raise HalfAlreadyHeld(held)
        if held is None:
            if isinstance(event.data, OutcomeRecorded):
                experiment.check_completion(_outcome_of(event.data))
                if event.data.idea_id != experiment.idea_id:
                    raise NotAsRecorded(event.type, ["idea_id"])
            else:
                experiment.check_completion(on=_not_after(event.data.completed_on, self.clock.today(),
                                                          "completed_on"))
            await repository.hold_half(conn, event)
            log.info("intake completion half held", event_type=event.type, source=event.source,
                     subject=event.subject)
            return
        completed, recorded = (held, event) if isinstance(event.data, OutcomeRecorded) else (event, held)
        experiment.complete(_outcome_of(recorded.data),
                            _not_after(completed.data.completed_on, self.clock.today(), "completed_on"),
                            by=completed.data.by)
        _as_recorded(experiment.take_events(), [completed, recorded])
        experiment.remember(completed.data, completed.time)
        await repository.update(conn, experiment)
        await repository.drop_half(conn, experiment.experiment_id)
        await enqueue(conn, [completed, recorded])
        log.info("intake completion applied", experiment_id=str(experiment.experiment_id),
                 events=[str(completed.id), str(recorded.id)])

    async def _locked(self, conn: asyncpg.Connection, experiment_id: uuid.UUID) -> Experiment:
        """The experiment, its row locked until the transaction ends: one experiment's commands, from HTTP or
        the intake, commit one after the other."""
        experiment = await repository.get(conn, experiment_id, for_update=True)
        if experiment is None:
            raise UnknownExperiment(experiment_id)
        return experiment

    # -- commands from people ------------------------------------------------------------------

    async def act(self, experiment_id: uuid.UUID, change: Change, *, causation: str) -> Experiment:
        """Applies one change to one experiment: its row is locked, so its events commit in order."""
        async with self.pool.acquire() as conn, conn.transaction():
            experiment = await self._locked(conn, experiment_id)
            change(experiment, self.clock.today())
            await self._save(conn, experiment, causation=causation)
        return experiment

    async def adopt(
        self, *, origin_department: str, origin_outcome_id: uuid.UUID, adopted_by: str, note: str, causation: str,
    ) -> uuid.UUID:
        adoption_id = uuid.uuid4()
        adopted = adopt(
            adoption_id=adoption_id, adopting_department=self.department, origin_department=origin_department,
            origin_outcome_id=origin_outcome_id, adopted_by=adopted_by, note=note,
        )
        async with self.pool.acquire() as conn, conn.transaction():
            origin = await repository.find_outcome(conn, origin_department, origin_outcome_id)
            if origin is None:
                raise UnknownOutcome(origin_department, origin_outcome_id)
            if not await repository.insert_adoption(
                conn, adoption_id=adoption_id, origin_department=origin_department,
                origin_outcome_id=origin_outcome_id, adopted_by=adopted_by, note=note,
            ):
                raise AlreadyAdopted(origin_department, origin_outcome_id)
            # The adoption continues the origin's flow, so one idea can be traced across departments.
            await enqueue(conn, [self._event(adopted, correlation=origin.correlation_id, causation=causation)])
        return adoption_id

    # -- the time box ------------------------------------------------------------------------------

    async def mark_overdue(self, *, limit: int = 100) -> int:
        """Publishes experiment.overdue for experiments past their end date, each exactly once:
        marking and enqueueing commit together, and rows being marked elsewhere are skipped."""
        today = self.clock.today()
        async with self.pool.acquire() as conn, conn.transaction():
            due = await repository.lock_overdue(conn, today, limit)
            for experiment in due:
                if experiment.mark_overdue(today):
                    await self._save(conn, experiment, causation=None)
        return len(due)

    # -- saving ----------------------------------------------------------------------------------

    async def _save(self, conn: asyncpg.Connection, experiment: Experiment, *, causation: str | None) -> None:
        events = [self._event(data, correlation=experiment.correlation_id, causation=causation)
                  for data in experiment.take_events()]
        for event in events:
            experiment.remember(event.data, event.time)
        await repository.update(conn, experiment)
        await enqueue(conn, events)

    def _event(self, data: EventData, *, correlation: str, causation: str | None) -> Event[Any]:
        return new_event(data, department=self.department, service=SERVICE, correlationid=correlation,
                         causationid=causation)


_INTAKE_EVENTS = (ExperimentPlanned, ExperimentStarted, MeasurementRecorded, ExperimentRescheduled, ExperimentCompleted,
                  ExperimentAbandoned, OutcomeRecorded)
_ACCEPTED = ("experiment.planned, started, measurement_recorded, rescheduled, completed or abandoned, or "
             "outcome.recorded (experiment.overdue is this service's time box; adoptions come through its API)")


def _command_of(data: EventData) -> Change:
    """The domain command that records `data`: the HTTP API's, with the values and days the tool gives."""
    match data:
        case ExperimentPlanned():
            measure = Measure(**data.measure.model_dump())
            return lambda e, today: e.plan(
                hypothesis=data.hypothesis, measure=measure, starts_on=data.starts_on, ends_on=data.ends_on,
                squad_size=data.squad_size, budget_gbp=data.budget_gbp, staff_days=data.staff_days, by=data.by,
                squad=data.squad)
        case ExperimentStarted():
            return lambda e, today: e.start(_not_after(data.started_on, today, "started_on"), by=data.by)
        case MeasurementRecorded():
            measurement = Measurement(data.measured_on, data.value, data.note, recorded_by=data.by)
            return lambda e, today: e.record_measurement(measurement, today)
        case ExperimentRescheduled():
            return lambda e, today: e.reschedule(data.ends_on, data.reason, by=data.by)
        case ExperimentAbandoned():
            return lambda e, today: e.abandon(data.reason, by=data.by)
    raise AssertionError(f"no command for {data.event_type}")  # apply_intake accepts only _INTAKE_EVENTS


def _outcome_of(data: OutcomeRecorded) -> Outcome:
    return Outcome(outcome_id=data.outcome_id, result=data.result, summary=data.summary, learnings=data.learnings,
                   recommendation=data.recommendation, recorded_by=data.by, **data.benefits.model_dump())


def _not_after(day: date, today: date, field: str) -> date:
    """A day a tool says something happened on: the API's commands take today; a tool's, no later."""
    if day > today:
        raise InvalidInput(field, "not in the future")
    return day


def _as_recorded(recorded: list[EventData], events: list[Event[Any]]) -> None:
    """The tool's events are published as they are, so they must be what the domain recorded for them: the
    canonical stream, replayed through the domain, then gives the service's state."""
    if [type(data) for data in recorded] != [type(event.data) for event in events]:
        raise NotAsRecorded(events[0].type, ["type"])
    for data, event in zip(recorded, events):
        if data != event.data:
            mine, theirs = data.model_dump(), event.data.model_dump()
            raise NotAsRecorded(event.type, sorted(k for k in mine if mine[k] != theirs.get(k)))
