"""The inbox: the events a consumer has applied, recorded in the same transaction as their effect.

An event's identity is its CloudEvents identity, (`source`, `id`): two departments' systems may
choose the same id, and neither may make a consumer skip the other's event."""

from collections.abc import Sequence
from typing import Any

import asyncpg

from shared.events import Event


async def first_deliveries(conn: asyncpg.Connection, consumer: str, events: Sequence[Event[Any]]) -> list[bool]:
    """Records every event as applied by `consumer`; for each, whether this is its first delivery (a
    repeat of an identity earlier in `events` is not)."""
    rows = await conn.fetch(
        """INSERT INTO inbox (consumer, source, event_id) SELECT $1, source, id FROM unnest($2::text[], $3::uuid[]) AS e(source, id)
           ON CONFLICT DO NOTHING RETURNING source, event_id""",
        consumer, [event.source for event in events], [event.id for event in events],
    )
    new = {(row["source"], row["event_id"]) for row in rows}
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
