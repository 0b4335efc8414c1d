"""A consumer whose Kafka client fails is restarted with growing pauses and a log line each time,
never in a silent hot loop, and stops when asked."""

import asyncio

from shared.consumer import RESTARTS, Backoff, EventConsumer, Subscription
from tests.support.ports import free_port
from tests.support.waiting import eventually


def test_the_pause_grows_to_its_cap():
    backoff = Backoff(first_delay=0.2, max_delay=10.0)
    assert [backoff.delay(n) for n in (1, 2, 3, 4, 5, 6, 7, 8)] == [0.2, 0.4, 0.8, 1.6, 3.2, 6.4, 10.0, 10.0]


def _restarts(name: str) -> float:
    return RESTARTS.labels(name)._value.get()  # noqa: SLF001 - the counter's current value


async def test_a_client_that_cannot_start_is_restarted_with_backoff_until_stopped():
    name = "restart-test"
    consumer = EventConsumer(service="test", name=name, pool=None, producer=None)  # never reached
    subscription = Subscription(consumer, "innovation.t.ideas.v1", group_id="restart-test",
                                client_options={"bootstrap_servers": f"127.0.0.1:{free_port()}",
                                                "request_timeout_ms": 1000},
                                backoff=Backoff(first_delay=0.05, max_delay=0.2))
    before = _restarts(name)
    task = asyncio.create_task(subscription.run())
    await eventually(lambda: _value(_restarts(name) >= before + 3), what="three restarts", timeout=60)
    subscription.stop()
    await asyncio.wait_for(task, 30)
    assert task.result() is None


async def _value(value):
    return value
