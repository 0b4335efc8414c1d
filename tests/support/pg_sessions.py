"""Faults made on PostgreSQL's sessions with its own admin commands, on any server."""

import asyncio
import contextlib
from collections.abc import AsyncIterator

import asyncpg


async def backends(admin_dsn: str, database: str, *, timeout: float = 60.0) -> list[int]:
    """The pids of the sessions serving `database` (not ours), waiting until there is at least one;
    connection refusals while the server recovers are waited out too."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        try:
            conn = await asyncpg.connect(admin_dsn)
            try:
                pids = [row["pid"] for row in await conn.fetch(
                    """SELECT pid FROM pg_stat_activity
                       WHERE datname = $1 AND backend_type = 'client backend' AND pid <> pg_backend_pid()""",
                    database)]
            finally:
                await conn.close()
            if pids:
                return pids
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
            pass
        assert loop.time() < deadline, f"no session of {database} appeared"
        await asyncio.sleep(0.1)


async def terminate_sessions(admin_dsn: str, database: str) -> int:
    """pg_terminate_backend on every session of `database` but ours; how many were ended."""
    conn = await asyncpg.connect(admin_dsn)
    try:
        return await conn.fetchval(
            """SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity
               WHERE datname = $1 AND backend_type = 'client backend' AND pid <> pg_backend_pid()""", database)
    finally:
        await conn.close()


@contextlib.asynccontextmanager
async def read_only(admin_dsn: str, database: str) -> AsyncIterator[None]:
    """What a client sees after a failover to a node that is still a replica: new sessions of
    `database` are read-only, and the current ones are ended so that the pool reconnects. On exit the
    setting is reset; sessions opened meanwhile stay read-only (recovering from them is the client's job)."""
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(f'ALTER DATABASE "{database}" SET default_transaction_read_only = on')
        try:
            await terminate_sessions(admin_dsn, database)
            yield
        finally:
            await conn.execute(f'ALTER DATABASE "{database}" RESET default_transaction_read_only')
    finally:
        await conn.close()
