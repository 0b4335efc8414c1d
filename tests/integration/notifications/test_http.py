"""The notifications HTTP surface: hostile and malformed input, roles and departments,
pseudonymised subscriptions, deliveries' filters and cursor pagination."""

import asyncpg
import pytest

from shared.events.pseudonym import pseudonymise
from tests.integration.notifications.support import SECRET, WebhookReceiver, running_notifications
from tests.support.events import submitted
from tests.support.kafka import publish
from tests.support.waiting import eventually

GOOD_SUBSCRIPTION = {"email": "bob@dept.example.org", "event_types": ["idea.submitted.v1"]}
GOOD_HOOK = {"url": "https://hooks.example.org/innovation", "secret": "whsec-0123456789abcdef",
             "event_types": ["idea.submitted.v1"]}


@pytest.fixture
async def service(kafka_bootstrap, new_database, department):
    async with running_notifications(kafka_bootstrap, await new_database("notifications"), department) as running:
        yield running


def rules(response):
    return {(d["field"], d["rule"]) for d in response.json()["detail"]}


HOSTILE_URLS = [
    ("javascript:alert(1)", "url_scheme"),
    ("ftp://files.example.org/x", "url_scheme"),
    ("file:///etc/passwd", "url_scheme"),
    ("https:///no-host", "url_host"),
    ("https://user:pw@hooks.example.org/", "url_no_credentials"),
    ("https://hooks.example.org/a b", "no_whitespace"),
    ("https://hooks.example.org/\r\nX-Evil: 1", "no_whitespace"),
    ("https://hooks.example.org:99999/", "url"),
    ("https://hooks.example.org/#frag", "url_no_fragment"),
    ("hooks.example.org/innovation", "url_scheme"),
    ("https://exa\u00admple.org/hook", "url_host"),
    ("https://hooks%2eexample.org/", "url_host"),
]


async def test_webhook_urls_other_than_absolute_http_or_https_are_refused(service):
    for url, rule in HOSTILE_URLS:
        response = await service.client.post("/v1/webhooks", json={**GOOD_HOOK, "url": url},
                                             headers=service.headers("admin"))
        assert response.status_code == 422 and ("url", rule) in rules(response), (url, response.text)
    accepted = await service.client.post("/v1/webhooks", json=GOOD_HOOK, headers=service.headers("admin"))
    assert accepted.status_code == 201 and accepted.headers["location"].endswith(accepted.json()["webhook_id"])


async def test_hostile_and_malformed_bodies_get_4xx_naming_field_and_rule(service):
    admin, client = service.headers("admin"), service.client
    cases = [
        ({**GOOD_HOOK, "secret": "short"}, ("secret", "webhook_secret")),
        ({**GOOD_HOOK, "event_types": ["idea.exploded.v1"]}, ("event_types", "known_event_type")),
        ({**GOOD_HOOK, "event_types": []}, ("event_types", "too_short")),
        ({**GOOD_HOOK, "admin": True}, ("admin", "extra_forbidden")),
        ({k: v for k, v in GOOD_HOOK.items() if k != "url"}, ("url", "missing")),
        ({**GOOD_HOOK, "description": "line\nbreak"}, ("description", "string_pattern_mismatch")),
    ]
    for body, expected in cases:
        response = await client.post("/v1/webhooks", json=body, headers=admin)
        assert response.status_code == 422 and expected in rules(response), (body, response.text)

    own = service.headers("contributor", person="bob")
    cases = [
        ({**GOOD_SUBSCRIPTION, "display_name": "<script>alert(1)</script>"}, ("display_name", "display_name")),
        ({**GOOD_SUBSCRIPTION, "display_name": 'Bob" <evil@example.org>'}, ("display_name", "display_name")),
        ({**GOOD_SUBSCRIPTION, "display_name": "Bob\r\nBcc: all@example.org"}, ("display_name", "display_name")),
        ({**GOOD_SUBSCRIPTION, "email": "bob@dept.example.org\r\nBcc: all@example.org"}, ("email", "email_address")),
        ({**GOOD_SUBSCRIPTION, "email": "Bob <bob@dept.example.org>"}, ("email", "email_address")),
        ({**GOOD_SUBSCRIPTION, "email": "<script>@x.org"}, ("email", "email_address")),
        ({**GOOD_SUBSCRIPTION, "phone": "0123"}, ("phone", "extra_forbidden")),
        ({**GOOD_SUBSCRIPTION, "event_types": ["idea.submitted.v1"] * 31}, ("event_types", "too_long")),
    ]
    for body, expected in cases:
        response = await client.put("/v1/subscriptions/bob", json=body, headers=own)
        assert response.status_code == 422 and expected in rules(response), (body, response.text)

    huge = {**GOOD_SUBSCRIPTION, "display_name": "x" * 20_000}
    too_large = await client.put("/v1/subscriptions/bob", json=huge, headers=own)
    assert too_large.status_code == 413 and rules(too_large) == {("body", "at most 16384 bytes")}
    not_json = await client.put("/v1/subscriptions/bob", content=b"{nope", headers={**own, "Content-Type": "application/json"})
    assert not_json.status_code == 422
    bad_cursor = await client.get("/v1/deliveries", params={"cursor": "1; DROP TABLE deliveries"}, headers=own)
    assert bad_cursor.status_code == 422 and ("cursor", "a next_cursor returned by this API") in rules(bad_cursor)
    bad_type = await client.get("/v1/deliveries", params={"event_type": "<b>"}, headers=own)
    assert bad_type.status_code == 422 and rules(bad_type) == {("event_type", "known_event_type")}
    # nothing was stored by any of it
    assert (await client.get("/v1/webhooks", headers=admin)).json() == {"items": []}
    assert (await client.get("/v1/subscriptions/bob", headers=admin)).status_code == 404


