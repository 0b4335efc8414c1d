"""Open data: every recorded outcome and its learnings, under the Open Government Licence v3.0.

FIELDS is the dataset's one definition: it orders and shapes the JSON records and the CSV columns, and
it is the data dictionary (GET /v1/open-data/outcomes-dictionary.csv, the JSON's `fields`, the API's
descriptions and docs/open-data.md, `python -m services.reporting open-data-doc`).

Only outcomes' own text is published (summary and learnings, cleaned at projection by domain.published);
of the idea, only its id and theme slugs. No person, no pseudonym, no idea title or other idea text.

Size: the whole dataset is read in one statement and sent as one body, neither capped nor streamed.
Outcomes number in the thousands (a few megabytes), and one file is what reusers want. Streaming from a
cursor would hold a read-pool connection, and its snapshot, for as long as the slowest client takes to
download; reading everything at once gives the connection back before the first byte is sent. The read
statement timeout still answers 503 if the read itself is too slow.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timezone
from typing import Any

import asyncpg
from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from services.reporting import figures
from services.reporting.domain import REMOVED
from services.reporting.http import DepartmentFilter, to_csv
from services.reporting.reads import reader, reading
from shared.runtime import runtime_of

LICENCE = {"name": "Open Government Licence v3.0",
           "url": "https://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/"}
ATTRIBUTION = "Contains public sector information licensed under the Open Government Licence v3.0."
TITLE = "Innovation network: outcomes and learnings"
PUBLISHER = "The innovation network's central reporting service, from the outcomes departments recorded"  # a default

# How published free text is cleaned at projection (domain.published).
_CLEANED = (f"with NUL characters removed and anything shaped like a pseudonym, an email address, a UK mobile "
            f"number or a National Insurance number replaced by {REMOVED}")
# What each type means and how it is written in JSON and in CSV: part of every field's description.
TYPES: dict[str, str] = {
    "uuid": "A UUID.",
    "code": "A code: lower-case letters, digits, hyphens and underscores.",
    "text": f"Text as the department wrote it, {_CLEANED}.",
    "number": "A decimal number.",
    "integer": "A whole number.",
    "datetime": "ISO 8601 in UTC, e.g. 2026-03-02T09:00:00+00:00.",
    "list of codes": "JSON: an array of codes. CSV: the codes joined by ';' (empty when there are none).",
    "list of texts": f"JSON: an array of texts, each as the department wrote it, {_CLEANED}. CSV: one text per line "
                     f"of the cell (lines end with a line feed); a line break inside a text is written as a space.",
}

_CLAIMED = "Claimed by the department when it recorded the outcome, not audited; null (CSV: empty) when not claimed."
FIELDS: dict[str, tuple[str, str]] = {
    "outcome_id": ("uuid", "The outcome's id, unique within its department."),
    "department": ("code", "The department that recorded the outcome, e.g. dwp."),
    "experiment_id": ("uuid", "The experiment the outcome concludes."),
    "idea_id": ("uuid", "The idea the experiment tested. Only its id and themes are published here, never its "
                        "title or other text."),
    "themes": ("list of codes", "The idea's theme slugs (e.g. customer-service); empty when the idea's "
                                "submission has not reached central reporting."),
    "result": ("code", f"The experiment's result: {', '.join(figures.RESULTS)}."),
    "recommendation": ("code", f"What the department recommends: {', '.join(figures.RECOMMENDATIONS)}."),
    "summary": ("text", "The department's summary of the outcome. Null (CSV: empty) for outcomes stored before "
                        "summaries were kept, until the service is rebuilt."),
    "learnings": ("list of texts", "What was learnt, in the department's order, whatever the result (at least one "
                                   "per outcome)."),
    "cash_savings_gbp_per_year": ("number", f"Cash savings, in pounds per year. {_CLAIMED}"),
    "hours_saved_per_year": ("number", f"Staff hours saved per year. {_CLAIMED}"),
    "people_affected": ("integer", f"People affected by the change. {_CLAIMED}"),
    "recorded_at": ("datetime", "When the outcome was recorded (the time of its outcome.recorded event)."),
    "adoptions": ("integer", "How many times the outcome has been adopted (outcome.adopted events naming it)."),
    "adopted_by": ("list of codes", "The departments that adopted it, each once, in alphabetical order."),
}

_SQL = f"""
SELECT o.outcome_id, o.department, o.experiment_id, o.idea_id, coalesce(i.themes, '{{}}') AS themes, o.result,
       o.recommendation, o.summary,
       ARRAY(SELECT l.learning FROM learnings l WHERE l.department = o.department AND l.outcome_id = o.outcome_id
             ORDER BY l.position) AS learnings,
       o.cash_savings_gbp_per_year, o.hours_saved_per_year, o.people_affected, o.recorded_at,
       a.adoptions, a.adopted_by
