"""Following ideas through the portal: home (my ideas, what changed since my last visit, ideas I endorsed),
finding ideas by status, theme, campaign and words a page at a time, an idea's story as a timeline (with its
experiment from the experiments API), endorsing once, and withdrawing my own idea only."""

import re
from urllib.parse import urljoin

import httpx
import pytest

from tests.integration.portal.conftest import browser, csrf_of, sign_in, start_portal, unique_title
from tests.support.db import fetchval
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration


class Api:
    """The ideas API as another person (their own token from the realm)."""

    def __init__(self, portal, keycloak) -> None:
        self.portal, self.keycloak = portal, keycloak

    async def call(self, role: str, method: str, path: str, json: dict | None = None, base: str | None = None):
        token = await self.keycloak.token(self.portal.department, role)
        async with httpx.AsyncClient(base_url=base or self.portal.ideas.url, timeout=30) as client:
            response = await client.request(method, path, json=json, headers={"Authorization": f"Bearer {token}"})
        assert response.status_code < 300, response.text
        return response.json() if response.content else None

    async def submit(self, role: str = "contributor", **fields) -> dict:
        return await self.call(role, "POST", "/v1/ideas", {"title": unique_title(), "problem": "Slow.",
                                                            "proposal": "Faster.", **fields})


def row_of(page: httpx.Response, idea_id: str) -> str:
    """The table row of that idea on a page."""
    found = re.search(rf'<tr class="govuk-table__row">(?:(?!</tr>).)*?/ideas/{idea_id}".*?</tr>', page.text, re.S)
    assert found, f"{idea_id} not on {page.url}"
    return found.group()


def section(page: httpx.Response, name: str) -> str:
    """The home page's part under the heading with that id, up to the next heading."""
    return re.search(rf'id="{name}-heading">.*?(?=<h2|</main>)', page.text, re.S).group()


async def test_home_shows_my_ideas_with_their_status_what_changed_since_my_last_visit_and_what_i_endorsed(portal, keycloak):
    api = Api(portal, keycloak)
    quiet, busy = await api.submit(), await api.submit()
    theirs = await api.submit("contributor2", title="<b>Theirs</b> " + unique_title())
    async with browser() as client:
        first = await sign_in(client, portal)
        mine = section(first, "mine")
        assert quiet["title"] in mine and busy["title"] in mine and theirs["idea_id"] not in mine
        assert "Submitted" in row_of(first, busy["idea_id"]) and "Updated" not in first.text  # a first visit
        assert "You have not endorsed any ideas yet" in section(first, "endorsed")

        # Since that visit: a colleague endorses one of my ideas, a reviewer shortlists it, I endorse theirs.
        await api.call("contributor2", "POST", f"/v1/ideas/{busy['idea_id']}/endorsements")
        await api.call("reviewer", "POST", f"/v1/ideas/{busy['idea_id']}/shortlist")
        idea_page = await client.get(f"{portal.url}/ideas/{theirs['idea_id']}")
        endorsed = await client.post(f"{portal.url}/ideas/{theirs['idea_id']}/endorse", data={"csrf_token": csrf_of(idea_page)})
        assert endorsed.status_code == 200 and "You have endorsed this idea" in endorsed.text

        second = await client.get(f"{portal.url}/")
        busy_row, quiet_row = row_of(second, busy["idea_id"]), row_of(second, quiet["idea_id"])
        assert "Updated" in busy_row and "Shortlisted" in busy_row
        assert "Updated" not in quiet_row and "Submitted" in quiet_row
        assert theirs["idea_id"] in section(second, "endorsed") and theirs["idea_id"] not in section(second, "mine")
        assert "&lt;b&gt;Theirs&lt;/b&gt;" in second.text and "<b>Theirs</b>" not in second.text

        third = await client.get(f"{portal.url}/")  # the changes were shown: seen now
        assert "Updated" not in section(third, "mine")
    assert await fetchval(portal.dsn, "SELECT count(*) FROM portal_visits") == 1


