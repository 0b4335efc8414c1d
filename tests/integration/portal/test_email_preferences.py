"""Choosing one's emails in the portal: how often for each kind (your ideas, ideas you endorsed, your review queue,
your department's news) and which news, saved as the person's subscription in the notifications service at their
work account's address; the address recorded at sign-in with the service's defaults, once. Real Keycloak, real
notifications service; the results read back through the notifications API with the person's own token."""

import asyncio
import re
import time

import httpx
import pytest

from tests.integration.portal.conftest import browser, csrf_of, sign_in, start_portal
from tests.support.keycloak import bearer, jwt_part

pytestmark = pytest.mark.integration

FULL = "uk.gov.innovation."
DEFAULTS = {"my_ideas": "immediately", "endorsed": "weekly", "review_queue": "weekly", "department": "weekly"}


class Subscriptions:
    """A person's subscription as the notifications API has it, read with their own token."""

    def __init__(self, portal, keycloak) -> None:
        self.portal, self.keycloak = portal, keycloak

    async def of(self, role: str) -> httpx.Response:
        token = await self.keycloak.token(self.portal.department, role)
        async with httpx.AsyncClient(base_url=self.portal.others["notifications"].url, timeout=30) as api:
            return await api.get(f"/v1/subscriptions/{jwt_part(token)['sub']}", headers=bearer(token))


def checked(page: httpx.Response) -> set[str]:
    return set(re.findall(r'id="([^"]+)"[^>]*\bchecked\b', page.text))


def legends(page: httpx.Response) -> list[str]:
    return re.findall(r'<legend class="govuk-fieldset__legend[^"]*">([^<]+)</legend>', page.text)


def choices(page: httpx.Response, **fields) -> dict:
    return {"csrf_token": csrf_of(page), "my_ideas": "immediately", "endorsed": "weekly", "department": "weekly",
            "event_types": ["idea.backed.v1"], **fields}


@pytest.fixture
async def portal(tmp_path, kafka_bootstrap, new_database, department, realm):
    async for running in start_portal(tmp_path, kafka_bootstrap, new_database, department, realm,
                                      services=("notifications",)):
        yield running


async def test_signing_in_records_the_address_with_the_defaults_once_and_a_later_sign_in_keeps_what_was_chosen(
        portal, keycloak):
    subscriptions = Subscriptions(portal, keycloak)
    assert (await subscriptions.of("contributor")).status_code == 404
    async with browser() as client:
        await sign_in(client, portal)
    first = (await subscriptions.of("contributor")).json()
    claims = jwt_part(await keycloak.token(portal.department, "contributor"))
    assert first["email"] == claims["email"] and first["display_name"] == claims["name"]
    assert first["preferences"] == DEFAULTS and first["reviewer"] is False
    assert sorted(first["event_types"]) == sorted(FULL + t for t in ("idea.submitted.v1", "idea.backed.v1",
                                                                     "outcome.recorded.v1", "outcome.adopted.v1"))
    async with browser() as client:  # the next sign-in finds it and changes nothing; the person then chooses
        await sign_in(client, portal)
        assert (await subscriptions.of("contributor")).json() == first
        page = await client.get(f"{portal.url}/account/emails")
        saved = await client.post(f"{portal.url}/account/emails", data=choices(
            page, my_ideas="daily", department="never", event_types=["outcome.adopted.v1"]))
        assert saved.status_code == 200 and "Your email choices have been saved" in saved.text
    chosen = (await subscriptions.of("contributor")).json()
    async with browser() as client:  # and a later sign-in keeps what they chose
        await sign_in(client, portal)
        again = await client.get(f"{portal.url}/account/emails")
        assert {"my_ideas-daily", "department-never", "news-outcome-adopted-v1"} <= checked(again)
    kept = (await subscriptions.of("contributor")).json()
    assert kept == chosen and kept["preferences"] == DEFAULTS | {"my_ideas": "daily", "department": "never"}
    assert kept["event_types"] == [FULL + "outcome.adopted.v1"]

    async with browser() as client:  # a reviewer's is recorded as a reviewer's: they hear of ideas to review
        await sign_in(client, portal, "reviewer")
    assert (await subscriptions.of("reviewer")).json()["reviewer"] is True


