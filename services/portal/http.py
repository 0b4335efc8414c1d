"""The portal's pages: server-rendered GOV.UK pages (Jinja2 autoescapes every value, so free text is shown as
text), a session cookie holding only a random id, a CSRF token in every form checked on every POST, and
security headers on every answer (a Content-Security-Policy without inline script)."""

from __future__ import annotations

import asyncio
from datetime import date
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qs, quote, urlencode, urlsplit
from uuid import UUID

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, select_autoescape

from services.portal import story
from services.portal.clients import ApiRefused, ApiUnavailable
from services.portal.forms import LABELS, idea_form, refused_fields
from services.portal.handlers import PortalHandlers, Session, TooManyIdeas
from services.portal.oidc import SignInFailed
from shared.logging import get_logger
from shared.runtime import runtime_of
from shared.tokens import ProviderUnavailable

HERE = Path(__file__).parent
GOVUK_DIST = HERE / "frontend" / "node_modules" / "govuk-frontend" / "dist" / "govuk"
COOKIE = "portal_session"
MAX_FORM_BYTES = 32 * 1024

templates = Environment(loader=FileSystemLoader(HERE / "templates"),
                        autoescape=select_autoescape(default=True, default_for_string=True),
                        trim_blocks=True, lstrip_blocks=True)

templates.globals.update(result_labels=story.RESULTS, recommendation_labels=story.RECOMMENDATIONS)
templates.filters["day"] = story.long_day

router = APIRouter(include_in_schema=False)
log = get_logger(__name__)


class SignInRequired(Exception):
    def __init__(self, path: str) -> None:
        self.path = path


class CsrfRefused(Exception):
    pass


class FormTooLarge(Exception):
    pass


def handlers(request: Request) -> PortalHandlers:
    return runtime_of(request).handlers


Handlers = Annotated[PortalHandlers, Depends(handlers)]


async def current(request: Request, handlers: Handlers) -> Session | None:
    if not hasattr(request.state, "session"):
        request.state.session = await handlers.session(request.cookies.get(COOKIE))
    return request.state.session


async def signed_in(request: Request, session: Annotated[Session | None, Depends(current)]) -> Session:
    if session is None or not session.signed_in:
        raise SignInRequired(request.url.path + (f"?{request.url.query}" if request.url.query else ""))
    return session


async def posted(request: Request, session: Annotated[Session | None, Depends(current)]) -> dict[str, str]:
    """The form's fields, once its CSRF token is the session's (403 otherwise, signed in or not)."""
    raw = await request.body()
    if len(raw) > MAX_FORM_BYTES:
        raise FormTooLarge()
    parsed = parse_qs(raw.decode("utf-8", "replace"), keep_blank_values=True)
    request.state.email_types = parsed.get("event_types", [])  # the one field with many values (checkboxes)
    fields = {name: values[0] for name, values in parsed.items()}
    if session is None or not session.csrf_matches(fields.pop("csrf_token", None)):
        raise CsrfRefused()
    return fields


Current = Annotated[Session | None, Depends(current)]
SignedIn = Annotated[Session, Depends(signed_in)]
Posted = Annotated[dict[str, str], Depends(posted)]


