"""`docker compose up` as an operator runs it, for real: the container engine from Debian's
packages, stand-in images for the official ones Docker Hub would give (built from our registries
by deploy/compose/standins/build.sh), the whole stack up and healthy, driven from the host through
its published ports; Kafka's security checked from outside; Kafka and PostgreSQL restarted in the
middle of a flow with nothing accepted lost; and `down -v` leaving nothing behind.

Each check is said on stderr as it passes (`compose-test: ...`), so `make test`'s output names it."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import time
import uuid
from datetime import date, timedelta
from pathlib import Path

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import KafkaError

from services.experiments.domain import experiment_id_for
from shared.auth import new_key
from tests.support.containers import ensure_engine, narrate, run, say
from tests.support.infra import ROOT
from tests.support.waiting import eventually

PROJECT = f"innovation-ct{uuid.uuid4().hex[:6]}"
HOST = "127.0.0.1"
PORTS = {"reporting": 8000, "ideas-dwp": 8001, "experiments-dwp": 8002, "notifications-dwp": 8003, "mail": 8025}


class Compose:
    """docker-compose on the project's file, as its own project with its own .env."""

    def __init__(self, env_file: Path, overrides: dict[str, str]) -> None:
        self.env_file = env_file
        self.env = {**os.environ, **overrides}
        self.secrets = dict(line.split("=", 1) for line in env_file.read_text().splitlines()
                            if "=" in line and not line.startswith("#"))

    def __call__(self, *args: str, timeout: float = 900, check: bool = True):
        return run("docker-compose", "-p", PROJECT, "--env-file", str(self.env_file), "-f", str(ROOT / "docker-compose.yml"),
                   "--project-directory", str(ROOT), *args, timeout=timeout, check=check, env=self.env)

    async def do(self, *args: str, timeout: float = 900):
        return await asyncio.to_thread(self, *args, timeout=timeout)

    def states(self) -> dict[str, tuple[str, str, int]]:
        """service -> (status, health, exit code) of each container of the project."""
        ids = self("ps", "-a", "-q").stdout.split()
        if not ids:
            return {}
        out = run("docker", "inspect", "-f", '{{index .Config.Labels "com.docker.compose.service"}} {{.State.Status}} '
                  "{{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}} {{.State.ExitCode}}", *ids).stdout
        return {s: (status, health, int(code)) for s, status, health, code in (line.split() for line in out.splitlines())}


def _all_healthy(states: dict[str, tuple[str, str, int]]) -> bool:
    def ready(service: str, state: tuple[str, str, int]) -> bool:
        status, health, code = state
        if service == "init":
            return status == "exited" and code == 0
        return status == "running" and health in ("healthy", "none")
    return bool(states) and all(ready(s, v) for s, v in states.items())


async def _wait_healthy(compose: Compose, timeout: float = 480) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        states = await asyncio.to_thread(compose.states)
        failed = {s: v for s, v in states.items() if (s == "init" and v[0] == "exited" and v[2] != 0)
                  or v[1] == "unhealthy"}
        if failed or time.monotonic() > deadline:
            logs = (await asyncio.to_thread(compose, "logs", "--tail", "40", check=False)).stdout[-6000:]
            raise AssertionError(f"not healthy: {failed or states}\n{logs}")
        if _all_healthy(states):
            return states
        await asyncio.sleep(3)


def _url(service: str, path: str) -> str:
    return f"http://{HOST}:{PORTS[service]}{path}"


async def _register_keys(compose: Compose) -> dict[str, str]:
    """A contributor's and an admin's key for each dwp service, stored in its database (acts for people)."""
    keys = {"contributor": new_key(), "admin": new_key()}
    for service, dsn in (("ideas-dwp", "IDEAS_DATABASE_URL"), ("experiments-dwp", "EXPERIMENTS_DATABASE_URL"),
                         ("notifications-dwp", "NOTIFICATIONS_DATABASE_URL")):
        for role, key in keys.items():
            await compose.do("exec", "-T", service, "sh", "-c",
                             f'python -m shared.auth register --dsn "${dsn}" --department dwp --role {role} '
                             f'--acts-for-people --label compose-test --key "$0"', key, timeout=120)
    return keys


def _headers(key: str, person: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}", "X-Person-Ref": person}


async def _found(client: httpx.AsyncClient, url: str, **kw) -> dict | None:
    try:
        answer = await client.get(url, **kw)
    except httpx.HTTPError:
        return None
    return answer.json() if answer.status_code == 200 else None


async def _emails(client: httpx.AsyncClient) -> list[dict]:
    """The mail sink's messages: mailpit's API, or the stand-in sink's."""
    for path in ("/api/v1/messages", "/api/messages"):
        with contextlib.suppress(httpx.HTTPError, ValueError):
            answer = await client.get(_url("mail", path))
            if answer.status_code == 200:
                body = answer.json()
                return body.get("messages", []) if isinstance(body, dict) else body
    return []


# -- Kafka from outside ---------------------------------------------------------------------------


