"""The GOV.UK Notify channel: emails sent through Notify's official client, and Notify's
delivery-status callbacks.

Sending. Each email is one Notify notification from a template configured per kind
(`NOTIFICATIONS_NOTIFY_TEMPLATES`). Our delivery id is Notify's `reference`: an attempt after the
first asks Notify for a notification with that reference before sending, so an attempt that timed
out after Notify had accepted the email is never sent again. The templates are written in Notify
(its admin pages) and use these placeholders, all plain text:

    ((subject))           the subject line, one line
    ((body))              the whole plain-text part, a line a paragraph (`Email.flowing`: Notify
                          keeps each line break and lays the text out itself): what happened, the
                          link to the portal, the department's name, why the person gets it and
                          how to stop it; a `---` line is Notify's horizontal rule
    ((unsubscribe_link))  the one-click unsubscribe page of this kind of email (also sent as
                          Notify's one_click_unsubscribe_url, which Notify puts in the
                          List-Unsubscribe headers)
    ((portal_link))       the department's portal

A template needs only `((subject))` as its subject and `((body))` as its body; the other two are
there for templates that want them. Notify requires an https `one_click_unsubscribe_url`, so
NOTIFICATIONS_PUBLIC_URL must be https when the channel is Notify.

Callbacks. Notify POSTs the status of each email to `POST /v1/notify/callbacks` with the bearer
token set in Notify's API integration page (`NOTIFICATIONS_NOTIFY_CALLBACK_TOKEN`; without it the
route answers 404). The status moves the delivery on (`apply_status`).
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import hmac
import json
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Annotated, Any

import asyncpg
import requests
from fastapi import APIRouter, Depends, Request
from notifications_python_client.errors import HTTPError, InvalidResponse
from notifications_python_client.notifications import NotificationsAPIClient
from prometheus_client import Counter
from pydantic import BaseModel, ConfigDict, Field

from services.notifications import messages
from services.notifications.config import NotificationsSettings
from services.notifications.domain import KINDS, RetryBudget
from services.notifications.failures import Refused, SendFailed
from shared.http import ApiError
from shared.logging import get_logger
from shared.runtime import runtime_of

log = get_logger(__name__)

DIGEST, DEFAULT = "digest", "default"  # template names beside the kinds


# -- sending ---------------------------------------------------------------------------------------


def templates(raw: str) -> dict[str, str]:
    """The template id of every kind and of digests, from the setting's JSON (`default` serves what
    is not named). A setting that leaves one out, or is not such JSON, is an error at start-up."""
    try:
        given = json.loads(raw)
    except ValueError as error:
        raise ValueError(f"notify_templates is not JSON: {error}") from None
    if not isinstance(given, dict):
        raise ValueError("notify_templates must be a JSON object of kind -> template id")
    names = {*KINDS, DIGEST, DEFAULT}
    if unknown := sorted(set(given) - names):
        raise ValueError(f"notify_templates names unknown kinds: {', '.join(map(str, unknown))}")
    for name, value in given.items():
        try:
            uuid.UUID(value)
        except (TypeError, ValueError, AttributeError):
            raise ValueError(f"notify_templates[{name!r}] is not a template id (a UUID)") from None
    chosen = {name: given.get(name, given.get(DEFAULT)) for name in (*KINDS, DIGEST)}
    if missing := [name for name, value in chosen.items() if value is None]:
        raise ValueError(f"notify_templates has no template for {', '.join(missing)} (and no default)")
    return {name: str(uuid.UUID(value)) for name, value in chosen.items()}


def personalisation(outgoing: messages.Outgoing, portal_url: str) -> dict[str, str]:
    """The values of the templates' placeholders (see the module's doc)."""
    return {
        "subject": outgoing.email.subject,
        "body": outgoing.email.flowing or outgoing.email.text,
        "unsubscribe_link": outgoing.unsubscribe_url,
        "portal_link": portal_url,
    }


def failure(error: Exception) -> SendFailed:
    """What a failed call to Notify means for the delivery. `reason` is the class every role may
    read ("Notify 400 ValidationError"); the detail (Notify's messages) is for admins. A 400 is
    final (`Refused`): the address, template or personalisation is wrong and a retry cannot
    mend it; anything else may pass later (403: an operator fixes the key; 429: the rate limit)."""
    cause = error.__cause__
    if isinstance(cause, requests.Timeout):
        return SendFailed("timeout", f"Notify did not answer in time: {cause}")
    if isinstance(error, HTTPError) and getattr(error, "response", None) is None:
        # The client reports a request that got no response as a 503 with no body.
        return SendFailed("connection failed", f"Notify could not be reached: {cause or error}")
    if isinstance(error, InvalidResponse):
        return SendFailed("Notify invalid response", f"Notify answered {error.status_code} without JSON")
    if not isinstance(error, HTTPError):
        return SendFailed(type(error).__name__, str(error))
    status, name, said = error.status_code, *_errors_of(error)
    reason = f"Notify {status} {name}" if name else f"Notify {status}"
    detail = f"{reason}: {said}" if said else reason
    return Refused(reason, detail) if status == 400 else SendFailed(reason, detail)


def _errors_of(error: HTTPError) -> tuple[str | None, str]:
    """The first error's class (BadRequestError, ValidationError, AuthError...) and every message,
    from Notify's body {"status_code": ..., "errors": [{"error": ..., "message": ...}]}."""
    said = error.message
    if isinstance(said, list):
        entries = [e for e in said if isinstance(e, dict)]
        name = next((str(e["error"]) for e in entries if isinstance(e.get("error"), str)), None)
        return (name[:60] if name and name.isidentifier() else None), "; ".join(str(e.get("message", "")) for e in entries)
    return None, str(said)


class NotifySender:
    """Sends an Outgoing email through GOV.UK Notify's official client. The client is synchronous
    (and not thread-safe), so calls run in threads of the sender's own (one per attempt the worker
    may run at once: a slow Notify never waits for, or holds, the loop's default threads that
    resolve webhooks' names), each thread with its own client. Each HTTP call is bounded by the
    client's timeout (`send_timeout_seconds`), and a whole attempt (a look-up by reference, then
    the send) by twice that, within the worker's lease."""

    def __init__(self, settings: NotificationsSettings) -> None:
        if settings.notify_api_key is None:
            raise ValueError("the email channel is notify but NOTIFICATIONS_NOTIFY_API_KEY is not set")
        self._key = settings.notify_api_key.get_secret_value()
        if len(self._key) < 74:
            raise ValueError("NOTIFICATIONS_NOTIFY_API_KEY is not a Notify API key (name-service id-secret)")
        self._base_url = settings.notify_base_url.rstrip("/")
        self._templates = templates(settings.notify_templates)
        self._reply_to = settings.notify_reply_to_id
        self._portal = settings.portal_url.rstrip("/")
        self._timeout = settings.send_timeout_seconds
        self._local = threading.local()
        self._threads = ThreadPoolExecutor(max_workers=settings.worker_batch, thread_name_prefix="notify")
        if not settings.public_url.startswith("https://"):
            log.warning("GOV.UK Notify refuses one-click unsubscribe links that are not https: every email will be "
                        "refused (400) until NOTIFICATIONS_PUBLIC_URL is https", public_url=settings.public_url)

    def template_for(self, kind: str | None) -> str:
        return self._templates[DIGEST if kind is None else kind]

    async def send(self, outgoing: messages.Outgoing, attempts: int) -> str:
        """Notify's id of the notification carrying `outgoing`: sent now, or, on a later attempt,
        the one an earlier attempt had sent. Raises SendFailed (Refused when final)."""
        try:
            async with asyncio.timeout(2 * self._timeout):
                call = functools.partial(contextvars.copy_context().run, self._send, outgoing, attempts)
                return await asyncio.get_running_loop().run_in_executor(self._threads, call)
        except TimeoutError:
            raise SendFailed("timeout", f"Notify did not answer within {2 * self._timeout:g} s") from None
        except (HTTPError, InvalidResponse) as error:
            raise failure(error) from error

    def close(self) -> None:
        """Stops the threads; a call not yet started is dropped (its attempt is retried)."""
        self._threads.shutdown(wait=False, cancel_futures=True)

    def _send(self, outgoing: messages.Outgoing, attempts: int) -> str:
        client = self._client()
        reference = str(outgoing.delivery_id)
        if attempts > 1 and (earlier := self._sent_before(client, reference)) is not None:
            log.info("notify: already sent by an earlier attempt", delivery_id=reference, notification_id=earlier)
            return earlier
        answer = client.send_email_notification(
            email_address=outgoing.to,
            template_id=self.template_for(outgoing.kind),
            personalisation=personalisation(outgoing, self._portal),
            reference=reference,
            email_reply_to_id=self._reply_to,
            one_click_unsubscribe_url=outgoing.unsubscribe_url,
        )
        return str(answer["id"])

    @staticmethod
    def _sent_before(client: NotificationsAPIClient, reference: str) -> str | None:
        """An email notification with our reference, unless Notify failed to send it (a technical
        failure: nothing reached the person, so it is sent again)."""
        found = client.get_all_notifications(reference=reference, template_type="email")
        for notification in found.get("notifications") or []:
            if notification.get("reference") == reference and notification.get("status") != "technical-failure":
                return str(notification["id"])
        return None

    def _client(self) -> NotificationsAPIClient:
        client = getattr(self._local, "client", None)
        if client is None:
            client = self._local.client = NotificationsAPIClient(self._key, base_url=self._base_url,
                                                                  timeout=self._timeout)
        return client


# -- callbacks: what Notify says became of an email ------------------------------------------------

CALLBACKS = Counter("notifications_notify_callbacks_total", "Delivery-status callbacks from GOV.UK Notify, by status",
                    ["status"])
_STATUSES = ("delivered", "permanent-failure", "temporary-failure", "technical-failure")


class NotifyCallback(BaseModel):
    """Notify's delivery receipt (its documented fields; others are ignored)."""

    model_config = ConfigDict(extra="ignore")

    id: uuid.UUID
    reference: Annotated[str | None, Field(max_length=1000)] = None
    to: Annotated[str, Field(max_length=320)]
    status: Annotated[str, Field(pattern=r"^[a-z][a-z-]{0,39}$")]
    created_at: datetime
    completed_at: datetime | None = None
    sent_at: datetime | None = None
    notification_type: Annotated[str, Field(max_length=20)]
    template_id: uuid.UUID | None = None
    template_version: Annotated[int | None, Field(ge=0)] = None


def _reference_id(reference: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(reference) if reference else None
    except ValueError:
        return None


async def apply_status(conn: asyncpg.Connection, provider_id: str, reference: str | None, status: str, *,
                       budget: RetryBudget, to: str | None = None, completed_at: datetime | None = None) -> str:
    """Moves the email delivery Notify reported on (found by Notify's id, else by our reference)
    and returns what became of it: `delivered`, `failed`, `retry`, `unchanged` or `unknown`.
    Only a delivery still `pending` or `sent` moves: a repeated callback changes nothing, and none
    moves a `delivered` or `failed` one back. Runs in the caller's transaction.

    - delivered: `delivered`, at Notify's completed_at.
    - permanent-failure: `failed`; Notify says the address cannot receive email, so the
      subscription's `email_refused_at` is set (when the address is still the one it was sent to)
      and the person's other pending emails end `failed` too.
    - temporary-failure: `failed` (Notify has already retried for days).
    - technical-failure: Notify sent nothing: `pending` again after the retry budget's delay, or
      `failed` when the budget is spent.
    - any other status (`sending`...): nothing changes.
    """
    row = await conn.fetchrow(
        """SELECT delivery_id, status, attempts, person, provider_id FROM deliveries
           WHERE channel = 'email' AND (provider_id = $1 OR delivery_id = $2)
           ORDER BY (provider_id IS NOT DISTINCT FROM $1) DESC LIMIT 1
           FOR UPDATE""",
        provider_id, _reference_id(reference))
    if row is None:
        return "unknown"
    if row["provider_id"] not in (None, provider_id):
        return "unchanged"  # about another notification of the same reference, not the one this delivery holds
    if row["status"] not in ("pending", "sent") or status not in _STATUSES:
        return "unchanged"
    delivery_id, reason = row["delivery_id"], f"Notify {status}"
    if status == "delivered":
        await conn.execute(
            """UPDATE deliveries SET status = 'delivered', delivered_at = coalesce($3, now()), updated_at = now(),
                      provider_id = $2, last_error = NULL, last_error_detail = NULL
               WHERE delivery_id = $1""", delivery_id, provider_id, completed_at)
        return "delivered"
    retry_in = budget.after_failure(row["attempts"]) if status == "technical-failure" else None
    detail = {
        "permanent-failure": "Notify: the email address cannot receive email",
        "temporary-failure": "Notify: the email could not be delivered (a full inbox, a spam filter...)",
        "technical-failure": "Notify: a problem between Notify and its provider; the email was not sent",
    }[status]
    await conn.execute(
        """UPDATE deliveries SET last_error = $3, last_error_detail = $4, updated_at = now(), provider_id = $2,
                  status = CASE WHEN $5::float8 IS NULL THEN 'failed' ELSE 'pending' END,
                  next_attempt_at = CASE WHEN $5::float8 IS NULL THEN next_attempt_at
                                         ELSE now() + make_interval(secs => $5::float8) END
           WHERE delivery_id = $1""", delivery_id, provider_id, reason, detail, retry_in)
    if status == "permanent-failure" and row["person"] is not None:
        await _address_refused(conn, row["person"], to, reason)
    return "failed" if retry_in is None else "retry"


async def _address_refused(conn: asyncpg.Connection, person: str, to: str | None, reason: str) -> None:
    """Notify will not deliver to the person's address: no more emails are tried to it. An address
    changed since the email was sent is not the one refused, and is left alone."""
    refused = await conn.fetchval(
        """UPDATE subscriptions SET email_refused_at = now()
           WHERE person = $1 AND ($2::text IS NULL OR lower(email) = lower($2))
           RETURNING person""", person, to)
    if refused is None:
        return
    await conn.execute(
        """UPDATE deliveries SET status = 'failed', last_error = $2, updated_at = now(),
                  last_error_detail = 'Notify: an earlier email to this address could not be delivered; not sent'
           WHERE person = $1 AND channel = 'email' AND status = 'pending'""", person, reason)


def _callback_token(request: Request) -> str:
    """The bearer token Notify's callbacks must carry; 404 when none is configured (the route is off)."""
    token = runtime_of(request).settings.notify_callback_token
    if token is None or not token.get_secret_value():
        raise ApiError(404, "not found")
    return token.get_secret_value()


async def notify_only(request: Request) -> None:
    """The request carries Notify's callback token (compared in constant time), or 401."""
    expected = _callback_token(request).encode()
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), expected):
        error = ApiError(401, "a callback must carry the bearer token set in GOV.UK Notify",
                         [{"field": "Authorization", "rule": "Bearer <NOTIFICATIONS_NOTIFY_CALLBACK_TOKEN>"}])
        error.headers = {"WWW-Authenticate": "Bearer"}
        raise error


callback_router = APIRouter(prefix="/v1", tags=["notifications"])


@callback_router.post("/notify/callbacks", dependencies=[Depends(notify_only)], include_in_schema=True,
                      summary="GOV.UK Notify's delivery receipts (bearer: the callback token set in Notify)",
                      responses={401: {"description": "missing or wrong bearer token"},
                                 404: {"description": "callbacks are not configured"},
                                 422: {"description": "not Notify's delivery receipt"}})
async def notify_callback(request: Request, body: NotifyCallback) -> dict[str, Any]:
    runtime = runtime_of(request)
    settings: NotificationsSettings = runtime.settings
    budget = RetryBudget(settings.max_attempts, settings.retry_first_delay_seconds, settings.retry_max_delay_seconds)
    async with runtime.pool.acquire() as conn, conn.transaction():
        result = await apply_status(conn, str(body.id), body.reference, body.status, budget=budget, to=body.to,
                                    completed_at=body.completed_at)
    CALLBACKS.labels(body.status if body.status in _STATUSES else "other").inc()
    # An unknown notification is answered 200 too: Notify would otherwise retry it for nothing.
    log.info("notify callback", notification_id=str(body.id), reference=body.reference, status=body.status,
             result=result)
    return {"result": result}
