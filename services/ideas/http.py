"""HTTP routes: authenticate, name the acting person, call the handlers, shape the answer.

Roles: contributors submit, endorse, withdraw their own ideas and record conversations;
reviewers review, shortlist, back, decline and merge, and read the reviews, their review queue
and the ranking; admins do everything; every role reads ideas. A key of another department sees
no idea here (404) and changes nothing. A closure's note (why an idea was declined) is shown to
the submitter, reviewers and admins; other readers get the closure without it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated
from uuid import UUID

import orjson
from fastapi import APIRouter, Body, Depends, Query, Request, Response
from pydantic import BaseModel

from services.ideas import repository
from services.ideas.domain import Backing, Conversation, Idea, Status, new_id
from services.ideas.handlers import Acting, IdeasHandlers, UnknownIdea
from services.ideas.schemas import (
    Back,
    ConversationOut,
    Decline,
    Endorse,
    IdeaOut,
    IdeaPage,
    Merge,
    Ranking,
    RecordConversation,
    Review,
    ReviewOut,
    Reviews,
    Shortlist,
    SubmitIdea,
    Withdraw,
)
from shared.auth import Caller, acting_member, acting_person, department_member
from shared.events import IdeaSubmitted, Scores
from shared.events.fields import SLUG_PATTERN
from shared.paging import Cursor, Limit, page, position_of
from shared.runtime import runtime_of

router = APIRouter(prefix="/v1", tags=["ideas"])

READERS = ("contributor", "reviewer", "viewer")  # and admin, always


def member(*roles: str, on_idea: bool = True):
    return department_member(*roles, hidden_as=UnknownIdea if on_idea else None)


async def handlers(request: Request) -> IdeasHandlers:  # async: a plain def would run in a worker thread
    return runtime_of(request).handlers


async def acting(request: Request, person: str = Depends(acting_person)) -> Acting:
    correlation_id = request.state.correlation_id
    return Acting(person=person, correlation_id=correlation_id, causation_id=correlation_id)


Reader = Annotated[Caller, Depends(member(*READERS))]
Contributor = Annotated[Caller, Depends(member("contributor"))]
Reviewer = Annotated[Caller, Depends(member("reviewer"))]
Panel = Annotated[Caller, Depends(member("reviewer", on_idea=False))]
Handlers = Annotated[IdeasHandlers, Depends(handlers)]
Person = Annotated[Acting, Depends(acting)]

_RESPONSES = {
    400: {"description": "X-Person-Ref missing or malformed"},
    401: {"description": "missing, unknown or revoked API key"},
    403: {"description": "the key's role may not do this, or the acting person submitted the idea (conflict "
                         "of interest); the body gives the reason"},
    404: {"description": "no such idea in this department"},
    409: {"description": "the idea's state does not allow this (or the person already reviewed it); the body names "
                         "the state and the reason"},
}
_MERGE_RESPONSES = {
    **_RESPONSES,
    409: {"description": "the idea, or the idea to merge into, is closed (withdrawn, declined or merged), or it "
                         "is the idea itself"},
    422: {"description": "the body is invalid, or the idea to merge into does not exist (field into_idea_id)"},
    503: {"description": "central reporting could not be asked whether another department's idea exists"},
}


def as_json(model: BaseModel, status: int = 200, **headers: str) -> Response:
    """The model's JSON, serialised once (FastAPI would validate it again against response_model)."""
    return Response(model.__pydantic_serializer__.to_json(model), status, headers, media_type="application/json")


def idea_out(row, department: str, scores=None, *, sees_note: bool = True) -> IdeaOut:
    values = dict(row)
    for name in ("backing", "closure"):
        values[name] = orjson.loads(values[name]) if values[name] else None
    if values["closure"] and not sees_note:
        values["closure"].pop("note", None)
    values["scores"] = dict(scores) if scores else None
    values["merged_from"] = [{"department": department, "idea_id": i} for i in values.get("merged_from") or ()]
    return IdeaOut.model_validate(values)


async def reading_person(request: Request, caller: Caller) -> str | None:
    """The reader's pseudonym where the request names one (a token; a key acting for people with X-Person-Ref)."""
    if caller.person is not None:
        return caller.person
    if caller.acts_for_people and "x-person-ref" in request.headers:
        return await acting_person(request)
    return None


async def note_reader(request: Request, caller: Caller) -> Callable[[object], bool]:
    """Whether the reader sees an idea's closure note: reviewers and admins always, the submitter for their own."""
    if caller.role in ("reviewer", "admin"):
        return lambda row: True
    person = await reading_person(request, caller)
    return lambda row: person is not None and row["submitted_by"] == person


