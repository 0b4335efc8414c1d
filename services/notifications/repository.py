"""asyncpg SQL of subscriptions, webhooks and deliveries. Every function takes the caller's
connection, so the caller (handlers.py, worker.py) owns the transaction."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from services.notifications.domain import Channel, Status, Subscription, Webhook

_SUBSCRIPTION = "person, email, display_name, event_types, created_at, updated_at"
_WEBHOOK = "webhook_id, url, event_types, description, created_at"
_DELIVERY = """delivery_id, seq, event_id, event_type, channel, person, webhook_id, status, attempts,
               next_attempt_at, last_error, last_error_detail, created_at, updated_at, delivered_at"""


# -- subscriptions ---------------------------------------------------------------------------


async def put_subscription(conn: asyncpg.Connection, person: str, subscription: Subscription) -> tuple[asyncpg.Record, bool]:
    """Creates or replaces the person's subscription; True when it was created."""
    row = await conn.fetchrow(
        f"""INSERT INTO subscriptions (person, email, display_name, event_types) VALUES ($1, $2, $3, $4)
            ON CONFLICT (person) DO UPDATE SET email = EXCLUDED.email, display_name = EXCLUDED.display_name,
                event_types = EXCLUDED.event_types, updated_at = now()
            RETURNING {_SUBSCRIPTION}, (xmax = 0) AS created""",
        person, subscription.email, subscription.display_name, list(subscription.event_types),
    )
    return row, row["created"]


async def get_subscription(conn: asyncpg.Connection, person: str) -> asyncpg.Record | None:
    return await conn.fetchrow(f"SELECT {_SUBSCRIPTION} FROM subscriptions WHERE person = $1", person)


async def delete_subscription(conn: asyncpg.Connection, person: str) -> bool:
    return await conn.execute("DELETE FROM subscriptions WHERE person = $1", person) == "DELETE 1"


async def end_pending(conn: asyncpg.Connection, reason: str, *, person: str | None = None,
                      webhook_id: uuid.UUID | None = None) -> None:
    """Ends the pending deliveries to `person` or to `webhook_id` failed, with `reason`: visibly,
    rather than vanishing with their recipient."""
    column, value = ("person", person) if person is not None else ("webhook_id", webhook_id)
    await conn.execute(
        f"""UPDATE deliveries SET status = 'failed', last_error = $2, updated_at = now()
            WHERE {column} = $1 AND status = 'pending'""", value, reason)


# -- webhooks --------------------------------------------------------------------------------


async def add_webhook(conn: asyncpg.Connection, webhook: Webhook) -> asyncpg.Record:
    return await conn.fetchrow(
        f"""INSERT INTO webhooks (webhook_id, url, secret, event_types, description) VALUES ($1, $2, $3, $4, $5)
            RETURNING {_WEBHOOK}""",
        uuid.uuid4(), webhook.url, webhook.secret, list(webhook.event_types), webhook.description,
    )


async def list_webhooks(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    return await conn.fetch(f"SELECT {_WEBHOOK} FROM webhooks ORDER BY seq")


async def delete_webhook(conn: asyncpg.Connection, webhook_id: uuid.UUID) -> bool:
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


async def claim_due(conn: asyncpg.Connection, limit: int, lease_seconds: float, in_flight: Mapping[uuid.UUID, int] | None = None,
                    per_webhook: int | None = None) -> list[asyncpg.Record]:
    """Claims up to `limit` due deliveries for one attempt each. The claim counts the attempt and
    moves next_attempt_at past the lease, so no other worker takes them while this one sends;
    if this worker dies, they are due again when the lease ends (and the attempt stays counted).
    With `per_webhook`, a webhook that has `in_flight[webhook]` attempts running already gets at
    most `per_webhook` in all: the rest of its due deliveries wait for a later claim."""
    in_flight = in_flight or {}
    cap = per_webhook or limit
    full = [w for w, n in in_flight.items() if n >= cap]
    return await conn.fetch(
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


async def mark_delivered(conn: asyncpg.Connection, delivery_id: uuid.UUID, attempts: int) -> None:
    await conn.execute(
        """UPDATE deliveries SET status = 'delivered', delivered_at = now(), updated_at = now(), last_error = NULL,
                  last_error_detail = NULL
           WHERE delivery_id = $1 AND attempts = $2 AND status = 'pending'""",
        delivery_id, attempts,
    )


async def mark_failed_attempt(conn: asyncpg.Connection, delivery_id: uuid.UUID, attempts: int, reason: str, detail: str,
                              retry_in: float | None) -> None:
    """Records the failure (its class, and the whole text for admins); schedules the next attempt,
    or ends the delivery `failed` when `retry_in` is None."""
    await conn.execute(
        """UPDATE deliveries SET last_error = $3, last_error_detail = $4, updated_at = now(),
                  status = CASE WHEN $5::float8 IS NULL THEN 'failed' ELSE 'pending' END,
                  next_attempt_at = CASE WHEN $5::float8 IS NULL THEN next_attempt_at
                                         ELSE now() + make_interval(secs => $5::float8) END
           WHERE delivery_id = $1 AND attempts = $2 AND status = 'pending'""",
        delivery_id, attempts, reason[:200], detail[:1000], retry_in,
    )


async def next_due(conn: asyncpg.Connection, excluding: Sequence[uuid.UUID] = ()) -> datetime | None:
    """When the next pending delivery is due, leaving out those to the webhooks `excluding`."""
    return await conn.fetchval(
        """SELECT min(next_attempt_at) FROM deliveries
           WHERE status = 'pending' AND (webhook_id IS NULL OR webhook_id <> ALL($1::uuid[]))""", list(excluding))


@dataclass(frozen=True)
class DeliveryFilter:
    """The deliveries to list: each field given is a column's value."""

    status: Status | None = None
    channel: Channel | None = None
    event_type: str | None = None
    event_id: uuid.UUID | None = None
    webhook_id: uuid.UUID | None = None
    person: str | None = None


async def list_deliveries(conn: asyncpg.Connection, filters: DeliveryFilter, *, after: int | None,
                          limit: int) -> list[asyncpg.Record]:
    """Up to `limit` deliveries after position `after` (their `seq`), oldest first."""
    clauses, args = ["seq > $1"], [after or 0]
    for column, value in dataclasses.asdict(filters).items():
        if value is not None:
            args.append(value)
            clauses.append(f"{column} = ${len(args)}")
    args.append(limit)
    return await conn.fetch(
        f"SELECT {_DELIVERY} FROM deliveries WHERE {' AND '.join(clauses)} ORDER BY seq LIMIT ${len(args)}", *args)
