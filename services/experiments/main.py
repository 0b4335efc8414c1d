"""Composition root of the experiments service."""

import asyncio
from pathlib import Path

from fastapi import FastAPI

from services.experiments import consumers
from services.experiments.config import ExperimentsSettings
from services.experiments.handlers import Clock, Experiments, SystemClock
from services.experiments.http import router
from shared.logging import get_logger
from shared.runtime import Runtime, ServiceSpec, create_app, serve

log = get_logger(__name__)


def build(settings: ExperimentsSettings | None = None, *, clock: Clock | None = None) -> FastAPI:
    """The app; tests inject a clock so that time boxes pass without waiting for real dates."""
    settings = settings or ExperimentsSettings()
    clock = clock or SystemClock()

    def handlers(runtime: Runtime) -> Experiments:
        return Experiments(pool=runtime.pool, department=settings.department, clock=clock,
                           pseudonym_secret=settings.pseudonym_secret)

    async def enforce_time_box(runtime: Runtime) -> None:
        """Marks experiments overdue as their end dates pass; safe with any number of replicas."""
        experiments: Experiments = runtime.handlers
        while True:
            try:
                while await experiments.mark_overdue(limit=100) == 100:
                    pass
            except Exception as error:  # the database may be away: try again next round
                log.warning("time-box check failed; will retry", error=repr(error))
            await asyncio.sleep(settings.overdue_check_seconds)

    spec = ServiceSpec(
        name="experiments",
        title="Innovation network: experiments",
        migrations=Path(__file__).parent / "migrations",
        routers=(router,),
        relay=True,
        handlers=handlers,
        consumers=consumers.declare,
        background=(enforce_time_box,),
        broker_options={"metadata_max_age_ms": settings.metadata_max_age_ms},
    )
    return create_app(spec, settings)


def main() -> None:
    settings = ExperimentsSettings()
    serve("services.experiments.main:build", settings)
