"""The review panel in the portal, through Keycloak's real login page: reviewers score an idea from their queues
(once each), reviews are read as "Reviewer 1..n", a panel member never reviews or decides on their own idea,
shortlisting, backing, declining and merging each from a small form, the ideas API's refusals in the GOV.UK
error summary, and every result checked through the APIs."""

import base64
import html
import json
import re
import uuid

import httpx
import pytest

from shared.events import IdeaSubmitted, new_event
from shared.events.pseudonym import pseudonymise
from shared.events.topics import topic_name
from tests.integration.portal.conftest import SECRET, browser, csrf_of, sign_in, start_portal, unique_title
from tests.integration.portal.test_find_and_follow import Api
from tests.support.kafka import create_topics, publish
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration

PSEUDONYM = re.compile(r"p_[0-9a-f]{16}")
SCORES = {"impact": "4", "feasibility": "3", "value_for_money": "5", "alignment": "2"}


def problems(page: httpx.Response) -> str:
    """The error summary's text (empty when there is none)."""
    found = re.search(r'class="govuk-error-summary".*?</ul>', page.text, re.S)
    return found.group() if found else ""


def queue_ids(page: httpx.Response) -> set[str]:
    assert page.status_code == 200, page.text[:300]
    return set(re.findall(r'href="/review/ideas/([0-9a-f-]{36})"', page.text))


async def subject_of(keycloak, portal, role: str) -> str:
    """The person's subject, read from their access token (the test trusts Keycloak; the APIs verify it)."""
    payload = (await keycloak.token(portal.department, role)).split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["sub"]


