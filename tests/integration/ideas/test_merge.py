"""Merging with lineage, on the real broker and database: the target must exist and be open, in this department
or (through central reporting, a real process of its own) in another; the target lists what was merged into it and
counts its endorsers; reporting keeps the lineage; reporting unreachable is a 503, never an unchecked merge."""

import asyncio
import contextlib
import uuid

import httpx

from shared.events import IdeaSubmitted, IdeaWithdrawn, new_event
from shared.events.pseudonym import pseudonymise
from tests.integration.ideas.conftest import SECRET, running, settings_for, submit
from tests.integration.reporting.conftest import new_department, pattern_for, publish
from tests.support.events import person
from tests.support.kafka import create_topics
from tests.support.processes import reporting_process


def merge_body(department: str, idea_id) -> dict:
    return {"into_department": department, "into_idea_id": str(idea_id)}


async def test_a_merge_into_this_departments_idea_keeps_the_lineage_and_counts_endorsers_once(ideas):
    target = await submit(ideas, "Shared booking system", person="tara")
    first = await submit(ideas, "Desk booking app", person="alice")
    second = await submit(ideas, "Room booking app", person="bob")
    endorse = lambda idea, who: ideas.client.post(f"/v1/ideas/{idea['idea_id']}/endorsements",  # noqa: E731
                                                  headers=ideas.headers("contributor", who))
    for idea, people in ((target, ["carol"]), (first, ["carol", "dan"]), (second, ["erin"])):
        for who in people:
            assert (await endorse(idea, who)).status_code == 201
    panel = ideas.headers("reviewer", "rita")
    merged = await ideas.client.post(f"/v1/ideas/{first['idea_id']}/merge", headers=panel,
                                     json=merge_body(ideas.department, target["idea_id"]))
    assert merged.status_code == 200, merged.text
    assert merged.json()["status"] == "merged"
    assert merged.json()["closure"] == {"by": pseudonymise(SECRET, "rita"), "reason": None, "note": None,
                                        "into_department": ideas.department, "into_idea_id": target["idea_id"]}
    url = f"/v1/ideas/{target['idea_id']}"
    after = (await ideas.client.get(url, headers=ideas.headers("viewer", None))).json()
    assert after["merged_from"] == [{"department": ideas.department, "idea_id": first["idea_id"]}]
    assert after["endorsements"] == 2  # carol (both ideas, once) and dan
    assert (await endorse(target, "dan")).status_code == 201  # dan endorses the target itself: still counted once
    assert (await ideas.client.get(url, headers=ideas.headers("viewer", None))).json()["endorsements"] == 2

    # a chain: the target merged into another idea carries its lineage with it
    final = await submit(ideas, "One booking service", person="zoe")
    assert (await ideas.client.post(f"/v1/ideas/{second['idea_id']}/merge", headers=panel,
                                    json=merge_body(ideas.department, target["idea_id"]))).status_code == 200
    assert (await ideas.client.post(f"/v1/ideas/{target['idea_id']}/merge", headers=panel,
                                    json=merge_body(ideas.department, final["idea_id"]))).status_code == 200
    top = (await ideas.client.get(f"/v1/ideas/{final['idea_id']}", headers=ideas.headers("viewer", None))).json()
    assert top["merged_from"] == [{"department": ideas.department, "idea_id": target["idea_id"]}]
    assert top["endorsements"] == 3  # carol, dan, erin through the chain
    target_after = (await ideas.client.get(url, headers=ideas.headers("viewer", None))).json()
    assert [m["idea_id"] for m in target_after["merged_from"]] == [first["idea_id"], second["idea_id"]]
    listed = (await ideas.client.get("/v1/ideas", params={"status": "submitted"},
                                     headers=ideas.headers("viewer", None))).json()["items"]
    assert [i["merged_from"] for i in listed if i["idea_id"] == final["idea_id"]] == [top["merged_from"]]


