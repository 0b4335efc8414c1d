"""Panels and squads at work, in Chromium, each person signed in through Keycloak's login page: a contributor
raises an idea; two reviewers score it from their queues (one with the keyboard alone); one shortlists and
backs it; a squad lead plans, starts, measures and completes its experiment; a reviewer of another department
adopts the outcome from the outcomes library; the central dashboard shows the adoption. axe-core finds no
serious or critical violation on any page and every page reflows at 320 CSS pixels."""

from __future__ import annotations

import os
import uuid
from datetime import date, timedelta
from pathlib import Path

import httpx
from playwright.async_api import Browser, Page, async_playwright

from shared.events.experiments import experiment_id_for
from tests.e2e import test_portal
from tests.e2e.test_portal import CHROMIUM, FLAGS, shown
from tests.integration.portal.conftest import register_post_logout_uri, start_portal
from tests.integration.portal.test_find_and_follow import Api
from tests.support.waiting import eventually


async def signed_in(browser: Browser, portal, role: str) -> Page:
    """A person's own browser (a fresh context), signed in at their department's provider."""
    page = await (await browser.new_context(viewport={"width": 1024, "height": 768})).new_page()
    await page.goto(f"{portal.url}/auth/sign-in")
    username, password = portal.realm.users[role]
    await page.fill("#username", username)
    await page.fill("#password", password)
    await page.click("#kc-login")
    await page.wait_for_url(f"{portal.url}/")
    return page


async def fill_date(page: Page, name: str, day: date) -> None:
    await page.fill(f"#{name}-day", str(day.day))
    await page.fill(f"#{name}-month", str(day.month))
    await page.fill(f"#{name}-year", str(day.year))


