"""The GOV.UK Notify channel against a local Notify (tests/support/fake_notify.py) speaking the
documented API to the official client: our delivery id is Notify's reference, a retry after a
timeout sends once, a 400 is final; and Notify's delivery receipts, POSTed to the running service
with the callback token, move the deliveries in its database."""

import asyncio
import json
import os
import time
import uuid
from datetime import datetime

import asyncpg
import notifications_python_client.authentication as notify_authentication
import pytest
from notifications_python_client.errors import HTTPError
from notifications_python_client.notifications import NotificationsAPIClient
from prometheus_client import REGISTRY

from services.notifications import messages
from services.notifications.config import NotificationsSettings
from services.notifications.failures import Refused, SendFailed
from services.notifications.consumers import department_group
from services.notifications.notify import NotifySender, callback_router
from shared.events import IdeaBacked, IdeaDeclined, IdeaSubmitted, new_event
from shared.events.pseudonym import pseudonymise
from shared.events.topics import topic_name
from tests.integration.notifications.support import SECRET, running_notifications
from tests.support.fake_notify import SUBJECT_AND_BODY, FakeNotify, api_key
from tests.support.kafka import consumer_lag, publish
from tests.support.waiting import eventually

ONE = str(uuid.uuid4())  # every kind's template: ((subject)) / ((body))
DIGEST = str(uuid.uuid4())  # the digests' template also shows the unsubscribe link
NAMED = str(uuid.uuid4())  # a template wanting a placeholder the service does not fill
TEMPLATES = {ONE: SUBJECT_AND_BODY, DIGEST: ("((subject))", "((body))\n\nUnsubscribe: ((unsubscribe_link))"),
             NAMED: ("((subject))", "Dear ((first_name)), ((body))")}
TOKEN = "notify-callback-token-0123456789abcdef"
CALLBACKS = "/v1/notify/callbacks"


@pytest.fixture
async def notify():
    async with FakeNotify(TEMPLATES) as fake:
        yield fake


def sender_for(fake: FakeNotify, **given) -> NotifySender:
    return NotifySender(NotificationsSettings(**{
        "notify_api_key": fake.key, "notify_base_url": fake.url, "send_timeout_seconds": 1,
        "notify_templates": json.dumps({"default": ONE, "digest": DIGEST}),
        "portal_url": "https://innovation.dwp.example", **given}))


def outgoing(delivery_id: uuid.UUID | None = None, *, kind="my_ideas", to="alice@dept.example.org",
             unsubscribe="https://notifications.dwp.example/v1/unsubscribe/t0ken") -> messages.Outgoing:
    return messages.Outgoing(
        delivery_id=delivery_id or uuid.uuid4(), to=to, display_name="Alice", kind=kind,
        email=messages.Email("Your idea “Fewer forms” has been backed",
                             "Your idea “Fewer forms” has been backed.\n\nSee your idea: "
                             "https://innovation.dwp.example/ideas/1", "<p>html part</p>"),
        unsubscribe_url=unsubscribe)


# -- sending ---------------------------------------------------------------------------------------


async def test_an_email_goes_to_notify_with_our_delivery_id_as_its_reference(notify):
    reply_to = str(uuid.uuid4())
    sender = sender_for(notify, notify_reply_to_id=reply_to)
    mail = outgoing()
    notification_id = await sender.send(mail, attempts=1)

    (sent,) = notify.notifications
    assert sent.id == notification_id and sent.reference == str(mail.delivery_id)
    assert sent.email_address == "alice@dept.example.org" and sent.template_id == ONE
    assert sent.one_click_unsubscribe_url == mail.unsubscribe_url and sent.email_reply_to_id == reply_to
    assert sent.subject == mail.email.subject and sent.body == mail.email.text
    assert sent.personalisation == {"subject": mail.email.subject, "body": mail.email.text,
                                    "unsubscribe_link": mail.unsubscribe_url,
                                    "portal_link": "https://innovation.dwp.example"}
    assert notify.requests == [("POST", "/v2/notifications/email")]  # a first attempt asks nothing first

    digest = await sender.send(outgoing(kind=None), attempts=1)
    assert notify.find(digest).template_id == DIGEST
    assert notify.find(digest).body.endswith("Unsubscribe: https://notifications.dwp.example/v1/unsubscribe/t0ken")


