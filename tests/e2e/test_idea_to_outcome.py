"""From idea to outcome, driven as people drive it: an idea is submitted, shortlisted and
backed through the ideas service's HTTP API; the experiment appears in the experiments
service, is planned, started, measured and completed over HTTP; and the outcome is published
on the department's outcomes topic with the correlation id of the backing."""

import uuid
from datetime import date, timedelta

from services.experiments.domain import experiment_id_for
from services.ideas.config import IdeasSettings
from services.ideas.main import build as build_ideas
from shared.events import decode
from shared.events.topics import topic_name
from tests.integration.experiments.support import FakeClock, running_experiments
from tests.support.kafka import read_to_end
from tests.support.services import serving
from tests.support.waiting import eventually


def running_ideas(kafka_bootstrap, dsn, department):
    app = build_ideas(IdeasSettings(department=department, database_url=dsn, kafka_bootstrap_servers=kafka_bootstrap))
    return serving(app, dsn, department, "http://ideas")


async def test_a_backed_idea_becomes_an_experiment_whose_outcome_carries_the_ideas_correlation(
    kafka_bootstrap, new_database, department,
):
    today = date.today()
    ideas_dsn, experiments_dsn = await new_database("ideas"), await new_database("experiments")
    async with running_ideas(kafka_bootstrap, ideas_dsn, department) as ideas, \
            running_experiments(kafka_bootstrap, experiments_dsn, department, clock=FakeClock(today)) as experiments:
        as_contributor = ideas.headers("contributor", "alice")
        as_reviewer = ideas.headers("reviewer", "panel-chair")
        submitted = await ideas.client.post("/v1/ideas", headers=as_contributor, json={
            "title": "Call people back", "problem": "Repeat calls clog the lines.",
            "proposal": "Offer a call-back slot.", "themes": ["customer-service"]})
        assert submitted.status_code == 201, submitted.text
        idea_id = submitted.json()["idea_id"]
        assert (await ideas.client.post(f"/v1/ideas/{idea_id}/shortlist", headers=as_reviewer)).status_code == 200
        backing = await ideas.client.post(f"/v1/ideas/{idea_id}/back",
                                          headers={**as_reviewer, "X-Correlation-Id": "back-1"},
                                          json={"budget_gbp": 8000.0, "staff_days": 20.0, "timebox_weeks": 6})
        assert backing.status_code == 200, backing.text

        experiment_id = str(experiment_id_for(department, uuid.UUID(idea_id)))
        base = f"/v1/experiments/{experiment_id}"
        h = experiments.headers("contributor")
        appeared = await eventually(lambda: _found(experiments.client, base, h), what="the experiment appeared")
        assert (appeared["idea_id"], appeared["status"], appeared["budget_gbp"], appeared["timebox_weeks"]) == (
            idea_id, "planning", 8000.0, 6)
        planned = await experiments.client.post(f"{base}/plan", headers=h, json={
            "hypothesis": "Call-backs halve repeat calls",
            "measure": {"name": "Repeat calls", "unit": "calls/week", "baseline": 400, "target": 200,
                        "direction": "decrease"},
            "starts_on": today.isoformat(), "ends_on": (today + timedelta(weeks=6)).isoformat(), "squad_size": 3})
        assert planned.status_code == 200, planned.text
        assert (await experiments.client.post(f"{base}/start", headers=h)).status_code == 200
        measured = await experiments.client.post(f"{base}/measurements", headers=h,
                                                 json={"measured_on": today.isoformat(), "value": 310})
        assert measured.status_code == 200
        completed = await experiments.client.post(f"{base}/complete", headers=h, json={
            "result": "succeeded", "summary": "Repeat calls fell by a quarter.",
            "learnings": ["People like choosing the time"], "benefits": {"hours_saved_per_year": 1500},
            "recommendation": "adopt_elsewhere"})
        assert completed.status_code == 200, completed.text

        ideas_topic, outcomes_topic = topic_name(department, "ideas"), topic_name(department, "outcomes")
        backed = [e for e in await _events(kafka_bootstrap, ideas_topic) if e.type.endswith("idea.backed.v1")]
        outcomes = await eventually(lambda: _events(kafka_bootstrap, outcomes_topic), what="outcome.recorded")
    assert len(backed) == 1 and backed[0].correlationid == "back-1"
    assert [e.type for e in outcomes] == ["uk.gov.innovation.outcome.recorded.v1"]
    outcome = outcomes[0]
    assert outcome.correlationid == backed[0].correlationid
    assert (str(outcome.data.idea_id), str(outcome.data.experiment_id)) == (idea_id, experiment_id)
    assert outcome.data.learnings == ("People like choosing the time",)


async def _found(client, path, headers):
    answer = await client.get(path, headers=headers)
    return answer.json() if answer.status_code == 200 else None


async def _events(kafka_bootstrap, topic):
    return [decode(r.value, r.headers, topic=topic) for r in await read_to_end(kafka_bootstrap, topic)]
