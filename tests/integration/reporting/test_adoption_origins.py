"""An adoption naming an outcome (or a department) reporting has never seen invents nothing in the figures.

Reporting reads every topic in parallel (a rebuild replays them in any interleaving), so an adoption
can arrive before the outcome it adopts: refusing it would dead-letter valid events. It is stored,
left out of every figure while its outcome is unknown, and counted from the moment the outcome arrives.
"""

from __future__ import annotations

import csv
import io
import uuid

from shared.events import OutcomeAdopted, new_event
from shared.events.topics import topic_name
from tests.integration.reporting.conftest import new_department, publish, running, settings_for, wait_applied
from tests.integration.reporting.scenario import at, department_events, expected
from tests.support.db import fetchval
from tests.support.events import person
from tests.support.kafka import dead_letters


def adoption(adopting: str, origin: str, outcome: uuid.UUID):
    data = OutcomeAdopted(adoption_id=uuid.uuid4(), origin_department=origin, origin_outcome_id=outcome,
                          adopting_department=adopting, adopted_by=person(f"{adopting}-adopter"), note="Trying it")
    return at(new_event(data, department=adopting, service="experiments"), 45)


async def test_adoptions_count_only_once_the_outcome_they_name_is_known(
    kafka_bootstrap, new_database, department, topics_for,
):
    origin, adopting, ghost = department, new_department(), new_department()  # ghost never publishes anything
    dsn = await new_database("reporting")
    await topics_for(origin, adopting)
    origin_events, outcome = department_events(origin)
    adoptions = [
        adoption(adopting, origin, outcome),  # real, but arrives before the origin's outcome
        adoption(adopting, ghost, uuid.uuid4()),  # a department that never published anything
        adoption(adopting, origin, uuid.uuid4()),  # a real department, an outcome it never recorded
    ]
    async with running(settings_for(dsn, kafka_bootstrap, [origin, adopting, ghost])) as service:
        await publish(kafka_bootstrap, adoptions)
        await wait_applied(dsn, 3)

        # Only the adopting department exists: its 3 events and its 1 adopter; no adoption counts yet.
        summary = await service.get("/v1/summary")
        assert (summary["departments"], summary["events"], summary["participants"]) == (1, 3, 1)
        assert (summary["adoptions_made"], summary["adoptions_of_its_outcomes"]) == (0, 0)
        assert summary["adoption_links"] == []
        listed = (await service.get("/v1/departments"))["departments"]
        assert [(d["department"], d["adoptions_made"]) for d in listed] == [(adopting, 0)]
        for unknown in (origin, ghost):
            assert (await service.client.get(f"/v1/departments/{unknown}")).status_code == 404
        assert (await service.get(f"/v1/departments/{adopting}"))["adoption_links"] == []
        weeks = (await service.get("/v1/timeseries"))["weeks"]
        assert sum(w["adoptions"] for w in weeks) == 0
        export = list(csv.DictReader(io.StringIO((await service.client.get("/v1/export.csv")).text, newline="")))
        assert [r["department"] for r in export] == ["all", adopting]
        # Left out, not refused: stored for when the outcome arrives, nothing dead-lettered.
        assert await fetchval(dsn, "SELECT count(*) FROM adoptions") == 3

        await publish(kafka_bootstrap, origin_events)
        await wait_applied(dsn, 3 + len(origin_events))

        # The origin's outcome is known now: the first adoption counts, the two others still do not.
        summary = await service.get("/v1/summary")
        assert summary["departments"] == 2
        assert (summary["adoptions_made"], summary["adoptions_of_its_outcomes"]) == (1, 1)
        assert [(l["origin_department"], l["adopting_department"], l["adoptions"]) for l in summary["adoption_links"]] \
            == [(origin, adopting, 1)]
        listed = {d["department"]: d for d in (await service.get("/v1/departments"))["departments"]}
        assert set(listed) == {origin, adopting}
        assert {k: listed[origin][k] for k in expected()} == expected(adoptions_of=1)
        assert (listed[adopting]["adoptions_made"], listed[adopting]["adoptions_of_its_outcomes"]) == (1, 0)
        assert (await service.client.get(f"/v1/departments/{ghost}")).status_code == 404
        weeks = (await service.get("/v1/timeseries", department=adopting))["weeks"]
        assert [(w["week"], w["adoptions"]) for w in weeks] == [("2026-04-13", 1)]  # T0 (Monday 2 March) + 45 days
    assert await dead_letters(kafka_bootstrap, "reporting", topic_name(adopting, "outcomes")) == []
