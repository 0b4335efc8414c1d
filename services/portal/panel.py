"""The review panel's pages (reviewers and admins): the review queue, the ranking of shortlisted ideas, an idea's
reviews with the scoring form, and deciding (shortlist, back, decline, merge into a searched target). Each action
is a small form posting to its own address; the ideas API's refusals come back in the GOV.UK error summary, and
success as a banner after a redirect."""

from typing import Annotated, Any
from urllib.parse import urlencode
from uuid import UUID

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from services.portal import review
from services.portal.clients import ApiRefused, ApiUnavailable
from services.portal.forms import Form
from services.portal.handlers import PortalHandlers, Session
from services.portal.http import Handlers, Posted, SignedIn, page

router = APIRouter(include_in_schema=False)


async def on_panel(session: SignedIn) -> Session:
    if not session.on_panel:
        raise ApiRefused(403, {"error": "Only reviewers and admins can use the review panel's pages."})
    return session


Panel = Annotated[Session, Depends(on_panel)]


@router.get("/review", response_class=HTMLResponse)
async def queue(request: Request, session: Panel, handlers: Handlers, cursor: str = "") -> HTMLResponse:
    try:
        found = await handlers.ideas.review_queue(session.access_token, cursor=cursor[:500] or None)
    except ApiRefused as refused:
        if refused.status != 422:
            raise
        raise ApiRefused(422, {"error": "That page of the queue does not exist. Start again from the review queue."}) from None
    next_page = f"/review?{urlencode({'cursor': found['next_cursor']})}" if found.get("next_cursor") else None
    return page(request, "panel_queue.html", ideas=review.queue_rows(found["items"]), next_page=next_page,
                first_page=not cursor)


@router.get("/review/ranking", response_class=HTMLResponse)
async def ranking(request: Request, session: Panel, handlers: Handlers) -> HTMLResponse:
    ranked = review.ranking(await handlers.ideas.ranking(session.access_token))
    return page(request, "panel_ranking.html", ranked=ranked, criteria=review.CRITERIA)


async def _review_page(request: Request, session: Session, handlers: PortalHandlers, idea_id: UUID, status: int = 200,
                       form: Form | None = None, **context: Any) -> HTMLResponse:
    idea = await handlers.ideas.idea(session.access_token, idea_id)
    me = handlers.pseudonym_of(session)
    try:
        reviews = await handlers.ideas.reviews(session.access_token, idea_id)
    except ApiRefused as refused:
        if refused.status != 404:
            raise
        reviews = None  # the ideas API does not give reviews (an older version): the page says so
    mine = handlers.is_submitter(session, idea)
    may = review.actions(idea, mine, reviewed=review.my_review(reviews or [], me) is not None)
    target = (idea.get("closure") or {}) if idea.get("status") == "merged" else {}
    merged_from = []  # the ideas merged into it, by title where this department has them
    for ref in (idea.get("merged_from") or [])[:50]:
        here = ref.get("department") == handlers.settings.department
        found = await handlers.ideas.idea_or_none(session.access_token, ref["idea_id"]) if here else None
        merged_from.append({"idea_id": ref["idea_id"], "department": ref.get("department", ""), "here": here,
                            "title": found["title"] if found else None})
    form = form or Form({})
    return page(request, "panel_idea.html", status, idea=idea, reviews=review.reviews_shown(reviews or [], me),
                reviews_known=reviews is not None, averages=review.averages(idea.get("scores")), may=may,
                criteria=review.CRITERIA, reasons=review.DECLINE_REASONS, values=form.values, errors=form.errors,
                merged_here=target.get("into_department") == handlers.settings.department, target=target,
                merged_from=merged_from,
                limit=review.TEXT_LIMIT, **context)


@router.get("/review/ideas/{idea_id}", response_class=HTMLResponse)
async def show(request: Request, idea_id: UUID, session: Panel, handlers: Handlers, done: str = "") -> HTMLResponse:
    return await _review_page(request, session, handlers, idea_id, banner=review.DONE.get(done))


async def _act(request: Request, session: Session, handlers: PortalHandlers, idea_id: UUID, form: Form,
               action: str, fields: tuple[str, ...], done: str) -> Response:
    """Sends the form's body to the ideas API as the person, then back to the idea's page with a banner; the form's
    errors or the API's refusal on the page otherwise (the form's own key names the form as a whole)."""
    if not form.errors:
        try:
            await handlers.ideas.decide(session.access_token, idea_id, "reviews" if action == "score" else action,
                                        form.body)
            return RedirectResponse(f"/review/ideas/{idea_id}?done={done}", 303)
        except ApiRefused as refused:
            if refused.status == 422:
                review.refused_fields(form, fields, refused.body.get("detail") or [], action)
            elif refused.status in (403, 409):
                form.errors[action] = review.refusal_message(refused.status, refused.body, action)
                return await _review_page(request, session, handlers, idea_id, refused.status, form)
            else:
                raise
    return await _review_page(request, session, handlers, idea_id, 400, form)


SCORE_FIELDS = (*(c.name for c in review.CRITERIA), "comment")


@router.post("/review/ideas/{idea_id}/score", response_class=HTMLResponse)
async def score(request: Request, idea_id: UUID, session: Panel, form: Posted, handlers: Handlers) -> Response:
    return await _act(request, session, handlers, idea_id, review.score_form(form), "score", SCORE_FIELDS, "scored")


