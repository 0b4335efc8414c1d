"""A local GOV.UK Notify for tests (and for a local run): the documented endpoints the official
client calls to send an email and to read notifications back, with Notify's authentication
(a JWT, HS256, iss = the service id, iat within 30 seconds), its validation and its error bodies,
and its delivery-status callbacks (POSTed with the callback bearer token).

    POST /v2/notifications/email          send (201, Notify's answer), or 400/401/403
    GET  /v2/notifications/{id}           one notification
    GET  /v2/notifications                filters reference, status, template_type, older_than

Test controls: `delay` (seconds to wait before answering a send, after recording it: so a client
that gives up has still sent, as with a real timeout), `fail_next(n, status)`, and
`send_callback(id, status)`; with `deliver_after`, each email's `delivered` receipt is sent by
itself. In a test, run it in the test's loop: `async with FakeNotify(...) as notify`.
Alone (a local run; http unsubscribe links allowed):
`python -m tests.support.fake_notify --port 8030 --service-id <uuid> --secret <uuid> --template <uuid>
--callback-url http://127.0.0.1:8003/v1/notify/callbacks --callback-token <token> --deliver-after 2`
(the API key to configure is printed: test_key-<service id>-<secret>).
"""

from __future__ import annotations

import argparse
import asyncio
import calendar
import contextlib
import re
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import jwt
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

SUBJECT_AND_BODY = ("((subject))", "((body))")  # the template the service's docs describe
_PLACEHOLDER = re.compile(r"\(\(([^()]+)\)\)")
# Notify's own check is stricter; this refuses what is plainly not an address.
_EMAIL = re.compile(r"^[^\s@\"<>(),;:\\]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$")
STATUSES = ("cancelled", "created", "sending", "sent", "delivered", "pending", "failed", "technical-failure",
            "temporary-failure", "permanent-failure", "pending-virus-check", "validation-failed", "virus-scan-failed",
            "returned-letter", "accepted", "received")
PAGE = 250
CLOCK_BOUND = 30


def api_key(service_id: str, secret: str, name: str = "test_key") -> str:
    """A Notify API key: {name}-{service id}-{secret}."""
    return f"{name}-{service_id}-{secret}"


def _errors(status: int, error: str, message: str) -> JSONResponse:
    return JSONResponse({"status_code": status, "errors": [{"error": error, "message": message}]}, status_code=status)


def _stamp(moment: datetime | None) -> str | None:
    return None if moment is None else moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass
class Notification:
    id: str
    reference: str | None
    email_address: str
    template_id: str
    template_version: int
    personalisation: dict[str, Any]
    subject: str
    body: str
    one_click_unsubscribe_url: str | None
    email_reply_to_id: str | None
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    status: str = "created"
    sent_at: datetime | None = None
    completed_at: datetime | None = None

    def as_json(self, base: str) -> dict[str, Any]:
        return {
            "id": self.id, "reference": self.reference, "email_address": self.email_address, "phone_number": None,
            **{f"line_{n}": None for n in range(1, 7)}, "postcode": None, "postage": None, "type": "email",
            "status": self.status, "body": self.body, "subject": self.subject,
            "template": {"id": self.template_id, "version": self.template_version,
                         "uri": f"{base}/v2/template/{self.template_id}/version/{self.template_version}"},
            "created_at": _stamp(self.created_at), "sent_at": _stamp(self.sent_at),
            "completed_at": _stamp(self.completed_at), "created_by_name": None,
            "one_click_unsubscribe_url": self.one_click_unsubscribe_url,
        }


