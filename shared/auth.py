"""Bearer credentials and the acting person.

A bearer credential is either an API key bound to one department and one role, or a person's access
token from the department's OpenID provider (shared.tokens; settings OIDC_*).

A key reads `ink_<key id>_<secret>`; the database keeps its SHA-256 (the secret is random,
so a plain hash is enough). `python -m shared.auth` issues, registers, revokes and lists keys.
Only a key issued to act for people (`--acts-for-people`: a departmental system that people use)
may name the acting person with `X-Person-Ref`. With a token, the person is the token's subject and
`X-Person-Ref` is not consulted; the role is the highest of ours that the token's roles map to.

Each process keeps the keys it has looked up in a `KeyCache`, emptied whenever a row of `api_keys`
changes (a trigger notifies the `api_keys` channel, shared/migrations/0007) and whenever its
listening session is lost: a revoked key is refused by every process as soon as the notification
arrives, and while a process cannot listen, it asks the database on every request.
"""

import argparse
import asyncio
import contextlib
import hashlib
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import asyncpg
from fastapi import Depends, Request

from shared.db import SHARED_MIGRATIONS, prepare_database
from shared.events.pseudonym import pseudonymise
from shared.events.topics import validate_department
from shared.http import ApiError
from shared.logging import get_logger
from shared.retry import Backoff
from shared.tokens import ProviderKeys, ProviderUnavailable, TokenRefused, TokenVerifier, looks_like_jwt

Role = Literal["contributor", "reviewer", "admin", "viewer"]
ROLES: tuple[Role, ...] = ("contributor", "reviewer", "admin", "viewer")
_KEY = re.compile(r"^ink_([0-9a-f]{12})_[A-Za-z0-9_-]{20,100}$")
PERSON_REF_PATTERN = r"^[\x21-\x7e][\x20-\x7e]{0,199}$"  # X-Person-Ref: the caller's own reference for a person
_PERSON_REF = re.compile(PERSON_REF_PATTERN)


TOKEN = "token"  # the key_id of a caller with an access token


@dataclass(frozen=True)
class Caller:
    key_id: str  # TOKEN for a person's access token
    department: str
    role: Role
    acts_for_people: bool = False  # a key that may name the acting person with X-Person-Ref
    person: str | None = None  # with a token: the pseudonym of its subject


