"""The one consumer of the reporting service: every department's streams, by topic pattern, in batches."""

from collections.abc import Sequence
from typing import Any

import asyncpg
from aiokafka import ConsumerRecord

from services.reporting.domain import Changes, project
from services.reporting.repository import save
from shared.consumer import Consumes, EventConsumer, Letter, is_content_failure
from shared.events import Event
from shared.logging import get_logger
from shared.runtime import Runtime

log = get_logger(__name__)


async def _apply_one(conn: asyncpg.Connection, event: Event) -> None:
    await save(conn, project([event]))


class ReadModelConsumer(EventConsumer):
    """Applies a whole batch in bulk (one event at a time, `_apply_one`, only if the database refuses the
    bulk write). The base class has already decoded it (dead-lettering what does not decode) and filtered
    redeliveries through the inbox, in the transaction this runs in. The batch's projection is computed
    ahead, while the batch before it is written; it is used when none of the batch was a redelivery."""

    def ahead(self, decoded: Sequence[tuple[ConsumerRecord, Event]]) -> Changes:
        return project(event for _, event in decoded)

    async def apply_events(self, conn: asyncpg.Connection, events: Sequence[tuple[ConsumerRecord, Event]],
                           ahead: Any = None) -> list[Letter]:
        try:
            async with conn.transaction():  # a savepoint: a refused bulk write leaves the batch's transaction usable
                await save(conn, ahead if ahead is not None else project(event for _, event in events))
            return []
        except Exception as error:
            if not is_content_failure(error):
                raise
            # The database refused some event's data: apply one by one, so that only that event is dead-lettered.
            log.warning("bulk apply refused; applying the batch event by event", consumer=self.name, error=repr(error))
            return await super().apply_events(conn, events)


def declare(runtime: Runtime) -> list[Consumes]:
    settings = runtime.settings
    return [Consumes(settings.consumer_name, group_id=settings.group_id, apply=_apply_one, consumer=ReadModelConsumer,
                     pattern=settings.topic_pattern, max_records=settings.batch_max_records,
                     description="Every department's ideas, experiments and outcomes streams, into the central read models")]
