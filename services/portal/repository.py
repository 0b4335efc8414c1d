"""asyncpg SQL of the portal's own tables: sessions and the record of ideas raised (for the rate limit)."""

from datetime import datetime
from typing import Any

import asyncpg


async def insert_session(conn, session_hash: bytes, csrf_token: str, expires_at: datetime, **values: Any) -> None:
    names = ["session_hash", "csrf_token", "expires_at", *values]
    placeholders = ", ".join(f"${i}" for i in range(1, len(names) + 1))
    await conn.execute(f"INSERT INTO portal_sessions ({', '.join(names)}) VALUES ({placeholders})",
                       session_hash, csrf_token, expires_at, *values.values())


async def fetch_session(conn, session_hash: bytes) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT * FROM portal_sessions WHERE session_hash = $1 AND expires_at > now()",
                               session_hash)


async def take_session(conn, session_hash: bytes) -> asyncpg.Record | None:
    """Deletes the session and returns it: a pending sign-in is used once."""
    return await conn.fetchrow("DELETE FROM portal_sessions WHERE session_hash = $1 AND expires_at > now() RETURNING *",
                               session_hash)


async def delete_session(conn, session_hash: bytes) -> None:
    await conn.execute("DELETE FROM portal_sessions WHERE session_hash = $1", session_hash)


async def update_tokens(conn, session_hash: bytes, access_token: str, refresh_token: str | None,
                        id_token: str | None, access_expires_at: datetime) -> None:
    await conn.execute(
        "UPDATE portal_sessions SET access_token = $2, refresh_token = coalesce($3, refresh_token),"
        " id_token = coalesce($4, id_token), access_expires_at = $5 WHERE session_hash = $1",
        session_hash, access_token, refresh_token, id_token, access_expires_at)


async def delete_expired(conn) -> None:
    await conn.execute("DELETE FROM portal_sessions WHERE expires_at <= now()")
    await conn.execute("DELETE FROM portal_submissions WHERE submitted_at < now() - interval '1 day'")


async def lock_person(conn, subject: str) -> None:
    """Serialises one person's submissions (transaction-scoped), so that the rate limit holds under concurrency."""
    await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended('portal-submit:' || $1, 0))", subject)


async def submissions_since(conn, subject: str, since: datetime) -> int:
    return await conn.fetchval("SELECT count(*) FROM portal_submissions WHERE subject = $1 AND submitted_at > $2",
                               subject, since)


async def record_submission(conn, subject: str, at: datetime) -> None:
    await conn.execute("INSERT INTO portal_submissions (subject, submitted_at) VALUES ($1, $2)", subject, at)


async def visit(conn, subject: str, at: datetime) -> datetime | None:
    """Records the person's visit; returns their previous one (None the first time)."""
    return await conn.fetchval(
        "WITH previous AS (SELECT visited_at FROM portal_visits WHERE subject = $1)"
        " , saved AS (INSERT INTO portal_visits (subject, visited_at) VALUES ($1, $2)"
        "   ON CONFLICT (subject) DO UPDATE SET visited_at = excluded.visited_at)"
        " SELECT visited_at FROM previous", subject, at)
