"""Who acted, with people's access tokens from a real Keycloak (a realm per test department): the acting person is
the token's subject, so X-Person-Ref names nobody, and two people who plan and complete are told apart."""

import json
import uuid
from datetime import date, timedelta

import pytest

from services.experiments.domain import experiment_id_for
from shared.events.pseudonym import pseudonymise
from tests.integration.experiments.support import FakeClock, running_experiments
from tests.support.db import fetchval
from tests.support.events import backed
from tests.support.kafka import publish
from tests.support.waiting import eventually
from tests.support.keycloak import bearer, jwt_part

pytestmark = pytest.mark.integration

TODAY = date(2025, 3, 10)


@pytest.fixture
async def service(kafka_bootstrap, new_database, department, keycloak):
    realm = await keycloak.realm(department)
    dsn = await new_database("experiments")
    async with running_experiments(kafka_bootstrap, dsn, department, clock=FakeClock(TODAY),
                                   oidc_issuer=realm.issuer) as running:
        yield running


async def test_with_tokens_the_people_who_plan_and_complete_are_the_tokens_subjects(
    kafka_bootstrap, service, keycloak, department,
):
    token = {role: await keycloak.token(department, role) for role in ("contributor", "contributor2", "reviewer")}
    who = {role: pseudonymise(service.runtime.settings.pseudonym_secret, jwt_part(t)["sub"]) for role, t in token.items()}
    assert len(set(who.values())) == 3
    idea = uuid.uuid4()
    await publish(kafka_bootstrap, backed(department, idea))
    experiment_id = experiment_id_for(department, idea)
    await eventually(lambda: fetchval(service.dsn, "SELECT true FROM experiments WHERE experiment_id = $1",
                                      experiment_id), what="the experiment opened")
    base = f"/v1/experiments/{experiment_id}"
    plan = {"hypothesis": "Shorter letters get fewer calls",
            "measure": {"name": "Calls", "unit": "per week", "baseline": 100, "target": 80, "direction": "decrease"},
            "starts_on": TODAY.isoformat(), "ends_on": (TODAY + timedelta(weeks=3)).isoformat(), "squad_size": 2,
            "squad": [jwt_part(token["contributor2"])["sub"]]}
    # X-Person-Ref is not read with a token: the plan is the contributor's, whoever the header names
    planned = await service.client.post(f"{base}/plan", json=plan,
                                        headers=bearer(token["contributor"], **{"X-Person-Ref": "someone-else"}))
    assert planned.status_code == 200, planned.text
    assert planned.json()["squad_lead"] == who["contributor"] and planned.json()["squad"] == [who["contributor2"]]
    assert (await service.client.post(f"{base}/start", headers=bearer(token["contributor2"]))).status_code == 200
    completed = await service.client.post(f"{base}/complete", headers=bearer(token["reviewer"]), json={
        "result": "inconclusive", "summary": "Too few weeks to tell.", "learnings": ["Run it longer"],
        "recommendation": "iterate"})
    assert completed.status_code == 200, completed.text
    body = completed.json()
    assert [(s["step"], s["by"]) for s in body["history"]] == [
        ("planned", who["contributor"]), ("started", who["contributor2"]), ("completed", who["reviewer"])]
    assert body["outcome"]["recorded_by"] == who["reviewer"]
