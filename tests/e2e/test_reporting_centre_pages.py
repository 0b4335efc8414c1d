"""The centre's sections (issue 18) in a real headless browser: the dashboard and a department's page of a real
reporting process fed the hand-worked three-department scenario (centre_scenario.py) through the broker.

Each new section is there, each chart has its table holding its numbers, every figure shown equals the API's
and the hand-computed one, a department's page shows its figures beside the government's, axe-core finds no
serious or critical violation, a page without JavaScript shows the same figures, and the live refresh updates
both pages when new events arrive. One browser launch for all of it."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import httpx
from playwright.async_api import async_playwright

from tests.integration.reporting.centre_scenario import CentreScenario
from tests.integration.reporting.conftest import new_department, pattern_for, publish, wait_applied
from tests.integration.reporting.scenario import submitted_event
from tests.support.kafka import create_topics
from tests.support.processes import reporting_process

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
AXE = Path(__file__).resolve().parents[2] / "services/reporting/frontend/node_modules/axe-core/axe.min.js"
AXE_TAGS = "['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa']"
OGL = "https://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/"
SECTIONS = {"resources": "Resources", "return": "Return (claimed)", "judgement": "Judgement",
            "front-line": "Front line", "open-data": "Open data"}


# How the pages show numbers, stated here on its own: money as £ with thousands separators, ratios and mean
# scores with 2 decimals, staff days, weeks and days with 1, a share as a percentage, counts whole; none as "–".
def shown(key: str, value: Any) -> str:
    last = key.rsplit(".", 1)[-1]
    if value is None:
        return "–"
    if last in ("budget_gbp", "cash_savings_gbp_per_year", "return_budget_gbp"):
        return f"£{value:,.0f}"
    if last == "share_from_conversations":
        return f"{100 * value:,.1f}%"
    if last in ("staff_days", "return_staff_days", "mean_timebox_weeks") or last.startswith("median_days"):
        return f"{value:,.1f}"
    if (last in ("cash_savings_per_gbp", "hours_saved_per_staff_day", "learnings_per_experiment")
            or ".learnings_per_experiment." in key
            or (key.startswith(("judgement.backed.", "judgement.declined.")) and last != "ideas_reviewed")):
        return f"{value:,.2f}"
    return f"{value:,.0f}"


def flat(prefix: str, value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return {k: v for key, inner in value.items()
                for k, v in flat(f"{prefix}.{key}" if prefix else key, inner).items()}
    return {prefix: value}


NEW = ("resources", "return_claimed", "judgement", "front_line")
BY_DEPARTMENT = {f"return_claimed.{k}" for k in (  # the dashboard's return claimed by department
    "budget_gbp", "staff_days", "cash_savings_gbp_per_year", "hours_saved_per_year", "cash_savings_per_gbp",
    "hours_saved_per_staff_day", "learnings_per_experiment.all")}

# Every figure cell of a page: (data-figure, data-scope) -> its text.
FIGURES_JS = """() => Object.fromEntries([...document.querySelectorAll('[data-figure][data-scope]')]
    .map(e => [e.dataset.figure + '|' + e.dataset.scope, e.textContent.trim()]))"""
# Every chart: its title, what comes right after the SVG, the bars' texts, and the cells of that table.
CHARTS_JS = """() => [...document.querySelectorAll('svg[role="img"]')].map(svg => {
    const next = svg.nextElementSibling;
    return {title: svg.querySelector(':scope > title')?.textContent.trim() ?? '',
            labelled: document.getElementById(svg.getAttribute('aria-labelledby'))
                      === svg.querySelector(':scope > title'),
            next: next ? next.tagName + '.' + next.className : null,
            bars: [...svg.querySelectorAll('rect > title')].map(t => t.textContent.trim()),
            cells: next ? [...next.querySelectorAll('th, td')].map(c => c.textContent.trim()) : []};
})"""
# A table's body rows as lists of cell texts (the row header first).
ROWS_JS = """(selector) => [...document.querySelector(selector).querySelectorAll('tbody tr')]
    .map(tr => [...tr.querySelectorAll('th, td')].map(c => c.textContent.trim()))"""


def row(first: str, item: dict, *keys: str) -> list[str]:
    return [first, *(shown(k, item[k]) for k in keys)]


async def test_centre_sections_in_a_browser(kafka_bootstrap, new_database, tmp_path):
    a, b, c = new_department(), new_department(), new_department()
    scenario = CentreScenario(a, b, c)
    dsn = await new_database("reporting")
    await create_topics(kafka_bootstrap, *(f"innovation.{d}.{s}.v1" for d in (a, b, c)
                                           for s in ("ideas", "experiments", "outcomes")))
    service = reporting_process(dsn=dsn, bootstrap=kafka_bootstrap, pattern=pattern_for(a, b, c),
                                group_id=f"reporting-centre-{uuid.uuid4().hex[:8]}", log=tmp_path / "service.log",
                                DASHBOARD_REFRESH_SECONDS="2")
    try:
        await service.start()
        await publish(kafka_bootstrap, scenario.all_events)
        await wait_applied(dsn, len(scenario.all_events))
        async with httpx.AsyncClient(base_url=service.url) as client:
            api = {"all": (await client.get("/v1/summary")).json()}
            for d in (a, b, c):
                api[d] = (await client.get(f"/v1/departments/{d}")).json()
            for path in ("/departments/zz-never-seen", "/departments/Not_A_Code", "/departments/a"):
                missing = await client.get(path)
                assert missing.status_code == 404 and "Page not found" in missing.text, path

        # The API's figures are the hand-computed ones: the page is then compared with both at once.
        expected = {"all": scenario.expected_all(), **{d: scenario.expected(d) for d in (a, b, c)}}
        for scope, figures in expected.items():
            assert {k: flat(k, api[scope][k]) for k in NEW} == {k: flat(k, figures[k]) for k in NEW}, scope

        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
            try:
                home = await browser.new_page()
                assert (await home.goto(f"{service.url}/", wait_until="load")).status == 200
                department = await browser.new_page()
                assert (await department.goto(f"{service.url}/departments/{a}", wait_until="load")).status == 200

                for page, scopes in ((home, ("all", a, b, c)), (department, (a, "all"))):
                    # Every new section, with its heading, reached from the service navigation.
                    for anchor, heading in SECTIONS.items():
                        assert (await page.locator(f"h2#{anchor}").inner_text()).strip() == heading
                        assert await page.locator(f'.govuk-service-navigation a[href="#{anchor}"]').count() == 1
                    warning = await page.locator("section:has(> h2#return) .govuk-warning-text").inner_text()
                    assert "claimed by departments, not verified" in warning

                    # Each chart: an SVG image with its title, immediately followed by a table holding its numbers.
                    charts = await page.evaluate(CHARTS_JS)
                    assert len(charts) >= 5
                    for chart in charts:
                        assert chart["title"] and chart["labelled"], chart
                        assert chart["next"] == "TABLE.govuk-table", chart
                        assert chart["bars"], chart
                        for bar in chart["bars"]:
                            assert bar.rsplit(": ", 1)[1] in chart["cells"], (bar, chart["cells"])

                    # Every new scalar figure of each scope shown, as the API and the hand computation say.
                    on_page = await page.evaluate(FIGURES_JS)
                    for scope in scopes:
                        hand = {name: shown(name, value)
                                for key in NEW for name, value in flat(key, expected[scope][key]).items()}
                        if page is home and scope != "all":  # the dashboard shows departments' return, by department
                            hand = {name: text for name, text in hand.items() if name in BY_DEPARTMENT}
                        assert {name: on_page.get(f"{name}|{scope}") for name in hand} == hand, scope
                    # ... and every figure cell equals the API's value of its key.
                    for cell, text in on_page.items():
                        name, scope = cell.split("|")
                        source = api[scope]
                        for part in name.split("."):
                            source = source[part]
                        if name not in ("events", "last_event_at"):
                            assert text == shown(name, source), (cell, text, source)

                # The dashboard's breakdowns: all government's, as computed by hand.
                rows = await home.evaluate(ROWS_JS, "#resources-by-quarter table")
                assert rows == [row(q["quarter"], q, "ideas_backed", "budget_gbp", "staff_days")
                                for q in scenario.quarters()]
                rows = await home.evaluate(ROWS_JS, "#resources-by-theme")
                assert rows == [row(t["theme"], t, "ideas_backed", "budget_gbp", "staff_days")
                                for t in scenario.themes()]
                rows = await home.evaluate(ROWS_JS, "#return-by-theme")
                assert rows == [row(t["theme"], t, "outcomes", "return_budget_gbp", "return_staff_days",
                                    "cash_savings_gbp_per_year", "hours_saved_per_year", "cash_savings_per_gbp",
                                    "hours_saved_per_staff_day") for t in scenario.themes()]
                rows = await home.evaluate(ROWS_JS, "#people-by-month table")
                assert rows == [row(m["month"].strftime("%B %Y"), m, "people", "new_people", "conversations",
                                    "conversation_participants", "ideas_raised", "ideas_from_conversations")
                                for m in scenario.months()]
                assert rows[0][0] == "January 2026"
                rows = await home.evaluate(ROWS_JS, "#campaigns")
                assert rows == [row(k["campaign"], k, "ideas", "backed", "people", "endorsements", "departments")
                                for k in scenario.campaigns()]
                assert [r[0] for r in await home.evaluate(ROWS_JS, "#return-by-department")] == [
                    *sorted((a, b, c)), "All of government"]

                # A department's page: its quarters, each with the government's figure of the same quarter beside.
                government = {q["quarter"]: q for q in scenario.quarters()}
                rows = await department.evaluate(ROWS_JS, "#resources-by-quarter table")
                assert rows == [row(q["quarter"], q, "ideas_backed", "budget_gbp", "staff_days")
                                + row("", government[q["quarter"]], "ideas_backed", "budget_gbp", "staff_days")[1:]
                                for q in scenario.quarters(a)]
                rows = await department.evaluate(ROWS_JS, "#campaigns")
                assert rows == [row(k["campaign"], k, "ideas", "backed", "people", "endorsements", "departments")
                                for k in scenario.campaigns(a)]
                for scope in (a, "all"):
                    cell = department.locator(f'[data-figure="ideas_raised"][data-scope="{scope}"]')
                    assert await cell.inner_text() == str(api[scope]["ideas_raised"])

                # Open data: the datasets, their dictionary and the licence.
                for page in (home, department):
                    section = page.locator("section:has(> h2#open-data)")
                    links = await section.locator("a").evaluate_all("as => as.map(a => a.getAttribute('href'))")
                    assert {"/v1/open-data/outcomes.csv", "/v1/open-data/outcomes.json",
                            "/v1/open-data/outcomes-dictionary.csv", "/v1/open-data", OGL} <= set(links)
                    assert "Open Government Licence v3.0" in await section.inner_text()
                    async with httpx.AsyncClient(base_url=service.url) as client:
                        for href in set(links) - {OGL}:  # each of ours answers
                            assert (await client.get(href)).status_code == 200, href

                # axe-core: no serious or critical violation on either page.
                for page in (home, department):
                    await page.add_script_tag(path=str(AXE))
                    result = await page.evaluate(f"axe.run(document, {{runOnly: {{type: 'tag', values: {AXE_TAGS}}}}})")
                    serious = [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
                               for v in result["violations"] if v["impact"] in ("serious", "critical")]
                    assert serious == [], page.url
                    assert len(result["passes"]) > 10

                # Without JavaScript: the same figures, server-rendered.
                nojs = await browser.new_context(java_script_enabled=False)
                try:
                    plain = await nojs.new_page()
                    for page in (home, department):
                        await plain.goto(page.url)
                        assert await plain.evaluate(FIGURES_JS) == await page.evaluate(FIGURES_JS)
                        assert len(await plain.evaluate(CHARTS_JS)) == len(await page.evaluate(CHARTS_JS))
                    # The dashboard's departments table leads to each department's page.
                    await plain.goto(f"{service.url}/")
                    await plain.click(f'#departments-table a[href="/departments/{b}"]')
                    await plain.wait_for_url(f"**/departments/{b}")
                    assert (await plain.locator("h1").inner_text()).strip() == f"Innovation in {b}"
                finally:
                    await nojs.close()

                # The live refresh keeps both pages current: one more idea in department A shows up on each.
                await publish(kafka_bootstrap, [submitted_event(a, "One more idea")])
                for page, scope in ((home, "all"), (department, a), (department, "all")):
                    await page.wait_for_function(
                        "([scope, n]) => document.querySelector(`[data-figure='ideas_raised'][data-scope='${scope}']`)"
                        "?.textContent.trim() === n",
                        arg=[scope, str(api[scope]["ideas_raised"] + 1)], timeout=60_000)
            finally:
                await browser.close()
    finally:
        service.stop()