async def test_a_retry_after_a_timeout_finds_the_email_notify_accepted_and_sends_it_once(notify):
    sender = sender_for(notify)
    mail = outgoing()
    notify.delay = 3  # Notify records the email, then answers after the client has given up
    with pytest.raises(SendFailed) as timed_out:
        await sender.send(mail, attempts=1)
    assert timed_out.value.reason == "timeout" and not isinstance(timed_out.value, Refused)
    (accepted,) = notify.sent_with(str(mail.delivery_id))

    notify.delay = 0
    assert await sender.send(mail, attempts=2) == accepted.id
    assert await sender.send(mail, attempts=3) == accepted.id
    assert len(notify.sent_with(str(mail.delivery_id))) == 1 and len(notify.notifications) == 1

    # A later attempt of an email Notify never got sends it; one Notify failed to send (a
    # technical failure: nothing reached the person) is sent again.
    fresh = outgoing()
    first = await sender.send(fresh, attempts=2)
    assert [n.id for n in notify.sent_with(str(fresh.delivery_id))] == [first]
    notify.find(first).status = "technical-failure"
    again = await sender.send(fresh, attempts=3)
    assert again != first and len(notify.sent_with(str(fresh.delivery_id))) == 2
    assert await sender.send(fresh, attempts=4) == again


async def test_a_400_is_final_and_every_other_failure_is_retried_and_sends_nothing(notify):
    sender = sender_for(notify)
    cases = [
        (outgoing(to="not an address"), "Notify 400 ValidationError", True, "email_address Not a valid email address"),
        (outgoing(unsubscribe="http://notifications.dwp.example/v1/unsubscribe/t"), "Notify 400 ValidationError",
         True, "one_click_unsubscribe_url is not a valid https url"),
    ]
    for mail, reason, final, says in cases:
        with pytest.raises(SendFailed) as refused:
            await sender.send(mail, attempts=1)
        assert (refused.value.reason, isinstance(refused.value, Refused)) == (reason, final)
        assert says in str(refused.value)

    named = sender_for(notify, notify_templates=json.dumps({"default": NAMED}))
    with pytest.raises(Refused) as unfilled:
        await named.send(outgoing(), attempts=1)
    assert unfilled.value.reason == "Notify 400 BadRequestError" and "Missing personalisation: first_name" in str(
        unfilled.value)
    unknown = sender_for(notify, notify_templates=json.dumps({"default": str(uuid.uuid4())}))
    with pytest.raises(Refused, match="Template not found"):
        await unknown.send(outgoing(), attempts=1)

    wrong_key = sender_for(notify, notify_api_key=api_key(notify.service_id, str(uuid.uuid4())))
    with pytest.raises(SendFailed) as forbidden:
        await wrong_key.send(outgoing(), attempts=1)
    assert forbidden.value.reason == "Notify 403 AuthError" and not isinstance(forbidden.value, Refused)
    other_service = sender_for(notify, notify_api_key=api_key(str(uuid.uuid4()), notify.secret))
    with pytest.raises(SendFailed, match="service not found"):
        await other_service.send(outgoing(), attempts=1)

    for status, reason in ((429, "Notify 429 RateLimitError"), (500, "Notify 500 Exception"),
                           (503, "Notify 503 Exception")):
        notify.fail_next(1, status)
        with pytest.raises(SendFailed) as failed:
            await sender.send(outgoing(), attempts=1)
        assert failed.value.reason == reason and not isinstance(failed.value, Refused)
    notify.fail_next(1, 500)  # the look-up of a retry fails: nothing is sent blind
    with pytest.raises(SendFailed):
        await sender.send(outgoing(), attempts=2)
    assert notify.notifications == []

    async with FakeNotify(TEMPLATES) as gone:
        unreachable = sender_for(gone)
    with pytest.raises(SendFailed) as lost:
        await unreachable.send(outgoing(), attempts=1)
    assert lost.value.reason == "connection failed"

    assert await sender.send(outgoing(), attempts=1) == notify.notifications[0].id  # and Notify still works


