"""Nothing accepted is lost, nothing rolled back is published, one idea's events stay in order:
with a failing transaction, a relay killed between send and mark, two replicas, and a broker outage."""

import asyncio
import contextlib
import uuid
from collections import defaultdict

from shared.events import decode
from shared.events.topics import topic_name
from tests.integration.ideas.conftest import running, settings_for, submit, unsent
from tests.support.kafka import create_topics, read_records, topic_size


async def drained(service, timeout: float = 60) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while await unsent(service):
        assert loop.time() < deadline, f"the outbox did not drain: {await unsent(service)} rows unsent"
        await asyncio.sleep(0.05)


async def activity(service, ideas: int, endorsements: int, clients=None) -> list[str]:
    """Submits ideas and endorses each (concurrently across ideas, in turn within one);
    returns the idea ids. `clients` spreads the calls over several replicas."""
    clients = clients or [service]

    async def one(n: int) -> str:
        first = clients[n % len(clients)]
        idea = await submit(first, f"Idea {n}", person=f"author-{n}")
        for e in range(endorsements):
            via = clients[(n + e + 1) % len(clients)]
            response = await via.client.post(f"/v1/ideas/{idea['idea_id']}/endorsements",
                                             headers=via.headers("contributor", f"fan-{e}"))
            assert response.status_code == 201, response.text
        return idea["idea_id"]

    return list(await asyncio.gather(*(one(n) for n in range(ideas))))


async def outbox_order(service) -> dict[bytes, list[uuid.UUID]]:
    """Each idea's event ids in outbox order: the order they committed in."""
    rows = await service.runtime.pool.fetch("SELECT key, event_id FROM outbox ORDER BY id")
    order = defaultdict(list)
    for row in rows:
        order[bytes(row["key"])].append(row["event_id"])
    return order


def assert_published_in_order(records, expected: dict[bytes, list[uuid.UUID]], duplicates_allowed: bool) -> int:
    """Every expected event arrived; per idea, first arrivals are in commit order. Returns duplicates seen."""
    arrived = defaultdict(list)
    for record in records:
        arrived[record.key].append(decode(record.value, record.headers, topic=record.topic).id)
    duplicates = 0
    for key, ids in expected.items():
        got = arrived[key]
        firsts = list(dict.fromkeys(got))
        duplicates += len(got) - len(firsts)
        assert firsts == ids, f"idea {key!r}: events missing or out of order"
    assert set(arrived) == set(expected)
    if not duplicates_allowed:
        assert duplicates == 0
    return duplicates


async def test_a_transaction_that_fails_after_the_state_change_publishes_nothing(ideas, kafka_bootstrap, ideas_topic):
    # A deferred trigger fails the commit itself: after the idea row and its outbox rows were written.
    await ideas.runtime.pool.execute("""
        CREATE FUNCTION doom() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF NEW.campaign = 'doomed' OR (NEW.campaign = 'doomed-later' AND NEW.status = 'shortlisted') THEN
                RAISE EXCEPTION 'commit refused for the test';
            END IF;
            RETURN NEW;
        END $$;
        CREATE CONSTRAINT TRIGGER doom AFTER INSERT OR UPDATE ON ideas
            DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION doom();""")
    kept = await submit(ideas, "Kept")
    later = await submit(ideas, "Shortlisting fails", campaign="doomed-later")
    doomed = await ideas.client.post("/v1/ideas", headers=ideas.headers("contributor"), json={
        "title": "Never happens", "problem": "p", "proposal": "p", "campaign": "doomed"})
    assert doomed.status_code == 500 and doomed.json() == {"error": "internal error", "detail": []}
    shortlist = await ideas.client.post(f"/v1/ideas/{later['idea_id']}/shortlist",
                                        headers=ideas.headers("reviewer", "panel"))
    assert shortlist.status_code == 500
    after = await ideas.client.get(f"/v1/ideas/{later['idea_id']}", headers=ideas.headers("viewer"))
    assert after.json()["status"] == "submitted"
    assert await ideas.runtime.pool.fetchval("SELECT count(*) FROM ideas") == 2
    await drained(ideas)
    assert await ideas.runtime.pool.fetchval("SELECT count(*) FROM outbox") == 2
    assert await topic_size(kafka_bootstrap, ideas_topic) == 2
    records = await read_records(kafka_bootstrap, ideas_topic, count=2)
    assert sorted(r.key for r in records) == sorted([kept["idea_id"].encode(), later["idea_id"].encode()])
    assert all(decode(r.value, r.headers).type.endswith("submitted.v1") for r in records)


class RelayKilled(Exception):
    pass


async def test_a_relay_killed_between_send_and_mark_duplicates_but_loses_nothing(ideas, kafka_bootstrap, ideas_topic):
    relay = ideas.runtime.relay
    kills = []

    async def die_once_after_the_acks(rows):
        if not kills:
            kills.append(len(rows))
            raise RelayKilled("killed after the broker acknowledged, before the rows were marked sent")

    relay.before_mark = die_once_after_the_acks
    idea_ids = await activity(ideas, ideas=12, endorsements=3)
    await drained(ideas)
    assert kills, "the relay never reached the point between send and mark"
    expected = await outbox_order(ideas)
    assert sum(map(len, expected.values())) == 48
    total = await topic_size(kafka_bootstrap, ideas_topic)
    assert total >= 48 + kills[0]  # the killed batch went out twice
    records = await read_records(kafka_bootstrap, ideas_topic, count=total)
    duplicates = assert_published_in_order(records, expected, duplicates_allowed=True)
    assert duplicates == kills[0] and len(expected) == len(idea_ids)
    assert await unsent(ideas) == 0


async def test_two_replicas_on_one_database_publish_every_event_in_order(kafka_bootstrap, new_database, department):
    dsn = await new_database("replicas")
    topic = topic_name(department, "ideas")
    await create_topics(kafka_bootstrap, topic)
    settings = settings_for(dsn, department, kafka_bootstrap)
    async with contextlib.AsyncExitStack() as survivor_stack:
        async with running(settings) as first:
            second = await survivor_stack.enter_async_context(running(settings))
            await activity(first, ideas=16, endorsements=3, clients=[first, second])
            await drained(first)
            published_by_first = first.runtime.relay.published
        # the first replica has stopped (its lane locks went with it); the second takes the lanes over
        await activity(second, ideas=4, endorsements=2)
        await drained(second)
        expected = await outbox_order(second)
        published_by_second = second.runtime.relay.published
    assert published_by_first > 0 and published_by_second > 0
    total = 16 * 4 + 4 * 3
    assert sum(map(len, expected.values())) == total
    assert await topic_size(kafka_bootstrap, topic) == total  # none twice: no relay crashed
    records = await read_records(kafka_bootstrap, topic, count=total)
    assert_published_in_order(records, expected, duplicates_allowed=False)
