"""Open data of outcomes (GET /v1/open-data...), against the real broker and database: hostile events of
three departments become exactly the records below, in JSON and CSV alike, with the licence, the data
dictionary, the department filter, and nothing that identifies a person or comes from an idea's text;
a rebuild gives the same export."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import timedelta

from services.reporting.http import FORMULA_STARTS
from services.reporting.open_data import FIELDS, LICENCE, dictionary
from services.reporting.rebuild import rebuild
from shared.events import (
    Benefits, ExperimentPlanned, IdeaBacked, IdeaReviewed, IdeaSubmitted, Measure, OutcomeAdopted, OutcomeRecorded,
    Scores, new_event,
)
from tests.integration.reporting.conftest import (
    new_department, publish, running, settings_for, viewer_key_header, wait_applied,
)
from tests.integration.reporting.scenario import T0, at
from tests.support.events import person

OGL = "https://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/"
LINK = f'<{OGL}>; rel="license"'
LONG = ("-Lange Schlange: ü漢字 \"quoted\" " * 70)[:2000]  # as long as a learning may be


def _ev(data, dept: str, days: float, service: str = "experiments"):
    return at(new_event(data, department=dept, service=service), days)


def _iso(days: float) -> str:
    return (T0 + timedelta(days=days)).isoformat()


def _from_csv(row: dict[str, str]) -> dict:
    """A CSV row read back as the record it was written from (the dictionary says how)."""
    out: dict = {}
    for name, (kind, _) in FIELDS.items():
        cell = row[name]
        if cell.startswith("'") and cell[1:].startswith(FORMULA_STARTS):
            cell = cell[1:]
        if kind == "list of codes":
            out[name] = cell.split(";") if cell else []
        elif kind == "list of texts":
            out[name] = cell.split("\n")
        elif kind in ("number", "integer"):
            out[name] = None if cell == "" else (float if kind == "number" else int)(cell)
        else:
            out[name] = cell or None
    return out


async def test_outcomes_are_published_exactly_without_people_or_idea_text(
        kafka_bootstrap, new_database, department, topics_for):
    d1, d2, d3 = department, new_department(), new_department()  # d3 only adopts
    dsn = await new_database("reporting")
    await topics_for(d1, d2, d3)
    idea_a, idea_b, never_seen = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    x, y, z = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    o1, o2, o3 = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    author, reviewer, sponsor, lead, adopter = (person(f"open-data-{n}") for n in
                                                ("author", "reviewer", "sponsor", "lead", "adopter"))
    pseudonyms = [author, reviewer, sponsor, lead, adopter, "p_0123456789abcdef"]
    markers = [f"ideatext{n}" for n in range(9)]
    events = [
        _ev(IdeaSubmitted(idea_id=idea_a, title=f"Fewer forms {markers[0]}", problem=f"{markers[1]} ask bob@dwp.gov.uk",
                          proposal=markers[2], expected_benefits=markers[3], team=markers[4], submitted_by=author,
                          themes=("ai", "customer-service")), d1, 0, "ideas"),
        _ev(IdeaReviewed(idea_id=idea_a, reviewer=reviewer, comment=f"{markers[5]} Bob Smith",
                         scores=Scores(impact=4, feasibility=3, value_for_money=5, alignment=2)), d1, 1, "ideas"),
        _ev(IdeaBacked(idea_id=idea_a, sponsor=sponsor, budget_gbp=2000.0, staff_days=3.0, timebox_weeks=4,
                       note=markers[6]), d1, 2, "ideas"),
        _ev(ExperimentPlanned(experiment_id=x, idea_id=idea_a, hypothesis=markers[7], squad_size=2, budget_gbp=10.0,
                              staff_days=1.0, by=lead, squad=(author,), starts_on=T0.date(), ends_on=T0.date() + timedelta(days=28),
                              measure=Measure(name="calls", unit="calls", baseline=10.0, target=5.0,
                                              direction="decrease")), d1, 3),
        _ev(OutcomeRecorded(
            outcome_id=o1, experiment_id=x, idea_id=idea_a, result="succeeded", recommendation="adopt_elsewhere",
            summary='=HYPERLINK("http://evil.example","x") Wor\x00ked;\r\nthanks to carol.jones@example.org '
                    "(07700 900456), p_0123456789abcdef and QQ 12 34 56 C",
            learnings=('+Claimants prefer "one" short form\r\nnot three', "@ the counter, ring +44 (0)7700 900123",
                       LONG, "Línea\nnueva; naïve café ☕"),
            benefits=Benefits(cash_savings_gbp_per_year=12000.5, hours_saved_per_year=300.0, people_affected=150),
            by=lead), d1, 40),
        _ev(OutcomeRecorded(outcome_id=o2, experiment_id=y, idea_id=never_seen, result="failed", recommendation="stop",
                            summary="@home: no", learnings=("Check the estate plan",)), d1, 21),
        _ev(IdeaSubmitted(idea_id=idea_b, title=f"Solar {markers[8]}", problem="p", proposal="q",
                          submitted_by=author, themes=("net-zero",)), d2, 0, "ideas"),
        _ev(OutcomeRecorded(outcome_id=o3, experiment_id=z, idea_id=idea_b, result="inconclusive",
                            recommendation="iterate", summary="\tTab first", learnings=("Plain",),
                            benefits=Benefits(people_affected=0)), d2, 30),
        # o1 adopted twice by d2 and once by d3; o3 once by d1; and one naming an outcome never recorded
        *(_ev(OutcomeAdopted(adoption_id=uuid.uuid4(), origin_department=origin, origin_outcome_id=outcome,
                             adopting_department=adopting, adopted_by=adopter, note=f"{markers[0]} from Bob"),
              adopting, days)
          for origin, outcome, adopting, days in ((d1, o1, d2, 45), (d1, o1, d2, 46), (d1, o1, d3, 47),
                                                  (d2, o3, d1, 48), (d2, uuid.uuid4(), d3, 49))),
    ]
    want = {
        o1: {"outcome_id": str(o1), "department": d1, "experiment_id": str(x), "idea_id": str(idea_a),
             "themes": ["ai", "customer-service"], "result": "succeeded", "recommendation": "adopt_elsewhere",
             "summary": '=HYPERLINK("http://evil.example","x") Worked;\r\nthanks to [removed] ([removed]), [removed] '
                        "and [removed]",
             "learnings": ['+Claimants prefer "one" short form\r\nnot three', "@ the counter, ring [removed]", LONG,
                           "Línea\nnueva; naïve café ☕"],
             "cash_savings_gbp_per_year": 12000.5, "hours_saved_per_year": 300.0, "people_affected": 150,
             "recorded_at": _iso(40), "adoptions": 3, "adopted_by": sorted([d2, d3])},
        o2: {"outcome_id": str(o2), "department": d1, "experiment_id": str(y), "idea_id": str(never_seen),
             "themes": [], "result": "failed", "recommendation": "stop", "summary": "@home: no",
             "learnings": ["Check the estate plan"], "cash_savings_gbp_per_year": None, "hours_saved_per_year": None,
             "people_affected": None, "recorded_at": _iso(21), "adoptions": 0, "adopted_by": []},
        o3: {"outcome_id": str(o3), "department": d2, "experiment_id": str(z), "idea_id": str(idea_b),
             "themes": ["net-zero"], "result": "inconclusive", "recommendation": "iterate", "summary": "\tTab first",
             "learnings": ["Plain"], "cash_savings_gbp_per_year": None, "hours_saved_per_year": None,
             "people_affected": 0, "recorded_at": _iso(30), "adoptions": 1, "adopted_by": [d1]},
    }
    ordered = sorted(want.values(), key=lambda r: (r["department"], r["recorded_at"], r["outcome_id"]))
    # In the CSV a learning's line breaks are spaces, one learning per line.
    in_csv = {**want[o1], "learnings": ['+Claimants prefer "one" short form not three', *want[o1]["learnings"][1:3],
                                        "Línea nueva; naïve café ☕"]}
    ordered_csv = [in_csv if r["outcome_id"] == str(o1) else r for r in ordered]

    settings = settings_for(dsn, kafka_bootstrap, [d1, d2, d3], open_data_publisher="Cabinet Office")
    async with running(settings) as service:
        await publish(kafka_bootstrap, events)
        await wait_applied(dsn, len(events))

        async def export(**params) -> tuple[dict, str]:
            js = await service.client.get("/v1/open-data/outcomes.json", params=params)
            cs = await service.client.get("/v1/open-data/outcomes.csv", params=params)
            assert js.status_code == cs.status_code == 200, (js.text, cs.text)
            assert js.headers["link"] == cs.headers["link"] == LINK
            assert cs.headers["content-type"] == "text/csv; charset=utf-8"
            assert cs.headers["content-disposition"] == 'attachment; filename="innovation-outcomes.csv"'
            return js.json(), cs.text

        body, text = await export()
        assert body["licence"] == {"name": "Open Government Licence v3.0", "url": OGL} == LICENCE
        assert body["fields"] == dictionary()
        assert body["outcomes"] == ordered
        rows = list(csv.DictReader(io.StringIO(text, newline="")))
        assert list(rows[0]) == list(FIELDS)
        assert [_from_csv(r) for r in rows] == ordered_csv
        [first] = [r for r in rows if r["outcome_id"] == str(o1)]
        assert first["summary"].startswith("'=HYPERLINK") and first["learnings"].startswith("'+Claimants")
        assert text.count("\r\n") >= len(rows) + 1  # RFC 4180 line ends

        dictionary_response = await service.client.get("/v1/open-data/outcomes-dictionary.csv")
        assert dictionary_response.status_code == 200 and dictionary_response.headers["link"] == LINK
        described = list(csv.DictReader(io.StringIO(dictionary_response.text, newline="")))
        assert [d["field"] for d in described] == list(rows[0]) == list(FIELDS)
        assert described == dictionary()

        index_response = await service.client.get("/v1/open-data")
        index = index_response.json()
        assert index["licence"] == LICENCE and index_response.headers["link"] == LINK
        assert index["publisher"] == "Cabinet Office"  # the operator's setting
        assert index["attribution"] == "Contains public sector information licensed under the Open Government " \
                                       "Licence v3.0."
        [dataset] = index["datasets"]
        urls = [d["url"] for d in dataset["distributions"]] + [dataset["dictionary"]]
        assert urls == ["/v1/open-data/outcomes.csv", "/v1/open-data/outcomes.json",
                        "/v1/open-data/outcomes-dictionary.csv"]

        bodies = [index_response.text, (await service.client.get("/v1/open-data/outcomes.json")).text, text,
                  dictionary_response.text]
        for leaked in [*pseudonyms, *markers, "ideatext", "@example.org", "@dwp.gov.uk", "Bob", "Smith",
                       "07700 900456", "7700 900123", "12 34 56", "\x00"]:
            assert not [b for b in bodies if leaked in b], leaked

        # One department's outcomes; an unknown department has none; a malformed code is refused.
        body_d2, text_d2 = await export(department=d2)
        assert body_d2["outcomes"] == [want[o3]]
        assert [_from_csv(r) for r in csv.DictReader(io.StringIO(text_d2, newline=""))] == [want[o3]]
        body_none, text_none = await export(department="tnever-seen")
        assert body_none["outcomes"] == [] and text_none == ",".join(FIELDS) + "\r\n"
        for path in ("/v1/open-data/outcomes.json", "/v1/open-data/outcomes.csv"):
            refused = await service.client.get(path, params={"department": "Not A Department"})
            assert refused.status_code == 422 and "department" in refused.text

        # A rebuild from offset 0 gives the same export.
        await rebuild(settings, batch=4, report=lambda line: None, report_every=0)
        again, text_again = await export()
        assert again["outcomes"] == ordered and text_again == text


async def test_an_operators_key_requirement_covers_open_data(kafka_bootstrap, new_database, department):
    dsn = await new_database("reporting")
    paths = ["/v1/open-data", "/v1/open-data/outcomes.json", "/v1/open-data/outcomes.csv",
             "/v1/open-data/outcomes-dictionary.csv"]
    async with running(settings_for(dsn, kafka_bootstrap, [department], require_viewer_key=True)) as service:
        assert [(await service.client.get(p)).status_code for p in paths] == [401] * 4
        authorised = await viewer_key_header(dsn, department)
        assert [(await service.client.get(p, headers=authorised)).status_code for p in paths] == [200] * 4
