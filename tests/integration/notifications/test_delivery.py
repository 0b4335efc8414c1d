"""Events on the department's topics become emails and signed webhook POSTs, once each; a
failing receiver ends `failed` after the retry budget; poison events are dead-lettered."""

import uuid

import orjson

from services.notifications.consumers import adoptions_group
from services.notifications.domain import signature_valid
from shared.events import OutcomeAdopted, encode, new_event
from shared.events.topics import topic_name
from tests.integration.notifications.support import WebhookReceiver, running_notifications, smtp_server
from tests.support.events import endorsed, person, submitted
from tests.support.kafka import consumer_lag, dead_letters, publish
from tests.support.waiting import at_least, eventually

HOOK_SECRET = "whsec-0123456789abcdef"


async def deliveries(service, role="viewer", **params):
    response = await service.client.get("/v1/deliveries", params=params, headers=service.headers(role))
    assert response.status_code == 200, response.text
    return response.json()["items"]


async def settled(service, count):
    """The deliveries, once `count` exist and none is pending."""
    items = await deliveries(service)
    return items if len(items) >= count and all(d["status"] != "pending" for d in items) else None


async def test_an_event_becomes_an_email_and_a_signed_webhook_post_once_even_when_redelivered(
    kafka_bootstrap, new_database, department,
):
    async with smtp_server() as (smtp_port, mailbox), WebhookReceiver() as receiver, running_notifications(
        kafka_bootstrap, await new_database("notifications"), department, smtp_port=smtp_port,
    ) as service:
        subscribed = await service.client.put(
            "/v1/subscriptions/alice", headers=service.headers("contributor", person="alice"),
            json={"email": "alice@dept.example.org", "display_name": "Alice O'Neil",
                  "event_types": ["idea.submitted.v1", "uk.gov.innovation.idea.endorsed.v1"]})
        assert subscribed.status_code == 201, subscribed.text
        hook = await service.client.post("/v1/webhooks", headers=service.headers("admin"), json={
            "url": receiver.url, "secret": HOOK_SECRET, "event_types": ["idea.submitted.v1"]})
        assert hook.status_code == 201, hook.text
        assert "secret" not in hook.json()

        idea = uuid.uuid4()
        event = submitted(department, idea, title="Fewer <script>alert(1)</script> forms\r\nBcc: x@evil.example")
        await publish(kafka_bootstrap, event)
        items = await eventually(lambda: settled(service, 2), what="an email and a webhook delivered")
        assert {(d["channel"], d["status"], d["attempts"]) for d in items} == {("email", "delivered", 1),
                                                                             ("webhook", "delivered", 1)}
        assert {d["event_id"] for d in items} == {str(event.id)}

        (message,) = mailbox.messages
        assert mailbox.envelopes[0].rcpt_tos == ["alice@dept.example.org"]  # no Bcc smuggled in by the title
        assert message["To"] == "Alice O'Neil <alice@dept.example.org>"
        assert message["Subject"].startswith("A new idea was raised: “Fewer <script>")
        assert "\n" not in message["Subject"] and message["X-Innovation-Event-Id"] == str(event.id)
        text = message.get_body(("plain",)).get_content()
        assert "Too many forms." in text and f"/ideas/{idea}" in text
        assert "<script>" not in message.get_body(("html",)).get_content()

        (post,) = receiver.requests
        assert post.method == "POST" and post.headers["content-type"].startswith("application/cloudevents+json")
        assert signature_valid(HOOK_SECRET, int(post.headers["x-innovation-timestamp"]), post.body,
                               post.headers["x-innovation-signature"])
        assert not signature_valid("another-secret-xyz", int(post.headers["x-innovation-timestamp"]), post.body,
                                   post.headers["x-innovation-signature"])
        cloud_event = orjson.loads(post.body)
        assert cloud_event["id"] == str(event.id) and cloud_event["type"] == event.type
        assert cloud_event["specversion"] == "1.0" and cloud_event["data"]["idea_id"] == str(idea)
        assert post.headers["x-innovation-delivery"] in {d["delivery_id"] for d in items}

        # The same record again (a redelivery), then an endorsement of the same idea (same key, so
        # the same partition, read after it): once the endorsement is delivered, the duplicate was seen.
        await publish(kafka_bootstrap, event, endorsed(department, idea))
        items = await eventually(lambda: settled(service, 3), what="the endorsement delivered")
        assert sorted(d["event_type"].split(".")[-2] for d in items) == ["endorsed", "submitted", "submitted"]
        assert len(mailbox.messages) == 2 and len(receiver.requests) == 1

        # Stored under the pseudonym only; the reference itself is nowhere.
        got = await service.client.get("/v1/subscriptions/alice", headers=service.headers("viewer"))
        assert got.status_code == 200 and got.json()["person"].startswith("p_")
        assert (await deliveries(service, channel="email"))[0]["person"] == got.json()["person"]


