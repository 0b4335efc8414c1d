"""A broker outage delays events and never drops them. Uses a broker of its own (other ports,
its own state directory): the shared broker other tests use is never stopped."""

import pytest

from shared.events.topics import topic_name
from tests.integration.ideas.conftest import running, settings_for, submit, unsent
from tests.integration.ideas.test_delivery import activity, assert_published_in_order, drained, outbox_order
from tests.support.kafka import create_topics, read_records
from tests.support.own_broker import OwnBroker


@pytest.fixture
def own_broker():
    broker = OwnBroker(prefix="ideas-outage-")
    broker.start()
    try:
        yield broker
    finally:
        broker.remove()


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
