"""The real broker, database and identity provider (Keycloak) for the tests: their own, on their
own ports and run directory, so a `make up` beside them (ports 9092, 5432 and 8080, `.run/`) never
sees the tests' departments.

`KAFKA_BOOTSTRAP_SERVERS`, `POSTGRES_URL` and `KEYCLOAK_URL` point the tests at an existing broker,
server or Keycloak instead. Otherwise the project's own deploy scripts start (or reuse) the tests'
ones, Keycloak only in sessions that use it (it takes about a minute to start), and what a test
session started it stops at its end. When neither can be had the tests fail loudly: they
never skip.
"""

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# The environment of the deploy scripts for the tests' own broker and server.
TEST_INFRA_ENV = {
    "INNOVATION_RUN_DIR": os.environ.get("INNOVATION_TEST_RUN_DIR", str(ROOT / ".run" / "test")),
    "KAFKA_PORT": "19092", "KAFKA_CONTROLLER_PORT": "19093", "PG_PORT": "15432",
    "KEYCLOAK_PORT": "18080", "KEYCLOAK_REALMS": "",  # the tests make their realms through the admin API
}
TEST_KAFKA = f"127.0.0.1:{TEST_INFRA_ENV['KAFKA_PORT']}"
TEST_POSTGRES = f"postgresql://innovation:innovation@127.0.0.1:{TEST_INFRA_ENV['PG_PORT']}/postgres"
TEST_KEYCLOAK = f"http://127.0.0.1:{TEST_INFRA_ENV['KEYCLOAK_PORT']}"


class InfrastructureUnavailable(RuntimeError):
    pass


def _script(script: str, command: str) -> subprocess.CompletedProcess:
    env = {**os.environ, **TEST_INFRA_ENV}
    for given in ("KAFKA_BOOTSTRAP_SERVERS", "POSTGRES_URL", "KEYCLOAK_URL"):
        env.pop(given, None)
    return subprocess.run(["bash", str(ROOT / "deploy" / script), command], env=env, capture_output=True, text=True)


def start(script: str) -> bool:
    """Starts (or reuses) the tests' own server; True when this call started it."""
    running = _script(script, "status").returncode == 0
    result = _script(script, "start")
    if result.returncode != 0:
        raise InfrastructureUnavailable(f"deploy/{script} start failed:\n{result.stderr.strip()}")
    return not running


def stop(script: str) -> str:
    return _script(script, "stop").stderr.strip()


def given_kafka() -> str | None:
    return os.environ.get("KAFKA_BOOTSTRAP_SERVERS")


def given_postgres() -> str | None:
    return os.environ.get("POSTGRES_URL")


def given_keycloak() -> str | None:
    return os.environ.get("KEYCLOAK_URL")
