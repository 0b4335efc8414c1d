"""The one consumer of the reporting service: every department's streams, by topic pattern, in batches."""

from collections.abc import Sequence

import asyncpg
from aiokafka import ConsumerRecord

from services.reporting.domain import project
from services.reporting.repository import save
from shared.consumer import TRANSIENT_ERRORS, EventConsumer, subscribe
from shared.events import Event
from shared.logging import get_logger
from shared.runtime import Runtime

log = get_logger(__name__)


async def _apply_one(conn: asyncpg.Connection, event: Event) -> None:
    await save(conn, project([event]))


class ReadModelConsumer(EventConsumer):
    """Applies a whole batch in bulk. The base class has already decoded it (dead-lettering what does not
    decode) and filtered redeliveries through the inbox, in the transaction this runs in."""

    def __init__(self, **kwargs) -> None:
        super().__init__(apply=_apply_one, **kwargs)

    async def apply_events(self, conn: asyncpg.Connection, events: Sequence[tuple[ConsumerRecord, Event]]) -> None:
        if not events:
            return
        try:
            async with conn.transaction():  # a savepoint: a failed bulk write leaves the batch's transaction usable
                await save(conn, project(event for _, event in events))
        except TRANSIENT_ERRORS:
            raise
        except Exception as error:
            # A lasting failure: apply one by one so the base class can dead-letter the event at fault.
            log.warning("bulk apply failed; applying the batch event by event", consumer=self.name, error=repr(error))
            await super().apply_events(conn, events)


def new_consumer(runtime: Runtime) -> ReadModelConsumer:
    return ReadModelConsumer(service="reporting", name=runtime.settings.consumer_name, pool=runtime.pool,
                             producer=runtime.producer)


async def attach(runtime: Runtime) -> None:
    settings = runtime.settings
    consumer = new_consumer(runtime)
    subscribe(
        runtime.broker, consumer, group_id=settings.group_id, pattern=settings.topic_pattern,
        batch=True, max_records=settings.batch_max_records,
        description="Every department's ideas, experiments and outcomes streams, into the central read models",
    )
    runtime.extras["consumer"] = consumer