async def test_ideas_are_found_by_status_theme_campaign_and_words_a_page_at_a_time(portal, keycloak):
    api = Api(portal, keycloak)
    word = f"kettle{unique_title('').strip()}"
    wanted = [await api.submit(title=f"Idea {i}", problem=f"The {word} is slow.", themes=["canteen"],
                               campaign="one-big-thing") for i in range(22)]
    other_theme = await api.submit(problem=f"The {word} again.", themes=["estates"], campaign="one-big-thing")
    unrelated = await api.submit(themes=["canteen"], campaign="one-big-thing")
    shortlisted = wanted[0]
    await api.call("reviewer", "POST", f"/v1/ideas/{shortlisted['idea_id']}/shortlist")
    async with browser() as client:
        await sign_in(client, portal)
        form = await client.get(f"{portal.url}/ideas")
        assert form.status_code == 200 and '<form method="get" action="/ideas"' in form.text
        search_form = re.search(r'<form method="get" action="/ideas".*?</form>', form.text, re.S).group()
        assert "csrf_token" not in search_form  # a search changes nothing (a GET form): no token in URLs

        first = await client.get(f"{portal.url}/ideas", params={"q": word, "theme": "canteen", "campaign": "one-big-thing"})
        found = set(re.findall(r'href="/ideas/([0-9a-f-]{36})"', first.text))
        assert len(found) == 20 and found <= {i["idea_id"] for i in wanted}
        assert f'value="{word}"' in first.text and 'value="canteen"' in first.text  # the filters are kept
        following = re.search(r'href="([^"]+)" rel="next"', first.text).group(1).replace("&amp;", "&")
        second = await client.get(urljoin(portal.url, following))
        rest = set(re.findall(r'href="/ideas/([0-9a-f-]{36})"', second.text))
        assert found | rest == {i["idea_id"] for i in wanted} and not found & rest
        assert 'rel="next"' not in second.text
        assert other_theme["idea_id"] not in first.text + second.text and unrelated["idea_id"] not in first.text + second.text

        by_status = await client.get(f"{portal.url}/ideas", params={"status": "shortlisted", "q": word})
        assert set(re.findall(r'href="/ideas/([0-9a-f-]{36})"', by_status.text)) == {shortlisted["idea_id"]}
        assert '<option value="shortlisted" selected>' in by_status.text

        wrong = await client.get(f"{portal.url}/ideas", params={"theme": "Not A Slug", "status": "lost"})
        assert wrong.status_code == 400 and 'class="govuk-error-summary"' in wrong.text
        assert '<a href="#theme">Theme must be lower case' in wrong.text and '<a href="#status">' in wrong.text
        none = await client.get(f"{portal.url}/ideas", params={"q": "<script>nothing-like-this</script>"})
        assert none.status_code == 200 and "No ideas found" in none.text and "<script>nothing" not in none.text