async def test_roles_and_departments(service):
    client = service.client
    bob = service.headers("contributor", person="bob")
    assert (await client.put("/v1/subscriptions/bob", json=GOOD_SUBSCRIPTION, headers=bob)).status_code == 201
    replaced = await client.put("/v1/subscriptions/bob", json={**GOOD_SUBSCRIPTION, "event_types": ["outcome.recorded.v1"]},
                                headers=bob)
    assert replaced.status_code == 200 and replaced.json()["event_types"] == ["uk.gov.innovation.outcome.recorded.v1"]
    # someone else's subscription: only an admin
    other = await client.put("/v1/subscriptions/carol", json=GOOD_SUBSCRIPTION, headers=bob)
    assert other.status_code == 403 and rules(other) == {("person_ref", "equal to X-Person-Ref unless the key is an admin's")}
    anonymous = await client.put("/v1/subscriptions/bob", json=GOOD_SUBSCRIPTION, headers=service.headers("reviewer", person=None))
    assert anonymous.status_code == 400 and ("X-Person-Ref", "required: the caller's own reference for the person, 1-200 printable characters") in rules(anonymous)
    assert (await client.put("/v1/subscriptions/carol", json=GOOD_SUBSCRIPTION,
                             headers=service.headers("admin"))).status_code == 201
    viewer = service.headers("viewer", person="bob")
    assert (await client.put("/v1/subscriptions/bob", json=GOOD_SUBSCRIPTION, headers=viewer)).status_code == 403
    assert (await client.get("/v1/subscriptions/bob", headers=viewer)).status_code == 200
    # webhooks: admins only
    assert (await client.post("/v1/webhooks", json=GOOD_HOOK, headers=service.headers("reviewer"))).status_code == 403
    assert (await client.get("/v1/webhooks", headers=viewer)).status_code == 200
    # another department's admin: no subscription exists for it, nothing else is allowed
    stranger = service.headers("stranger", person="bob")
    assert (await client.get("/v1/subscriptions/bob", headers=stranger)).status_code == 404
    assert (await client.put("/v1/subscriptions/bob", json=GOOD_SUBSCRIPTION, headers=stranger)).status_code == 404
    assert (await client.delete("/v1/subscriptions/bob", headers=stranger)).status_code == 404
    assert (await client.post("/v1/webhooks", json=GOOD_HOOK, headers=stranger)).status_code == 403
    assert (await client.get("/v1/webhooks", headers=stranger)).status_code == 403
    assert (await client.get("/v1/deliveries", headers=stranger)).status_code == 403
    assert (await client.get("/v1/deliveries")).status_code == 401
    # the reference is stored only as its pseudonym; the address only here
    conn = await asyncpg.connect(service.dsn)
    try:
        people = {r["person"] for r in await conn.fetch("SELECT person FROM subscriptions")}
    finally:
        await conn.close()
    assert people == {pseudonymise(SECRET, "bob"), pseudonymise(SECRET, "carol")}
    # deleting forgets the address
    assert (await client.delete("/v1/subscriptions/bob", headers=bob)).status_code == 204
    assert (await client.get("/v1/subscriptions/bob", headers=viewer)).status_code == 404
    assert (await client.delete("/v1/subscriptions/bob", headers=bob)).status_code == 404


async def test_deliveries_are_filtered_and_paged_with_a_cursor(kafka_bootstrap, service):
    async with WebhookReceiver() as receiver:
        hook = await service.client.post("/v1/webhooks", json={**GOOD_HOOK, "url": receiver.url},
                                         headers=service.headers("admin"))
        events = [submitted(service.department, title=f"Idea number {i}") for i in range(5)]
        await publish(kafka_bootstrap, *events)
        viewer = service.headers("viewer")

        async def all_delivered():
            page = (await service.client.get("/v1/deliveries", params={"status": "delivered"}, headers=viewer)).json()
            return page if len(page["items"]) == 5 else None

        await eventually(all_delivered, what="five deliveries")
        seen, cursor = [], None
        while True:
            params = {"limit": 2, "webhook_id": hook.json()["webhook_id"], **({"cursor": cursor} if cursor else {})}
            page = (await service.client.get("/v1/deliveries", params=params, headers=viewer)).json()
            seen += page["items"]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert len(seen) == 5 and {d["event_id"] for d in seen} == {str(e.id) for e in events}
        assert all(d["next_attempt_at"] is None and d["delivered_at"] for d in seen)
        only = await service.client.get("/v1/deliveries", params={"event_id": str(events[2].id)}, headers=viewer)
        assert [d["event_id"] for d in only.json()["items"]] == [str(events[2].id)]
        none = await service.client.get("/v1/deliveries", params={"channel": "email"}, headers=viewer)
        assert none.json() == {"items": [], "next_cursor": None}