def page(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
    session = getattr(request.state, "session", None)
    settings = runtime_of(request).settings
    html = templates.get_template(name).render(session=session, department=settings.department.upper(),
                                               styles=GOVUK_DIST.is_dir(), **context)
    return HTMLResponse(html, status)


def _cookie(response: Response, request: Request, value: str) -> None:
    settings = runtime_of(request).settings
    response.set_cookie(COOKIE, value, max_age=settings.session_lifetime_seconds, path="/", httponly=True,
                        samesite="lax", secure=settings.secure_cookies)


@router.get("/", response_class=HTMLResponse)
async def home(request: Request, session: Current, handlers: Handlers) -> HTMLResponse:
    if session is None or not session.signed_in:
        return page(request, "start.html")
    mine = (await handlers.ideas.page(session.access_token, mine=True))["items"]
    endorsed = (await handlers.ideas.page(session.access_token, endorsed=True))["items"]
    last_visit = await handlers.visit(session)
    updated = {idea["idea_id"] for idea in mine + endorsed if story.updated_since(idea, last_visit)}
    return page(request, "home.html", mine=mine, endorsed=endorsed, updated=updated, last_visit=last_visit)


@router.get("/auth/sign-in")
async def sign_in(request: Request, handlers: Handlers, return_to: str = "/") -> Response:
    cookie, url = await handlers.start_sign_in(return_to)
    response = RedirectResponse(url, 303)
    _cookie(response, request, cookie)
    return response


@router.get("/auth/callback")
async def callback(request: Request, handlers: Handlers, state: str | None = None, code: str | None = None,
                   error: str | None = None) -> Response:
    if error:
        raise SignInFailed(f"the provider refused the sign-in ({error[:100]})")
    cookie, return_to = await handlers.finish_sign_in(request.cookies.get(COOKIE), state, code)
    await record_address(handlers, cookie)
    response = RedirectResponse(return_to, 303)
    _cookie(response, request, cookie)
    return response


@router.post("/auth/sign-out")
async def sign_out(request: Request, session: SignedIn, form: Posted, handlers: Handlers) -> Response:
    response = RedirectResponse(await handlers.sign_out(session), 303)
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="lax",
                           secure=runtime_of(request).settings.secure_cookies)
    return response


@router.get("/signed-out", response_class=HTMLResponse)
async def signed_out(request: Request) -> HTMLResponse:
    return page(request, "signed_out.html")


@router.get("/ideas", response_class=HTMLResponse)
async def find_ideas(request: Request, session: SignedIn, handlers: Handlers) -> HTMLResponse:
    search = story.search_form(dict(request.query_params))
    found = {"items": [], "next_cursor": None}
    if not search.errors:
        try:
            found = await handlers.ideas.page(session.access_token, **search.filters())
        except ApiRefused as refused:
            if refused.status != 422:
                raise
            search.errors["q"] = "Those filters could not be used: check them and try again"
    return page(request, "ideas.html", 400 if search.errors else 200, search=search, errors=search.errors,
                ideas=found["items"], statuses=story.STATUSES, next_page=search.next_page("/ideas", found["next_cursor"]))


@router.get("/ideas/new", response_class=HTMLResponse)
async def new_idea(request: Request, session: SignedIn, conversation_id: UUID | None = None,
                   team: str = "") -> HTMLResponse:
    form = idea_form({"team": team[:200]})
    return page(request, "raise.html", form=form, labels=LABELS, conversation_id=conversation_id)


@router.post("/ideas/new", response_class=HTMLResponse)
async def raise_idea(request: Request, session: SignedIn, form: Posted, handlers: Handlers) -> Response:
    """Two steps: the form, then "has this been tried?" (similar ideas from every department), then sent."""
    idea = idea_form(form)
    conversation_id = _uuid(form.get("conversation_id"))
    if not idea.errors and form.get("step") == "send":
        try:
            body = idea.body() | ({"conversation_id": str(conversation_id)} if conversation_id else {})
            made = await handlers.raise_idea(session, body)
            return RedirectResponse(f"/ideas/{made['idea_id']}?raised=1", 303)
        except ApiRefused as refused:
            if refused.status != 422:
                raise
            refused_fields(idea, refused.body.get("detail") or [])
    if not idea.errors and form.get("step") != "change":
        title = idea.values["title"].strip()
        try:
            similar = await handlers.reporting.similar(title)
            tried = await handlers.reporting.outcomes(q=story.any_of_words(title), limit=5)
            reachable = True
        except (ApiUnavailable, ApiRefused):
            similar, tried, reachable = [], {"items": []}, False
        return page(request, "check.html", form=idea, labels=LABELS, similar=similar, outcomes=tried["items"],
                    reachable=reachable, conversation_id=conversation_id)
    return page(request, "raise.html", 400 if idea.errors else 200, form=idea, labels=LABELS,
                conversation_id=conversation_id)