def hash_key(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()


def new_key() -> str:
    return f"ink_{secrets.token_hex(6)}_{secrets.token_urlsafe(24)}"


async def register_key(conn: asyncpg.Connection, key: str, *, department: str, role: Role, label: str | None = None,
                       acts_for_people: bool = False) -> str:
    """Stores the hash of `key` (idempotent for the same key); returns its key id. Only a key that
    `acts_for_people` may name a person with X-Person-Ref."""
    match = _KEY.match(key)
    if not match:
        raise ValueError("an API key reads ink_<12 hex>_<secret>")
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    key_id = match[1]
    await conn.execute(
        """INSERT INTO api_keys (key_id, department, role, key_hash, label, acts_for_people) VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (key_id) DO NOTHING""",
        key_id, validate_department(department), role, hash_key(key), label, acts_for_people,
    )
    return key_id


async def revoke_key(conn: asyncpg.Connection, key_id: str, *, settle_seconds: float = 5.0) -> bool:
    """Revokes the key; returns whether it was active. Returns once every process that caches keys
    of this database (a `KeyCache` listening when the revocation committed) has said it emptied its
    cache, or after `settle_seconds` (a warning names the processes that did not answer)."""
    seen: asyncio.Queue[tuple[int, str]] = asyncio.Queue()

    def heard(_conn: object, pid: int, _channel: str, payload: str) -> None:
        seen.put_nowait((pid, payload))

    await conn.add_listener(SEEN_CHANNEL, heard)
    try:
        async with conn.transaction():
            status = await conn.execute(
                "UPDATE api_keys SET revoked_at = now() WHERE key_id = $1 AND revoked_at IS NULL", key_id)
            change = await conn.fetchval("SELECT txid_current()::text")  # the trigger's payload
            caches = {row["pid"] for row in await conn.fetch(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name = $1",
                CACHE_SESSION)}
        if status.endswith(" 1"):
            await _until_seen(seen, caches, change, settle_seconds)
    finally:
        await conn.remove_listener(SEEN_CHANNEL, heard)
    return status.endswith(" 1")


async def _until_seen(seen: asyncio.Queue[tuple[int, str]], caches: set[int], change: str, seconds: float) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while caches:
        try:
            pid, payload = await asyncio.wait_for(seen.get(), max(0.0, deadline - loop.time()))
        except asyncio.TimeoutError:
            log.warning("API key change: some caches did not confirm (they empty themselves when their session "
                        "ends, and keep nothing longer than their maximum age)", backend_pids=sorted(caches))
            return
        if payload == change:
            caches.discard(pid)


async def find_caller(conn: asyncpg.Connection | asyncpg.Pool, key: str) -> Caller | None:
    if not _KEY.match(key):
        return None
    return await _caller_of(conn, hash_key(key))


async def _caller_of(conn: asyncpg.Connection | asyncpg.Pool, digest: bytes) -> Caller | None:
    row = await conn.fetchrow(
        "SELECT key_id, department, role, acts_for_people FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL",
        digest,
    )
    return Caller(row["key_id"], row["department"], row["role"], row["acts_for_people"]) if row else None


KEYS_CHANNEL = "api_keys"  # notified by the trigger of shared/migrations/0007 (payload: the transaction id)
SEEN_CHANNEL = "api_keys_seen"  # a cache's confirmation that it emptied itself (payload: the same id)
CACHE_SESSION = "api-key-cache"  # the application_name of a cache's listening session
log = get_logger(__name__)


class KeyCache:
    """The callers of the keys this process has looked up, kept while a session of its own LISTENs on
    `api_keys`: any change to a key (a revocation) empties the cache, which then confirms on
    `api_keys_seen` (revoke_key waits for every cache's confirmation), and so does the loss of that
    session (it then reconnects with backoff; until it listens again every look-up asks the database).
    Only known keys are kept (an unknown one costs a look-up each time, so guessing fills no memory),
    each for at most `max_age_seconds` (a bound on staleness should a notification ever be missed)."""

    def __init__(self, dsn: str, pool: asyncpg.Pool, *, max_entries: int = 10_000, max_age_seconds: float = 60.0,
                 check_every_seconds: float = 10.0) -> None:
        self._dsn, self._pool = dsn, pool
        self._max_entries, self._max_age, self._check_every = max_entries, max_age_seconds, check_every_seconds
        self._session_settings = {"application_name": CACHE_SESSION, "tcp_keepalives_idle": "10",
                                  "tcp_keepalives_interval": "5", "tcp_keepalives_count": "3"}
        self._entries: dict[bytes, tuple[Caller, float]] = {}
        self._generation = 0  # bumped by every invalidation: a look-up that spans one is not kept
        self._listening = False
        self._stopping = asyncio.Event()
        self._changes: asyncio.Queue[str | None] | None = None  # the session's: changes to confirm; None: it ends

    @property
    def listening(self) -> bool:
        return self._listening

    async def find(self, key: str) -> Caller | None:
        if not _KEY.match(key):
            return None
        digest = hash_key(key)
        entry = self._entries.get(digest)
        if entry is not None and entry[1] > time.monotonic():
            return entry[0]
        generation = self._generation
        caller = await _caller_of(self._pool, digest)
        if caller is not None and self._listening and generation == self._generation:
            if len(self._entries) >= self._max_entries:
                self._entries.clear()
            self._entries[digest] = (caller, time.monotonic() + self._max_age)
        return caller

    def invalidate(self) -> None:
        self._generation += 1
        self._entries.clear()

    async def stop(self) -> None:
        self._stopping.set()
        if self._changes is not None:
            self._changes.put_nowait(None)

    async def run(self) -> None:
        """Listens until stopped; a lost session empties the cache and is replaced with backoff."""
        failures = 0
        backoff = Backoff(first_delay=0.2, max_delay=5.0)
        while not self._stopping.is_set():
            try:
                await self._listen()
                failures = 0
            except asyncio.CancelledError:
                raise
            except Exception as error:
                failures += 1
                log.warning("API key cache: listening session lost; looking keys up uncached", error=repr(error))
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), backoff.delay(max(failures, 1)))

    async def _listen(self) -> None:
        conn = await asyncpg.connect(self._dsn, server_settings=self._session_settings, timeout=10)
        changes: asyncio.Queue[str | None] = asyncio.Queue()
        self._changes = changes
        try:
            conn.add_termination_listener(lambda _: self._ended(changes))
            await conn.add_listener(KEYS_CHANNEL, lambda _c, _p, _ch, payload: self._changed(changes, payload))
            self.invalidate()  # what was cached before this session listened may have missed a change
            self._listening = True
            while not self._stopping.is_set():
                try:
                    change = await asyncio.wait_for(changes.get(), self._check_every)
                except asyncio.TimeoutError:
                    await conn.fetchval("SELECT 1", timeout=5)  # a session that died silently raises here
                    continue
                if change is None:
                    break
                await conn.execute("SELECT pg_notify($1, $2)", SEEN_CHANNEL, change, timeout=5)
            if not self._stopping.is_set():
                raise ConnectionError("the listening session ended")
        finally:
            self._changes = None
            self._listening = False
            self.invalidate()
            try:
                await conn.close(timeout=2)
            except Exception:
                conn.terminate()

    def _changed(self, changes: asyncio.Queue[str | None], payload: str) -> None:
        self.invalidate()
        changes.put_nowait(payload)

    def _ended(self, changes: asyncio.Queue[str | None]) -> None:
        self._listening = False
        self.invalidate()
        changes.put_nowait(None)