@router.post("/review/ideas/{idea_id}/shortlist", response_class=HTMLResponse)
async def shortlist(request: Request, idea_id: UUID, session: Panel, form: Posted, handlers: Handlers) -> Response:
    return await _act(request, session, handlers, idea_id, review.shortlist_form(form), "shortlist",
                      ("shortlist_note",), "shortlisted")


@router.post("/review/ideas/{idea_id}/back", response_class=HTMLResponse)
async def back(request: Request, idea_id: UUID, session: Panel, form: Posted, handlers: Handlers) -> Response:
    return await _act(request, session, handlers, idea_id, review.back_form(form), "back",
                      ("budget_gbp", "staff_days", "timebox_weeks", "back_note"), "backed")


@router.post("/review/ideas/{idea_id}/decline", response_class=HTMLResponse)
async def decline(request: Request, idea_id: UUID, session: Panel, form: Posted, handlers: Handlers) -> Response:
    return await _act(request, session, handlers, idea_id, review.decline_form(form), "decline",
                      ("reason", "decline_note"), "declined")


async def _merge_page(request: Request, session: Session, handlers: PortalHandlers, idea_id: UUID,
                      search: Form, status: int = 200, errors: dict[str, str] | None = None,
                      chosen: review.Target | None = None) -> HTMLResponse:
    """The search for a merge target: this department's ideas (ideas API) and other departments' (central
    reporting's similar titles), as radios; or, once one is chosen, the confirmation."""
    idea = await handlers.ideas.idea(session.access_token, idea_id)
    if handlers.is_submitter(session, idea):
        raise ApiRefused(403, {"error": "You raised this idea, so you cannot merge it."})
    department = handlers.settings.department
    targets, reachable = [], True
    if search.values.get("q") and "q" not in search.errors and chosen is None:
        own = (await handlers.ideas.page(session.access_token, q=search.values["q"]))["items"]
        try:
            elsewhere = await handlers.reporting.similar_elsewhere(search.values["q"], department)
        except (ApiUnavailable, ApiRefused):
            elsewhere, reachable = [], False
        targets = review.merge_targets(str(idea_id), department, own, elsewhere)
    errors = {**search.errors, **(errors or {})}
    return page(request, "panel_merge.html", status, idea=idea, q=search.values.get("q", ""), targets=targets,
                searched=bool(search.values.get("q")) and "q" not in search.errors, reachable=reachable,
                errors=errors, chosen=chosen, here=department)


@router.get("/review/ideas/{idea_id}/merge", response_class=HTMLResponse)
async def merge_search(request: Request, idea_id: UUID, session: Panel, handlers: Handlers,
                       q: str | None = None) -> HTMLResponse:
    search = review.merge_search(q)
    return await _merge_page(request, session, handlers, idea_id, search, 400 if search.errors else 200)


@router.post("/review/ideas/{idea_id}/merge", response_class=HTMLResponse)
async def merge(request: Request, idea_id: UUID, session: Panel, form: Posted, handlers: Handlers) -> Response:
    """Two steps: the chosen target is confirmed (its title read again where it is this department's), then sent."""
    department = handlers.settings.department
    choice = review.merge_choice(form, str(idea_id), department)
    search = review.merge_search(choice.values["q"] or None)
    if choice.errors:
        return await _merge_page(request, session, handlers, idea_id, search, 400, choice.errors)
    into, title = choice.body, None
    if into["into_department"] == department:
        found = await handlers.ideas.idea_or_none(session.access_token, UUID(into["into_idea_id"]))
        if found is None:
            return await _merge_page(request, session, handlers, idea_id, search, 400,
                                     {"target": "That idea does not exist: choose another"})
        title = found["title"]
    elif search.values["q"] and not search.errors:  # its title as central reporting gave it for the same words
        try:
            title = next((t["title"] for t in await handlers.reporting.similar_elsewhere(search.values["q"], department)
                          if str(t.get("idea_id")) == into["into_idea_id"] and t.get("department") == into["into_department"]),
                         None)
        except (ApiUnavailable, ApiRefused):
            pass
    chosen = review.Target(into["into_department"], into["into_idea_id"], title or "An idea", "",
                           into["into_department"] == department)
    if form.get("step") != "confirm":
        return await _merge_page(request, session, handlers, idea_id, search, chosen=chosen)
    try:
        await handlers.ideas.decide(session.access_token, idea_id, "merge", into)
    except ApiUnavailable:
        if chosen.here:
            raise
        # the ideas API checks another department's idea with central reporting, which did not answer
        return await _merge_page(request, session, handlers, idea_id, search, 503, {
            "target": f"{chosen.department.upper()}'s ideas cannot be checked at the moment: try again later"})
    except ApiRefused as refused:
        if refused.status not in (403, 404, 409, 422):
            raise
        message = ("That idea does not exist, or is not known yet: choose another" if refused.status in (404, 422)
                   else review.refusal_message(refused.status, refused.body, "merge"))
        return await _merge_page(request, session, handlers, idea_id, search,
                                 400 if refused.status == 422 else refused.status, {"target": message})
    return RedirectResponse(f"/review/ideas/{idea_id}?done=merged", 303)