class FakeNotify:
    """Notify for one service. `templates` maps template ids to (subject, body) with ((placeholders))."""

    def __init__(self, templates: dict[str, tuple[str, str]], *, service_id: str | None = None,
                 secret: str | None = None, callback_url: str | None = None, callback_token: str | None = None,
                 callback_client: httpx.AsyncClient | None = None, https_unsubscribe_only: bool = True,
                 deliver_after: float | None = None, port: int = 0) -> None:
        self.service_id = service_id or str(uuid.uuid4())
        self.secret = secret or str(uuid.uuid4())
        self.templates = {str(uuid.UUID(k)): v for k, v in templates.items()}
        self.callback_url, self.callback_token, self.callback_client = callback_url, callback_token, callback_client
        self.https_unsubscribe_only = https_unsubscribe_only
        self.deliver_after = deliver_after  # send a `delivered` receipt this long after each email (a local run)
        self._receipts: set[asyncio.Task[Any]] = set()
        self.notifications: list[Notification] = []  # every notification accepted, oldest first
        self.requests: list[tuple[str, str]] = []  # (method, path?query) of every request
        self.delay = 0.0
        self._failures: list[tuple[int, str, str]] = []
        self._port = port
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None
        self.app = Starlette(routes=[
            Route("/v2/notifications/email", self._send_email, methods=["POST"]),
            Route("/v2/notifications/{notification_id}", self._get_one, methods=["GET"]),
            Route("/v2/notifications", self._get_many, methods=["GET"]),
        ])

    @property
    def key(self) -> str:
        return api_key(self.service_id, self.secret)

    @property
    def url(self) -> str:
        assert self._server is not None, "not started"
        port = self._server.servers[0].sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    # -- test controls ----------------------------------------------------------------------------

    def fail_next(self, count: int, status: int, error: str | None = None, message: str = "failing as told") -> None:
        """The next `count` requests are answered `status` with Notify's error body, and do nothing."""
        default = {400: "BadRequestError", 403: "AuthError", 429: "RateLimitError"}.get(status, "Exception")
        self._failures.extend([(status, error or default, message)] * count)

    def sent_with(self, reference: str) -> list[Notification]:
        return [n for n in self.notifications if n.reference == reference]

    async def send_callback(self, notification_id: str, status: str, *, token: str | None = None,
                            **overrides: Any) -> httpx.Response:
        """Sets the notification's status and POSTs Notify's delivery receipt to the callback URL,
        with the callback bearer token (or `token`); `overrides` replace fields of the receipt."""
        assert self.callback_url, "no callback URL configured"
        notification = self.find(notification_id)
        now = datetime.now(UTC)
        notification.status, notification.sent_at, notification.completed_at = status, notification.sent_at or now, now
        receipt = {
            "id": notification.id, "reference": notification.reference, "to": notification.email_address,
            "status": status, "created_at": _stamp(notification.created_at),
            "completed_at": _stamp(notification.completed_at), "sent_at": _stamp(notification.sent_at),
            "notification_type": "email", "template_id": notification.template_id,
            "template_version": notification.template_version, **overrides,
        }
        headers = {"Authorization": f"Bearer {token or self.callback_token}", "Content-Type": "application/json"}
        if self.callback_client is not None:
            return await self.callback_client.post(self.callback_url, json=receipt, headers=headers)
        async with httpx.AsyncClient(timeout=10, trust_env=False) as client:
            return await client.post(self.callback_url, json=receipt, headers=headers)

    async def _deliver_later(self, notification_id: str) -> None:
        await asyncio.sleep(self.deliver_after or 0)
        try:
            answer = await self.send_callback(notification_id, "delivered")
            print(f"fake Notify: receipt for {notification_id}: {answer.status_code}", flush=True)
        except httpx.HTTPError as error:
            print(f"fake Notify: receipt for {notification_id} not delivered: {error!r}", flush=True)

    def find(self, notification_id: str) -> Notification:
        return next(n for n in self.notifications if n.id == notification_id)

    # -- running ------------------------------------------------------------------------------------

    async def __aenter__(self) -> FakeNotify:
        config = uvicorn.Config(self.app, host="127.0.0.1", port=self._port, log_level="warning", lifespan="off",
                                access_log=False)
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve())
        while not self._server.started:
            if self._task.done():
                self._task.result()  # raises why it did not start
            await asyncio.sleep(0.01)
        return self

    async def __aexit__(self, *_: Any) -> None:
        assert self._server is not None and self._task is not None
        for receipt in list(self._receipts):
            receipt.cancel()
        self._server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(self._task, 10)

    # -- the API --------------------------------------------------------------------------------------

    def _refused(self, request: Request) -> JSONResponse | None:
        """Notify's authentication: a JWT signed with the key's secret, issued by the service, now."""
        self.requests.append((request.method, request.url.path + (f"?{request.url.query}" if request.url.query else "")))
        if self._failures:
            return _errors(*self._failures.pop(0))
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            return _errors(401, "AuthError", "Unauthorized: authentication token must be provided")
        try:
            claims = jwt.decode(token, self.secret, algorithms=["HS256"], options={"verify_iat": False})
        except jwt.InvalidTokenError:
            return _errors(403, "AuthError", "Invalid token: API key not found")
        if claims.get("iss") != self.service_id:
            return _errors(403, "AuthError", "Invalid token: service not found")
        if not isinstance(claims.get("iat"), int):
            return _errors(403, "AuthError", "Invalid token: iat field not provided")
        if abs(calendar.timegm(time.gmtime()) - claims["iat"]) > CLOCK_BOUND:
            return _errors(403, "AuthError", "Error: Your system clock must be accurate to within 30 seconds")
        return None

    async def _send_email(self, request: Request) -> JSONResponse:
        if (refused := self._refused(request)) is not None:
            return refused
        try:
            body = await request.json()
        except ValueError:
            return _errors(400, "ValidationError", "Invalid JSON supplied in POST data")
        if not isinstance(body, dict):
            return _errors(400, "ValidationError", "POST data is not a JSON object")
        for name in ("email_address", "template_id"):
            if not isinstance(body.get(name), str):
                return _errors(400, "ValidationError", f"{name} is a required property")
        if not _EMAIL.match(body["email_address"]) or len(body["email_address"]) > 320:
            return _errors(400, "ValidationError", "email_address Not a valid email address")
        template = self.templates.get(body["template_id"])
        if template is None:
            return _errors(400, "BadRequestError", "Template not found")
        values = body.get("personalisation") or {}
        if not isinstance(values, dict):
            return _errors(400, "ValidationError", "personalisation should contain key value pairs")
        reference = body.get("reference")
        if reference is not None and (not isinstance(reference, str) or len(reference) > 1000):
            return _errors(400, "ValidationError", "reference is not a string of at most 1000 characters")
        unsubscribe = body.get("one_click_unsubscribe_url")
        if unsubscribe is not None and not (isinstance(unsubscribe, str) and re.match(
                r"^https://[^\s/]+" if self.https_unsubscribe_only else r"^https?://[^\s/]+", unsubscribe)):
            return _errors(400, "ValidationError", "one_click_unsubscribe_url is not a valid https url")
        subject, text = template
        missing = sorted({p.strip() for p in _PLACEHOLDER.findall(subject + text)} - {k.strip() for k in values})
        if missing:
            return _errors(400, "BadRequestError", f"Missing personalisation: {', '.join(missing)}")
        fill = lambda text: _PLACEHOLDER.sub(lambda m: str(values[m.group(1).strip()]), text)  # noqa: E731
        notification = Notification(
            id=str(uuid.uuid4()), reference=reference, email_address=body["email_address"],
            template_id=body["template_id"], template_version=1, personalisation=values, subject=fill(subject),
            body=fill(text), one_click_unsubscribe_url=unsubscribe, email_reply_to_id=body.get("email_reply_to_id"))
        self.notifications.append(notification)
        if self.deliver_after is not None and self.callback_url:
            receipt = asyncio.create_task(self._deliver_later(notification.id))
            self._receipts.add(receipt)
            receipt.add_done_callback(self._receipts.discard)
        if self.delay:
            await asyncio.sleep(self.delay)
        base = str(request.base_url).rstrip("/")
        return JSONResponse({
            "id": notification.id, "reference": reference,
            "content": {"subject": notification.subject, "body": notification.body,
                        "from_email": "innovation.network@notifications.service.gov.uk",
                        "one_click_unsubscribe_url": unsubscribe},
            "uri": f"{base}/v2/notifications/{notification.id}",
            "template": {"id": notification.template_id, "version": 1,
                         "uri": f"{base}/v2/template/{notification.template_id}/version/1"},
            "scheduled_for": None,
        }, status_code=201)

    async def _get_one(self, request: Request) -> JSONResponse:
        if (refused := self._refused(request)) is not None:
            return refused
        wanted = request.path_params["notification_id"]
        try:
            wanted = str(uuid.UUID(wanted))
        except ValueError:
            return _errors(400, "ValidationError", "notification_id is not a valid UUID")
        found = next((n for n in self.notifications if n.id == wanted), None)
        if found is None:
            return _errors(404, "NoResultFound", "No result found")
        return JSONResponse(found.as_json(str(request.base_url).rstrip("/")))

    async def _get_many(self, request: Request) -> JSONResponse:
        if (refused := self._refused(request)) is not None:
            return refused
        query = request.query_params
        status, kind = query.get("status"), query.get("template_type")
        if status is not None and status not in STATUSES:
            return _errors(400, "ValidationError", f"status {status} is not one of [{', '.join(STATUSES)}]")
        if kind is not None and kind not in ("sms", "email", "letter"):
            return _errors(400, "ValidationError", f"template_type {kind} is not one of [sms, email, letter]")
        found = list(reversed(self.notifications))  # newest first, as Notify lists them
        if (older_than := query.get("older_than")) is not None:
            position = next((i for i, n in enumerate(found) if n.id == older_than), None)
            found = [] if position is None else found[position + 1:]
        if "reference" in query:
            found = [n for n in found if n.reference == query["reference"]]
        if status is not None:
            found = [n for n in found if n.status == status]
        if kind not in (None, "email"):
            found = []
        base = str(request.base_url).rstrip("/")
        page = found[:PAGE]
        links = {"current": str(request.url)}
        if len(found) > PAGE:
            links["next"] = f"{base}/v2/notifications?older_than={page[-1].id}"
        return JSONResponse({"notifications": [n.as_json(base) for n in page], "links": links})


async def _main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=8030)
    parser.add_argument("--service-id", required=True)
    parser.add_argument("--secret", required=True)
    parser.add_argument("--template", action="append", default=[], help="a template id using ((subject)), ((body))")
    parser.add_argument("--callback-url")
    parser.add_argument("--callback-token")
    parser.add_argument("--deliver-after", type=float, help="seconds before each email's `delivered` receipt")
    arguments = parser.parse_args()
    notify = FakeNotify({t: SUBJECT_AND_BODY for t in arguments.template}, service_id=arguments.service_id,
                        secret=arguments.secret, callback_url=arguments.callback_url,
                        callback_token=arguments.callback_token, https_unsubscribe_only=False,
                        deliver_after=arguments.deliver_after, port=arguments.port)
    async with notify:
        print(f"fake GOV.UK Notify at {notify.url}; API key {notify.key}", flush=True)
        await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(_main())
