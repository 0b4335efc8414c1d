"""Digests: at each moment they are due (domain.DigestClock: a local time in Europe/London, every
day or on one weekday), every waiting notice of the period goes into one digest per person, with
one email delivery, in one transaction (repository.assemble_digests). The delivery worker then
sends it like any email.

Every replica runs this; an advisory lock makes them take turns, and a digest is unique per
(person, rhythm, period end), so a second replica, a restart or a crash at any point makes no
second digest and loses no notice: a notice is in a digest or still waiting, never both.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import asyncpg

from services.notifications import domain, repository
from services.notifications.config import NotificationsSettings
from shared.logging import get_logger
from shared.runtime import Runtime

log = get_logger(__name__)

RHYTHMS: tuple[domain.DigestRhythm, ...] = ("daily", "weekly")
LONGEST_SLEEP = 300.0  # a clock that jumps (or a suspended machine) is noticed within this


async def assemble(pool: asyncpg.Pool, clock: domain.DigestClock, now: datetime) -> int:
    """Makes the digests due at or before `now`; returns how many were made."""
    made = 0
    for rhythm in RHYTHMS:
        period_end = clock.last(rhythm, now)
        async with pool.acquire() as conn, conn.transaction():
            await repository.assemble_lock(conn)
            count = await repository.assemble_digests(conn, rhythm, period_end, domain.DEFAULT_PREFERENCES)
        if count:
            log.info("digests made", rhythm=rhythm, period_end=period_end.isoformat(), count=count)
        made += count
    return made


async def make_digests(runtime: Runtime) -> None:
    """The background task of the service."""
    settings: NotificationsSettings = runtime.settings
    clock = domain.digest_clock(settings.digest_time, settings.digest_weekday, settings.digest_timezone)
    while True:
        now = datetime.now(UTC)
        try:
            await assemble(runtime.pool, clock, now)
            wait = (min(clock.next(r, now) for r in RHYTHMS) - datetime.now(UTC)).total_seconds()
        except Exception as error:  # the database may be away: try again after a pause
            log.warning("digest round failed; will retry", error=repr(error))
            wait = settings.poll_seconds
        await asyncio.sleep(min(max(wait, 0.05), LONGEST_SLEEP))
