"""The inbox: a consumer records each event id in the same transaction as the event's effect."""

from collections.abc import Sequence
from uuid import UUID

import asyncpg


async def first_delivery(conn: asyncpg.Connection, consumer: str, event_id: UUID) -> bool:
    """Records the event as applied by `consumer`; False when it already was (a redelivery)."""
    inserted = await conn.fetchval(
        "INSERT INTO inbox (consumer, event_id) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING true",
        consumer, event_id,
    )
    return bool(inserted)


async def first_deliveries(conn: asyncpg.Connection, consumer: str, event_ids: Sequence[UUID]) -> set[UUID]:
    """The batch form: records every id, returns those not seen before."""
    rows = await conn.fetch(
        """INSERT INTO inbox (consumer, event_id) SELECT $1, unnest($2::uuid[])
           ON CONFLICT DO NOTHING RETURNING event_id""",
        consumer, list(event_ids),
    )
    return {row["event_id"] for row in rows}
