"""Migration 0003 on a database of ideas merged before it: merges into this department's ideas are linked
(merged_from), targets count the lineage's distinct endorsers, and merges elsewhere or into the idea's own id
(another department's idea of the same id) are left alone."""

import shutil
import uuid
from pathlib import Path

import asyncpg
import orjson

from shared.db import SHARED_MIGRATIONS, prepare_database

MIGRATIONS = Path(__file__).parents[3] / "services" / "ideas" / "migrations"


async def test_ideas_merged_before_the_lineage_migration_are_linked_and_counted(new_database, tmp_path):
    dsn = await new_database("ideas")
    before = tmp_path / "migrations"
    before.mkdir()
    for name in ("0001_ideas.sql", "0002_sources.sql"):
        shutil.copy(MIGRATIONS / name, before / name)
    await prepare_database(dsn, {"shared": SHARED_MIGRATIONS, "ideas": before})
    target, merged, elsewhere, same_id, cycle_a, cycle_b = (uuid.uuid4() for _ in range(6))

    def closure(into_department: str, into: uuid.UUID) -> str:
        return orjson.dumps({"by": "p_panel", "into_department": into_department, "into_idea_id": str(into)}).decode()

    conn = await asyncpg.connect(dsn)
    try:
        rows = [(target, "submitted", None), (merged, "merged", closure("dwp", target)),
                (elsewhere, "merged", closure("hmrc", uuid.uuid4())), (same_id, "merged", closure("hmrc", same_id)),
                (cycle_a, "merged", closure("dwp", cycle_b)), (cycle_b, "merged", closure("dwp", cycle_a))]
        for idea_id, status, closed in rows:
            await conn.execute("INSERT INTO ideas (idea_id, status, title, problem, proposal, submitted_by, closure) "
                               "VALUES ($1, $2, 'An idea', 'p', 'p', 'p_author', $3::jsonb)", idea_id, status, closed)
        for idea_id, person in ((target, "p_carol"), (merged, "p_carol"), (merged, "p_dan"), (cycle_a, "p_erin")):
            await conn.execute("INSERT INTO endorsements (idea_id, endorsed_by) VALUES ($1, $2)", idea_id, person)
        await conn.execute("UPDATE ideas SET endorsements = (SELECT count(*) FROM endorsements e "
                           "WHERE e.idea_id = ideas.idea_id)")

        await prepare_database(dsn, {"shared": SHARED_MIGRATIONS, "ideas": MIGRATIONS})
        linked = {r["idea_id"]: (r["merged_into"], r["endorsements"])
                  for r in await conn.fetch("SELECT idea_id, merged_into, endorsements FROM ideas")}
    finally:
        await conn.close()
    assert linked[target] == (None, 2)  # carol (on both, once) and dan
    assert linked[merged] == (target, 2)
    assert linked[elsewhere] == (None, 0) and linked[same_id] == (None, 0)
    assert linked[cycle_a] == (cycle_b, 1) and linked[cycle_b] == (cycle_a, 1)  # an old cycle ends the count
