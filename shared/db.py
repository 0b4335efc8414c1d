"""PostgreSQL: pools, creating a service's database, and numbered forward-only migrations.

Migrations are `NNNN_name.sql` files applied in order, each in its own transaction,
and recorded in `schema_migrations` with a checksum: an applied file that later
changes is refused rather than silently skipped. An advisory lock lets several
replicas start at once.
"""

import argparse
import asyncio
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

SHARED_MIGRATIONS = Path(__file__).parent / "migrations"
_MIGRATION_FILE = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
_LOCK_KEY = 73_020_151  # one constant for every migrator of a database


class MigrationError(RuntimeError):
    pass


@dataclass(frozen=True)
class Migration:
    component: str
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def load_migrations(component: str, directory: Path) -> list[Migration]:
    found = []
    for path in sorted(directory.glob("*.sql")):
        match = _MIGRATION_FILE.match(path.name)
        if not match:
            raise MigrationError(f"{path}: migration files are named NNNN_name.sql")
        found.append(Migration(component, int(match[1]), match[2], path.read_text()))
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise MigrationError(f"{directory}: two migrations share a number")
    return found


async def migrate(conn: asyncpg.Connection, components: Mapping[str, Path]) -> list[Migration]:
    """Applies what is not yet applied, in order; returns what it applied."""
    await conn.execute(
        """CREATE TABLE IF NOT EXISTS schema_migrations (
               component text NOT NULL,
               version integer NOT NULL,
               name text NOT NULL,
               checksum text NOT NULL,
               applied_at timestamptz NOT NULL DEFAULT now(),
               PRIMARY KEY (component, version))"""
    )
    applied: list[Migration] = []
    await conn.execute("SELECT pg_advisory_lock($1)", _LOCK_KEY)
    try:
        rows = await conn.fetch("SELECT component, version, checksum FROM schema_migrations")
        done = {(r["component"], r["version"]): r["checksum"] for r in rows}
        for component, directory in components.items():
            for migration in load_migrations(component, directory):
                key = (component, migration.version)
                if key in done:
                    if done[key] != migration.checksum:
                        raise MigrationError(
                            f"{component} migration {migration.version:04d}_{migration.name} was changed "
                            "after it was applied; add a new migration instead"
                        )
                    continue
                async with conn.transaction():
                    await conn.execute(migration.sql)
                    await conn.execute(
                        "INSERT INTO schema_migrations (component, version, name, checksum) VALUES ($1, $2, $3, $4)",
                        component, migration.version, migration.name, migration.checksum,
                    )
                applied.append(migration)
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", _LOCK_KEY)
    return applied


def _with_database(dsn: str, database: str) -> str:
    parts = urlsplit(dsn)
    return urlunsplit(parts._replace(path="/" + database))


def database_name(dsn: str) -> str:
    return urlsplit(dsn).path.lstrip("/")


async def ensure_database(dsn: str) -> None:
    """Creates the database named in `dsn` when it does not exist yet."""
    name = database_name(dsn)
    if not re.fullmatch(r"[a-z][a-z0-9_]{0,62}", name):
        raise MigrationError(f"database name {name!r}: lower-case letters, digits and _ only")
    conn = await asyncpg.connect(_with_database(dsn, "postgres"))
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if not exists:
            try:
                await conn.execute(f'CREATE DATABASE "{name}"')
            except asyncpg.DuplicateDatabaseError:
                pass  # another replica created it first
    finally:
        await conn.close()


async def prepare_database(dsn: str, components: Mapping[str, Path]) -> list[Migration]:
    """Creates the database if needed and migrates it: what a service does before it serves."""
    await ensure_database(dsn)
    conn = await asyncpg.connect(dsn)
    try:
        return await migrate(conn, components)
    finally:
        await conn.close()


async def create_pool(dsn: str, *, max_size: int = 10, server_settings: Mapping[str, str] | None = None,
                      stateless: bool = False) -> asyncpg.Pool:
    """`stateless`: the pool's users leave no session state behind (no SET, advisory lock, LISTEN or
    cursor outside a transaction), so a released connection skips asyncpg's reset statement, a round
    trip per use (an open transaction is still rolled back)."""
    return await asyncpg.create_pool(dsn, min_size=min(2, max_size), max_size=max_size, command_timeout=30,
                                     server_settings=dict(server_settings or {}),
                                     reset=_nothing_to_reset if stateless else None)


async def _nothing_to_reset(conn: asyncpg.Connection) -> None:
    """A stateless pool's reset: asyncpg has already rolled back an open transaction and dropped listeners."""


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m shared.db", description=__doc__)
    parser.add_argument("command", choices=["migrate"])
    parser.add_argument("--dsn", required=True)
    parser.add_argument("--service", required=True, help="directory of the service, e.g. services/ideas")
    args = parser.parse_args()
    service_dir = Path(args.service)
    applied = asyncio.run(
        prepare_database(args.dsn, {"shared": SHARED_MIGRATIONS, service_dir.name: service_dir / "migrations"})
    )
    for m in applied:
        print(f"applied {m.component} {m.version:04d}_{m.name}")
    print(f"{database_name(args.dsn)}: up to date")


if __name__ == "__main__":
    main()
