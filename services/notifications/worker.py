"""The delivery worker: sends pending deliveries by email (SMTP) or webhook (signed POST of the
structured CloudEvent), with exponential backoff and a bounded budget ending in `failed`.

Any number of replicas may run it: each claims due rows with FOR UPDATE SKIP LOCKED and a
lease (see repository.claim_due), so one delivery is attempted by one worker at a time. A
worker that dies mid-send leaves the row to be retried when its lease ends: a receiver may see
a delivery twice in that case, and can tell by the delivery id (X-Innovation-Delivery header,
Message-ID of the email).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import smtplib
import socket
import ssl
import time
import uuid
from email.headerregistry import Address
from email.message import EmailMessage

import asyncpg
import httpx
from prometheus_client import Counter

from services.notifications import addresses, egress, repository
from services.notifications.addresses import IPAddress
from services.notifications.config import NotificationsSettings
from services.notifications.failures import RecipientGone, Refused, SendFailed
from services.notifications.compose import Writer
from services.notifications.domain import DELIVERY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, RetryBudget, signature
from services.notifications.messages import Outgoing
from services.notifications.notify import NotifySender
from shared.events.binding import STRUCTURED_JSON
from shared.logging import get_logger
from shared.runtime import Runtime

log = get_logger(__name__)

ATTEMPTS = Counter("notifications_delivery_attempts_total", "Delivery attempts by channel and result",
                   ["channel", "result"])
WAKE_CHANNEL = "notifications_deliveries"


class SmtpSender:
    """Emails by SMTP: a plain-text and an HTML part, and RFC 8058 one-click unsubscribe headers
    (List-Unsubscribe, List-Unsubscribe-Post; the relay's DKIM signature should cover them)."""

    def __init__(self, settings: NotificationsSettings) -> None:
        self._settings = settings

    def message(self, outgoing: Outgoing) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self._settings.smtp_sender
        message["To"] = Address(display_name=outgoing.display_name or "", addr_spec=outgoing.to)
        message["Subject"] = outgoing.email.subject
        message["Message-ID"] = f"<{outgoing.delivery_id}@notifications.{self._settings.department}>"
        message["List-Unsubscribe"] = f"<{outgoing.unsubscribe_url}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        for name, value in outgoing.headers.items():
            message[name] = value
        message.set_content(outgoing.email.text)
        message.add_alternative(outgoing.email.html, subtype="html")
        return message

    async def send(self, outgoing: Outgoing, attempts: int) -> None:
        await asyncio.to_thread(self._send, self.message(outgoing))

    def _send(self, message: EmailMessage) -> None:
        s = self._settings
        with smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=s.send_timeout_seconds) as smtp:
            smtp.send_message(message)


# How much of a failed webhook response is read (for the admins' detail): a receiver cannot make
# the worker read, or hold in memory, more than this.
RESPONSE_READ_LIMIT = 4096


class WebhookSender:
    """Signed POSTs to webhooks. Each attempt vets the destination (egress.vet) and connects to an
    address it vetted, sending the URL's own Host header and, over TLS, its host name for SNI and
    certificate verification; all of it within one deadline. No proxies from the environment
    (they would resolve the name themselves), no redirects, no connection reuse (a pooled TLS
    connection verified for one name would carry requests for another name on the same address)."""

    def __init__(self, settings: NotificationsSettings, *, verify: ssl.SSLContext | bool = True) -> None:
        self._deadline = settings.send_timeout_seconds
        self._allowed = settings.allowed_networks
        self._client = httpx.AsyncClient(
            timeout=settings.send_timeout_seconds, follow_redirects=False, trust_env=False, verify=verify,
            limits=httpx.Limits(max_connections=None, max_keepalive_connections=0),  # the worker bounds attempts
            headers={"User-Agent": "innovation-network-notifications/1", "Accept-Encoding": "identity"})

    async def send(self, row: asyncpg.Record) -> None:
        if row["url"] is None:
            raise RecipientGone("the webhook no longer exists")
        url = httpx.URL(row["url"])
        async with asyncio.timeout(self._deadline):
            choices = await egress.vet(url, self._allowed)
            for address in choices:
                try:
                    return await self._post(url, address, row)
                except httpx.ConnectError:
                    if address == choices[-1]:
                        raise

    async def _post(self, url: httpx.URL, address: IPAddress, row: asyncpg.Record) -> None:
        body = bytes(row["payload"])
        timestamp = int(time.time())
        host = egress.host_of(url)
        request = self._client.build_request(
            "POST", url.copy_with(host=str(address)), content=body,
            headers={
                "Host": url.netloc.decode("ascii"),
                "Content-Type": STRUCTURED_JSON,
                TIMESTAMP_HEADER: str(timestamp),
                SIGNATURE_HEADER: signature(row["secret"], timestamp, body),
                DELIVERY_HEADER: str(row["delivery_id"]),
            },
            extensions={} if addresses.literal_address(host) else {"sni_hostname": host},
        )
        response = await self._client.send(request, stream=True)
        try:
            if not response.is_success:
                text = (await read_bounded(response, RESPONSE_READ_LIMIT)).decode("utf-8", "replace")
                raise SendFailed(f"HTTP {response.status_code}", f"HTTP {response.status_code}: {text[:500]}")
        finally:
            await response.aclose()

    async def close(self) -> None:
        await self._client.aclose()


