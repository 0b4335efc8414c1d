"""A service as a real process (`python -m services.<name>`): started, killed, stopped, and read
from outside (its /metrics), as an operator sees it."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.support.infra import ROOT
from tests.support.ports import free_port


class ServiceProcess:
    """`python -m services.<service>` with `env` on top of ours, its output appended to `log`."""

    def __init__(self, service: str, *, log: Path, **env: str) -> None:
        self.service = service
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        self.env = {**os.environ, "HTTP_PORT": str(self.port), "PYTHONPATH": str(ROOT), **env}
        self.process: subprocess.Popen | None = None

    def log_tail(self, chars: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    async def start(self, timeout: float = 60.0) -> None:
        """Starts the process and waits until its /readyz answers 200."""
        with open(self.log, "ab") as out:
            self.process = subprocess.Popen([sys.executable, "-m", f"services.{self.service}"], cwd=ROOT,
                                            env=self.env, stdout=out, stderr=subprocess.STDOUT)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        async with httpx.AsyncClient() as client:
            while True:
                if self.process.poll() is not None:
                    raise AssertionError(f"{self.service} exited with {self.process.returncode}: {self.log_tail()}")
                try:
                    if (await client.get(f"{self.url}/readyz", timeout=2)).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                if loop.time() > deadline:
                    raise AssertionError(f"{self.service} did not become ready: {self.log_tail()}")
                await asyncio.sleep(0.2)

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, as when the machine or the OOM killer ends it."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        """SIGTERM (a graceful stop), SIGKILL if that takes more than 30 s; safe to call twice."""
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)

    async def metric(self, name: str, **labels: str) -> float | None:
        """The sum of the samples of `name` whose labels include `labels`; None when there is none."""
        async with httpx.AsyncClient() as client:
            response = await client.get(f"{self.url}/metrics", timeout=10)
        response.raise_for_status()
        values = [sample.value for family in text_string_to_metric_families(response.text)
                  for sample in family.samples
                  if sample.name == name and labels.items() <= sample.labels.items()]
        return sum(values) if values else None


def reporting_process(*, dsn: str, bootstrap: str, pattern: str, group_id: str, log: Path,
                      **env: str) -> ServiceProcess:
    """The reporting service, its consumer narrowed to the topics `pattern` matches."""
    return ServiceProcess(
        "reporting", log=log, REPORTING_DATABASE_URL=dsn, KAFKA_BOOTSTRAP_SERVERS=bootstrap,
        REPORTING_TOPIC_PATTERN=pattern, REPORTING_GROUP_ID=group_id, REPORTING_METADATA_MAX_AGE_MS="1000", **env,
    )


def experiments_process(*, dsn: str, bootstrap: str, department: str, log: Path, **env: str) -> ServiceProcess:
    """The experiments service of `department`; its outcome catalogue reads only that department's
    outcomes (the shared broker carries every engineer's test topics)."""
    return ServiceProcess(
        "experiments", log=log, EXPERIMENTS_DATABASE_URL=dsn, KAFKA_BOOTSTRAP_SERVERS=bootstrap,
        INNOVATION_DEPARTMENT=department, INNOVATION_PSEUDONYM_SECRET="fault-suite-secret",
        EXPERIMENTS_OUTCOMES_PATTERN=rf"^innovation\.{re.escape(department)}\.outcomes\.v1$",
        EXPERIMENTS_METADATA_MAX_AGE_MS="1000", **env,
    )
