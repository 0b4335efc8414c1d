"""The squad's pages: the experiment of an idea backed through the API is planned (dates outside the time box
refused on the page), started, measured twice (the chart and the table show both), rescheduled with a reason and
completed with its outcome through the portal, each step checked through the experiments API; a contributor cannot
abandon (the page says why), a reviewer can; the department's list flags an overdue experiment; bad numbers and
dates are named inline; a form without its CSRF token changes nothing."""

import base64
import json
import re
import uuid
from datetime import date, datetime, timedelta, timezone

import pytest

from shared.events.experiments import experiment_id_for
from shared.events.pseudonym import pseudonymise
from tests.integration.portal.conftest import SECRET, browser, csrf_of, sign_in, start_portal, unique_title
from tests.integration.portal.test_find_and_follow import Api
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration


def today() -> date:
    return datetime.now(timezone.utc).date()


def date_fields(name: str, day: date) -> dict[str, str]:
    return {f"{name}-day": str(day.day), f"{name}-month": str(day.month), f"{name}-year": str(day.year)}


def error_summary(page) -> list[tuple[str, str]]:
    """The error summary's (link target, message) pairs."""
    summary = re.search(r'<div class="govuk-error-summary".*?</ul>', page.text, re.S)
    assert summary, f"no error summary on {page.url} ({page.status_code})"
    return re.findall(r'<li><a href="#([^"]+)">([^<]+)</a></li>', summary.group())


def inline_error(page, name: str) -> str:
    found = re.search(rf'<p id="{name}-error" class="govuk-error-message"><span class="govuk-visually-hidden">Error:'
                      rf'</span> ([^<]+)</p>', page.text)
    assert found, f"no inline error for {name}"
    return found.group(1)


async def subject_of(keycloak, department: str, role: str) -> str:
    token = await keycloak.token(department, role)
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["sub"]


async def back_an_idea(api: Api, budget: float = 5000, staff_days: float = 12.5, weeks: int = 6) -> dict:
    """An idea raised by contributor2 and backed by the reviewer through the ideas API."""
    idea = await api.submit("contributor2", title=unique_title("Ring back"))
    await api.call("reviewer", "POST", f"/v1/ideas/{idea['idea_id']}/shortlist")
    await api.call("reviewer", "POST", f"/v1/ideas/{idea['idea_id']}/back",
                   {"budget_gbp": budget, "staff_days": staff_days, "timebox_weeks": weeks})
    return idea


def plan(**fields: str) -> dict[str, str]:
    starts = today()
    return {"hypothesis": "<script>alert(1)</script> Ringing back at a set time cuts repeat calls",
            "measure_name": "Repeat calls", "measure_unit": "calls a day", "baseline": "120", "target": "90",
            "direction": "decrease", **date_fields("starts_on", starts), **date_fields("ends_on", starts + timedelta(weeks=4)),
            "squad_size": "3", "budget_gbp": "£4,000", "staff_days": "10", **fields}


