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
import contextlib
import smtplib
import time
from email.headerregistry import Address
from email.message import EmailMessage
from typing import Any

import asyncpg
import httpx
from prometheus_client import Counter

from services.notifications import repository
from services.notifications.config import NotificationsSettings
from services.notifications.domain import (
    DELIVERY_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    RetryBudget,
    compose_email,
    signature,
)
from shared.events import decode
from shared.events.binding import STRUCTURED_JSON
from shared.logging import get_logger

log = get_logger(__name__)

ATTEMPTS = Counter("notifications_delivery_attempts_total", "Delivery attempts by channel and result",
                   ["channel", "result"])
WAKE_CHANNEL = "notifications_deliveries"


class SendFailed(Exception):
    pass


class RecipientGone(SendFailed):
    """The subscription or webhook was deleted: retrying cannot help."""


class EmailSender:
    def __init__(self, settings: NotificationsSettings) -> None:
        self._settings = settings

    def message(self, row: Any) -> EmailMessage:
        event = decode(bytes(row["payload"]), [("content-type", STRUCTURED_JSON.encode())])
        subject, text = compose_email(event, self._settings.department)
        message = EmailMessage()
        message["From"] = self._settings.smtp_sender
        message["To"] = Address(display_name=row["display_name"] or "", addr_spec=row["email"])
        message["Subject"] = subject
        message["Message-ID"] = f"<{row['delivery_id']}@notifications.{self._settings.department}>"
        message["X-Innovation-Event-Id"] = str(row["event_id"])
        message["X-Innovation-Event-Type"] = row["event_type"]
        message.set_content(text)
        return message

    async def send(self, row: Any) -> None:
        if row["email"] is None:
            raise RecipientGone("the subscription no longer exists")
        message = self.message(row)
        await asyncio.to_thread(self._send, message)

    def _send(self, message: EmailMessage) -> None:
        s = self._settings
        with smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=s.send_timeout_seconds) as smtp:
            smtp.send_message(message)


class WebhookSender:
    def __init__(self, settings: NotificationsSettings) -> None:
        self._client = httpx.AsyncClient(timeout=settings.send_timeout_seconds, follow_redirects=False,
                                         headers={"User-Agent": "innovation-network-notifications/1"})

    async def send(self, row: Any) -> None:
        if row["url"] is None:
            raise RecipientGone("the webhook no longer exists")
        body = bytes(row["payload"])
        timestamp = int(time.time())
        response = await self._client.post(row["url"], content=body, headers={
            "Content-Type": STRUCTURED_JSON,
            TIMESTAMP_HEADER: str(timestamp),
            SIGNATURE_HEADER: signature(row["secret"], timestamp, body),
            DELIVERY_HEADER: str(row["delivery_id"]),
        })
        if not response.is_success:
            raise SendFailed(f"HTTP {response.status_code}: {response.text[:200]}")

    async def close(self) -> None:
        await self._client.aclose()


def describe(error: BaseException) -> str:
    text = str(error).strip()
    if isinstance(error, SendFailed):
        return text
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


class DeliveryWorker:
    def __init__(self, pool: asyncpg.Pool, settings: NotificationsSettings) -> None:
        self._pool, self._settings = pool, settings
        self._budget = RetryBudget(settings.max_attempts, settings.retry_first_delay_seconds,
                                   settings.retry_max_delay_seconds)
        self._senders = {"email": EmailSender(settings), "webhook": WebhookSender(settings)}
        # Long enough that a send still in flight (bounded by the timeout) is never taken over.
        self._lease = 2 * settings.send_timeout_seconds + 5
        self._wake = asyncio.Event()

    async def run(self) -> None:
        listener = await self._listen()
        try:
            while True:
                self._wake.clear()
                try:
                    claimed = await self.run_once()
                    if claimed == self._settings.worker_batch:
                        continue
                    wait = await self._until_next_due()
                except Exception as error:  # the database may be away: try again after a pause
                    log.warning("delivery round failed; will retry", error=repr(error))
                    wait = self._settings.poll_seconds
                if listener is None or listener.is_closed():
                    listener = await self._listen()
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), wait)
        finally:
            await self._senders["webhook"].close()
            if listener is not None and not listener.is_closed():
                await listener.close()

    async def run_once(self) -> int:
        """One round: claims due deliveries and attempts each; returns how many were claimed."""
        rows = await repository.claim_due(self._pool, self._settings.worker_batch, self._lease)
        await asyncio.gather(*(self._attempt(row) for row in rows))
        return len(rows)

    async def _attempt(self, row: Any) -> None:
        channel, attempts = row["channel"], row["attempts"]
        try:
            await self._senders[channel].send(row)
        except Exception as error:
            retry_in = None if isinstance(error, RecipientGone) else self._budget.after_failure(attempts)
            await repository.mark_failed_attempt(self._pool, row["delivery_id"], attempts, describe(error), retry_in)
            result = "failed" if retry_in is None else "retry"
            ATTEMPTS.labels(channel, result).inc()
            log.warning("delivery attempt failed", delivery_id=str(row["delivery_id"]), channel=channel,
                        attempts=attempts, error=describe(error), retry_in=retry_in)
            return
        await repository.mark_delivered(self._pool, row["delivery_id"], attempts)
        ATTEMPTS.labels(channel, "delivered").inc()
        log.info("delivered", delivery_id=str(row["delivery_id"]), channel=channel, attempts=attempts)

    async def _until_next_due(self) -> float:
        due = await repository.next_due(self._pool)
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


async def deliver(runtime: Any) -> None:
    """The background task of the service."""
    await DeliveryWorker(runtime.pool, runtime.settings).run()