def _uuid(value: str | None) -> UUID | None:
    try:
        return UUID(value) if value else None
    except ValueError:
        return None


@router.get("/outcomes", response_class=HTMLResponse)
async def outcomes_library(request: Request, session: SignedIn, handlers: Handlers) -> HTMLResponse:
    """Every department's recorded outcomes (central reporting), by theme, result, recommendation and words."""
    search = story.library_form(dict(request.query_params))
    found, reachable = {"items": [], "next_cursor": None}, True
    if not search.errors:
        try:
            found = await handlers.reporting.outcomes(**search.filters())
        except ApiUnavailable:
            reachable = False
        except ApiRefused as refused:
            if refused.status != 422:
                raise
            search.errors["q"] = "Those filters could not be used: check them and try again"
    return page(request, "outcomes.html", 400 if search.errors else 200, search=search, errors=search.errors,
                outcomes=found["items"], reachable=reachable, next_page=search.next_page("/outcomes", found["next_cursor"]))


async def _outcome_page(request: Request, session: Session, handlers: PortalHandlers, department: str,
                        outcome_id: UUID, status: int = 200, errors: dict[str, str] | None = None,
                        **context: Any) -> HTMLResponse:
    if not story.SLUG.match(department) or len(department) > 20:
        raise ApiRefused(404, {"error": "There is no such outcome."})
    outcome = await handlers.reporting.outcome(department, outcome_id)
    if outcome is None:
        raise ApiRefused(404, {"error": "There is no such outcome, or central reporting has not seen it yet."})
    own = handlers.settings.department
    adopted = any(a["department"] == own for a in outcome["adopted_by"])
    return page(request, "outcome.html", status, outcome=outcome, adopted_here=adopted,
                can_adopt=session.on_panel and department != own and not adopted, errors=errors or {}, **context)


@router.get("/outcomes/{department}/{outcome_id}", response_class=HTMLResponse)
async def show_outcome(request: Request, department: str, outcome_id: UUID, session: SignedIn,
                       handlers: Handlers, adopted: str = "") -> HTMLResponse:
    banner = f"{handlers.settings.department.upper()} has adopted this outcome" if adopted else None
    return await _outcome_page(request, session, handlers, department, outcome_id, banner=banner)


@router.post("/outcomes/{department}/{outcome_id}/adopt", response_class=HTMLResponse)
async def adopt(request: Request, department: str, outcome_id: UUID, session: SignedIn, form: Posted,
                handlers: Handlers) -> Response:
    """A reviewer or admin adopts another department's outcome for theirs, in one step (the experiments API
    checks the role, that the outcome is known and that it is not adopted twice)."""
    note = form.get("note", "").strip()
    if len(note) > 2000:
        return await _outcome_page(request, session, handlers, department, outcome_id, 400,
                                   errors={"note": "Note must be 2000 characters or fewer"}, note=note)
    try:
        await handlers.experiments.adopt(session.access_token, department, outcome_id, note)
    except ApiRefused as refused:
        if refused.status == 403:
            raise ApiRefused(403, {"error": "Only reviewers and admins can adopt an outcome for the department."}) from None
        if refused.status not in (404, 409, 422):
            raise
        message = {404: "This outcome has not reached your department's experiments service yet. Try again in a minute.",
                   409: "Your department has already adopted this outcome."}.get(
            refused.status, str(refused.body.get("error", "This outcome cannot be adopted")))
        return await _outcome_page(request, session, handlers, department, outcome_id, refused.status,
                                   errors={"note": message}, note=note)
    return RedirectResponse(f"/outcomes/{department}/{outcome_id}?adopted=1", 303)


