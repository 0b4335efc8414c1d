"""The dashboard at `GET /`: server-rendered (works without JavaScript), GOV.UK Design System look.

Everything shown comes from the same read as `/v1/summary` (reads.summary_of), so the page and the
API cannot disagree. Jinja2 autoescapes everything it prints.
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, select_autoescape

from services.reporting import figures
from services.reporting.reads import reader, reading, summary_of
from shared.runtime import runtime_of

HERE = Path(__file__).parent
GOVUK_DIST = HERE / "frontend" / "node_modules" / "govuk-frontend" / "dist" / "govuk"

templates = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)


def _number(value: Any, places: int = 0) -> str:
    if value is None:
        return "–"
    return f"{value:,.{places}f}"


def _money(value: Any) -> str:
    return "£" + _number(value)


def _when(value: datetime | None) -> str:
    if value is None:
        return "never"
    return value.astimezone(timezone.utc).strftime("%-d %B %Y, %H:%M UTC")


def _week(value: date) -> str:
    return value.strftime("%-d %b %Y")


templates.filters.update(number=_number, money=_money, when=_when, week=_week)

router = APIRouter(include_in_schema=False, dependencies=[Depends(reader)])

CHART_WEEKS = 12


def chart(weeks: list[dict[str, Any]], metric: str, width: int = 600, height: int = 160) -> dict[str, Any]:
    """Bar geometry of one weekly metric for the inline SVG (the table beside it carries the same numbers)."""
    shown = weeks[-CHART_WEEKS:]
    top = max((w[metric] for w in shown), default=0) or 1
    slot = width / max(len(shown), 1)
    bars = []
    for i, w in enumerate(shown):
        h = round(w[metric] / top * (height - 20), 1)
        bars.append({"x": round(i * slot + slot * 0.15, 1), "y": round(height - h, 1), "w": round(slot * 0.7, 1),
                     "h": h, "value": w[metric], "label": _week(w["week"])})
    return {"width": width, "height": height, "bars": bars, "top": top}


@router.get("/", response_class=HTMLResponse)
async def dashboard(
    request: Request,
    q: Annotated[str, Query(max_length=200)] = "",
    similar: Annotated[str, Query(max_length=200)] = "",
) -> HTMLResponse:
    async with reading(request) as conn:
        data = await summary_of(conn)
        weeks = await figures.timeseries(conn)
        learnings = await figures.search_learnings(conn, q.strip(), 10)
        themes = (await figures.themes(conn))[:10]
        recent = await figures.recent_ideas(conn, 5)
        similar_ideas = await figures.similar_ideas(conn, similar.strip(), 10, None) if len(similar.strip()) >= 3 else []
    raised = data["figures"]["funnel"]["raised"] or 0
    html = templates.get_template("dashboard.html").render(
        f=data["figures"],
        departments=[(d, data["department_figures"][d]) for d in data["departments"]],
        links=data["adoption_links"],
        campaigns=data["campaigns"][:10],
        themes=themes,
        recent=recent,
        weeks=weeks[-CHART_WEEKS:],
        metrics=figures.TIMESERIES_METRICS,
        chart=chart(weeks, "ideas_raised"),
        stages=figures.FUNNEL_STAGES,
        raised=raised,
        q=q,
        learnings=learnings,
        similar=similar,
        similar_ideas=similar_ideas,
        refresh_seconds=runtime_of(request).settings.dashboard_refresh_seconds,
        simulated=runtime_of(request).settings.simulated(),
        styles=(GOVUK_DIST / "govuk-frontend.min.css").exists(),
    )
    return HTMLResponse(html)


def mount_assets(app: FastAPI) -> None:
    """GOV.UK Frontend's CSS, fonts and images (from npm), and the dashboard's own script and styles.
    When the npm assets are missing the page still renders, unstyled but readable."""
    app.mount("/assets", StaticFiles(directory=GOVUK_DIST / "assets", check_dir=False), name="govuk-assets")
    app.mount("/static/govuk", StaticFiles(directory=GOVUK_DIST, check_dir=False), name="govuk")
    app.mount("/static/reporting", StaticFiles(directory=HERE / "static"), name="reporting-static")
