"""A broker outage delays events and never drops them. Uses a broker of its own (other ports,
its own state directory): the shared broker other tests use is never stopped."""

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile

import pytest

from shared.events.topics import topic_name
from tests.integration.ideas.conftest import running, settings_for, submit, unsent
from tests.integration.ideas.test_delivery import activity, assert_published_in_order, drained, outbox_order
from tests.support.infra import ROOT
from tests.support.kafka import create_topics, read_records


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class OwnBroker:
    def __init__(self) -> None:
        self.run_dir = tempfile.mkdtemp(prefix="ideas-outage-")
        self.port, self.controller_port = _free_port(), _free_port()
        self.bootstrap = f"127.0.0.1:{self.port}"

    def _script(self, command: str) -> None:
        env = {**os.environ, "INNOVATION_RUN_DIR": self.run_dir, "KAFKA_PORT": str(self.port),
               "KAFKA_CONTROLLER_PORT": str(self.controller_port), "KAFKA_HEAP": "384m"}
        result = subprocess.run(["bash", str(ROOT / "deploy" / "kafka.sh"), command], env=env,
                                capture_output=True, text=True, timeout=180)
        assert result.returncode == 0, f"kafka.sh {command}: {result.stderr}"

    def start(self) -> None:
        self._script("start")

    def stop(self) -> None:
        self._script("stop")


@pytest.fixture
def own_broker():
    broker = OwnBroker()
    broker.start()
    try:
        yield broker
    finally:
        with contextlib.suppress(Exception):
            broker.stop()
        shutil.rmtree(broker.run_dir, ignore_errors=True)


async def test_submissions_are_accepted_while_the_broker_is_down_and_arrive_in_order_after(
        own_broker, new_database, department):
    dsn = await new_database("outage")
    topic = topic_name(department, "ideas")
    await create_topics(own_broker.bootstrap, topic)
    async with running(settings_for(dsn, department, own_broker.bootstrap)) as ideas:
        await submit(ideas, "Before the outage")
        await drained(ideas)

        own_broker.stop()
        await activity(ideas, ideas=6, endorsements=2)  # every call answered 201 with the broker down
        assert await unsent(ideas) == 18

        own_broker.start()
        await drained(ideas, timeout=120)
        expected = await outbox_order(ideas)
    records = await read_records(own_broker.bootstrap, topic, count=19, timeout=60)
    assert_published_in_order(records, expected, duplicates_allowed=True)
