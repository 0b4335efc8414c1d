"""The dashboard at `GET /` and a page per department at `GET /departments/{dept}`: server-rendered (works
without JavaScript), GOV.UK Design System look.

Everything shown comes from the same reads as the API (reads.summary_of and the figures module), so the pages
and the API cannot disagree. Jinja2 autoescapes everything it prints.

What the pages show is built here as plain data (tables, charts) by pure functions, and the templates only lay
it out: every chart is an inline SVG drawn from `bar_chart`'s geometry, immediately followed by a table holding
the same numbers (templates/macros.html, `chart_with_table`). A scalar figure's cell carries
`data-figure="<the dotted key of /v1/export.csv>"` and `data-scope="<department>|all"`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, select_autoescape

from services.reporting import figures
from services.reporting.open_data import LICENCE
from services.reporting.reads import breakdowns, reader, reading, summary_of
from shared.events.topics import DEPARTMENT_RE
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
    return "–" if value is None else "£" + _number(value)


def _percent(share: Any) -> str:
    return "–" if share is None else _number(100 * share, 1) + "%"


def _when(value: datetime | None) -> str:
    if value is None:
        return "never"
    return value.astimezone(timezone.utc).strftime("%-d %B %Y, %H:%M UTC")


def _week(value: date) -> str:
    return value.strftime("%-d %b %Y")


def _month(value: date) -> str:
    return value.strftime("%B %Y")


FORMATS: dict[str, Callable[[Any], str]] = {
    "count": _number,
    "money": _money,
    "one_place": lambda v: _number(v, 1),   # staff days, weeks, median days
    "two_places": lambda v: _number(v, 2),  # ratios and mean scores
    "percent": _percent,                    # a share 0..1
}

templates.filters.update(number=_number, money=_money, when=_when, week=_week)

router = APIRouter(include_in_schema=False, dependencies=[Depends(reader)])

CHART_WEEKS = 12
MAX_BAR_WIDTH = 60
CHAR_WIDTH = 7  # about the width of a character of the charts' 12px text, in the SVG's units
LINE_HEIGHT = 14
WIDE = 5


def bar_chart(labels: Sequence[str], series: Sequence[tuple[str, Sequence[float | None]]], *,
              fmt: str = "count", width: int = 600, height: int = 160, top: float | None = None) -> dict[str, Any]:
    """Geometry of a bar chart for an inline SVG: a group per label, in it a bar per series (values[i] of each
    series belongs to labels[i]), heights scaled so that `top` (default: the largest value) is height - 20; a
    missing value (None) draws no bar. Under the axis, the groups' labels (on two lines if need be; every n-th
    when they would overlap even so), then a legend when there are several series. Each bar carries its text
    (label, series, formatted value) for the SVG's tooltips, and its value above it when that fits; the table
    after the chart holds every number."""
    top = top or max((v for _, values in series for v in values if v is not None), default=0) or 1
    slot = width / max(len(labels), 1)
    bar_width = min(slot * 0.7 / max(len(series), 1), MAX_BAR_WIDTH)
    group_width = bar_width * len(series)
    bars = []
    for i, label in enumerate(labels):
        for j, (name, values) in enumerate(series):
            value = values[i]
            h = round(max(value or 0, 0) / top * (height - 20), 1)
            shown = FORMATS[fmt](value)
            x = i * slot + (slot - group_width) / 2 + j * bar_width
            bars.append({"x": round(x, 1), "cx": round(x + bar_width / 2, 1), "y": round(height - h, 1),
                         "w": round(bar_width, 1), "h": h, "series": j, "value": value,
                         "text": f"{label}, {name}: {shown}" if len(series) > 1 else f"{label}: {shown}",
                         "shown": shown if value is not None and len(shown) * CHAR_WIDTH <= bar_width + 4 else None})
    lines = [_wrap(label, max(int(slot // CHAR_WIDTH), 1)) for label in labels]
    if None in lines:  # too long even on two lines: every n-th label, on one line
        every = math.ceil(max(len(label) for label in labels) * CHAR_WIDTH / slot)
        lines = [[label] if i % every == 0 else [] for i, label in enumerate(labels)]
    ticks = [{"x": round(_inside(i * slot + slot / 2, max(map(len, ls)) * CHAR_WIDTH / 2, width), 1), "lines": ls}
             for i, ls in enumerate(lines) if ls]
    below = height + 16 + LINE_HEIGHT * (max(map(len, lines), default=1) - 1)  # the baseline of the last line
    legend = [{"y": below + 24 + 18 * j, "name": name, "series": j} for j, (name, _) in enumerate(series)
              if len(series) > 1]
    return {"width": width, "height": height, "top": top, "bars": bars, "ticks": ticks, "legend": legend,
            "label_y": height + 16, "line_height": LINE_HEIGHT,
            "view_height": (legend[-1]["y"] if legend else below) + 8, "series": [name for name, _ in series]}


def _inside(centre: float, half: float, width: int) -> float:
    """A centred label's x moved just enough for the label to stay within the chart (a thinned label is wider
    than its slot, and the first and last would be cut off at the edges)."""
    return min(max(centre, half), max(width - half, half))


def _wrap(label: str, capacity: int) -> list[str] | None:
    """The label's words on at most two lines of at most `capacity` characters; None when they do not fit."""
    lines: list[str] = []
    for word in label.split():
        if lines and len(lines[-1]) + 1 + len(word) <= capacity:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines if len(lines) <= 2 and all(len(line) <= capacity for line in lines) else None


