"""asyncpg SQL of subscriptions, webhooks and deliveries."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import asyncpg

Db = asyncpg.Connection | asyncpg.Pool

_SUBSCRIPTION = "person, email, display_name, event_types, created_at, updated_at"
_WEBHOOK = "webhook_id, url, event_types, description, created_at"
_DELIVERY = """delivery_id, seq, event_id, event_type, channel, person, webhook_id, status, attempts,
               next_attempt_at, last_error, last_error_detail, created_at, updated_at, delivered_at"""


# -- subscriptions ---------------------------------------------------------------------------


async def put_subscription(db: Db, person: str, email: str, name: str | None, types: Sequence[str]) -> tuple[asyncpg.Record, bool]:
    """Creates or replaces the person's subscription; True when it was created."""
    row = await db.fetchrow(
        f"""INSERT INTO subscriptions (person, email, display_name, event_types) VALUES ($1, $2, $3, $4)
            ON CONFLICT (person) DO UPDATE SET email = EXCLUDED.email, display_name = EXCLUDED.display_name,
                event_types = EXCLUDED.event_types, updated_at = now()
            RETURNING {_SUBSCRIPTION}, (xmax = 0) AS created""",
        person, email, name, list(types),
    )
    return row, row["created"]


async def get_subscription(db: Db, person: str) -> asyncpg.Record | None:
    return await db.fetchrow(f"SELECT {_SUBSCRIPTION} FROM subscriptions WHERE person = $1", person)


async def delete_subscription(conn: asyncpg.Connection, person: str) -> bool:
    """Forgets the address; the person's pending emails end failed, visibly, rather than vanish."""
    async with conn.transaction():
        await conn.execute(
            """UPDATE deliveries SET status = 'failed', last_error = 'the subscription was deleted before delivery',
                      updated_at = now()
               WHERE person = $1 AND status = 'pending'""", person)
        return await conn.execute("DELETE FROM subscriptions WHERE person = $1", person) == "DELETE 1"


# -- webhooks --------------------------------------------------------------------------------


async def add_webhook(db: Db, url: str, secret: str, types: Sequence[str], description: str | None) -> asyncpg.Record:
    return await db.fetchrow(
        f"""INSERT INTO webhooks (webhook_id, url, secret, event_types, description) VALUES ($1, $2, $3, $4, $5)
            RETURNING {_WEBHOOK}""",
        uuid.uuid4(), url, secret, list(types), description,
    )


async def list_webhooks(db: Db) -> list[asyncpg.Record]:
    return await db.fetch(f"SELECT {_WEBHOOK} FROM webhooks ORDER BY seq")


async def delete_webhook(conn: asyncpg.Connection, webhook_id: uuid.UUID) -> bool:
    async with conn.transaction():
        await conn.execute(
            """UPDATE deliveries SET status = 'failed', last_error = 'the webhook was deleted before delivery',
                      updated_at = now()
               WHERE webhook_id = $1 AND status = 'pending'""", webhook_id)
        return await conn.execute("DELETE FROM webhooks WHERE webhook_id = $1", webhook_id) == "DELETE 1"


# -- deliveries ------------------------------------------------------------------------------


async def add_deliveries(conn: asyncpg.Connection, event_id: uuid.UUID, event_type: str, payload: bytes) -> int:
    """One pending delivery per subscription and per webhook that wants `event_type` (none twice);
    the event is kept only when someone wants it. Returns how many deliveries were added."""
    status = await conn.execute(
        """WITH targets AS (
               SELECT 'email' AS channel, person, NULL::uuid AS webhook_id FROM subscriptions WHERE $2 = ANY(event_types)
               UNION ALL
               SELECT 'webhook', NULL, webhook_id FROM webhooks WHERE $2 = ANY(event_types)
           ), kept AS (
               INSERT INTO notified_events (event_id, event_type, payload)
               SELECT $1, $2, $3 WHERE EXISTS (SELECT 1 FROM targets)
               ON CONFLICT DO NOTHING
           )
           INSERT INTO deliveries (delivery_id, event_id, event_type, channel, person, webhook_id)
           SELECT gen_random_uuid(), $1, $2, channel, person, webhook_id FROM targets
           ON CONFLICT DO NOTHING""",
        event_id, event_type, payload,
    )
    return int(status.rsplit(" ", 1)[1])


