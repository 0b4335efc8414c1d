"""The outcomes library (GET /v1/outcomes): every department's recorded outcomes with their learnings, benefits
and adoptions, filtered, searched and paged, and never a summary or a name."""

from __future__ import annotations

import uuid

from shared.events import OutcomeRecorded
from tests.integration.reporting.conftest import new_department, publish, running, settings_for, wait_applied
from tests.integration.reporting.scenario import department_events


async def test_outcomes_are_listed_with_learnings_benefits_and_adoptions_filtered_searched_and_paged(
    kafka_bootstrap, new_database, department, topics_for,
):
    origin, adopting = department, new_department()
    dsn = await new_database("reporting")
    await topics_for(origin, adopting)
    origin_events, outcome_a = department_events(origin)
    adopting_events, _ = department_events(adopting, adopt_from=(origin, outcome_a))
    outcomes = {(e.department, e.data.outcome_id): e.data for e in origin_events + adopting_events
                if isinstance(e.data, OutcomeRecorded)}
    async with running(settings_for(dsn, kafka_bootstrap, [origin, adopting])) as service:
        await publish(kafka_bootstrap, origin_events + adopting_events)
        await wait_applied(dsn, len(origin_events) + len(adopting_events))

        every = await service.get("/v1/outcomes")
        assert every["next_cursor"] is None
        assert {(o["department"], o["outcome_id"]) for o in every["items"]} == {(d, str(i)) for d, i in outcomes}
        for item in every["items"]:
            recorded = outcomes[(item["department"], uuid.UUID(item["outcome_id"]))]
            assert item["learnings"] == list(recorded.learnings)
            assert (item["result"], item["recommendation"], item["idea_id"]) == (
                recorded.result, recorded.recommendation, str(recorded.idea_id))
            assert "summary" not in item
        [a] = [o for o in every["items"] if o["outcome_id"] == str(outcome_a)]
        assert a["title"] == "Fewer paper forms for claimants" and a["themes"] == ["ai", "customer-service"]
        assert a["benefits"] == {"cash_savings_gbp_per_year": 12000.0, "hours_saved_per_year": 300.0,
                                 "people_affected": 150}
        assert [d["department"] for d in a["adopted_by"]] == [adopting]
        assert all(o["adopted_by"] == [] for o in every["items"] if o is not a)
        assert await service.get(f"/v1/outcomes/{origin}/{outcome_a}") == a
        text = (await service.client.get("/v1/outcomes")).text
        assert "Carol" not in text and "Bob" not in text  # free text that names people stays in the department

        async def listed(**params) -> set[tuple[str, str]]:
            return {(o["department"], o["result"]) for o in (await service.get("/v1/outcomes", **params))["items"]}

        assert await listed(department=adopting) == {(adopting, "succeeded"), (adopting, "failed")}
        assert await listed(idea_id=a["idea_id"]) == {(origin, "succeeded")}
        assert await listed(theme="customer-service") == {(origin, "succeeded"), (adopting, "succeeded")}
        assert await listed(result="failed") == {(origin, "failed"), (adopting, "failed")}
        assert await listed(recommendation="adopt_elsewhere", department=origin) == {(origin, "succeeded")}
        assert await listed(q="estate plan") == {(origin, "failed"), (adopting, "failed")}  # in a learning
        assert await listed(q="paper forms") == {(origin, "succeeded"), (adopting, "succeeded")}  # in the title
        assert await listed(q="depots -solar") == set()
        assert await listed(q="unheard-of-word") == set()

        seen, cursor = [], None
        while True:
            page = await service.get("/v1/outcomes", limit=1, **({"cursor": cursor} if cursor else {}))
            seen += [o["outcome_id"] for o in page["items"]]
            if not (cursor := page["next_cursor"]):
                break
        assert seen == [o["outcome_id"] for o in every["items"]]  # the same order, newest first, each once

        for params, field in (({"cursor": "not-ours"}, "cursor"), ({"result": "won"}, "result"),
                              ({"theme": "Not A Slug"}, "theme"), ({"limit": 0}, "limit"), ({"idea_id": "x"}, "idea_id")):
            refused = await service.client.get("/v1/outcomes", params=params)
            assert refused.status_code == 422 and field in refused.text, (params, refused.text)
        missing = await service.client.get(f"/v1/outcomes/{origin}/{uuid.UUID(int=0)}")
        assert missing.status_code == 404 and missing.json()["detail"][0]["field"] == "outcome_id"

        similar = (await service.get("/v1/ideas/similar", q="Fewer paper forms"))["ideas"]
        assert {(i["department"], i["outcome_id"]) for i in similar} >= {(origin, str(outcome_a))}
        printer = (await service.get("/v1/ideas/similar", q="Shared printer rota"))["ideas"]
        assert printer and all(i["outcome_id"] is None for i in printer if i["title"] == "Shared printer rota")