async def test_two_reviewers_score_an_idea_from_their_queues_once_each_and_nobody_reviews_their_own(portal, keycloak):
    api = Api(portal, keycloak)
    idea = await api.submit("contributor", title=unique_title("Kettles"))
    own = await api.submit("admin", title=unique_title("Admin's"))
    idea_page = f"{portal.url}/review/ideas/{idea['idea_id']}"
    async with browser() as reviewer, browser() as reviewer2, browser() as admin, browser() as contributor:
        await sign_in(reviewer, portal, "reviewer")
        queue = await reviewer.get(f"{portal.url}/review")
        assert {idea["idea_id"], own["idea_id"]} <= queue_ids(queue) and 'id="ranking-link"' in queue.text
        page = await reviewer.get(idea_page)
        assert page.status_code == 200 and idea["title"] in page.text and 'id="score"' in page.text
        assert "Hardly anyone would notice the difference" in page.text  # each score's guidance, as its hint
        assert "Changes things for many people or a lot of money" in page.text
        assert page.text.count('type="radio" value="5"') == 4 and "No one has reviewed this idea yet" in page.text
        token = csrf_of(page)

        # malformed and oversized fields are named, the form keeps what was typed, and nothing is recorded
        wrong = await reviewer.post(f"{idea_page}/score", data={
            **SCORES, "impact": "9", "alignment": "", "comment": "Keep me " + "x" * 2000, "csrf_token": token})
        assert wrong.status_code == 400
        summary = problems(wrong)
        assert 'href="#impact"' in summary and "Choose a score for impact from 1 to 5" in summary
        assert 'href="#alignment"' in summary and 'href="#comment"' in summary
        assert "Comment must be 2000 characters or fewer" in summary and "Keep me xxx" in wrong.text
        assert (await api.call("reviewer", "GET", f"/v1/ideas/{idea['idea_id']}"))["reviews"] == 0

        scored = await reviewer.post(f"{idea_page}/score", data={
            **SCORES, "comment": "<script>alert(1)</script> Ask the call centre first", "csrf_token": token})
        assert scored.status_code == 200 and str(scored.url).endswith("?done=scored")
        assert "Your scores have been saved" in scored.text and "Reviewer 1 (you)" in scored.text
        assert "&lt;script&gt;alert(1)&lt;/script&gt; Ask the call centre first" in scored.text
        assert "<script>alert(1)" not in scored.text
        assert 'id="score"' not in scored.text and "You have scored this idea" in scored.text
        assert idea["idea_id"] not in queue_ids(await reviewer.get(f"{portal.url}/review"))  # left my queue

        again = await reviewer.post(f"{idea_page}/score", data={**SCORES, "csrf_token": token})
        assert again.status_code == 409 and "You have already scored this idea" in problems(again)
        assert 'href="#score"' in problems(again)

        await sign_in(reviewer2, portal, "reviewer2")
        queue2 = await reviewer2.get(f"{portal.url}/review")
        assert idea["idea_id"] in queue_ids(queue2)  # still in the other reviewer's queue, with one review so far
        row = re.search(rf'/review/ideas/{idea["idea_id"]}".*?</tr>', queue2.text, re.S).group()
        assert re.search(r'numeric">1</td>', row)
        page2 = await reviewer2.get(idea_page)
        assert "Reviewer 1<" in page2.text and "Reviewer 1 (you)" not in page2.text
        second = await reviewer2.post(f"{idea_page}/score", data={
            "impact": "2", "feasibility": "5", "value_for_money": "3", "alignment": "4", "comment": "",
            "csrf_token": csrf_of(page2)})
        assert second.status_code == 200 and "Reviewer 2 (you)" in second.text and "Reviewer 1<" in second.text
        assert not PSEUDONYM.search(second.text)  # reviewers are numbered, never named by their pseudonym
        assert 'id="averages"' in second.text and "3 out of 5" in second.text  # impact (4 + 2) / 2
        assert idea["idea_id"] not in queue_ids(await reviewer2.get(f"{portal.url}/review"))

        reviews = (await api.call("reviewer", "GET", f"/v1/ideas/{idea['idea_id']}/reviews"))["items"]
        assert [r["scores"] for r in reviews] == [
            {"impact": 4, "feasibility": 3, "value_for_money": 5, "alignment": 2},
            {"impact": 2, "feasibility": 5, "value_for_money": 3, "alignment": 4}]
        assert reviews[0]["comment"] == "<script>alert(1)</script> Ask the call centre first"

        # an admin who raised an idea: not in their queue, no forms on its page, and a forced POST is refused
        await sign_in(admin, portal, "admin")
        assert own["idea_id"] not in queue_ids(await admin.get(f"{portal.url}/review"))
        assert idea["idea_id"] in queue_ids(await admin.get(f"{portal.url}/review"))
        mine = await admin.get(f"{portal.url}/review/ideas/{own['idea_id']}")
        assert mine.status_code == 200 and "You raised this idea, so you cannot review it or decide on it" in mine.text
        assert not re.search(r'id="(score|shortlist|back|decline|merge-link)"', mine.text)
        for action, said in (("shortlist", "shortlist"), ("score", "score")):
            forced = await admin.post(f"{portal.url}/review/ideas/{own['idea_id']}/{action}",
                                      data={**SCORES, "csrf_token": csrf_of(mine)})
            assert forced.status_code == 403 and f"You raised this idea, so you cannot {said} it" in problems(forced)
        merge_own = await admin.get(f"{portal.url}/review/ideas/{own['idea_id']}/merge?q=kettles")
        assert merge_own.status_code == 403
        after = await api.call("admin", "GET", f"/v1/ideas/{own['idea_id']}")
        assert after["status"] == "submitted" and after["reviews"] == 0

        # a contributor sees none of the panel's pages, and is not offered the menu link
        home = await sign_in(contributor, portal, "contributor")
        assert 'href="/review"' not in home.text
        assert 'id="review-link"' not in (await contributor.get(f"{portal.url}/ideas/{idea['idea_id']}")).text
        story = await reviewer.get(f"{portal.url}/ideas/{idea['idea_id']}")
        assert f'href="/review/ideas/{idea["idea_id"]}" id="review-link"' in story.text  # from the story to the panel
        for path in ("/review", "/review/ranking", f"/review/ideas/{idea['idea_id']}",
                     f"/review/ideas/{idea['idea_id']}/merge"):
            page = await contributor.get(f"{portal.url}{path}")
            assert page.status_code == 403 and "Only reviewers and admins" in page.text, path
        forced = await contributor.post(f"{idea_page}/shortlist", data={"csrf_token": csrf_of(home)})
        assert forced.status_code == 403

        # no CSRF token (or another session's): refused, nothing changes
        for data in ({}, {"csrf_token": csrf_of(home)}):
            no_token = await reviewer.post(f"{idea_page}/shortlist", data=data)
            assert no_token.status_code == 403 and "This form has expired" in no_token.text
        assert (await api.call("reviewer", "GET", f"/v1/ideas/{idea['idea_id']}"))["status"] == "submitted"
        assert (await reviewer.get(f"{portal.url}/review/ideas/not-an-id")).status_code == 404