async def test_a_new_address_at_the_provider_reaches_the_subscription_at_sign_in_with_the_choices_kept(
        portal, keycloak):
    subscriptions = Subscriptions(portal, keycloak)
    async with browser() as client:
        await sign_in(client, portal)
        page = await client.get(f"{portal.url}/account/emails")
        await client.post(f"{portal.url}/account/emails", data=choices(page, my_ideas="weekly", endorsed="never"))
    chosen = (await subscriptions.of("contributor")).json()
    await set_email(keycloak, portal, "contributor", f"new.address@{portal.department}.example")
    async with browser() as client:
        await sign_in(client, portal)
    moved = (await subscriptions.of("contributor")).json()
    assert moved["email"] == f"new.address@{portal.department}.example"
    assert moved["preferences"] == chosen["preferences"] == DEFAULTS | {"my_ideas": "weekly", "endorsed": "never"}
    assert moved["event_types"] == chosen["event_types"] and moved["reviewer"] is False


async def test_a_contributor_chooses_how_often_for_each_kind_and_which_news_and_reads_them_back(portal, keycloak):
    subscriptions = Subscriptions(portal, keycloak)
    async with browser() as client:
        await sign_in(client, portal)
        page = await client.get(f"{portal.url}/account/emails")
        assert page.status_code == 200
        assert legends(page) == ["Your ideas", "Ideas you endorsed", "News from your department", "Which news"]
        assert 'name="review_queue"' not in page.text  # a contributor reviews nothing
        assert {"my_ideas-immediately", "endorsed-weekly", "department-weekly", "news-idea-backed-v1"} <= checked(page)
        assert portal.realm.users["contributor"][0] in page.text  # the address they go to

        assert (await client.post(f"{portal.url}/account/emails",  # no CSRF token: refused, nothing changes
                                  data={**choices(page), "csrf_token": "forged", "my_ideas": "never"})).status_code == 403
        saved = await client.post(f"{portal.url}/account/emails", data=choices(
            page, my_ideas="daily", endorsed="never", department="immediately",
            event_types=["idea.shortlisted.v1", "experiment.started.v1"]))
        assert saved.status_code == 200 and str(saved.url).endswith("/account/emails?saved=1")
        assert "Your email choices have been saved" in saved.text
        assert checked(saved) == {"my_ideas-daily", "endorsed-never", "department-immediately",
                                  "news-idea-shortlisted-v1", "news-experiment-started-v1"}
    stored = (await subscriptions.of("contributor")).json()
    assert stored["preferences"] == {"my_ideas": "daily", "endorsed": "never", "review_queue": "weekly",
                                     "department": "immediately"}
    assert stored["event_types"] == [FULL + "experiment.started.v1", FULL + "idea.shortlisted.v1"]
    assert stored["reviewer"] is False


async def test_a_reviewer_also_chooses_for_their_review_queue(portal, keycloak):
    async with browser() as client:
        await sign_in(client, portal, "reviewer")
        page = await client.get(f"{portal.url}/account/emails")
        assert legends(page) == ["Your ideas", "Ideas you endorsed", "Your review queue", "News from your department",
                                 "Which news"]
        assert "review_queue-weekly" in checked(page)
        saved = await client.post(f"{portal.url}/account/emails", data=choices(page, review_queue="daily"))
        assert "review_queue-daily" in checked(saved)
    stored = (await Subscriptions(portal, keycloak).of("reviewer")).json()
    assert stored["preferences"]["review_queue"] == "daily" and stored["reviewer"] is True


