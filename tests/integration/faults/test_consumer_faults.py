"""The consumer rule under real faults, on the reporting projection and on the experiments service's
ideas consumer, each a real process: whatever happens to its database, its broker or itself while
events arrive, afterwards its offsets are at the end, every event is applied exactly once and
nothing is dead-lettered (none of these events is at fault).

Faults are made the way they happen: PostgreSQL's own admin commands and signals, the broker's JVM
stopped with SIGSTOP, the service killed with SIGKILL. Those that take a whole server down (a crashed
backend makes the postmaster restart every session) use servers of this module's own.
"""

import asyncio

from tests.support.pg_sessions import read_only, terminate_sessions
from tests.support.waiting import eventually

N = 240  # events per scenario
CHUNK = 20
SESSION_TIMEOUT = 10.0  # aiokafka's default session_timeout_ms, in seconds
PAUSE = 2 * SESSION_TIMEOUT  # the broker stays stopped this long: the group has expired the consumer
READ_ONLY_WINDOW = 15.0


async def _flowing(target) -> None:
    """Waits until the consumer has applied something: the fault then falls mid-stream."""
    await eventually(lambda: target.applied(), what=f"{target.consumer} applying events")


async def _retried_since(target, before: float) -> bool:
    return await target.retries() > before


async def test_sessions_terminated_every_few_events(kind, make_target, kafka_bootstrap, new_database):
    target = await make_target(kind, dsn=await new_database(kind), bootstrap=kafka_bootstrap)
    await target.process.start()
    ended = 0
    for _ in range(N // CHUNK):
        await target.publish(CHUNK)
        await asyncio.sleep(0.1)  # into the chunk, not after it
        ended += await terminate_sessions(target.admin_dsn, target.database)
    assert ended > 0, "the consumer's sessions were never there to be ended"
    await target.settle(N)


async def test_a_read_only_window_after_a_failover(kind, make_target, kafka_bootstrap, new_database):
    target = await make_target(kind, dsn=await new_database(kind), bootstrap=kafka_bootstrap)
    await target.process.start()
    await target.publish(N // 4)
    await _flowing(target)
    before = await target.retries()
    async with read_only(target.admin_dsn, target.database):
        # Events keep arriving through the window; every write of the consumer is refused.
        chunks = N // 2 // 10
        for _ in range(chunks):
            await target.publish(10)
            await asyncio.sleep(READ_ONLY_WINDOW / chunks)
        await eventually(lambda: _retried_since(target, before), what="writes refused and retried")
    # The setting is back, but the sessions opened during the window are still read-only: the
    # consumer must get out of them by itself.
    await target.publish(N // 4)
    await target.settle(N)


async def test_a_postgres_backend_killed(kind, make_target, kafka_bootstrap, own_postgres):
    target = await make_target(kind, dsn=await own_postgres.new_database(kind), bootstrap=kafka_bootstrap)
    await target.process.start()
    for chunk in range(N // CHUNK):
        await target.publish(CHUNK)
        if chunk in (3, 7):
            await own_postgres.kill_backend(target.database)  # the postmaster then restarts every session
    await target.settle(N)


async def test_postgres_stopped_and_started(kind, make_target, kafka_bootstrap, own_postgres):
    target = await make_target(kind, dsn=await own_postgres.new_database(kind), bootstrap=kafka_bootstrap)
    await target.process.start()
    await target.publish(N // 3)
    await _flowing(target)
    before = await target.retries()
    await asyncio.to_thread(own_postgres.stop)
    try:
        await target.publish(N // 3)
        await eventually(lambda: _retried_since(target, before), what="the outage retried", timeout=60)
    finally:
        await asyncio.to_thread(own_postgres.start)
    await target.publish(N - 2 * (N // 3))
    await target.settle(N)


async def test_the_broker_paused_longer_than_the_session_timeout(kind, make_target, own_broker, new_database):
    target = await make_target(kind, dsn=await new_database(kind), bootstrap=own_broker.bootstrap)
    await target.process.start()
    await target.publish(N // 2)
    await _flowing(target)
    with own_broker.paused():
        await asyncio.sleep(PAUSE)
    await target.publish(N // 2)
    await target.settle(N)


async def test_the_consumer_killed_mid_batch_and_started_again(kind, make_target, kafka_bootstrap, new_database):
    target = await make_target(kind, dsn=await new_database(kind), bootstrap=kafka_bootstrap, batch=10)
    await target.process.start()
    await target.publish(N // 2)
    await _flowing(target)
    target.process.kill()
    await target.publish(N // 2)
    await target.process.start()
    await target.settle(N)
