"""The stand-in images for the official ones (deploy/compose/standins): build.sh builds them from
Debian's packages and reuses what it built; check.sh runs each with plain `docker run` on the
interface the compose file and the Dockerfile rely on (python: 3.11, pip, `pip install .` of the
project; node: `npm ci` of the dashboard's front-end; kafka: the /opt/kafka/bin tools and
kafka-server.sh with SASL/SCRAM; postgres: the official entrypoint's initdb, init scripts and
password auth from another container; mailpit: SMTP from the host, read on 8025, `/mailpit readyz`).
The container engine is Debian's, installed and started when missing (tests/support/containers)."""

from __future__ import annotations

import time

import pytest

from tests.support.containers import ensure_engine, narrate, run, say
from tests.support.infra import ROOT

STANDINS = ROOT / "deploy" / "compose" / "standins"
KEYS = {"PYTHON_IMAGE", "NODE_IMAGE", "KAFKA_IMAGE", "POSTGRES_IMAGE", "MAILPIT_IMAGE"}


@pytest.fixture(scope="module")
def engine(tmp_path_factory, pytestconfig):
    narrate(pytestconfig)
    engine = ensure_engine(tmp_path_factory.mktemp("dockerd") / "dockerd.log")
    yield engine
    engine.stop()


def _build(*names: str):
    return run("bash", str(STANDINS / "build.sh"), *names, timeout=1800, check=False)


@pytest.mark.timeout(1900)
def test_build_prints_the_overrides_and_a_second_run_rebuilds_nothing(engine):
    first = _build()
    assert first.returncode == 0, first.stderr[-4000:]
    overrides = dict(line.split("=", 1) for line in first.stdout.splitlines())
    assert set(overrides) == KEYS
    for image in overrides.values():
        labels = run("docker", "image", "inspect", "-f", '{{index .Config.Labels "org.innovation.standin.inputs"}}', image)
        assert len(labels.stdout.strip()) == 32, image  # the hash of its inputs, which the next run compares

    started = time.monotonic()
    second = _build()
    took = time.monotonic() - started
    assert second.returncode == 0, second.stderr[-4000:]
    assert second.stdout == first.stdout
    assert "building" not in second.stderr and second.stderr.count(": up to date (") == len(KEYS)
    assert took < 30, f"a run with nothing to build took {took:.0f} s"
    say(f"stand-ins: a second build.sh run reused every image in {took:.1f} s")


def test_build_refuses_an_unknown_name_before_building_anything(engine):
    refused = _build("python", "postgres;rm -rf /", "--all")
    assert refused.returncode == 1
    assert refused.stdout == ""
    assert refused.stderr.strip().splitlines() == [
        "standins: error: unknown stand-in 'postgres;rm -rf /' (known: python node kafka postgres mailpit)"]


@pytest.mark.timeout(1900)
@pytest.mark.parametrize("name", ["postgres", "mailpit", "node", "kafka", "python"])
def test_standin_image_gives_the_interface_compose_relies_on(engine, name):
    done = run("bash", str(STANDINS / "check.sh"), name, timeout=1800, check=False)
    checks = [line for line in done.stderr.splitlines() if line.startswith("check: ")]
    for line in checks:
        say(f"stand-ins: {line.removeprefix('check: ')}")
    assert done.returncode == 0, done.stderr[-4000:]
    assert checks[-1] == f"check: all passed: {name}"
    assert len(checks) >= 3  # each image has several checks; none of them is skipped