async def test_a_merge_into_a_missing_closed_or_the_same_idea_is_refused_and_changes_nothing(ideas):
    idea = await submit(ideas, "To be merged", person="alice")
    url = f"/v1/ideas/{idea['idea_id']}/merge"
    panel = ideas.headers("reviewer", "rita")
    missing = await ideas.client.post(url, headers=panel, json=merge_body(ideas.department, uuid.uuid4()))
    assert missing.status_code == 422, missing.text
    assert missing.json()["detail"] == [{"field": "into_idea_id", "rule": "an existing idea of into_department"}]
    itself = await ideas.client.post(url, headers=panel, json=merge_body(ideas.department, idea["idea_id"]))
    assert itself.status_code == 409 and "itself" in itself.json()["reason"]
    for closing, body in (("withdraw", None), ("decline", {"reason": "other", "note": ""})):
        closed = await submit(ideas, f"Closed by {closing}", person="bob")
        headers = ideas.headers("contributor", "bob") if closing == "withdraw" else panel
        assert (await ideas.client.post(f"/v1/ideas/{closed['idea_id']}/{closing}", json=body,
                                        headers=headers)).status_code == 200
        refused = await ideas.client.post(url, headers=panel, json=merge_body(ideas.department, closed["idea_id"]))
        assert refused.status_code == 409, refused.text
        assert refused.json()["detail"][0]["field"] == "into_idea_id" and refused.json()["into_status"] in (
            "withdrawn", "declined")
    for bad, field in (({"into_department": "Not A Code!", "into_idea_id": str(uuid.uuid4())}, "into_department"),
                       ({"into_department": ideas.department, "into_idea_id": "x"}, "into_idea_id"),
                       ({"into_department": ideas.department}, "into_idea_id")):
        response = await ideas.client.post(url, headers=panel, json=bad)
        assert response.status_code == 422 and response.json()["detail"][0]["field"] == field, response.text
    current = (await ideas.client.get(f"/v1/ideas/{idea['idea_id']}", headers=panel)).json()
    assert current["status"] == "submitted" and current["closure"] is None


async def test_two_ideas_merged_into_each_other_at_once_one_wins_and_no_cycle_is_made(ideas):
    for _ in range(5):
        a, b = await submit(ideas, "Idea A", person="alice"), await submit(ideas, "Idea B", person="bob")
        panel = ideas.headers("reviewer", "rita")
        answers = await asyncio.gather(
            ideas.client.post(f"/v1/ideas/{a['idea_id']}/merge", headers=panel, json=merge_body(ideas.department, b["idea_id"])),
            ideas.client.post(f"/v1/ideas/{b['idea_id']}/merge", headers=panel, json=merge_body(ideas.department, a["idea_id"])))
        assert sorted(r.status_code for r in answers) == [200, 409], [r.text for r in answers]
    cycles = await ideas.runtime.pool.fetchval(
        "SELECT count(*) FROM ideas x JOIN ideas y ON x.merged_into = y.idea_id AND y.merged_into = x.idea_id")
    assert cycles == 0


async def _reporting_answers(url: str, path: str, timeout: float = 60) -> dict:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    async with httpx.AsyncClient(base_url=url) as client:
        while True:
            response = await client.get(path)
            if response.status_code == 200:
                return response.json()
            assert loop.time() < deadline, f"reporting never showed {path}: {response.text}"
            await asyncio.sleep(0.2)


