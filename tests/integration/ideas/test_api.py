"""The ideas HTTP API against the real broker and database: what it publishes and what it refuses."""

import asyncio
import sys
import uuid
from datetime import datetime, timedelta, timezone

from shared.events import decode
from shared.events.pseudonym import pseudonymise
from tests.integration.ideas.conftest import SECRET, correlation, submit, unsent
from tests.support.kafka import read_records


async def drained(service, timeout: float = 30) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while await unsent(service):
        assert loop.time() < deadline, "the outbox did not drain"
        service.runtime.relay.wake()
        await asyncio.sleep(0.05)


async def test_a_submitted_idea_reaches_kafka_with_every_cloudevents_attribute(ideas, kafka_bootstrap, ideas_topic):
    cid = correlation()
    response = await ideas.client.post(
        "/v1/ideas",
        json={"title": "Fewer forms", "problem": "Too many forms.", "proposal": "Merge them.",
              "themes": ["customer-service"], "campaign": "one-big-thing-2025"},
        headers=ideas.headers("contributor", "staff-4711", **{"X-Correlation-Id": cid}),
    )
    assert response.status_code == 201, response.text
    assert response.headers["x-correlation-id"] == cid
    idea = response.json()
    assert idea["status"] == "submitted" and response.headers["location"] == f"/v1/ideas/{idea['idea_id']}"
    pseudonym = pseudonymise(SECRET, "staff-4711")
    assert idea["submitted_by"] == pseudonym

    [record] = await read_records(kafka_bootstrap, ideas_topic, count=1, group_id=f"reader-{uuid.uuid4().hex}")
    headers = {k: v.decode() for k, v in record.headers}
    assert record.key == idea["idea_id"].encode()
    assert headers["ce_specversion"] == "1.0"
    assert uuid.UUID(headers["ce_id"])
    assert headers["ce_source"] == f"/departments/{ideas.department}/ideas"
    assert headers["ce_type"] == "uk.gov.innovation.idea.submitted.v1"
    assert headers["ce_subject"] == f"ideas/{idea['idea_id']}"
    assert abs(datetime.fromisoformat(headers["ce_time"]) - datetime.now(timezone.utc)) < timedelta(minutes=5)
    assert headers["ce_time"].endswith(("Z", "+00:00"))
    assert headers["ce_dataschema"] == "urn:uk.gov.innovation:schema:idea.submitted:1"
    assert headers["ce_department"] == ideas.department
    assert headers["ce_correlationid"] == cid and headers["ce_causationid"] == cid
    assert headers["content-type"] == "application/json"
    event = decode(record.value, record.headers, topic=record.topic)
    assert event.data.submitted_by == pseudonym and event.data.campaign == "one-big-thing-2025"
    assert b"staff-4711" not in record.value and all(b"staff-4711" not in v for _, v in record.headers)
    stored = await ideas.runtime.pool.fetchval("SELECT count(*) FROM ideas WHERE row(ideas.*)::text LIKE '%staff-4711%'")
    assert stored == 0  # the raw reference is stored nowhere


async def test_the_lifecycle_publishes_each_change_in_order_and_refuses_the_rest_with_409(
    ideas, kafka_bootstrap, ideas_topic,
):
    idea = await submit(ideas)
    url = f"/v1/ideas/{idea['idea_id']}"
    reviewer = ideas.headers("reviewer", "panel-chair")
    steps = [
        ("endorsements", None, ideas.headers("contributor", "bob"), 201),
        ("reviews", {"scores": {"impact": 5, "feasibility": 4, "value_for_money": 4, "alignment": 3},
                     "comment": "strong"}, reviewer, 201),
        ("shortlist", {"note": "promising"}, reviewer, 200),
        ("endorsements", {}, ideas.headers("contributor", "carol"), 201),
        ("back", {"budget_gbp": 5000, "staff_days": 12.5, "timebox_weeks": 6}, reviewer, 200),
    ]
    for path, body, headers, status in steps:
        response = await ideas.client.post(f"{url}/{path}", json=body, headers=headers)
        assert response.status_code == status, (path, response.text)
    current = (await ideas.client.get(url, headers=ideas.headers("viewer", None))).json()
    assert current["status"] == "backed" and current["endorsements"] == 2 and current["reviews"] == 1
    assert current["backing"]["budget_gbp"] == 5000 and current["scores"]["impact"] == 5

    refused = await ideas.client.post(f"{url}/endorsements", headers=ideas.headers("contributor", "dave"))
    assert refused.status_code == 409
    assert refused.json()["status"] == "backed" and "backed" in refused.json()["reason"]
    again = await ideas.client.post(f"{url}/decline", json={"reason": "other", "note": "late"}, headers=reviewer)
    assert again.status_code == 409 and again.json()["status"] == "backed"

    other = await submit(ideas, "Another one")
    await ideas.client.post(f"/v1/ideas/{other['idea_id']}/endorsements", headers=ideas.headers("contributor", "bob"))
    twice = await ideas.client.post(f"/v1/ideas/{other['idea_id']}/endorsements",
                                    headers=ideas.headers("contributor", "bob"))
    assert twice.status_code == 409 and "already endorsed" in twice.json()["reason"]

    records = await read_records(kafka_bootstrap, ideas_topic, count=8)
    types = [decode(r.value, r.headers).type.split(".")[-2] for r in records if r.key == idea["idea_id"].encode()]
    assert types == ["submitted", "endorsed", "reviewed", "shortlisted", "endorsed", "backed"]
    await drained(ideas)
    assert await ideas.runtime.pool.fetchval("SELECT count(*) FROM outbox") == 8  # refusals published nothing