async def _idea_page(request: Request, session: Session, handlers: PortalHandlers, idea_id: UUID, status: int = 200,
                     **context: Any) -> HTMLResponse:
    idea = await handlers.ideas.idea(session.access_token, idea_id)
    experiment = await handlers.experiment_of(session, idea)
    outcomes = await handlers.outcomes_of(idea, experiment)
    mine = handlers.is_submitter(session, idea)
    return page(request, "idea.html", status, idea=idea, steps=story.timeline(idea, experiment, outcomes),
                experiment=experiment, outcomes=outcomes, mine=mine,
                can_withdraw=mine and idea["status"] in ("submitted", "shortlisted"), **context)


@router.get("/ideas/{idea_id}", response_class=HTMLResponse)
async def show_idea(request: Request, idea_id: UUID, session: SignedIn, handlers: Handlers, raised: str = "",
                    endorsed: str = "", withdrawn: str = "") -> HTMLResponse:
    banner = ("Your idea has been sent" if raised else "You have endorsed this idea" if endorsed
              else "Your idea has been withdrawn" if withdrawn else None)
    return await _idea_page(request, session, handlers, idea_id, banner=banner)


@router.post("/ideas/{idea_id}/endorse", response_class=HTMLResponse)
async def endorse(request: Request, idea_id: UUID, session: SignedIn, form: Posted, handlers: Handlers) -> Response:
    try:
        await handlers.ideas.endorse(session.access_token, idea_id)
    except ApiRefused as refused:
        if refused.status != 409:
            raise
        message = ("You have already endorsed this idea" if "already endorsed" in str(refused.body)
                   else "You cannot endorse this idea now")
        return await _idea_page(request, session, handlers, idea_id, 409, problem=message)
    return RedirectResponse(f"/ideas/{idea_id}?endorsed=1", 303)


@router.get("/ideas/{idea_id}/withdraw", response_class=HTMLResponse)
async def confirm_withdraw(request: Request, idea_id: UUID, session: SignedIn, handlers: Handlers) -> HTMLResponse:
    idea = await handlers.ideas.idea(session.access_token, idea_id)
    if not handlers.is_submitter(session, idea):
        raise ApiRefused(403, {"error": "Only the person who raised an idea can withdraw it."})
    return page(request, "withdraw.html", idea=idea)


@router.post("/ideas/{idea_id}/withdraw", response_class=HTMLResponse)
async def withdraw(request: Request, idea_id: UUID, session: SignedIn, form: Posted, handlers: Handlers) -> Response:
    try:
        await handlers.ideas.withdraw(session.access_token, idea_id)
    except ApiRefused as refused:
        if refused.status == 409:
            return await _idea_page(request, session, handlers, idea_id, 409,
                                    problem="This idea can no longer be withdrawn")
        if refused.status == 403:
            raise ApiRefused(403, {"error": "Only the person who raised an idea can withdraw it."}) from None
        raise
    return RedirectResponse(f"/ideas/{idea_id}?withdrawn=1", 303)


@router.get("/conversations/new", response_class=HTMLResponse)
async def new_conversation(request: Request, session: SignedIn) -> HTMLResponse:
    return page(request, "conversation.html", form=story.conversation_form({}, date.today()), errors={})


@router.post("/conversations/new", response_class=HTMLResponse)
async def record_conversation(request: Request, session: SignedIn, form: Posted, handlers: Handlers) -> Response:
    conversation = story.conversation_form(form, date.today())
    if not conversation.errors:
        body = conversation.body()
        try:
            await handlers.ideas.record_conversation(session.access_token, body)
            query = urlencode({"conversation_id": body["conversation_id"], "team": body["team"]})
            return RedirectResponse(f"/conversations/recorded?{query}", 303)
        except ApiRefused as refused:
            if refused.status != 422:
                raise
            for item in refused.body.get("detail") or []:
                name = "held_on" if str(item.get("field", "")).startswith("held_on") else str(item.get("field", "team"))
                conversation.errors.setdefault(name if name in ("team", "held_on", "participants", "ideas_raised")
                                               else "team", f"Check this answer: {item.get('message', item.get('rule'))}")
    return page(request, "conversation.html", 400, form=conversation, errors=conversation.errors)


