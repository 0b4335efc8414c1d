"""Running the notifications service in a test against the real broker and database, with an
SMTP server (aiosmtpd) and a webhook receiver (a small HTTP/1.1 server) in the test's own loop."""

import asyncio
import contextlib
import email
import email.policy
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from typing import Any

from aiosmtpd.smtp import SMTP

from services.notifications.config import NotificationsSettings
from services.notifications.main import build
from shared.events.topics import STREAMS, topic_name
from tests.support.kafka import create_topics
from tests.support.services import RunningService, serving

SECRET = "pseudonym-secret-for-tests"
LOCAL_RECEIVERS = "127.0.0.0/8,::1/128"  # the tests' receivers listen on loopback


@contextlib.asynccontextmanager
async def running_notifications(
    kafka_bootstrap: str, dsn: str, department: str, *, adoptions_from: Iterable[str] = (), **settings: Any,
) -> AsyncIterator[RunningService]:
    """The service of `department`; its outcomes pattern restricted to the outcomes topics of
    `adoptions_from` (and its own). Topics are created first, so subscriptions see them at once."""
    departments = sorted({department, *adoptions_from})
    await create_topics(kafka_bootstrap, *(topic_name(department, s) for s in STREAMS),
                        *(topic_name(d, "outcomes") for d in departments))
    config = NotificationsSettings(
        department=department, database_url=dsn, kafka_bootstrap_servers=kafka_bootstrap, pseudonym_secret=SECRET,
        outcomes_pattern=r"^innovation\.(" + "|".join(departments) + r")\.outcomes\.v1$",
        **{"retry_first_delay_seconds": 0.05, "retry_max_delay_seconds": 0.2, "max_attempts": 3,
           "send_timeout_seconds": 2, "poll_seconds": 0.5, "webhook_allowed_networks": LOCAL_RECEIVERS, **settings},
    )
    async with serving(build(config), dsn, department, "http://notifications") as service:
        yield service


class _Collect:
    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []
        self.envelopes: list[Any] = []

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 - aiosmtpd's hook name
        self.envelopes.append(envelope)
        self.messages.append(email.message_from_bytes(envelope.original_content, policy=email.policy.default))
        return "250 Message accepted for delivery"


@contextlib.asynccontextmanager
async def smtp_server() -> AsyncIterator[tuple[int, _Collect]]:
    """An aiosmtpd server on a free loopback port; yields (port, collector of messages)."""
    handler = _Collect()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(handler, hostname="test-smtp"), "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1], handler
    finally:
        server.close()
        await server.wait_closed()


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class WebhookReceiver:
    """A minimal HTTP/1.1 server recording every request, answering with `status`."""

    def __init__(self, status: int = 204) -> None:
        self.status = status
        self.requests: list[Received] = []
        self._server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}/hooks/innovation"

    async def __aenter__(self) -> "WebhookReceiver":
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *_: Any) -> None:
        self._server.close()
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                request_line, *lines = head.decode("latin-1").split("\r\n")
                method, path, _ = request_line.split(" ", 2)
                headers = {k.strip().lower(): v.strip() for k, _, v in (l.partition(":") for l in lines if l)}
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                self.requests.append(Received(method, path, headers, body))
                reply = b"" if self.status == 204 else b"receiver says no"
                writer.write(f"HTTP/1.1 {self.status} X\r\nContent-Length: {len(reply)}\r\n\r\n".encode() + reply)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()
