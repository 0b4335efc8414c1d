"""Webhooks that cannot be turned against us, and a worker no receiver can stall, on the real
broker and database with real local receivers: refused destinations get 422 at registration and
fail at delivery when the operator's allow-list no longer covers them; a receiver that drip-feeds
its response is cut off at the deadline while deliveries to another receiver go on; a huge
response is not read whole; viewers see the class of a failure, admins its text."""

import ipaddress
import socket

import pytest

from services.notifications import egress
from tests.integration.notifications.support import DripReceiver, FloodReceiver, WebhookReceiver, running_notifications
from tests.support.events import submitted
from tests.support.kafka import publish
from tests.support.waiting import eventually

HOOK = {"secret": "whsec-0123456789abcdef", "event_types": ["idea.submitted.v1"]}

REFUSED = [
    ("http://localhost:8080/hook", "loopback"),
    ("http://LOCALHOST./hook", "loopback"),
    ("http://127.1/hook", "loopback"),
    ("http://[::1]:8080/hook", "loopback"),
    ("http://0.0.0.0/hook", "unspecified"),
    ("http://[::]/hook", "unspecified"),
    ("http://2130706433/hook", "loopback"),
    ("http://0x7f.1/hook", "loopback"),
    ("http://017700000001/hook", "loopback"),
    ("http://[::ffff:127.0.0.1]/hook", "loopback"),
    ("http://169.254.169.254/latest/meta-data/iam/security-credentials/", "cloud metadata"),
    ("http://[fd00:ec2::254]/latest/meta-data/", "cloud metadata"),
    ("http://100.100.100.200/latest/meta-data/", "cloud metadata"),
    ("http://metadata.google.internal/computeMetadata/v1/", "cloud metadata"),
    ("https://10.0.0.5/hook", "private"),
    ("https://192.168.1.1/hook", "private"),
    ("https://172.16.0.1/hook", "private"),
    ("https://[fd12:3456::1]/hook", "private"),
    ("https://169.254.1.1/hook", "link-local"),
    ("https://[fe80::1]/hook", "link-local"),
    ("https://224.0.0.1/hook", "multicast"),
    ("https://100.64.0.1/hook", "carrier-grade NAT"),
    ("https://240.0.0.1/hook", "reserved"),
    ("https://internal.test/hook", "private"),  # a name resolving to a private address
    ("https://sneaky.test/hook", "loopback"),  # one of whose addresses is loopback
]