@router.get("/conversations/recorded", response_class=HTMLResponse)
async def conversation_recorded(request: Request, session: SignedIn, conversation_id: UUID, team: str = "") -> HTMLResponse:
    raise_from = f"/ideas/new?{urlencode({'conversation_id': str(conversation_id), 'team': team[:200]})}"
    return page(request, "recorded.html", team=team[:200], raise_from=raise_from)


@router.get("/account/emails", response_class=HTMLResponse)
async def emails(request: Request, session: SignedIn, handlers: Handlers, saved: str = "",
                 stopped: str = "") -> HTMLResponse:
    subscription = await handlers.notifications.subscription(session.access_token, session.subject)
    banner = ("Your email choices have been saved" if saved
              else "You will get no more emails from us. You can choose some again here at any time" if stopped else None)
    return _emails_page(request, session, story.chosen_emails(subscription), subscription, banner=banner)


def _emails_page(request: Request, session: Session, choices: story.EmailChoices, subscription: dict[str, Any] | None,
                 status: int = 200, banner: str | None = None) -> HTMLResponse:
    return page(request, "emails.html", status, choices=choices, errors=choices.errors, banner=banner,
                kinds=story.email_kinds(session.on_panel), rhythms=story.RHYTHMS, news=story.NEWS,
                refused_at=(subscription or {}).get("email_refused_at"))


@router.post("/account/emails", response_class=HTMLResponse)
async def choose_emails(request: Request, session: SignedIn, form: Posted, handlers: Handlers) -> Response:
    """Each kind's rhythm and the department's news, saved as the person's subscription at their account's address."""
    stored = await handlers.notifications.subscription(session.access_token, session.subject)
    choices = story.email_choices(form, request.state.email_types, session.on_panel, stored)
    return await _save_emails(request, session, handlers, choices, stored, "/account/emails?saved=1")


@router.post("/account/emails/stop", response_class=HTMLResponse)
async def stop_emails(request: Request, session: SignedIn, form: Posted, handlers: Handlers) -> Response:
    """Every kind never. The address stays (DELETE forgets it, for leaving the department: not offered here)."""
    stored = await handlers.notifications.subscription(session.access_token, session.subject)
    return await _save_emails(request, session, handlers, story.no_emails(stored), stored,
                              "/account/emails?stopped=1")


async def _save_emails(request: Request, session: Session, handlers: PortalHandlers, choices: story.EmailChoices,
                       stored: dict[str, Any] | None, done: str) -> Response:
    if not session.email:
        return page(request, "problem.html", 400, title="We do not know your email address",
                    message="Your work account has no email address, so we cannot send you emails.")
    if not choices.errors:
        body = choices.body(session.email, story.email_name(session.display_name), session.on_panel)
        try:
            await handlers.notifications.subscribe(session.access_token, session.subject, body)
            return RedirectResponse(done, 303)
        except ApiRefused as refused:
            if refused.status != 422:
                raise
            story.refused_emails(choices, refused.body)
    return _emails_page(request, session, choices, stored, 400 if choices.errors else 200)


SIGN_IN_EMAILS_SECONDS = 5.0  # how long a sign-in waits for the notifications service at most


async def record_address(handlers: PortalHandlers, cookie: str) -> None:
    """At sign-in: a person with an email address and no subscription yet gets one with the notifications
    service's defaults, so they hear about their own ideas without visiting the emails page (If-None-Match: *).
    One that exists keeps the person's choices; only a new address or role from the provider is written to it.
    The notifications API failing or being slow never stops a sign-in."""
    session = await handlers.session(cookie)
    if session is None or not session.signed_in or not session.email:
        return
    try:
        await asyncio.wait_for(_record_address(handlers, session), SIGN_IN_EMAILS_SECONDS)
    except (ApiRefused, ApiUnavailable, TimeoutError) as failure:
        log.warning("portal.address_not_recorded", error=str(failure)[:200] or type(failure).__name__)


