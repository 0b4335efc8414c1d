"""Fixtures shared by every test layer: the real broker, the real database server, and
isolation (a fresh department code, so fresh topics, and fresh databases per test)."""

import os
import uuid
from collections.abc import AsyncIterator, Callable

import asyncpg
import pytest

from tests.support import infra
from tests.support.keycloak import Keycloak

RUN_ID = uuid.uuid4().hex[:6]

# The tests use the local server's published password and the development pseudonym secret; so
# do the services and scripts they start as processes, which inherit this.
os.environ["INNOVATION_DEVELOPMENT_MODE"] = "1"


def _own(script: str, given: str | None, ours: str):
    """The server given by the environment, else the tests' own, stopped at the end if this session started it."""
    if given:
        yield given
        return
    try:
        started = infra.start(script)
    except infra.InfrastructureUnavailable as error:
        pytest.fail(str(error), pytrace=False)
    yield ours
    if started:
        print(f"\n{infra.stop(script)} (started by this test session)")


@pytest.fixture(scope="session")
def kafka_bootstrap():
    yield from _own("kafka.sh", infra.given_kafka(), infra.TEST_KAFKA)


@pytest.fixture(scope="session")
def postgres_url():
    yield from _own("postgres.sh", infra.given_postgres(), infra.TEST_POSTGRES)


@pytest.fixture(scope="session")
def keycloak():
    """A real Keycloak (started on first use); `await keycloak.realm(dept)` makes a department's realm."""
    for url in _own("keycloak.sh", infra.given_keycloak(), infra.TEST_KEYCLOAK):
        yield Keycloak(url)


@pytest.fixture
def department() -> str:
    """A department code no other test or run uses, so its topics are fresh. They are kept, as
    topics are in production: deleting them under a running pattern consumer (a `make up`
    beside the tests) only makes its offset commits fail."""
    return f"t{RUN_ID}{uuid.uuid4().hex[:6]}"


@pytest.fixture
async def new_database(postgres_url: str) -> AsyncIterator[Callable[[str], str]]:
    """Makes empty databases (`name` is a hint) and drops them after the test; returns their DSNs."""
    made: list[str] = []

    async def make(name: str = "db") -> str:
        db = f"test_{RUN_ID}_{name}_{uuid.uuid4().hex[:6]}"
        admin = await asyncpg.connect(postgres_url)
        try:
            await admin.execute(f'CREATE DATABASE "{db}"')
        finally:
            await admin.close()
        made.append(db)
        return postgres_url.rsplit("/", 1)[0] + "/" + db

    yield make  # type: ignore[misc]
    admin = await asyncpg.connect(postgres_url)
    try:
        for db in made:
            await admin.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
    finally:
        await admin.close()


