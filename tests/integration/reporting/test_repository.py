"""Every row the projection makes lands in its table column by column: each stored column, read by name,
holds the row's field of that name (so a reordered row type cannot shift values into other columns)."""

from __future__ import annotations

import dataclasses
import uuid

import asyncpg

from services.reporting.config import MIGRATIONS
from services.reporting.domain import Endorsement, Participant, project
from services.reporting.repository import save
from shared.db import SHARED_MIGRATIONS, prepare_database
from tests.integration.reporting.scenario import department_events


def _stored(rows: list[asyncpg.Record], names: tuple[str, ...]) -> set[tuple]:
    return {tuple(r[n] for n in names) for r in rows}


async def test_each_row_is_stored_under_its_field_names(new_database, department):
    dsn = await new_database("reporting")
    await prepare_database(dsn, {"shared": SHARED_MIGRATIONS, "reporting": MIGRATIONS})
    origin = ("dhsc", uuid.uuid4())
    events, _ = department_events(department, adopt_from=origin)
    changes = project(events)
    conn = await asyncpg.connect(dsn)
    try:
        async with conn.transaction():
            await save(conn, changes)

        async def table(name: str) -> list[asyncpg.Record]:
            return await conn.fetch(f"SELECT * FROM {name}")

        for name, rows in [("reviews", changes.reviews), ("conversations", changes.conversations.values()),
                           ("outcomes", changes.outcomes.values()), ("learnings", changes.learnings.values()),
                           ("adoptions", changes.adoptions.values())]:
            rows = list(rows)
            assert rows, name
            assert _stored(await table(name), rows[0]._fields) == set(rows), name
        for name, row_type, times in [("endorsements", Endorsement, changes.endorsements),
                                      ("participants", Participant, changes.participants)]:
            assert _stored(await table(name), row_type._fields) == {(*k, at) for k, at in times.items()}, name
        for name, rows in [("departments", changes.departments.values()), ("ideas", changes.ideas.values()),
                           ("experiments", changes.experiments.values())]:
            rows = list(rows)
            names = tuple(f.name for f in dataclasses.fields(rows[0]) if f.name != "themes")
            assert _stored(await table(name), names) == {tuple(getattr(r, n) for n in names) for r in rows}, name
        themes = {(r["department"], r["idea_id"]): tuple(r["themes"]) for r in await table("ideas")}
        assert themes == {k: r.themes for k, r in changes.ideas.items()}
    finally:
        await conn.close()
