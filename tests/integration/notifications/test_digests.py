"""Daily and weekly digests hold every notice of their period exactly once: across periods, with
two replicas, and when the sender is SIGKILLed in the middle of sending them. On the real broker
and database, the service in process and as a real process.

The digest moment is configuration (a local time in Europe/London and a weekday): a test runs the
service with a moment already past its events (they wait), then with one a second ahead (they go)."""

import asyncio
import collections
import contextlib
import re
import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from shared.events import IdeaEndorsed, IdeaShortlisted, IdeaSubmitted, new_event
from tests.integration.notifications.support import (
    SECRET,
    _Collect,
    all_delivered,
    assert_names_nobody,
    caught_up,
    parts,
    pseudonym,
    running_notifications,
    smtp_server,
    subscribe,
    to,
)
from tests.support.kafka import publish
from tests.support.processes import ServiceProcess
from tests.support.waiting import eventually

LONDON = ZoneInfo("Europe/London")
IDEA_LINK = re.compile(r"/ideas/([0-9a-f-]{36})")


def digest_moment(offset: timedelta) -> dict[str, str]:
    """Settings that put today's (and this weekday's) digests at London's time now + `offset`."""
    moment = datetime.now(LONDON) + offset
    return {"digest_time": moment.strftime("%H:%M:%S"), "digest_weekday": moment.strftime("%A").lower()}


WAIT = digest_moment(timedelta(hours=-1))  # already past: what arrives now waits for the next one


def endorsed_then_shortlisted(department, endorsers, count):
    """`count` ideas, each endorsed by every one of `endorsers` and then shortlisted (what they hear)."""
    events, ideas = [], []
    for i in range(count):
        idea = uuid.uuid4()
        ideas.append(idea)
        events.append(new_event(IdeaSubmitted(idea_id=idea, title=f"Digest idea {i}", problem="p", proposal="q",
                                              submitted_by=pseudonym("ref-author")), department=department, service="ideas"))
        events += [new_event(IdeaEndorsed(idea_id=idea, endorsed_by=pseudonym(e)), department=department, service="ideas")
                   for e in endorsers]
        events.append(new_event(IdeaShortlisted(idea_id=idea, by=pseudonym("ref-panel")), department=department,
                                service="ideas"))
    return events, ideas


def ideas_in(message) -> list[str]:
    return IDEA_LINK.findall(parts(message)[0])


