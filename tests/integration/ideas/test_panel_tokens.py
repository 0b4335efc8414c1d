"""The panel's rules with people's access tokens from a real Keycloak (a realm per test department): the acting
person is the token's subject, so no header makes a submitter someone else, a second review someone new, or a
decision's note visible to another contributor."""

import json

import pytest

from shared.events.topics import intake_topic, topic_name
from tests.integration.ideas.conftest import running, settings_for
from tests.support.kafka import create_topics
from tests.support.keycloak import bearer, jwt_part

pytestmark = pytest.mark.integration

IDEA = {"title": "Fewer forms", "problem": "Too many forms.", "proposal": "Merge them."}
SCORES = {"impact": 4, "feasibility": 4, "value_for_money": 4, "alignment": 4}


@pytest.fixture
async def ideas(kafka_bootstrap, new_database, department, keycloak):
    realm = await keycloak.realm(department)
    dsn = await new_database("ideas")
    await create_topics(kafka_bootstrap, topic_name(department, "ideas"), intake_topic(department, "ideas"))
    async with running(settings_for(dsn, department, kafka_bootstrap, oidc_issuer=realm.issuer)) as service:
        yield service


async def test_with_tokens_a_submitter_never_judges_their_idea_and_a_reviewer_scores_once(ideas, keycloak, department):
    token = {role: await keycloak.token(department, role)
             for role in ("contributor", "contributor2", "reviewer", "reviewer2", "admin")}
    admins = (await ideas.client.post("/v1/ideas", json=IDEA, headers=bearer(token["admin"]))).json()
    url = f"/v1/ideas/{admins['idea_id']}"
    # X-Person-Ref is not read with a token: naming someone else does not lift the conflict of interest
    someone_else = {"X-Person-Ref": jwt_part(token["reviewer"])["sub"]}
    own_review = await ideas.client.post(f"{url}/reviews", json={"scores": SCORES},
                                         headers=bearer(token["admin"], **someone_else))
    assert own_review.status_code == 403 and "conflict of interest" in own_review.json()["reason"]
    own_shortlist = await ideas.client.post(f"{url}/shortlist", json={}, headers=bearer(token["admin"]))
    assert own_shortlist.status_code == 403
    admin_queue = (await ideas.client.get("/v1/reviews/queue", headers=bearer(token["admin"]))).json()["items"]
    assert admins["idea_id"] not in [i["idea_id"] for i in admin_queue]

    first = await ideas.client.post(f"{url}/reviews", json={"scores": SCORES, "comment": "solid"},
                                    headers=bearer(token["reviewer"]))
    assert first.status_code == 201, first.text
    again = await ideas.client.post(f"{url}/reviews", json={"scores": SCORES},
                                    headers=bearer(token["reviewer"], **{"X-Person-Ref": "a-new-person"}))
    assert again.status_code == 409 and "already reviewed" in again.json()["reason"]
    queue = {role: [i["idea_id"] for i in (await ideas.client.get("/v1/reviews/queue",
                                                                  headers=bearer(token[role]))).json()["items"]]
             for role in ("reviewer", "reviewer2")}
    assert queue == {"reviewer": [], "reviewer2": [admins["idea_id"]]}
    reviews = await ideas.client.get(f"{url}/reviews", headers=bearer(token["reviewer2"]))
    assert [r["comment"] for r in reviews.json()["items"]] == ["solid"]
    assert (await ideas.client.get(f"{url}/reviews", headers=bearer(token["contributor"]))).status_code == 403

    contributors = (await ideas.client.post("/v1/ideas", json=IDEA, headers=bearer(token["contributor"]))).json()
    declined = await ideas.client.post(f"/v1/ideas/{contributors['idea_id']}/decline", headers=bearer(token["reviewer2"]),
                                       json={"reason": "insufficient_evidence", "note": "Bring figures from one office."})
    assert declined.status_code == 200
    seen = {role: (await ideas.client.get(f"/v1/ideas/{contributors['idea_id']}",
                                          headers=bearer(token[role]))).json()["closure"]
            for role in ("contributor", "contributor2")}
    assert seen["contributor"]["note"] == "Bring figures from one office."
    assert seen["contributor2"]["note"] is None and seen["contributor2"]["reason"] == "insufficient_evidence"
