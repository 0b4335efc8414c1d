"""The fault suite's harness: a consumer under test (the reporting projection or the experiments
service's ideas consumer) run as a real process, and servers of the module's own for the faults
that must not touch the shared ones."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiokafka.errors import KafkaError

from services.experiments.consumers import IDEAS_CONSUMER, ideas_group
from shared.db import database_name
from shared.events import Event
from shared.events.topics import topic_name
from tests.support.db import fetchval
from tests.support.events import backed, submitted
from tests.support.kafka import consumer_lag, create_topics, dead_letters, publish
from tests.support.own_broker import OwnBroker
from tests.support.own_postgres import OwnPostgres
from tests.support.processes import ServiceProcess, experiments_process, reporting_process
from tests.support.waiting import eventually

KINDS = ("reporting", "experiments")
STREAMS = ("ideas", "experiments", "outcomes")


@dataclass
class Target:
    """One consumer under test, fed with fresh valid events on its department's ideas topic."""

    kind: str
    department: str
    bootstrap: str
    dsn: str
    process: ServiceProcess
    service: str  # its dead letters go to innovation.dlq.<service>
    consumer: str  # its inbox and metrics name
    group_id: str
    effects: tuple[str, ...]  # queries of its state, each equal to the number of events applied once

    @property
    def topic(self) -> str:
        return topic_name(self.department, "ideas")

    @property
    def database(self) -> str:
        return database_name(self.dsn)

    @property
    def admin_dsn(self) -> str:
        """The same server, another database: where sessions of this one are ended from."""
        return self.dsn.rsplit("/", 1)[0] + "/postgres"

    def event(self) -> Event[Any]:
        """A fresh valid event this consumer applies: a new idea (reporting), a new backing (experiments)."""
        if self.kind == "reporting":
            return submitted(self.department)
        return backed(self.department, uuid.uuid4())

    async def publish(self, count: int) -> list[Event[Any]]:
        """`count` fresh events, spread over the topic's partitions by key, acknowledged by the broker."""
        events = [self.event() for _ in range(count)]
        await publish(self.bootstrap, *events)
        return events

    async def applied(self) -> int:
        return await fetchval(self.dsn, "SELECT count(*) FROM inbox WHERE consumer = $1", self.consumer)

    async def counts(self) -> dict[str, int]:
        counts = {"inbox rows": await self.applied()}
        for query in self.effects:
            counts[query] = await fetchval(self.dsn, query)
        return counts

    async def retries(self) -> float:
        return await self.process.metric("consumer_retries_total", consumer=self.consumer) or 0

    async def caught_up(self, timeout: float = 180.0) -> None:
        """Waits until the group's committed offsets reach the end of the topic, the service alive
        throughout. A correct consumer commits only what it applied or dead-lettered, so from then on
        its state must be complete: what follows checks that at once, without waiting further."""
        async def committed_to_end() -> bool:
            assert self.process.running, f"the service died: {self.process.log_tail()}"
            return await self._lag() == 0

        try:
            await eventually(committed_to_end, timeout=timeout, what=f"{self.consumer} to commit to the end")
        except AssertionError as error:
            raise AssertionError(f"{error}; counts now {await self.counts()}\n{self.process.log_tail()}") from None

    async def _lag(self) -> int | None:
        """The group's lag; None while the broker cannot tell. Just back from a fault it fails our own
        clients too, down to cancelling their internal tasks: a task of its own keeps that from us."""
        check = asyncio.create_task(consumer_lag(self.bootstrap, self.group_id, self.topic))
        await asyncio.wait({check})
        if check.cancelled():
            return None
        if isinstance(check.exception(), KafkaError):
            return None
        return check.result()

    async def assert_applied_once(self, count: int) -> None:
        counts = await self.counts()
        assert counts == dict.fromkeys(counts, count), f"expected {count} events applied exactly once: {counts}"

    async def settle(self, published: int) -> None:
        """After a fault: offsets at the end, every event applied exactly once, nothing dead-lettered,
        and the consumer no longer shown as stalled."""
        await self.caught_up()
        await self.assert_applied_once(published)
        assert await dead_letters(self.bootstrap, self.service, self.topic) == []
        await self.assert_not_stalled()

    async def assert_not_stalled(self) -> None:
        # Absent until the consumer first fails: a consumer that never stalled need not show it.
        assert not await self.process.metric("consumer_stalled", consumer=self.consumer), "shown as stalled"


MakeTarget = Callable[..., Awaitable[Target]]


@pytest.fixture(params=KINDS)
def kind(request) -> str:
    return request.param


@pytest.fixture
async def make_target(department: str, tmp_path: Path, new_database) -> AsyncIterator[MakeTarget]:
    """Builds the consumer of `kind` for the test's department on the given broker and database, `env`
    added to its environment (topics created, process not started); stops every process it made at the
    end, before `new_database` drops the test's databases."""
    made: list[Target] = []

    async def make(kind: str, *, dsn: str, bootstrap: str, batch: int = 50, **env: str) -> Target:
        await create_topics(bootstrap, *(topic_name(department, stream) for stream in STREAMS))
        log = tmp_path / f"{kind}-{len(made)}.log"
        if kind == "reporting":
            group_id = f"reporting-faults-{uuid.uuid4().hex[:8]}"
            pattern = rf"^innovation\.{re.escape(department)}\.({'|'.join(STREAMS)})\.v1$"
            process = reporting_process(dsn=dsn, bootstrap=bootstrap, pattern=pattern, group_id=group_id, log=log,
                                        REPORTING_BATCH_MAX_RECORDS=str(batch), **env)
            target = Target(kind, department, bootstrap, dsn, process, service="reporting", consumer="reporting",
                            group_id=group_id, effects=("SELECT count(*) FROM ideas",
                                                        "SELECT coalesce(sum(events), 0) FROM departments"))
        else:
            process = experiments_process(dsn=dsn, bootstrap=bootstrap, department=department, log=log,
                                          CONSUMER_MAX_RECORDS=str(batch), **env)
            target = Target(kind, department, bootstrap, dsn, process, service="experiments", consumer=IDEAS_CONSUMER,
                            group_id=ideas_group(department), effects=("SELECT count(*) FROM experiments",))
        made.append(target)
        return target

    try:
        yield make
    finally:
        for target in made:
            target.process.stop()


@pytest.fixture(scope="module")
def own_postgres():
    """A PostgreSQL server for the module's tests only: it is killed, stopped and started."""
    server = OwnPostgres(prefix="faults-postgres-")
    try:
        server.start()
        yield server
    finally:
        server.remove()


@pytest.fixture(scope="module")
def own_broker():
    """A Kafka broker for the module's tests only: it is paused."""
    broker = OwnBroker(prefix="faults-broker-")
    try:
        broker.start()
        yield broker
    finally:
        broker.remove()
