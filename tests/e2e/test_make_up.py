"""`make up` as a newcomer runs it: everything comes up ready, a second run changes nothing,
and `make down` leaves no process behind. The run gets its own run directory, ports, demo
departments, reporting database and consumer group, so a `make up` already running on the
machine, and the broker and database the other tests use, are left alone."""

import json
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from shared.events import decode
from shared.events.topics import intake_topic
from tests.support.kafka import create_topics, read_to_end
from tests.support.ports import free_block, listening
from tests.support.waiting import at_least, eventually

ROOT = Path(__file__).resolve().parents[2]


def _run(script: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(ROOT / "deploy" / script)], env=env, capture_output=True, text=True, timeout=300)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def test_make_up_twice_then_make_down(tmp_path, kafka_bootstrap, postgres_url, new_database):
    tag = uuid.uuid4().hex[:6]
    departments = [f"up{tag}a", f"up{tag}b"]
    base = free_block(25)
    env = {
        **os.environ,
        "INNOVATION_RUN_DIR": str(tmp_path / "run"),
        "INNOVATION_PORT_BASE": str(base),
        "SMTP_SINK_SMTP_PORT": str(base + 21), "SMTP_SINK_HTTP_PORT": str(base + 22), "KEYCLOAK_PORT": str(base + 23),
        "INNOVATION_DEMO_DEPARTMENTS": " ".join(departments),
        "INNOVATION_SIMULATED_DEPARTMENTS": f"up{tag}sim", "INNOVATION_SIMULATOR_RATE": "2",
        "REPORTING_DATABASE_URL": await new_database("reporting"),
        "REPORTING_GROUP_ID": f"reporting-up{tag}",
        "REPORTING_TOPIC_PATTERN": rf"^innovation\.up{tag}[a-z]+\.(ideas|experiments|outcomes)\.v1$",
        "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
        # The scripts find the tests' broker and server already answering on these ports, and reuse them.
        "KAFKA_PORT": kafka_bootstrap.rsplit(":", 1)[1], "PG_PORT": str(urlsplit(postgres_url).port),
    }
    env.pop("INNOVATION_DEVELOPMENT_MODE", None)  # make up must set it itself
    ports = [base] + [base + 10 * n + k for n in range(2) for k in (1, 2, 3, 4)]  # 4: the portal
    pid_dir = tmp_path / "run" / "pids"
    await create_topics(kafka_bootstrap, *(f"innovation.up{tag}sim.{s}.v1" for s in ("ideas", "experiments", "outcomes")))
    try:
        first = _run("up.sh", env)
        assert first.returncode == 0, first.stderr[-2000:]
        async with httpx.AsyncClient() as client:
            for port in ports:
                ready = await client.get(f"http://127.0.0.1:{port}/readyz")
                assert ready.status_code == 200 and ready.json()["status"] == "ready", (port, ready.text)
            keys = json.loads((tmp_path / "run" / "demo-keys.json").read_text())
            assert set(keys) == set(departments)
            assert all(set(by_role) == {"contributor", "reviewer", "admin", "viewer"} for by_role in keys.values())
            # Each demo department's people sign in at its own realm of the run's Keycloak.
            users = json.loads((tmp_path / "run" / "demo-users.json").read_text())
            assert set(users) == set(departments)
            for dept in departments:
                account = users[dept]["reviewer"]
                signed_in = await client.post(
                    f"http://127.0.0.1:{base + 23}/realms/{dept}/protocol/openid-connect/token",
                    data={"grant_type": "password", "client_id": "innovation-tests", **account})
                assert signed_in.status_code == 200, signed_in.text
            submitted = await client.post(
                f"http://127.0.0.1:{base + 1}/v1/ideas",
                headers={"Authorization": f"Bearer {keys[departments[0]]['contributor']}", "X-Person-Ref": "newcomer"},
                json={"title": "Fewer forms", "problem": "Too many forms.", "proposal": "Merge them."},
            )
            assert submitted.status_code == 201, submitted.text
            page = await client.get(f"http://127.0.0.1:{base}/")
            assert f"the events of up{tag}sim come from a simulator" in page.text
            # Each department's portal sends people to sign in at their department's realm.
            for n, dept in enumerate(departments):
                sign_in = await client.get(f"http://127.0.0.1:{base + 10 * n + 4}/auth/sign-in")
                assert sign_in.status_code == 303, sign_in.text
                assert sign_in.headers["location"].startswith(
                    f"http://127.0.0.1:{base + 23}/realms/{dept}/protocol/openid-connect/auth?")
        for n, dept in enumerate(departments):
            assert f"portal http://127.0.0.1:{base + 10 * n + 4}/" in first.stderr + first.stdout
        assert f"simulated (demo data from a simulator, no services): up{tag}sim" in first.stderr + first.stdout
        intake = intake_topic(departments[0], "ideas")
        assert f"team-conversation tool (simulated) emits onto {intake}" in first.stderr + first.stdout
        pids = {p.stem: int(p.read_text()) for p in pid_dir.glob("*.pid")}
        assert {"reporting", "smtp-sink", "simulator", f"ideas-{departments[1]}",
                f"intake-simulator-{departments[0]}"} <= set(pids)
        # The first demo department's team-conversation tool emits onto its intake, as a departmental system.
        records = await eventually(lambda: at_least(read_to_end(kafka_bootstrap, intake), 3), what="intake events")
        assert {decode(r.value, r.headers, topic=intake).source for r in records} == {
            f"/departments/{departments[0]}/systems/team-conversations"}

        second = _run("up.sh", env)
        assert second.returncode == 0, second.stderr[-2000:]
        assert {p.stem: int(p.read_text()) for p in pid_dir.glob("*.pid")} == pids
        assert all(_alive(pid) for pid in pids.values())
    finally:
        down = _run("down.sh", env)
    assert down.returncode == 0, down.stderr[-2000:]
    assert not [name for name, pid in pids.items() if _alive(pid)]
    assert not [port for port in ports + [base + 23] if listening(port)]  # + Keycloak
    assert not list(pid_dir.glob("*.pid"))


