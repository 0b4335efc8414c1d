"""A Kafka broker of a test's own (other ports, its own state directory), for faults that must not
touch the shared broker other tests use: stopping it, pausing it."""

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

from tests.support.infra import ROOT
from tests.support.ports import free_ports


class OwnBroker:
    def __init__(self, prefix: str = "own-broker-") -> None:
        self.run_dir = tempfile.mkdtemp(prefix=prefix)
        self.port, self.controller_port = free_ports(2)
        self.bootstrap = f"127.0.0.1:{self.port}"

    def _script(self, command: str) -> None:
        env = {**os.environ, "INNOVATION_RUN_DIR": self.run_dir, "KAFKA_PORT": str(self.port),
               "KAFKA_CONTROLLER_PORT": str(self.controller_port), "KAFKA_HEAP": "384m"}
        result = subprocess.run(["bash", str(ROOT / "deploy" / "kafka.sh"), command], env=env,
                                capture_output=True, text=True, timeout=180)
        assert result.returncode == 0, f"kafka.sh {command}: {result.stderr}"

    def start(self) -> None:
        self._script("start")

    def stop(self) -> None:
        self._script("stop")

    def remove(self) -> None:
        try:
            with contextlib.suppress(FileNotFoundError, ProcessLookupError, AssertionError):
                os.kill(self.pid, signal.SIGCONT)  # a paused JVM cannot act on the script's SIGTERM
            self.stop()
        finally:
            shutil.rmtree(self.run_dir, ignore_errors=True)

    @property
    def pid(self) -> int:
        """The broker's JVM, as deploy/kafka.sh recorded it."""
        pid = int((Path(self.run_dir) / "pids" / "kafka.pid").read_text())
        assert Path(f"/proc/{pid}/comm").read_text().strip() == "java", f"pid {pid} is not the broker's JVM"
        return pid

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        """SIGSTOP for the duration of the block: connections stay open and nothing answers, as with
        a broker stuck in a long GC pause or a frozen VM. SIGCONT on the way out, whatever happens."""
        pid = self.pid
        os.kill(pid, signal.SIGSTOP)
        try:
            yield
        finally:
            os.kill(pid, signal.SIGCONT)
