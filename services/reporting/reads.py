"""The reads both edges serve: the API (http.py) and the dashboard (dashboard.py) take their figures from
here, so the page and the API cannot disagree."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
from fastapi import Request

from services.reporting import figures
from shared.auth import authenticated
from shared.http import ApiError
from shared.runtime import runtime_of


async def reader(request: Request) -> None:
    """Public unless the operator set REPORTING_REQUIRE_VIEWER_KEY: then any valid key (any role) may read."""
    if runtime_of(request).settings.require_viewer_key:
        await authenticated(request)


@contextlib.asynccontextmanager
async def reading(request: Request) -> AsyncIterator[asyncpg.Connection]:
    """A connection of the read pool (never the projection's), its statements cut off after the configured
    timeout (services/reporting/main.py): a read that takes too long answers 503 instead of holding the
    connection. Everything read through it is one read-only snapshot (repeatable read), so a page's
    figures and breakdowns agree while the projection writes."""
    async with runtime_of(request).read_pool.acquire() as conn:
        try:
            async with conn.transaction(isolation="repeatable_read", readonly=True):
                yield conn
        except asyncpg.QueryCanceledError:
            raise ApiError(503, "the figures took too long to read; try again shortly") from None


async def read_figures(request: Request) -> dict[str, dict[str, Any]]:
    async with reading(request) as conn:
        return await figures.all_figures(conn)


async def breakdowns(conn: asyncpg.Connection, department: str | None = None) -> dict[str, list[dict[str, Any]]]:
    """The breakdowns the summary (department None) and a department's figures carry, of their scope."""
    return {"resources_by_quarter": await figures.resources_by_quarter(conn, department),
            "resources_by_theme": await figures.resources_by_theme(conn, department),
            "participation_by_month": await figures.participation_by_month(conn, department)}


async def summary_of(conn: asyncpg.Connection) -> dict[str, Any]:
    """What the summary endpoint and the dashboard show: one read, so they agree."""
    every = await figures.all_figures(conn)
    return {
        "figures": every[figures.ALL],
        "departments": sorted(d for d in every if d != figures.ALL),
        "department_figures": {d: f for d, f in every.items() if d != figures.ALL},
        "adoption_links": await figures.adoption_links(conn),
        "campaigns": await figures.campaigns(conn),
    }