def _sasl(user: str, password: str) -> dict:
    return {"bootstrap_servers": f"{HOST}:{os.environ.get('COMPOSE_KAFKA_PORT', '29192')}",
            "security_protocol": "SASL_PLAINTEXT", "sasl_mechanism": "SCRAM-SHA-512",
            "sasl_plain_username": user, "sasl_plain_password": password, "request_timeout_ms": 10000}


async def _can_write(options: dict, topic: str) -> bool:
    producer = AIOKafkaProducer(**options, enable_idempotence=False, acks=1)
    try:
        await asyncio.wait_for(producer.start(), 20)
        await asyncio.wait_for(producer.send_and_wait(topic, b"compose-test probe"), 20)
        return True
    except (KafkaError, asyncio.TimeoutError):
        return False
    finally:
        with contextlib.suppress(Exception):
            await producer.stop()


async def _can_read(options: dict, topic: str) -> bool:
    consumer = AIOKafkaConsumer(**options, group_id=None, enable_auto_commit=False)
    try:
        await asyncio.wait_for(consumer.start(), 20)
        consumer.assign([TopicPartition(topic, 0)])
        await consumer.seek_to_beginning()
        await asyncio.wait_for(consumer.getmany(timeout_ms=3000), 20)
        await asyncio.wait_for(consumer.position(TopicPartition(topic, 0)), 20)
        return True
    except (KafkaError, asyncio.TimeoutError):
        return False
    finally:
        with contextlib.suppress(Exception):
            await consumer.stop()


async def _kafka_security(compose: Compose) -> None:
    secret = compose.secrets
    dwp = _sasl("dwp-ideas", secret["KAFKA_PASSWORD_DWP_IDEAS"])
    reporting = _sasl("reporting", secret["KAFKA_PASSWORD_REPORTING"])
    assert await _can_write(dwp, "innovation.dwp.ideas.v1")
    assert not await _can_write(dwp, "innovation.hmrc.ideas.v1")
    say("a dwp principal writes dwp's stream and cannot write hmrc's")
    assert not await _can_read(dwp, "innovation.hmrc.inbound.ideas.v1")
    say("a dwp principal cannot read hmrc's intake")
    for topic in ("innovation.dwp.ideas.v1", "innovation.hmrc.experiments.v1", "innovation.hmrc.outcomes.v1"):
        assert await _can_read(reporting, topic), topic
    say("the reporting principal reads every department's streams")
    for topic in ("innovation.dwp.ideas.v1", "innovation.hmrc.outcomes.v1", "innovation.dwp.inbound.ideas.v1"):
        assert not await _can_write(reporting, topic), topic
    assert await _can_write(reporting, "innovation.dlq.reporting")
    say("the reporting principal writes nothing but its dead-letter topic")
    assert not await _can_read(_sasl("dwp-ideas", "not-the-password-0000"), "innovation.dwp.ideas.v1")
    assert not await _can_read(_sasl("nobody-at-all", "not-the-password-0000"), "innovation.dwp.ideas.v1")
    say("a wrong password and an unknown principal are refused")
    plaintext = {"bootstrap_servers": dwp["bootstrap_servers"], "request_timeout_ms": 5000}
    assert not await _can_read(plaintext, "innovation.dwp.ideas.v1")
    assert not await _can_write(plaintext, "innovation.dwp.ideas.v1")
    say("an unauthenticated client gets nothing from the published listener")


# -- the test -------------------------------------------------------------------------------------


@pytest.mark.timeout(3000)
async def test_docker_compose_up_for_real(tmp_path, request):
    narrate(request.config)
    engine = ensure_engine(tmp_path / "dockerd.log")
    compose = None
    try:
        started = time.monotonic()
        built = await asyncio.to_thread(run, "bash", str(ROOT / "deploy" / "compose" / "standins" / "build.sh"),
                                        timeout=1800)
        overrides = dict(line.split("=", 1) for line in built.stdout.splitlines() if "=" in line and line.split("=")[0].isupper())
        say(f"stand-in images ready in {time.monotonic() - started:.0f} s: {', '.join(overrides.values())}")
        kafka_port = os.environ.setdefault("COMPOSE_KAFKA_PORT", "29192")
        overrides["KAFKA_EXTERNAL_PORT"] = kafka_port
        env_file = tmp_path / "compose.env"
        run("bash", str(ROOT / "deploy" / "compose" / "new-env.sh"), str(env_file))
        compose = Compose(env_file, overrides)

        started = time.monotonic()
        await compose.do("up", "-d", "--build", timeout=1800)
        states = await _wait_healthy(compose)
        say(f"up and healthy in {time.monotonic() - started:.0f} s: {', '.join(sorted(states))}")

        keys = await _register_keys(compose)
        async with httpx.AsyncClient(timeout=20) as client:
            await _idea_to_outcome(client, keys)
            await _kafka_security(compose)
            await _restarts(client, compose, keys)
        await compose.do("down", "-v", timeout=300)
        left = {kind: run("docker", kind, "ls", *(["-a"] if kind == "container" else []), "-q", "--filter",
                          f"label=com.docker.compose.project={PROJECT}").stdout.split()
                for kind in ("container", "network", "volume")}
        assert left == {"container": [], "network": [], "volume": []}, left
        say("down -v left no container, network or volume")
        compose = None
    finally:
        if compose is not None:
            await asyncio.to_thread(compose, "down", "-v", "--remove-orphans", timeout=300, check=False)
        engine.stop()


