"""Merging with lineage, centrally: idea.merged's target (department and id) is kept, the catalogue read
(GET /v1/ideas/{department}/{idea_id}) shows merged ideas under their target and where each went, whatever order
the departments' streams arrive in, and the figures do not change because of it."""

from __future__ import annotations

import uuid

from shared.events import IdeaEndorsed, IdeaMerged, IdeaSubmitted, new_event
from tests.integration.reporting.conftest import new_department, publish, running, settings_for, wait_applied
from tests.integration.reporting.scenario import at
from tests.support.events import person


def _submitted(department: str, title: str, days: float, **more):
    return at(new_event(IdeaSubmitted(idea_id=uuid.uuid4(), title=title, problem="p", proposal="p",
                                      submitted_by=person(f"{department}-{title}"), **more),
                        department=department, service="ideas"), days)


def _merged(event, into, days: float):
    return at(new_event(IdeaMerged(idea_id=event.data.idea_id, into_department=into.department,
                                   into_idea_id=into.data.idea_id, by=person("panel")),
                        department=event.department, service="ideas"), days)


async def test_merged_ideas_show_under_their_target_across_departments_and_the_figures_are_unchanged(
    kafka_bootstrap, new_database, topics_for,
):
    home, away = new_department(), new_department()
    dsn = await new_database("reporting")
    await topics_for(home, away)
    target = _submitted(away, "One address change for every service", 0, themes=("customer-service",))
    from_home = _submitted(home, "Tell us once about a move", 1)
    from_away = _submitted(away, "Address change form", 2)
    untouched = _submitted(home, "Unrelated idea", 3)
    endorsed = at(new_event(IdeaEndorsed(idea_id=from_home.data.idea_id, endorsed_by=person("fan")),
                            department=home, service="ideas"), 3)
    # the merges arrive before the target's department's own events: the streams are independent
    merges = [_merged(from_away, target, 5), _merged(from_home, target, 4)]
    events = [*merges, from_home, untouched, endorsed, target, from_away]
    async with running(settings_for(dsn, kafka_bootstrap, [home, away])) as service:
        await publish(kafka_bootstrap, events)
        await wait_applied(dsn, len(events))

        shown = await service.get(f"/v1/ideas/{away}/{target.data.idea_id}")
        assert shown == {
            "department": away, "idea_id": str(target.data.idea_id), "title": "One address change for every service",
            "status": "submitted", "themes": ["customer-service"], "merged_into": None,
            "merged_from": [{"department": home, "idea_id": str(from_home.data.idea_id)},  # merged first (day 4)
                            {"department": away, "idea_id": str(from_away.data.idea_id)}],
        }
        merged = await service.get(f"/v1/ideas/{home}/{from_home.data.idea_id}")
        assert merged["status"] == "merged" and merged["merged_from"] == []
        assert merged["merged_into"] == {"department": away, "idea_id": str(target.data.idea_id)}
        lone = await service.get(f"/v1/ideas/{home}/{untouched.data.idea_id}")
        assert lone["merged_into"] is None and lone["merged_from"] == [] and lone["themes"] == []

        figures = {d: await service.get(f"/v1/departments/{d}") for d in (home, away)}
        assert figures[home]["ideas_by_state"]["merged"] == 1 and figures[home]["ideas_by_state"]["submitted"] == 1
        assert figures[away]["ideas_by_state"]["merged"] == 1 and figures[away]["ideas_by_state"]["submitted"] == 1
        rows = await service.runtime.pool.fetch(
            "SELECT department, merged_into, merged_into_idea_id FROM ideas WHERE merged_at IS NOT NULL ORDER BY department")
        assert {(r["department"], r["merged_into"], r["merged_into_idea_id"]) for r in rows} == {
            (home, away, target.data.idea_id), (away, away, target.data.idea_id)}

        missing = await service.client.get(f"/v1/ideas/{away}/{uuid.uuid4()}")
        assert missing.status_code == 404 and missing.json()["detail"] == [
            {"field": "idea_id", "rule": "an idea the department has published"}]
        for path, field in ((f"/v1/ideas/{away}/not-a-uuid", "idea_id"),
                            (f"/v1/ideas/NOT%20A%20DEPT/{uuid.uuid4()}", "department")):
            refused = await service.client.get(path)
            assert refused.status_code == 422 and refused.json()["detail"][0]["field"] == field, refused.text
        similar = await service.client.get("/v1/ideas/similar", params={"q": "address change"})
        assert similar.status_code == 200  # the one-segment read is not taken for a department
