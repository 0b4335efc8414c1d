"""The panel's rules in the ideas API, on the real broker and database: one review per reviewer, no conflict of
interest, reviews readable by the panel, the decision's note for the submitter, the review queue and the ranking."""

import uuid

from shared.events.pseudonym import pseudonymise
from tests.integration.ideas.conftest import SECRET, submit

SCORES = {"impact": 4, "feasibility": 3, "value_for_money": 5, "alignment": 2}


async def review(ideas, idea_id, person: str, scores=SCORES, comment: str | None = None, role: str = "reviewer"):
    body = {"scores": scores, **({"comment": comment} if comment is not None else {})}
    return await ideas.client.post(f"/v1/ideas/{idea_id}/reviews", json=body, headers=ideas.headers(role, person))


async def test_a_second_review_by_the_same_reviewer_is_refused_with_409_and_changes_nothing(ideas):
    idea = await submit(ideas)
    first = await review(ideas, idea["idea_id"], "rita", comment="clear problem")
    assert first.status_code == 201 and first.json()["reviews"] == 1
    again = await review(ideas, idea["idea_id"], "rita", scores={**SCORES, "impact": 1}, comment="second thoughts")
    assert again.status_code == 409, again.text
    assert "already reviewed" in again.json()["reason"] and again.json()["status"] == "submitted"
    as_admin = await review(ideas, idea["idea_id"], "rita", role="admin")  # the same person with another key
    assert as_admin.status_code == 409
    other = await review(ideas, idea["idea_id"], "raj")
    assert other.status_code == 201 and other.json()["reviews"] == 2
    current = (await ideas.client.get(f"/v1/ideas/{idea['idea_id']}", headers=ideas.headers("viewer", None))).json()
    assert current["reviews"] == 2 and current["scores"]["impact"] == 4  # the refused 1 was never counted
    assert current["scores"]["overall"] == 3.5
    assert await ideas.runtime.pool.fetchval("SELECT count(*) FROM reviews") == 2
    assert await ideas.runtime.pool.fetchval("SELECT count(*) FROM outbox") == 3  # submitted, two reviews


async def test_nobody_reviews_shortlists_backs_declines_or_merges_an_idea_they_submitted(ideas):
    idea = await submit(ideas, person="alice")
    url = f"/v1/ideas/{idea['idea_id']}"
    target = await submit(ideas, "Another idea", person="bob")
    alice_as_panel = ideas.headers("reviewer", "alice")
    attempts = [
        ("reviews", {"scores": SCORES}, "reviews"),
        ("shortlist", {}, "shortlists"),
        ("decline", {"reason": "other", "note": "mine"}, "declines"),
        ("merge", {"into_department": ideas.department, "into_idea_id": target["idea_id"]}, "merges"),
    ]
    for action, body, verb in attempts:
        refused = await ideas.client.post(f"{url}/{action}", json=body, headers=alice_as_panel)
        assert refused.status_code == 403, (action, refused.text)
        assert refused.json()["reason"] == f"conflict of interest: nobody {verb} an idea they submitted"
        assert refused.json()["detail"] == [{"field": "X-Person-Ref", "rule": "not the idea's submitter"}]
    as_admin = await ideas.client.post(f"{url}/shortlist", json={}, headers=ideas.headers("admin", "alice"))
    assert as_admin.status_code == 403  # the role does not lift the rule
    assert (await ideas.client.post(f"{url}/shortlist", json={}, headers=ideas.headers("reviewer", "rita"))).status_code == 200
    backed = await ideas.client.post(f"{url}/back", json={"budget_gbp": 100, "staff_days": 1, "timebox_weeks": 2},
                                     headers=alice_as_panel)
    assert backed.status_code == 403 and "backs" in backed.json()["reason"]
    current = (await ideas.client.get(url, headers=ideas.headers("viewer", None))).json()
    assert current["status"] == "shortlisted" and current["reviews"] == 0
    # the submitter still endorses others' ideas and withdraws their own
    assert (await ideas.client.post(f"/v1/ideas/{target['idea_id']}/endorsements",
                                    headers=ideas.headers("contributor", "alice"))).status_code == 201
    assert (await ideas.client.post(f"{url}/withdraw", headers=ideas.headers("contributor", "alice"))).status_code == 200


