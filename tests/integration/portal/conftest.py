"""A department's portal and ideas service as real processes, with a real Keycloak realm as their provider,
and a person's browser as an httpx client that signs in through Keycloak's own login page."""

import html
import os
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx
import pytest

from shared.events.topics import intake_topic, topic_name
from tests.support.kafka import create_topics
from tests.support.processes import ServiceProcess, reporting_process

SECRET = "portal-test-pseudonym-secret"
LOGIN_FORM = re.compile(r'<form[^>]*\bid="kc-form-login"[^>]*>', re.S)
ACTION = re.compile(r'\baction="([^"]+)"')
CSRF = re.compile(r'<input type="hidden" name="csrf_token" value="([^"]+)">')


@dataclass
class Portal:
    url: str
    department: str
    realm: object
    process: ServiceProcess
    ideas: ServiceProcess
    dsn: str
    others: dict[str, ServiceProcess] = field(default_factory=dict)  # experiments, notifications, reporting


# Where the portal sends the browser after the provider has signed the person out. The realm template
# (deploy/keycloak/realm.py) registers only the callback so far, so the tests register this too, as
# docs/portal.md tells an operator to.
POST_LOGOUT_URIS = "http://127.0.0.1/signed-out##http://localhost/signed-out"


async def register_post_logout_uri(keycloak, realm) -> None:
    async with httpx.AsyncClient(base_url=keycloak.base_url, timeout=30) as client:
        admin = await client.post("/realms/master/protocol/openid-connect/token", data={
            "grant_type": "password", "client_id": "admin-cli",
            "username": os.environ.get("KEYCLOAK_ADMIN_USERNAME", "admin"),
            "password": os.environ.get("KEYCLOAK_ADMIN_PASSWORD", "admin-dev-only")})
        admin.raise_for_status()
        headers = {"Authorization": f"Bearer {admin.json()['access_token']}"}
        found = await client.get(f"/admin/realms/{realm.department}/clients", params={"clientId": realm.portal_client_id},
                                 headers=headers)
        found.raise_for_status()
        portal = found.json()[0]
        portal["attributes"] = {**portal.get("attributes", {}), "post.logout.redirect.uris": POST_LOGOUT_URIS}
        updated = await client.put(f"/admin/realms/{realm.department}/clients/{portal['id']}", json=portal,
                                   headers=headers)
        updated.raise_for_status()


@pytest.fixture
async def realm(keycloak, department):
    made = await keycloak.realm(department)
    await register_post_logout_uri(keycloak, made)
    return made


async def start_portal(tmp_path, kafka_bootstrap, new_database, department, realm, ideas_env: dict | None = None,
                       services: tuple[str, ...] = (), **env) -> AsyncIterator[Portal]:
    """The portal and the ideas service; `services` adds experiments, notifications and central reporting,
    each a process of its own. Reporting and the experiments' outcome catalogue read this department's topics
    and those of departments named `<department>…` (another department in a test)."""
    streams = ("ideas", "experiments", "outcomes")
    await create_topics(kafka_bootstrap, *(topic_name(department, s) for s in streams),
                        intake_topic(department, "ideas"))
    common = {"INNOVATION_DEPARTMENT": department, "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
              "OIDC_ISSUER": realm.issuer, "INNOVATION_PSEUDONYM_SECRET": SECRET}
    ideas = ServiceProcess("ideas", log=tmp_path / "ideas.log", IDEAS_DATABASE_URL=await new_database("ideas"),
                           **{**common, **(ideas_env or {})})
    others: dict[str, ServiceProcess] = {}
    if "experiments" in services:
        others["experiments"] = ServiceProcess(
            "experiments", log=tmp_path / "experiments.log", EXPERIMENTS_DATABASE_URL=await new_database("experiments"),
            EXPERIMENTS_OUTCOMES_PATTERN=rf"^innovation\.{re.escape(department)}[a-z0-9]*\.outcomes\.v1$",
            EXPERIMENTS_METADATA_MAX_AGE_MS="1000", **common)
    if "notifications" in services:
        others["notifications"] = ServiceProcess(
            "notifications", log=tmp_path / "notifications.log",
            NOTIFICATIONS_DATABASE_URL=await new_database("notifications"), **common)
    if "reporting" in services:
        others["reporting"] = reporting_process(
            dsn=await new_database("reporting"), bootstrap=kafka_bootstrap, log=tmp_path / "reporting.log",
            # the department and the ones named after it (another department adopting its outcomes in a test)
            pattern=rf"^innovation\.{re.escape(department)}[a-z0-9]*\.({'|'.join(streams)})\.v1$",
            group_id=f"reporting-portal-{uuid.uuid4().hex[:8]}")
    urls = {"experiments": "EXPERIMENTS_API_URL", "notifications": "NOTIFICATIONS_API_URL", "reporting": "REPORTING_URL"}
    # the ideas service checks a merge into another department's idea against central reporting's catalogue
    if "REPORTING_URL" not in (ideas_env or {}):
        ideas.env["REPORTING_URL"] = others["reporting"].url if "reporting" in others else "http://127.0.0.1:9"
    dsn = await new_database("portal")
    portal = ServiceProcess("portal", log=tmp_path / "portal.log", PORTAL_DATABASE_URL=dsn, IDEAS_API_URL=ideas.url,
                            OIDC_CLIENT_ID=realm.portal_client_id, OIDC_CLIENT_SECRET=realm.portal_client_secret,
                            # a service not started is unreachable (never someone's `make up` on the default port)
                            **({variable: others[name].url if name in others else "http://127.0.0.1:9"
                                for name, variable in urls.items()} | common | env))
    started = []
    try:
        for process in (ideas, *others.values(), portal):
            started.append(process)
            await process.start()
        yield Portal(portal.url, department, realm, portal, ideas, dsn, others)
    finally:
        for process in reversed(started):
            process.stop()


