"""The portal's use cases: signing in and out, the server-side session (refreshed while it lives), raising an
idea within the per-person limit. Built once per process (ServiceSpec.handlers)."""

import asyncio
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from services.portal import repository
from services.portal.clients import ApiRefused, ApiUnavailable, ExperimentsApi, IdeasApi, NotificationsApi, ReportingApi
from services.portal.config import PortalSettings
from services.portal.oidc import Provider, SignInFailed
from shared.events.experiments import experiment_id_for
from shared.events.pseudonym import pseudonymise

SIGN_IN_SECONDS = 600  # how long a sign-in may take at the provider
REFRESH_MARGIN = timedelta(seconds=30)  # refresh an access token this long before it expires
RATE_WINDOW = timedelta(minutes=1)


class TooManyIdeas(Exception):
    """The person has raised settings.ideas_per_minute ideas in the last minute."""


@dataclass(frozen=True)
class Session:
    key: bytes  # the SHA-256 of the cookie's value
    csrf_token: str
    subject: str | None
    email: str | None
    display_name: str | None
    role: str | None
    access_token: str | None
    id_token: str | None

    @property
    def signed_in(self) -> bool:
        return self.subject is not None

    @property
    def on_panel(self) -> bool:
        """A reviewer or an admin: reviews, decides on ideas and adopts outcomes for the department."""
        return self.role in ("reviewer", "admin")

    def csrf_matches(self, given: str | None) -> bool:
        return given is not None and hmac.compare_digest(given.encode(), self.csrf_token.encode())


def session_key(cookie: str) -> bytes:
    return hashlib.sha256(cookie.encode()).digest()


def safe_return_to(path: str | None) -> str:
    """A path on this site only: never another origin (//evil.example, /\\evil.example, https://...)."""
    if not path or not path.startswith("/") or path.startswith(("//", "/\\")):
        return "/"
    return path


def _expiry(tokens: dict[str, Any]) -> datetime:
    at = tokens.get("expires_at") or (datetime.now(timezone.utc).timestamp() + int(tokens.get("expires_in", 60)))
    return datetime.fromtimestamp(at, timezone.utc)


