"""The portal in a real headless browser (Debian's chromium) under its own Content-Security-Policy: signing in
through Keycloak's real login page, raising an idea with the keyboard alone, a `<script>` title shown as text,
the API's refusal shown in the error summary, no serious or critical axe-core violation on any page, the
pages at 320 CSS pixels without horizontal scrolling, and signing out."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

from datetime import date, timedelta

import httpx
from playwright.async_api import Page, async_playwright

from shared.events import OutcomeAdopted, new_event
from shared.events.experiments import experiment_id_for
from shared.events.pseudonym import pseudonymise
from shared.events.topics import topic_name
from tests.integration.portal.conftest import register_post_logout_uri, start_portal
from tests.integration.portal.test_find_and_follow import Api
from tests.support.kafka import create_topics, publish
from tests.support.keycloak import jwt_part
from tests.support.waiting import eventually

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
AXE = Path(__file__).resolve().parents[2] / "services/portal/frontend/node_modules/axe-core/axe.min.js"
WCAG = "{runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa']}}"


async def serious_violations(page: Page) -> list:
    # Evaluated through the DevTools protocol, which the page's CSP does not govern (a script tag would be refused).
    if not await page.evaluate("typeof axe !== 'undefined'"):
        await page.evaluate(AXE.read_text())
    result = await page.evaluate(f"axe.run(document, {WCAG})")
    return [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
            for v in result["violations"] if v["impact"] in ("serious", "critical")]


async def fits_320(page: Page) -> bool:
    await page.set_viewport_size({"width": 320, "height": 640})
    fits = await page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")
    await page.set_viewport_size({"width": 1024, "height": 768})
    return fits


async def test_a_person_signs_in_and_raises_an_idea_in_a_browser(tmp_path, kafka_bootstrap, new_database, department,
                                                                 keycloak):
    realm = await keycloak.realm(department)
    await register_post_logout_uri(keycloak, realm)
    title = f"<script>window.__owned = true</script> Fewer forms {uuid.uuid4().hex[:6]}"
    async for portal in start_portal(tmp_path, kafka_bootstrap, new_database, department, realm,
                                     services=("notifications",)):
        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
            try:
                context = await browser.new_context()
                page = await context.new_page()
                refused_by_csp: list[str] = []
                page.on("console", lambda m: refused_by_csp.append(m.text) if "Content Security Policy" in m.text else None)

                await page.goto(f"{portal.url}/")
                assert await serious_violations(page) == []
                assert await fits_320(page)
                await page.click("a.govuk-button--start")
                await page.wait_for_selector("#kc-form-login")
                username, password = realm.users["contributor"]
                await page.fill("#username", username)
                await page.fill("#password", password)
                await page.click("#kc-login")
                await page.wait_for_url(f"{portal.url}/")
                assert "Signed in as" in await page.inner_text("body")
                # the module script ran under the CSP: GOV.UK Frontend's enhancements are on
                assert await page.evaluate("document.body.classList.contains('govuk-frontend-supported')")
                assert await serious_violations(page) == []
                assert await fits_320(page)

                # keyboard only: from the home page's button through every field to the submit button
                await page.focus("a.govuk-button:has-text('Raise an idea')")
                await page.keyboard.press("Enter")
                await page.wait_for_url(f"{portal.url}/ideas/new")
                assert await serious_violations(page) == []
                assert await fits_320(page)
                await page.focus("#title")
                for text in ["x" * 201, "Too many forms.", "Merge them.", "Hours saved", "paperwork", "Ops", ""]:
                    await page.keyboard.type(text)
                    await page.keyboard.press("Tab")
                await page.keyboard.press("Enter")  # the Continue button has the focus
                await page.wait_for_selector("h1:has-text('Has this been tried?')")
                await page.focus("button:has-text('Send idea')")
                await page.keyboard.press("Enter")
                await page.wait_for_selector(".govuk-error-summary")
                assert "Title must be 200 characters or fewer" in await page.inner_text(".govuk-error-summary")
                assert await page.evaluate("document.activeElement.closest('.govuk-error-summary') !== null")
                assert await serious_violations(page) == []
                await page.fill("#title", title)
                await page.focus("#campaign")
                await page.keyboard.press("Tab")
                await page.keyboard.press("Enter")
                await page.wait_for_selector("h1:has-text('Has this been tried?')")
                assert await serious_violations(page) == []
                await page.focus("button:has-text('Send idea')")
                await page.keyboard.press("Enter")
                await page.wait_for_selector("#idea-title")
                assert await page.inner_text("#idea-title") == title
                assert await page.evaluate("window.__owned === undefined")
                assert await serious_violations(page) == []
                assert await fits_320(page)

                await page.click("button:has-text('Sign out')")
                await page.wait_for_url(f"{portal.url}/signed-out")
                assert "You have signed out" in await page.inner_text("h1")
                assert refused_by_csp == []

                # without JavaScript the journey still works
                nojs = await browser.new_context(java_script_enabled=False)
                plain = await nojs.new_page()
                await plain.goto(f"{portal.url}/ideas/new")
                await plain.wait_for_selector("#kc-form-login")
                await plain.fill("#username", username)
                await plain.fill("#password", password)
                await plain.click("#kc-login")
                await plain.wait_for_url(f"{portal.url}/ideas/new")
                await plain.fill("#title", "Plain " + title)
                await plain.fill("#problem", "Too many forms.")
                await plain.fill("#proposal", "Merge them.")
                await plain.click("button:has-text('Continue')")
                await plain.click("button:has-text('Send idea')")
                await plain.wait_for_selector("#idea-title")
                assert await plain.inner_text("#idea-title") == "Plain " + title
                plain_idea = plain.url.split("/ideas/")[1].split("?")[0]
                # ... and so do finding ideas, withdrawing, a team conversation, the library and emails
                await plain.click("nav a:has-text('Find ideas')")
                await plain.fill("#q", "Plain")
                await plain.select_option("#status", "submitted")
                await plain.click("button:has-text('Apply filters')")
                await plain.wait_for_selector("#results table")
                assert "Plain " + title in await plain.inner_text("#results")
                await plain.click(f"#results a[href='/ideas/{plain_idea}']")
                await plain.click("#withdraw")
                await plain.click("button:has-text('Yes, withdraw my idea')")
                await plain.wait_for_selector("text=Your idea has been withdrawn")
                await plain.click("nav a:has-text('Team conversations')")
                await plain.fill("#team", "Jobcentre, Leeds")
                await plain.fill("#held_on-day", "12")
                await plain.fill("#held_on-month", "1")
                await plain.fill("#held_on-year", "2026")
                await plain.fill("#participants", "9")
                await plain.fill("#ideas_raised", "2")
                await plain.click("button:has-text('Record the conversation')")
                await plain.wait_for_selector("h1:has-text('Conversation recorded')")
                await plain.click("nav a:has-text('Outcomes library')")
                await plain.select_option("#result", "failed")
                await plain.click("button:has-text('Apply filters')")
                assert "result=failed" in plain.url  # central reporting is not running here: the page says so
                assert "cannot be read just now" in await plain.inner_text("#results")
                await plain.click("nav a:has-text('Emails')")
                await plain.check("label:has-text('An idea is shortlisted')")
                await plain.click("button:has-text('Save')")
                await plain.wait_for_selector("text=Your email choices have been saved")
                assert await plain.is_checked("label:has-text('An idea is shortlisted')")
                await nojs.close()
            finally:
                await browser.close()


# The journeys' screenshots go to the test's own directory, or, to refresh docs/portal.md's, to
# PORTAL_SCREENSHOTS=docs/images (so that a test run leaves the committed images alone).
IMAGES: Path | None = None


async def shown(page: Page, screenshot: str | None = None, at: str | None = None) -> None:
    """Every page of a journey: no serious or critical axe-core violation, and it reflows at 320 CSS pixels;
    the journey's one screenshot (PNG) taken."""
    assert await serious_violations(page) == [], page.url
    assert await fits_320(page), page.url
    if screenshot:
        IMAGES.mkdir(parents=True, exist_ok=True)
        if at:
            await page.locator(at).scroll_into_view_if_needed()
        await page.screenshot(path=str(IMAGES / f"portal-{screenshot}.png"))