async def _record_address(handlers: PortalHandlers, session: Session) -> None:
    api, name = handlers.notifications, story.email_name(session.display_name)
    made = await api.record_address(session.access_token, session.subject,
                                    story.first_subscription(session.email, name, session.on_panel))
    stored = None if made else await api.subscription(session.access_token, session.subject)
    update = story.address_update(stored, session.email, name, session.on_panel) if stored else None
    if update:
        await api.subscribe(session.access_token, session.subject, update)


CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
       "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self' {provider}")


def install(app: FastAPI, provider_url: str) -> None:
    """The static assets, the pages' error answers and the security headers."""
    app.mount("/assets", StaticFiles(directory=GOVUK_DIST / "assets", check_dir=False), name="govuk-assets")
    app.mount("/static/govuk", StaticFiles(directory=GOVUK_DIST, check_dir=False), name="govuk")
    app.mount("/static/portal", StaticFiles(directory=HERE / "static"), name="portal-static")
    # Signing out ends in a redirect to the provider, which form-action must allow.
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(provider_url))
    csp = CSP.format(provider=origin)

    @app.middleware("http")
    async def security_headers(request: Request, call_next):
        response = await call_next(request)
        response.headers["Content-Security-Policy"] = csp
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Referrer-Policy"] = "same-origin"
        if not request.url.path.startswith(("/static/", "/assets/")):
            response.headers["Cache-Control"] = "no-store"
        return response

    @app.exception_handler(SignInRequired)
    async def _sign_in(request: Request, exc: SignInRequired) -> Response:
        return RedirectResponse(f"/auth/sign-in?return_to={quote(exc.path, safe='')}", 303)

    @app.exception_handler(CsrfRefused)
    async def _csrf(request: Request, exc: CsrfRefused) -> Response:
        return page(request, "problem.html", 403, title="This form has expired",
                    message="Go back, reload the page and try again.")

    @app.exception_handler(FormTooLarge)
    async def _too_large(request: Request, exc: FormTooLarge) -> Response:
        return page(request, "problem.html", 413, title="What you sent is too long",
                    message=f"A form can hold up to {MAX_FORM_BYTES // 1024} KB. Go back, shorten it and try again.")

    @app.exception_handler(TooManyIdeas)
    async def _too_many(request: Request, exc: TooManyIdeas) -> Response:
        limit = runtime_of(request).settings.ideas_per_minute
        return page(request, "problem.html", 429, title="You have raised a lot of ideas in the last minute",
                    message=f"You can raise up to {limit} ideas a minute. Wait a minute, then try again.")

    @app.exception_handler(RequestValidationError)
    async def _no_such_page(request: Request, exc: RequestValidationError) -> Response:
        # A malformed address (an id that is not one): a page, not the APIs' JSON.
        return page(request, "problem.html", 404, title="Page not found",
                    message="If you typed the web address, check it is correct.")

    @app.exception_handler(SignInFailed)
    async def _sign_in_failed(request: Request, exc: SignInFailed) -> Response:
        return page(request, "problem.html", 400, title="You could not be signed in",
                    message="Something went wrong while signing you in. Try signing in again.", sign_in=True)

    @app.exception_handler(ApiRefused)
    async def _refused(request: Request, exc: ApiRefused) -> Response:
        session = getattr(request.state, "session", None)
        if exc.status == 401 and session is not None:
            # The API refuses the person's token (revoked, or the provider's keys changed): sign in afresh.
            await runtime_of(request).handlers.forget(session)
            return await _sign_in(request, SignInRequired(request.url.path))
        titles = {404: "Page not found", 403: "You cannot do this", 401: "You need to sign in again"}
        return page(request, "problem.html", exc.status if exc.status in titles else 400,
                    title=titles.get(exc.status, "That could not be done"), message=str(exc.body.get("error", "")))

    @app.exception_handler(ApiUnavailable)
    @app.exception_handler(ProviderUnavailable)
    async def _unavailable(request: Request, exc: Exception) -> Response:
        return page(request, "problem.html", 503, title="Sorry, there is a problem with the service",
                    message="Try again later.")