async def test_tampered_missing_or_hostile_choices_are_refused_on_the_page_and_change_nothing(portal, keycloak):
    subscriptions = Subscriptions(portal, keycloak)
    async with browser() as client:
        await sign_in(client, portal)
        before = (await subscriptions.of("contributor")).json()
        page = await client.get(f"{portal.url}/account/emails")
        for data, field, message in (
                (choices(page, my_ideas="hourly"), "my_ideas", "Select how often you want emails about your ideas"),
                (choices(page, endorsed="<script>alert(1)</script>"), "endorsed",
                 "Select how often you want emails about ideas you endorsed"),
                ({k: v for k, v in choices(page).items() if k != "department"}, "department",
                 "Select how often you want emails about news from your department"),
                (choices(page, event_types=["idea.backed.v1", "made.up.v1"]), "news-idea-submitted-v1",
                 "Select news from the list"),
                (choices(page, event_types=[]), "news-idea-submitted-v1",
                 "Select the news you want, or choose Never for news from your department")):
            refused = await client.post(f"{portal.url}/account/emails", data=data)
            assert refused.status_code == 400, refused.text[:300]
            assert "There is a problem" in refused.text and f'<a href="#{field}' in refused.text
            assert message in refused.text and "<script>alert" not in refused.text
        duplicated = await client.post(f"{portal.url}/account/emails", data=choices(
            page, my_ideas=["never", "daily"], event_types=["idea.backed.v1", "idea.backed.v1"]))
        assert duplicated.status_code == 200 and "my_ideas-never" in checked(duplicated)  # the first value counts
        oversized = await client.post(f"{portal.url}/account/emails", data=choices(page, my_ideas="x" * 40_000))
        assert oversized.status_code == 413
        no_news = await client.post(f"{portal.url}/account/emails", data=choices(page, department="never", event_types=[]))
        assert no_news.status_code == 200 and "department-never" in checked(no_news)
    after = (await subscriptions.of("contributor")).json()  # only the two valid forms were saved
    assert after["preferences"] == {**before["preferences"], "department": "never"} and after["event_types"] == []


async def test_stop_all_emails_sets_every_kind_to_never_and_keeps_the_address(portal, keycloak):
    subscriptions = Subscriptions(portal, keycloak)
    async with browser() as client:
        await sign_in(client, portal, "reviewer")
        page = await client.get(f"{portal.url}/account/emails")
        assert (await client.post(f"{portal.url}/account/emails/stop", data={})).status_code == 403
        stopped = await client.post(f"{portal.url}/account/emails/stop", data={"csrf_token": csrf_of(page)})
        assert stopped.status_code == 200 and "You will get no more emails from us" in stopped.text
        assert {c for c in checked(stopped) if not c.startswith("news-")} == {
            "my_ideas-never", "endorsed-never", "review_queue-never", "department-never"}
    stored = await subscriptions.of("reviewer")
    assert stored.status_code == 200 and stored.json()["email"] == portal.realm.users["reviewer"][0]
    assert stored.json()["preferences"] == dict.fromkeys(DEFAULTS, "never")


async def test_a_viewer_who_may_not_subscribe_signs_in_and_is_told_on_the_page(portal, keycloak):
    async with browser() as client:
        await sign_in(client, portal, "viewer")  # the notifications API refuses to record the address: logged only
        page = await client.get(f"{portal.url}/account/emails")
        refused = await client.post(f"{portal.url}/account/emails", data=choices(page))
        assert refused.status_code == 403 and "You cannot do this" in refused.text
    assert (await Subscriptions(portal, keycloak).of("viewer")).status_code == 404


async def test_signing_in_works_when_the_notifications_service_is_down(
        tmp_path, kafka_bootstrap, new_database, department, realm):
    async for portal in start_portal(tmp_path, kafka_bootstrap, new_database, department, realm):
        async with browser() as client:
            landed = await sign_in(client, portal)
            assert landed.url.path == "/" and "Signed in as" in landed.text
            emails = await client.get(f"{portal.url}/account/emails")
            assert emails.status_code == 503