async def test_a_squad_plans_starts_measures_reschedules_and_completes_an_experiment_through_its_pages(
        tmp_path, kafka_bootstrap, new_database, department, realm, keycloak):
    async for portal in start_portal(tmp_path, kafka_bootstrap, new_database, department, realm,
                                     services=("experiments",)):
        api = Api(portal, keycloak)
        experiments = portal.others["experiments"].url
        idea = await back_an_idea(api)
        experiment_id = str(experiment_id_for(department, idea["idea_id"]))
        url = f"{portal.url}/experiments/{experiment_id}"

        async def through_api() -> dict:
            return await api.call("contributor", "GET", f"/v1/experiments/{experiment_id}", base=experiments)

        async with browser() as client:
            await sign_in(client, portal, "contributor")

            async def opened():
                shown = await client.get(url)
                return shown if shown.status_code == 200 else None

            shown = await eventually(opened, what="the backed idea's experiment")
            assert idea["title"] in shown.text and 'id="plan-link"' in shown.text
            assert 'id="start-link"' not in shown.text and 'id="chart"' not in shown.text  # nothing planned yet
            listed = await client.get(f"{portal.url}/experiments")
            row = re.search(rf'<tr class="govuk-table__row" id="experiment-{experiment_id}">.*?</tr>', listed.text, re.S)
            assert row and idea["title"] in row.group() and "Planning" in row.group() and "Overdue" not in row.group()

            # Planning: the page refuses what is wrong, by field; nothing reaches the API.
            form_page = await client.get(f"{url}/plan")
            assert form_page.status_code == 200 and 'id="ends_on-day"' in form_page.text
            csrf = csrf_of(form_page)
            no_token = await client.post(f"{url}/plan", data=plan())
            assert no_token.status_code == 403
            outside = await client.post(f"{url}/plan", data={**plan(), "csrf_token": csrf,
                                                             **date_fields("ends_on", today() + timedelta(weeks=6, days=1))})
            assert outside.status_code == 400
            latest = (today() + timedelta(weeks=6)).strftime("%-d %B %Y")
            message = f"End date must be within the backed time box of 6 weeks: {latest} or earlier"
            assert error_summary(outside) == [("ends_on-day", message)] and inline_error(outside, "ends_on") == message
            assert 'value="Repeat calls"' in outside.text  # what was typed stays
            wrong = await client.post(f"{url}/plan", data={**plan(baseline="lots", squad_size="3.5", staff_days="-2",
                                                                  **{"starts_on-day": "31", "starts_on-month": "2"}),
                                                           "csrf_token": csrf})
            assert wrong.status_code == 400
            assert dict(error_summary(wrong)) == {
                "baseline": "Baseline must be a number, like 120 or 7.5",
                "starts_on-day": "Start date must be a real date, like 27 3 2026",
                "squad_size": "Squad size must be a whole number from 1 to 50, like 4",
                "staff_days": "Staff days must be a number from 0 to 1,000,000, like 12 or 7.5"}
            assert inline_error(wrong, "squad_size") == "Squad size must be a whole number from 1 to 50, like 4"
            # What only the API knows (the backing's budget) comes back from its 422, on the field.
            over = await client.post(f"{url}/plan", data={**plan(budget_gbp="6000"), "csrf_token": csrf})
            assert over.status_code == 400 and error_summary(over)[0][0] == "budget_gbp"
            assert "5000 the backing gave" in inline_error(over, "budget_gbp")
            huge = await client.post(f"{url}/plan", data={**plan(hypothesis="x" * 40_000), "csrf_token": csrf})
            assert huge.status_code == 413 and "too long" in huge.text  # over the form size limit: refused whole
            assert (await through_api())["hypothesis"] is None

            planned = await client.post(f"{url}/plan", data={**plan(), "csrf_token": csrf})
            assert planned.status_code == 200 and "The plan has been saved" in planned.text
            assert "&lt;script&gt;alert(1)&lt;/script&gt;" in planned.text and "<script>alert(1)" not in planned.text
            experiment = await through_api()
            assert experiment["hypothesis"].endswith("cuts repeat calls") and experiment["squad_size"] == 3
            assert experiment["measure"] == {"name": "Repeat calls", "unit": "calls a day", "baseline": 120.0,
                                             "target": 90.0, "direction": "decrease"}
            assert (experiment["starts_on"], experiment["ends_on"]) == (today().isoformat(),
                                                                        (today() + timedelta(weeks=4)).isoformat())
            assert (experiment["budget_gbp"], experiment["staff_days"]) == (4000.0, 10.0)
            me = pseudonymise(SECRET, await subject_of(keycloak, department, "contributor"))
            if "squad_lead" in experiment:  # who acted, where the experiments API says
                assert experiment["squad_lead"] == me
                history = re.search(r'<ol class="govuk-list portal-timeline" id="history">.*?</ol>', planned.text, re.S)
                assert history and "Planned" in history.group() and "You" in history.group()
                assert me not in planned.text  # never the pseudonym itself
            assert 'id="chart"' in planned.text and 'id="start-link"' in planned.text
            assert "No measurements have been recorded yet." in planned.text

            # Starting: once; a second start is a problem page naming the state.
            start_page = await client.get(f"{url}/start")
            started = await client.post(f"{url}/start", data={"csrf_token": csrf_of(start_page)})
            assert started.status_code == 200 and "The experiment has started" in started.text
            assert (await through_api())["status"] == "running"
            again = await client.post(f"{url}/start", data={"csrf_token": csrf}, follow_redirects=False)
            assert again.status_code == 409 and "This experiment is running now, so it cannot be started" in again.text
            assert 'id="back-to-experiment"' in again.text

            # Measuring: bad dates and numbers named inline; two measurements in the chart and the table.
            measure_page = await client.get(f"{url}/measurements")
            assert measure_page.status_code == 200
            bad = await client.post(f"{url}/measurements", data={
                "csrf_token": csrf, **date_fields("measured_on", today() + timedelta(days=1)), "value": "12O", "note": ""})
            assert bad.status_code == 400 and dict(error_summary(bad)) == {
                "measured_on-day": "Date of the measurement must be today or in the past",
                "value": "Value must be a number, like 95 or 3.25"}
            for value, note in (("110", "After the first week"), ("1,00.5", "")):
                answer = await client.post(f"{url}/measurements", data={
                    "csrf_token": csrf, **date_fields("measured_on", today()), "value": value, "note": note})
                assert answer.status_code == 200 and "The measurement has been recorded" in answer.text
            experiment = await through_api()
            assert [(m["value"], m["note"]) for m in experiment["measurements"]] == [
                (110.0, "After the first week"), (100.5, None)]
            chart = re.search(r'<svg id="chart".*?</svg>', answer.text, re.S).group()
            assert 'role="img"' in chart and "2 measurements from" in chart
            assert len(re.findall(r"<circle ", chart)) == 2 and 'id="chart-line"' in chart
            assert "Baseline 120 calls a day" in chart and "Target 90 calls a day" in chart
            assert "style=" not in chart  # the CSP forbids inline styles
            table = re.search(r'<table class="govuk-table" id="measurements">.*?</table>', answer.text, re.S).group()
            assert re.findall(r'govuk-table__cell--numeric">([^<]+)<', table) == ["110 calls a day", "100.5 calls a day"]
            assert "After the first week" in table

            # Rescheduling with a reason (beyond the time box is allowed, with one).
            no_reason = await client.post(f"{url}/reschedule", data={
                "csrf_token": csrf, **date_fields("ends_on", today() + timedelta(weeks=8)), "reason": "  "})
            assert no_reason.status_code == 400 and error_summary(no_reason) == [
                ("reason", "Enter why the experiment is being rescheduled")]
            moved = await client.post(f"{url}/reschedule", data={
                "csrf_token": csrf, **date_fields("ends_on", today() + timedelta(weeks=8)),
                "reason": "Half the squad is on leave over the holidays"})
            assert moved.status_code == 200 and "The experiment has been rescheduled" in moved.text
            experiment = await through_api()
            assert experiment["ends_on"] == (today() + timedelta(weeks=8)).isoformat()

            # A contributor cannot abandon: the page says so, the form is refused, and the API agrees.
            assert "Only a reviewer or an admin can abandon an experiment." in moved.text
            assert 'id="abandon-link"' not in moved.text
            refused = await client.get(f"{url}/abandon")
            assert refused.status_code == 403 and "Only reviewers and admins can abandon an experiment" in refused.text
            forced = await client.post(f"{url}/abandon", data={"csrf_token": csrf, "reason": "Bored"})
            assert forced.status_code == 403 and "Only reviewers and admins can abandon an experiment" in forced.text
            assert (await through_api())["status"] == "running"

            # Completing with the outcome.
            complete_page = await client.get(f"{url}/complete")
            assert 'id="result-succeeded"' in complete_page.text
            assert "published as open data. Do not name people" in complete_page.text
            incomplete = await client.post(f"{url}/complete", data={
                "csrf_token": csrf, "summary": "Repeat calls fell.", "learnings": "\r\n", "people_affected": "many"})
            assert incomplete.status_code == 400 and [a for a, _ in error_summary(incomplete)] == [
                "result-succeeded", "learnings", "people_affected", "recommendation-scale"]
            done = await client.post(f"{url}/complete", data={
                "csrf_token": csrf, "result": "succeeded", "summary": "Repeat calls fell by a sixth.",
                "learnings": "Set times work\r\n- People like a text first\r\n",
                "cash_savings_gbp_per_year": "£12,000", "hours_saved_per_year": "400", "people_affected": "2,500",
                "recommendation": "adopt_elsewhere"})
            assert done.status_code == 200 and "The experiment is complete and its outcome recorded" in done.text
            experiment = await through_api()
            assert experiment["status"] == "completed"
            outcome = experiment["outcome"]
            assert (outcome["result"], outcome["recommendation"]) == ("succeeded", "adopt_elsewhere")
            assert outcome["learnings"] == ["Set times work", "People like a text first"]
            assert outcome["benefits"] == {"cash_savings_gbp_per_year": 12000.0, "hours_saved_per_year": 400.0,
                                           "people_affected": 2500}
            assert 'id="outcome"' in done.text and "People like a text first" in done.text
            assert 'id="actions"' not in done.text  # nothing more to do
            twice = await client.post(f"{url}/complete", data={
                "csrf_token": csrf, "result": "failed", "summary": "Again.", "learnings": "Again",
                "recommendation": "stop"})
            assert twice.status_code == 409 and "This experiment is completed now, so it cannot be completed" in twice.text
            assert (await through_api())["outcome"]["result"] == "succeeded"  # the second changed nothing
            closed = await client.get(f"{url}/measurements")
            assert closed.status_code == 409 and "This experiment is completed, so it cannot be measured now" in closed.text

            missing = await client.get(f"{portal.url}/experiments/{uuid.uuid4()}")
            assert missing.status_code == 404 and "There is no such experiment" in missing.text
            assert (await client.get(f"{portal.url}/experiments/not-an-id")).status_code == 404


