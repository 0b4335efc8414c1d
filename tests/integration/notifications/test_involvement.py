"""People involved in an idea hear what happens to it, without subscribing to the department's
events: on the real broker and database, with an SMTP server."""

import uuid
from datetime import date

from shared.events import (
    ExperimentOverdue,
    ExperimentPlanned,
    ExperimentStarted,
    IdeaBacked,
    IdeaDeclined,
    IdeaEndorsed,
    IdeaSubmitted,
    OutcomeAdopted,
    OutcomeRecorded,
    new_event,
)
from shared.events.experiments import Measure
from tests.integration.notifications.support import (
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
from tests.support.waiting import eventually

PEOPLE = ("ref-author-31", "ref-fan-one-52", "ref-fan-two-67", "ref-sponsor-84", "ref-reviewer-93", "ref-reader-15")


def _events(department, idea, *, title="Fewer forms for carers"):
    author, fan1, fan2, sponsor = (pseudonym(r) for r in PEOPLE[:4])
    return [
        new_event(IdeaSubmitted(idea_id=idea, title=title, problem="Carers fill in the same form three times.",
                                proposal="One form, shared.", submitted_by=author), department=department, service="ideas"),
        new_event(IdeaEndorsed(idea_id=idea, endorsed_by=fan1), department=department, service="ideas"),
        new_event(IdeaEndorsed(idea_id=idea, endorsed_by=fan2), department=department, service="ideas"),
        new_event(IdeaBacked(idea_id=idea, sponsor=sponsor, budget_gbp=12000, staff_days=20, timebox_weeks=6,
                             note="Start with one office."), department=department, service="ideas"),
    ]


async def test_the_author_and_both_endorsers_of_a_backed_idea_each_get_one_email_with_the_resources_and_a_link(
    kafka_bootstrap, new_database, department,
):
    author, fan1, fan2, sponsor, reviewer, reader = PEOPLE
    async with smtp_server() as (smtp_port, mailbox), running_notifications(
        kafka_bootstrap, await new_database("notifications"), department, smtp_port=smtp_port,
        portal_url="https://innovation.example.gov.uk",
    ) as service:
        await subscribe(service, author)  # the defaults: my ideas immediately
        for fan in (fan1, fan2):
            await subscribe(service, fan, preferences={"endorsed": "immediately"})
        await subscribe(service, sponsor, preferences={"review_queue": "immediately"})
        await subscribe(service, reviewer, reviewer=True, preferences={"review_queue": "immediately"})
        await subscribe(service, reader)  # the department's news, weekly: nothing now

        idea = uuid.uuid4()
        events = _events(department, idea)
        await publish(kafka_bootstrap, *events)
        # backed: the author and the two endorsers; submitted: the reviewer (a new idea in their queue)
        items = await eventually(lambda: all_delivered(service, 4), what="four emails delivered")
        await caught_up(kafka_bootstrap, department)
        await publish(kafka_bootstrap, *events)  # every event again: a redelivery adds nothing
        await caught_up(kafka_bootstrap, department)
        assert len(await all_delivered(service, 4)) == 4 and len(items) == 4

        for who in (author, fan1, fan2):
            (message,) = to(mailbox, f"{who}@dept.example.org")
            text, html = parts(message)
            assert "Fewer forms for carers" in message["Subject"] and "backed" in message["Subject"]
            assert "£12,000" in text and "20 staff days" in text and "6-week" in text and "Start with one office." in text
            assert f"https://innovation.example.gov.uk/ideas/{idea}" in text and f'href="https://innovation.example.gov.uk/ideas/{idea}"' in html
            assert message["List-Unsubscribe"].startswith("<http") and message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
            assert_names_nobody(message, *PEOPLE)
        assert "Your idea" in to(mailbox, f"{author}@dept.example.org")[0]["Subject"]
        assert "you endorsed" in to(mailbox, f"{fan1}@dept.example.org")[0]["Subject"]

        (queued,) = to(mailbox, f"{reviewer}@dept.example.org")
        assert "waiting for review" in queued["Subject"]
        assert f"/review/ideas/{idea}" in parts(queued)[0]
        assert_names_nobody(queued, *PEOPLE)
        assert to(mailbox, f"{sponsor}@dept.example.org") == []  # who backed it needs no telling
        assert to(mailbox, f"{reader}@dept.example.org") == []  # weekly news waits for the digest
        assert len(mailbox.messages) == 4


async def test_the_author_of_a_declined_idea_gets_the_reason_and_the_note(kafka_bootstrap, new_database, department):
    author = "ref-declined-author-7"
    async with smtp_server() as (smtp_port, mailbox), running_notifications(
        kafka_bootstrap, await new_database("notifications"), department, smtp_port=smtp_port,
    ) as service:
        await subscribe(service, author)
        idea = uuid.uuid4()
        await publish(kafka_bootstrap,
                      new_event(IdeaSubmitted(idea_id=idea, title="Robots answer the phones", problem="Queues.",
                                              proposal="Robots.", submitted_by=pseudonym(author)),
                                department=department, service="ideas"),
                      new_event(IdeaDeclined(idea_id=idea, by=pseudonym("ref-panel-chair"), reason="not_feasible",
                                             note="The phone system cannot be changed before 2028."),
                                department=department, service="ideas"))
        await eventually(lambda: all_delivered(service, 1), what="the email about the decision")
        (message,) = to(mailbox, f"{author}@dept.example.org")
        text, html = parts(message)
        assert "Robots answer the phones" in message["Subject"] and "declined" in message["Subject"].lower()
        assert "it cannot be done at the moment" in text
        assert "The phone system cannot be changed before 2028." in text and "before 2028." in html
        assert_names_nobody(message, author, "ref-panel-chair")


async def test_a_person_who_chose_never_hears_nothing_and_one_without_an_address_is_skipped(
    kafka_bootstrap, new_database, department,
):
    quiet, unknown = "ref-quiet-1", "ref-nobody-2"
    async with smtp_server() as (smtp_port, mailbox), running_notifications(
        kafka_bootstrap, await new_database("notifications"), department, smtp_port=smtp_port,
    ) as service:
        await subscribe(service, quiet, preferences={"my_ideas": "never"})
        first, second = uuid.uuid4(), uuid.uuid4()
        events = []
        for idea, ref in ((first, quiet), (second, unknown)):
            events += [new_event(IdeaSubmitted(idea_id=idea, title="An idea", problem="p", proposal="q",
                                               submitted_by=pseudonym(ref)), department=department, service="ideas"),
                       new_event(IdeaBacked(idea_id=idea, sponsor=pseudonym("ref-s"), budget_gbp=1, staff_days=1,
                                            timebox_weeks=1), department=department, service="ideas")]
        await publish(kafka_bootstrap, *events)
        await caught_up(kafka_bootstrap, department)
        response = await service.client.get("/v1/deliveries", headers=service.headers("admin"))
        assert response.json()["items"] == [] and mailbox.messages == []


async def test_the_squad_and_the_author_follow_the_experiment_to_its_outcome_and_its_adoption_elsewhere(
    kafka_bootstrap, new_database, department,
):
    author, lead, member = "ref-xp-author", "ref-xp-lead", "ref-xp-member"
    other = department[:-1] + ("x" if department[-1] != "x" else "y")
    async with smtp_server() as (smtp_port, mailbox), running_notifications(
        kafka_bootstrap, await new_database("notifications"), department, adoptions_from=[other], smtp_port=smtp_port,
        portal_url="https://portal.example",
    ) as service:
        for ref in (author, lead, member):
            await subscribe(service, ref, event_types=[])  # my ideas immediately (the default); no news
        idea, experiment, outcome = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()

        def ours(data, service_name):
            return new_event(data, department=department, service=service_name)

        # Days apart in life, so in the order they happen: each topic is read on its own
        await publish(kafka_bootstrap, ours(IdeaSubmitted(idea_id=idea, title="Text reminders", problem="Missed appointments.",
                                                          proposal="Texts.", submitted_by=pseudonym(author)), "ideas"))
        await caught_up(kafka_bootstrap, department)
        await publish(
            kafka_bootstrap,
            ours(ExperimentPlanned(experiment_id=experiment, idea_id=idea, hypothesis="Texts halve missed appointments.",
                                   measure=Measure(name="missed", unit="%", baseline=20, target=10, direction="decrease"),
                                   starts_on=date(2026, 1, 5), ends_on=date(2026, 3, 2), squad_size=2, budget_gbp=500,
                                   staff_days=10, by=pseudonym(lead), squad=(pseudonym(member),)), "experiments"),
            ours(ExperimentStarted(experiment_id=experiment, started_on=date(2026, 1, 5), by=pseudonym(lead)), "experiments"),
            ours(ExperimentOverdue(experiment_id=experiment, ended_on=date(2026, 3, 2)), "experiments"))
        await caught_up(kafka_bootstrap, department, "experiments")
        await publish(
            kafka_bootstrap,
            ours(OutcomeRecorded(outcome_id=outcome, experiment_id=experiment, idea_id=idea, result="succeeded",
                                 summary="Missed appointments fell to 9%.", learnings=("Send the text the day before.",),
                                 recommendation="adopt_elsewhere", by=pseudonym(lead)), "experiments"))
        # planned: author, member (the lead planned it); started: author, member; overdue: all three;
        # recorded: author, member
        await eventually(lambda: all_delivered(service, 9), what="the experiment's emails")
        await publish(kafka_bootstrap, new_event(
            OutcomeAdopted(adoption_id=uuid.uuid4(), origin_department=department, origin_outcome_id=outcome,
                           adopting_department=other, adopted_by=pseudonym("ref-elsewhere"), note="Trying it in Leeds."),
            department=other, service="experiments"))
        await eventually(lambda: all_delivered(service, 12), what="the adoption told to all three")

        def subjects(ref):
            return [m["Subject"] for m in to(mailbox, f"{ref}@dept.example.org")]

        assert len(subjects(author)) == 5 and len(subjects(member)) == 5 and len(subjects(lead)) == 2
        assert any("overdue" in s.lower() for s in subjects(lead)) and any("adopted" in s.lower() for s in subjects(lead))
        for message in mailbox.messages:
            assert_names_nobody(message, author, lead, member, "ref-elsewhere")
        (recorded,) = [m for m in to(mailbox, f"{author}@dept.example.org") if "Missed appointments fell" in parts(m)[0]]
        assert "Send the text the day before." in parts(recorded)[0]
        (adopted,) = [m for m in to(mailbox, f"{member}@dept.example.org") if "adopted" in m["Subject"].lower()]
        assert "Trying it in Leeds." in parts(adopted)[0] and f"https://portal.example/outcomes/{department}/{outcome}" in parts(adopted)[0]
