"""The department's other systems emit onto the ideas intake (with kcat, a client that is not ours); the
service applies each event with its HTTP API's rules and is the one writer of the canonical stream."""

import asyncio
import datetime
import uuid

import orjson
import pytest

from services.ideas import domain
from services.ideas.consumers import intake_group
from shared.events import (
    ConversationRecorded, Event, IdeaBacked, IdeaDeclined, IdeaEndorsed, IdeaReviewed, IdeaShortlisted, IdeaSubmitted,
    IdeaWithdrawn, decode, encode, new_event,
)
from shared.events.pseudonym import pseudonymise
from tests.integration.ideas.conftest import SECRET, submit, unsent
from tests.support import kcat
from tests.support.kafka import consumer_lag, dead_letters, read_to_end
from tests.support.waiting import at_least, eventually

TOOL = "/departments/{department}/team-conversation-tool"


def person(ref: str) -> str:
    """The pseudonym the service makes of X-Person-Ref `ref`: a departmental system pseudonymises with its
    department's secret."""
    return pseudonymise(SECRET, ref)


def from_tool(department: str, data, **envelope) -> Event:
    return new_event(data, department=department, service="tool", source=TOOL.format(department=department),
                     **envelope)


def submission(idea_id: uuid.UUID | None = None, by: str = "alice") -> IdeaSubmitted:
    return IdeaSubmitted(idea_id=idea_id or uuid.uuid4(), title="Book rooms in one place", problem="Three systems.",
                         proposal="One calendar.", submitted_by=person(by), themes=("estates",))


def emit(bootstrap: str, topic: str, *, key: bytes, value: bytes, headers) -> None:
    """One record onto `topic` with kcat, partitioned by its key as any keyed producer does."""
    kcat.produce(bootstrap, topic, partition=-1, key=key, value=value, headers=headers)


def emit_event(bootstrap: str, topic: str, event: Event) -> None:
    _, key, value, headers = encode(event)
    emit(bootstrap, topic, key=key, value=value, headers=headers)


async def settled(bootstrap: str, service, intake: str) -> None:
    """Everything on the intake applied or dead-lettered, and every accepted event published."""
    await eventually(lambda: _settled(bootstrap, service, intake), what="the intake consumed and the outbox drained")


async def _settled(bootstrap: str, service, intake: str) -> bool:
    return await consumer_lag(bootstrap, intake_group(service.department), intake) == 0 and not await unsent(service)


def events_of(records) -> list[Event]:
    return [decode(r.value, r.headers, topic=r.topic) for r in records]


async def test_an_idea_from_a_departmental_system_is_reviewed_and_backed_through_the_api(
        ideas, kafka_bootstrap, intake, ideas_topic):
    submitted = from_tool(ideas.department, submission(), correlationid="tool-corr-1", causationid="tool-msg-9")
    emit_event(kafka_bootstrap, intake, submitted)
    path = f"/v1/ideas/{submitted.data.idea_id}"

    async def shown():
        response = await ideas.client.get(path, headers=ideas.headers("viewer"))
        return response.json() if response.status_code == 200 else None

    idea = await eventually(shown, what="the intake's idea served by GET /v1/ideas/{id}")
    assert idea["status"] == "submitted" and idea["title"] == "Book rooms in one place"
    assert idea["source"] == submitted.source and idea["submitted_by"] == person("alice")

    reviewer = ideas.headers("reviewer", "rita")
    response = await ideas.client.post(f"{path}/shortlist", headers=reviewer)
    assert response.status_code == 200, response.text
    response = await ideas.client.post(f"{path}/back", headers=reviewer,
                                       json={"budget_gbp": 8000, "staff_days": 12, "timebox_weeks": 6})
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "backed" and response.json()["source"] == submitted.source

    published = events_of(await eventually(lambda: at_least(read_to_end(kafka_bootstrap, ideas_topic), 3),
                                           what="three events on the canonical stream"))
    assert len(published) == 3
    assert published[0] == submitted  # the original: id, source, time, correlation, cause and data
    assert [type(e.data) for e in published[1:]] == [IdeaShortlisted, IdeaBacked]
    api_source = f"/departments/{ideas.department}/ideas"
    assert {e.source for e in published[1:]} == {api_source}
    made = await submit(ideas)  # an idea made through the API names the API as its source
    assert made["source"] == api_source


