"""A PostgreSQL server of a test's own, for faults that must not touch the shared server other
people use (stopping it, killing a backend: the postmaster then restarts every session)."""

import os
import shutil
import signal
import subprocess
import tempfile
import uuid
from pathlib import Path

import asyncpg

from tests.support.infra import ROOT
from tests.support.pg_sessions import backends
from tests.support.ports import free_port


class OwnPostgres:
    """A second PostgreSQL server on a free port, started and stopped with the project's script.
    Its data directory is the test's own; the shared server is never touched."""

    def __init__(self, prefix: str = "own-postgres-") -> None:
        self.home = Path(tempfile.mkdtemp(prefix=prefix, dir="/var/tmp"))
        self.home.chmod(0o755)  # the postgres user must enter it, or the script would refuse it
        self.port = free_port()
        self.env = {**os.environ, "INNOVATION_RUN_DIR": str(self.home / "run"), "PG_PORT": str(self.port),
                    "PG_DATA_HOME": str(self.home / "pg")}
        self.env.pop("POSTGRES_URL", None)

    def dsn(self, database: str = "postgres") -> str:
        return f"postgresql://innovation:innovation@127.0.0.1:{self.port}/{database}"

    def _script(self, command: str) -> None:
        result = subprocess.run(["bash", str(ROOT / "deploy" / "postgres.sh"), command], env=self.env,
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr
        # Make sure the script used this test's directory before anything is stopped.
        assert (self.home / "pg" / "data" / "PG_VERSION").exists(), "the script did not use this test's directory"

    def start(self) -> None:
        self._script("start")

    def stop(self) -> None:
        self._script("stop")

    def remove(self) -> None:
        try:
            self._script("stop")
        finally:
            shutil.rmtree(self.home, ignore_errors=True)

    async def new_database(self, hint: str = "db") -> str:
        """An empty database on this server; its DSN. It goes when the server is removed."""
        name = f"{hint}_{uuid.uuid4().hex[:8]}"
        conn = await asyncpg.connect(self.dsn())
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()
        return self.dsn(name)

    async def kill_backend(self, database: str) -> int:
        """SIGKILLs one backend serving `database` (waiting for one to exist); returns its pid. The
        postmaster answers by ending every session and recovering, as after a real crash."""
        pids = await backends(self.dsn(), database)
        os.kill(pids[0], signal.SIGKILL)
        return pids[0]