async def test_attempts_run_at_once_each_sent_once_and_never_wait_for_the_loops_busy_threads(notify):
    sender = sender_for(notify, worker_batch=20)
    loop = asyncio.get_running_loop()
    # The loop's default threads all busy (as when webhooks' names resolve slowly)...
    busy = [loop.run_in_executor(None, time.sleep, 1.5) for _ in range(2 * (os.cpu_count() or 1) + 8)]
    mails = [outgoing() for _ in range(20)]
    started = time.monotonic()
    ids = await asyncio.gather(*(sender.send(mail, attempts=1) for mail in mails))
    assert time.monotonic() - started < 2  # ...and twenty emails went at once, none waiting for them
    assert len(set(ids)) == 20 and sorted(n.reference for n in notify.notifications) == sorted(
        str(m.delivery_id) for m in mails)
    await asyncio.gather(*busy)
    sender.close()


# -- callbacks -------------------------------------------------------------------------------------


def person(n: int) -> str:
    return f"p_{n:016x}"


class Rows:
    """Deliveries written as the service writes them, on the service's own database."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def subscriber(self, who: str, email: str) -> None:
        await self.conn.execute("INSERT INTO subscriptions (person, email, event_types) VALUES ($1, $2, '{}')",
                                who, email)

    async def email(self, who: str | None, *, status="sent", attempts=1, provider_id=None,
                    channel="email") -> uuid.UUID:
        event_id, delivery_id = uuid.uuid4(), uuid.uuid4()
        await self.conn.execute(
            "INSERT INTO notified_events (event_id, event_type, payload) VALUES ($1, 'uk.gov.innovation.idea.backed.v1', '')",
            event_id)
        # Due in an hour: the service's own worker leaves them alone while the test looks.
        await self.conn.execute(
            """INSERT INTO deliveries (delivery_id, event_id, event_type, channel, person, kind, status, attempts,
                                       provider_id, next_attempt_at)
               VALUES ($1, $2, 'uk.gov.innovation.idea.backed.v1', $3, $4, 'my_ideas', $5, $6, $7,
                       now() + interval '1 hour')""",
            delivery_id, event_id, channel, who, status, attempts, provider_id)
        return delivery_id

    async def of(self, delivery_id: uuid.UUID) -> asyncpg.Record:
        return await self.conn.fetchrow(
            """SELECT status, last_error, last_error_detail, provider_id, delivered_at, next_attempt_at - now() AS due_in
               FROM deliveries WHERE delivery_id = $1""", delivery_id)

    async def refused_at(self, who: str) -> datetime | None:
        return await self.conn.fetchval("SELECT email_refused_at FROM subscriptions WHERE person = $1", who)


@pytest.fixture
async def service(kafka_bootstrap, new_database, department):
    async with running_notifications(kafka_bootstrap, await new_database("notifications"), department,
                                     notify_callback_token=TOKEN, retry_first_delay_seconds=60,
                                     retry_max_delay_seconds=60) as running:
        if not any(getattr(r, "path", None) == CALLBACKS for r in running.app.routes):
            running.app.include_router(callback_router)  # until main.py serves it
        yield running


@pytest.fixture
async def rows(service):
    conn = await asyncpg.connect(service.dsn)
    try:
        yield Rows(conn)
    finally:
        await conn.close()


@pytest.fixture
async def notify_calling(service):
    async with FakeNotify(TEMPLATES, callback_url=CALLBACKS, callback_token=TOKEN,
                          callback_client=service.client) as fake:
        yield fake


def counted(status: str) -> float:
    return REGISTRY.get_sample_value("notifications_notify_callbacks_total", {"status": status}) or 0.0


async def test_an_email_sent_through_notify_is_delivered_when_notify_says_so(service, rows, notify_calling):
    await rows.subscriber(person(1), "alice@dept.example.org")
    delivery = await rows.email(person(1), status="pending")
    notification_id = await sender_for(notify_calling).send(outgoing(delivery), attempts=1)
    # What the worker records when Notify accepted the email.
    await rows.conn.execute("UPDATE deliveries SET status = 'sent', provider_id = $2 WHERE delivery_id = $1",
                            delivery, notification_id)
    before = counted("delivered")

    answer = await notify_calling.send_callback(notification_id, "delivered")
    assert answer.status_code == 200 and answer.json() == {"result": "delivered"}
    row = await rows.of(delivery)
    assert row["status"] == "delivered" and row["provider_id"] == notification_id
    assert row["delivered_at"] == notify_calling.find(notification_id).completed_at  # Notify's completed_at
    assert counted("delivered") == before + 1

    # Notify repeats a receipt when our answer was lost: nothing changes, and no failure undoes it.
    again = await notify_calling.send_callback(notification_id, "delivered")
    assert again.status_code == 200 and again.json() == {"result": "unchanged"}
    late = await notify_calling.send_callback(notification_id, "permanent-failure")
    assert late.json() == {"result": "unchanged"}
    assert (await rows.of(delivery))["status"] == "delivered" and await rows.refused_at(person(1)) is None


async def test_a_receipt_that_arrives_before_the_worker_recorded_notifys_id_is_found_by_reference(
    service, rows, notify_calling,
):
    await rows.subscriber(person(2), "bob@dept.example.org")
    delivery = await rows.email(person(2), status="pending")  # Notify accepted it; the worker has not recorded it yet
    notification_id = await sender_for(notify_calling).send(outgoing(delivery, to="bob@dept.example.org"), attempts=1)
    answer = await notify_calling.send_callback(notification_id, "delivered")
    assert answer.json() == {"result": "delivered"}
    row = await rows.of(delivery)
    assert (row["status"], row["provider_id"]) == ("delivered", notification_id)


async def test_a_permanent_failure_fails_the_delivery_marks_the_address_refused_and_ends_its_pending_emails(
    service, rows, notify_calling,
):
    await rows.subscriber(person(3), "carol@dept.example.org")
    await rows.subscriber(person(4), "dan@dept.example.org")
    delivery = await rows.email(person(3), status="pending")
    waiting = await rows.email(person(3), status="pending")  # another email to the same address, not yet sent
    in_flight = await rows.email(person(3), status="sent", provider_id=str(uuid.uuid4()))  # Notify will report on it
    others = await rows.email(person(4), status="pending")
    hook = await rows.email(None, status="pending", channel="webhook")
    notification_id = await sender_for(notify_calling).send(outgoing(delivery, to="carol@dept.example.org"), 1)
    await rows.conn.execute("UPDATE deliveries SET status = 'sent', provider_id = $2 WHERE delivery_id = $1",
                            delivery, notification_id)
    before = counted("permanent-failure")

    answer = await notify_calling.send_callback(notification_id, "permanent-failure")
    assert answer.status_code == 200 and answer.json() == {"result": "failed"}
    row = await rows.of(delivery)
    assert (row["status"], row["last_error"]) == ("failed", "Notify permanent-failure")
    assert await rows.refused_at(person(3)) is not None and await rows.refused_at(person(4)) is None
    ended = await rows.of(waiting)
    assert (ended["status"], ended["last_error"]) == ("failed", "Notify permanent-failure")
    assert (await rows.of(in_flight))["status"] == "sent"
    assert (await rows.of(others))["status"] == "pending" and (await rows.of(hook))["status"] == "pending"
    assert counted("permanent-failure") == before + 1

    # Deliveries read through the API say why, to every role.
    listed = await service.client.get("/v1/deliveries", params={"status": "failed"},
                                      headers=service.headers("viewer"))
    assert {d["delivery_id"]: d["last_error"] for d in listed.json()["items"]} == {
        str(delivery): "Notify permanent-failure", str(waiting): "Notify permanent-failure"}

    refused_at = await rows.refused_at(person(3))
    again = await notify_calling.send_callback(notification_id, "permanent-failure")
    assert again.json() == {"result": "unchanged"} and await rows.refused_at(person(3)) == refused_at


async def test_a_permanent_failure_of_an_address_since_changed_leaves_the_new_address_alone(
    service, rows, notify_calling,
):
    await rows.subscriber(person(5), "erin@dept.example.org")
    delivery = await rows.email(person(5), status="pending")
    waiting = await rows.email(person(5), status="pending")
    notification_id = await sender_for(notify_calling).send(outgoing(delivery, to="erin@dept.example.org"), 1)
    await rows.conn.execute("UPDATE subscriptions SET email = 'erin.new@dept.example.org' WHERE person = $1",
                            person(5))
    assert (await notify_calling.send_callback(notification_id, "permanent-failure")).json() == {"result": "failed"}
    assert (await rows.of(delivery))["status"] == "failed"
    assert await rows.refused_at(person(5)) is None and (await rows.of(waiting))["status"] == "pending"


async def test_a_temporary_failure_fails_and_a_technical_failure_is_tried_again_within_the_budget(
    service, rows, notify_calling,
):
    await rows.subscriber(person(6), "fay@dept.example.org")
    sender = sender_for(notify_calling)
    temporary = await rows.email(person(6), status="pending")
    sent = await sender.send(outgoing(temporary, to="fay@dept.example.org"), 1)
    assert (await notify_calling.send_callback(sent, "temporary-failure")).json() == {"result": "failed"}
    row = await rows.of(temporary)
    assert (row["status"], row["last_error"]) == ("failed", "Notify temporary-failure")
    assert await rows.refused_at(person(6)) is None

    technical = await rows.email(person(6), status="pending", attempts=1)
    sent = await sender.send(outgoing(technical, to="fay@dept.example.org"), 1)
    assert (await notify_calling.send_callback(sent, "technical-failure")).json() == {"result": "retry"}
    row = await rows.of(technical)
    assert (row["status"], row["last_error"]) == ("pending", "Notify technical-failure")
    assert 50 < row["due_in"].total_seconds() <= 60  # the budget's delay (60 s in this service)
    # The retry finds Notify's failed notification by reference, and sends the email anew.
    resent = await sender.send(outgoing(technical, to="fay@dept.example.org"), 2)
    assert resent != sent and len(notify_calling.sent_with(str(technical))) == 2

    spent = await rows.email(person(6), status="sent", attempts=3)  # the service's budget: 3 attempts
    sent = await sender.send(outgoing(spent, to="fay@dept.example.org"), 3)
    assert (await notify_calling.send_callback(sent, "technical-failure")).json() == {"result": "failed"}
    assert (await rows.of(spent))["status"] == "failed"
    assert (await notify_calling.send_callback(sent, "sending")).json() == {"result": "unchanged"}


async def test_receipts_of_unknown_or_other_notifications_are_answered_200_and_change_nothing(
    service, rows, notify_calling,
):
    await rows.subscriber(person(7), "gus@dept.example.org")
    sender = sender_for(notify_calling)
    stranger = await sender.send(outgoing(), 1)  # a reference this service never wrote
    assert (await notify_calling.send_callback(stranger, "delivered")).json() == {"result": "unknown"}
    assert (await notify_calling.send_callback(stranger, "delivered", reference="not-ours")).json() == {
        "result": "unknown"}

    # A notification of our reference that is not the one the delivery holds: left alone.
    delivery = await rows.email(person(7), status="sent", provider_id=str(uuid.uuid4()))
    other = await sender.send(outgoing(delivery, to="gus@dept.example.org"), 1)
    assert (await notify_calling.send_callback(other, "permanent-failure")).json() == {"result": "unchanged"}
    assert (await rows.of(delivery))["status"] == "sent" and await rows.refused_at(person(7)) is None


async def test_a_receipt_without_the_token_or_malformed_is_refused_and_changes_nothing(service, rows, notify_calling):
    await rows.subscriber(person(8), "hal@dept.example.org")
    delivery = await rows.email(person(8), status="pending")
    sent = await sender_for(notify_calling).send(outgoing(delivery, to="hal@dept.example.org"), 1)

    forged = await notify_calling.send_callback(sent, "permanent-failure", token="notify-callback-token-guessed")
    assert forged.status_code == 401 and forged.json()["error"].startswith("a callback must carry the bearer token")
    bare = await service.client.post(CALLBACKS, json={"id": sent, "status": "permanent-failure"})
    assert bare.status_code == 401

    good = {"Authorization": f"Bearer {TOKEN}"}
    malformed = await service.client.post(CALLBACKS, headers=good, json={"id": "not-a-uuid", "status": "delivered"})
    assert malformed.status_code == 422 and malformed.json()["error"] == "validation failed"
    assert {d["field"] for d in malformed.json()["detail"]} == {"id", "to", "created_at", "notification_type"}
    for body in (b"{", b"[]", b"null", json.dumps({"id": sent, "status": "<b>", "to": "x", "created_at": "2020-01-01",
                                                    "notification_type": "email"}).encode()):
        refused = await service.client.post(CALLBACKS, headers={**good, "Content-Type": "application/json"},
                                            content=body)
        assert refused.status_code == 422, body
    huge = await service.client.post(CALLBACKS, headers=good, json={"id": sent, "padding": "x" * 20_000})
    assert huge.status_code == 413

    row = await rows.of(delivery)
    assert row["status"] == "pending" and row["provider_id"] is None and await rows.refused_at(person(8)) is None
    assert (await notify_calling.send_callback(sent, "delivered")).json() == {"result": "delivered"}


# -- the whole way: events, the service's worker, Notify, its receipts -----------------------------

MY_IDEAS = str(uuid.uuid4())


async def _subscribe(service, ref: str) -> None:
    response = await service.client.put(f"/v1/subscriptions/{ref}", headers=service.headers("contributor", person=ref),
                                        json={"email": f"{ref}@dept.example.org"})  # my ideas: immediately
    assert response.status_code == 201, response.text


async def _emails(service) -> list[dict]:
    response = await service.client.get("/v1/deliveries", params={"channel": "email", "limit": 200},
                                        headers=service.headers("admin"))
    assert response.status_code == 200, response.text
    return response.json()["items"]


async def test_the_services_worker_sends_through_notify_once_despite_a_timeout_and_stops_at_a_refused_address(
    kafka_bootstrap, new_database, department,
):
    kept, refused = "ref-notify-kept-41", "ref-notify-refused-73"
    async with FakeNotify(TEMPLATES | {MY_IDEAS: SUBJECT_AND_BODY}) as notify, running_notifications(
        kafka_bootstrap, await new_database("notifications"), department, email_channel="notify",
        notify_api_key=notify.key, notify_base_url=notify.url, send_timeout_seconds=1,
        notify_templates=json.dumps({"default": ONE, "digest": DIGEST, "my_ideas": MY_IDEAS}),
        notify_callback_token=TOKEN, public_url="https://notifications.example.gov.uk",
        portal_url="https://innovation.example.gov.uk",
    ) as service:
        if not any(getattr(r, "path", None) == CALLBACKS for r in service.app.routes):
            service.app.include_router(callback_router)  # until main.py serves it
        notify.callback_url, notify.callback_token, notify.callback_client = CALLBACKS, TOKEN, service.client
        for ref in (kept, refused):
            await _subscribe(service, ref)

        def idea_of(ref: str, title: str) -> tuple[uuid.UUID, list]:
            idea = uuid.uuid4()
            return idea, [
                new_event(IdeaSubmitted(idea_id=idea, title=title, problem="Too many forms.", proposal="One form.",
                                        submitted_by=pseudonymise(SECRET, ref)), department=department, service="ideas"),
                new_event(IdeaBacked(idea_id=idea, sponsor=pseudonymise(SECRET, "ref-sponsor-9"), budget_gbp=12000,
                                     staff_days=20, timebox_weeks=6), department=department, service="ideas"),
            ]

        notify.delay = 3  # every first attempt times out after Notify accepted the email
        _, first = idea_of(kept, "Fewer forms for carers")
        _, second = idea_of(refused, "Shorter queues")
        await publish(kafka_bootstrap, *first, *second)

        async def all_sent():
            items = await _emails(service)
            wanted = [d for d in items if d["kind"] == "my_ideas"]
            return wanted if len(wanted) >= 2 and all(d["status"] == "sent" for d in wanted) else None

        sent = await eventually(all_sent, what="the emails accepted by Notify")
        assert all(d["attempts"] == 2 for d in sent)  # the first attempt timed out; the second found it
        by_person = {}
        for delivery in sent:
            (notification,) = notify.sent_with(delivery["delivery_id"])  # once each, our delivery id as reference
            assert notification.id == delivery["provider_id"] and notification.template_id == MY_IDEAS
            assert "backed" in notification.subject and notification.one_click_unsubscribe_url.startswith(
                "https://notifications.example.gov.uk/")
            assert "https://innovation.example.gov.uk/ideas/" in notification.body
            by_person[notification.email_address] = (delivery, notification)
        assert len(notify.notifications) == len({n.reference for n in notify.notifications})  # nothing twice
        notify.delay = 0

        delivered, _ = by_person[f"{kept}@dept.example.org"]
        failed, _ = by_person[f"{refused}@dept.example.org"]
        assert (await notify.send_callback(delivered["provider_id"], "delivered")).json() == {"result": "delivered"}
        assert (await notify.send_callback(failed["provider_id"], "permanent-failure")).json() == {"result": "failed"}
        now = {d["delivery_id"]: d for d in await _emails(service)}
        assert now[delivered["delivery_id"]]["status"] == "delivered"
        assert (now[failed["delivery_id"]]["status"], now[failed["delivery_id"]]["last_error"]) == (
            "failed", "Notify permanent-failure")
        shown = await service.client.get(f"/v1/subscriptions/{refused}",
                                         headers=service.headers("contributor", person=refused))
        assert shown.json()["email_refused_at"] is not None

        # The refused address is written to no more: another idea of theirs is declined, and Notify
        # never hears of it; the kept address still gets theirs.
        declined_idea, third = idea_of(refused, "Quieter offices")
        third = third[:1] + [new_event(IdeaDeclined(idea_id=declined_idea, by=pseudonymise(SECRET, "ref-panel-2"),
                                                    reason="not_feasible", note="Not this year."),
                                       department=department, service="ideas")]
        _, fourth = idea_of(kept, "Faster payments")
        await publish(kafka_bootstrap, *third, *fourth)

        async def settled():
            if await consumer_lag(kafka_bootstrap, department_group(department), topic_name(department, "ideas")):
                return None
            items = [d for d in await _emails(service) if d["kind"] == "my_ideas"]
            return items if all(d["status"] not in ("pending",) for d in items) and len(items) >= 3 else None

        items = await eventually(settled, what="the later events handled")
        to_refused = [n for n in notify.notifications if n.email_address == f"{refused}@dept.example.org"]
        assert len(to_refused) == 1  # only the first email, before Notify said the address is bad
        assert len([n for n in notify.notifications if n.email_address == f"{kept}@dept.example.org"]) == 2
        assert not [d for d in items if d["person"] == pseudonymise(SECRET, refused) and d["status"] in ("sent", "delivered")]


async def test_the_local_notify_answers_the_clients_reads_as_notify_does(notify, monkeypatch):
    """What the sender relies on when it looks an email up, read with the official client itself."""
    client = NotificationsAPIClient(notify.key, base_url=notify.url, timeout=5)
    sent = await asyncio.to_thread(client.send_email_notification, "a@dept.example.org", ONE,
                                   {"subject": "S", "body": "B"}, "ref-1")
    other = await asyncio.to_thread(client.send_email_notification, "b@dept.example.org", ONE,
                                    {"subject": "S2", "body": "B2"}, "ref-2")
    one = await asyncio.to_thread(client.get_notification_by_id, sent["id"])
    assert (one["id"], one["reference"], one["status"], one["type"], one["subject"]) == (
        sent["id"], "ref-1", "created", "email", "S")
    listed = await asyncio.to_thread(client.get_all_notifications, reference="ref-2")
    assert [n["id"] for n in listed["notifications"]] == [other["id"]]
    newest_first = await asyncio.to_thread(client.get_all_notifications, template_type="email")
    assert [n["id"] for n in newest_first["notifications"]] == [other["id"], sent["id"]]
    older = await asyncio.to_thread(client.get_all_notifications, older_than=other["id"])
    assert [n["id"] for n in older["notifications"]] == [sent["id"]]
    assert (await asyncio.to_thread(client.get_all_notifications, status="delivered"))["notifications"] == []
    for bad in ({"status": "elephant"}, {"template_type": "Apple"}):
        with pytest.raises(HTTPError) as refused:
            await asyncio.to_thread(client.get_all_notifications, **bad)
        assert refused.value.status_code == 400 and refused.value.message[0]["error"] == "ValidationError"
    with pytest.raises(HTTPError) as missing:
        await asyncio.to_thread(client.get_notification_by_id, str(uuid.uuid4()))
    assert missing.value.status_code == 404

    stale = NotificationsAPIClient(notify.key, base_url=notify.url, timeout=5)  # a JWT issued a minute ago
    real = notify_authentication.epoch_seconds
    monkeypatch.setattr(notify_authentication, "epoch_seconds", lambda: real() - 60)
    with pytest.raises(HTTPError) as clock:
        await asyncio.to_thread(stale.get_notification_by_id, sent["id"])
    assert clock.value.status_code == 403 and "within 30 seconds" in clock.value.message[0]["message"]


async def test_the_local_notify_can_send_each_emails_receipt_by_itself(service, rows):
    async with FakeNotify(TEMPLATES, callback_url=CALLBACKS, callback_token=TOKEN, callback_client=service.client,
                          deliver_after=0.1) as notify:
        await rows.subscriber(person(9), "ida@dept.example.org")
        delivery = await rows.email(person(9), status="pending")
        await sender_for(notify).send(outgoing(delivery, to="ida@dept.example.org"), 1)

        async def delivered():
            return (await rows.of(delivery))["status"] == "delivered" or None
        await eventually(delivered, timeout=10, what="the receipt applied")
