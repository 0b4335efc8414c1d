"""The squad's pages: the department's experiments, planning, starting, measuring, rescheduling, closing.

Each action is its own page and form posting to its own address, sent to the experiments API as the person (which
enforces roles and states); its 422 comes back in the GOV.UK error summary and inline, its 409 (the state moved on)
and 403 (only reviewers and admins abandon) as a problem page, and success as a banner after a redirect."""

import asyncio
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable
from uuid import UUID

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from services.portal import experiment as ex
from services.portal.clients import ApiRefused, ApiUnavailable
from services.portal.handlers import PortalHandlers, Session
from services.portal.http import Handlers, Posted, SignedIn, page

router = APIRouter(include_in_schema=False)


def _today():
    # The experiments service's clock is UTC's date too.
    return datetime.now(timezone.utc).date()


async def _titles(handlers: PortalHandlers, session: Session, experiments: list[dict[str, Any]]) -> dict[str, str]:
    """The ideas' titles, a page's worth at once; an idea that cannot be read is left out (the page says
    "An idea's experiment")."""
    ids = list(dict.fromkeys(str(e["idea_id"]) for e in experiments if e.get("idea_id")))
    found = await asyncio.gather(*(handlers.ideas.idea(session.access_token, UUID(i)) for i in ids),
                                 return_exceptions=True)
    return {i: str(idea.get("title", "")) for i, idea in zip(ids, found) if isinstance(idea, dict)}


@router.get("/experiments", response_class=HTMLResponse)
async def experiments(request: Request, session: SignedIn, handlers: Handlers, status: str = "",
                      cursor: str = "") -> HTMLResponse:
    status, errors = status.strip(), {}
    if status and status not in ex.STATUSES:
        errors["status"] = "Choose a status from the list"
    found: dict[str, Any] = {"items": [], "next_cursor": None}
    if not errors:
        try:
            found = await handlers.experiments.page(session.access_token, status=status or None,
                                                    cursor=cursor[:500] or None)
        except ApiRefused as refused:
            if refused.status != 422:
                raise
            errors["status"] = "That page of experiments does not exist: start again from the first page"
    next_page = ex.next_page(status, found.get("next_cursor"))
    rows = ex.rows(found["items"], await _titles(handlers, session, found["items"]), _today())
    return page(request, "squad_list.html", 400 if errors else 200, rows=rows, errors=errors, chosen=status,
                statuses=ex.STATUSES, next_page=next_page, first_page=not cursor)


async def _experiment(handlers: PortalHandlers, session: Session, experiment_id: UUID) -> dict[str, Any]:
    found = await handlers.experiments.experiment(session.access_token, experiment_id)
    if found is None:
        raise ApiRefused(404, {"error": "There is no such experiment in your department."})
    return found


async def _idea_title(handlers: PortalHandlers, session: Session, experiment: dict[str, Any]) -> str:
    try:
        return str((await handlers.ideas.idea(session.access_token, UUID(str(experiment["idea_id"]))))["title"])
    except (ApiRefused, ApiUnavailable, KeyError, ValueError):
        return ""


@router.get("/experiments/{experiment_id}", response_class=HTMLResponse)
async def show(request: Request, experiment_id: UUID, session: SignedIn, handlers: Handlers,
               done: str = "") -> HTMLResponse:
    experiment = await _experiment(handlers, session, experiment_id)
    me, today = handlers.pseudonym_of(session), _today()
    return page(request, "squad_experiment.html", experiment=experiment,
                title=await _idea_title(handlers, session, experiment), chart=ex.chart(experiment, today),
                measurements=ex.measurements(experiment, me), history=ex.history(experiment, me),
                may=ex.actions(experiment, session.on_panel, session.role), overdue=ex.is_overdue(experiment, today),
                banner=ex.DONE.get(done), results=ex.RESULTS, recommendations=ex.RECOMMENDATIONS,
                directions=ex.DIRECTIONS, money=ex.money, value_text=ex.value_text)


@dataclass(frozen=True)
class Action:
    """One of the squad's actions: its page, its form's fields, its banner, whether the experiment allows it, and
    its form from the posted fields (given the experiment)."""

    template: str
    fields: tuple[str, ...]
    done: str
    allowed: Callable[[ex.Actions], bool]
    form: Callable[[dict[str, str], dict[str, Any]], ex.SquadForm]


