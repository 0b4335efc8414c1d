"""Reading a service's database from a test, on a connection of the test's own."""

from typing import Any

import asyncpg


async def fetchval(dsn: str, query: str, *args: Any) -> Any:
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetchval(query, *args)
    finally:
        await conn.close()
