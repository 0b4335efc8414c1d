"""A container engine for the tests, as an operator's machine has one: Debian's docker.io and
docker-compose, installed when missing, and a dockerd started when none runs (and stopped again
only if it was started here). Every step is said on stderr, so `make test`'s output names it."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

PACKAGES = ("docker.io", "docker-compose", "debootstrap")


_capture = None  # pytest's capture manager, once a test has called narrate()


def narrate(config) -> None:
    """Sends say()'s lines past pytest's output capture (as capsys.disabled() does), so `make test` shows them."""
    global _capture
    _capture = config.pluginmanager.get_plugin("capturemanager")


def say(line: str) -> None:
    """A line of the test's story in `make test`'s output."""
    with _capture.global_and_fixture_disabled() if _capture is not None else contextlib.nullcontext():
        print(f"\ncompose-test: {line}", file=sys.stderr, flush=True)


def run(*command: str, timeout: float = 600, check: bool = True, env: dict[str, str] | None = None,
        cwd: Path | None = None) -> subprocess.CompletedProcess:
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env, cwd=cwd)
    if check and done.returncode != 0:
        raise AssertionError(f"{' '.join(command)} exited {done.returncode}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return done


def _engine_answers() -> bool:
    if shutil.which("docker") is None:
        return False
    return subprocess.run(["docker", "info"], capture_output=True, timeout=60).returncode == 0


@dataclass
class Engine:
    started: subprocess.Popen | None  # the dockerd started here, or None: it was running already

    def stop(self) -> None:
        if self.started is not None and self.started.poll() is None:
            self.started.terminate()
            try:
                self.started.wait(60)
            except subprocess.TimeoutExpired:
                self.started.kill()
                self.started.wait(10)
            say("stopped the dockerd this test started")


def ensure_engine(log: Path) -> Engine:
    """The engine, with compose and debootstrap; installs and starts what is missing."""
    missing = [p for p, tool in zip(PACKAGES, ("dockerd", "docker-compose", "debootstrap")) if shutil.which(tool) is None]
    if missing:
        if os.geteuid() != 0:
            raise AssertionError(f"{', '.join(missing)} missing, and installing Debian packages needs root")
        say(f"installing {', '.join(missing)} from Debian's packages")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        run("apt-get", "update", "-q", env=env, timeout=600)
        run("apt-get", "install", "-y", "-q", "--no-install-recommends", *missing, env=env, timeout=900)
    if _engine_answers():
        say("a container engine is running already; using it")
        return Engine(started=None)
    if os.geteuid() != 0:
        raise AssertionError("no container engine runs, and starting dockerd needs root")
    say("starting dockerd")
    with open(log, "ab") as out:
        process = subprocess.Popen(["dockerd"], stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 90
    while not _engine_answers():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise AssertionError(f"dockerd did not start: {log.read_text(errors='replace')[-2000:]}")
        time.sleep(1)
    return Engine(started=process)