ACTIONS = {
    "plan": Action("squad_plan.html", ex.PLAN_FIELDS, "planned", lambda may: may.plan,
                   lambda posted, e: ex.plan_form(posted, int(e.get("timebox_weeks") or 1))),
    "start": Action("squad_start.html", (), "started", lambda may: may.start, lambda posted, e: ex.SquadForm({})),
    "measurements": Action("squad_measure.html", ("measured_on", "value", "note"), "measured", lambda may: may.measure,
                           lambda posted, e: ex.measurement_form(posted, ex.as_day(e.get("started_on")), _today())),
    "reschedule": Action("squad_reschedule.html", ("ends_on", "reason"), "rescheduled", lambda may: may.reschedule,
                         lambda posted, e: ex.reschedule_form(posted, ex.as_day(e.get("starts_on")),
                                                              ex.as_day(e.get("ends_on")))),
    "complete": Action("squad_complete.html", ("result", "summary", "learnings", "cash_savings_gbp_per_year",
                                               "hours_saved_per_year", "people_affected", "recommendation"),
                       "completed", lambda may: may.complete, lambda posted, e: ex.complete_form(posted)),
    "abandon": Action("squad_abandon.html", ("reason",), "abandoned", lambda may: may.abandon,
                      lambda posted, e: ex.abandon_form(posted)),
}


def _problem(request: Request, experiment: dict[str, Any], status: int, message: str) -> HTMLResponse:
    title = "You cannot do this" if status == 403 else "This cannot be done now"
    return page(request, "squad_problem.html", status, title=title, message=message, experiment=experiment)


async def _form_page(request: Request, session: Session, handlers: PortalHandlers, experiment: dict[str, Any],
                     action: str, form: ex.SquadForm, status: int = 200) -> HTMLResponse:
    return page(request, ACTIONS[action].template, status, experiment=experiment,
                title=await _idea_title(handlers, session, experiment), values=form.values, errors=form.errors,
                anchors=form.anchors, directions=ex.DIRECTIONS, results=ex.RESULTS,
                recommendations=ex.RECOMMENDATIONS, money=ex.money, value_text=ex.value_text)


def _not_now(request: Request, experiment: dict[str, Any], action: str, session: Session) -> HTMLResponse | None:
    """The action's page only while the experiment allows it (and abandoning for reviewers and admins only)."""
    if action == "abandon" and not session.on_panel:
        return _problem(request, experiment, 403, ex.refusal_message(403, {}, "abandon"))
    if not ACTIONS[action].allowed(ex.actions(experiment, session.on_panel, session.role)):
        if session.role == "viewer":
            return _problem(request, experiment, 403, "Viewers can read experiments but not change them.")
        return _problem(request, experiment, 409, ex.not_allowed(experiment, action))
    return None


async def _show_form(request: Request, experiment_id: UUID, session: Session, handlers: PortalHandlers,
                     action: str) -> HTMLResponse:
    experiment = await _experiment(handlers, session, experiment_id)
    refused = _not_now(request, experiment, action, session)
    if refused is not None:
        return refused
    values = ex.plan_values(experiment) if action == "plan" else {}
    return await _form_page(request, session, handlers, experiment, action, ex.SquadForm(values))


async def _post(request: Request, experiment_id: UUID, session: Session, handlers: PortalHandlers, action: str,
                posted: dict[str, str]) -> Response:
    """The form checked here first, then sent as the person; back to the experiment with a banner."""
    experiment = await _experiment(handlers, session, experiment_id)
    spec = ACTIONS[action]
    form = spec.form(posted, experiment)
    if not form.errors:
        try:
            await handlers.experiments.act(session.access_token, experiment_id, action,
                                           form.body if action != "start" else None)
            return RedirectResponse(f"/experiments/{experiment_id}?done={spec.done}", 303)
        except ApiRefused as refused:
            if refused.status == 422:
                ex.refused_fields(form, spec.fields, refused.body.get("detail") or [], action)
            elif refused.status in (403, 409):
                return _problem(request, experiment, refused.status,
                                ex.refusal_message(refused.status, refused.body, action))
            else:
                raise
    return await _form_page(request, session, handlers, experiment, action, form, 400)


def _routes(action: str, path: str) -> None:
    async def show_form(request: Request, experiment_id: UUID, session: SignedIn, handlers: Handlers) -> HTMLResponse:
        return await _show_form(request, experiment_id, session, handlers, action)

    async def post(request: Request, experiment_id: UUID, session: SignedIn, form: Posted,
                   handlers: Handlers) -> Response:
        return await _post(request, experiment_id, session, handlers, action, form)

    router.add_api_route(f"/experiments/{{experiment_id}}/{path}", show_form, methods=["GET"],
                         response_class=HTMLResponse, name=f"squad_{action}_page")
    router.add_api_route(f"/experiments/{{experiment_id}}/{path}", post, methods=["POST"],
                         response_class=HTMLResponse, name=f"squad_{action}")


for _action in ACTIONS:
    _routes(_action, _action)