async def read_bounded(response: httpx.Response, limit: int) -> bytes:
    """At most `limit` bytes of the body (as sent: no decompression); the rest is never read."""
    read = bytearray()
    async for chunk in response.aiter_raw():
        read += chunk
        if len(read) >= limit:
            break
    return bytes(read[:limit])


def describe(error: BaseException) -> tuple[str, str]:
    """(reason, detail) of a failed attempt: the class of the failure, which every role of the
    department may read, and the whole text, for logs and admins only (it may hold a
    receiver's response, an address, a resolver's message)."""
    text = (error.message if isinstance(error, addresses.RefusedDestination) else str(error)).strip()
    ours = isinstance(error, (SendFailed, addresses.RefusedDestination, egress.NotResolved))
    detail = text if ours else (f"{type(error).__name__}: {text}" if text else type(error).__name__)
    return _reason(error), detail[:1000]


def _reason(error: BaseException) -> str:
    match error:
        case SendFailed():
            return error.reason
        case addresses.RefusedDestination():
            return f"refused: {error.kind}"
        case egress.NotResolved():
            return "host name not resolved"
        case TimeoutError() | httpx.TimeoutException() | socket.timeout():
            return "timeout"
        case httpx.ConnectError() if _caused_by(error, ssl.SSLError):
            return "TLS error"
        case httpx.ConnectError() | ConnectionRefusedError():
            return "connection failed"
        case httpx.RemoteProtocolError() | httpx.LocalProtocolError():
            return "HTTP protocol error"
        case httpx.ReadError() | httpx.WriteError() | ConnectionError():
            return "connection lost"
        case smtplib.SMTPRecipientsRefused():
            return "SMTP recipient refused"
        case smtplib.SMTPResponseException():
            return f"SMTP {error.smtp_code}"
        case _:
            return type(error).__name__


def _caused_by(error: BaseException | None, kind: type[BaseException]) -> bool:
    seen = 0
    while error is not None and seen < 10:
        if isinstance(error, kind):
            return True
        error, seen = error.__cause__ or error.__context__, seen + 1
    return False


# Failures that no retry can mend: the delivery ends `failed` at once.
FINAL = (RecipientGone, Refused, addresses.RefusedDestination)


