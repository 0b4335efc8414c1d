"""Raising an idea through the portal: a GOV.UK form posted with its CSRF token, sent to the ideas API with the
person's own access token (the idea is theirs), the API's refusals shown as the error summary and inline
messages, free text shown as text, a per-person limit; and the security headers of every page."""

import json
import re

import pytest

from shared.events.pseudonym import pseudonymise
from tests.integration.portal.conftest import SECRET, browser, csrf_of, idea_form, sign_in, start_portal, unique_title
from tests.support.db import fetchval
from tests.support.keycloak import jwt_part

pytestmark = pytest.mark.integration


async def ideas_in_api(portal, keycloak, role: str = "contributor") -> list[dict]:
    token = await keycloak.token(portal.department, role)
    async with browser() as client:
        response = await client.get(f"{portal.ideas.url}/v1/ideas", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    return response.json()["items"]


async def test_an_idea_raised_through_the_form_is_the_signed_in_persons_and_its_title_is_shown_as_text(portal, keycloak):
    title = "<script>alert('owned')</script> " + unique_title()
    async with browser() as client:
        await sign_in(client, portal)
        form = await client.get(f"{portal.url}/ideas/new")
        sent = await client.post(f"{portal.url}/ideas/new", follow_redirects=False, data={
            "csrf_token": csrf_of(form), **idea_form(title=title, themes="paperwork, digital-services",
                                                     campaign="one-big-thing", team="Benefits ops")})
        assert sent.status_code == 303, sent.text
        assert re.fullmatch(r"/ideas/[0-9a-f-]{36}\?raised=1", sent.headers["location"])
        page = await client.get(f"{portal.url}{sent.headers['location']}")
        assert page.status_code == 200
        assert "&lt;script&gt;alert(&#39;owned&#39;)&lt;/script&gt;" in page.text
        assert "<script>alert(" not in page.text
        home = await client.get(f"{portal.url}/")
        assert "&lt;script&gt;alert(" in home.text and "<script>alert(" not in home.text

    [idea] = [i for i in await ideas_in_api(portal, keycloak) if i["title"] == title]
    subject = jwt_part(await keycloak.token(portal.department, "contributor"))["sub"]
    assert idea["submitted_by"] == pseudonymise(SECRET, subject)
    assert idea["themes"] == ["paperwork", "digital-services"] and idea["campaign"] == "one-big-thing"
    assert idea["team"] == "Benefits ops" and idea["expected_benefits"] is None


async def test_a_form_post_without_its_csrf_token_or_with_another_is_refused_with_403(portal, keycloak):
    title = unique_title("Forged")
    async with browser() as client:
        await sign_in(client, portal)
        missing = await client.post(f"{portal.url}/ideas/new", data=idea_form(title=title))
        assert missing.status_code == 403 and "This form has expired" in missing.text
        wrong = await client.post(f"{portal.url}/ideas/new", data={"csrf_token": "x" * 43, **idea_form(title=title)})
        assert wrong.status_code == 403
        out = await client.post(f"{portal.url}/auth/sign-out", data={}, follow_redirects=False)
        assert out.status_code == 403
        assert "Signed in as" in (await client.get(f"{portal.url}/")).text  # still signed in
    async with browser() as stranger:  # another browser's token is not this session's
        await sign_in(stranger, portal, "contributor2")
        other = csrf_of(await stranger.get(f"{portal.url}/ideas/new"))
    async with browser() as client:
        await sign_in(client, portal)
        crossed = await client.post(f"{portal.url}/ideas/new", data={"csrf_token": other, **idea_form(title=title)})
        assert crossed.status_code == 403
    assert not [i for i in await ideas_in_api(portal, keycloak) if i["title"] == title]


async def test_the_apis_refusals_are_shown_by_field_in_the_govuk_error_summary(portal, keycloak):
    async with browser() as client:
        await sign_in(client, portal)
        csrf = csrf_of(await client.get(f"{portal.url}/ideas/new"))
        refused = await client.post(f"{portal.url}/ideas/new", data={
            "csrf_token": csrf, **idea_form(title="x" * 201, themes="Not A Slug!", proposal="Merge them.")})
        assert refused.status_code == 400
        text = refused.text
        assert "<title>Error: Raise an idea" in text
        assert 'class="govuk-error-summary"' in text
        assert '<a href="#title">Title must be 200 characters or fewer</a>' in text
        assert '<a href="#themes">Each theme must be lower case letters' in text
        assert 'id="title-error"' in text and 'aria-describedby="title-hint title-error"' in text
        assert 'id="themes-error"' in text and "govuk-input--error" in text
        assert 'value="Not A Slug!"' in text  # what they typed is kept

        empty = await client.post(f"{portal.url}/ideas/new", data={"csrf_token": csrf, **idea_form(problem="", proposal=" ")})
        assert empty.status_code == 400
        assert '<a href="#problem">Enter the problem</a>' in empty.text
        assert '<a href="#proposal">Enter the proposal</a>' in empty.text
    assert await ideas_in_api(portal, keycloak) == []


async def test_a_person_can_raise_only_so_many_ideas_a_minute(tmp_path, kafka_bootstrap, new_database, department, realm):
    async for portal in start_portal(tmp_path, kafka_bootstrap, new_database, department, realm,
                                     PORTAL_IDEAS_PER_MINUTE="2"):
        async with browser() as client, browser() as colleague:
            await sign_in(client, portal)
            csrf = csrf_of(await client.get(f"{portal.url}/ideas/new"))
            answers = [(await client.post(f"{portal.url}/ideas/new", follow_redirects=False,
                                          data={"csrf_token": csrf, **idea_form(title=unique_title())})).status_code
                       for _ in range(3)]
            assert answers == [303, 303, 429]
            limited = await client.post(f"{portal.url}/ideas/new", data={"csrf_token": csrf, **idea_form()})
            assert limited.status_code == 429 and "2 ideas a minute" in limited.text
            await sign_in(colleague, portal, "contributor2")  # the limit is per person
            theirs = await colleague.post(f"{portal.url}/ideas/new", follow_redirects=False, data={
                "csrf_token": csrf_of(await colleague.get(f"{portal.url}/ideas/new")), **idea_form(title=unique_title())})
            assert theirs.status_code == 303
        assert await fetchval(portal.dsn, "SELECT count(*) FROM portal_submissions") == 3


async def test_every_page_has_a_content_security_policy_without_inline_script(portal):
    async with browser() as client:
        for page in [await client.get(f"{portal.url}/"), await sign_in(client, portal),
                     await client.get(f"{portal.url}/ideas/new")]:
            policy = dict(part.strip().split(" ", 1) for part in page.headers["content-security-policy"].split(";"))
            assert policy["script-src"] == "'self'" and policy["default-src"] == "'self'"
            assert "unsafe-inline" not in page.headers["content-security-policy"]
            assert policy["frame-ancestors"] == "'none'" and policy["object-src"] == "'none'"
            assert page.headers["x-content-type-options"] == "nosniff"
            assert page.headers["cache-control"] == "no-store"
            scripts = re.findall(r"<script\b[^>]*>", page.text)
            assert scripts and all(" src=" in tag for tag in scripts)  # no inline script
            assert re.search(r'<a href="#main-content" class="govuk-skip-link"', page.text)
        styles = await client.get(f"{portal.url}/static/govuk/govuk-frontend.min.css")
        assert styles.status_code == 200 and "govuk" in styles.text
        script = await client.get(f"{portal.url}/static/portal/portal.js")
        assert script.status_code == 200 and "initAll" in script.text
