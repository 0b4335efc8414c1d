"""The centre's figures (issue 18) of a hand-worked scenario of three departments, through every read that
carries them (/v1/summary, /v1/departments, /v1/departments/{d}, /v1/resources, /v1/participation,
/v1/export.csv); the same after the events are delivered again, and after a rebuild from offset 0."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from services.reporting.rebuild import rebuild
from tests.integration.reporting.centre_scenario import CentreScenario
from tests.integration.reporting.conftest import (
    inbox_count, new_department, publish, running, settings_for, wait_applied, wait_for,
)
from tests.integration.reporting.test_figures import caught_up

NEW = ("resources", "return_claimed", "judgement", "front_line")


def as_json(value: Any) -> Any:
    """What the API gives for a value (dates as ISO text)."""
    return json.loads(json.dumps(value, default=str))


def new_figures(body: dict) -> dict:
    return {k: body[k] for k in NEW}


def cells(prefix: str, value: Any, into: dict[str, str]) -> dict[str, str]:
    """The export's cells of a figure: dotted column names, None as an empty cell."""
    if isinstance(value, dict):
        for key, inner in value.items():
            cells(f"{prefix}.{key}" if prefix else key, inner, into)
    else:
        into[prefix] = "" if value is None else str(value)
    return into


async def assert_figures(service, scenario: CentreScenario) -> None:
    departments = list(scenario.events)
    summary = await service.get("/v1/summary")
    assert new_figures(summary) == scenario.expected_all()
    assert summary["resources_by_quarter"] == as_json(scenario.quarters())
    assert summary["resources_by_theme"] == scenario.themes()
    assert summary["participation_by_month"] == as_json(scenario.months())
    assert summary["campaigns"] == scenario.campaigns()
    assert await service.get("/v1/resources") == as_json({"by_quarter": scenario.quarters(),
                                                          "by_theme": scenario.themes()})
    assert await service.get("/v1/participation") == as_json({"months": scenario.months()})

    listed = {d["department"]: d for d in (await service.get("/v1/departments"))["departments"]}
    assert set(listed) == set(departments)
    for dept in departments:
        assert new_figures(listed[dept]) == scenario.expected(dept), dept
        one = await service.get(f"/v1/departments/{dept}")
        assert new_figures(one) == scenario.expected(dept), dept
        assert one["resources_by_quarter"] == as_json(scenario.quarters(dept)), dept
        assert one["resources_by_theme"] == scenario.themes(dept), dept
        assert one["participation_by_month"] == as_json(scenario.months(dept)), dept
        assert one["campaigns"] == scenario.campaigns(dept), dept
        assert await service.get("/v1/resources", department=dept) == as_json(
            {"by_quarter": scenario.quarters(dept), "by_theme": scenario.themes(dept)}), dept
        assert await service.get("/v1/participation", department=dept) == as_json({"months": scenario.months(dept)})

    export = await service.client.get("/v1/export.csv")
    assert export.status_code == 200
    rows = {r["department"]: r for r in csv.DictReader(io.StringIO(export.text))}
    assert set(rows) == {"all", *departments}
    for scope, want in [("all", scenario.expected_all()), *((d, scenario.expected(d)) for d in departments)]:
        want_cells = cells("", want, {})
        assert {k: rows[scope][k] for k in want_cells} == want_cells, scope


async def test_centre_figures_by_hand_through_every_read_redelivered_and_rebuilt(
        kafka_bootstrap, new_database, department, topics_for):
    a, b, c = department, new_department(), new_department()
    dsn = await new_database("reporting")
    await topics_for(a, b, c)
    scenario = CentreScenario(a, b, c)
    events = scenario.all_events
    settings = settings_for(dsn, kafka_bootstrap, [a, b, c])

    async with running(settings) as service:
        await publish(kafka_bootstrap, events)
        await wait_applied(dsn, len(events))
        await assert_figures(service, scenario)

        # An unknown department has no breakdowns (and no 404).
        assert await service.get("/v1/resources", department="tnever-seen") == {"by_quarter": [], "by_theme": []}
        assert await service.get("/v1/participation", department="tnever-seen") == {"months": []}

        # The same events delivered again change nothing.
        before = await inbox_count(dsn)
        await publish(kafka_bootstrap, events)
        await wait_for(lambda: caught_up(kafka_bootstrap, settings.group_id, [a, b, c]), what="redelivery consumed")
        assert await inbox_count(dsn) == before
        await assert_figures(service, scenario)

        # A rebuild from offset 0 (every event is on the topics twice) gives the same figures.
        progress = await rebuild(settings, batch=40, report=lambda line: None, report_every=0)
        assert progress.read == 2 * len(events) and progress.applied == len(events)
        await assert_figures(service, scenario)