_BEARER_RULE = "Bearer <API key> or Bearer <access token of this department's identity provider>"


def _unauthorised(reason: str, *, invalid: bool = True) -> ApiError:
    error = ApiError(401, reason, [{"field": "Authorization", "rule": _BEARER_RULE}])
    error.headers = {"WWW-Authenticate": 'Bearer error="invalid_token"' if invalid else "Bearer"}
    return error


def _token_verifier(request: Request) -> TokenVerifier | None:
    """The app's verifier (one per app: it caches the provider's keys); None when no provider is configured."""
    state = request.app.state
    if not hasattr(state, "token_verifier"):
        settings = request.app.state.runtime.settings
        policy = settings.token_policy() if hasattr(settings, "token_policy") else None
        state.token_verifier = policy and TokenVerifier(policy, ProviderKeys(policy.issuer))
    return state.token_verifier


async def _token_caller(request: Request, token: str) -> Caller:
    verifier = _token_verifier(request)
    if verifier is None:
        raise _unauthorised("access tokens are not accepted here: no identity provider is configured (OIDC_ISSUER)")
    try:
        identity = await verifier.verify(token)
    except TokenRefused as refused:
        raise _unauthorised(str(refused)) from None
    except ProviderUnavailable:
        # An unverifiable token never gets in; a 503 (not a 401) tells the client the token may be good.
        error = ApiError(503, "the identity provider cannot be reached to verify the token; try again shortly")
        error.headers = {"Retry-After": "5"}
        raise error from None
    if identity.role is None:
        raise ApiError(403, "the signed-in person holds no role in this department", [
            {"field": "Authorization", "rule": f"the token's {verifier.policy.roles_claim} maps to a role (OIDC_ROLE_MAP)"}
        ])
    person = pseudonymise(request.app.state.runtime.settings.pseudonym_secret, identity.subject)
    return Caller(TOKEN, verifier.policy.department, identity.role, person=person)


async def authenticated(request: Request) -> Caller:
    """The caller behind the request's bearer API key or access token, or 401 (kept for the request)."""
    if (known := getattr(request.state, "caller", None)) is not None:
        return known
    header = request.headers.get("authorization", "")
    scheme, _, credential = header.partition(" ")
    credential = credential.strip()
    if scheme.lower() != "bearer" or not credential:
        raise _unauthorised("missing bearer API key or access token", invalid=False)
    if looks_like_jwt(credential):
        caller = await _token_caller(request, credential)
    else:
        runtime = request.app.state.runtime
        keys = getattr(runtime, "keys", None)
        caller = await (keys.find(credential) if keys is not None else find_caller(runtime.read_pool, credential))
        if caller is None:
            raise _unauthorised("unknown or revoked API key")
    request.state.caller = caller
    return caller


def _check_role(caller: Caller, allowed: set[str]) -> None:
    if caller.role not in allowed:
        raise ApiError(403, f"the {caller.role} role may not do this",
                       [{"field": "Authorization", "rule": f"role one of {', '.join(sorted(allowed))}"}])


def _check_department(request: Request, caller: Caller, hidden_as: Callable[[], Exception] | None) -> None:
    if caller.department != request.app.state.runtime.settings.department:
        if hidden_as:
            raise hidden_as()
        raise ApiError(403, "a key of another department cannot act here",
                       [{"field": "Authorization", "rule": "a key of this department"}])


def require(*roles: Role):
    """A dependency allowing the given roles (admin always) of any department; the handler
    decides what another department's key may see (nothing: 404)."""
    allowed = set(roles) | {"admin"}

    async def dependency(caller: Caller = Depends(authenticated)) -> Caller:
        _check_role(caller, allowed)
        return caller

    return dependency


