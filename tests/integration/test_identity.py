"""People call the departmental APIs with the access token the department's identity provider (a real
Keycloak, one realm per test department) issued them: the acting person is the token's subject, whatever
X-Person-Ref says; the rules that need a real identity hold; every token that is not the provider's,
for this department and audience, valid now and signed with an allowed algorithm is refused with 401.
The ideas service runs in-process with the realm as its OIDC_ISSUER."""

import base64
import json

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey

from shared.auth import new_key, register_key
from shared.events.pseudonym import pseudonymise
from shared.events.topics import intake_topic, topic_name
from tests.integration.ideas.conftest import SECRET, running, settings_for
from tests.support.kafka import create_topics
from tests.support.ports import free_port
from tests.support.services import RunningService
from tests.support.waiting import eventually
from tests.support.keycloak import bearer, jwt_part

pytestmark = pytest.mark.integration

IDEA = {"title": "Fewer forms", "problem": "Too many forms.", "proposal": "Merge them."}


async def serve_ideas(kafka_bootstrap, new_database, department, **oidc):
    dsn = await new_database("ideas")
    await create_topics(kafka_bootstrap, topic_name(department, "ideas"), intake_topic(department, "ideas"))
    return running(settings_for(dsn, department, kafka_bootstrap, **oidc))


@pytest.fixture
async def realm(keycloak, department):
    return await keycloak.realm(department)


@pytest.fixture
async def ideas(kafka_bootstrap, new_database, department, realm):
    async with await serve_ideas(kafka_bootstrap, new_database, department, oidc_issuer=realm.issuer) as service:
        yield service


def b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


async def refused(ideas: RunningService, token: str, why: str) -> None:
    response = await ideas.client.post("/v1/ideas", json=IDEA, headers=bearer(token))
    assert response.status_code == 401, (why, response.text)
    assert response.headers["www-authenticate"] == 'Bearer error="invalid_token"', why
    assert response.json()["detail"][0]["field"] == "Authorization", why


async def test_the_acting_person_is_the_tokens_subject_and_only_they_withdraw_their_idea(ideas, keycloak, department):
    alice, bob = await keycloak.token(department, "contributor"), await keycloak.token(department, "contributor2")
    sent = await ideas.client.post("/v1/ideas", json=IDEA, headers=bearer(alice, **{"X-Person-Ref": "bob"}))
    assert sent.status_code == 201, sent.text
    idea = sent.json()
    assert idea["submitted_by"] == pseudonymise(SECRET, jwt_part(alice, 1)["sub"])  # X-Person-Ref not consulted
    assert idea["submitted_by"] != pseudonymise(SECRET, "bob")

    withdraw = f"/v1/ideas/{idea['idea_id']}/withdraw"
    by_bob = await ideas.client.post(withdraw, headers=bearer(bob, **{"X-Person-Ref": jwt_part(alice, 1)["sub"]}))
    assert by_bob.status_code == 403, by_bob.text
    assert "only the person who submitted" in by_bob.json()["error"]
    by_alice = await ideas.client.post(withdraw, headers=bearer(alice))
    assert by_alice.status_code == 200, by_alice.text
    assert by_alice.json()["status"] == "withdrawn"


async def test_a_person_endorses_an_idea_once_whatever_they_send(ideas, keycloak, department):
    alice, bob = await keycloak.token(department, "contributor"), await keycloak.token(department, "contributor2")
    idea = (await ideas.client.post("/v1/ideas", json=IDEA, headers=bearer(alice))).json()
    endorse = f"/v1/ideas/{idea['idea_id']}/endorsements"
    assert (await ideas.client.post(endorse, headers=bearer(bob, **{"X-Person-Ref": "one"}))).status_code == 201
    again = await ideas.client.post(endorse, headers=bearer(bob, **{"X-Person-Ref": "another"}))
    assert again.status_code == 409, again.text
    assert "already endorsed" in again.json()["reason"]
    fetched = await ideas.client.get(f"/v1/ideas/{idea['idea_id']}", headers=bearer(alice))
    assert fetched.json()["endorsements"] == 1


async def test_the_role_comes_from_the_token(ideas, keycloak, department):
    viewer = await keycloak.token(department, "viewer")
    submitted = await ideas.client.post("/v1/ideas", json=IDEA, headers=bearer(viewer))
    assert submitted.status_code == 403, submitted.text
    assert (await ideas.client.get("/v1/ideas", headers=bearer(viewer))).status_code == 200
    reviewer = await keycloak.token(department, "reviewer")
    idea = (await ideas.client.post("/v1/ideas", json=IDEA, headers=bearer(await keycloak.token(department)))).json()
    shortlisted = await ideas.client.post(f"/v1/ideas/{idea['idea_id']}/shortlist", headers=bearer(reviewer))
    assert shortlisted.status_code == 200, shortlisted.text