@pytest.fixture
async def portal(tmp_path, kafka_bootstrap, new_database, department, realm) -> AsyncIterator[Portal]:
    async for running in start_portal(tmp_path, kafka_bootstrap, new_database, department, realm):
        yield running


class LoopbackIsSecure(httpx.AsyncBaseTransport):
    """Browsers treat http://127.0.0.1 as a secure context and send it Secure cookies; httpx does not. So that
    Keycloak's Secure, SameSite=None login cookies come back to it as they do from a browser, the Secure flag
    of loopback answers' cookies is dropped before the client stores them."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if request.url.host == "127.0.0.1" and "set-cookie" in response.headers:
            response.headers = httpx.Headers([
                (name, re.sub(r";\s*Secure(?=;|$)", "", value, flags=re.I) if name.lower() == "set-cookie" else value)
                for name, value in response.headers.multi_items()])
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


def browser() -> httpx.AsyncClient:
    return httpx.AsyncClient(follow_redirects=True, timeout=30, transport=LoopbackIsSecure())


async def log_in_at_provider(client: httpx.AsyncClient, login_page: httpx.Response, username: str,
                             password: str) -> httpx.Response:
    """Posts Keycloak's real login form (its action URL read from the page) as a person would."""
    assert login_page.status_code == 200, login_page.text[:500]
    form = LOGIN_FORM.search(login_page.text)
    assert form, f"no login form at {login_page.url}: {login_page.text[:500]}"
    action = html.unescape(ACTION.search(form.group()).group(1))
    return await client.post(action, data={"username": username, "password": password, "credentialId": ""})


async def sign_in(client: httpx.AsyncClient, portal: Portal, role: str = "contributor", start: str = "/") -> httpx.Response:
    """From a portal page, through Keycloak's login page, back to the portal; returns the last answer."""
    username, password = portal.realm.users[role]
    login_page = await client.get(f"{portal.url}{start}")
    if login_page.url.path == start:  # the start page: its Sign in button
        login_page = await client.get(f"{portal.url}/auth/sign-in")
    landed = await log_in_at_provider(client, login_page, username, password)
    assert landed.status_code == 200, landed.text[:500]
    assert str(landed.url).startswith(portal.url), landed.url
    return landed


def csrf_of(page: httpx.Response) -> str:
    found = CSRF.search(page.text)
    assert found, page.text[:500]
    return found.group(1)


def idea_form(**fields: str) -> dict[str, str]:
    """The raise-an-idea form as sent from its second step ("has this been tried?": step=send)."""
    return {"title": "Fewer forms", "problem": "Too many forms.", "proposal": "Merge them.", "expected_benefits": "",
            "themes": "", "team": "", "campaign": "", "step": "send", **fields}


def unique_title(prefix: str = "Idea") -> str:
    return f"{prefix} {uuid.uuid4().hex[:8]}"