async def test_shortlisted_ideas_are_ranked_and_one_is_backed_with_its_figures(portal, keycloak):
    api = Api(portal, keycloak)
    strong, weak = await api.submit(title=unique_title("Strong")), await api.submit(title=unique_title("Weak"))
    for idea, score in ((strong, 5), (weak, 2)):
        await api.call("reviewer2", "POST", f"/v1/ideas/{idea['idea_id']}/reviews", {"scores": {
            "impact": score, "feasibility": score, "value_for_money": score, "alignment": score}})
    later = [await api.submit(title=unique_title("Later")) for _ in range(19)]
    async with browser() as reviewer:
        await sign_in(reviewer, portal, "reviewer")
        # the queue, oldest first, 20 to a page
        first_page = await reviewer.get(f"{portal.url}/review")
        listed = re.findall(r'href="/review/ideas/([0-9a-f-]{36})"', first_page.text)
        assert listed == [strong["idea_id"], weak["idea_id"], *(i["idea_id"] for i in later[:18])]
        next_page = re.search(r'href="([^"]+)" rel="next" id="next-page"', first_page.text).group(1)
        second_page = await reviewer.get(f"{portal.url}{html.unescape(next_page)}")
        assert re.findall(r'href="/review/ideas/([0-9a-f-]{36})"', second_page.text) == [later[18]["idea_id"]]
        assert 'id="next-page"' not in second_page.text
        assert (await reviewer.get(f"{portal.url}/review?cursor=forged")).status_code == 400
        for idea in (weak, strong):
            page = await reviewer.get(f"{portal.url}/review/ideas/{idea['idea_id']}")
            assert 'id="shortlist"' in page.text and 'id="back"' not in page.text  # backing comes after
            done = await reviewer.post(f"{portal.url}/review/ideas/{idea['idea_id']}/shortlist",
                                       data={"shortlist_note": "Worth a try", "csrf_token": csrf_of(page)})
            assert done.status_code == 200 and "The idea has been shortlisted" in done.text
            assert 'id="back"' in done.text and 'id="shortlist"' not in done.text
        again = await reviewer.post(f"{portal.url}/review/ideas/{strong['idea_id']}/shortlist",
                                    data={"csrf_token": csrf_of(page)})
        assert again.status_code == 409 and "This idea is shortlisted now, so it cannot be shortlisted" in problems(again)

        ranking = await reviewer.get(f"{portal.url}/review/ranking")
        assert ranking.status_code == 200
        listed = re.findall(r'href="/review/ideas/([0-9a-f-]{36})"', ranking.text)
        assert listed.index(strong["idea_id"]) < listed.index(weak["idea_id"])
        assert re.search(rf'{strong["idea_id"]}".*?<strong>5</strong> out of 5', ranking.text, re.S)

        url = f"{portal.url}/review/ideas/{strong['idea_id']}"
        page = await reviewer.get(url)
        wrong = await reviewer.post(f"{url}/back", data={"budget_gbp": "-5", "staff_days": "", "timebox_weeks": "60",
                                                         "back_note": "", "csrf_token": csrf_of(page)})
        assert wrong.status_code == 400
        summary = problems(wrong)
        assert "Budget must be an amount in pounds" in summary and 'href="#budget_gbp"' in summary
        assert "Enter the number of staff days" in summary and 'href="#staff_days"' in summary
        assert "Time box must be a whole number of weeks from 1 to 52" in summary and 'value="-5"' in wrong.text
        assert (await api.call("reviewer", "GET", f"/v1/ideas/{strong['idea_id']}"))["status"] == "shortlisted"

        backed = await reviewer.post(f"{url}/back", data={"budget_gbp": "£12,500", "staff_days": "7.5",
                                                          "timebox_weeks": "6", "back_note": "Start in the north",
                                                          "csrf_token": csrf_of(page)})
        assert backed.status_code == 200 and "The idea has been backed" in backed.text
        assert "£12,500, 7.5 staff days, 6 weeks" in backed.text and 'id="why-not"' in backed.text
        twice = await reviewer.post(f"{url}/back", data={"budget_gbp": "1", "staff_days": "1", "timebox_weeks": "1",
                                                         "csrf_token": csrf_of(page)})
        assert twice.status_code == 409 and "This idea is backed now, so it cannot be backed" in problems(twice)
    idea = await api.call("contributor", "GET", f"/v1/ideas/{strong['idea_id']}")
    assert idea["status"] == "backed"
    assert {k: idea["backing"][k] for k in ("budget_gbp", "staff_days", "timebox_weeks", "note")} == {
        "budget_gbp": 12500.0, "staff_days": 7.5, "timebox_weeks": 6, "note": "Start in the north"}
    assert idea["backing"]["sponsor"] == pseudonymise(SECRET, await subject_of(keycloak, portal, "reviewer"))


