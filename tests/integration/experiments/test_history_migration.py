"""Experiments stored before who acted was kept: the migration gives them the history their row tells, with
nobody named, and they carry on with people named from then on."""

import shutil
import uuid
from datetime import date, datetime, timezone
from pathlib import Path

import asyncpg
import orjson

from shared.db import SHARED_MIGRATIONS, prepare_database
from shared.events.pseudonym import pseudonymise
from tests.integration.experiments.support import FakeClock, running_experiments

MIGRATIONS = Path(__file__).resolve().parents[3] / "services" / "experiments" / "migrations"
TODAY = date(2025, 3, 20)
FINISHED_AT = datetime(2025, 3, 19, 16, 30, tzinfo=timezone.utc)


async def test_old_experiments_get_their_history_with_nobody_named(kafka_bootstrap, new_database, department,
                                                                   tmp_path):
    dsn = await new_database("experiments")
    before = tmp_path / "migrations"
    before.mkdir()
    for name in ("0001_experiments.sql", "0002_intake_completions.sql"):
        shutil.copy(MIGRATIONS / name, before / name)
    await prepare_database(dsn, {"shared": SHARED_MIGRATIONS, "experiments": before})
    completed, planning = uuid.uuid4(), uuid.uuid4()
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(
            """INSERT INTO experiments (experiment_id, idea_id, status, budget_gbp, staff_days, timebox_weeks,
                   correlation_id, starts_on, ends_on, hypothesis, measure, squad_size, started_on, completed_on,
                   measurements, outcome, updated_at)
               VALUES ($1, $2, 'completed', 100, 2, 4, 'c-1', '2025-03-03', '2025-03-31', 'Shorter forms',
                       $3, 3, '2025-03-04', '2025-03-19', $4, $5, $6)""",
            completed, uuid.uuid4(),
            orjson.dumps({"name": "Forms", "unit": "per day", "baseline": 10, "target": 5,
                          "direction": "decrease"}).decode(),
            orjson.dumps([{"measured_on": "2025-03-10", "value": 7.0, "note": None}]).decode(),
            orjson.dumps({"outcome_id": str(uuid.uuid4()), "result": "succeeded", "summary": "Fewer forms",
                          "learnings": ["Ask less"], "recommendation": "scale", "cash_savings_gbp_per_year": None,
                          "hours_saved_per_year": None, "people_affected": None}).decode(),
            FINISHED_AT)
        await conn.execute(
            """INSERT INTO experiments (experiment_id, idea_id, status, budget_gbp, staff_days, timebox_weeks,
                   correlation_id, starts_on, ends_on)
               VALUES ($1, $2, 'planning', 100, 2, 4, 'c-2', '2025-03-03', '2025-03-31')""",
            planning, uuid.uuid4())
    finally:
        await conn.close()

    async with running_experiments(kafka_bootstrap, dsn, department, clock=FakeClock(TODAY)) as service:
        viewer = service.headers("viewer")
        old = (await service.client.get(f"/v1/experiments/{completed}", headers=viewer)).json()
        assert old["squad_lead"] is None and old["squad"] == []
        assert old["measurements"][0]["recorded_by"] is None and old["outcome"]["recorded_by"] is None
        assert [(s["step"], s["by"], s["detail"]) for s in old["history"]] == [
            ("planned", None, "2025-03-03 to 2025-03-31, a squad of 3"),
            ("started", None, "started on 2025-03-04"),
            ("measured", None, "7.0 per day on 2025-03-10"),
            ("completed", None, "succeeded"),
        ]
        assert [datetime.fromisoformat(s["at"]) for s in old["history"]] == [
            datetime(2025, 3, 4, tzinfo=timezone.utc), datetime(2025, 3, 4, tzinfo=timezone.utc),
            datetime(2025, 3, 10, tzinfo=timezone.utc), FINISHED_AT]

        unplanned = (await service.client.get(f"/v1/experiments/{planning}", headers=viewer)).json()
        assert unplanned["history"] == []
        plan = {"hypothesis": "h", "measure": {"name": "n", "unit": "u", "baseline": 1, "target": 2,
                                               "direction": "increase"},
                "starts_on": "2025-03-20", "ends_on": "2025-03-30", "squad_size": 2, "squad": ["ivy"]}
        planned = await service.client.post(f"/v1/experiments/{planning}/plan", json=plan,
                                            headers=service.headers(person="jo"))
        assert planned.status_code == 200, planned.text
        secret = service.runtime.settings.pseudonym_secret
        assert [(s["step"], s["by"]) for s in planned.json()["history"]] == [("planned", pseudonymise(secret, "jo"))]
        assert planned.json()["squad"] == [pseudonymise(secret, "ivy")]