async def test_a_merge_into_another_departments_idea_is_checked_centrally_and_reporting_keeps_the_lineage(
    kafka_bootstrap, new_database, department, ideas_topic, intake, tmp_path,
):
    other = new_department()
    await create_topics(kafka_bootstrap, ideas_topic, intake, *(f"innovation.{d}.{s}.v1" for d in (department, other)
                                                                for s in ("ideas", "experiments", "outcomes")))
    open_target, closed_target = uuid.uuid4(), uuid.uuid4()
    author = person("hmrc-author")
    await publish(kafka_bootstrap, [
        new_event(IdeaSubmitted(idea_id=open_target, title="Tax form in plain English", problem="p", proposal="p",
                                submitted_by=author, themes=("customer-service",)), department=other, service="ideas"),
        new_event(IdeaSubmitted(idea_id=closed_target, title="Withdrawn one", problem="p", proposal="p",
                                submitted_by=author), department=other, service="ideas"),
        new_event(IdeaWithdrawn(idea_id=closed_target, by=author), department=other, service="ideas"),
    ])
    reporting = reporting_process(dsn=await new_database("reporting"), bootstrap=kafka_bootstrap,
                                  pattern=pattern_for(department, other), group_id=f"ideas-merge-{uuid.uuid4().hex[:8]}",
                                  log=tmp_path / "reporting.log")
    await reporting.start()
    try:
        await _reporting_answers(reporting.url, f"/v1/ideas/{other}/{open_target}")
        closed = await _reporting_answers(reporting.url, f"/v1/ideas/{other}/{closed_target}")
        assert closed["status"] == "withdrawn"
        dsn = await new_database("ideas")
        async with running(settings_for(dsn, department, kafka_bootstrap, reporting_url=reporting.url)) as ideas:
            panel = ideas.headers("reviewer", "rita")
            idea = await submit(ideas, "Plain English forms", person="alice")
            url = f"/v1/ideas/{idea['idea_id']}/merge"
            missing = await ideas.client.post(url, headers=panel, json=merge_body(other, uuid.uuid4()))
            assert missing.status_code == 422 and missing.json()["detail"][0]["field"] == "into_idea_id", missing.text
            unknown_department = await ideas.client.post(url, headers=panel, json=merge_body("nowhere", open_target))
            assert unknown_department.status_code == 422
            into_closed = await ideas.client.post(url, headers=panel, json=merge_body(other, closed_target))
            assert into_closed.status_code == 409 and into_closed.json()["into_status"] == "withdrawn"
            merged = await ideas.client.post(url, headers=panel, json=merge_body(other, open_target))
            assert merged.status_code == 200, merged.text
            assert merged.json()["closure"]["into_department"] == other
            assert merged.json()["closure"]["into_idea_id"] == str(open_target)

            # central reporting shows the merged idea under its target, and where it went
            async def lineage() -> dict:
                found = await _reporting_answers(reporting.url, f"/v1/ideas/{other}/{open_target}")
                return found if found["merged_from"] else {}

            loop = asyncio.get_running_loop()
            deadline = loop.time() + 60
            while not (target := await lineage()):
                assert loop.time() < deadline, "reporting never showed the merge under its target"
                await asyncio.sleep(0.2)
            assert target == {"department": other, "idea_id": str(open_target), "title": "Tax form in plain English",
                              "status": "submitted", "themes": ["customer-service"],
                              "merged_from": [{"department": department, "idea_id": idea["idea_id"]}],
                              "merged_into": None}
            source = await _reporting_answers(reporting.url, f"/v1/ideas/{department}/{idea['idea_id']}")
            assert source["status"] == "merged" and source["merged_into"] == {"department": other,
                                                                              "idea_id": str(open_target)}
            async with httpx.AsyncClient(base_url=reporting.url) as client:
                figures = (await client.get(f"/v1/departments/{department}")).json()
            assert figures["ideas_by_state"]["merged"] == 1

            # reporting gone: a merge into another department's idea is refused with 503, not accepted unchecked
            reporting.stop()
            second = await submit(ideas, "Another plain English idea", person="alice")
            refused = await ideas.client.post(f"/v1/ideas/{second['idea_id']}/merge", headers=panel,
                                              json=merge_body(other, open_target))
            assert refused.status_code == 503, refused.text
            assert "central reporting is unreachable" in refused.json()["error"]
            assert refused.headers["retry-after"] == "30"
            assert refused.json()["detail"][0]["field"] == "into_department"
            still = (await ideas.client.get(f"/v1/ideas/{second['idea_id']}", headers=panel)).json()
            assert still["status"] == "submitted"
            # a merge inside the department needs no reporting
            local = await ideas.client.post(f"/v1/ideas/{second['idea_id']}/merge", headers=panel,
                                            json=merge_body(department, (await submit(ideas, "Local", person="bob"))["idea_id"]))
            assert local.status_code == 200, local.text
    finally:
        with contextlib.suppress(Exception):
            reporting.stop()