async def test_a_failing_webhook_ends_failed_after_the_budget_with_the_error_class_shown_and_its_text_for_admins(
    kafka_bootstrap, new_database, department,
):
    async with WebhookReceiver(status=500) as receiver, running_notifications(
        kafka_bootstrap, await new_database("notifications"), department, max_attempts=3,
    ) as service:
        admin = service.headers("admin")
        failing = await service.client.post("/v1/webhooks", headers=admin, json={
            "url": receiver.url, "secret": HOOK_SECRET, "event_types": ["idea.submitted.v1"]})
        unreachable = await service.client.post("/v1/webhooks", headers=admin, json={
            "url": "http://127.0.0.1:9/nobody-listens", "secret": HOOK_SECRET, "event_types": ["idea.submitted.v1"]})
        await publish(kafka_bootstrap, submitted(department))
        items = await eventually(lambda: settled(service, 2), what="both deliveries settled")
        by_hook = {d["webhook_id"]: d for d in items}
        refused = by_hook[failing.json()["webhook_id"]]
        assert refused["status"] == "failed" and refused["attempts"] == 3
        assert refused["last_error"] == "HTTP 500" and refused["last_error_detail"] is None  # what a viewer sees
        assert len(receiver.requests) == 3
        down = by_hook[unreachable.json()["webhook_id"]]
        assert down["status"] == "failed" and down["attempts"] == 3 and down["last_error"] == "connection failed"
        for_admin = await deliveries(service, role="admin")
        assert {d["webhook_id"]: d["last_error_detail"] for d in for_admin} == {
            failing.json()["webhook_id"]: "HTTP 500: receiver says no",
            unreachable.json()["webhook_id"]: "ConnectError: All connection attempts failed"}
        assert {d["delivery_id"] for d in await deliveries(service, status="failed")} == {d["delivery_id"] for d in items}
        assert await deliveries(service, status="delivered") == []


async def test_adoptions_of_this_departments_outcomes_by_others_are_delivered_and_nothing_else(
    kafka_bootstrap, new_database, department,
):
    other = department[:-1] + ("x" if department[-1] != "x" else "y")
    async with WebhookReceiver() as receiver, running_notifications(
        kafka_bootstrap, await new_database("notifications"), department, adoptions_from=[other],
    ) as service:
        await service.client.post("/v1/webhooks", headers=service.headers("admin"), json={
            "url": receiver.url, "secret": HOOK_SECRET, "event_types": ["outcome.adopted.v1"]})

        def adopted(origin):
            return new_event(OutcomeAdopted(adoption_id=uuid.uuid4(), origin_department=origin,
                                            origin_outcome_id=uuid.uuid4(), adopting_department=other,
                                            adopted_by=person("carol"), note="trying it"),
                             department=other, service="experiments")

        ours, theirs = adopted(department), adopted("somewhere-else")
        await publish(kafka_bootstrap, theirs, ours)
        outcomes = topic_name(other, "outcomes")
        await eventually(lambda: _caught_up(kafka_bootstrap, adoptions_group(department), outcomes),
                         what="the adoptions consumer caught up")
        items = await eventually(lambda: settled(service, 1), what="the adoption delivered")
        assert [(d["event_id"], d["status"]) for d in items] == [(str(ours.id), "delivered")]
        assert [orjson.loads(r.body)["id"] for r in receiver.requests] == [str(ours.id)]


async def _caught_up(kafka_bootstrap, group, topic):
    try:
        return await consumer_lag(kafka_bootstrap, group, topic) == 0
    except Exception:  # the group may not have committed yet
        return False


async def test_poison_events_are_dead_lettered_and_the_next_event_is_still_delivered(
    kafka_bootstrap, new_database, department,
):
    async with WebhookReceiver() as receiver, running_notifications(
        kafka_bootstrap, await new_database("notifications"), department,
    ) as service:
        await service.client.post("/v1/webhooks", headers=service.headers("admin"), json={
            "url": receiver.url, "secret": HOOK_SECRET, "event_types": ["idea.submitted.v1"]})
        ideas = topic_name(department, "ideas")
        good = submitted(department)
        _, key, value, headers = encode(good)
        poison = (ideas, key, b"{not json", headers)
        foreign = encode(submitted("elsewhere"))._replace(topic=ideas)  # department mismatch
        await publish(kafka_bootstrap, poison, foreign, good)
        await eventually(lambda: settled(service, 1), what="the good event delivered")
        letters = await eventually(lambda: at_least(dead_letters(kafka_bootstrap, "notifications", ideas), 2),
                                   what="two dead letters")
        assert sorted(dict(r.headers)["dlq_error_class"].decode() for r in letters) == sorted(
            ["MalformedEvent", "DepartmentMismatch"])
        assert [orjson.loads(r.body)["id"] for r in receiver.requests] == [str(good.id)]
