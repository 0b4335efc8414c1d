"""The reporting service as a real process (`python -m services.reporting`), for kill and browser tests."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[3]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServiceProcess:
    def __init__(self, *, dsn: str, bootstrap: str, pattern: str, group_id: str, log: Path, **env: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        self.env = {**os.environ, "REPORTING_DATABASE_URL": dsn, "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
                    "HTTP_PORT": str(self.port), "REPORTING_TOPIC_PATTERN": pattern, "REPORTING_GROUP_ID": group_id,
                    "REPORTING_METADATA_MAX_AGE_MS": "1000", "PYTHONPATH": str(ROOT), **env}
        self.process: subprocess.Popen | None = None

    async def start(self, timeout: float = 60.0) -> None:
        with open(self.log, "ab") as out:
            self.process = subprocess.Popen([sys.executable, "-m", "services.reporting"], cwd=ROOT, env=self.env,
                                            stdout=out, stderr=subprocess.STDOUT)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        async with httpx.AsyncClient() as client:
            while True:
                if self.process.poll() is not None:
                    raise AssertionError(f"the service exited with {self.process.returncode}: {self.log.read_text()[-3000:]}")
                try:
                    if (await client.get(f"{self.url}/readyz", timeout=2)).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                if loop.time() > deadline:
                    raise AssertionError(f"the service did not become ready: {self.log.read_text()[-3000:]}")
                await asyncio.sleep(0.2)

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