async def test_the_list_flags_an_overdue_experiment_and_a_reviewer_abandons_it(
        tmp_path, kafka_bootstrap, new_database, department, realm, keycloak, monkeypatch):
    # The time box check runs every half second here (60 s by default), as the experiments tests make it run.
    monkeypatch.setenv("EXPERIMENTS_OVERDUE_CHECK_SECONDS", "0.5")
    async for portal in start_portal(tmp_path, kafka_bootstrap, new_database, department, realm,
                                     services=("experiments",)):
        api = Api(portal, keycloak)
        experiments = portal.others["experiments"].url
        late_idea, on_time_idea = await back_an_idea(api), await back_an_idea(api)
        late, on_time = (str(experiment_id_for(department, i["idea_id"])) for i in (late_idea, on_time_idea))

        async def both_open() -> bool:
            found = await api.call("viewer", "GET", "/v1/experiments?status=planning&limit=200", base=experiments)
            return {late, on_time} <= {e["experiment_id"] for e in found["items"]}

        await eventually(both_open, what="both backed ideas' experiments")
        # Planned to have ended ten days ago: the time box has passed with no outcome.
        await api.call("contributor", "POST", f"/v1/experiments/{late}/plan", {
            "hypothesis": "Late", "measure": {"name": "Calls", "unit": "calls", "baseline": 10, "target": 5,
                                              "direction": "decrease"},
            "starts_on": (today() - timedelta(days=30)).isoformat(), "ends_on": (today() - timedelta(days=10)).isoformat(),
            "squad_size": 2}, base=experiments)

        async def overdue() -> bool:
            return (await api.call("viewer", "GET", f"/v1/experiments/{late}", base=experiments))["overdue"]

        await eventually(overdue, what="experiment.overdue from the time box check")
        async with browser() as client:
            await sign_in(client, portal, "reviewer")
            listed = await client.get(f"{portal.url}/experiments", params={"status": "planning"})

            def row(page, experiment_id: str) -> str:
                found = re.search(rf'id="experiment-{experiment_id}">.*?</tr>', page.text, re.S)
                assert found, f"{experiment_id} not listed"
                return found.group()

            assert "Overdue" in row(listed, late) and late_idea["title"] in row(listed, late)
            assert "Overdue" not in row(listed, on_time)
            shown = await client.get(f"{portal.url}/experiments/{late}")
            assert 'id="overdue"' in shown.text and 'id="abandon-link"' in shown.text

            wrong = await client.get(f"{portal.url}/experiments", params={"status": "lost"})
            assert wrong.status_code == 400 and error_summary(wrong) == [("status", "Choose a status from the list")]
            not_a_page = await client.get(f"{portal.url}/experiments", params={"cursor": "nonsense"})
            assert not_a_page.status_code == 400 and "start again from the first page" in not_a_page.text

            abandon_page = await client.get(f"{portal.url}/experiments/{late}/abandon")
            assert abandon_page.status_code == 200
            empty = await client.post(f"{portal.url}/experiments/{late}/abandon",
                                      data={"csrf_token": csrf_of(abandon_page), "reason": ""})
            assert empty.status_code == 400 and error_summary(empty) == [
                ("reason", "Enter why the experiment is being abandoned")]
            abandoned = await client.post(f"{portal.url}/experiments/{late}/abandon",
                                          data={"csrf_token": csrf_of(abandon_page), "reason": "The team moved on"})
            assert abandoned.status_code == 200 and "The experiment has been abandoned" in abandoned.text
            experiment = await api.call("viewer", "GET", f"/v1/experiments/{late}", base=experiments)
            assert (experiment["status"], experiment["abandon_reason"]) == ("abandoned", "The team moved on")
            after = await client.get(f"{portal.url}/experiments")
            assert "Overdue" not in row(after, late) and "Abandoned" in row(after, late)

        async with browser() as viewer:  # reads everything, changes nothing, and is told so
            await sign_in(viewer, portal, "viewer")
            shown = await viewer.get(f"{portal.url}/experiments/{on_time}")
            assert shown.status_code == 200 and 'id="actions"' not in shown.text
            refused = await viewer.get(f"{portal.url}/experiments/{on_time}/plan")
            assert refused.status_code == 403 and "Viewers can read experiments but not change them" in refused.text
