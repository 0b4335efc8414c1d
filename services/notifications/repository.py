"""asyncpg SQL of subscriptions, webhooks and deliveries. Every function takes the caller's
connection, so the caller (handlers.py, worker.py) owns the transaction."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg
import orjson

from services.notifications.domain import Channel, DigestRhythm, Kind, Learned, Rhythm, Status, Subscription, Webhook

_SUBSCRIPTION = """person, email, display_name, event_types, preferences, reviewer, email_refused_at, unsubscribe_key,
                   created_at, updated_at"""
_WEBHOOK = "webhook_id, url, event_types, description, created_at"
_DELIVERY = """delivery_id, seq, event_id, event_type, digest_id, channel, kind, person, webhook_id, status, attempts,
               next_attempt_at, last_error, last_error_detail, provider_id, created_at, updated_at, delivered_at"""


# -- subscriptions ---------------------------------------------------------------------------


async def put_subscription(conn: asyncpg.Connection, person: str, subscription: Subscription, *,
                           create_only: bool = False) -> tuple[asyncpg.Record | None, bool]:
    """Creates or replaces the person's subscription; True when it was created. With
    `create_only`, an existing subscription is left as it is and (None, False) returned."""
    on_conflict = "NOTHING" if create_only else """UPDATE SET email = EXCLUDED.email,
                display_name = EXCLUDED.display_name, event_types = EXCLUDED.event_types,
                preferences = EXCLUDED.preferences, reviewer = EXCLUDED.reviewer, updated_at = now(),
                email_refused_at = CASE WHEN subscriptions.email = EXCLUDED.email THEN subscriptions.email_refused_at END"""
    row = await conn.fetchrow(
        f"""INSERT INTO subscriptions (person, email, display_name, event_types, preferences, reviewer)
            VALUES ($1, $2, $3, $4, $5::jsonb, $6)
            ON CONFLICT (person) DO {on_conflict}
            RETURNING {_SUBSCRIPTION}, (xmax = 0) AS created""",
        person, subscription.email, subscription.display_name, list(subscription.event_types),
        _json(subscription.preferences), subscription.reviewer,
    )
    return (_subscription(row), row["created"]) if row else (None, False)


def _json(value: Mapping[str, str]) -> str:
    return orjson.dumps(dict(value)).decode()


def _subscription(row: asyncpg.Record | None) -> dict | None:
    """A subscription row with its preferences read."""
    return None if row is None else {**dict(row), "preferences": orjson.loads(row["preferences"])}


async def subscription_by_key(conn: asyncpg.Connection, unsubscribe_key: uuid.UUID) -> dict | None:
    return _subscription(await conn.fetchrow(
        f"SELECT {_SUBSCRIPTION} FROM subscriptions WHERE unsubscribe_key = $1 FOR UPDATE", unsubscribe_key))


async def set_preferences(conn: asyncpg.Connection, person: str, preferences: Mapping[str, str]) -> None:
    await conn.execute("UPDATE subscriptions SET preferences = $2::jsonb, updated_at = now() WHERE person = $1",
                       person, _json(preferences))


async def get_subscription(conn: asyncpg.Connection, person: str) -> dict | None:
    return _subscription(await conn.fetchrow(f"SELECT {_SUBSCRIPTION} FROM subscriptions WHERE person = $1", person))


async def delete_subscription(conn: asyncpg.Connection, person: str) -> bool:
    return await conn.execute("DELETE FROM subscriptions WHERE person = $1", person) == "DELETE 1"


async def end_pending(conn: asyncpg.Connection, reason: str, *, person: str | None = None,
                      webhook_id: uuid.UUID | None = None, kinds: Sequence[Kind] | None = None) -> None:
    """Ends the pending deliveries to `person` (only those of `kinds`, when given) or to
    `webhook_id` failed, with `reason`: visibly, rather than vanishing with their recipient."""
    column, value = ("person", person) if person is not None else ("webhook_id", webhook_id)
    await conn.execute(
        f"""UPDATE deliveries SET status = 'failed', last_error = $2, updated_at = now()
            WHERE {column} = $1 AND status = 'pending' AND digest_id IS NULL
              AND ($3::text[] IS NULL OR coalesce(kind, 'department') = ANY($3::text[]))""",
        value, reason, None if kinds is None else list(kinds))


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


# -- what the department's events say about its ideas, and who hears of them -----------------


async def remember(conn: asyncpg.Connection, learned: Learned, idea_id: uuid.UUID | None) -> None:
    """Keeps what an event teaches: the idea's title and author, which idea an experiment or an
    outcome is of, who is involved in the idea (`idea_id`), who reviews."""
    if learned.idea:
        await conn.execute("""INSERT INTO known_ideas (idea_id, title, submitted_by) VALUES ($1, $2, $3)
                              ON CONFLICT (idea_id) DO NOTHING""", *learned.idea)
    if learned.experiment:
        await conn.execute("""INSERT INTO known_experiments (experiment_id, idea_id) VALUES ($1, $2)
                              ON CONFLICT (experiment_id) DO NOTHING""", *learned.experiment)
    if learned.outcome:
        await conn.execute("""INSERT INTO known_outcomes (outcome_id, experiment_id, idea_id) VALUES ($1, $2, $3)
                              ON CONFLICT (outcome_id) DO NOTHING""", *learned.outcome)
    if learned.involved and idea_id is not None:
        await conn.execute("""INSERT INTO involvement (idea_id, person, role)
                              SELECT $1, person, role FROM unnest($2::text[], $3::text[]) AS i (person, role)
                              ON CONFLICT DO NOTHING""",
                           idea_id, [p for _, p in learned.involved], [r for r, _ in learned.involved])
    if learned.reviewers:
        await conn.execute("INSERT INTO reviewers (person) SELECT unnest($1::text[]) ON CONFLICT DO NOTHING",
                           list(learned.reviewers))


async def idea_of_experiment(conn: asyncpg.Connection, experiment_id: uuid.UUID) -> uuid.UUID | None:
    return await conn.fetchval("SELECT idea_id FROM known_experiments WHERE experiment_id = $1", experiment_id)


async def outcome_of_ours(conn: asyncpg.Connection, outcome_id: uuid.UUID) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT experiment_id, idea_id FROM known_outcomes WHERE outcome_id = $1", outcome_id)


async def idea_title(conn: asyncpg.Connection, idea_id: uuid.UUID) -> str | None:
    return await conn.fetchval("SELECT title FROM known_ideas WHERE idea_id = $1", idea_id)


async def involved(conn: asyncpg.Connection, idea_id: uuid.UUID) -> list[tuple[str, str]]:
    """(person, role) of everyone involved in the idea."""
    return [(r["person"], r["role"]) for r in
            await conn.fetch("SELECT person, role FROM involvement WHERE idea_id = $1", idea_id)]


async def reviewers(conn: asyncpg.Connection) -> list[str]:
    return [r["person"] for r in await conn.fetch(
        "SELECT person FROM reviewers UNION SELECT person FROM subscriptions WHERE reviewer")]


async def news_readers(conn: asyncpg.Connection, event_type: str) -> list[str]:
    return [r["person"] for r in await conn.fetch(
        "SELECT person FROM subscriptions WHERE $1 = ANY(event_types)", event_type)]


async def choices_of(conn: asyncpg.Connection, people: Sequence[str]) -> dict[str, dict[str, str]]:
    """The preferences each of `people` chose, for those with an address that can receive email."""
    rows = await conn.fetch("""SELECT person, preferences FROM subscriptions
                               WHERE person = ANY($1::text[]) AND email_refused_at IS NULL""", list(people))
    return {r["person"]: orjson.loads(r["preferences"]) for r in rows}


async def add_notifications(conn: asyncpg.Connection, event_id: uuid.UUID, event_type: str, payload: bytes,
                            emails: Sequence[tuple[str, Kind]], later: Sequence[tuple[str, Kind, Rhythm]]) -> int:
    """One pending email delivery per (person, kind) of `emails`, one waiting notice per (person,
    kind, rhythm) of `later` (for a digest), and one delivery per webhook that wants `event_type`;
    none twice for the same event. The event is kept when any of them is made. Returns how many
    deliveries and notices were added."""
    return await conn.fetchval(
        """WITH hooks AS (
               SELECT webhook_id FROM webhooks WHERE $2 = ANY(event_types)
           ), kept AS (
               INSERT INTO notified_events (event_id, event_type, payload)
               SELECT $1, $2, $3 WHERE EXISTS (SELECT 1 FROM hooks) OR cardinality($4::text[]) + cardinality($6::text[]) > 0
               ON CONFLICT DO NOTHING
           ), waiting AS (
               INSERT INTO notices (notice_id, event_id, person, kind, rhythm)
               SELECT gen_random_uuid(), $1, person, kind, rhythm FROM unnest($6::text[], $7::text[], $8::text[])
                   AS n (person, kind, rhythm)
               ON CONFLICT DO NOTHING RETURNING 1
           ), sent AS (
               INSERT INTO deliveries (delivery_id, event_id, event_type, channel, person, kind, webhook_id)
               SELECT gen_random_uuid(), $1, $2, 'email', person, kind, NULL FROM unnest($4::text[], $5::text[]) AS e (person, kind)
               UNION ALL
               SELECT gen_random_uuid(), $1, $2, 'webhook', NULL, NULL, webhook_id FROM hooks
               ON CONFLICT DO NOTHING RETURNING 1
           )
           SELECT (SELECT count(*) FROM waiting) + (SELECT count(*) FROM sent)""",
        event_id, event_type, payload, [p for p, _ in emails], [k for _, k in emails],
        [p for p, _, _ in later], [k for _, k, _ in later], [r for _, _, r in later],
    )


# -- digests ---------------------------------------------------------------------------------


async def assemble_digests(conn: asyncpg.Connection, rhythm: DigestRhythm, period_end: datetime,
                           defaults: Mapping[str, str]) -> int:
    """Puts every waiting notice of `rhythm` made before `period_end` into one digest per person,
    each with one email delivery; the person's notices of a kind they have since set to `never`
    (or whose address is gone or refused) are dropped. A person who has a digest for this
    period already keeps their later notices for the next. Returns how many digests were made.
    Run in a transaction holding assemble_lock, so replicas take turns."""
    await conn.execute(
        """UPDATE notices n SET dropped = true
           FROM notices w LEFT JOIN subscriptions s USING (person)
           WHERE n.notice_id = w.notice_id AND w.rhythm = $1 AND w.digest_id IS NULL AND NOT w.dropped
             AND w.created_at < $2
             AND (s.person IS NULL OR s.email_refused_at IS NOT NULL
                  OR coalesce(s.preferences ->> w.kind, $3::jsonb ->> w.kind) = 'never')""",
        rhythm, period_end, _json(defaults))
    return await conn.fetchval(
        """WITH people AS (
               SELECT DISTINCT n.person FROM notices n
               WHERE n.rhythm = $1 AND n.digest_id IS NULL AND NOT n.dropped AND n.created_at < $2
                 AND NOT EXISTS (SELECT 1 FROM digests d WHERE d.person = n.person AND d.rhythm = $1 AND d.period_end = $2)
           ), made AS (
               INSERT INTO digests (digest_id, person, rhythm, period_end)
               SELECT gen_random_uuid(), person, $1, $2 FROM people
               RETURNING digest_id, person
           ), filled AS (
               UPDATE notices n SET digest_id = made.digest_id FROM made
               WHERE n.person = made.person AND n.rhythm = $1 AND n.digest_id IS NULL AND NOT n.dropped
                 AND n.created_at < $2
               RETURNING 1
           ), sent AS (
               INSERT INTO deliveries (delivery_id, digest_id, channel, person)
               SELECT gen_random_uuid(), digest_id, 'email', person FROM made
               RETURNING 1
           )
           SELECT count(*) FROM made""",
        rhythm, period_end)


async def assemble_lock(conn: asyncpg.Connection) -> None:
    await conn.execute("SELECT pg_advisory_xact_lock(hashtext('notifications digests'))")


async def digest_of(conn: asyncpg.Connection, digest_id: uuid.UUID) -> tuple[asyncpg.Record, list[asyncpg.Record]]:
    """The digest, and its notices in the order they were made, each with its event."""
    digest = await conn.fetchrow("SELECT digest_id, person, rhythm, period_end FROM digests WHERE digest_id = $1",
                                 digest_id)
    notices = await conn.fetch(
        """SELECT n.kind, n.event_id, e.payload FROM notices n JOIN notified_events e USING (event_id)
           WHERE n.digest_id = $1 ORDER BY n.seq""", digest_id)
    return digest, notices


async def notices(conn: asyncpg.Connection, *, person: str | None = None, after: int | None,
                  limit: int) -> list[asyncpg.Record]:
    """The notices waiting for, or put in, digests: oldest first."""
    return await conn.fetch(
        """SELECT seq, notice_id, event_id, person, kind, rhythm, digest_id, dropped, created_at FROM notices
           WHERE seq > $1 AND ($2::text IS NULL OR person = $2) ORDER BY seq LIMIT $3""", after or 0, person, limit)


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
               RETURNING d.delivery_id, d.channel, d.attempts, d.event_id, d.event_type, d.digest_id, d.kind,
                         d.person, d.webhook_id
           )
           SELECT c.*, e.payload, s.email, s.display_name, s.unsubscribe_key, s.email_refused_at, w.url, w.secret
           FROM claimed c LEFT JOIN notified_events e USING (event_id)
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


async def mark_sent(conn: asyncpg.Connection, delivery_id: uuid.UUID, attempts: int, provider_id: str) -> None:
    """GOV.UK Notify accepted the email (`provider_id` is its id): its callback ends the delivery."""
    await conn.execute(
        """UPDATE deliveries SET status = 'sent', provider_id = $3, updated_at = now(), last_error = NULL,
                  last_error_detail = NULL
           WHERE delivery_id = $1 AND attempts = $2 AND status = 'pending'""",
        delivery_id, attempts, provider_id,
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