async def claim_due(db: Db, limit: int, lease_seconds: float, in_flight: Mapping[uuid.UUID, int] | None = None,
                    per_webhook: int | None = None) -> list[asyncpg.Record]:
    """Claims up to `limit` due deliveries for one attempt each. The claim counts the attempt and
    moves next_attempt_at past the lease, so no other worker takes them while this one sends;
    if this worker dies, they are due again when the lease ends (and the attempt stays counted).
    With `per_webhook`, a webhook that has `in_flight[webhook]` attempts running already gets at
    most `per_webhook` in all: the rest of its due deliveries wait for a later claim."""
    in_flight = in_flight or {}
    cap = per_webhook or limit
    full = [w for w, n in in_flight.items() if n >= cap]
    return await db.fetch(
        """WITH due AS (
               SELECT delivery_id, webhook_id, next_attempt_at, seq FROM deliveries
               WHERE status = 'pending' AND next_attempt_at <= now()
                 AND (webhook_id IS NULL OR webhook_id <> ALL($3::uuid[]))
               ORDER BY next_attempt_at, seq LIMIT $1
               FOR UPDATE SKIP LOCKED
           ), chosen AS (
               SELECT delivery_id FROM (
                   SELECT due.delivery_id, due.webhook_id, coalesce(busy.n, 0) AS running,
                          row_number() OVER (PARTITION BY due.webhook_id ORDER BY due.next_attempt_at, due.seq) AS nth
                   FROM due LEFT JOIN unnest($4::uuid[], $5::int[]) AS busy (webhook_id, n) USING (webhook_id)
               ) ranked
               WHERE webhook_id IS NULL OR running + nth <= $6
           ), claimed AS (
               UPDATE deliveries d SET attempts = d.attempts + 1, updated_at = now(),
                      next_attempt_at = now() + make_interval(secs => $2)
               FROM chosen WHERE d.delivery_id = chosen.delivery_id
               RETURNING d.delivery_id, d.channel, d.attempts, d.event_id, d.event_type, d.person, d.webhook_id
           )
           SELECT c.*, e.payload, s.email, s.display_name, w.url, w.secret
           FROM claimed c JOIN notified_events e USING (event_id)
           LEFT JOIN subscriptions s ON s.person = c.person
           LEFT JOIN webhooks w ON w.webhook_id = c.webhook_id""",
        limit, lease_seconds, full, list(in_flight), list(in_flight.values()), cap,
    )


async def mark_delivered(db: Db, delivery_id: uuid.UUID, attempts: int) -> None:
    await db.execute(
        """UPDATE deliveries SET status = 'delivered', delivered_at = now(), updated_at = now(), last_error = NULL,
                  last_error_detail = NULL
           WHERE delivery_id = $1 AND attempts = $2 AND status = 'pending'""",
        delivery_id, attempts,
    )


async def mark_failed_attempt(db: Db, delivery_id: uuid.UUID, attempts: int, reason: str, detail: str,
                              retry_in: float | None) -> None:
    """Records the failure (its class, and the whole text for admins); schedules the next attempt,
    or ends the delivery `failed` when `retry_in` is None."""
    await db.execute(
        """UPDATE deliveries SET last_error = $3, last_error_detail = $4, updated_at = now(),
                  status = CASE WHEN $5::float8 IS NULL THEN 'failed' ELSE 'pending' END,
                  next_attempt_at = CASE WHEN $5::float8 IS NULL THEN next_attempt_at
                                         ELSE now() + make_interval(secs => $5::float8) END
           WHERE delivery_id = $1 AND attempts = $2 AND status = 'pending'""",
        delivery_id, attempts, reason[:200], detail[:1000], retry_in,
    )


async def next_due(db: Db, excluding: Sequence[uuid.UUID] = ()) -> datetime | None:
    """When the next pending delivery is due, leaving out those to the webhooks `excluding`."""
    return await db.fetchval(
        """SELECT min(next_attempt_at) FROM deliveries
           WHERE status = 'pending' AND (webhook_id IS NULL OR webhook_id <> ALL($1::uuid[]))""", list(excluding))


async def list_deliveries(db: Db, *, after: int, limit: int, **filters: Any) -> list[asyncpg.Record]:
    clauses, args = ["seq > $1"], [after]
    for column, value in filters.items():
        if value is not None:
            args.append(value)
            clauses.append(f"{column} = ${len(args)}")
    args.append(limit)
    return await db.fetch(
        f"SELECT {_DELIVERY} FROM deliveries WHERE {' AND '.join(clauses)} ORDER BY seq LIMIT ${len(args)}", *args)
