"""The portal in a real headless browser (Debian's chromium) under its own Content-Security-Policy: signing in
through Keycloak's real login page, raising an idea with the keyboard alone, a `<script>` title shown as text,
the API's refusal shown in the error summary, no serious or critical axe-core violation on any page, the
pages at 320 CSS pixels without horizontal scrolling, and signing out."""

from __future__ import annotations

import uuid
from pathlib import Path

from playwright.async_api import Page, async_playwright

from tests.integration.portal.conftest import register_post_logout_uri, start_portal

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
    async for portal in start_portal(tmp_path, kafka_bootstrap, new_database, department, realm):
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
                await nojs.close()
            finally:
                await browser.close()
