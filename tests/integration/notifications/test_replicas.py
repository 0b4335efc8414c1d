"""Two replicas of the service on one database send each delivery once."""

import collections
import contextlib

from tests.integration.notifications.support import WebhookReceiver, running_notifications, smtp_server
from tests.support.events import submitted
from tests.support.kafka import publish
from tests.support.waiting import eventually


async def test_two_replicas_deliver_every_delivery_exactly_once(kafka_bootstrap, new_database, department):
    dsn = await new_database("notifications")
    async with contextlib.AsyncExitStack() as stack:
        smtp_port, mailbox = await stack.enter_async_context(smtp_server())
        receiver = await stack.enter_async_context(WebhookReceiver())
        replicas = [await stack.enter_async_context(running_notifications(
            kafka_bootstrap, dsn, department, smtp_port=smtp_port, worker_batch=3, poll_seconds=0.05))
            for _ in range(2)]
        first = replicas[0]
        await first.client.post("/v1/webhooks", headers=first.headers("admin"), json={
            "url": receiver.url, "secret": "whsec-0123456789abcdef", "event_types": ["idea.submitted.v1"]})
        await first.client.put("/v1/subscriptions/dana", headers=first.headers("admin"), json={
            "email": "dana@dept.example.org", "event_types": ["idea.submitted.v1"]})
        events = [submitted(department, title=f"Idea {i}") for i in range(30)]
        await publish(kafka_bootstrap, *events)

        async def all_delivered():
            response = await first.client.get("/v1/deliveries", params={"status": "delivered", "limit": 200},
                                              headers=first.headers("viewer"))
            return response.json()["items"] if len(response.json()["items"]) == 60 else None

        items = await eventually(all_delivered, what="sixty deliveries")
        assert all(d["attempts"] == 1 for d in items)
        posted = collections.Counter(r.headers["x-innovation-delivery"] for r in receiver.requests)
        mailed = collections.Counter(m["Message-ID"] for m in mailbox.messages)
        assert len(posted) == 30 and set(posted.values()) == {1}
        assert len(mailed) == 30 and set(mailed.values()) == {1}