async def test_a_subscribers_address_and_name_are_shown_to_admins_and_to_the_person_only(service):
    client = service.client
    body = {**GOOD_SUBSCRIPTION, "display_name": "Bob Smith"}
    assert (await client.put("/v1/subscriptions/bob", json=body,
                             headers=service.headers("contributor", person="bob"))).status_code == 201
    for role, person in [("viewer", "bob"), ("contributor", "bob"), ("reviewer", "bob"), ("admin", None), ("admin", "carol")]:
        got = await client.get("/v1/subscriptions/bob", headers=service.headers(role, person=person))
        assert got.status_code == 200 and (got.json()["email"], got.json()["display_name"]) == (
            "bob@dept.example.org", "Bob Smith"), (role, person)
    for role, person in [("viewer", "carol"), ("contributor", "carol"), ("reviewer", None), ("viewer", None)]:
        got = await client.get("/v1/subscriptions/bob", headers=service.headers(role, person=person))
        assert got.status_code == 200, (role, person)
        assert got.json()["email"] is None and got.json()["display_name"] is None, (role, person)
        assert got.json()["person"] == pseudonymise(SECRET, "bob") and got.json()["event_types"] == [
            "uk.gov.innovation.idea.submitted.v1"]
    assert (await client.get("/v1/subscriptions/bob", headers=service.headers("stranger", person="bob"))).status_code == 404


async def test_preferences_are_checked_read_back_whole_and_a_create_only_put_keeps_the_persons_choices(service):
    client, mine = service.client, service.headers("contributor", person="pat")
    refused = [
        ({"preferences": {"everything": "daily"}}, ("preferences.everything", "kind")),
        ({"preferences": {"my_ideas": "hourly"}}, ("preferences.my_ideas", "rhythm")),
        ({"preferences": {"my_ideas": "x" * 41}}, ("preferences.my_ideas", "string_too_long")),
        ({"preferences": {f"k{i}": "daily" for i in range(5)}}, ("preferences", "too_long")),
        ({"preferences": ["my_ideas"]}, ("preferences", "dict_type")),
        ({"preferences": {"my_ideas\r\nBcc: x": "daily"}}, ("preferences.my_ideas  Bcc: x", "kind")),
        ({"reviewer": "yes please"}, ("reviewer", "bool_parsing")),
        ({"event_types": ["idea.exploded.v1"]}, ("event_types", "known_event_type")),
    ]
    for extra, (field, rule) in refused:
        response = await client.put("/v1/subscriptions/pat", headers=mine, json={"email": "pat@dept.example.org", **extra})
        assert response.status_code == 422, (extra, response.text)
        found = rules(response)
        assert any(f.startswith(field.split(" ")[0]) and r == rule for f, r in found), (extra, found)
    assert (await client.get("/v1/subscriptions/pat", headers=mine)).status_code == 404  # nothing was stored

    created = await client.put("/v1/subscriptions/pat", headers={**mine, "If-None-Match": "*"},
                               json={"email": "pat@dept.example.org", "reviewer": True})
    assert created.status_code == 201
    body = created.json()
    assert body["preferences"] == {"my_ideas": "immediately", "endorsed": "weekly", "review_queue": "weekly",
                                   "department": "weekly"}
    assert body["reviewer"] is True and body["email_refused_at"] is None and len(body["event_types"]) == 4

    changed = await client.put("/v1/subscriptions/pat", headers=mine, json={
        "email": "pat@dept.example.org", "preferences": {"endorsed": "daily", "department": "never"}, "event_types": []})
    assert changed.status_code == 200 and changed.json()["preferences"]["endorsed"] == "daily"
    again = await client.put("/v1/subscriptions/pat", headers={**mine, "If-None-Match": "*"},
                             json={"email": "other@dept.example.org"})
    assert again.status_code == 412 and again.json()["detail"][0]["field"] == "If-None-Match"
    kept = (await client.get("/v1/subscriptions/pat", headers=mine)).json()
    assert kept["email"] == "pat@dept.example.org" and kept["preferences"]["department"] == "never"
    odd = await client.put("/v1/subscriptions/pat", headers={**mine, "If-None-Match": '"abc"'},
                           json={"email": "pat@dept.example.org"})
    assert odd.status_code == 422 and rules(odd) == {("If-None-Match", "*")}