async def _idea_to_outcome(client: httpx.AsyncClient, keys: dict[str, str]) -> None:
    author = "ref-compose-author"
    subscribed = await client.put(_url("notifications-dwp", f"/v1/subscriptions/{author}"),
                                  headers=_headers(keys["contributor"], author), json={"email": "author@dwp.example.gov.uk"})
    assert subscribed.status_code == 201, subscribed.text
    submitted = await client.post(_url("ideas-dwp", "/v1/ideas"), headers=_headers(keys["contributor"], author), json={
        "title": "Compose idea", "problem": "Operators need proof.", "proposal": "Bring it up for real."})
    assert submitted.status_code == 201, submitted.text
    idea_id = submitted.json()["idea_id"]
    admin = _headers(keys["admin"], "ref-compose-panel")
    assert (await client.post(_url("ideas-dwp", f"/v1/ideas/{idea_id}/shortlist"), headers=admin)).status_code == 200
    backed = await client.post(_url("ideas-dwp", f"/v1/ideas/{idea_id}/back"), headers=admin,
                               json={"budget_gbp": 1000, "staff_days": 5, "timebox_weeks": 4})
    assert backed.status_code == 200, backed.text
    say("a dwp idea submitted, shortlisted and backed")

    base = _url("experiments-dwp", f"/v1/experiments/{experiment_id_for('dwp', uuid.UUID(idea_id))}")
    squad = _headers(keys["contributor"], "ref-compose-squad")
    await eventually(lambda: _found(client, base, headers=squad), what="the experiment", timeout=120)
    today = date.today()
    planned = await client.post(f"{base}/plan", headers=squad, json={
        "hypothesis": "It comes up", "starts_on": today.isoformat(), "ends_on": (today + timedelta(weeks=4)).isoformat(),
        "squad_size": 2, "measure": {"name": "checks", "unit": "checks", "baseline": 0, "target": 10, "direction": "increase"}})
    assert planned.status_code == 200, planned.text
    assert (await client.post(f"{base}/start", headers=squad)).status_code == 200
    completed = await client.post(f"{base}/complete", headers=squad, json={
        "result": "succeeded", "summary": "It came up.", "learnings": ["Build the images first"], "recommendation": "scale"})
    assert completed.status_code == 200, completed.text
    say("the experiment planned, started and completed")

    outcomes = await eventually(
        lambda: _found_items(client, _url("reporting", f"/v1/outcomes?idea_id={idea_id}")), what="the outcome centrally",
        timeout=120)
    assert outcomes[0]["result"] == "succeeded"
    assert (await client.get(_url("reporting", "/"))).status_code == 200
    say("the outcome is on the central dashboard")

    async def mail():
        found = [m for m in await _emails(client) if "author@dwp.example.gov.uk" in json.dumps(m)]
        return found or None
    await eventually(mail, what="an email to the author in the mail sink", timeout=120)
    say("the author's email is in the mail sink")


async def _found_items(client: httpx.AsyncClient, url: str) -> list | None:
    body = await _found(client, url)
    return body["items"] if body and body.get("items") else None


async def _restarts(client: httpx.AsyncClient, compose: Compose, keys: dict[str, str]) -> None:
    """Ideas submitted while Kafka, then PostgreSQL, restart: every one accepted reaches the dashboard."""
    accepted: list[str] = []
    refused = 0
    headers = _headers(keys["contributor"], "ref-compose-steady")

    async def submit(n: int) -> None:
        nonlocal refused
        try:
            answer = await client.post(_url("ideas-dwp", "/v1/ideas"), headers=headers, json={
                "title": f"Steady idea {n}", "problem": "Restarts happen.", "proposal": "Lose nothing."})
        except httpx.HTTPError:
            refused += 1
            return
        if answer.status_code == 201:
            accepted.append(answer.json()["idea_id"])
        else:
            refused += 1

    async def steady(count: int) -> None:
        for n in range(count):
            await submit(n)
            await asyncio.sleep(0.3)

    for container in ("kafka", "postgres"):
        flow = asyncio.create_task(steady(30))
        await asyncio.sleep(2)
        await compose.do("restart", container, timeout=300)
        await flow
        await _wait_healthy(compose, timeout=300)
        say(f"{container} restarted mid-flow: {len(accepted)} ideas accepted so far, {refused} refused while it was away")

    async def all_there():
        for idea_id in accepted:
            if await _found(client, _url("reporting", f"/v1/ideas/dwp/{idea_id}")) is None:
                return None
        return True
    await eventually(all_there, what="every accepted idea on the dashboard", timeout=240)
    say(f"all {len(accepted)} accepted ideas reached the dashboard")