async def test_decline_withdraw_merge_and_conversations(ideas, kafka_bootstrap, ideas_topic):
    reviewer = ideas.headers("reviewer", "panel")
    first = await submit(ideas, "Idea one")
    second = await submit(ideas, "Idea two")
    third = await submit(ideas, "Idea three")
    declined = await ideas.client.post(f"/v1/ideas/{first['idea_id']}/decline",
                                       json={"reason": "duplicate", "note": "see idea two"}, headers=reviewer)
    assert declined.json()["closure"] == {"by": pseudonymise(SECRET, "panel"), "reason": "duplicate",
                                          "note": "see idea two", "into_department": None, "into_idea_id": None}
    not_mine = await ideas.client.post(f"/v1/ideas/{second['idea_id']}/withdraw", headers=ideas.headers("contributor", "bob"))
    assert not_mine.status_code == 403
    withdrawn = await ideas.client.post(f"/v1/ideas/{second['idea_id']}/withdraw", headers=ideas.headers("contributor", "alice"))
    assert withdrawn.json()["status"] == "withdrawn"
    target = (await submit(ideas, "Idea four", person="bob"))["idea_id"]
    merged = await ideas.client.post(f"/v1/ideas/{third['idea_id']}/merge",
                                     json={"into_department": ideas.department, "into_idea_id": target}, headers=reviewer)
    assert merged.json()["status"] == "merged" and merged.json()["closure"]["into_idea_id"] == target
    conversation = await ideas.client.post("/v1/conversations", headers=ideas.headers("contributor"), json={
        "team": "Benefits East", "participants": 12, "held_on": "2025-06-03", "ideas_raised": 4})
    assert conversation.status_code == 201, conversation.text
    cid = conversation.json()["conversation_id"]
    duplicate = await ideas.client.post("/v1/conversations", headers=ideas.headers("contributor"), json={
        "conversation_id": cid, "team": "Benefits East", "participants": 12, "held_on": "2025-06-03", "ideas_raised": 4})
    assert duplicate.status_code == 409
    records = await read_records(kafka_bootstrap, ideas_topic, count=8)
    types = sorted(decode(r.value, r.headers).type for r in records)
    assert types.count("uk.gov.innovation.conversation.recorded.v1") == 1
    assert {"uk.gov.innovation.idea.declined.v1", "uk.gov.innovation.idea.withdrawn.v1",
            "uk.gov.innovation.idea.merged.v1"} <= set(types)


