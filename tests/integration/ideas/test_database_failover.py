"""A read-only window (a failover to a node that is still a replica) seen through the HTTP API:
writes answer 503 and change nothing, and once the database is writable again the service writes
again on its own, although the sessions it opened during the window were read-only."""

from urllib.parse import urlsplit

from tests.support.db import fetchval
from tests.support.pg_sessions import read_only
from tests.support.waiting import eventually


async def _submit(ideas):
    body = {"title": "Fewer forms", "problem": "Too many forms.", "proposal": "Merge them."}
    return await ideas.client.post("/v1/ideas", json=body, headers=ideas.headers("contributor"))


async def test_writes_refused_during_a_read_only_window_then_accepted_again(ideas, postgres_url):
    database = urlsplit(ideas.dsn).path.lstrip("/")
    assert (await _submit(ideas)).status_code == 201
    async with read_only(postgres_url, database):
        refused = [await _submit(ideas) for _ in range(3)]
    assert [r.status_code for r in refused] == [503, 503, 503], [r.text for r in refused]
    assert refused[0].json()["error"].startswith("the database is unavailable")
    assert refused[0].headers["retry-after"]

    async def accepted():
        return (await _submit(ideas)).status_code == 201
    await eventually(accepted, what="a write accepted after the window", timeout=30)
    assert await fetchval(ideas.dsn, "SELECT count(*) FROM ideas") == 2
