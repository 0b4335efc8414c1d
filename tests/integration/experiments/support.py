"""Running the experiments service in a test against the real broker and database, on a clock
the test moves."""

import contextlib
from collections.abc import AsyncIterator, Iterable
from datetime import date
from typing import Any

from services.experiments.config import ExperimentsSettings
from services.experiments.main import build
from shared.events.topics import intake_topic, topic_name
from tests.support.kafka import create_topics
from tests.support.services import RunningService, serving


class FakeClock:
    def __init__(self, today: date | None = None) -> None:
        self.now = today or date.today()

    def today(self) -> date:
        return self.now


@contextlib.asynccontextmanager
async def running_experiments(
    kafka_bootstrap: str, dsn: str, department: str, *, outcomes_of: Iterable[str] = (), clock: FakeClock | None = None,
    **settings: Any,
) -> AsyncIterator[RunningService]:
    """The service of `department`, its catalogue restricted to the outcomes topics of `outcomes_of`
    (and its own); topics are created first, so the pattern subscription sees them at once."""
    departments = sorted({department, *outcomes_of})
    await create_topics(kafka_bootstrap, topic_name(department, "ideas"), topic_name(department, "experiments"),
                        *(topic_name(d, "outcomes") for d in departments),
                        *(intake_topic(department, stream) for stream in ("experiments", "outcomes")))
    pattern = r"^innovation\.(" + "|".join(departments) + r")\.outcomes\.v1$"
    config = ExperimentsSettings(
        department=department, database_url=dsn, kafka_bootstrap_servers=kafka_bootstrap,
        outcomes_pattern=pattern, **{"overdue_check_seconds": 0.2, **settings},
    )
    async with serving(build(config, clock=clock or FakeClock()), dsn, department, "http://experiments") as service:
        yield service