async def test_reviews_are_read_by_the_panel_oldest_first_and_refused_to_others(ideas):
    idea = await submit(ideas, person="alice")
    url = f"/v1/ideas/{idea['idea_id']}/reviews"
    await review(ideas, idea["idea_id"], "rita", comment="<b>Strong</b> case")
    await review(ideas, idea["idea_id"], "raj", scores={"impact": 1, "feasibility": 1, "value_for_money": 1,
                                                         "alignment": 1})
    for role in ("reviewer", "admin"):
        read = await ideas.client.get(url, headers=ideas.headers(role, None))
        assert read.status_code == 200, read.text
        items = read.json()["items"]
        assert [i["reviewer"] for i in items] == [pseudonymise(SECRET, "rita"), pseudonymise(SECRET, "raj")]
        assert items[0]["scores"] == SCORES and items[0]["comment"] == "<b>Strong</b> case"
        assert items[1]["comment"] is None and items[0]["reviewed_at"] <= items[1]["reviewed_at"]
        assert set(items[0]) == {"reviewer", "scores", "comment", "reviewed_at"}
    for role in ("contributor", "viewer"):
        refused = await ideas.client.get(url, headers=ideas.headers(role, "alice"))
        assert refused.status_code == 403, (role, refused.text)
    assert (await ideas.client.get(url, headers=ideas.headers("stranger"))).status_code == 404
    missing = await ideas.client.get(f"/v1/ideas/{uuid.uuid4()}/reviews", headers=ideas.headers("reviewer"))
    assert missing.status_code == 404
    assert (await ideas.client.get("/v1/ideas/nonsense/reviews", headers=ideas.headers("reviewer"))).status_code == 422
    fresh = await submit(ideas, "Nobody reviewed this yet")
    empty = await ideas.client.get(f"/v1/ideas/{fresh['idea_id']}/reviews", headers=ideas.headers("reviewer"))
    assert empty.json() == {"items": []}


async def test_the_submitter_sees_the_decision_with_its_reason_and_note_and_other_contributors_the_reason_only(ideas):
    idea = await submit(ideas, person="alice")
    url = f"/v1/ideas/{idea['idea_id']}"
    declined = await ideas.client.post(f"{url}/decline", headers=ideas.headers("reviewer", "rita"),
                                       json={"reason": "not_feasible", "note": "The estate cannot host it this year."})
    assert declined.status_code == 200

    async def closure(role: str, person: str | None) -> dict:
        response = await ideas.client.get(url, headers=ideas.headers(role, person))
        assert response.status_code == 200, response.text
        return response.json()["closure"]

    full = {"by": pseudonymise(SECRET, "rita"), "reason": "not_feasible",
            "note": "The estate cannot host it this year.", "into_department": None, "into_idea_id": None}
    assert await closure("contributor", "alice") == full
    assert await closure("reviewer", None) == full and await closure("admin", None) == full
    assert await closure("contributor", "bob") == {**full, "note": None}
    assert await closure("viewer", None) == {**full, "note": None}
    listed = await ideas.client.get("/v1/ideas", headers=ideas.headers("contributor", "bob"))
    assert listed.json()["items"][0]["closure"]["note"] is None
    mine = await ideas.client.get("/v1/ideas", params={"mine": "true"}, headers=ideas.headers("contributor", "alice"))
    assert mine.json()["items"][0]["closure"]["note"] == full["note"]