async def test_daily_and_weekly_digests_hold_every_event_of_their_period_once_with_two_replicas(
    kafka_bootstrap, new_database, department,
):
    daily, weekly, idle = "ref-daily-reader", "ref-weekly-reader", "ref-idle-reader"
    dsn = await new_database("notifications")
    async with smtp_server() as (smtp_port, mailbox):
        async with running_notifications(kafka_bootstrap, dsn, department, smtp_port=smtp_port, **WAIT) as service:
            # No department news (event_types empty): only what happens to the ideas they endorsed
            await subscribe(service, daily, preferences={"endorsed": "daily"}, event_types=[])
            await subscribe(service, weekly, event_types=[])  # ideas I endorsed: weekly, the default
            await subscribe(service, idle, preferences={"endorsed": "daily"}, event_types=[])  # an empty period
            events, first_ideas = endorsed_then_shortlisted(department, (daily, weekly), 5)
            await publish(kafka_bootstrap, *events)
            await caught_up(kafka_bootstrap, department)
            assert mailbox.messages == []  # waiting for their digests

        # Two replicas, both due to make the digests of the period that has just ended
        moment = digest_moment(timedelta(seconds=1))
        async with contextlib.AsyncExitStack() as stack:
            replicas = [await stack.enter_async_context(running_notifications(
                kafka_bootstrap, dsn, department, smtp_port=smtp_port, poll_seconds=0.1, **moment)) for _ in range(2)]
            items = await eventually(lambda: all_delivered(replicas[0], 2), what="two digests delivered")
            await asyncio.sleep(1.5)  # time for a second replica's (wrong) second digest to show
            assert len(await all_delivered(replicas[0], 2)) == 2 and len(items) == 2
            assert {d["digest_id"] is not None for d in items} == {True}

            # Later events belong to the next period: nothing is sent for them now
            events, later_ideas = endorsed_then_shortlisted(department, (daily, weekly), 3)
            await publish(kafka_bootstrap, *events)
            await caught_up(kafka_bootstrap, department)
            await asyncio.sleep(1.0)
            assert len(mailbox.messages) == 2

        for who, rhythm in ((daily, "daily"), (weekly, "weekly")):
            (digest,) = to(mailbox, f"{who}@dept.example.org")
            assert rhythm in digest["Subject"].lower()
            found = ideas_in(digest)
            assert sorted(found) == sorted(map(str, first_ideas)), found  # each once, none missing
            assert digest["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
            assert_names_nobody(digest, daily, weekly, idle, "ref-author", "ref-panel")
        assert to(mailbox, f"{idle}@dept.example.org") == []  # an empty period sends nothing

        # The next period's digests hold the later events, and only them
        async with running_notifications(kafka_bootstrap, dsn, department, smtp_port=smtp_port,
                                         **digest_moment(timedelta(seconds=1))) as service:
            await eventually(lambda: all_delivered(service, 4), what="the next period's two digests")
        for who in (daily, weekly):
            first, second = to(mailbox, f"{who}@dept.example.org")
            assert sorted(ideas_in(second)) == sorted(map(str, later_ideas))
        assert len(mailbox.messages) == 4


class SlowSink(_Collect):
    """An SMTP server that takes `delay` seconds over each message before accepting it."""

    def __init__(self, delay: float) -> None:
        super().__init__()
        self.delay = delay

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 - aiosmtpd's hook name
        await asyncio.sleep(self.delay)
        return await super().handle_DATA(server, session, envelope)


async def test_digests_killed_mid_send_are_each_sent_whole_once_after_a_restart(
    kafka_bootstrap, new_database, department, tmp_path,
):
    from aiosmtpd.smtp import SMTP

    readers = [f"ref-reader-{i:02d}" for i in range(16)]
    dsn = await new_database("notifications")
    sink = SlowSink(0.3)
    server = await asyncio.get_running_loop().create_server(lambda: SMTP(sink, hostname="slow-smtp"), "127.0.0.1", 0)
    smtp_port = server.sockets[0].getsockname()[1]
    try:
        async with running_notifications(kafka_bootstrap, dsn, department, smtp_port=smtp_port, **WAIT) as service:
            for reader in readers:
                await subscribe(service, reader, event_types=[])  # endorsed: weekly; no department news
            events, ideas = endorsed_then_shortlisted(department, readers, 3)
            await publish(kafka_bootstrap, *events)
            await caught_up(kafka_bootstrap, department)

        env = {"INNOVATION_DEPARTMENT": department, "NOTIFICATIONS_DATABASE_URL": dsn,
               "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap, "INNOVATION_PSEUDONYM_SECRET": SECRET,
               "NOTIFICATIONS_SMTP_PORT": str(smtp_port), "NOTIFICATIONS_WORKER_BATCH": "3",
               "NOTIFICATIONS_SEND_TIMEOUT_SECONDS": "2", "NOTIFICATIONS_POLL_SECONDS": "0.2",
               "NOTIFICATIONS_OUTCOMES_PATTERN": rf"^innovation\.{department}\.outcomes\.v1$"}
        moment = {"NOTIFICATIONS_DIGEST_TIME": (m := digest_moment(timedelta(seconds=1)))["digest_time"],
                  "NOTIFICATIONS_DIGEST_WEEKDAY": m["digest_weekday"]}
        process = ServiceProcess("notifications", log=tmp_path / "notifications.log", **env, **moment)
        await process.start()
        try:
            await eventually(lambda: asyncio.sleep(0, len(sink.messages) >= 4 or None), what="some digests sent")
            process.kill()  # SIGKILL, mid-send: three attempts in flight at any moment
            sent_before = len(sink.messages)
            assert sent_before < len(readers), "the kill came too late to test anything"
            await asyncio.sleep(0.5)
            process = ServiceProcess("notifications", log=tmp_path / "notifications.log", **env, **moment)
            await process.start()  # the leases of the attempts cut short end, and they are tried again

            async def everyone():
                return len({m["Message-ID"] for m in sink.messages}) == len(readers) or None
            await eventually(everyone, timeout=90, what="every reader's digest")
        finally:
            process.stop()
    finally:
        server.close()
        await server.wait_closed()

    by_reader = collections.defaultdict(set)
    copies = collections.Counter(m["Message-ID"] for m in sink.messages)
    for message, envelope in zip(sink.messages, sink.envelopes):
        (address,) = envelope.rcpt_tos
        by_reader[address].add(message["Message-ID"])
        assert sorted(ideas_in(message)) == sorted(map(str, ideas))  # whole: every notice, once
    assert set(by_reader) == {f"{r}@dept.example.org" for r in readers}
    assert all(len(ids) == 1 for ids in by_reader.values()), by_reader  # one digest each, never a second
    # A copy of one digest can only come from a kill between the server's 250 and the commit that
    # records it; a receiver drops it by Message-ID. The kill above lands mid-message, so none here.
    assert max(copies.values()) <= 2, copies
