"""The dashboard in a real headless browser (Debian's chromium): the figures of the API, hostile titles shown
as text, and no serious or critical accessibility violation found by axe-core."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx
from playwright.async_api import async_playwright

from tests.integration.reporting.conftest import pattern_for, publish, wait_applied
from tests.integration.reporting.scenario import department_events
from tests.support.kafka import create_topics
from tests.support.processes import reporting_process

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
AXE = Path(__file__).resolve().parents[2] / "services/reporting/frontend/node_modules/axe-core/axe.min.js"
HOSTILE = "<script>window.__owned = true</script> Fewer forms & <b>bold</b>"


async def test_dashboard_in_a_browser(kafka_bootstrap, new_database, department, tmp_path):
    dsn = await new_database("reporting")
    await create_topics(kafka_bootstrap, *(f"innovation.{department}.{s}.v1" for s in ("ideas", "experiments", "outcomes")))
    events, _ = department_events(department, title_a=HOSTILE)
    service = reporting_process(dsn=dsn, bootstrap=kafka_bootstrap, pattern=pattern_for(department),
                                group_id=f"reporting-ui-{uuid.uuid4().hex[:8]}", log=tmp_path / "service.log")
    try:
        await service.start()
        await publish(kafka_bootstrap, events)
        await wait_applied(dsn, len(events))
        async with httpx.AsyncClient() as client:
            summary = (await client.get(f"{service.url}/v1/summary")).json()
            assert (await client.get(f"{service.url}/static/govuk/govuk-frontend.min.css")).status_code == 200

        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
            try:
                page = await browser.new_page()
                response = await page.goto(f"{service.url}/?q=short+form", wait_until="load")
                assert response.status == 200
                shown = {key: (await page.locator(f'[data-figure="{key}"]').first.inner_text()).strip()
                         for key in ("ideas_raised", "participants", "experiments", "outcomes", "learnings",
                                     "funnel.backed", "benefits.people_affected", "overdue")}
                assert shown == {
                    "ideas_raised": str(summary["ideas_raised"]), "participants": str(summary["participants"]),
                    "experiments": str(summary["experiments"]), "outcomes": str(summary["outcomes"]),
                    "learnings": str(summary["learnings"]), "funnel.backed": str(summary["funnel"]["backed"]),
                    "benefits.people_affected": str(summary["benefits"]["people_affected"]),
                    "overdue": str(summary["overdue"]),
                }
                assert shown["ideas_raised"] == "5"
                assert await page.locator('[data-figure="benefits.cash_savings_gbp_per_year"]').inner_text() == "£12,000"
                # The hostile title is text on the page, never markup, and its script never ran.
                assert HOSTILE in await page.locator("#recent-ideas").inner_text()
                assert await page.evaluate("window.__owned === undefined")
                assert await page.locator("#recent-ideas b").count() == 0
                assert department in await page.locator("#departments-table").inner_text()
                assert "Claimants prefer one short form" in await page.locator("#learnings-results").inner_text()

                await page.add_script_tag(path=str(AXE))
                result = await page.evaluate(
                    "axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa']}})")
                serious = [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
                           for v in result["violations"] if v["impact"] in ("serious", "critical")]
                assert serious == []
                assert len(result["passes"]) > 10

                # The learnings search works without JavaScript: a plain form GET.
                nojs = await browser.new_context(java_script_enabled=False)
                plain = await nojs.new_page()
                await plain.goto(f"{service.url}/")
                await plain.fill("#q", "estate plan")
                await plain.click("button:has-text('Search learnings')")
                await plain.wait_for_url("**q=estate+plan**")
                assert "Check the estate plan before starting" in await plain.locator("#learnings-results").inner_text()
                assert (await plain.locator('[data-figure="ideas_raised"]').inner_text()).strip() == "5"
                await nojs.close()
            finally:
                await browser.close()
    finally:
        service.stop()
