"""Signing in to the portal through the department's real provider (Keycloak): authorization code with PKCE,
state and nonce checked, a server-side session behind an HttpOnly SameSite=Lax cookie, refresh, sign-out that
ends the provider's session too."""

import re
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.integration.portal.conftest import (
    browser,
    csrf_of,
    log_in_at_provider,
    register_post_logout_uri,
    sign_in,
    start_portal,
)
from tests.support.db import fetchval

pytestmark = pytest.mark.integration


async def test_a_person_signs_in_through_the_providers_login_page_and_sees_home(portal):
    async with browser() as client:
        start = await client.get(f"{portal.url}/")
        assert "Sign in" in start.text and "Signed in as" not in start.text
        to_provider = await client.get(f"{portal.url}/auth/sign-in", follow_redirects=False)
        assert to_provider.status_code == 303
        asked = parse_qs(urlsplit(to_provider.headers["location"]).query)
        assert to_provider.headers["location"].startswith(portal.realm.issuer)
        assert asked["code_challenge_method"] == ["S256"] and asked["code_challenge"][0]
        assert asked["state"][0] and asked["nonce"][0] and asked["response_type"] == ["code"]
        assert asked["redirect_uri"] == [f"{portal.url}/auth/callback"]
        pending = client.cookies["portal_session"]

        home = await log_in_at_provider(client, await client.get(to_provider.headers["location"]),
                                        *portal.realm.users["contributor"])
        assert home.url == f"{portal.url}/"
        assert "Signed in as" in home.text and "(contributor)" in home.text
        callback = next(r for r in home.history if r.url.path == "/auth/callback")
        cookie = callback.headers["set-cookie"]
        assert cookie.startswith("portal_session=")
        flags = {part.strip().lower() for part in cookie.split(";")[1:]}
        assert "httponly" in flags and "samesite=lax" in flags and "path=/" in flags
        assert "secure" not in flags  # the portal is on http here; behind https the cookie is Secure
        signed_in = client.cookies["portal_session"]
        assert signed_in != pending  # a new session id once signed in
        assert signed_in.count(".") == 0  # a random id, not a token

        tokens = await fetchval(portal.dsn, "SELECT access_token FROM portal_sessions WHERE subject IS NOT NULL")
        assert tokens and tokens not in home.text  # the access token stays on the server


async def test_a_page_that_needs_sign_in_sends_the_person_back_to_it_afterwards(portal):
    async with browser() as client:
        landed = await sign_in(client, portal, start="/ideas/new")
        assert landed.url == f"{portal.url}/ideas/new"
        assert "Raise an idea" in landed.text


async def test_a_callback_with_another_state_is_refused_and_signs_nobody_in(portal):
    async with browser() as client:
        to_provider = await client.get(f"{portal.url}/auth/sign-in", follow_redirects=False)
        login_page = await client.get(to_provider.headers["location"])
        username, password = portal.realm.users["contributor"]
        client.follow_redirects = False
        form_posted = await log_in_at_provider(client, login_page, username, password)
        client.follow_redirects = True
        back = urlsplit(form_posted.headers["location"])
        query = parse_qs(back.query)
        assert back.path == "/auth/callback" and query["state"] == parse_qs(urlsplit(to_provider.headers["location"]).query)["state"]
        forged = await client.get(f"{portal.url}/auth/callback", params={"state": "not-the-state", "code": query["code"][0]})
        assert forged.status_code == 400
        assert "could not be signed in" in forged.text
        home = await client.get(f"{portal.url}/")
        assert "Signed in as" not in home.text
        # the pending sign-in was used up: the real answer does not work after a forged one
        replay = await client.get(f"{portal.url}/auth/callback", params={"state": query["state"][0], "code": query["code"][0]})
        assert replay.status_code == 400


async def test_signing_out_ends_the_session_here_and_at_the_provider(portal):
    async with browser() as client:
        home = await sign_in(client, portal)
        old = client.cookies["portal_session"]
        out = await client.post(f"{portal.url}/auth/sign-out", data={"csrf_token": csrf_of(home)}, follow_redirects=False)
        assert out.status_code == 303
        end = urlsplit(out.headers["location"])
        asked = parse_qs(end.query)
        assert out.headers["location"].startswith(portal.realm.issuer) and end.path.endswith("/logout")
        assert asked["post_logout_redirect_uri"] == [f"{portal.url}/signed-out"] and asked["id_token_hint"][0]
        assert re.search(r"portal_session=\"?\"?;", out.headers["set-cookie"])  # cleared in the browser
        gone = await client.get(out.headers["location"])
        assert gone.url == f"{portal.url}/signed-out" and "You have signed out" in gone.text
        assert await fetchval(portal.dsn, "SELECT count(*) FROM portal_sessions WHERE subject IS NOT NULL") == 0
        client.cookies.set("portal_session", old)
        assert "Signed in as" not in (await client.get(f"{portal.url}/")).text
        # the provider's session ended too: signing in asks for the password again
        again = await client.get(f"{portal.url}/auth/sign-in")
        assert 'id="kc-form-login"' in again.text


async def test_an_expiring_access_token_is_refreshed_on_the_server(tmp_path, kafka_bootstrap, new_database, department,
                                                                   keycloak):
    # Tokens live 20 s, less than the portal's 30 s margin: every request refreshes them.
    realm = await keycloak.realm(department, access_token_lifespan=20)
    await register_post_logout_uri(keycloak, realm)
    async for portal in start_portal(tmp_path, kafka_bootstrap, new_database, department, realm):
        async with browser() as client:
            await sign_in(client, portal)
            first = await fetchval(portal.dsn, "SELECT access_token FROM portal_sessions WHERE subject IS NOT NULL")
            home = await client.get(f"{portal.url}/")
            assert "Signed in as" in home.text and "Ideas you raised" in home.text  # the API took the new token
            second = await fetchval(portal.dsn, "SELECT access_token FROM portal_sessions WHERE subject IS NOT NULL")
            assert second != first


async def test_when_the_api_refuses_the_persons_token_the_session_ends_and_they_are_asked_to_sign_in(
        tmp_path, kafka_bootstrap, new_database, department, realm):
    # The ideas service expects another audience, so it refuses every token of this realm with 401.
    async for portal in start_portal(tmp_path, kafka_bootstrap, new_database, department, realm,
                                     ideas_env={"OIDC_AUDIENCE": "another-api"}):
        async with browser() as client:
            await sign_in(client, portal, start="/ideas/new")
            home = await client.get(f"{portal.url}/", follow_redirects=False)
            assert home.status_code == 303 and home.headers["location"] == "/auth/sign-in?return_to=%2F"
            assert await fetchval(portal.dsn, "SELECT count(*) FROM portal_sessions WHERE subject IS NOT NULL") == 0