async def test_a_panel_and_a_squad_take_an_idea_to_an_outcome_another_department_adopts(
        tmp_path, kafka_bootstrap, new_database, department, keycloak, monkeypatch):
    monkeypatch.setattr(test_portal, "IMAGES", Path(os.environ.get("PORTAL_SCREENSHOTS") or tmp_path / "images"))
    origin, adopter = f"{department}o", department  # the adopter's reporting and catalogue read `<adopter>…`
    realms = {code: await keycloak.realm(code) for code in (origin, adopter)}
    for realm in realms.values():
        await register_post_logout_uri(keycloak, realm)
    (tmp_path / "adopter").mkdir()
    (tmp_path / "origin").mkdir()
    title = f"Call claimants back at a time they choose {uuid.uuid4().hex[:6]}"
    today = date.today()
    async for theirs in start_portal(tmp_path / "adopter", kafka_bootstrap, new_database, adopter, realms[adopter],
                                     services=("experiments", "reporting")):
        reporting = theirs.others["reporting"].url
        async for ours in start_portal(tmp_path / "origin", kafka_bootstrap, new_database, origin, realms[origin],
                                       ideas_env={"REPORTING_URL": reporting}, services=("experiments",),
                                       REPORTING_URL=reporting):
            api = Api(ours, keycloak)
            async with async_playwright() as p:
                browser = await p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
                try:
                    # A contributor raises the idea
                    contributor = await signed_in(browser, ours, "contributor")
                    await contributor.click("nav a:has-text('Raise an idea')")
                    await contributor.fill("#title", title)
                    await contributor.fill("#problem", "Claimants wait on hold to ask about their claim.")
                    await contributor.fill("#proposal", "Let them book a call back at a time that suits them.")
                    await contributor.fill("#themes", "customer-service")
                    await contributor.click("button:has-text('Continue')")
                    await contributor.click("button:has-text('Send idea')")
                    await contributor.wait_for_selector("#idea-title")
                    idea_id = contributor.url.split("/ideas/")[1].split("?")[0]

                    # Two reviewers score it from their queues; the first with the keyboard alone
                    reviewer = await signed_in(browser, ours, "reviewer")
                    await reviewer.click("nav a:has-text('Review')")
                    await reviewer.wait_for_selector("#queue-title")
                    assert title in await reviewer.inner_text("#queue")
                    await shown(reviewer, "review-queue")
                    await reviewer.click(f"#queue a[href='/review/ideas/{idea_id}']")
                    await reviewer.wait_for_selector("#score")
                    await shown(reviewer)
                    await reviewer.focus("#impact")
                    await reviewer.keyboard.press("Space")  # 1
                    for _ in range(3):
                        await reviewer.keyboard.press("ArrowDown")  # impact 4
                    for _ in range(3):  # feasibility, value for money, alignment: 1, then 5 with ArrowUp from 1
                        await reviewer.keyboard.press("Tab")
                        await reviewer.keyboard.press("Space")
                        await reviewer.keyboard.press("ArrowUp")
                    await reviewer.keyboard.press("Tab")
                    await reviewer.keyboard.type("Simple to try in one benefit centre.")
                    await shown(reviewer, "score")
                    await reviewer.keyboard.press("Tab")
                    await reviewer.keyboard.press("Enter")
                    await reviewer.wait_for_selector("text=Your scores have been saved")
                    await shown(reviewer)

                    reviewer2 = await signed_in(browser, ours, "reviewer2")
                    await reviewer2.goto(f"{ours.url}/review")
                    await reviewer2.click(f"#queue a[href='/review/ideas/{idea_id}']")
                    for name, score in (("impact", 5), ("feasibility", 4), ("value_for_money", 4), ("alignment", 3)):
                        await reviewer2.check(f"#{name}" if score == 1 else f"#{name}-{score}")
                    await reviewer2.click("#score-button")
                    await reviewer2.wait_for_selector("text=Your scores have been saved")
                    await reviewer2.goto(f"{ours.url}/review")
                    assert title not in await reviewer2.inner_text("#queue")  # scored: out of their queue

                    reviews = (await api.call("reviewer", "GET", f"/v1/ideas/{idea_id}/reviews"))["items"]
                    assert [r["scores"] for r in reviews] == [
                        {"impact": 4, "feasibility": 5, "value_for_money": 5, "alignment": 5},
                        {"impact": 5, "feasibility": 4, "value_for_money": 4, "alignment": 3}]
                    assert reviews[0]["comment"] == "Simple to try in one benefit centre."

                    # One shortlists and backs it
                    await reviewer.reload()
                    await reviewer.click("#shortlist-button")
                    await reviewer.wait_for_selector("#back")
                    await reviewer.fill("#budget_gbp", "6,000")
                    await reviewer.fill("#staff_days", "12")
                    await reviewer.fill("#timebox_weeks", "6")
                    await shown(reviewer, "decide")
                    await reviewer.click("#back-button")
                    await reviewer.wait_for_selector("text=The idea has been backed")
                    idea = await api.call("reviewer", "GET", f"/v1/ideas/{idea_id}")
                    assert idea["status"] == "backed" and idea["backing"]["budget_gbp"] == 6000

                    # The squad lead plans, starts, measures and completes the experiment
                    lead = await signed_in(browser, ours, "contributor2")
                    experiment_id = str(experiment_id_for(origin, uuid.UUID(idea_id)))

                    async def experiment_listed() -> bool:
                        await lead.goto(f"{ours.url}/experiments")
                        return await lead.locator(f"#experiment-{experiment_id}").count() == 1

                    await eventually(experiment_listed, what="the backed idea's experiment in the list")
                    await shown(lead)
                    await lead.click(f"#experiment-{experiment_id} a")
                    await lead.click("#plan-link")
                    await lead.fill("#hypothesis", "Booked call backs halve repeat calls")
                    await lead.fill("#measure_name", "Repeat calls")
                    await lead.fill("#measure_unit", "calls a week")
                    await lead.fill("#baseline", "400")
                    await lead.fill("#target", "200")
                    await lead.check("#direction-decrease")
                    await fill_date(lead, "starts_on", today)
                    await fill_date(lead, "ends_on", today + timedelta(weeks=5))
                    await lead.fill("#squad_size", "3")
                    await lead.fill("#budget_gbp", "6000")
                    await lead.fill("#staff_days", "12")
                    await shown(lead, "plan")
                    await lead.click("#plan")
                    await lead.click("#start-link")
                    await lead.click("#start")
                    for value in ("350", "260"):
                        await lead.click("#measure-link")
                        await fill_date(lead, "measured_on", today)
                        await lead.fill("#value", value)
                        await lead.click("#measurements")
                    await lead.wait_for_selector("svg#chart")
                    assert "260" in await lead.inner_text("#measurements")
                    await shown(lead, "experiment", at="#chart")
                    await lead.click("#complete-link")
                    await lead.check("#result-succeeded")
                    await lead.fill("#summary", "Repeat calls fell by a third.")
                    await lead.fill("#learnings", "People keep a booked call\nText a reminder the day before")
                    await lead.fill("#hours_saved_per_year", "1500")
                    await lead.check("#recommendation-adopt_elsewhere")
                    await shown(lead, "complete")
                    await lead.click("#complete")
                    await lead.wait_for_selector("#outcome")
                    done = await api.call("contributor2", "GET", f"/v1/experiments/{experiment_id}",
                                          base=ours.others["experiments"].url)
                    assert done["status"] == "completed" and done["outcome"]["learnings"] == [
                        "People keep a booked call", "Text a reminder the day before"]
                    outcome_id = done["outcome"]["outcome_id"]

                    # A reviewer of another department adopts it from the outcomes library
                    adopting = await signed_in(browser, theirs, "reviewer")

                    async def in_library() -> bool:
                        await adopting.goto(f"{theirs.url}/outcomes?q=booked")
                        return await adopting.locator(f"a[href='/outcomes/{origin}/{outcome_id}']").count() == 1

                    await eventually(in_library, what="the outcome in the other department's library")
                    await shown(adopting, "library")
                    await adopting.click(f"a[href='/outcomes/{origin}/{outcome_id}']")
                    await adopting.fill("#note", "Trying it in our Leeds contact centre")

                    async def adopted() -> bool:  # its experiments service learns of outcomes asynchronously
                        await adopting.click("button:has-text('Adopt for')")
                        await adopting.wait_for_load_state()
                        return "has adopted this outcome" in await adopting.inner_text("main")

                    await eventually(adopted, what="the adoption accepted")
                    await shown(adopting, "adopt")

                    # The origin department sees who adopted it; the centre's dashboard shows the link
                    async def adoption_in_story() -> bool:
                        await contributor.goto(f"{ours.url}/ideas/{idea_id}")
                        timeline = contributor.locator("#timeline")  # absent from a page that answered an error: try again
                        return await timeline.count() > 0 and f"Adopted by {adopter.upper()}" in await timeline.inner_text()

                    await eventually(adoption_in_story, what="the adoption in the idea's story")
                finally:
                    await browser.close()
        async with httpx.AsyncClient(base_url=reporting) as client:
            links = (await client.get("/v1/summary")).json()["adoption_links"]
            dashboard = (await client.get("/")).text
    assert [(l["origin_department"], l["adopting_department"]) for l in links] == [(origin, adopter)]
    spreading = dashboard.split('id="adoptions"')[1].split("</table>")[0]
    assert f'<td class="govuk-table__cell">{origin}</td>' in spreading
    assert f'<td class="govuk-table__cell">{adopter}</td>' in spreading
