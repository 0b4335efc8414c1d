"""Raising an idea with "has this been tried?" (similar ideas and recorded outcomes from central reporting, each
linking to what was learnt), the outcomes library, recording a team conversation and raising ideas linked to it. Choosing one's emails:
test_email_preferences.py."""

import json
import re
import uuid
from urllib.parse import urljoin

import httpx
import pytest

from shared.events import Benefits, OutcomeAdopted, OutcomeRecorded, new_event
from shared.events.pseudonym import pseudonymise
from shared.events.topics import topic_name
from tests.integration.portal.conftest import browser, csrf_of, idea_form, sign_in, start_portal, unique_title
from tests.integration.portal.test_find_and_follow import Api
from tests.support.kafka import create_topics, publish, read_to_end
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration


async def test_before_an_idea_is_sent_similar_ideas_and_outcomes_from_central_reporting_are_shown_with_what_was_learnt(
        tmp_path, kafka_bootstrap, new_database, department, realm, keycloak):
    async for portal in start_portal(tmp_path, kafka_bootstrap, new_database, department, realm,
                                     services=("reporting",)):
        api = Api(portal, keycloak)
        marker = uuid.uuid4().hex[:8]
        tried = await api.submit("contributor2", title=f"Print fewer claim letters {marker}", themes=["paperwork"])
        untried = await api.submit("contributor2", title=f"Print claim letters in colour {marker}")
        learnt = f"Claimants read one short letter {marker}"
        outcome_id = uuid.uuid4()
        adopter = f"{department}b"
        await create_topics(kafka_bootstrap, topic_name(adopter, "outcomes"))
        await publish(kafka_bootstrap, new_event(OutcomeRecorded(
            outcome_id=outcome_id, experiment_id=uuid.uuid4(), idea_id=uuid.UUID(tried["idea_id"]),
            result="succeeded", summary="Fewer calls.", learnings=(learnt, "Plain words"), recommendation="adopt_elsewhere",
            benefits=Benefits(cash_savings_gbp_per_year=12000)),
            department=department, service="experiments"), new_event(OutcomeAdopted(
            adoption_id=uuid.uuid4(), origin_department=department, origin_outcome_id=outcome_id,
            adopting_department=adopter, adopted_by=pseudonymise("theirs", "someone"), note="Trying it"),
            department=adopter, service="experiments"))
        reporting = portal.others["reporting"].url

        async def in_reporting():
            async with httpx.AsyncClient(base_url=reporting) as client:
                similar = (await client.get("/v1/ideas/similar", params={"q": tried["title"]})).json()["ideas"]
                found = (await client.get("/v1/outcomes", params={"q": marker})).json()["items"]
            return len(similar) == 2 and found and found[0]["adopted_by"]

        await eventually(in_reporting, what="the ideas, the outcome and its adoption in central reporting")
        title = f"Print fewer claim letters {marker} please"
        async with browser() as client:
            await sign_in(client, portal)
            form = await client.get(f"{portal.url}/ideas/new")
            check = await client.post(f"{portal.url}/ideas/new", data={**idea_form(title=title, step=""),
                                                                         "csrf_token": csrf_of(form)})
            assert check.status_code == 200 and "Has this been tried?" in check.text
            similar = re.search(r'<ul class="govuk-list" id="similar">.*?</ul>', check.text, re.S).group()
            assert tried["title"] in similar and untried["title"] in similar and department.upper() in similar
            # the tried idea links to its own outcome; the other says it has not been tried
            links = re.findall(r'href="(/outcomes/[^"]+)"', similar)
            assert links == [f"/outcomes/{department}/{outcome_id}"] and "Not tried yet" in similar
            found = re.search(r'<ul class="govuk-list" id="tried">.*?</ul>', check.text, re.S).group()
            assert f"/outcomes/{department}/{outcome_id}" in found and learnt in found and adopter.upper() in found
            shown = await client.get(urljoin(portal.url, links[0]))
            assert shown.status_code == 200 and learnt in shown.text and "Plain words" in shown.text
            assert "£12,000" in shown.text and adopter.upper() in shown.text and tried["title"] in shown.text
            assert "Fewer calls." not in shown.text  # a summary stays in its department
            assert (await api.call("contributor", "GET", "/v1/ideas?mine=true"))["items"] == []  # not sent yet

            changed = await client.post(f"{portal.url}/ideas/new", data={
                **idea_form(title=title, step="change"), "csrf_token": csrf_of(check)})
            assert changed.status_code == 200 and "<h1 class=\"govuk-heading-xl\">Raise an idea</h1>" in changed.text
            assert f'value="{title}"' in changed.text

            sent = await client.post(f"{portal.url}/ideas/new", follow_redirects=False, data={
                **idea_form(title=title), "csrf_token": csrf_of(check)})
            assert sent.status_code == 303

            # the outcomes library: every department's outcomes by words, result and theme; wrong filters named
            async def library(**params):
                return await client.get(f"{portal.url}/outcomes", params=params)
            link = f'href="/outcomes/{department}/{outcome_id}"'
            assert link in (await library(q=marker)).text
            assert link in (await library(q=marker, result="succeeded", theme="paperwork")).text
            assert link in (await library(q=marker, recommendation="adopt_elsewhere")).text
            for params in ({"q": marker, "result": "failed"}, {"q": marker, "theme": "other-theme"},
                           {"q": f"nothing{marker}"}):
                none = await library(**params)
                assert none.status_code == 200 and "No outcomes found" in none.text and link not in none.text
            wrong = await library(result="lost", theme="Not A Slug")
            assert wrong.status_code == 400 and "govuk-error-summary" in wrong.text
            assert "Choose a result from the list" in wrong.text and 'href="#theme"' in wrong.text
            for missing in (f"/outcomes/{department}/{uuid.uuid4()}", f"/outcomes/NOT-A-DEPT/{outcome_id}",
                            f"/outcomes/{department}/not-a-uuid"):
                missed = await client.get(f"{portal.url}{missing}")
                assert missed.status_code == 404 and "text/html" in missed.headers["content-type"], missing
        [mine] = (await api.call("contributor", "GET", "/v1/ideas?mine=true"))["items"]
        assert mine["title"] == title