class PortalHandlers:
    def __init__(self, settings: PortalSettings, pool) -> None:
        self.settings, self.pool = settings, pool
        self.provider = Provider(settings)
        self.ideas = IdeasApi(settings.ideas_api_url)
        self.experiments = ExperimentsApi(settings.experiments_api_url)
        self.notifications = NotificationsApi(settings.notifications_api_url)
        self.reporting = ReportingApi(settings.reporting_url)

    async def start_sign_in(self, return_to: str | None) -> tuple[str, str]:
        """A pending sign-in under a fresh cookie; returns (cookie, the provider's authorization URL)."""
        authorization = await self.provider.authorization()
        cookie = secrets.token_urlsafe(32)
        async with self.pool.acquire() as conn:
            await repository.insert_session(
                conn, session_key(cookie), secrets.token_urlsafe(32),
                datetime.now(timezone.utc) + timedelta(seconds=SIGN_IN_SECONDS),
                login_state=authorization.state, login_nonce=authorization.nonce,
                code_verifier=authorization.code_verifier, return_to=safe_return_to(return_to))
        return cookie, authorization.url

    async def finish_sign_in(self, cookie: str | None, state: str | None, code: str | None) -> tuple[str, str]:
        """The provider sent the browser back: checks state, exchanges the code, checks the ID token and its
        nonce, and opens the signed-in session under a NEW cookie. Returns (cookie, where to go)."""
        if not cookie:
            raise SignInFailed("no sign-in was started in this browser")
        async with self.pool.acquire() as conn:
            pending = await repository.take_session(conn, session_key(cookie))
        if pending is None or pending["login_state"] is None:
            raise SignInFailed("no sign-in is in progress (it may have taken too long)")
        if not state or not hmac.compare_digest(state.encode(), pending["login_state"].encode()):
            raise SignInFailed("the provider's answer does not belong to this sign-in (state)")
        if not code:
            raise SignInFailed("the provider sent no authorization code")
        tokens = await self.provider.exchange(code, pending["code_verifier"])
        if not tokens.get("id_token") or not tokens.get("access_token"):
            raise SignInFailed("the provider sent no ID token or no access token")
        claims = await self.provider.id_token_claims(tokens["id_token"], pending["login_nonce"])
        identity = await self.provider.identity(tokens["access_token"])
        if identity.subject != claims["sub"]:
            raise SignInFailed("the ID token and the access token name different people")
        signed_in = secrets.token_urlsafe(32)
        name = claims.get("name") or claims.get("preferred_username") or identity.email or "you"
        async with self.pool.acquire() as conn:
            await repository.insert_session(
                conn, session_key(signed_in), secrets.token_urlsafe(32),
                datetime.now(timezone.utc) + timedelta(seconds=self.settings.session_lifetime_seconds),
                subject=identity.subject, email=claims.get("email") or identity.email, display_name=str(name),
                role=identity.role, access_token=tokens["access_token"], refresh_token=tokens.get("refresh_token"),
                id_token=tokens["id_token"], access_expires_at=_expiry(tokens))
        return signed_in, pending["return_to"] or "/"

    async def session(self, cookie: str | None) -> Session | None:
        """The cookie's live session, its access token refreshed when it is about to expire; None when there is
        none, or when the provider no longer refreshes it (the person signs in again)."""
        if not cookie:
            return None
        key = session_key(cookie)
        async with self.pool.acquire() as conn:
            row = await repository.fetch_session(conn, key)
            if row is None:
                return None
            if row["subject"] and row["access_expires_at"] - REFRESH_MARGIN <= datetime.now(timezone.utc):
                tokens = await self.provider.refresh(row["refresh_token"]) if row["refresh_token"] else None
                if tokens is None or not tokens.get("access_token"):
                    await repository.delete_session(conn, key)
                    return None
                await repository.update_tokens(conn, key, tokens["access_token"], tokens.get("refresh_token"),
                                               tokens.get("id_token"), _expiry(tokens))
                row = await repository.fetch_session(conn, key)
        return Session(key, row["csrf_token"], row["subject"], row["email"], row["display_name"], row["role"],
                       row["access_token"], row["id_token"])

    async def sign_out(self, session: Session) -> str:
        """Ends the session here; returns where the browser goes so that the provider's session ends too."""
        async with self.pool.acquire() as conn:
            await repository.delete_session(conn, session.key)
        after = f"{self.settings.public_url}/signed-out"
        return await self.provider.end_session_url(session.id_token, after) or after

    async def forget(self, session: Session) -> None:
        """Ends the session here only: the APIs no longer accept its token."""
        async with self.pool.acquire() as conn:
            await repository.delete_session(conn, session.key)

    async def raise_idea(self, session: Session, body: dict[str, Any]) -> dict[str, Any]:
        """Sends the idea to the ideas API as the person, unless they reached their limit for the minute."""
        async with self.pool.acquire() as conn, conn.transaction():
            await repository.lock_person(conn, session.subject)
            now = datetime.now(timezone.utc)
            if await repository.submissions_since(conn, session.subject, now - RATE_WINDOW) >= self.settings.ideas_per_minute:
                raise TooManyIdeas()
            idea = await self.ideas.submit(session.access_token, body)
            await repository.record_submission(conn, session.subject, now)
        return idea

    async def visit(self, session: Session) -> datetime | None:
        """Records this visit to the home page; returns the person's previous one."""
        async with self.pool.acquire() as conn:
            return await repository.visit(conn, session.subject, datetime.now(timezone.utc))

    def is_submitter(self, session: Session, idea: dict[str, Any]) -> bool:
        """The ideas API names a submitter by the pseudonym of their token's subject (same secret)."""
        return idea.get("submitted_by") == self.pseudonym_of(session)

    def pseudonym_of(self, session: Session) -> str:
        """The person's pseudonym, as the department's APIs name them (same secret, same subject)."""
        return pseudonymise(self.settings.pseudonym_secret, session.subject)

    async def experiment_of(self, session: Session, idea: dict[str, Any]) -> dict[str, Any] | None:
        """The experiment a backed idea opened, when the experiments API can be reached (its id is derived from
        the department and the idea; the API has no search by idea)."""
        if idea.get("status") != "backed":
            return None
        try:
            return await self.experiments.experiment(
                session.access_token, experiment_id_for(self.settings.department, idea["idea_id"]))
        except ApiUnavailable:
            return None

    async def outcomes_of(self, idea: dict[str, Any], experiment: dict[str, Any] | None) -> list[dict[str, Any]]:
        """The idea's outcomes as central reporting knows them (with the departments that adopted each), once
        its experiment has one; none while reporting cannot be reached (the rest of the story still shows)."""
        if not (experiment or {}).get("outcome"):
            return []
        try:
            found = await self.reporting.outcomes(department=self.settings.department, idea_id=idea["idea_id"])
        except (ApiUnavailable, ApiRefused):
            return []
        return found["items"]

    async def close(self) -> None:
        for api in (self.ideas, self.experiments, self.notifications, self.reporting):
            await api.close()


async def sweep_expired(runtime) -> None:
    """Background task: expired sessions and old rate-limit records are deleted every ten minutes."""
    while True:
        async with runtime.pool.acquire() as conn:
            await repository.delete_expired(conn)
        await asyncio.sleep(600)
