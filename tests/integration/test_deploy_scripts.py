"""The deploy scripts fail clearly: one line naming what they tried, the port or the log to
read, a non-zero exit, and nothing left half-running. Each test uses its own run and cache
directories and its own ports, so the broker and database the other tests use are untouched."""

import os
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from shared.events import decode
from shared.events.topics import intake_topic, topic_name
from tests.support.kafka import create_topics, read_to_end
from tests.support.ports import free_port

ROOT = Path(__file__).resolve().parents[2]
KAFKA_JARS = ROOT / ".cache"  # fetched by the install step


def _script(name: str, command: str, tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    environment = {**os.environ, "INNOVATION_RUN_DIR": str(tmp_path / "run"), **env}
    return subprocess.run(["bash", str(ROOT / "deploy" / name), command], env=environment,
                          capture_output=True, text=True, timeout=240)


@pytest.fixture
def occupied_port():
    """A port something else listens on."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield listener.getsockname()[1]


def _java_processes_with(marker: str) -> list[str]:
    out = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    return [line for line in out.splitlines() if "kafka.Kafka" in line and marker in line]


def test_kafka_jars_unreachable_stops_with_one_clear_line(tmp_path):
    settings = tmp_path / "settings.xml"
    settings.write_text(f"""<settings><localRepository>{tmp_path / "m2"}</localRepository>
      <mirrors><mirror><id>nowhere</id><mirrorOf>*</mirrorOf><url>http://127.0.0.1:9/maven2</url></mirror></mirrors>
    </settings>""")
    result = _script("kafka.sh", "fetch", tmp_path, INNOVATION_CACHE_DIR=str(tmp_path / "cache"),
                     KAFKA_MAVEN_SETTINGS=str(settings))
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith("error: could not fetch org.apache.kafka:kafka_2.13:")
    assert "Maven Central" in lines[-1] and "kafka-fetch.log" in lines[-1]
    assert "Exception" not in result.stderr and "\tat " not in result.stderr
    assert not (tmp_path / "cache" / "kafka-4.1.1" / "libs").exists()  # no half-fetched jars are kept


def test_kafka_refuses_a_port_in_use_naming_it(tmp_path, occupied_port):
    result = _script("kafka.sh", "start", tmp_path, KAFKA_PORT=str(occupied_port),
                     KAFKA_CONTROLLER_PORT=str(free_port()))
    assert result.returncode != 0
    assert f"port {occupied_port} for Kafka is already in use" in result.stderr
    assert not _java_processes_with(str(tmp_path))


def test_a_broker_that_dies_on_start_names_its_log_and_leaves_nothing_running(tmp_path):
    result = _script("kafka.sh", "start", tmp_path, KAFKA_PORT=str(free_port()),
                     KAFKA_CONTROLLER_PORT=str(free_port()), KAFKA_HEAP="not-a-size")
    assert result.returncode != 0
    assert "exited during start-up" in result.stderr and str(tmp_path / "run" / "logs" / "kafka.log") in result.stderr
    assert not _java_processes_with(str(tmp_path))
    assert not (tmp_path / "run" / "pids" / "kafka.pid").exists()


@pytest.fixture
def reachable_dir():
    """A directory the postgres user may enter (pytest's own temporary directories are private)."""
    path = Path(tempfile.mkdtemp(prefix="deploy-test-", dir="/var/tmp"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_postgres_refuses_a_port_in_use_that_is_not_a_usable_server(tmp_path, occupied_port, reachable_dir):
    result = _script("postgres.sh", "start", tmp_path, PG_PORT=str(occupied_port), PG_DATA_HOME=str(reachable_dir))
    assert result.returncode != 0
    assert f"port {occupied_port} for PostgreSQL is already in use" in result.stderr
    assert not (reachable_dir / "data" / "postmaster.pid").exists()


async def test_the_intake_simulator_emits_a_team_conversation_tool_onto_the_intake_only(kafka_bootstrap, department):
    """`simulator.py --intake`, as make up starts it: valid events on the department's intake, none on its stream."""
    intake, canonical = intake_topic(department, "ideas"), topic_name(department, "ideas")
    await create_topics(kafka_bootstrap, intake, canonical)
    result = subprocess.run(
        [sys.executable, "deploy/simulator.py", "--intake", department, "--history", "40", "--count", "40",
         "--seed", "3", "--bootstrap", kafka_bootstrap], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    records = await read_to_end(kafka_bootstrap, intake)
    events = [decode(r.value, r.headers, topic=intake) for r in records]  # the department and stream checked too
    assert len(events) == 40 and not await read_to_end(kafka_bootstrap, canonical)
    assert {e.source for e in events} == {f"/departments/{department}/systems/team-conversations"}
    assert {e.type.split(".")[-2] for e in events} == {"recorded", "submitted", "endorsed"}
    assert all(r.key == e.data.aggregate_id.encode() for r, e in zip(records, events))
