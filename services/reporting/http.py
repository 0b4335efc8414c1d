"""The reporting API: aggregates only, public by default (as government performance dashboards are)."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from operator import itemgetter
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response

from services.reporting import figures
from services.reporting.reads import breakdowns, read_figures, reader, reading, summary_of
from shared.events.topics import DEPARTMENT_PATTERN
from shared.http import ApiError
from shared.paging import Cursor, Page, page, position_of

router = APIRouter(prefix="/v1", tags=["reporting"], dependencies=[Depends(reader)])

_DEFINITIONS = "\n".join(f"- `{name}`: {text}" for name, text in figures.DEFINITIONS.items())
Department = Annotated[str, Path(pattern=DEPARTMENT_PATTERN, description="A department code, e.g. dwp")]
DepartmentFilter = Annotated[str | None, Query(pattern=DEPARTMENT_PATTERN, description="Only this department")]


def _defined(*names: str) -> str:
    return "\n".join(f"- `{name}`: {figures.DEFINITIONS[name]}" for name in names)


@router.get("/summary", summary="Across-government figures",
            description=f"Figures across government, with the breakdowns of all government.\n\n{_DEFINITIONS}")
async def summary(request: Request) -> dict[str, Any]:
    async with reading(request) as conn:
        data = await summary_of(conn)
        more = await breakdowns(conn)
    return {
        "scope": figures.ALL,
        "departments": len(data["departments"]),
        **data["figures"],
        "adoption_links": data["adoption_links"],
        "campaigns": data["campaigns"],
        **more,
    }


@router.get("/departments", summary="Every department's figures",
            description=f"One entry per department that has sent an event.\n\n{_DEFINITIONS}")
async def departments(request: Request) -> dict[str, Any]:
    every = await read_figures(request)
    return {"departments": [{"department": d, **every[d]} for d in sorted(every) if d != figures.ALL]}


@router.get("/departments/{department}", summary="One department's figures",
            description=f"404 when the department has sent no event.\n\n{_DEFINITIONS}")
async def department(request: Request, department: Department) -> dict[str, Any]:
    async with reading(request) as conn:
        every = await figures.all_figures(conn)
        if department not in every:
            raise ApiError(404, "no events seen from this department", [{"field": "department", "rule": "known"}])
        return {
            "department": department,
            **every[department],
            "adoption_links": await figures.adoption_links(conn, department),
            "themes": await figures.themes(conn, department),
            "campaigns": await figures.campaigns(conn, department),
            **await breakdowns(conn, department),
        }


@router.get("/resources", summary="Resources committed by backing, per quarter and per theme",
            description="`by_quarter` and `by_theme`, across government or of one department (an unknown "
                        f"department gives empty lists).\n\n{_defined('resources_by_quarter', 'resources_by_theme')}")
async def resources(request: Request, department: DepartmentFilter = None) -> dict[str, Any]:
    async with reading(request) as conn:
        return {"by_quarter": await figures.resources_by_quarter(conn, department),
                "by_theme": await figures.resources_by_theme(conn, department)}


@router.get("/participation", summary="The front line over time: people, conversations and ideas per month",
            description="`months`, across government or of one department (an unknown department gives an "
                        f"empty list).\n\n{_defined('participation_by_month')}")
async def participation(request: Request, department: DepartmentFilter = None) -> dict[str, Any]:
    async with reading(request) as conn:
        return {"months": await figures.participation_by_month(conn, department)}


@router.get("/themes", summary="Ideas by theme", description=figures.DEFINITIONS["themes"])
async def themes(request: Request, department: DepartmentFilter = None) -> dict[str, Any]:
    async with reading(request) as conn:
        return {"themes": await figures.themes(conn, department)}


@router.get("/timeseries", summary="Weekly time series", description=figures.DEFINITIONS["timeseries"])
async def timeseries(request: Request, department: DepartmentFilter = None) -> dict[str, Any]:
    async with reading(request) as conn:
        return {"metrics": list(figures.TIMESERIES_METRICS), "weeks": await figures.timeseries(conn, department)}


Search = Annotated[str, Query(max_length=200, description="Words to look for (web search syntax: \"quoted phrases\", -not, or)")]
Limit = Annotated[int, Query(ge=1, le=100)]


@router.get("/learnings", summary="Learnings shared, with full-text search",
            description=figures.DEFINITIONS["learnings"] + " Without `q`, the latest learnings.")
async def learnings(request: Request, q: Search = "", limit: Limit = 20) -> dict[str, Any]:
    async with reading(request) as conn:
        found = await figures.search_learnings(conn, q.strip(), limit)
    return {"q": q, "learnings": [{k: v for k, v in r.items() if k != "rank"} for r in found]}


@router.get("/ideas/similar", summary="Has another department already tried this?",
            description="Ideas from any department whose title is similar to `q` (trigram similarity or full-text "
                        "match), best first: department, title, status and themes only.")
async def similar(
    request: Request,
    q: Annotated[str, Query(min_length=3, max_length=200)],
    limit: Limit = 10,
    exclude_department: DepartmentFilter = None,
) -> dict[str, Any]:
    async with reading(request) as conn:
        return {"q": q, "ideas": await figures.similar_ideas(conn, q.strip(), limit, exclude_department)}


@router.get("/ideas/{department}/{idea_id}", summary="One idea of the catalogue, with what was merged into it",
            description="An idea as central reporting knows it: department, idea_id, title, status, themes, "
                        "`merged_from` (the ideas of any department merged into it, in the order they were merged: "
                        "`[{department, idea_id}]`) and `merged_into` (`{department, idea_id}` or null). 404 when "
                        "reporting has seen no event of it. The ideas services check a merge into another "
                        "department's idea here.")
async def idea(request: Request, department: Department, idea_id: UUID) -> dict[str, Any]:
    async with reading(request) as conn:
        found = await figures.idea(conn, department, idea_id)
    if found is None:
        raise ApiError(404, "no such idea", [{"field": "idea_id", "rule": "an idea the department has published"}])
    return found


class OutcomesPage(Page[dict[str, Any]]):
    pass


Theme = Annotated[str | None, Query(max_length=60, pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$", description="Only this theme")]


@router.get("/outcomes", summary="The outcomes library: every department's recorded outcomes",
            description="Outcomes recorded in any department, newest first, filtered by department, idea, theme, "
                        "result and recommendation and searched by words in the idea's title and the learnings "
                        "(web search syntax). Each gives the idea's title and themes, the result, recommendation, "
                        "benefits, learnings and the departments that adopted it. No summary or names: those stay "
                        "in the department.")
async def outcomes(
    request: Request,
    department: DepartmentFilter = None,
    idea_id: Annotated[UUID | None, Query(description="Only the outcomes of this idea")] = None,
    theme: Theme = None,
    result: Annotated[Literal[figures.RESULTS] | None, Query()] = None,
    recommendation: Annotated[Literal[figures.RECOMMENDATIONS] | None, Query()] = None,
    q: Search = "",
    limit: Limit = 20,
    cursor: Cursor = None,
) -> OutcomesPage:
    async with reading(request) as conn:
        rows = await figures.outcomes(conn, department=department, idea_id=idea_id, theme=theme, result=result,
                                      recommendation=recommendation, q=q.strip(), before=position_of(cursor),
                                      limit=limit + 1)
    rows, next_cursor = page(rows, limit, itemgetter("arrival"))
    return OutcomesPage(items=[_outcome(r) for r in rows], next_cursor=next_cursor)


@router.get("/outcomes/{department}/{outcome_id}", summary="One recorded outcome",
            description="As in the outcomes library; 404 when reporting has not seen it.")
async def outcome(request: Request, department: Department, outcome_id: UUID) -> dict[str, Any]:
    async with reading(request) as conn:
        rows = await figures.outcomes(conn, department=department, outcome_id=outcome_id)
    if not rows:
        raise ApiError(404, "no such outcome", [{"field": "outcome_id", "rule": "an outcome recorded in the department"}])
    return _outcome(rows[0])


def _outcome(row: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in row.items() if name != "arrival"}


def flatten(prefix: str, value: Any, into: dict[str, Any]) -> None:
    if isinstance(value, dict):
        for key, inner in value.items():
            flatten(f"{prefix}.{key}" if prefix else key, inner, into)
    elif isinstance(value, (datetime, date)):
        into[prefix] = value.isoformat()
    else:
        into[prefix] = value


@router.get("/export.csv", summary="Every figure as CSV", response_class=Response,
            description="One row per department and one for all of government (`all`); counts only, no pseudonyms."
                        f"\n\n{_DEFINITIONS}")
async def export_csv(request: Request) -> Response:
    every = await read_figures(request)
    rows = []
    for scope in [figures.ALL, *sorted(d for d in every if d != figures.ALL)]:
        row: dict[str, Any] = {"department": scope}
        flatten("", every[scope], row)
        rows.append(row)
    return Response(to_csv(rows), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="innovation-figures.csv"'})


def to_csv(rows: list[dict[str, Any]], columns: list[str] | None = None) -> str:
    """RFC 4180 CSV (CRLF line ends: with a bare LF, Python's writer leaves a CR inside a cell unquoted,
    and the CR then splits the row), every text cell made spreadsheet-safe. The columns are `columns`,
    else the first row's keys."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns or (list(rows[0]) if rows else ["department"]),
                            lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: spreadsheet_safe(v) for k, v in row.items()})
    return out.getvalue()


# What makes a spreadsheet read a cell as a formula (OWASP's CSV injection list): tab and carriage
# return too, since some spreadsheets strip them and then read the = or + behind them.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: Any) -> Any:
    """A CSV cell a spreadsheet never reads as a formula: text starting like one gets a leading quote.
    Numbers are left alone (a negative number is not a formula)."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return "" if value is None else value
