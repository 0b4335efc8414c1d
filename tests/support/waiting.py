"""Waiting in tests for something to become true, without sleeping for a fixed time."""

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any


async def eventually(check: Callable[[], Awaitable[Any]], *, timeout: float = 45.0, what: str = "condition") -> Any:
    """Polls `check` until it returns something truthy; fails naming `what` after `timeout`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        result = await check()
        if result:
            return result
        assert loop.time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.1)


async def at_least(records: Awaitable[list[Any]], count: int) -> list[Any] | None:
    """The records once there are `count` of them, else None: a check for `eventually`."""
    got = await records
    return got if len(got) >= count else None