async def test_refused_intake_events_are_dead_lettered_with_reasons_and_never_published(
        ideas, kafka_bootstrap, intake, ideas_topic):
    d = ideas.department
    kept = from_tool(d, submission())
    withdrawn = from_tool(d, IdeaWithdrawn(idea_id=kept.data.idea_id, by=person("alice")))
    stranger = from_tool(d, IdeaWithdrawn(idea_id=kept.data.idea_id, by=person("mallory")))
    endorse_withdrawn = from_tool(d, IdeaEndorsed(idea_id=kept.data.idea_id, endorsed_by=person("bob")))
    back_unknown = from_tool(d, IdeaBacked(idea_id=uuid.uuid4(), sponsor=person("sam"), budget_gbp=100,
                                           staff_days=1, timebox_weeks=2))
    endorse_unknown = from_tool(d, IdeaEndorsed(idea_id=uuid.uuid4(), endorsed_by=person("bob")))
    other_department = from_tool("elsewhere", submission())
    for event in (kept, withdrawn, stranger, endorse_withdrawn, back_unknown, endorse_unknown, other_department):
        emit_event(kafka_bootstrap, intake, event)
    invalid = from_tool(d, submission())
    _, key, value, headers = encode(invalid)
    emit(kafka_bootstrap, intake, key=key, value=orjson.dumps({**orjson.loads(value), "title": "x"}), headers=headers)

    letters = await eventually(lambda: at_least(dead_letters(kafka_bootstrap, "ideas", intake), 6),
                               what="six dead letters from the intake")
    await settled(kafka_bootstrap, ideas, intake)
    letters = await dead_letters(kafka_bootstrap, "ideas", intake)
    reasons = {dict(r.headers)["ce_id"].decode(): (dict(r.headers)["dlq_error_class"].decode(),
                                                   dict(r.headers)["dlq_reason"].decode()) for r in letters}
    assert reasons.keys() == {str(e.id) for e in (stranger, endorse_withdrawn, back_unknown, endorse_unknown,
                                                  other_department, invalid)}
    assert reasons[str(stranger.id)][0] == "NotAllowed"
    assert "only the person who submitted an idea can withdraw it" in reasons[str(stranger.id)][1]
    assert reasons[str(endorse_withdrawn.id)][0] == "Refused"
    assert "a withdrawn idea can no longer be endorsed" in reasons[str(endorse_withdrawn.id)][1]
    for unknown in (back_unknown, endorse_unknown):
        assert reasons[str(unknown.id)][0] == "UnknownIdea" and "idea not found" in reasons[str(unknown.id)][1]
    assert reasons[str(other_department.id)][0] == "DepartmentMismatch"
    assert reasons[str(invalid.id)][0] == "SchemaViolation" and "title" in reasons[str(invalid.id)][1]

    assert [e.id for e in events_of(await read_to_end(kafka_bootstrap, ideas_topic))] == [kept.id, withdrawn.id]
    idea = (await ideas.client.get(f"/v1/ideas/{kept.data.idea_id}", headers=ideas.headers("viewer"))).json()
    assert idea["status"] == "withdrawn" and idea["endorsements"] == 0
    for unknown in (back_unknown, endorse_unknown, other_department, invalid):
        response = await ideas.client.get(f"/v1/ideas/{unknown.data.idea_id}", headers=ideas.headers("viewer"))
        assert response.status_code == 404


async def test_a_redelivered_intake_event_changes_nothing(ideas, kafka_bootstrap, intake, ideas_topic):
    d = ideas.department
    submitted = from_tool(d, submission())
    endorsed = from_tool(d, IdeaEndorsed(idea_id=submitted.data.idea_id, endorsed_by=person("bob")))
    conversation = from_tool(d, ConversationRecorded(conversation_id=uuid.uuid4(), team="Estates", participants=6,
                                                     held_on=datetime.date(2025, 3, 4), ideas_raised=2))
    for event in (submitted, endorsed, conversation, submitted, endorsed, conversation):
        emit_event(kafka_bootstrap, intake, event)
    await settled(kafka_bootstrap, ideas, intake)

    published = events_of(await read_to_end(kafka_bootstrap, ideas_topic))
    assert sorted(map(str, (e.id for e in published))) == sorted(str(e.id) for e in (submitted, endorsed, conversation))
    idea = (await ideas.client.get(f"/v1/ideas/{submitted.data.idea_id}", headers=ideas.headers("viewer"))).json()
    assert idea["endorsements"] == 1
    pool = ideas.runtime.pool
    assert await pool.fetchval("SELECT count(*) FROM ideas") == 1
    assert await pool.fetchval("SELECT source FROM conversations WHERE conversation_id = $1",
                               conversation.data.conversation_id) == conversation.source
    assert await dead_letters(kafka_bootstrap, "ideas", intake) == []


def replayed(events: list[Event]) -> dict[uuid.UUID, domain.Idea]:
    """The ideas the canonical stream gives when each event is replayed as its command on the domain."""
    ideas: dict[uuid.UUID, domain.Idea] = {}
    for event in events:
        data = event.data
        if isinstance(data, IdeaSubmitted):
            ideas[data.idea_id] = idea = domain.Idea.submit(data)
        else:
            idea = ideas[data.idea_id]
            match data:
                case IdeaShortlisted():
                    idea.shortlist(data.by, data.note)
                case IdeaBacked():
                    idea.back(domain.Backing(sponsor=data.sponsor, budget_gbp=data.budget_gbp,
                                             staff_days=data.staff_days, timebox_weeks=data.timebox_weeks))
                case IdeaDeclined():
                    idea.decline(data.by, data.reason, data.note)
                case IdeaReviewed() | IdeaEndorsed() | IdeaWithdrawn():
                    pytest.fail(f"not emitted by this test: {event.type}")
        assert idea.take_events() == [data], "the domain records another event than the stream's"
    return ideas