async def test_without_central_reporting_the_check_says_so_and_the_idea_can_still_be_sent(portal, keycloak):
    async with browser() as client:
        await sign_in(client, portal)
        form = await client.get(f"{portal.url}/ideas/new")
        check = await client.post(f"{portal.url}/ideas/new", data={**idea_form(step=""), "csrf_token": csrf_of(form)})
        assert check.status_code == 200 and "We could not look at other departments" in check.text
        sent = await client.post(f"{portal.url}/ideas/new", follow_redirects=False,
                                 data={**idea_form(), "csrf_token": csrf_of(check)})
        assert sent.status_code == 303


async def test_a_team_conversation_is_recorded_and_the_ideas_raised_from_it_are_linked_to_it(
        portal, keycloak, kafka_bootstrap):
    api = Api(portal, keycloak)
    async with browser() as client:
        await sign_in(client, portal)
        form = await client.get(f"{portal.url}/conversations/new")
        assert 'class="govuk-date-input"' in form.text and "<legend" in form.text
        csrf = csrf_of(form)
        assert (await client.post(f"{portal.url}/conversations/new", data={"team": "Ops"})).status_code == 403
        empty = await client.post(f"{portal.url}/conversations/new", data={"csrf_token": csrf})
        assert empty.status_code == 400 and 'class="govuk-error-summary"' in empty.text
        assert '<a href="#held_on-day">Enter the date of the conversation</a>' in empty.text
        assert '<a href="#team">Enter the team' in empty.text

        team = "<i>Benefit centre</i> " + unique_title("team")
        recorded = await client.post(f"{portal.url}/conversations/new", data={
            "csrf_token": csrf, "team": team, "held_on-day": "3", "held_on-month": "2", "held_on-year": "2026",
            "participants": "14", "ideas_raised": "2"})
        assert recorded.status_code == 200 and "Conversation recorded" in recorded.text
        assert "&lt;i&gt;Benefit centre" in recorded.text and "<i>Benefit" not in recorded.text
        conversation_id = re.search(r"conversation_id=([0-9a-f-]{36})", str(recorded.url)).group(1)

        raise_from = re.search(r'href="([^"]+)"[^>]*id="raise-from"', recorded.text).group(1).replace("&amp;", "&")
        new = await client.get(urljoin(portal.url, raise_from))
        assert f'name="conversation_id" value="{conversation_id}"' in new.text
        assert "This idea will be linked to your team conversation" in new.text
        sent = await client.post(f"{portal.url}/ideas/new", data={
            **idea_form(title=unique_title("From talk"), team=team), "conversation_id": conversation_id,
            "csrf_token": csrf_of(new)})
        assert sent.status_code == 200 and "Raise another idea from it" in sent.text

    [idea] = (await api.call("contributor", "GET", "/v1/ideas?mine=true"))["items"]
    assert idea["conversation_id"] == conversation_id and idea["team"] == team

    async def conversation_event():
        for record in await read_to_end(kafka_bootstrap, topic_name(portal.department, "ideas")):
            headers = dict(record.headers)
            if headers.get("ce_type") == b"uk.gov.innovation.conversation.recorded.v1":
                return json.loads(record.value)
        return None

    data = await eventually(conversation_event, what="conversation.recorded on the ideas topic")
    assert data["conversation_id"] == conversation_id and data["team"] == team
    assert data["participants"] == 14 and data["ideas_raised"] == 2 and data["held_on"] == "2026-02-03"