@pytest.fixture
def dns(monkeypatch):
    """The service's resolver: a few `.test` names, nothing else resolves."""
    table = {"internal.test": ["10.1.2.3"], "sneaky.test": ["93.184.216.34", "127.0.0.1"],
             "public.test": ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"]}

    async def resolve(host, port):
        if host not in table:
            raise socket.gaierror(socket.EAI_NONAME, "no such name")
        return [ipaddress.ip_address(a) for a in table[host]]

    monkeypatch.setattr(egress, "resolve", resolve)


async def test_registering_a_refused_destination_gets_422_naming_the_url_and_its_class(
    kafka_bootstrap, new_database, department, dns,
):
    async with running_notifications(kafka_bootstrap, await new_database("notifications"), department,
                                     webhook_allowed_networks="") as service:
        admin = service.headers("admin")
        for url, reason in REFUSED:
            response = await service.client.post("/v1/webhooks", json={**HOOK, "url": url}, headers=admin)
            assert response.status_code == 422, (url, response.text)
            body = response.json()
            assert body["error"] == "validation failed"
            (detail,) = body["detail"]
            assert (detail["field"], detail["rule"]) == ("url", "url_public_address"), url
            assert body["message"].endswith(f"is a {reason} address"), (url, body)
        assert (await service.client.get("/v1/webhooks", headers=admin)).json() == {"items": []}

        # a public name, and a name that does not resolve now (each delivery checks it again)
        for url in ("https://public.test/hook", "https://not-yet.test/hook", "https://93.184.216.34/hook"):
            response = await service.client.post("/v1/webhooks", json={**HOOK, "url": url}, headers=admin)
            assert response.status_code == 201, (url, response.text)


async def test_a_destination_the_allow_list_no_longer_covers_is_refused_at_delivery_and_not_retried(
    kafka_bootstrap, new_database, department,
):
    dsn = await new_database("notifications")
    async with WebhookReceiver() as receiver:
        async with running_notifications(kafka_bootstrap, dsn, department) as allowing:  # loopback allowed
            hook = await allowing.client.post("/v1/webhooks", json={**HOOK, "url": receiver.url},
                                              headers=allowing.headers("admin"))
            assert hook.status_code == 201, hook.text
        # the operator narrows the allow-list; the webhook registered before is still there
        async with running_notifications(kafka_bootstrap, dsn, department, webhook_allowed_networks="",
                                         max_attempts=5) as service:
            await publish(kafka_bootstrap, submitted(department))

            async def failed():
                items = (await service.client.get("/v1/deliveries", headers=service.headers("admin"))).json()["items"]
                return items if items and items[0]["status"] == "failed" else None

            (delivery,) = await eventually(failed, what="the delivery refused")
            assert delivery["attempts"] == 1 and delivery["last_error"] == "refused: loopback address"
            assert delivery["last_error_detail"] == "refused: 127.0.0.1 is a loopback address"
    assert receiver.requests == []


async def test_a_receiver_dripping_its_response_is_cut_off_at_the_deadline_while_others_keep_their_pace(
    kafka_bootstrap, new_database, department,
):
    journal: list[tuple[str, str]] = []
    async with DripReceiver(interval=1.0, name="slow", journal=journal) as slow, \
            WebhookReceiver(name="fast", journal=journal) as fast, \
            running_notifications(kafka_bootstrap, await new_database("notifications"), department,
                                  send_timeout_seconds=5, max_attempts=1, worker_batch=3,
                                  per_webhook_in_flight=2) as service:
        admin = service.headers("admin")
        for receiver in (slow, fast):
            assert (await service.client.post("/v1/webhooks", json={**HOOK, "url": receiver.url},
                                              headers=admin)).status_code == 201
        await publish(kafka_bootstrap, *(submitted(department, title=f"Idea {i}") for i in range(4)))

        async def settled():
            items = (await service.client.get("/v1/deliveries", headers=service.headers("viewer"))).json()["items"]
            return items if len(items) == 8 and all(d["status"] != "pending" for d in items) else None

        items = await eventually(settled, timeout=90, what="all eight deliveries settled")
        await eventually(lambda: _true(slow.cut_off == 4), what="the slow receiver seeing each attempt cut off")

    by_hook = {}
    for d in items:
        by_hook.setdefault(d["webhook_id"], []).append(d)
    outcomes = sorted((d["status"], d["last_error"]) for d in items)
    assert outcomes == [("delivered", None)] * 4 + [("failed", "timeout")] * 4
    # Every delivery to the fast receiver arrived before the first slow one was cut off: the slow
    # receiver held at most its share of the three slots, never the whole worker.
    first_cut = next(i for i, (name, _) in enumerate(journal) if name == "slow cut off")
    assert [name for name, _ in journal[:first_cut]].count("fast") == 4, journal
    assert slow.cut_off == 4 and len(slow.requests) == 4
    assert len(fast.requests) == 4


async def test_a_huge_error_response_is_not_read_whole_and_viewers_see_only_its_class(
    kafka_bootstrap, new_database, department,
):
    async with FloodReceiver(size=1 << 30) as flood, running_notifications(
        kafka_bootstrap, await new_database("notifications"), department, max_attempts=1, send_timeout_seconds=20,
    ) as service:
        hook = await service.client.post("/v1/webhooks", json={**HOOK, "url": flood.url}, headers=service.headers("admin"))
        assert hook.status_code == 201
        await publish(kafka_bootstrap, submitted(department))

        async def failed(role):
            items = (await service.client.get("/v1/deliveries", headers=service.headers(role))).json()["items"]
            return items if items and items[0]["status"] == "failed" else None

        (seen_by_viewer,) = await eventually(lambda: failed("viewer"), what="the delivery failed")
        (seen_by_admin,) = await failed("admin")
        await eventually(lambda: _true(flood.cut_off == 1), what="the receiver cut off")
    assert seen_by_viewer["last_error"] == "HTTP 500" and seen_by_viewer["last_error_detail"] is None
    assert seen_by_admin["last_error"] == "HTTP 500" and seen_by_admin["last_error_detail"] == "HTTP 500: " + "x" * 500
    assert flood.written < 32 << 20  # socket buffers at most, not the gigabyte announced


async def _true(value: bool) -> bool:
    return value