async def test_an_ideas_page_tells_its_story_with_its_experiment_and_lets_me_endorse_it_once(
        tmp_path, kafka_bootstrap, new_database, department, realm, keycloak):
    async for portal in start_portal(tmp_path, kafka_bootstrap, new_database, department, realm,
                                     services=("experiments",)):
        api = Api(portal, keycloak)
        idea = await api.submit("contributor2", team="Benefits ops")
        async with browser() as client:
            await sign_in(client, portal)
            page = await client.get(f"{portal.url}/ideas/{idea['idea_id']}")
            timeline = re.search(r'<ol class="govuk-list portal-timeline".*?</ol>', page.text, re.S).group()
            assert "Submitted" in timeline and "Endorsed" not in timeline and "Backed" not in timeline
            assert 'action="/ideas/' + idea["idea_id"] + '/endorse"' in page.text
            assert "Withdraw this idea" not in page.text  # not mine

            csrf = csrf_of(page)
            forged = await client.post(f"{portal.url}/ideas/{idea['idea_id']}/endorse", data={})
            assert forged.status_code == 403
            once = await client.post(f"{portal.url}/ideas/{idea['idea_id']}/endorse", data={"csrf_token": csrf},
                                     follow_redirects=False)
            assert once.status_code == 303
            twice = await client.post(f"{portal.url}/ideas/{idea['idea_id']}/endorse", data={"csrf_token": csrf})
            assert twice.status_code == 409
            assert 'class="govuk-error-summary"' in twice.text and "You have already endorsed this idea" in twice.text
            assert (await api.call("reviewer", "GET", f"/v1/ideas/{idea['idea_id']}"))["endorsements"] == 1

            scores = {"impact": 5, "feasibility": 4, "value_for_money": 4, "alignment": 3}
            await api.call("reviewer", "POST", f"/v1/ideas/{idea['idea_id']}/reviews", {"scores": scores})
            await api.call("reviewer", "POST", f"/v1/ideas/{idea['idea_id']}/shortlist")
            await api.call("reviewer", "POST", f"/v1/ideas/{idea['idea_id']}/back",
                           {"budget_gbp": 5000, "staff_days": 12.5, "timebox_weeks": 6})

            async def with_experiment():  # the step in the timeline (the menu names "Experiments" on every page)
                story = await client.get(f"{portal.url}/ideas/{idea['idea_id']}")
                return story if "Experiment" in re.findall(r'portal-timeline__title">([^<]+)<', story.text) else None

            story = await eventually(with_experiment, what="the experiment on the idea's page")
            steps = re.findall(r'portal-timeline__title">([^<]+)<', story.text)
            assert steps == ["Submitted", "Endorsed 1 time", "Reviewed 1 time", "Shortlisted", "Backed", "Experiment"]
            assert "£5,000, 12.5 staff days, 6 weeks" in story.text and "impact 5" in story.text
            assert "Being planned" in story.text
            assert 'action="/ideas/' + idea["idea_id"] + '/endorse"' not in story.text  # backed: no more endorsing


async def test_only_the_submitter_is_offered_withdrawal_after_a_confirmation_and_the_api_enforces_it(portal, keycloak):
    api = Api(portal, keycloak)
    mine, theirs = await api.submit(), await api.submit("contributor2")
    async with browser() as client:
        await sign_in(client, portal)
        others = await client.get(f"{portal.url}/ideas/{theirs['idea_id']}")
        assert "Withdraw this idea" not in others.text
        refused = await client.get(f"{portal.url}/ideas/{theirs['idea_id']}/withdraw")
        assert refused.status_code == 403
        # Forcing the POST anyway: the API refuses it, and the idea stays.
        forced = await client.post(f"{portal.url}/ideas/{theirs['idea_id']}/withdraw", data={"csrf_token": csrf_of(others)})
        assert forced.status_code == 403
        assert (await api.call("contributor2", "GET", f"/v1/ideas/{theirs['idea_id']}"))["status"] == "submitted"

        page = await client.get(f"{portal.url}/ideas/{mine['idea_id']}")
        assert "Idea you raised" in page.text
        confirm = await client.get(f"{portal.url}/ideas/{mine['idea_id']}/withdraw")
        assert confirm.status_code == 200 and "Are you sure you want to withdraw your idea?" in confirm.text
        assert (await api.call("contributor", "GET", f"/v1/ideas/{mine['idea_id']}"))["status"] == "submitted"
        assert (await client.post(f"{portal.url}/ideas/{mine['idea_id']}/withdraw", data={})).status_code == 403
        done = await client.post(f"{portal.url}/ideas/{mine['idea_id']}/withdraw", data={"csrf_token": csrf_of(confirm)})
        assert done.status_code == 200 and "Your idea has been withdrawn" in done.text
        assert "Withdrawn" in done.text and "Withdraw this idea" not in done.text
    assert (await api.call("contributor", "GET", f"/v1/ideas/{mine['idea_id']}"))["status"] == "withdrawn"