async def test_the_staff_journeys_end_to_end_in_a_browser(tmp_path, kafka_bootstrap, new_database, department, keycloak,
                                                          monkeypatch):
    monkeypatch.setitem(globals(), "IMAGES", Path(os.environ.get("PORTAL_SCREENSHOTS") or tmp_path / "images"))
    realm = await keycloak.realm(department)
    await register_post_logout_uri(keycloak, realm)
    marker = uuid.uuid4().hex[:6]
    async for portal in start_portal(tmp_path, kafka_bootstrap, new_database, department, realm,
                                     services=("experiments", "notifications", "reporting")):
        api = Api(portal, keycloak)
        theirs = await api.submit("contributor2", title=f"Shorter claim letters {marker}", themes=["paperwork"],
                                  problem="Claimants phone us because the letters are long.", proposal="One page.")
        reporting = portal.others["reporting"].url

        async def reported() -> bool:
            async with httpx.AsyncClient(base_url=reporting) as client:
                answer = await client.get("/v1/ideas/similar", params={"q": theirs["title"]})
            return bool(answer.json()["ideas"])

        await eventually(reported, what="the colleague's idea in central reporting")
        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
            try:
                page = await (await browser.new_context(viewport={"width": 960, "height": 720})).new_page()
                await page.goto(f"{portal.url}/auth/sign-in")
                username, password = realm.users["contributor"]
                await page.fill("#username", username)
                await page.fill("#password", password)
                await page.click("#kc-login")
                await page.wait_for_url(f"{portal.url}/")

                # 5. A team conversation, and an idea raised from it (4. after "has this been tried?")
                await shown(page)
                await page.click("a:has-text('Record a team conversation')")
                await page.wait_for_selector("h1:has-text('Record a team conversation')")
                await shown(page)
                await page.fill("#team", "Benefit centre, Wolverhampton")
                await page.fill("#held_on-day", "3")
                await page.fill("#held_on-month", "2")
                await page.fill("#held_on-year", "2026")
                await page.fill("#participants", "14")
                await page.fill("#ideas_raised", "1")
                await shown(page, "conversation")
                await page.click("button:has-text('Record the conversation')")
                await page.wait_for_selector("h1:has-text('Conversation recorded')")
                await shown(page)
                await page.click("#raise-from")
                await page.wait_for_selector("#from-conversation")
                await shown(page)
                await page.fill("#title", f"Shorter letters to claimants {marker}")
                await page.fill("#problem", "Long letters make people phone us.")
                await page.fill("#proposal", "Send one page with a link to the rest.")
                await page.click("button:has-text('Continue')")
                await page.wait_for_selector("h1:has-text('Has this been tried?')")
                similar = await page.inner_text("#similar")
                assert theirs["title"] in similar and "Not tried yet" in similar
                await shown(page, "has-this-been-tried")
                await page.click("button:has-text('Send idea')")
                await page.wait_for_selector("#idea-title")
                await shown(page)
                mine_id = page.url.split("/ideas/")[1].split("?")[0]

                # 2. Find a colleague's idea, endorse it; its story once backed
                await page.click("nav a:has-text('Find ideas')")
                await page.wait_for_selector("h1:has-text('Find ideas')")
                await shown(page)
                await page.fill("#q", marker)
                await page.select_option("#status", "submitted")
                await page.click("button:has-text('Apply filters')")
                await page.wait_for_selector("#results table")
                await shown(page, "find-ideas")
                await page.click(f"a[href='/ideas/{theirs['idea_id']}']")
                await page.wait_for_selector("#timeline")
                await page.click("button:has-text('Endorse this idea')")
                await page.wait_for_selector("text=You have endorsed this idea")
                await shown(page)
                scores = {"impact": 4, "feasibility": 5, "value_for_money": 4, "alignment": 4}
                await api.call("reviewer", "POST", f"/v1/ideas/{theirs['idea_id']}/reviews", {"scores": scores})
                await api.call("reviewer", "POST", f"/v1/ideas/{theirs['idea_id']}/shortlist")
                await api.call("reviewer", "POST", f"/v1/ideas/{theirs['idea_id']}/back",
                               {"budget_gbp": 8000, "staff_days": 10, "timebox_weeks": 8})

                async def experiment_shown() -> bool:
                    await page.goto(f"{portal.url}/ideas/{theirs['idea_id']}")
                    return "Experiment" in await page.inner_text("#timeline")

                await eventually(experiment_shown, what="the experiment in the idea's story")

                # 2 (cont.). Its squad runs the experiment to an outcome and another department adopts it: the
                # story ends with the adoption, and the outcome is in the library with what was learnt
                experiments = portal.others["experiments"].url
                base = f"/v1/experiments/{experiment_id_for(department, uuid.UUID(theirs['idea_id']))}"
                today = date.today()
                await api.call("contributor2", "POST", f"{base}/plan", {
                    "hypothesis": "One page halves the calls about letters",
                    "measure": {"name": "Calls about letters", "unit": "calls/week", "baseline": 400, "target": 200,
                                "direction": "decrease"},
                    "starts_on": today.isoformat(), "ends_on": (today + timedelta(weeks=6)).isoformat(),
                    "squad_size": 3}, base=experiments)
                await api.call("contributor2", "POST", f"{base}/start", base=experiments)
                learnt = f"Claimants read a one-page letter {marker}"
                done = await api.call("contributor2", "POST", f"{base}/complete", {
                    "result": "succeeded", "summary": "Calls about letters fell by a third.", "learnings": [learnt],
                    "benefits": {"hours_saved_per_year": 1500}, "recommendation": "adopt_elsewhere"}, base=experiments)
                adopter = f"{department}b"  # another department (central reporting reads it too)
                await create_topics(kafka_bootstrap, topic_name(adopter, "outcomes"))
                await publish(kafka_bootstrap, new_event(OutcomeAdopted(
                    adoption_id=uuid.uuid4(), origin_department=department,
                    origin_outcome_id=uuid.UUID(done["outcome"]["outcome_id"]), adopting_department=adopter,
                    adopted_by=pseudonymise("another-department", "their-reviewer"), note="Trying it in our letters"),
                    department=adopter, service="experiments"))

                async def adoption_shown() -> bool:
                    await page.goto(f"{portal.url}/ideas/{theirs['idea_id']}")
                    return f"Adopted by {adopter.upper()}" in await page.inner_text("#timeline")

                await eventually(adoption_shown, what="the adoption in the idea's story")
                assert "Outcome: succeeded" in await page.inner_text("#timeline")
                await shown(page, "idea-story", at="#timeline")
                await page.click("a:has-text('What its experiment found')")
                await page.wait_for_selector("#learnings")
                assert learnt in await page.inner_text("#learnings")
                assert adopter.upper() in await page.inner_text("#adopted-by")
                await shown(page, "outcome")
                await page.click("nav a:has-text('Outcomes library')")
                await page.wait_for_selector("h1:has-text('Outcomes library')")
                await page.fill("#q", marker)
                await page.select_option("#result", "succeeded")
                await page.click("button:has-text('Apply filters')")
                await page.wait_for_selector("#outcomes")
                assert theirs["title"] in await page.inner_text("#outcomes")
                await shown(page, "outcomes-library")

                # 1. Home: my idea (changed since my last visit) and the one I endorsed
                await page.goto(f"{portal.url}/")
                await api.call("contributor2", "POST", f"/v1/ideas/{mine_id}/endorsements")
                await page.reload()
                assert "Updated" in await page.inner_text("#mine")
                assert theirs["title"] in await page.inner_text("#endorsed")
                await shown(page, "home")

                # 3. Withdraw my own idea
                await page.goto(f"{portal.url}/ideas/{mine_id}")
                await page.click("#withdraw")
                await page.wait_for_selector("h1:has-text('Are you sure')")
                await shown(page, "withdraw")
                await page.click("button:has-text('Yes, withdraw my idea')")
                await page.wait_for_selector("text=Your idea has been withdrawn")
                await shown(page)

                # 6. Emails
                await page.click("nav a:has-text('Emails')")
                await page.wait_for_selector("h1:has-text('Choose your emails')")
                await shown(page)
                await page.check("label[for=my_ideas-daily]")  # the service's defaults are checked to start with
                await page.uncheck("label[for=news-idea-submitted-v1]")
                await page.uncheck("label[for=news-outcome-recorded-v1]")
                await page.check("label:has-text('An idea is backed')")
                await page.check("label:has-text('Another team adopts an outcome')")
                await page.click("button:has-text('Save')")
                await page.wait_for_selector("text=Your email choices have been saved")
                await shown(page, "emails")
            finally:
                await browser.close()

        # the results, through the APIs
        mine = await api.call("contributor", "GET", f"/v1/ideas/{mine_id}")
        assert mine["status"] == "withdrawn" and mine["conversation_id"] and mine["team"] == "Benefit centre, Wolverhampton"
        assert (await api.call("reviewer", "GET", f"/v1/ideas/{theirs['idea_id']}"))["endorsements"] == 1
        token = await keycloak.token(department, "contributor")
        subject = jwt_part(token)["sub"]
        async with httpx.AsyncClient(base_url=portal.others["notifications"].url) as client:
            subscription = (await client.get(f"/v1/subscriptions/{subject}",
                                             headers={"Authorization": f"Bearer {token}"})).json()
        assert subscription["event_types"] == ["uk.gov.innovation.idea.backed.v1", "uk.gov.innovation.outcome.adopted.v1"]
        assert subscription["preferences"]["my_ideas"] == "daily"
