"""Claiming due deliveries (repository.claim_due) on the real database: a webhook with attempts
in flight gets no more than its share, so the free slots go to the other recipients' deliveries."""

import uuid
from pathlib import Path

import asyncpg

from services.notifications import repository
from shared.db import SHARED_MIGRATIONS, prepare_database

MIGRATIONS = Path(repository.__file__).parent / "migrations"


async def _seed(conn: asyncpg.Connection, hooks: int, events: int, emails: bool = False) -> list[uuid.UUID]:
    webhooks = []
    for i in range(hooks):
        webhooks.append(uuid.uuid4())
        await conn.execute("INSERT INTO webhooks (webhook_id, url, secret, event_types) VALUES ($1, $2, $3, $4)",
                           webhooks[-1], f"https://hook{i}.example.org/", "whsec-0123456789abcdef",
                           ["uk.gov.innovation.idea.submitted.v1"])
    if emails:
        await conn.execute("""INSERT INTO subscriptions (person, email, event_types)
                              VALUES ('p_0123456789abcdef', 'a@dept.example.org', '{uk.gov.innovation.idea.submitted.v1}')""")
    for _ in range(events):
        await repository.add_notifications(conn, uuid.uuid4(), "uk.gov.innovation.idea.submitted.v1", b"{}",
                                           [("p_0123456789abcdef", "department")] if emails else [], [])
    return webhooks


async def test_a_webhook_gets_at_most_its_share_of_the_slots(new_database):
    dsn = await new_database("notifications")
    await prepare_database(dsn, {"shared": SHARED_MIGRATIONS, "notifications": MIGRATIONS})
    conn = await asyncpg.connect(dsn)
    try:
        first, second = await _seed(conn, hooks=2, events=10, emails=True)
        claimed = await repository.claim_due(conn, 6, 60, {}, per_webhook=2)
        by = [(r["webhook_id"], r["channel"]) for r in claimed]
        assert len(claimed) == 6
        assert by.count((first, "webhook")) == 2 and by.count((second, "webhook")) == 2
        assert by.count((None, "email")) == 2

        # `first` has two attempts running, `second` one: `first` gets none, `second` one more,
        # and the slots left go to the emails (a claim may return fewer than asked when one
        # recipient's deliveries come first; the worker then claims again, as here)
        claimed = await repository.claim_due(conn, 6, 60, {first: 2, second: 1}, per_webhook=2)
        assert [r["webhook_id"] for r in claimed].count(second) == 1
        claimed += await repository.claim_due(conn, 6 - len(claimed), 60, {first: 2, second: 2}, per_webhook=2)
        by = [r["webhook_id"] for r in claimed]
        assert len(by) == 6 and first not in by and by.count(second) == 1 and by.count(None) == 5

        # without a cap, the claim is in order of due time, whoever the recipient
        rest = await repository.claim_due(conn, 100, 60)
        assert len(rest) == 30 - 6 - 6
        assert await repository.claim_due(conn, 100, 60) == []  # all leased now
        assert await repository.next_due(conn, excluding=[first, second]) > await conn.fetchval("SELECT now()")
    finally:
        await conn.close()