async def test_a_token_of_another_departments_realm_is_refused(ideas, keycloak, department):
    other = f"{department}x"
    await keycloak.realm(other)
    await refused(ideas, await keycloak.token(other, "admin"), "another department's realm")


async def test_a_token_issued_for_another_audience_is_refused(ideas, realm, keycloak, department):
    # admin-cli, a client of every Keycloak realm, issues tokens without our audience (and department).
    username, password = realm.users["contributor"]
    async with httpx.AsyncClient(base_url=keycloak.base_url) as client:
        response = await client.post(f"/realms/{department}/protocol/openid-connect/token", data={
            "grant_type": "password", "client_id": "admin-cli", "username": username, "password": password})
    assert response.status_code == 200, response.text
    token = response.json()["access_token"]
    assert "innovation-api" not in (jwt_part(token, 1).get("aud") or [])
    await refused(ideas, token, "another audience")


async def test_forged_signatures_and_alg_none_are_refused(ideas, keycloak, department):
    token = await keycloak.token(department, "contributor")
    assert (await ideas.client.get("/v1/ideas", headers=bearer(token))).status_code == 200
    header, payload, signature = token.split(".")
    claims = jwt_part(token, 1)
    promoted = {**claims, "sub": "someone-else", "realm_access": {"roles": ["admin"]}}
    await refused(ideas, f"{header}.{b64(promoted)}.{signature}", "payload changed")
    impostor = RSAKey.generate_key(2048)
    resigned = jwt.encode({"alg": "RS256", "kid": jwt_part(token, 0)["kid"], "typ": "JWT"}, promoted, impostor)
    await refused(ideas, resigned, "re-signed with another key under the provider's kid")
    await refused(ideas, f"{b64({'alg': 'none', 'kid': jwt_part(token, 0)['kid']})}.{b64(promoted)}.", "alg none")
    await refused(ideas, f"{b64({'alg': 'none'})}.{payload}.", "alg none, the provider's payload")


async def test_an_expired_token_is_refused(kafka_bootstrap, new_database, keycloak, department):
    realm = await keycloak.realm(department, access_token_lifespan=2)
    async with await serve_ideas(kafka_bootstrap, new_database, department, oidc_issuer=realm.issuer,
                                 oidc_leeway_seconds=0) as ideas:
        token = await keycloak.token(department)
        first = await ideas.client.get("/v1/ideas", headers=bearer(token))
        assert first.status_code == 200, first.text

        async def refused_now():
            response = await ideas.client.get("/v1/ideas", headers=bearer(token))
            return response.status_code == 401 and "expired" in response.json()["error"]

        await eventually(refused_now, timeout=60, what="the token to expire")
        await refused(ideas, token, "expired")


async def test_tokens_are_refused_clearly_where_no_provider_is_configured(kafka_bootstrap, new_database, keycloak,
                                                                          department):
    await keycloak.realm(department)
    async with await serve_ideas(kafka_bootstrap, new_database, department) as ideas:
        response = await ideas.client.get("/v1/ideas", headers=bearer(await keycloak.token(department)))
        assert response.status_code == 401
        assert "no identity provider is configured" in response.json()["error"]


async def test_an_unreachable_provider_lets_no_token_in(kafka_bootstrap, new_database, keycloak, department):
    await keycloak.realm(department)
    token = await keycloak.token(department)
    nowhere = f"http://127.0.0.1:{free_port()}/realms/{department}"
    async with await serve_ideas(kafka_bootstrap, new_database, department, oidc_issuer=nowhere) as ideas:
        response = await ideas.client.post("/v1/ideas", json=IDEA, headers=bearer(token))
        assert response.status_code == 503, response.text
        assert "identity provider" in response.json()["error"]


async def test_only_a_key_issued_to_act_for_people_names_a_person(ideas):
    system_key = new_key()
    async with ideas.runtime.pool.acquire() as conn:
        await register_key(conn, system_key, department=ideas.department, role="contributor", label="a system")
    named = await ideas.client.post("/v1/ideas", json=IDEA, headers=bearer(system_key, **{"X-Person-Ref": "alice"}))
    assert named.status_code == 403, named.text
    assert named.json()["detail"][0]["field"] == "X-Person-Ref"
    assert "acts-for-people" in named.json()["detail"][0]["rule"]
    assert (await ideas.client.get("/v1/ideas", headers=bearer(system_key))).status_code == 200  # it still reads
    acting = await ideas.client.post("/v1/ideas", json=IDEA, headers=ideas.headers("contributor", "alice"))
    assert acting.status_code == 201, acting.text
    assert acting.json()["submitted_by"] == pseudonymise(SECRET, "alice")