async def test_an_intake_event_and_an_http_command_racing_on_one_idea_agree_with_the_stream(
        ideas, kafka_bootstrap, intake, ideas_topic):
    reviewer = ideas.headers("reviewer", "rita")
    ids = [uuid.UUID((await submit(ideas, f"Idea {n}"))["idea_id"]) for n in range(16)]
    for idea_id in ids:
        assert (await ideas.client.post(f"/v1/ideas/{idea_id}/shortlist", headers=reviewer)).status_code == 200
    declines = {idea_id: from_tool(ideas.department, IdeaDeclined(idea_id=idea_id, by=person("panel"),
                                                                  reason="out_of_scope", note="Not this year."))
                for idea_id in ids}

    async def back(n: int, idea_id: uuid.UUID) -> int:
        await asyncio.sleep(0.03 * n)  # spread over the time the intake takes, so that each side wins some races
        response = await ideas.client.post(f"/v1/ideas/{idea_id}/back", headers=reviewer,
                                           json={"budget_gbp": 500, "staff_days": 3, "timebox_weeks": 4})
        assert response.status_code in (200, 409), response.text
        return response.status_code

    produced = [asyncio.to_thread(emit_event, kafka_bootstrap, intake, declines[idea_id]) for idea_id in ids]
    *_, answered = await asyncio.gather(*produced, asyncio.gather(*(back(n, i) for n, i in enumerate(ids))))
    answers = dict(zip(ids, answered))
    await settled(kafka_bootstrap, ideas, intake)

    refused = {uuid.UUID(dict(r.headers)["ce_subject"].decode().split("/")[1])
               for r in await dead_letters(kafka_bootstrap, "ideas", intake)}
    stream = replayed(events_of(await read_to_end(kafka_bootstrap, ideas_topic)))
    for idea_id in ids:
        served = (await ideas.client.get(f"/v1/ideas/{idea_id}", headers=ideas.headers("viewer"))).json()
        replay = stream[idea_id]
        assert served["status"] == replay.status.value
        assert (served["backing"] is None) == (replay.backing is None)
        assert (served["closure"] or {}).get("reason") == (replay.closure.reason if replay.closure else None)
        # exactly one of the two commands won: the other was refused, by HTTP 409 or a dead letter
        if replay.status is domain.Status.BACKED:
            assert answers[idea_id] == 200 and idea_id in refused
        else:
            assert replay.status is domain.Status.DECLINED
            assert answers[idea_id] == 409 and idea_id not in refused


async def test_intake_merges_and_reviews_follow_the_panels_rules(ideas, kafka_bootstrap, intake, ideas_topic):
    from shared.events import IdeaMerged, Scores

    d = ideas.department
    target, merged, own = (from_tool(d, submission(by=by)) for by in ("tara", "alice", "olga"))
    endorsed = from_tool(d, IdeaEndorsed(idea_id=merged.data.idea_id, endorsed_by=person("carol")))
    into_missing = from_tool(d, IdeaMerged(idea_id=own.data.idea_id, into_department=d, into_idea_id=uuid.uuid4(),
                                           by=person("rita")))
    own_review = from_tool(d, IdeaReviewed(idea_id=own.data.idea_id, reviewer=person("olga"),
                                           scores=Scores(impact=5, feasibility=5, value_for_money=5, alignment=5)))
    merge = from_tool(d, IdeaMerged(idea_id=merged.data.idea_id, into_department=d, into_idea_id=target.data.idea_id,
                                    by=person("rita")))
    into_merged = from_tool(d, IdeaMerged(idea_id=own.data.idea_id, into_department=d,
                                          into_idea_id=merged.data.idea_id, by=person("rita")))
    # the intake orders one idea's events only (they share a key): each stage waits for the one it depends on
    for stage in ((target, merged, own), (endorsed, into_missing, own_review, merge), (into_merged,)):
        for event in stage:
            emit_event(kafka_bootstrap, intake, event)
        await settled(kafka_bootstrap, ideas, intake)
    await eventually(lambda: at_least(dead_letters(kafka_bootstrap, "ideas", intake), 3), what="three dead letters")
    await settled(kafka_bootstrap, ideas, intake)
    letters = await dead_letters(kafka_bootstrap, "ideas", intake)
    reasons = {dict(r.headers)["ce_id"].decode(): dict(r.headers)["dlq_error_class"].decode() for r in letters}
    assert reasons == {str(into_missing.id): "NoSuchTarget", str(own_review.id): "OwnIdea",
                       str(into_merged.id): "TargetClosed"}
    shown = (await ideas.client.get(f"/v1/ideas/{target.data.idea_id}", headers=ideas.headers("viewer"))).json()
    assert shown["merged_from"] == [{"department": d, "idea_id": str(merged.data.idea_id)}]
    assert shown["endorsements"] == 1
    published = {e.id for e in events_of(await read_to_end(kafka_bootstrap, ideas_topic))}
    assert published == {target.id, merged.id, own.id, endorsed.id, merge.id}