class DeliveryWorker:
    """Attempts run as independent tasks, at most `worker_batch` at once and at most
    `per_webhook_in_flight` of them to one webhook; a slot freed is filled at once. So a receiver
    that is slow (or hostile) delays only its own deliveries, never those to anyone else."""

    def __init__(self, pool: asyncpg.Pool, settings: NotificationsSettings) -> None:
        self._pool, self._settings = pool, settings
        self._budget = RetryBudget(settings.max_attempts, settings.retry_first_delay_seconds,
                                   settings.retry_max_delay_seconds)
        self._writer = Writer(settings)
        self._email: SmtpSender | NotifySender = NotifySender(settings) if settings.email_channel == "notify" else SmtpSender(settings)
        self._webhooks = WebhookSender(settings)
        # Longer than an attempt may take (its deadline), so no other replica takes a row over
        # while this one still sends it.
        self._lease = 2 * settings.send_timeout_seconds + 5
        self._wake = asyncio.Event()
        self._in_flight: dict[asyncio.Task[None], uuid.UUID | None] = {}  # task -> its webhook

    async def run(self) -> None:
        listener = await self._listen()
        try:
            while True:
                self._wake.clear()
                try:
                    await self.fill()
                    wait = await self._until_next_due()
                except Exception as error:  # the database may be away: try again after a pause
                    log.warning("delivery round failed; will retry", error=repr(error))
                    wait = self._settings.poll_seconds
                if listener is None or listener.is_closed():
                    listener = await self._listen()
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), wait)
        finally:
            # Attempts cut short here stay leased and are tried again when their lease ends.
            for task in self._in_flight:
                task.cancel()
            await asyncio.gather(*self._in_flight, return_exceptions=True)
            await self._webhooks.close()
            if isinstance(self._email, NotifySender):
                self._email.close()
            if listener is not None and not listener.is_closed():
                await listener.close()

    async def fill(self) -> int:
        """Claims due deliveries into the free slots and starts an attempt for each; returns how
        many were started."""
        started = 0
        while (free := self._settings.worker_batch - len(self._in_flight)) > 0:
            busy = collections.Counter(w for w in self._in_flight.values() if w is not None)
            async with self._pool.acquire() as conn:
                rows = await repository.claim_due(conn, free, self._lease, busy, self._settings.per_webhook_in_flight)
            if not rows:
                break
            for row in rows:
                task = asyncio.create_task(self._attempt(row))
                self._in_flight[task] = row["webhook_id"]
                task.add_done_callback(self._finished)
            started += len(rows)
        return started

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._in_flight.pop(task, None)
        if not task.cancelled() and task.exception() is not None:
            # The outcome could not be recorded (the database away): the lease ends, it is tried again.
            log.error("delivery attempt not recorded; retried when its lease ends", error=repr(task.exception()))
        self._wake.set()  # a slot is free

    async def _attempt(self, row: asyncpg.Record) -> None:
        channel, attempts = row["channel"], row["attempts"]
        provider_id = None
        try:
            if channel == "webhook":
                await self._webhooks.send(row)
            else:
                async with self._pool.acquire() as conn:
                    outgoing = await self._writer.outgoing(conn, row)
                provider_id = await self._email.send(outgoing, attempts)
        except Exception as error:
            retry_in = None if isinstance(error, FINAL) else self._budget.after_failure(attempts)
            reason, detail = describe(error)
            async with self._pool.acquire() as conn:
                await repository.mark_failed_attempt(conn, row["delivery_id"], attempts, reason, detail, retry_in)
            result = "failed" if retry_in is None else "retry"
            ATTEMPTS.labels(channel, result).inc()
            log.warning("delivery attempt failed", delivery_id=str(row["delivery_id"]), channel=channel,
                        attempts=attempts, reason=reason, error=detail, retry_in=retry_in)
            return
        async with self._pool.acquire() as conn:
            if provider_id is None:
                await repository.mark_delivered(conn, row["delivery_id"], attempts)
            else:  # GOV.UK Notify has it; its callback says whether it was delivered
                await repository.mark_sent(conn, row["delivery_id"], attempts, provider_id)
        result = "delivered" if provider_id is None else "sent"
        ATTEMPTS.labels(channel, result).inc()
        log.info(result, delivery_id=str(row["delivery_id"]), channel=channel, attempts=attempts)

    async def _until_next_due(self) -> float:
        """Seconds until a delivery this worker could start is due (capped by the poll interval)."""
        if len(self._in_flight) >= self._settings.worker_batch:
            return self._settings.poll_seconds  # woken when a slot frees
        busy = collections.Counter(w for w in self._in_flight.values() if w is not None)
        full = [w for w, n in busy.items() if n >= self._settings.per_webhook_in_flight]
        async with self._pool.acquire() as conn:
            due = await repository.next_due(conn, excluding=full)
        if due is None:
            return self._settings.poll_seconds
        seconds = due.timestamp() - time.time()
        return min(max(seconds, 0.01), self._settings.poll_seconds)

    async def _listen(self) -> asyncpg.Connection | None:
        """A connection LISTENing for new deliveries, or None (the worker then polls)."""
        try:
            conn = await asyncpg.connect(self._settings.database_url)
            await conn.add_listener(WAKE_CHANNEL, lambda *_: self._wake.set())
            return conn
        except (OSError, asyncpg.PostgresError) as error:
            log.warning("LISTEN unavailable; polling", error=repr(error))
            return None


async def deliver(runtime: Runtime) -> None:
    """The background task of the service."""
    await DeliveryWorker(runtime.pool, runtime.settings).run()
