"""A departmental system's idea, end to end: kcat (a client that is not ours) emits `idea.submitted`
onto dwp-like department's intake; the ideas service serves it with its source; a reviewer
shortlists and backs it through the HTTP API; the experiment appears in the experiments service;
and central reporting counts the idea once, under the original event's id and source."""

import uuid

import asyncpg

from services.experiments.domain import experiment_id_for
from services.reporting.main import build as build_reporting
from shared.events import IdeaSubmitted, encode, new_event
from shared.events.pseudonym import pseudonymise
from shared.events.topics import intake_topic, topic_name
from tests.integration.experiments.support import running_experiments
from tests.integration.ideas.conftest import SECRET, running, settings_for
from tests.integration.reporting.conftest import settings_for as reporting_settings
from tests.support import kcat
from tests.support.kafka import create_topics
from tests.support.services import serving
from tests.support.waiting import eventually

TOOL = "/departments/{department}/systems/team-conversations"


async def test_an_intake_idea_is_backed_becomes_an_experiment_and_is_counted_once_centrally(
        kafka_bootstrap, new_database, department):
    await create_topics(kafka_bootstrap, *(topic_name(department, s) for s in ("ideas", "experiments", "outcomes")),
                        intake_topic(department, "ideas"))
    ideas_dsn, experiments_dsn, reporting_dsn = (await new_database("ideas"), await new_database("experiments"),
                                                 await new_database("reporting"))
    data = IdeaSubmitted.model_validate({
        "idea_id": uuid.uuid4(), "title": "Book rooms in one place",
        "problem": "Three systems.", "proposal": "One calendar.", "submitted_by": pseudonymise(SECRET, "alice"),
    })
    submitted = new_event(data, department=department, service="tool", source=TOOL.format(department=department))
    _, key, value, headers = encode(submitted)
    reporting = build_reporting(reporting_settings(reporting_dsn, kafka_bootstrap, [department]))

    async with running(settings_for(ideas_dsn, department, kafka_bootstrap)) as ideas, \
            running_experiments(kafka_bootstrap, experiments_dsn, department) as experiments, \
            serving(reporting, reporting_dsn, department, "http://reporting"):
        kcat.produce(kafka_bootstrap, intake_topic(department, "ideas"), partition=-1, key=key, value=value,
                     headers=headers)
        path = f"/v1/ideas/{data.idea_id}"

        async def served():
            response = await ideas.client.get(path, headers=ideas.headers("viewer"))
            return response.json() if response.status_code == 200 else None

        idea = await eventually(served, what="the intake's idea served by the ideas API")
        assert idea["source"] == submitted.source and idea["status"] == "submitted"

        reviewer = ideas.headers("reviewer", "rita")
        assert (await ideas.client.post(f"{path}/shortlist", headers=reviewer)).status_code == 200
        backed = await ideas.client.post(f"{path}/back", headers=reviewer,
                                         json={"budget_gbp": 8000, "staff_days": 12, "timebox_weeks": 6})
        assert backed.status_code == 200, backed.text

        experiment_path = f"/v1/experiments/{experiment_id_for(department, data.idea_id)}"

        async def opened():
            response = await experiments.client.get(experiment_path, headers=experiments.headers("viewer"))
            return response.json() if response.status_code == 200 else None

        experiment = await eventually(opened, what="the experiment opened by the backing")
        assert experiment["idea_id"] == str(data.idea_id) and experiment["status"] == "planning"

        conn = await asyncpg.connect(reporting_dsn)
        try:
            async def counted():
                row = await conn.fetchrow("SELECT count(*) AS ideas, max(backed_at) AS backed FROM ideas"
                                          " WHERE department = $1", department)
                return row if row["backed"] is not None else None

            row = await eventually(counted, what="the idea counted centrally, backed")
            assert row["ideas"] == 1
            inbox = await conn.fetch("SELECT source, event_id FROM inbox WHERE event_id = $1", submitted.id)
            assert [(r["source"], r["event_id"]) for r in inbox] == [(submitted.source, submitted.id)]
        finally:
            await conn.close()