def department_member(*roles: Role, hidden_as: Callable[[], Exception] | None = None):
    """A dependency allowing a key of this service's department holding one of `roles` (any role
    when none; admin always). Another department's key gets `hidden_as()` where given (a 404:
    the records do not exist for it), else 403: it can change nothing here."""
    check = require(*roles) if roles else authenticated

    async def dependency(request: Request, caller: Caller = Depends(check)) -> Caller:
        _check_department(request, caller, hidden_as)
        return caller

    return dependency


def acting_member(*roles: Role):
    """One dependency for `department_member(*roles)` followed by `acting_person`, checked in that
    order (a route on a hot path saves FastAPI's resolution of four): (the caller, the acting person)."""
    allowed = set(roles) | {"admin"}

    async def dependency(request: Request) -> tuple[Caller, str]:
        caller = await authenticated(request)
        _check_role(caller, allowed)
        _check_department(request, caller, None)
        return caller, await acting_person(request)

    return dependency


async def acting_person(request: Request) -> str:
    """The pseudonym of the acting person: a token's subject, else the person a key that acts for
    people names with `X-Person-Ref` (the raw reference goes no further)."""
    caller = await authenticated(request)
    if caller.person is not None:
        return caller.person
    if not caller.acts_for_people:
        raise ApiError(403, "this API key does not act for people, so it cannot name the person acting", [
            {"field": "X-Person-Ref", "rule": "only a key issued to act for people (--acts-for-people) names a person; "
                                              "a person signs in and calls with their own access token"}
        ])
    ref = request.headers.get("x-person-ref", "")
    if not _PERSON_REF.match(ref):
        raise ApiError(400, "the person acting must be named", [
            {"field": "X-Person-Ref", "rule": "required: the caller's own reference for the person, 1-200 printable characters"}
        ])
    settings = request.app.state.runtime.settings
    return pseudonymise(settings.pseudonym_secret, ref)


async def named_person(request: Request) -> str | None:
    """The acting person's pseudonym where the request names one (a token always does), else None."""
    caller = await authenticated(request)
    if caller.person is not None:
        return caller.person
    return await acting_person(request) if "x-person-ref" in request.headers else None


async def _cli(args: argparse.Namespace) -> None:
    await prepare_database(args.dsn, {"shared": SHARED_MIGRATIONS})
    conn = await asyncpg.connect(args.dsn)
    try:
        if args.command == "issue":
            key = new_key()
            await register_key(conn, key, department=args.department, role=args.role, label=args.label,
                               acts_for_people=args.acts_for_people)
            print(key)
        elif args.command == "register":
            print(await register_key(conn, args.key, department=args.department, role=args.role, label=args.label,
                                     acts_for_people=args.acts_for_people))
        elif args.command == "revoke":
            key_id = args.key_id or (_KEY.match(args.key or "") or [None, None])[1]
            if not key_id or not await revoke_key(conn, key_id):
                raise SystemExit(f"no active key {key_id!r}")
            print(f"revoked {key_id}")
        else:
            rows = await conn.fetch("SELECT key_id, department, role, label, created_at, revoked_at, acts_for_people "
                                    "FROM api_keys ORDER BY created_at")
            for row in rows:
                state = f"revoked {row['revoked_at']:%Y-%m-%d}" if row["revoked_at"] else "active"
                people = "acts-for-people" if row["acts_for_people"] else "system"
                print(f"{row['key_id']}  {row['department']:<12} {row['role']:<12} {people:<16} {state:<18} {row['label'] or ''}")
    finally:
        await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m shared.auth", description="Manage a service's API keys.")
    parser.add_argument("command", choices=["issue", "register", "revoke", "list"])
    parser.add_argument("--dsn", required=True, help="the service's database URL")
    parser.add_argument("--department")
    parser.add_argument("--role", choices=ROLES)
    parser.add_argument("--label")
    parser.add_argument("--acts-for-people", action="store_true",
                        help="issue/register: the key may name the acting person with X-Person-Ref")
    parser.add_argument("--key", help="register: the key to store; revoke: the key to revoke")
    parser.add_argument("--key-id", help="revoke: the key id to revoke")
    args = parser.parse_args()
    if args.command in ("issue", "register") and not (args.department and args.role):
        parser.error(f"{args.command} needs --department and --role")
    if args.command == "register" and not args.key:
        parser.error("register needs --key")
    asyncio.run(_cli(args))


if __name__ == "__main__":
    main()
