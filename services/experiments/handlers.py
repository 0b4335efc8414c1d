"""Use cases: load, call the domain, save and enqueue the events in one transaction.

The HTTP routes, the consumers and the time-box task all come through here.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any, Protocol

import asyncpg

from services.experiments import repository
from services.experiments.domain import Experiment, adopt
from shared.consumer import Rejected
from shared.events import Event, EventData, IdeaBacked, IdeaWithdrawn, OutcomeRecorded, new_event
from shared.logging import get_logger
from shared.outbox import enqueue
from shared.refusals import Conflict, NotFound

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


Change = Callable[[Experiment, date], None]  # a domain method applied to the loaded experiment, given today


@dataclass
class Experiments:
    """The experiments of one department, and what may be done to them."""

    pool: asyncpg.Pool
    department: str
    clock: Clock

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
        if experiment.idea_withdrawn():
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

    # -- commands from people ------------------------------------------------------------------

    async def act(self, experiment_id: uuid.UUID, change: Change, *, causation: str) -> Experiment:
        """Applies one change to one experiment: its row is locked, so its events commit in order."""
        async with self.pool.acquire() as conn, conn.transaction():
            experiment = await repository.get(conn, experiment_id, for_update=True)
            if experiment is None:
                raise UnknownExperiment(experiment_id)
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
        await repository.update(conn, experiment)
        await enqueue(conn, [
            self._event(data, correlation=experiment.correlation_id, causation=causation)
            for data in experiment.take_events()
        ])

    def _event(self, data: EventData, *, correlation: str, causation: str | None) -> Event[Any]:
        return new_event(data, department=self.department, service=SERVICE, correlationid=correlation,
                         causationid=causation)
