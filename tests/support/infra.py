"""The real broker and database for the tests: reused when running, started when not.

`KAFKA_BOOTSTRAP_SERVERS` and `POSTGRES_URL` point the tests at an existing broker or
server; otherwise the project's own deploy scripts start (or reuse) local ones. When
neither can be had the tests fail loudly: they never skip.
"""

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LOCAL_KAFKA = "127.0.0.1:9092"
LOCAL_POSTGRES = "postgresql://innovation:innovation@127.0.0.1:5432/postgres"


class InfrastructureUnavailable(RuntimeError):
    pass


def _run_script(script: str) -> None:
    result = subprocess.run(["bash", str(ROOT / "deploy" / script), "start"], capture_output=True, text=True)
    if result.returncode != 0:
        raise InfrastructureUnavailable(f"deploy/{script} start failed:\n{result.stderr.strip()}")


def kafka_bootstrap() -> str:
    given = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if given:
        return given
    _run_script("kafka.sh")
    return LOCAL_KAFKA


def postgres_url() -> str:
    given = os.environ.get("POSTGRES_URL")
    if given:
        return given
    _run_script("postgres.sh")
    return LOCAL_POSTGRES