FROM outcomes o
LEFT JOIN ideas i ON i.department = o.department AND i.idea_id = o.idea_id
CROSS JOIN LATERAL (
    SELECT count(*) AS adoptions,
           coalesce(array_agg(DISTINCT a.adopting_department ORDER BY a.adopting_department), '{{}}') AS adopted_by
    FROM {figures._ADOPTIONS} AS a
    WHERE a.origin_department = o.department AND a.origin_outcome_id = o.outcome_id) AS a
WHERE $1::text IS NULL OR o.department = $1
ORDER BY o.department, o.recorded_at, o.outcome_id"""


async def outcome_rows(conn: asyncpg.Connection, department: str | None = None) -> list[asyncpg.Record]:
    """Every recorded outcome (of one department), its columns FIELDS' names."""
    return await conn.fetch(_SQL, department)


# JSON values from the database's, by type; a type not listed is already JSON's.
_AS_JSON: dict[str, Callable[[Any], Any]] = {
    "uuid": str,
    "datetime": datetime.isoformat,
    "list of codes": list,
    "list of texts": list,
}
# Every line break str.splitlines() knows, so a spreadsheet or a reader splitting the cell finds one text per line.
_LINE_BREAK = re.compile(r"\r\n|[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]")


def _lines(texts: list[str]) -> str:
    return "\n".join(_LINE_BREAK.sub(" ", text) for text in texts)


_AS_CSV: dict[str, Callable[[Any], Any]] = {
    "list of codes": ";".join,
    "list of texts": _lines,
}


def _shaped(row: Mapping[str, Any], convert: Mapping[str, Callable[[Any], Any]]) -> dict[str, Any]:
    """FIELDS' names in FIELDS' order, each value converted as its type says (None stays None)."""
    return {name: row[name] if row[name] is None or kind not in convert else convert[kind](row[name])
            for name, (kind, _) in FIELDS.items()}


def record(row: Mapping[str, Any]) -> dict[str, Any]:
    """One outcome as open data, JSON values."""
    return _shaped(row, _AS_JSON)


def csv_row(rec: Mapping[str, Any]) -> dict[str, Any]:
    """A record as a CSV row (lists joined as TYPES says; spreadsheet safety is http.to_csv's)."""
    return _shaped(rec, _AS_CSV)


def dictionary() -> list[dict[str, str]]:
    """The data dictionary: each field's own description, then its type's."""
    return [{"field": name, "type": kind, "description": f"{text} {TYPES[kind]}"} for name, (kind, text) in FIELDS.items()]


def outcomes_csv(records: Iterable[Mapping[str, Any]]) -> str:
    return to_csv([csv_row(r) for r in records], list(FIELDS))


CLEANING = (f"Summaries and learnings are published as the department wrote them, {_CLEANED}. Names cannot be "
            "told from other words: departments must not write people's names (or other personal details) in "
            "outcome summaries or learnings, because they are published here.")
SPREADSHEET = ("In the CSV files a text cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return is "
               "given a leading `'`, so that spreadsheets do not run it as a formula. The JSON is unchanged.")

_FIELDS_TEXT = "\n".join(f"- `{f['field']}` ({f['type']}): {f['description']}" for f in dictionary())

router = APIRouter(prefix="/v1/open-data", tags=["open data"], dependencies=[Depends(reader)])
_LINK = {"Link": f'<{LICENCE["url"]}>; rel="license"'}


def _attachment(filename: str) -> dict[str, str]:
    return {**_LINK, "Content-Disposition": f'attachment; filename="{filename}"'}


def _json(body: Any) -> Response:
    return Response(json.dumps(body, ensure_ascii=False), media_type="application/json", headers=_LINK)


@router.get("", summary="Open data: what is published, under which licence",
            description=f"The open datasets, their formats and their data dictionary, under the {LICENCE['name']}.")