async def _change(handlers: IdeasHandlers, acting: Acting, idea_id: UUID, command: Callable[[Idea], None],
                  status: int = 200) -> Response:
    return as_json(idea_out(await handlers.change(acting, idea_id, command), handlers.department), status)


@router.post("/ideas", status_code=201, response_model=IdeaOut, responses=_RESPONSES, summary="Submit an idea")
async def submit_idea(body: SubmitIdea, request: Request,
                      who: Annotated[tuple[Caller, str], Depends(acting_member("contributor"))]) -> Response:
    # One dependency for member("contributor", on_idea=False), acting and handlers: the hot path's.
    correlation_id = request.state.correlation_id
    acting = Acting(person=who[1], correlation_id=correlation_id, causation_id=correlation_id)
    handlers = runtime_of(request).handlers
    # Not validated twice: the body's fields were validated by SubmitIdea, whose fields are IdeaSubmitted's
    # own (shared.requests.like: same types, same constraints); the id is new, the person our pseudonym.
    submission = IdeaSubmitted.model_construct(idea_id=new_id(), submitted_by=acting.person, **body.model_dump())
    row = await handlers.submit(acting, submission)
    return as_json(idea_out(row, handlers.department), 201, Location=f"/v1/ideas/{row['idea_id']}")


@router.get("/ideas", response_model=IdeaPage, responses=_RESPONSES, summary="List ideas, newest first")
async def list_ideas(
    request: Request,
    caller: Reader,
    status: Status | None = None,
    theme: Annotated[str | None, Query(pattern=SLUG_PATTERN, max_length=60)] = None,
    campaign: Annotated[str | None, Query(pattern=SLUG_PATTERN, max_length=60)] = None,
    q: Annotated[str | None, Query(min_length=1, max_length=100, pattern=r"^[^\x00-\x1f\x7f]+$",
                                   description="words found in the title, problem or proposal")] = None,
    mine: Annotated[bool, Query(description="only the ideas the acting person submitted")] = False,
    endorsed: Annotated[bool, Query(description="only the ideas the acting person endorsed")] = False,
    cursor: Cursor = None,
    limit: Limit = 20,
) -> IdeaPage:
    person = await acting_person(request) if mine or endorsed else None
    rows = await repository.list_ideas(
        runtime_of(request).pool, status=status.value if status else None, theme=theme, campaign=campaign,
        before=position_of(cursor), limit=limit + 1, submitted_by=person if mine else None,
        endorsed_by=person if endorsed else None, words=q,
    )
    rows, next_cursor = page(rows, limit, lambda row: row["position"])
    sees_note, department = await note_reader(request, caller), caller.department
    return IdeaPage(items=[idea_out(r, department, sees_note=sees_note(r)) for r in rows], next_cursor=next_cursor)


@router.get("/ideas/ranking", response_model=Ranking, responses=_RESPONSES,
            summary="The panel's ranking: shortlisted ideas by overall average score, best first, unreviewed last")
async def ranking(request: Request, caller: Panel, limit: Limit = 20) -> Ranking:
    rows = await repository.ranking(runtime_of(request).pool, limit=limit)
    return Ranking(items=[
        idea_out(r, caller.department, {n: r[n] for n in repository.SCORE_NAMES} if r["overall"] is not None else None)
        for r in rows])


@router.get("/reviews/queue", response_model=IdeaPage, responses=_RESPONSES,
            summary="My review queue: ideas open for review I neither submitted nor reviewed, oldest first")
async def review_queue(request: Request, caller: Panel, cursor: Cursor = None, limit: Limit = 20) -> IdeaPage:
    person = await acting_person(request)
    rows = await repository.review_queue(runtime_of(request).pool, person=person, after=position_of(cursor),
                                         limit=limit + 1)
    rows, next_cursor = page(rows, limit, lambda row: row["position"])
    return IdeaPage(items=[idea_out(r, caller.department) for r in rows], next_cursor=next_cursor)


@router.get("/ideas/{idea_id}", response_model=IdeaOut, responses=_RESPONSES, summary="One idea")
async def get_idea(idea_id: UUID, request: Request, caller: Reader) -> IdeaOut:
    pool = runtime_of(request).pool
    row = await repository.fetch_idea(pool, idea_id)
    if row is None:
        raise UnknownIdea(idea_id)
    sees_note = await note_reader(request, caller)
    return idea_out(row, caller.department, await repository.average_scores(pool, idea_id), sees_note=sees_note(row))