async def test_a_declined_idea_shows_its_reason_and_note_to_the_person_who_raised_it(portal, keycloak):
    api = Api(portal, keycloak)
    idea = await api.submit(title=unique_title("Robots"))
    url = f"{portal.url}/review/ideas/{idea['idea_id']}"
    async with browser() as reviewer, browser() as contributor:
        await sign_in(reviewer, portal, "reviewer")
        page = await reviewer.get(url)
        assert 'id="decline"' in page.text and "It cannot be done now" in page.text
        empty = await reviewer.post(f"{url}/decline", data={"csrf_token": csrf_of(page)})
        summary = problems(empty)
        assert empty.status_code == 400 and 'href="#reason"' in summary and 'href="#decline_note"' in summary
        forged = await reviewer.post(f"{url}/decline", data={"reason": "spite", "decline_note": "x" * 2001,
                                                             "csrf_token": csrf_of(page)})
        assert "Choose a reason from the list" in problems(forged) and "Note must be 2000 characters or fewer" in problems(forged)
        assert (await api.call("reviewer", "GET", f"/v1/ideas/{idea['idea_id']}"))["status"] == "submitted"

        note = "It needs a new case system: <b>try again</b> in April."
        declined = await reviewer.post(f"{url}/decline", data={"reason": "not_feasible", "decline_note": note,
                                                               "csrf_token": csrf_of(page)})
        assert declined.status_code == 200 and "The idea has been declined" in declined.text
        assert "It cannot be done now. It needs a new case system: &lt;b&gt;try again&lt;/b&gt; in April." in declined.text
        assert not re.search(r'id="(score|shortlist|back|decline)"', declined.text)
        twice = await reviewer.post(f"{url}/decline", data={"reason": "other", "decline_note": "Again",
                                                            "csrf_token": csrf_of(page)})
        assert twice.status_code == 409 and "This idea is declined now, so it cannot be declined" in problems(twice)
        oversized = await reviewer.post(f"{url}/shortlist", data={"shortlist_note": "x" * 40_000,
                                                                  "csrf_token": csrf_of(page)})
        assert oversized.status_code == 413 and "too long" in oversized.text  # no form over 32 KiB is read

        await sign_in(contributor, portal, "contributor")
        story = await contributor.get(f"{portal.url}/ideas/{idea['idea_id']}")
        assert "Declined" in story.text and "&lt;b&gt;try again&lt;/b&gt; in April." in story.text
    seen = await api.call("contributor", "GET", f"/v1/ideas/{idea['idea_id']}")
    assert seen["status"] == "declined"
    assert (seen["closure"]["reason"], seen["closure"]["note"]) == ("not_feasible", note)