@dataclass(frozen=True)
class Scope:
    """Whose figures a column shows: a department's or all of government's (code figures.ALL)."""

    code: str
    label: str
    figures: dict[str, Any]


def government(every: dict[str, dict[str, Any]]) -> Scope:
    return Scope(figures.ALL, "All of government", every[figures.ALL])


def value_at(found: dict[str, Any], key: str) -> Any:
    for part in key.split("."):
        found = found[part]
    return found


def scalar(scope: Scope, key: str, fmt: str) -> dict[str, Any]:
    return {"text": FORMATS[fmt](value_at(scope.figures, key)), "figure": key, "scope": scope.code}


def table(caption: str, head: Sequence[str], rows: list[dict[str, Any]], *, id: str | None = None) -> dict[str, Any]:
    """A govuk-table: its first column is the row headers, the others numbers. Each row is
    {"header", "href" (optional link of the header), "cells": [{"text", "figure"?, "scope"?}]}. A table of more
    than WIDE columns scrolls sideways on a narrow screen."""
    return {"caption": caption, "head": list(head), "rows": rows, "wide": len(head) > WIDE, "id": id}


def scalar_table(caption: str, corner: str, rows: Sequence[tuple[str, str, str | None]],
                 scopes: Sequence[Scope], *, columns: Sequence[tuple[str, str, str | None]] = (("", "", None),),
                 key: str = "{row}") -> dict[str, Any]:
    """Scalar figures: a row per (label, key part, format), a column per (label, key part, format) and scope,
    the cell's figure `key` formatted with the row's and column's parts. A column without a label is headed
    by its scope; with several scopes, each column's label names its scope."""
    head = [corner]
    for scope in scopes:
        for label, _, _ in columns:
            head.append(scope.label if not label else f"{label} ({scope.label})" if len(scopes) > 1 else label)
    body = []
    for row_label, row_key, row_fmt in rows:
        cells = [scalar(scope, key.format(row=row_key, col=col_key), col_fmt or row_fmt or "count")
                 for scope in scopes for _, col_key, col_fmt in columns]
        body.append({"header": row_label, "cells": cells})
    return table(caption, head, body)


def rows_table(caption: str, first: tuple[str, str, Callable[[Any], str]], columns: Sequence[tuple[str, str, str]],
               rows: Sequence[dict[str, Any]], *, id: str | None = None) -> dict[str, Any]:
    """A breakdown (a list of rows from the figures module): the row header from `first` = (label, field,
    how to show it), then a column per (label, field, format)."""
    label, field, show = first
    body = [{"header": show(r[field]), "cells": [{"text": FORMATS[fmt](r[f])} for _, f, fmt in columns]}
            for r in rows]
    return table(caption, [label, *(c[0] for c in columns)], body, id=id)


