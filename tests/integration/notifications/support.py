"""Running the notifications service in a test against the real broker and database, with an
SMTP server (aiosmtpd) and a webhook receiver (a small HTTP/1.1 server) in the test's own loop."""

import asyncio
import contextlib
import email
import email.policy
import itertools
import re
import ssl
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from typing import Any

from aiosmtpd.smtp import SMTP

from services.notifications.config import NotificationsSettings
from services.notifications.consumers import department_group
from services.notifications.main import build
from shared.events.pseudonym import pseudonymise
from shared.events.topics import STREAMS, topic_name
from tests.support.kafka import consumer_lag, create_topics
from tests.support.services import RunningService, serving
from tests.support.waiting import eventually

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
    """A minimal HTTP/1.1 server on loopback recording every request, answering with `status`
    (and `headers`); over TLS when given a server context (recording the SNI names it is sent).
    `journal`, shared between receivers, records ("<name>", delivery id) as requests arrive."""

    def __init__(self, status: int = 204, *, headers: dict[str, str] | None = None, tls: ssl.SSLContext | None = None,
                 journal: list[tuple[str, str]] | None = None, name: str = "receiver") -> None:
        self.status, self.extra_headers, self.tls = status, headers or {}, tls
        self.journal, self.name = journal if journal is not None else [], name
        self.requests: list[Received] = []
        self.server_names: list[str | None] = []
        self._server: asyncio.Server | None = None

    @property
    def port(self) -> int:
        return self._server.sockets[0].getsockname()[1]

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}/hooks/innovation"

    async def __aenter__(self) -> "WebhookReceiver":
        if self.tls is not None:
            self.tls.sni_callback = lambda _, name, __: self.server_names.append(name)
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=self.tls)
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
                self.journal.append((self.name, headers.get("x-innovation-delivery", "")))
                await self.respond(reader, writer)
        except (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError):
            pass
        finally:
            writer.close()

    async def respond(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        reply = b"" if self.status == 204 else b"receiver says no"
        extra = "".join(f"{k}: {v}\r\n" for k, v in self.extra_headers.items())
        writer.write(f"HTTP/1.1 {self.status} X\r\nContent-Length: {len(reply)}\r\n{extra}\r\n".encode() + reply)
        await writer.drain()


class DripReceiver(WebhookReceiver):
    """A receiver that takes the request, then sends its response one byte every `interval`
    seconds, never finishing: only the sender's deadline ends the exchange. Records each
    connection cut off by the sender (as ("<name> cut off", delivery id) in the journal)."""

    def __init__(self, interval: float = 1.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.interval, self.cut_off = interval, 0

    async def respond(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        delivery = self.requests[-1].headers.get("x-innovation-delivery", "")
        try:
            for byte in itertools.cycle(b"HTTP/1.1 200 OK\r\nX-Slow: "):
                writer.write(bytes([byte]))
                await writer.drain()
                with contextlib.suppress(asyncio.TimeoutError):  # the pause, unless the sender hangs up
                    if await asyncio.wait_for(reader.read(1), self.interval) == b"":
                        raise ConnectionResetError("the sender hung up")
        except ConnectionError:
            self.cut_off += 1
            self.journal.append((f"{self.name} cut off", delivery))
            raise


class FloodReceiver(WebhookReceiver):
    """A receiver answering 500 with a body announced as `size` bytes, written until the sender
    hangs up; records how many bytes it managed to write."""

    def __init__(self, size: int = 1 << 30, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.size, self.written, self.cut_off = size, 0, 0

    async def respond(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(f"HTTP/1.1 500 X\r\nContent-Length: {self.size}\r\n\r\n".encode())
        chunk = b"x" * 65536
        try:
            while self.written < self.size:
                writer.write(chunk)
                await writer.drain()
                self.written += len(chunk)
        except ConnectionError:
            self.cut_off += 1
            raise


# -- people and their emails -------------------------------------------------------------------

PSEUDONYM = re.compile(r"p_[0-9a-f]{16}")


def pseudonym(ref: str) -> str:
    """The pseudonym the service (SECRET) gives the person `ref`: what events carry."""
    return pseudonymise(SECRET, ref)


async def subscribe(service: RunningService, ref: str, **body: Any) -> dict[str, Any]:
    """`ref`'s own subscription at <ref>@dept.example.org, with `body` on top (preferences...)."""
    response = await service.client.put(f"/v1/subscriptions/{ref}", headers=service.headers("contributor", person=ref),
                                        json={"email": f"{ref}@dept.example.org", **body})
    assert response.status_code in (200, 201), response.text
    return response.json()


def to(mailbox: "_Collect", address: str) -> list[email.message.EmailMessage]:
    return [m for m, e in zip(mailbox.messages, mailbox.envelopes) if address in e.rcpt_tos]


def parts(message: email.message.EmailMessage) -> tuple[str, str]:
    """The plain-text and HTML parts of an email."""
    return message.get_body(("plain",)).get_content(), message.get_body(("html",)).get_content()


def assert_names_nobody(message: email.message.EmailMessage, *refs: str) -> None:
    """No pseudonym, and none of the people's own references, in the subject or either part."""
    text, html = parts(message)
    for where in (message["Subject"], text, html):
        assert not PSEUDONYM.search(where), where
        for ref in refs:
            assert ref not in where, (ref, where)


async def caught_up(kafka_bootstrap: str, department: str, stream: str = "ideas") -> None:
    """Waits until the department consumer has committed everything on the department's `stream`."""
    async def no_lag():
        return await consumer_lag(kafka_bootstrap, department_group(department), topic_name(department, stream)) == 0 or None
    await eventually(no_lag, what=f"the notifications consumer caught up on {stream}")


async def all_delivered(service: RunningService, count: int, **filters: str) -> list[dict[str, Any]] | None:
    """The deliveries (matching `filters`), once there are `count` and every one is delivered."""
    response = await service.client.get("/v1/deliveries", params={"limit": 200, **filters}, headers=service.headers("admin"))
    items = response.json()["items"]
    return items if len(items) >= count and all(d["status"] == "delivered" for d in items) else None
