"""Property-based run of the whole HTTP API from its own OpenAPI document: no 5xx, whatever the input."""

import asyncio
import sys
import uuid
from pathlib import Path

from shared.db import SHARED_MIGRATIONS, prepare_database
from shared.events.topics import topic_name
from tests.integration.ideas.conftest import served, settings_for
from tests.integration.reporting.conftest import pattern_for
from tests.support.kafka import create_topics
from tests.support.processes import reporting_process
from tests.support.services import issue_keys

SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")


async def test_generated_requests_never_get_a_server_error(kafka_bootstrap, new_database, department, tmp_path):
    dsn = await new_database("fuzz")
    await prepare_database(dsn, {"shared": SHARED_MIGRATIONS,
                                 "ideas": Path(__file__).parents[3] / "services" / "ideas" / "migrations"})
    keys = await issue_keys(dsn, department)
    await create_topics(kafka_bootstrap, topic_name(department, "ideas"))
    # a merge into another department's idea asks central reporting: a real one, so its answers are fuzzed too
    reporting = reporting_process(dsn=await new_database("reporting"), bootstrap=kafka_bootstrap,
                                  pattern=pattern_for(department), group_id=f"ideas-fuzz-{uuid.uuid4().hex[:8]}",
                                  log=tmp_path / "reporting.log")
    await reporting.start()
    try:
        text, returncode = await _fuzz(settings_for(dsn, department, kafka_bootstrap, reporting_url=reporting.url),
                                       keys, tmp_path)
    finally:
        reporting.stop()
    print(text[-3000:])
    assert returncode == 0, text[-6000:]
    assert "Server error" not in text
    assert "Tested: 16" in text  # every operation of the API was exercised


async def _fuzz(settings, keys, tmp_path) -> tuple[str, int]:
    async with served(settings) as base:
        process = await asyncio.create_subprocess_exec(
            str(SCHEMATHESIS), "run", f"{base}/openapi.json",
            "--checks", "not_a_server_error", "--max-examples", "30", "--workers", "2",
            "--seed", "4", "--generation-database", "none", "--no-color",
            "--header", f"Authorization: Bearer {keys['admin']}", "--header", "X-Person-Ref: fuzzer-1",
            "--report", "junit", "--report-dir", str(tmp_path),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )
        output, _ = await process.communicate()
    return output.decode(errors="replace"), process.returncode