async def test_the_review_queue_lists_open_ideas_i_neither_submitted_nor_reviewed_oldest_first(ideas):
    mine = await submit(ideas, "Rita's own idea", person="rita")
    made = [await submit(ideas, f"Idea {n}", person="alice") for n in range(5)]
    reviewed = made[1]
    await review(ideas, reviewed["idea_id"], "rita")
    await review(ideas, made[2]["idea_id"], "raj")
    await ideas.client.post(f"/v1/ideas/{made[3]['idea_id']}/shortlist", json={}, headers=ideas.headers("reviewer", "raj"))
    await ideas.client.post(f"/v1/ideas/{made[4]['idea_id']}/decline", json={"reason": "other"},
                            headers=ideas.headers("reviewer", "raj"))
    rita = ideas.headers("reviewer", "rita")
    seen, cursor = [], None
    while True:
        response = await ideas.client.get("/v1/reviews/queue", headers=rita,
                                          params={"limit": 1, **({"cursor": cursor} if cursor else {})})
        assert response.status_code == 200, response.text
        body = response.json()
        assert set(body) == {"items", "next_cursor"}
        seen += body["items"]
        if not (cursor := body["next_cursor"]):
            break
    assert [i["idea_id"] for i in seen] == [made[0]["idea_id"], made[2]["idea_id"], made[3]["idea_id"]]
    assert [i["reviews"] for i in seen] == [0, 1, 0] and seen[2]["status"] == "shortlisted"
    raj = (await ideas.client.get("/v1/reviews/queue", headers=ideas.headers("admin", "raj"))).json()["items"]
    assert [i["idea_id"] for i in raj] == [mine["idea_id"], made[0]["idea_id"], made[1]["idea_id"], made[3]["idea_id"]]
    for role in ("contributor", "viewer"):
        assert (await ideas.client.get("/v1/reviews/queue", headers=ideas.headers(role))).status_code == 403
    nobody = await ideas.client.get("/v1/reviews/queue", headers=ideas.headers("reviewer", None))
    assert nobody.status_code == 400 and nobody.json()["detail"][0]["field"] == "X-Person-Ref"
    assert (await ideas.client.get("/v1/reviews/queue", headers=ideas.headers("stranger"))).status_code == 403
    for params, field in (({"cursor": "nonsense!"}, "cursor"), ({"limit": 0}, "limit"), ({"limit": 201}, "limit")):
        bad = await ideas.client.get("/v1/reviews/queue", headers=rita, params=params)
        assert bad.status_code == 422 and bad.json()["detail"][0]["field"] == field


async def test_the_ranking_orders_shortlisted_ideas_by_overall_average_unreviewed_last(ideas):
    def scores(value: int, alignment: int | None = None) -> dict:
        return {"impact": value, "feasibility": value, "value_for_money": value, "alignment": alignment or value}

    ideas_made = {name: await submit(ideas, name, person="alice") for name in ("fair", "best", "unreviewed", "open")}
    for name in ("fair", "best", "unreviewed"):
        await ideas.client.post(f"/v1/ideas/{ideas_made[name]['idea_id']}/shortlist", json={},
                                headers=ideas.headers("reviewer", "chair"))
    await review(ideas, ideas_made["fair"]["idea_id"], "rita", scores(3))
    await review(ideas, ideas_made["fair"]["idea_id"], "raj", scores(2, alignment=4))
    await review(ideas, ideas_made["best"]["idea_id"], "rita", scores(5))
    await review(ideas, ideas_made["open"]["idea_id"], "rita", scores(5))  # not shortlisted: not ranked
    response = await ideas.client.get("/v1/ideas/ranking", headers=ideas.headers("reviewer", None))
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    assert [i["title"] for i in items] == ["best", "fair", "unreviewed"]
    assert items[0]["scores"] == {"impact": 5.0, "feasibility": 5.0, "value_for_money": 5.0, "alignment": 5.0,
                                  "overall": 5.0}
    assert items[1]["scores"] == {"impact": 2.5, "feasibility": 2.5, "value_for_money": 2.5, "alignment": 3.5,
                                  "overall": 2.75}
    assert items[2]["scores"] is None and items[2]["reviews"] == 0
    top = await ideas.client.get("/v1/ideas/ranking", params={"limit": 1}, headers=ideas.headers("admin", None))
    assert [i["title"] for i in top.json()["items"]] == ["best"]
    for role in ("contributor", "viewer"):
        assert (await ideas.client.get("/v1/ideas/ranking", headers=ideas.headers(role))).status_code == 403
    bad = await ideas.client.get("/v1/ideas/ranking", params={"limit": "many"}, headers=ideas.headers("reviewer"))
    assert bad.status_code == 422 and bad.json()["detail"][0]["field"] == "limit"