@router.get("/ideas/{idea_id}/reviews", response_model=Reviews, responses=_RESPONSES,
            summary="An idea's reviews, oldest first (reviewers and admins)")
async def reviews(idea_id: UUID, request: Request, caller: Reviewer) -> Reviews:
    pool = runtime_of(request).pool
    if await repository.fetch_idea(pool, idea_id) is None:
        raise UnknownIdea(idea_id)
    return Reviews(items=[
        ReviewOut(reviewer=r["reviewer"], comment=r["comment"], reviewed_at=r["reviewed_at"],
                  scores=Scores(impact=r["impact"], feasibility=r["feasibility"],
                                value_for_money=r["value_for_money"], alignment=r["alignment"]))
        for r in await repository.reviews_of(pool, idea_id)])


@router.post("/ideas/{idea_id}/endorsements", status_code=201, response_model=IdeaOut, responses=_RESPONSES,
             summary="Endorse an idea (once per person)")
async def endorse(idea_id: UUID, caller: Contributor, acting: Person, handlers: Handlers,
                  body: Annotated[Endorse | None, Body()] = None) -> Response:
    return await _change(handlers, acting, idea_id, lambda idea: idea.endorse(acting.person), 201)


@router.post("/ideas/{idea_id}/reviews", status_code=201, response_model=IdeaOut, responses=_RESPONSES,
             summary="Review an idea with scores")
async def review(idea_id: UUID, body: Review, caller: Reviewer, acting: Person, handlers: Handlers) -> Response:
    scores = Scores(**body.scores.model_dump())
    return await _change(handlers, acting, idea_id, lambda idea: idea.review(acting.person, scores, body.comment),
                         201)


@router.post("/ideas/{idea_id}/shortlist", response_model=IdeaOut, responses=_RESPONSES, summary="Shortlist an idea")
async def shortlist(idea_id: UUID, caller: Reviewer, acting: Person, handlers: Handlers,
                    body: Annotated[Shortlist | None, Body()] = None) -> Response:
    note = body.note if body else None
    return await _change(handlers, acting, idea_id, lambda idea: idea.shortlist(acting.person, note))


@router.post("/ideas/{idea_id}/back", response_model=IdeaOut, responses=_RESPONSES,
             summary="Back a shortlisted idea with a budget, staff days and a time box")
async def back(idea_id: UUID, body: Back, caller: Reviewer, acting: Person, handlers: Handlers) -> Response:
    backing = Backing(sponsor=acting.person, **body.model_dump())
    return await _change(handlers, acting, idea_id, lambda idea: idea.back(backing))


@router.post("/ideas/{idea_id}/decline", response_model=IdeaOut, responses=_RESPONSES,
             summary="Decline an idea with a reason")
async def decline(idea_id: UUID, body: Decline, caller: Reviewer, acting: Person, handlers: Handlers) -> Response:
    return await _change(handlers, acting, idea_id, lambda idea: idea.decline(acting.person, body.reason, body.note))


@router.post("/ideas/{idea_id}/withdraw", response_model=IdeaOut, responses=_RESPONSES,
             summary="Withdraw an idea (its submitter, or an admin)")
async def withdraw(idea_id: UUID, caller: Contributor, acting: Person, handlers: Handlers,
                   body: Annotated[Withdraw | None, Body()] = None) -> Response:
    on_behalf = caller.role == "admin"
    return await _change(handlers, acting, idea_id, lambda idea: idea.withdraw(acting.person, on_behalf=on_behalf))


@router.post("/ideas/{idea_id}/merge", response_model=IdeaOut, responses=_MERGE_RESPONSES,
             summary="Merge an idea into another that exists and is open, possibly another department's")
async def merge(idea_id: UUID, body: Merge, caller: Reviewer, acting: Person, handlers: Handlers) -> Response:
    row = await handlers.merge(acting, idea_id, body.into_department, body.into_idea_id)
    return as_json(idea_out(row, handlers.department))


@router.post("/conversations", status_code=201, response_model=ConversationOut, responses=_RESPONSES,
             summary="Record a team conversation that raised ideas")
async def record_conversation(body: RecordConversation,
                              caller: Annotated[Caller, Depends(member("contributor", on_idea=False))],
                              acting: Person, handlers: Handlers) -> ConversationOut:
    conversation = Conversation(
        conversation_id=body.conversation_id or new_id(), team=body.team, participants=body.participants,
        held_on=body.held_on, ideas_raised=body.ideas_raised, recorded_by=acting.person,
    )
    await handlers.record_conversation(acting, conversation)
    return ConversationOut(**{k: getattr(conversation, k) for k in ConversationOut.model_fields})
