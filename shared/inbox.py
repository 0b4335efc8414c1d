"""The inbox: the events a consumer has applied, recorded in the same transaction as their effect.

An event's identity is its CloudEvents identity, (`source`, `id`): two departments' systems may
choose the same id, and neither may make a consumer skip the other's event."""

from collections.abc import Sequence
from typing import Any

import asyncpg

from shared.events import Event


_RECORD = """INSERT INTO inbox (consumer, source, event_id) SELECT $1, source, id FROM unnest($2::text[], $3::uuid[]) AS e(source, id)
ON CONFLICT DO NOTHING"""
_COUNTED = f"WITH recorded AS ({_RECORD} RETURNING 1) SELECT count(*) FROM recorded"
_RETURNING = f"{_RECORD} RETURNING source, event_id"


class _Repeated(Exception):
    """Some event of the batch was recorded before (or twice in it): the savepoint is rolled back."""


async def first_deliveries(conn: asyncpg.Connection, consumer: str, events: Sequence[Event[Any]]) -> list[bool] | None:
    """Records every event as applied by `consumer`; for each, whether this is its first delivery (a repeat
    of an identity earlier in `events` is not), or None when every one is: the usual case, told by the count
    of rows inserted alone; otherwise that insert is rolled back to a savepoint and done again returning
    the rows it inserted."""
    sources, ids = [event.source for event in events], [event.id for event in events]
    try:
        async with conn.transaction():
            if await conn.fetchval(_COUNTED, consumer, sources, ids) == len(events):
                return None
            raise _Repeated
    except _Repeated:
        pass
    new = {(row["source"], row["event_id"]) for row in await conn.fetch(_RETURNING, consumer, sources, ids)}
    first = []
    for event in events:
        identity = (event.source, event.id)
        first.append(identity in new)
        new.discard(identity)
    return first


async def forget(conn: asyncpg.Connection, consumer: str, events: Sequence[Event[Any]]) -> None:
    """Takes events back out of the inbox, in the transaction that recorded them: they were dead-lettered."""
    await conn.execute(
        """DELETE FROM inbox WHERE consumer = $1
           AND (source, event_id) IN (SELECT * FROM unnest($2::text[], $3::uuid[]))""",
        consumer, [event.source for event in events], [event.id for event in events],
    )