async def test_listing_filters_and_pages_with_a_cursor(ideas):
    made = [await submit(ideas, f"Idea {n}", themes=["ai"] if n % 2 else ["net-zero"],
                         campaign="obt-2025" if n < 3 else None) for n in range(7)]
    viewer = ideas.headers("viewer", None)
    seen, cursor = [], None
    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = (await ideas.client.get("/v1/ideas", params=params, headers=viewer)).json()
        seen += [i["idea_id"] for i in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [i["idea_id"] for i in reversed(made)]
    ai = (await ideas.client.get("/v1/ideas", params={"theme": "ai"}, headers=viewer)).json()["items"]
    assert {i["idea_id"] for i in ai} == {m["idea_id"] for n, m in enumerate(made) if n % 2}
    campaign = (await ideas.client.get("/v1/ideas", params={"campaign": "obt-2025", "status": "submitted"},
                                       headers=viewer)).json()["items"]
    assert len(campaign) == 3
    bad = await ideas.client.get("/v1/ideas", params={"cursor": "nonsense!"}, headers=viewer)
    assert bad.status_code == 422 and bad.json()["detail"][0]["field"] == "cursor"


async def test_bad_input_is_refused_with_the_field_and_the_rule(ideas):
    headers = ideas.headers("contributor")
    valid = {"title": "Fewer forms", "problem": "Too many.", "proposal": "Merge them."}
    cases = [
        ({**valid, "title": "ab"}, "title", "string_too_short"),
        ({**valid, "title": "x" * 201}, "title", "string_too_long"),
        ({**valid, "themes": ["Not A Slug"]}, "themes.0", "string_pattern_mismatch"),
        ({**valid, "themes": [f"t{n}" for n in range(11)]}, "themes", "too_long"),
        ({**valid, "owner": "me"}, "owner", "extra_forbidden"),
        ({**valid, "problem": "nul\x00byte"}, "problem", "no_nul_character"),
        ({k: v for k, v in valid.items() if k != "proposal"}, "proposal", "missing"),
    ]
    for body, field, rule in cases:
        response = await ideas.client.post("/v1/ideas", json=body, headers=headers)
        assert response.status_code == 422, body
        assert {"field": field, "rule": rule} in [{k: d[k] for k in ("field", "rule")} for d in response.json()["detail"]]
    idea = await submit(ideas)
    reviewer = ideas.headers("reviewer")
    score = await ideas.client.post(f"/v1/ideas/{idea['idea_id']}/reviews", headers=reviewer, json={
        "scores": {"impact": 6, "feasibility": "4", "value_for_money": 1, "alignment": 1}})
    fields = {(d["field"], d["rule"]) for d in score.json()["detail"]}
    assert {("scores.impact", "less_than_equal"), ("scores.feasibility", "int_type")} <= fields
    back = await ideas.client.post(f"/v1/ideas/{idea['idea_id']}/back", headers=reviewer,
                                   json={"budget_gbp": -1, "staff_days": 1, "timebox_weeks": 53})
    assert {("budget_gbp", "greater_than_equal"), ("timebox_weeks", "less_than_equal")} <= {
        (d["field"], d["rule"]) for d in back.json()["detail"]}
    huge = await ideas.client.post("/v1/ideas", content=b'{"title": "' + b"x" * 70_000 + b'"}',
                                   headers={**headers, "content-type": "application/json"})
    assert huge.status_code == 413 and huge.json()["error"] == "request body too large"
    malformed = await ideas.client.post("/v1/ideas", content=b"{not json", headers={**headers, "content-type": "application/json"})
    assert malformed.status_code == 422
    nobody = await ideas.client.post("/v1/ideas", json=valid, headers=ideas.headers("contributor", person=None))
    assert nobody.status_code == 400 and nobody.json()["detail"][0]["field"] == "X-Person-Ref"
    assert (await ideas.client.get(f"/v1/ideas/{uuid.uuid4()}", headers=headers)).status_code == 404
    assert (await ideas.client.get("/v1/ideas/not-a-uuid", headers=headers)).status_code == 422


async def test_html_in_a_title_is_stored_and_returned_as_text(ideas, kafka_bootstrap, ideas_topic):
    title = '<script>alert("x")</script><b>Bold</b> & more'
    idea = await submit(ideas, title)
    fetched = await ideas.client.get(f"/v1/ideas/{idea['idea_id']}", headers=ideas.headers("viewer", None))
    assert fetched.headers["content-type"] == "application/json"
    assert fetched.json()["title"] == title
    [record] = await read_records(kafka_bootstrap, ideas_topic, count=1)
    assert decode(record.value, record.headers).data.title == title


async def test_other_departments_wrong_roles_and_revoked_keys_are_refused(ideas):
    idea = await submit(ideas)
    url = f"/v1/ideas/{idea['idea_id']}"
    conn_keys = {}
    from shared.auth import new_key, register_key
    async with ideas.runtime.pool.acquire() as conn:
        for role in ("reviewer", "admin"):
            conn_keys[role] = new_key()
            await register_key(conn, conn_keys[role], department="hmrc", role=role)
    foreign = lambda role: {"Authorization": f"Bearer {conn_keys[role]}", "X-Person-Ref": "mallory"}  # noqa: E731
    assert (await ideas.client.get(url, headers=foreign("admin"))).status_code == 404
    assert (await ideas.client.get("/v1/ideas", headers=foreign("admin"))).status_code == 404
    assert (await ideas.client.post(f"{url}/shortlist", headers=foreign("reviewer"))).status_code == 404
    assert (await ideas.client.post(f"{url}/withdraw", headers=foreign("admin"))).status_code == 404
    sneaky = await ideas.client.post("/v1/ideas", headers=foreign("admin"),
                                     json={"title": "Sneaky", "problem": "p", "proposal": "p"})
    assert sneaky.status_code == 403

    wrong_role = [
        ("post", f"{url}/shortlist", "contributor"), ("post", f"{url}/back", "contributor"),
        ("post", f"{url}/endorsements", "reviewer"), ("post", "/v1/ideas", "viewer"),
        ("post", f"{url}/decline", "viewer"), ("post", "/v1/conversations", "reviewer"),
    ]
    for method, path, role in wrong_role:
        response = await ideas.client.request(method, path, headers=ideas.headers(role), json={})
        assert response.status_code == 403, (path, role, response.text)
    assert (await ideas.client.get(url, headers={"Authorization": "Bearer nonsense"})).status_code == 401
    assert (await ideas.client.get(url)).status_code == 401

    key_id = ideas.keys["contributor"].split("_")[1]
    # Not subprocess.run: the service runs in this event loop, and the revocation returns once its key cache
    # confirmed it emptied itself (shared.auth.revoke_key), which a blocked loop cannot do.
    revoked = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "shared.auth", "revoke", "--dsn", ideas.dsn, "--key-id", key_id,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    _, stderr = await revoked.communicate()
    assert revoked.returncode == 0, stderr
    assert (await ideas.client.get(url, headers=ideas.headers("contributor"))).status_code == 401
    after = await ideas.client.get(url, headers=ideas.headers("viewer"))
    assert after.json()["status"] == "submitted"  # nothing changed by any refused call
    await drained(ideas)
    assert await ideas.runtime.pool.fetchval("SELECT count(*) FROM outbox") == 1


async def test_without_a_correlation_id_the_request_gets_one_and_its_events_carry_it(
    ideas, kafka_bootstrap, ideas_topic,
):
    response = await ideas.client.post("/v1/conversations", headers=ideas.headers("contributor"), json={
        "team": "Benefits East", "participants": 3, "held_on": "2025-06-03", "ideas_raised": 0})
    given = response.headers["x-correlation-id"]
    assert uuid.UUID(given)
    [record] = await read_records(kafka_bootstrap, ideas_topic, count=1)
    event = decode(record.value, record.headers)
    assert event.correlationid == given and event.causationid == given
    assert record.key == response.json()["conversation_id"].encode()
    unix_date = await ideas.client.post("/v1/conversations", headers=ideas.headers("contributor"), json={
        "team": "Benefits East", "participants": 3, "held_on": 1717372800, "ideas_raised": 0})
    assert unix_date.status_code == 422 and unix_date.json()["detail"][0]["field"] == "held_on"


async def test_metrics_expose_requests_outbox_backlog_and_publish_latency(ideas):
    await submit(ideas)
    await drained(ideas)
    text = (await ideas.client.get("/metrics")).text
    assert 'http_requests_total{method="POST",route="/v1/ideas",status="201"}' in text
    assert "outbox_backlog " in text
    count = [line for line in text.splitlines() if line.startswith("outbox_commit_to_ack_seconds_count")]
    assert count and float(count[0].split()[-1]) >= 1


async def test_listing_finds_words_and_the_acting_persons_own_and_endorsed_ideas(ideas):
    alices = [await submit(ideas, "Shared desks booking", person="alice"),
              await submit(ideas, "Fewer forms", person="alice", proposal="One FORM for claimants.")]
    bobs = await submit(ideas, "Shared drive tidy", person="bob")
    endorsed = await ideas.client.post(f"/v1/ideas/{bobs['idea_id']}/endorsements",
                                       headers=ideas.headers("contributor", "alice"))
    assert endorsed.status_code == 201, endorsed.text

    async def listed(person: str | None, **params) -> list[str]:
        response = await ideas.client.get("/v1/ideas", params=params, headers=ideas.headers("contributor", person))
        assert response.status_code == 200, response.text
        return [i["idea_id"] for i in response.json()["items"]]

    assert await listed("alice", mine="true") == [i["idea_id"] for i in reversed(alices)]
    assert await listed("bob", mine="true") == [bobs["idea_id"]]
    assert await listed("alice", endorsed="true") == [bobs["idea_id"]]
    assert await listed("bob", endorsed="true") == []
    assert await listed(None, q="shared") == [bobs["idea_id"], alices[0]["idea_id"]]
    assert await listed(None, q="one form") == [alices[1]["idea_id"]]  # in the proposal, any case
    assert await listed(None, q="100%_") == []  # no pattern characters: words are words
    nobody = await ideas.client.get("/v1/ideas", params={"mine": "true"}, headers=ideas.headers("contributor", None))
    assert nobody.status_code == 400 and nobody.json()["detail"][0]["field"] == "X-Person-Ref"
    control = await ideas.client.get("/v1/ideas", params={"q": "a\x00b"}, headers=ideas.headers("viewer", None))
    assert control.status_code == 422 and control.json()["detail"][0]["field"] == "q"
