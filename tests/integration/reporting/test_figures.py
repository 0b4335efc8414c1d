"""Events of three departments (one appearing while the service runs) become exactly the expected figures;
redelivery changes nothing; a rebuild gives the same figures; poison is dead-lettered; no personal data."""

from __future__ import annotations

import csv
import io
import re

import asyncpg
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from services.reporting.rebuild import rebuild
from shared.events import encode
from tests.integration.reporting.conftest import (
    inbox_count, new_department, publish, running, settings_for, viewer_key_header, wait_applied, wait_for,
)
from tests.integration.reporting.scenario import STABLE_KEYS, department_events, expected, submitted_event
from tests.support.kafka import read_records


def stable(figures: dict) -> dict:
    return {k: figures[k] for k in STABLE_KEYS}


def across(*departments: dict) -> dict:
    """Across government: the sum of the departments' counts (their averages and medians are equal here)."""
    total = expected()
    for key, value in total.items():
        if key in ("average_scores", "funnel_median_days"):
            continue
        if isinstance(value, dict):
            total[key] = {k: sum(d[key][k] for d in departments) for k in value}
        else:
            total[key] = sum(d[key] for d in departments)
    return total


async def caught_up(bootstrap: str, group: str, departments) -> bool:
    """True when the group's committed offsets reached the end of every partition of the departments' topics."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await admin.start()
    await consumer.start()
    try:
        committed = await admin.list_consumer_group_offsets(group)
        topics = [f"innovation.{d}.{s}.v1" for d in departments for s in ("ideas", "experiments", "outcomes")]
        partitions = [TopicPartition(t, p) for t in topics for p in (consumer.partitions_for_topic(t) or ())]
        ends = await consumer.end_offsets(partitions)
        return all(ends[tp] == 0 or (tp in committed and committed[tp].offset >= ends[tp]) for tp in partitions)
    finally:
        await consumer.stop()
        await admin.close()


async def test_three_departments_redelivery_and_rebuild(kafka_bootstrap, new_database, department, topics_for):
    d1, d2, d3 = department, new_department(), new_department()
    dsn = await new_database("reporting")
    await topics_for(d1, d2)
    events1, outcome1 = department_events(d1)
    events2, _ = department_events(d2, adopt_from=(d1, outcome1))
    events3, _ = department_events(d3, adopt_from=(d1, outcome1))
    settings = settings_for(dsn, kafka_bootstrap, [d1, d2, d3])

    async with running(settings) as service:
        await publish(kafka_bootstrap, events1 + events2)
        await wait_applied(dsn, len(events1) + len(events2))
        # d3 has no topics until now: the pattern subscription must discover them on its own.
        await publish(kafka_bootstrap, events3)
        await wait_applied(dsn, len(events1) + len(events2) + len(events3))

        want = {
            d1: expected(adoptions_of=2),
            d2: expected(adoptions_made=1),
            d3: expected(adoptions_made=1),
        }
        want_all = across(*want.values())
        want_all["adoptions_of_its_outcomes"] = 2

        summary = await service.get("/v1/summary")
        assert stable(summary) == want_all
        assert summary["departments"] == 3
        departments = {d["department"]: d for d in (await service.get("/v1/departments"))["departments"]}
        assert set(departments) == {d1, d2, d3}
        for dept in (d1, d2, d3):
            assert stable(departments[dept]) == want[dept]
            one = await service.get(f"/v1/departments/{dept}")
            assert stable(one) == want[dept]
            assert one["events"] == len({d1: events1, d2: events2, d3: events3}[dept])
        assert [(l["origin_department"], l["adopting_department"], l["adoptions"])
                for l in summary["adoption_links"]] == sorted([(d1, d2, 1), (d1, d3, 1)])
        themes = {t["theme"]: t for t in (await service.get("/v1/themes"))["themes"]}
        assert themes["ai"] == {"theme": "ai", "ideas": 6, "backed": 3, "departments": 3}
        assert themes["net-zero"]["backed"] == 3
        weeks = (await service.get("/v1/timeseries", department=d1))["weeks"]
        assert sum(w["ideas_raised"] for w in weeks) == 5 and sum(w["outcomes_recorded"] for w in weeks) == 2
        assert weeks[0]["week"] == "2026-03-02" and weeks[0]["endorsements"] == 2
        found = (await service.get("/v1/learnings", q="short form"))["learnings"]
        assert {l["department"] for l in found} == {d1, d2, d3}
        assert all(l["learning"] == "Claimants prefer one short form" for l in found)
        similar = (await service.get("/v1/ideas/similar", q="paper forms for claimants"))["ideas"]
        assert {i["department"] for i in similar} == {d1, d2, d3}
        assert all(set(i) == {"department", "idea_id", "title", "status", "themes", "score", "outcome_id"} for i in similar)
        assert (await service.client.get("/v1/departments/tnever-seen")).status_code == 404

        # The same events delivered again: nothing changes.
        before = await inbox_count(dsn)
        await publish(kafka_bootstrap, events1 + events2 + events3)
        await wait_for(lambda: caught_up(kafka_bootstrap, settings.group_id, [d1, d2, d3]), what="redelivery consumed")
        assert await inbox_count(dsn) == before
        assert stable(await service.get("/v1/summary")) == want_all

        # A rebuild from offset 0 (every event is on the topics twice) gives the same figures, and the live
        # consumer carries on over the swapped-in tables without double counting.
        lines: list[str] = []
        progress = await rebuild(settings, batch=50, report=lines.append, report_every=0)
        assert progress.read == 2 * (len(events1) + len(events2) + len(events3))
        assert progress.applied == len(events1) + len(events2) + len(events3)
        assert lines and "swapped in" in lines[-1]
        assert stable(await service.get("/v1/summary")) == want_all
        for dept in (d1, d2, d3):
            assert stable(await service.get(f"/v1/departments/{dept}")) == want[dept]
        late = submitted_event(d1, title="After the rebuild")
        await publish(kafka_bootstrap, [late])
        await wait_applied(dsn, before + 1)
        assert (await service.get(f"/v1/departments/{d1}"))["ideas_raised"] == 6
        assert (await service.get("/v1/summary"))["ideas_raised"] == 16


async def test_poison_is_dead_lettered_and_figures_unaffected(kafka_bootstrap, new_database, department, topics_for):
    other = new_department()
    dsn = await new_database("reporting")
    await topics_for(department)
    events, _ = department_events(department)
    good = encode(events[0])
    topic = f"innovation.{department}.ideas.v1"
    mismatch = encode(submitted_event(other))
    unknown = [(k, b"uk.gov.innovation.idea.teleported.v1" if k == "ce_type" else v) for k, v in good.headers]
    poison = [
        (topic, b"{not json", good.headers),
        (topic, None, good.headers),  # a tombstone
        (topic, good.value, unknown),
        (topic, mismatch.value, mismatch.headers),  # another department's event on this department's topic
    ]
    settings = settings_for(dsn, kafka_bootstrap, [department])
    async with running(settings) as service:
        await publish(kafka_bootstrap, events, raw=poison)
        await wait_applied(dsn, len(events))
        dead = [r for r in await read_records(kafka_bootstrap, "innovation.dlq.reporting", count=10**9, timeout=8)
                if dict(r.headers).get("dlq_original_topic") == topic.encode()]
        assert len(dead) == 4
        reasons = {dict(r.headers)["dlq_error_class"].decode(): dict(r.headers)["dlq_reason"].decode() for r in dead}
        assert set(reasons) == {"MalformedEvent", "UnknownEventType", "DepartmentMismatch"}
        assert all(reasons.values())
        assert {r.value for r in dead} == {b"{not json", None, good.value, mismatch.value}
        assert stable(await service.get(f"/v1/departments/{department}")) == expected()
        assert stable(await service.get("/v1/summary")) == expected()
        assert (await service.get("/v1/summary"))["departments"] == 1


PSEUDONYM = re.compile(r"p_[0-9a-f]{16}")
PERSONAL = ("alice", "example.org", "07700", "bob", "carol", "jones", "smith")


async def test_no_personal_data_in_read_models_or_export(kafka_bootstrap, new_database, department, topics_for):
    dsn = await new_database("reporting")
    await topics_for(department)
    events, _ = department_events(department)
    async with running(settings_for(dsn, kafka_bootstrap, [department])) as service:
        await publish(kafka_bootstrap, events)
        await wait_applied(dsn, len(events))
        export = await service.client.get("/v1/export.csv")
        assert export.status_code == 200 and export.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(export.text)))
        assert [r["department"] for r in rows] == ["all", department]
        assert rows[1]["ideas_raised"] == "5" and rows[1]["benefits.cash_savings_gbp_per_year"] == "12000.0"
        assert not PSEUDONYM.search(export.text) and not any(p in export.text.lower() for p in PERSONAL)
        for path in ("/v1/summary", "/v1/departments", f"/v1/departments/{department}", "/v1/learnings",
                     "/v1/ideas/similar?q=paper+forms"):
            body = (await service.client.get(path)).text.lower()
            assert not PSEUDONYM.search(body) and not any(p in body for p in PERSONAL), path

    conn = await asyncpg.connect(dsn)
    try:
        columns = await conn.fetch(
            """SELECT table_name, column_name FROM information_schema.columns
               WHERE table_schema = 'public' AND data_type IN ('text', 'ARRAY', 'character varying')
                 AND table_name NOT IN ('schema_migrations', 'outbox', 'inbox')""")
        assert len(columns) >= 10
        for table, column in columns:
            values = [str(v).lower() for v in await conn.fetchval(f'SELECT array_agg("{column}"::text) FROM "{table}"') or []]
            leaks = [v for v in values if any(p in v for p in PERSONAL)]
            assert not leaks, (table, column, leaks)
            people = [v for v in values if v.startswith("p_")]
            assert all(len(v) == 18 for v in people), (table, column)  # only pseudonyms name people
    finally:
        await conn.close()


async def test_an_operator_can_require_keys(kafka_bootstrap, new_database, department):
    dsn = await new_database("reporting")
    async with running(settings_for(dsn, kafka_bootstrap, [department], require_viewer_key=True)) as service:
        assert (await service.client.get("/v1/summary")).status_code == 401
        assert (await service.client.get("/")).status_code == 401
        authorised = await viewer_key_header(dsn, department)
        assert (await service.client.get("/v1/summary", headers=authorised)).status_code == 200
        assert (await service.client.get("/", headers=authorised)).status_code == 200