async def index(request: Request) -> Response:
    return _json({
        "title": TITLE,
        "publisher": runtime_of(request).settings.open_data_publisher or PUBLISHER,
        "licence": LICENCE,
        "attribution": ATTRIBUTION,
        "datasets": [{
            "name": "outcomes",
            "title": "Outcomes and learnings of departments' experiments",
            "description": "One record per recorded outcome: its department, idea and themes, result, "
                           "recommendation, summary, learnings, the benefits claimed, and how often and by which "
                           f"departments it was adopted. {CLEANING}",
            "distributions": [
                {"format": "CSV", "media_type": "text/csv", "url": request.url_for("open_data_csv").path},
                {"format": "JSON", "media_type": "application/json", "url": request.url_for("open_data_json").path},
            ],
            "dictionary": request.url_for("open_data_dictionary").path,
            "filter": "?department=<code> gives one department's outcomes.",
        }],
    })


@router.get("/outcomes.json", name="open_data_json", summary="Open data: outcomes and learnings (JSON)",
            description=f"`licence`, `fields` (the data dictionary), `generated_at` and `outcomes`, ordered by "
                        f"department, recorded_at and outcome_id; `department` narrows them to one department "
                        f"(an unknown one gives none). {CLEANING}\n\n{_FIELDS_TEXT}")
async def outcomes_json(request: Request, department: DepartmentFilter = None) -> Response:
    async with reading(request) as conn:
        rows = await outcome_rows(conn, department)
    return _json({"licence": LICENCE, "attribution": ATTRIBUTION, "fields": dictionary(),
                  "generated_at": datetime.now(timezone.utc).isoformat(), "outcomes": [record(r) for r in rows]})


@router.get("/outcomes.csv", name="open_data_csv", response_class=Response,
            summary="Open data: outcomes and learnings (CSV)",
            description=f"RFC 4180 CSV, one row per recorded outcome, the columns of the data dictionary in its "
                        f"order; ordered and filtered as outcomes.json. {SPREADSHEET} {CLEANING}\n\n{_FIELDS_TEXT}")
async def outcomes_csv_file(request: Request, department: DepartmentFilter = None) -> Response:
    async with reading(request) as conn:
        rows = await outcome_rows(conn, department)
    return Response(outcomes_csv(record(r) for r in rows), media_type="text/csv; charset=utf-8",
                    headers=_attachment("innovation-outcomes.csv"))


@router.get("/outcomes-dictionary.csv", name="open_data_dictionary", response_class=Response,
            summary="Open data: the outcomes' data dictionary (CSV)",
            description="One row per column of outcomes.csv (and field of outcomes.json): field, type, description.")
async def dictionary_csv() -> Response:
    return Response(to_csv(dictionary()), media_type="text/csv; charset=utf-8",
                    headers=_attachment("innovation-outcomes-dictionary.csv"))


def render() -> str:
    """docs/open-data.md."""
    fields = "".join(f"| `{f['field']}` | {f['type']} | {f['description']} |\n" for f in dictionary())
    return f"""# Open data: outcomes and learnings

Generated by `python -m services.reporting open-data-doc > docs/open-data.md` from
`services/reporting/open_data.py`, whose `FIELDS` also shapes the records, the CSV columns, the data
dictionary and the API's descriptions.

Central reporting publishes every outcome departments record, with its learnings and the benefits
claimed, so that anyone can reuse what was learnt. One record per recorded outcome. No person and
no pseudonym is published, and of the idea an outcome concludes only its id and theme slugs: never
its title or any other text of ideas.

## Licence and how to cite

Published under the [{LICENCE['name']}]({LICENCE['url']}). When you reuse it, say:

> {ATTRIBUTION}

Every open-data response carries the header `Link: <{LICENCE['url']}>; rel="license"`.

## Where

| URL | what |
|---|---|
| `GET /v1/open-data` | the index: title, publisher (set by the operator with `REPORTING_OPEN_DATA_PUBLISHER`), licence, the datasets and their URLs |
| `GET /v1/open-data/outcomes.csv` | the outcomes, RFC 4180 CSV (UTF-8, CRLF line ends) |
| `GET /v1/open-data/outcomes.json` | the outcomes, JSON: `licence`, `attribution`, `fields`, `generated_at`, `outcomes` |
| `GET /v1/open-data/outcomes-dictionary.csv` | the data dictionary below, as CSV (`field`, `type`, `description`) |

`?department=<code>` narrows the outcomes to one department (an unknown department gives an empty
dataset). Records are ordered by department, `recorded_at`, then `outcome_id`. The whole dataset is
one response: outcomes number in the thousands, not millions. Where the operator requires a viewer
key for the reporting API, these need it too.

## What is removed from text

{CLEANING}

{SPREADSHEET}

## Fields

| field | type | description |
|---|---|---|
{fields}"""
