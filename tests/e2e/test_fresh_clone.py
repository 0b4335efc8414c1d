"""The README's two commands in a fresh clone that sits where the `postgres` user cannot enter
(a 0700 directory, as root's home is): `make up` brings the system up with its own Kafka and
PostgreSQL, `make test` runs tests there, `make down` leaves nothing running. The clone reuses this
checkout's virtual environment and downloaded jars (installing them again is not what is tested),
and gets its own ports, so nothing else on the machine is touched."""

import os
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

import httpx
import pytest

from tests.support.ports import free_block, listening

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def unreachable_dir():
    home = Path(tempfile.mkdtemp(prefix="fresh-clone-"))  # mode 0700
    assert oct(home.stat().st_mode & 0o777) == "0o700"
    if os.geteuid() == 0:
        entered = subprocess.run(["runuser", "-u", "postgres", "--", "test", "-x", str(home)])
        assert entered.returncode != 0, "the postgres user can enter the directory: the test would prove nothing"
    yield home
    shutil.rmtree(home, ignore_errors=True)


def _make(target: str, clone: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["make", "-C", str(clone), target, *args], env=env, capture_output=True, text=True,
                          timeout=600)


async def test_make_up_and_make_test_in_a_clone_the_postgres_user_cannot_enter(unreachable_dir):
    clone = unreachable_dir / "innovation-network"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
    base = free_block(28)
    kafka, controller, postgres = base + 25, base + 26, base + 27
    dept = f"fc{uuid.uuid4().hex[:6]}"
    env = {k: v for k, v in os.environ.items()
           if k not in ("KAFKA_BOOTSTRAP_SERVERS", "POSTGRES_URL", "INNOVATION_RUN_DIR", "INNOVATION_DEVELOPMENT_MODE")}
    env.update({
        "INNOVATION_VENV": str(ROOT / ".venv"), "INNOVATION_CACHE_DIR": str(ROOT / ".cache"),
        "INNOVATION_PORT_BASE": str(base), "SMTP_SINK_SMTP_PORT": str(base + 21), "SMTP_SINK_HTTP_PORT": str(base + 22),
        "KEYCLOAK_PORT": str(base + 23),
        "KAFKA_PORT": str(kafka), "KAFKA_CONTROLLER_PORT": str(controller), "PG_PORT": str(postgres),
        "KAFKA_HEAP": "384m", "INNOVATION_DEMO_DEPARTMENTS": dept, "INNOVATION_SIMULATOR": "off",
    })
    # The clone's front-end assets: npm would fetch them again; they are not what is tested.
    for service in ("reporting", "portal"):
        modules = ROOT / "services" / service / "frontend" / "node_modules"
        if modules.exists():
            shutil.copytree(modules, clone / "services" / service / "frontend" / "node_modules", symlinks=True)
    try:
        up = _make("up", clone, env)
        assert up.returncode == 0, up.stderr[-3000:]
        async with httpx.AsyncClient() as client:
            for port in (base, base + 1, base + 2, base + 3, base + 4):  # reporting, the department's three, its portal
                ready = await client.get(f"http://127.0.0.1:{port}/readyz")
                assert ready.status_code == 200, (port, ready.text)
        assert (clone / ".run" / "logs" / "postgres.log").exists(), "the server's log is not linked from .run/logs"

        tested = _make("test", clone, {**env, "INNOVATION_TEST_RUN_DIR": str(clone / ".run" / "test")},
                       "ARGS=-q -p no:cacheprovider tests/unit/test_kafka_records.py")
        assert tested.returncode == 0, tested.stdout[-3000:] + tested.stderr[-3000:]
        assert "4 passed" in tested.stdout
    finally:
        down = _make("down", clone, env)
        data = Path("/var/tmp")
        for leftover in data.glob("innovation-postgres-*"):
            if (leftover / "data" / "postgresql.conf").exists() and \
                    f"port = {postgres}\n" in (leftover / "data" / "postgresql.conf").read_text():
                shutil.rmtree(leftover, ignore_errors=True)
    assert down.returncode == 0, down.stderr[-2000:]
    assert not any(listening(port) for port in (base, base + 1, base + 4, base + 23, kafka, postgres)), "make down left something listening"
