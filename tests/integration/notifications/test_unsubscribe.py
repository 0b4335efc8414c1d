"""The unsubscribe link of an email: one click, without signing in (RFC 8058), once; forged links
refused; nothing more of that kind afterwards, while other kinds still come."""

import uuid

import httpx

from services.notifications import domain
from shared.events import IdeaBacked, IdeaEndorsed, IdeaShortlisted, IdeaSubmitted, new_event
from tests.integration.notifications.support import pseudonym, running_notifications, smtp_server, subscribe, to
from tests.support.kafka import publish
from tests.support.waiting import eventually


def _idea(department, idea, author, title):
    return new_event(IdeaSubmitted(idea_id=idea, title=title, problem="p", proposal="q", submitted_by=pseudonym(author)),
                     department=department, service="ideas")


async def test_the_link_unsubscribes_in_one_click_once_and_forged_links_are_refused(kafka_bootstrap, new_database, department):
    author = "ref-unsub-author"
    address = f"{author}@dept.example.org"
    async with smtp_server() as (smtp_port, mailbox), running_notifications(
        kafka_bootstrap, await new_database("notifications"), department, smtp_port=smtp_port,
    ) as service:
        await subscribe(service, author, preferences={"endorsed": "immediately"}, event_types=[])
        mine, theirs = uuid.uuid4(), uuid.uuid4()
        panel = pseudonym("ref-panel")
        await publish(kafka_bootstrap, _idea(department, mine, author, "Mine"), _idea(department, theirs, "ref-other", "Theirs"),
                      new_event(IdeaEndorsed(idea_id=theirs, endorsed_by=pseudonym(author)), department=department, service="ideas"),
                      new_event(IdeaShortlisted(idea_id=mine, by=panel), department=department, service="ideas"))
        (first,) = await eventually(lambda: _emails(mailbox, address, 1), what="the email about my idea")
        link = first["List-Unsubscribe"].strip("<>")
        assert first["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        path = httpx.URL(link).path
        assert path.startswith("/unsubscribe/") and link in first.get_body(("plain",)).get_content()

        # Opening the link (or a mail scanner fetching it) changes nothing: the page asks
        page = await service.client.get(path)
        assert page.status_code == 200 and "<form method=\"post\">" in page.text and "emails about your ideas" in page.text
        assert (await _preferences(service, author))["my_ideas"] == "immediately"

        # One click, as a mail client does it (RFC 8058): no sign-in, no key
        done = await service.client.post(path, content=b"List-Unsubscribe=One-Click",
                                         headers={"content-type": "application/x-www-form-urlencoded"})
        assert done.status_code == 200 and "You have unsubscribed" in done.text
        assert (await _preferences(service, author)) == {**domain.DEFAULT_PREFERENCES, "my_ideas": "never",
                                                         "endorsed": "immediately", "department": "immediately"}
        again = await service.client.post(path)
        assert again.status_code == 200 and "already unsubscribed" in again.text

        # Forged links: a changed signature, another department's signature, a made-up key, rubbish
        body, _, mac = path.removeprefix("/unsubscribe/").partition(".")
        subscription_key = domain.read_unsubscribe_token(service.runtime.settings.pseudonym_secret, f"{body}.{mac}")[0]
        forged = [f"{body}.{mac[:-2]}{'AA' if mac[-2:] != 'AA' else 'BB'}",
                  domain.unsubscribe_token("another-departments-secret", subscription_key, "endorsed"),
                  domain.unsubscribe_token(service.runtime.settings.pseudonym_secret, uuid.uuid4(), "endorsed"),
                  "x" * 40, f"{body}.{mac}.{mac}"]
        for token in forged:
            for method in ("GET", "POST"):
                response = await service.client.request(method, f"/unsubscribe/{token}")
                assert response.status_code == 404 and "This link does not work" in response.text, (token, response.text)
        assert (await service.client.post("/unsubscribe/<script>")).status_code in (404, 422)
        assert (await _preferences(service, author))["endorsed"] == "immediately"

        # Nothing more about my ideas; what happens to an idea I endorsed still comes
        await publish(kafka_bootstrap,
                      new_event(IdeaBacked(idea_id=mine, sponsor=panel, budget_gbp=1, staff_days=1, timebox_weeks=1),
                                department=department, service="ideas"),
                      new_event(IdeaShortlisted(idea_id=theirs, by=panel), department=department, service="ideas"))
        (_, second) = await eventually(lambda: _emails(mailbox, address, 2), what="the email about the idea I endorsed")
        assert "Theirs" in second["Subject"] and "you endorsed" in second["Subject"]
        response = await service.client.get("/v1/deliveries", params={"channel": "email"}, headers=service.headers("admin"))
        assert len(response.json()["items"]) == 2  # none was even made for the backing of my idea
        assert len(to(mailbox, address)) == 2


async def _emails(mailbox, address, count):
    found = to(mailbox, address)
    return found if len(found) >= count else None


async def _preferences(service, ref):
    response = await service.client.get(f"/v1/subscriptions/{ref}", headers=service.headers("admin"))
    assert response.status_code == 200, response.text
    return response.json()["preferences"]