async def test_an_idea_is_merged_into_a_searched_target_here_or_in_another_department_with_its_lineage(
        tmp_path, kafka_bootstrap, new_database, department, realm, keycloak):
    other = f"{department}m"
    await create_topics(kafka_bootstrap, topic_name(other, "ideas"))
    word = f"teapot{uuid.uuid4().hex[:6]}"
    theirs = uuid.uuid4()
    async for portal in start_portal(tmp_path, kafka_bootstrap, new_database, department, realm, services=("reporting",)):
        api = Api(portal, keycloak)
        await publish(kafka_bootstrap, new_event(IdeaSubmitted(
            idea_id=theirs, title=f"Shared {word} rota", problem="p", proposal="q", submitted_by="p_" + "a" * 16),
            department=other, service="ideas"))
        target = await api.submit(title=f"Better {word} rota")
        first, second = await api.submit(title=unique_title("First")), await api.submit(title=unique_title("Second"))
        async with browser() as reviewer:
            await sign_in(reviewer, portal, "reviewer")
            page = await reviewer.get(f"{portal.url}/review/ideas/{first['idea_id']}")
            assert 'id="merge-link"' in page.text
            merge = f"{portal.url}/review/ideas/{first['idea_id']}/merge"
            assert (await reviewer.get(merge)).status_code == 200
            short = await reviewer.get(merge, params={"q": "ab"})
            assert short.status_code == 400 and "Words must be 3 to 100 characters" in problems(short)

            async def both_found() -> httpx.Response | None:
                found = await reviewer.get(merge, params={"q": word})
                values = re.findall(r'name="target" type="radio" value="([^"]+)"', found.text)
                return found if f"{other}/{theirs}" in values and f"{department}/{target['idea_id']}" in values else None

            found = await eventually(both_found, what="the targets from the ideas API and central reporting")
            assert first["idea_id"] not in re.findall(r'value="[a-z0-9-]+/([0-9a-f-]{36})"', found.text)
            none_chosen = await reviewer.post(merge, data={"q": word, "step": "check", "csrf_token": csrf_of(found)})
            assert none_chosen.status_code == 400 and 'href="#target"' in problems(none_chosen)
            missing = await reviewer.post(merge, data={"q": word, "step": "check", "csrf_token": csrf_of(found),
                                                       "target": f"{department}/{uuid.uuid4()}"})
            assert missing.status_code == 400 and "That idea does not exist" in problems(missing)
            forged = await reviewer.post(merge, data={"target": "../../v1/ideas", "csrf_token": csrf_of(found)})
            assert forged.status_code == 400 and "Choose an idea from the list" in problems(forged)

            check = await reviewer.post(merge, data={"q": word, "step": "check", "csrf_token": csrf_of(found),
                                                     "target": f"{department}/{target['idea_id']}"})
            assert check.status_code == 200 and 'id="merge-confirm"' in check.text
            assert target["title"] in re.search(r'id="merge-target">.*?</dd>', check.text, re.S).group()
            merged = await reviewer.post(merge, data={"q": word, "step": "confirm", "csrf_token": csrf_of(check),
                                                      "target": f"{department}/{target['idea_id']}"})
            assert merged.status_code == 200 and "The idea has been merged" in merged.text
            assert f'href="/review/ideas/{target["idea_id"]}"' in merged.text
            into_page = await reviewer.get(f"{portal.url}/review/ideas/{target['idea_id']}")
            merged_from = re.search(r'id="merged-from">.*?</dd>', into_page.text, re.S).group()
            assert f'href="/review/ideas/{first["idea_id"]}"' in merged_from and first["title"] in merged_from

            # into another department's idea: checked against central reporting by the ideas API
            merge2 = f"{portal.url}/review/ideas/{second['idea_id']}/merge"
            nowhere = await reviewer.post(merge2, data={"q": word, "step": "confirm", "csrf_token": csrf_of(check),
                                                        "target": f"{other}/{uuid.uuid4()}"})
            assert nowhere.status_code == 400 and "That idea does not exist, or is not known yet" in problems(nowhere)
            check2 = await reviewer.post(merge2, data={"q": word, "step": "check", "csrf_token": csrf_of(check),
                                                       "target": f"{other}/{theirs}"})
            assert f"Shared {word} rota ({other.upper()})" in check2.text
            merged2 = await reviewer.post(merge2, data={"q": word, "step": "confirm", "csrf_token": csrf_of(check2),
                                                        "target": f"{other}/{theirs}"})
            assert merged2.status_code == 200 and f"An idea in {other.upper()}" in merged2.text
            reporting = portal.others["reporting"].url

            async def lineage_central() -> bool:
                async with httpx.AsyncClient(base_url=reporting, timeout=10) as client:
                    answer = await client.get(f"/v1/ideas/{other}/{theirs}")
                return answer.status_code == 200 and {"department": department, "idea_id": second["idea_id"]} in \
                    answer.json().get("merged_from", [])

            await eventually(lineage_central, what="central reporting's lineage of the other department's idea")

            # central reporting down: a merge into another department's idea cannot be checked, and says so
            third = await api.submit(title=unique_title("Third"))
            portal.others["reporting"].stop()
            unchecked = await reviewer.post(f"{portal.url}/review/ideas/{third['idea_id']}/merge", data={
                "q": word, "step": "confirm", "csrf_token": csrf_of(check2), "target": f"{other}/{theirs}"})
            assert unchecked.status_code == 503
            assert f"{other.upper()}&#39;s ideas cannot be checked at the moment" in problems(unchecked)
            assert 'id="elsewhere-unreachable"' in unchecked.text  # and the search shows this department's only
            assert (await api.call("reviewer", "GET", f"/v1/ideas/{third['idea_id']}"))["status"] == "submitted"

        one = await api.call("reviewer", "GET", f"/v1/ideas/{first['idea_id']}")
        assert one["status"] == "merged"
        assert (one["closure"]["into_department"], one["closure"]["into_idea_id"]) == (department, target["idea_id"])
        into = await api.call("reviewer", "GET", f"/v1/ideas/{target['idea_id']}")
        assert {"department": department, "idea_id": first["idea_id"]} in into["merged_from"]
        two = await api.call("reviewer", "GET", f"/v1/ideas/{second['idea_id']}")
        assert (two["status"], two["closure"]["into_department"], two["closure"]["into_idea_id"]) == (
            "merged", other, str(theirs))