async def test_signing_in_waits_for_a_notifications_service_that_does_not_answer_only_a_few_seconds(
        tmp_path, kafka_bootstrap, new_database, department, realm):
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(65536)  # the request, never answered
        await asyncio.sleep(60)
        writer.close()

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async for portal in start_portal(tmp_path, kafka_bootstrap, new_database, department, realm,
                                         NOTIFICATIONS_API_URL=f"http://127.0.0.1:{port}"):
            async with browser() as client:
                started = time.monotonic()
                landed = await sign_in(client, portal)
                assert landed.url.path == "/" and "Signed in as" in landed.text
                assert time.monotonic() - started < 9  # the portal gives up on it after 5 s
            assert "portal.address_not_recorded" in (tmp_path / "portal.log").read_text()
    finally:
        server.close()


async def set_email(keycloak, portal, role: str, email: str) -> None:
    """Changes the person's address at the provider (Keycloak's admin API): it reaches the portal at sign-in."""
    username = portal.realm.users[role][0]
    async with httpx.AsyncClient(base_url=keycloak.base_url, timeout=30) as admin:
        headers = bearer(await keycloak._admin_token(admin))
        found = await admin.get(f"/admin/realms/{portal.department}/users", headers=headers,
                                params={"username": username, "exact": "true"})
        user = found.json()[0]
        changed = await admin.put(f"/admin/realms/{portal.department}/users/{user['id']}", headers=headers,
                                  json={**user, "email": email})
        assert changed.status_code == 204, changed.text


async def test_an_account_without_an_email_address_is_told_so_and_offered_no_save(portal, keycloak):
    async with httpx.AsyncClient(base_url=keycloak.base_url, timeout=30) as admin:
        # the provider gives no address: its `email` scope loses the mappers that put one in the tokens
        headers = bearer(await keycloak._admin_token(admin))
        scopes = f"/admin/realms/{portal.department}/client-scopes"
        email = next(scope for scope in (await admin.get(scopes, headers=headers)).json() if scope["name"] == "email")
        mappers = f"{scopes}/{email['id']}/protocol-mappers/models"
        for mapper in (await admin.get(mappers, headers=headers)).json():
            removed = await admin.delete(f"{mappers}/{mapper['id']}", headers=headers)
            assert removed.status_code == 204, removed.text
    async with browser() as client:
        await sign_in(client, portal)
        page = await client.get(f"{portal.url}/account/emails")
        assert page.status_code == 200 and "has no email address" in page.text
        assert 'id="save-emails"' not in page.text and "Stop all emails" not in page.text
        forced = await client.post(f"{portal.url}/account/emails", data=choices(page))
        assert forced.status_code == 400 and "We do not know your email address" in forced.text
        stop = await client.post(f"{portal.url}/account/emails/stop", data={"csrf_token": csrf_of(page)})
        assert stop.status_code == 400 and "We do not know your email address" in stop.text
    assert (await Subscriptions(portal, keycloak).of("contributor")).status_code == 404


async def test_an_address_the_notifications_service_refuses_is_shown_on_the_page(portal, keycloak):
    await set_email(keycloak, portal, "contributor2", "someone@localhost")  # no domain: not an address it writes to
    async with browser() as client:
        await sign_in(client, portal, "contributor2")  # recording it fails (422): logged, the sign-in goes on
        page = await client.get(f"{portal.url}/account/emails")
        refused = await client.post(f"{portal.url}/account/emails", data=choices(page, my_ideas="daily"))
        assert refused.status_code == 400 and "There is a problem" in refused.text
        assert '<a href="#address">The email address of your work account cannot be used for emails.' in refused.text
        assert "my_ideas-daily" in checked(refused)  # what was chosen is kept on the page
    assert (await Subscriptions(portal, keycloak).of("contributor2")).status_code == 404