def chart_with_table(id: str, title: str, labels: Sequence[str], series: Sequence[tuple[str, Sequence[Any]]],
                     data: dict[str, Any], *, fmt: str = "count", top: float | None = None) -> dict[str, Any]:
    """A chart and the table holding its numbers (rendered one after the other by macros.chart_with_table)."""
    return {"id": id, "title": title, "geometry": bar_chart(labels, series, fmt=fmt, top=top), "table": data}


def weekly(weeks: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Ideas raised per week (chart) and every weekly metric (table), the last CHART_WEEKS weeks."""
    shown = weeks[-CHART_WEEKS:]
    if not shown:
        return None
    data = rows_table("Activity per week (weeks start on Monday)", ("Week of", "week", _week),
                      [(m.replace("_", " ").capitalize(), m, "count") for m in figures.TIMESERIES_METRICS], shown)
    return chart_with_table("weekly", f"Ideas raised per week, last {len(shown)} weeks",
                            [_week(w["week"]) for w in shown], [("Ideas raised", [w["ideas_raised"] for w in shown])],
                            data)


SCORES = (("Impact", "impact"), ("Feasibility", "feasibility"), ("Value for money", "value_for_money"),
          ("Alignment", "alignment"), ("Overall", "overall"))
DECLINE_REASONS = (("Duplicate", "duplicate"), ("Out of scope", "out_of_scope"), ("Not feasible", "not_feasible"),
                   ("Insufficient evidence", "insufficient_evidence"), ("Other", "other"))
BY_RESULT = (("Succeeded", "succeeded"), ("Failed", "failed"), ("Inconclusive", "inconclusive"),
             ("No outcome yet", "no_outcome"))
WAITING = (("Waiting for a decision", "ideas"), ("Over 2 weeks", "over_2_weeks"), ("Over 4 weeks", "over_4_weeks"),
           ("Over 8 weeks", "over_8_weeks"))
RETURN_COLUMNS = (("Budget backed of ideas with an outcome", "budget_gbp", "money"),
                  ("Staff days backed of ideas with an outcome", "staff_days", "one_place"),
                  ("Cash savings claimed per year", "cash_savings_gbp_per_year", "money"),
                  ("Hours saved claimed per year", "hours_saved_per_year", "count"),
                  ("Cash savings per £ backed", "cash_savings_per_gbp", "two_places"),
                  ("Hours saved per staff day", "hours_saved_per_staff_day", "two_places"))
BY_DEPARTMENT_COLUMNS = (*RETURN_COLUMNS, ("Learnings per experiment", "learnings_per_experiment.all", "two_places"))


def centre(scopes: Sequence[Scope], *, quarters: list[dict[str, Any]], government_quarters: list[dict[str, Any]],
           themes: list[dict[str, Any]], months: list[dict[str, Any]], campaigns: list[dict[str, Any]],
           departments: Sequence[Scope] = ()) -> dict[str, Any]:
    """The centre's sections (resources, return claimed, judgement, front line) of the first scope, each scalar
    figure also shown for the other scopes beside it. The breakdowns (quarters, themes, months, campaigns) are
    the first scope's; on a department's page `government_quarters` puts the government's figure beside each of
    its quarters. `departments` (on the dashboard) adds the return claimed by department."""
    main = scopes[0]
    beside = scopes[1:]
    of = "" if main.code == figures.ALL else f" in {main.label}"

    quarter_columns = [("Ideas backed", "ideas_backed", "count"), ("Budget backed", "budget_gbp", "money"),
                       ("Staff days backed", "staff_days", "one_place")]
    if beside:
        by_quarter = {q["quarter"]: q for q in government_quarters}
        quarters = [q | {f"all_{k}": by_quarter.get(q["quarter"], {}).get(k) for _, k, _ in quarter_columns}
                    for q in quarters]
        quarter_columns = [(f"{label} ({main.label})", k, fmt) for label, k, fmt in quarter_columns] + [
            (f"{label} ({beside[0].label})", f"all_{k}", fmt) for label, k, fmt in quarter_columns]
    resources = {
        "backed": scalar_table("Resources committed by backing ideas", "Figure", [
            ("Ideas backed", "resources.ideas_backed", "count"),
            ("Budget backed", "resources.budget_gbp", "money"),
            ("Staff days backed", "resources.staff_days", "one_place"),
            ("Mean time box (weeks)", "resources.mean_timebox_weeks", "one_place"),
        ], scopes),
        "by_quarter": chart_with_table(
            "resources-by-quarter", f"Budget backed per quarter{of} (financial years from April)",
            [q["quarter"] for q in quarters], [("Budget backed", [q["budget_gbp"] for q in quarters])],
            rows_table(f"Resources backed per quarter{of}", ("Quarter", "quarter", str), quarter_columns, quarters),
            fmt="money") if quarters else None,
        "by_theme": rows_table(f"Resources backed by theme{of} (an idea counts in each of its themes)",
                               ("Theme", "theme", str),
                               [("Ideas backed", "ideas_backed", "count"), ("Budget backed", "budget_gbp", "money"),
                                ("Staff days backed", "staff_days", "one_place")], themes,
                               id="resources-by-theme") if themes else None,
        "running": scalar_table("Resources in experiments still running (running or overdue)", "Figure", [
            ("Experiments", "resources.running.experiments", "count"),
            ("Budget planned", "resources.running.budget_gbp", "money"),
            ("Staff days planned", "resources.running.staff_days", "one_place"),
            ("People in their squads", "resources.running.squad_size", "count"),
        ], scopes),
        "by_result": scalar_table(
            "What was backed, by the result of the idea's latest outcome", "Result",
            [(label, k, None) for label, k in BY_RESULT], scopes,
            columns=[("Ideas", "ideas", "count"), ("Budget", "budget_gbp", "money"),
                     ("Staff days", "staff_days", "one_place")], key="resources.by_result.{row}.{col}"),
    }

    returned = {
        "claimed": scalar_table("Return claimed on what was backed", "Figure", [
            ("Budget backed of ideas with an outcome", "return_claimed.budget_gbp", "money"),
            ("Staff days backed of ideas with an outcome", "return_claimed.staff_days", "one_place"),
            ("Cash savings claimed per year", "return_claimed.cash_savings_gbp_per_year", "money"),
            ("Hours saved claimed per year", "return_claimed.hours_saved_per_year", "count"),
            ("Cash savings per year per £ backed", "return_claimed.cash_savings_per_gbp", "two_places"),
            ("Hours saved per year per staff day backed", "return_claimed.hours_saved_per_staff_day", "two_places"),
        ], scopes),
        "by_department": table("Return claimed by department", ["Department", *(c[0] for c in BY_DEPARTMENT_COLUMNS)], [
            {"header": d.label, "href": None if d.code == figures.ALL else f"/departments/{d.code}",
             "cells": [scalar(d, f"return_claimed.{k}", fmt) for _, k, fmt in BY_DEPARTMENT_COLUMNS]}
            for d in departments], id="return-by-department") if departments else None,
        "by_theme": rows_table(f"Return claimed by theme{of} (an idea counts in each of its themes)",
                               ("Theme", "theme", str), [
            ("Outcomes", "outcomes", "count"),
            ("Budget backed of ideas with an outcome", "return_budget_gbp", "money"),
            ("Staff days backed of ideas with an outcome", "return_staff_days", "one_place"),
            *RETURN_COLUMNS[2:]], themes, id="return-by-theme") if themes else None,
        "learnings": scalar_table("Learnings per experiment concluded, by result", "Result", [
            ("Every result", "all", "two_places"), ("Succeeded", "succeeded", "two_places"),
            ("Failed", "failed", "two_places"), ("Inconclusive", "inconclusive", "two_places"),
        ], scopes, key="return_claimed.learnings_per_experiment.{row}"),
    }

    def scores(s: Scope) -> list[tuple[str, list[Any]]]:
        return [(label, [value_at(s.figures, f"judgement.{side}.{k}") for _, k in SCORES])
                for label, side in (("Backed", "backed"), ("Declined", "declined"))]

    judgement = {
        "scores": chart_with_table(
            "scores", f"Mean panel scores (1 to 5) of ideas backed and of ideas declined{of}",
            [label for label, _ in SCORES], scores(main),
            scalar_table("Mean panel scores, backed against declined (each idea's mean of its reviews, then the "
                         "mean over ideas)", "Criterion", [("Ideas reviewed", "ideas_reviewed", "count"),
                                                           *((label, k, "two_places") for label, k in SCORES)],
                         scopes, columns=[("Backed", "backed", None), ("Declined", "declined", None)],
                         key="judgement.{col}.{row}"),
            fmt="two_places", top=5),
        "reasons": chart_with_table(
            "decline-reasons", f"Ideas declined by reason{of}", [label for label, _ in DECLINE_REASONS],
            [("Ideas declined",
              [value_at(main.figures, f"judgement.decline_reasons.{k}") for _, k in DECLINE_REASONS])],
            scalar_table("Ideas declined by reason", "Reason", [(label, k, "count") for label, k in DECLINE_REASONS],
                         scopes, key="judgement.decline_reasons.{row}")),
        "time": scalar_table("Time to a decision", "Figure", [
            ("Decisions (ideas backed or declined)", "judgement.decisions", "count"),
            ("Median days from raised to a decision", "judgement.median_days_to_decision", "one_place"),
            ("Median days from raised to backing", "judgement.median_days_to_backing", "one_place"),
            ("Median days from raised to declining", "judgement.median_days_to_decline", "one_place"),
        ], scopes),
        "waiting": chart_with_table(
            "waiting", f"Ideas waiting for a decision, by how long they have waited{of}",
            [label for label, _ in WAITING],
            [("Ideas", [value_at(main.figures, f"judgement.waiting.{k}") for _, k in WAITING])],
            scalar_table("Ideas waiting for a decision (submitted or shortlisted), by age", "Waiting",
                         [(label, k, "count") for label, k in WAITING], scopes, key="judgement.waiting.{row}")),
    }

    front_line = {
        "by_month": chart_with_table(
            "people-by-month", f"People taking part per month{of}", [_month(m["month"]) for m in months],
            [("People taking part", [m["people"] for m in months])],
            rows_table(f"Taking part per month{of}", ("Month", "month", _month), [
                ("People taking part", "people", "count"), ("Taking part for the first time", "new_people", "count"),
                ("Team conversations", "conversations", "count"),
                ("People in the conversations", "conversation_participants", "count"),
                ("Ideas raised", "ideas_raised", "count"),
                ("Ideas from conversations", "ideas_from_conversations", "count")], months)) if months else None,
        "figures": scalar_table("Reaching the front line", "Figure", [
            ("People taking part", "participants", "count"),
            ("Team conversations held", "conversations", "count"),
            ("People in those conversations (head count)", "conversation_participants", "count"),
            ("Ideas raised from conversations", "front_line.ideas_from_conversations", "count"),
            ("Share of ideas raised from conversations", "front_line.share_from_conversations", "percent"),
        ], scopes),
        "campaigns": rows_table(f"Campaigns and their reach{of}", ("Campaign", "campaign", str), [
            ("Ideas", "ideas", "count"), ("Backed", "backed", "count"),
            ("People reached (submitters and endorsers)", "people", "count"),
            ("Endorsements", "endorsements", "count"), ("Departments", "departments", "count")],
            campaigns, id="campaigns") if campaigns else None,
    }
    return {"resources": resources, "return": returned, "judgement": judgement, "front_line": front_line}


CENTRE_NAVIGATION = (("#resources", "Resources"), ("#return", "Return (claimed)"), ("#judgement", "Judgement"),
                     ("#front-line", "Front line"))
DASHBOARD_NAVIGATION = (("#funnel", "Funnel"), ("#departments", "Departments"), *CENTRE_NAVIGATION,
                        ("#adoptions", "Adoptions"), ("#learnings", "Learnings"), ("#open-data", "Open data"))
DEPARTMENT_NAVIGATION = (("#headlines", "Headline figures"), *CENTRE_NAVIGATION, ("#open-data", "Open data"))
HEADLINES = (("Ideas raised", "ideas_raised"), ("People taking part", "participants"), ("Endorsements", "endorsements"),
             ("Experiments", "experiments"), ("Outcomes recorded", "outcomes"), ("Learnings shared", "learnings"),
             ("Adoptions of another department's outcome", "adoptions_made"),
             ("Adoptions elsewhere of its outcomes", "adoptions_of_its_outcomes"))


def _page(request: Request, navigation: Sequence[tuple[str, str]]) -> dict[str, Any]:
    settings = runtime_of(request).settings
    return {"navigation": navigation, "refresh_seconds": settings.dashboard_refresh_seconds,
            "simulated": settings.simulated(), "styles": (GOVUK_DIST / "govuk-frontend.min.css").exists(),
            "open_government_licence": LICENCE["url"]}


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
        more = await breakdowns(conn)
    every = {figures.ALL: data["figures"], **data["department_figures"]}
    departments = [Scope(d, d, every[d]) for d in data["departments"]]
    raised = data["figures"]["funnel"]["raised"] or 0
    html = templates.get_template("dashboard.html").render(
        f=data["figures"],
        departments=[(d, data["department_figures"][d]) for d in data["departments"]],
        links=data["adoption_links"],
        themes=themes,
        recent=recent,
        weekly=weekly(weeks),
        stages=figures.FUNNEL_STAGES,
        raised=raised,
        q=q,
        learnings=learnings,
        similar=similar,
        similar_ideas=similar_ideas,
        centre=centre([government(every)], quarters=more["resources_by_quarter"],
                      government_quarters=more["resources_by_quarter"], themes=more["resources_by_theme"],
                      months=more["participation_by_month"], campaigns=data["campaigns"][:10],
                      departments=[*departments, government(every)]),
        **_page(request, DASHBOARD_NAVIGATION),
    )
    return HTMLResponse(html)


@router.get("/departments/{department}", response_class=HTMLResponse)
async def department_page(request: Request, department: str) -> HTMLResponse:
    """A department's figures beside the government's, its breakdowns; 404 for a department never heard of."""
    if not DEPARTMENT_RE.fullmatch(department):
        return not_found(request)
    async with reading(request) as conn:
        every = await figures.all_figures(conn)
        if department not in every:
            return not_found(request)
        more = await breakdowns(conn, department)
        government_quarters = await figures.resources_by_quarter(conn)
        campaigns = await figures.campaigns(conn, department)
    return HTMLResponse(department_html(
        department, every, quarters=more["resources_by_quarter"], government_quarters=government_quarters,
        themes=more["resources_by_theme"], months=more["participation_by_month"], campaigns=campaigns,
        page=_page(request, DEPARTMENT_NAVIGATION)))


def department_html(department: str, every: dict[str, dict[str, Any]], *, quarters: list[dict[str, Any]],
                    government_quarters: list[dict[str, Any]], themes: list[dict[str, Any]],
                    months: list[dict[str, Any]], campaigns: list[dict[str, Any]], page: dict[str, Any]) -> str:
    scopes = [Scope(department, department, every[department]), government(every)]
    return templates.get_template("department.html").render(
        department=department,
        f=every[department],
        headlines=scalar_table("Headline figures", "Figure", [(label, k, "count") for label, k in HEADLINES], scopes),
        centre=centre(scopes, quarters=quarters, government_quarters=government_quarters, themes=themes,
                      months=months, campaigns=campaigns[:10]),
        **page,
    )


def not_found(request: Request) -> HTMLResponse:
    return HTMLResponse(templates.get_template("not_found.html").render(**_page(request, ())), status_code=404)


def mount_assets(app: FastAPI) -> None:
    """GOV.UK Frontend's CSS, fonts and images (from npm), and the dashboard's own script and styles.
    When the npm assets are missing the page still renders, unstyled but readable."""
    app.mount("/assets", StaticFiles(directory=GOVUK_DIST / "assets", check_dir=False), name="govuk-assets")
    app.mount("/static/govuk", StaticFiles(directory=GOVUK_DIST, check_dir=False), name="govuk")
    app.mount("/static/reporting", StaticFiles(directory=HERE / "static"), name="reporting-static")
