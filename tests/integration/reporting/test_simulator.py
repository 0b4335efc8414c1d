"""The departmental-system simulator publishes valid events the reporting service can count, failures included."""

from __future__ import annotations

import asyncio
import sys

from tests.integration.reporting.conftest import ROOT_DIR, new_department, running, settings_for, wait_applied

COUNT = 1500


async def test_the_simulator_feeds_the_dashboard(kafka_bootstrap, new_database, department, topics_for):
    departments = [department, new_department(), new_department()]
    dsn = await new_database("reporting")
    await topics_for(*departments)
    async with running(settings_for(dsn, kafka_bootstrap, departments)) as service:
        simulator = await asyncio.create_subprocess_exec(
            sys.executable, "deploy/simulator.py", "--departments", ",".join(departments), "--history", str(COUNT),
            "--count", str(COUNT), "--seed", "11", "--bootstrap", kafka_bootstrap, cwd=ROOT_DIR,
            stderr=asyncio.subprocess.PIPE)
        _, err = await simulator.communicate()
        assert simulator.returncode == 0, err.decode()[-2000:]
        await wait_applied(dsn, COUNT)  # every event valid: none dead-lettered
        summary = await service.get("/v1/summary")
        assert summary["events"] == COUNT and summary["departments"] == 3
        funnel = [summary["funnel"][s] for s in ("raised", "shortlisted", "backed", "experiment", "outcome")]
        assert funnel == sorted(funnel, reverse=True) and funnel[-1] > 0
        assert summary["outcomes_by_result"]["failed"] > 0 and summary["experiments_by_state"]["abandoned"] > 0
        assert summary["adoptions_made"] > 0 and summary["adoption_links"]
        weeks = (await service.get("/v1/timeseries"))["weeks"]
        assert len(weeks) >= 12  # the history is spread over the last twelve weeks