async def test_a_make_up_that_fails_part_way_stops_what_it_started(tmp_path):
    """The reporting port is taken: make up fails, naming the port, and the broker, the database
    server and the processes it had started are stopped again."""
    base = free_block(35)
    kafka, controller, postgres = (base + 30, base + 31, base + 32)
    pg_home = Path(tempfile.mkdtemp(prefix="make-up-fails-", dir="/var/tmp"))
    pg_home.chmod(0o755)  # the postgres user enters it
    env = {key: value for key, value in os.environ.items() if key not in ("KAFKA_BOOTSTRAP_SERVERS", "POSTGRES_URL")}
    env.update({
        "INNOVATION_RUN_DIR": str(tmp_path / "run"), "INNOVATION_PORT_BASE": str(base),
        "SMTP_SINK_SMTP_PORT": str(base + 21), "SMTP_SINK_HTTP_PORT": str(base + 22), "KEYCLOAK_PORT": str(base + 33),
        "KAFKA_PORT": str(kafka), "KAFKA_CONTROLLER_PORT": str(controller), "PG_PORT": str(postgres),
        "KAFKA_HEAP": "384m", "INNOVATION_DEMO_DEPARTMENTS": f"fail{uuid.uuid4().hex[:6]}", "INNOVATION_SIMULATOR": "off",
        "PG_DATA_HOME": str(pg_home),
    })
    try:
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", base))
            taken.listen()
            failed = _run("up.sh", env)
    finally:
        shutil.rmtree(pg_home, ignore_errors=True)
    assert failed.returncode != 0
    assert f"port {base}" in failed.stderr and "stopped again" in failed.stderr, failed.stderr[-2000:]
    assert "stopped smtp-sink" in failed.stderr
    assert "keycloak: stopped" in failed.stderr
    assert not [port for port in (kafka, postgres, base + 21, base + 33) if listening(port)], "something started is still running"
    assert not list((tmp_path / "run" / "pids").glob("*.pid"))
