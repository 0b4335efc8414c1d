"""Open data of outcomes: the dataset's one definition, its record shaping, its generated documentation, and
that whatever events arrive, no person, pseudonym or idea text reaches it."""

from __future__ import annotations

import csv
import io
import json
import re
import uuid
from datetime import date, datetime, timezone
from pathlib import Path

from hypothesis import HealthCheck, Phase, given, settings, strategies as st

from services.reporting.domain import REMOVED, Changes, project, published
from services.reporting.http import FORMULA_STARTS
from services.reporting.open_data import FIELDS, TYPES, csv_row, dictionary, outcomes_csv, record, render
from shared.events import (
    Benefits, ConversationRecorded, ExperimentAbandoned, ExperimentPlanned, ExperimentRescheduled, IdeaBacked,
    IdeaDeclined, IdeaEndorsed, IdeaReviewed, IdeaShortlisted, IdeaSubmitted, Measure, MeasurementRecorded,
    OutcomeAdopted, OutcomeRecorded, Scores, new_event,
)

ROOT = Path(__file__).resolve().parents[3]


def test_docs_open_data_md_is_generated_from_the_definition():
    assert (ROOT / "docs" / "open-data.md").read_text() == render(), \
        "run: python -m services.reporting open-data-doc > docs/open-data.md"


def test_the_dictionary_is_fields_in_order_each_with_its_type():
    assert list(FIELDS) == [
        "outcome_id", "department", "experiment_id", "idea_id", "themes", "result", "recommendation", "summary",
        "learnings", "cash_savings_gbp_per_year", "hours_saved_per_year", "people_affected", "recorded_at",
        "adoptions", "adopted_by"]
    assert [(d["field"], d["type"]) for d in dictionary()] == [(name, kind) for name, (kind, _) in FIELDS.items()]
    assert all(d["description"].endswith(TYPES[d["type"]]) for d in dictionary())
    [learnings] = [d for d in dictionary() if d["field"] == "learnings"]
    assert "one text per line" in learnings["description"] and "written as a space" in learnings["description"]


OUTCOME, EXPERIMENT, IDEA = (uuid.UUID(int=n) for n in (1, 2, 3))
AT = datetime(2026, 3, 2, 9, 30, tzinfo=timezone.utc)


def _row(**changes) -> dict:
    """A row as the SQL returns it, with a column the dataset does not publish."""
    return {"outcome_id": OUTCOME, "department": "dwp", "experiment_id": EXPERIMENT, "idea_id": IDEA,
            "themes": ["ai", "customer-service"], "result": "succeeded", "recommendation": "adopt_elsewhere",
            "summary": "=Worked", "learnings": ["One form\r\nnot three", "Print\nless\u2028now"],
            "cash_savings_gbp_per_year": 12000.0, "hours_saved_per_year": None, "people_affected": 150,
            "recorded_at": AT, "adoptions": 3, "adopted_by": ["hmrc", "moj"], "title": "never published",
            **changes}


def test_a_row_becomes_a_record_in_fields_order_with_json_values():
    rec = record(_row())
    assert list(rec) == list(FIELDS)
    assert rec == {
        "outcome_id": str(OUTCOME), "department": "dwp", "experiment_id": str(EXPERIMENT), "idea_id": str(IDEA),
        "themes": ["ai", "customer-service"], "result": "succeeded", "recommendation": "adopt_elsewhere",
        "summary": "=Worked", "learnings": ["One form\r\nnot three", "Print\nless\u2028now"],
        "cash_savings_gbp_per_year": 12000.0, "hours_saved_per_year": None, "people_affected": 150,
        "recorded_at": "2026-03-02T09:30:00+00:00", "adoptions": 3, "adopted_by": ["hmrc", "moj"]}
    assert json.loads(json.dumps(rec)) == rec


def test_a_record_becomes_a_csv_row_lists_joined_one_learning_per_line():
    assert csv_row(record(_row())) == {
        "outcome_id": str(OUTCOME), "department": "dwp", "experiment_id": str(EXPERIMENT), "idea_id": str(IDEA),
        "themes": "ai;customer-service", "result": "succeeded", "recommendation": "adopt_elsewhere",
        "summary": "=Worked", "learnings": "One form not three\nPrint less now",
        "cash_savings_gbp_per_year": 12000.0, "hours_saved_per_year": None, "people_affected": 150,
        "recorded_at": "2026-03-02T09:30:00+00:00", "adoptions": 3, "adopted_by": "hmrc;moj"}
    empty = csv_row(record(_row(themes=[], adopted_by=[], adoptions=0, summary=None)))
    assert (empty["themes"], empty["adopted_by"], empty["adoptions"], empty["summary"]) == ("", "", 0, None)


def test_the_csv_has_the_dictionarys_columns_even_without_a_record():
    assert outcomes_csv([]) == ",".join(FIELDS) + "\r\n"
    [row] = list(csv.DictReader(io.StringIO(outcomes_csv([record(_row())]), newline="")))
    assert list(row) == list(FIELDS)
    assert row["summary"] == "'=Worked"  # spreadsheet-safe
    assert row["hours_saved_per_year"] == "" and row["people_affected"] == "150"


@given(st.lists(st.text(), min_size=1, max_size=5), st.text())
def test_learnings_come_back_from_the_csv_one_per_line(learnings, summary):
    [row] = list(csv.DictReader(io.StringIO(outcomes_csv([record(_row(learnings=learnings, summary=summary))]),
                                            newline="")))
    one_line = [" ".join(re.split(r"\r\n|[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]", text)) for text in learnings]
    cell = row["learnings"]
    if one_line[0].startswith(FORMULA_STARTS):
        assert cell.startswith("'")
        cell = cell[1:]
    back = cell.split("\n")
    assert back == one_line
    assert all(len(line.splitlines()) <= 1 for line in back)
    assert row["summary"] in (summary, "'" + summary)


# --- privacy: what identifies a person never reaches the open data, whatever the events -------------------------

PSEUDONYMS = st.from_regex(r"p_[0-9a-f]{16}", fullmatch=True)
EMAILS = st.emails()


@st.composite
def mobiles(draw) -> str:
    """A UK mobile number as people write it."""
    n = "7" + draw(st.text("0123456789", min_size=9, max_size=9))
    a, b, c, d = n[:4], n[4:], n[4:7], n[7:]
    return draw(st.sampled_from([
        f"0{a} {b}", f"0{a}{b}", f"0{a} {c} {d}", f"(0{a}) {b}", f"0{a}-{c}-{d}", f"0{a}-{b}", f"0{a}.{c}.{d}",
        f"+44 {a} {b}", f"+44{a}{b}", f"+44 {a} {c} {d}", f"+44 (0){a} {b}", f"+44 (0) {a} {b}", f"0044 {a} {b}",
    ]))


_NI_FIRST, _NI_SECOND = "ABCEGHJKLMNOPRSTWXYZ", "ABCEGHJKLMNPRSTWXYZ"  # HMRC's rules for the prefix letters


@st.composite
def ni_numbers(draw) -> str:
    """A National Insurance number as people write it."""
    prefix = draw(st.sampled_from(_NI_FIRST)) + draw(st.sampled_from(_NI_SECOND))
    digits, suffix = draw(st.text("0123456789", min_size=6, max_size=6)), draw(st.sampled_from("ABCD"))
    written = draw(st.sampled_from([f"{prefix}{digits}{suffix}", f"{prefix} {digits[:2]} {digits[2:4]} {digits[4:]} {suffix}",
                                    f"{prefix} {digits} {suffix}"]))
    return draw(st.sampled_from([written, written.lower()]))


_PSEUDONYM_SHAPED = re.compile(r"p_[0-9a-fA-F]{16}")
IDENTIFIERS = st.one_of(PSEUDONYMS, EMAILS, mobiles(), ni_numbers())
# Words that cannot make an identifier of their own (no digits, no @, no _), separated from the identifiers by
# whitespace as people write them.
WORDS = st.text(st.characters(blacklist_categories=("Nd", "Cs", "Zs", "Zl", "Zp", "Cc"), blacklist_characters="@_"),
                min_size=1, max_size=8)
SEPARATORS = st.sampled_from([" ", "  ", "\n", "\r\n", "\t", "\u00a0"])


@st.composite
def hostile_text(draw, max_pieces: int = 6) -> tuple[str, list[str]]:
    """Text with identifiers among words; returns it and the identifiers in it."""
    pieces = draw(st.lists(st.tuples(st.booleans(), WORDS, IDENTIFIERS), min_size=1, max_size=max_pieces))
    chosen = [(identifier if is_identifier else word, is_identifier) for is_identifier, word, identifier in pieces]
    separators = [draw(SEPARATORS) for _ in chosen]
    text = "".join(piece + sep for (piece, _), sep in zip(chosen, separators))
    return text, [piece for piece, is_identifier in chosen if is_identifier]


WRAPPINGS = st.sampled_from([("", ""), ("(", ")"), ("", ","), ("", "."), ("<", ">"), ('"', '"'), ("", ";")])


@settings(max_examples=300)
@given(st.lists(st.tuples(st.booleans(), WORDS, IDENTIFIERS, WRAPPINGS, SEPARATORS), min_size=1, max_size=8))
def test_published_text_has_each_identifier_replaced_whole_and_every_other_word_kept(pieces):
    text = "".join((f"{before}{identifier}{after}" if is_identifier else word) + sep
                   for is_identifier, word, identifier, (before, after), sep in pieces)
    want = "".join((f"{before}{REMOVED}{after}" if is_identifier else word) + sep
                   for is_identifier, word, identifier, (before, after), sep in pieces)
    assert published(text) == want


def test_nul_inside_an_identifier_does_not_hide_it():
    assert published("call 07700\x00 900123 or bob\x00@example.org") == f"call {REMOVED} or {REMOVED}"


def _ev(data, department: str, service: str = "ideas"):
    return new_event(data, department=department, service=service)


@st.composite
def hostile_events(draw):
    """Two departments' events in which people are pseudonyms, ideas' (and experiments' and adoptions') free text
    carries markers, and outcomes' summaries and learnings carry identifiers. Returns the events, the markers, the
    pseudonyms and the identifiers written in outcomes."""
    markers: list[str] = []
    pseudonyms: list[str] = []
    identifiers: list[str] = []

    def written(max_pieces: int) -> str:
        text, found = draw(hostile_text(max_pieces))
        identifiers.extend(found)
        pseudonyms.extend(f for f in found if _PSEUDONYM_SHAPED.fullmatch(f))
        return text

    def marker() -> str:  # "ideatext" is not hex: no UUID, number or code can contain it
        markers.append(f"ideatext{draw(st.uuids()).hex[:8]}")
        return f"{markers[-1]} {written(2)}"

    def who() -> str:
        pseudonyms.append(draw(PSEUDONYMS))
        return pseudonyms[-1]

    events, ideas, outcomes = [], [], []
    departments = ("dwp", "hmrc")
    for _ in range(draw(st.integers(1, 3))):
        dept, idea = draw(st.sampled_from(departments)), uuid.uuid4()
        ideas.append((dept, idea))
        events.append(_ev(IdeaSubmitted(
            idea_id=idea, title=marker()[:200],
            problem=marker(), proposal=marker(), expected_benefits=marker(), team=marker(), submitted_by=who(),
            themes=draw(st.lists(st.sampled_from(["ai", "net-zero", "customer-service"]), max_size=2, unique=True)),
            campaign="one-big-thing", conversation_id=uuid.uuid4()), dept))
        events += [
            _ev(IdeaEndorsed(idea_id=idea, endorsed_by=who()), dept),
            _ev(IdeaReviewed(idea_id=idea, reviewer=who(), scores=Scores(impact=1, feasibility=2, value_for_money=3,
                                                                         alignment=4), comment=marker()), dept),
            _ev(IdeaShortlisted(idea_id=idea, by=who(), note=marker()), dept),
            _ev(draw(st.sampled_from([
                IdeaBacked(idea_id=idea, sponsor=who(), budget_gbp=10.0, staff_days=1.0, timebox_weeks=2, note=marker()),
                IdeaDeclined(idea_id=idea, by=who(), reason="other", note=marker())])), dept),
            _ev(ConversationRecorded(conversation_id=uuid.uuid4(), team=marker(), participants=3,
                                     held_on=date(2026, 3, 3), ideas_raised=1), dept),
        ]
    for _ in range(draw(st.integers(1, 4))):
        dept = draw(st.sampled_from(departments))
        idea = draw(st.sampled_from([i for d, i in ideas if d == dept] + [uuid.uuid4()]))  # or one never seen
        experiment, outcome = uuid.uuid4(), uuid.uuid4()
        outcomes.append((dept, outcome))
        events += [
            _ev(ExperimentPlanned(
                experiment_id=experiment, idea_id=idea, hypothesis=marker(), by=who(), squad=(who(),),
                measure=Measure(name=marker(), unit="calls", baseline=1.0, target=2.0, direction="increase"),
                starts_on=date(2026, 3, 20), ends_on=date(2026, 4, 20), squad_size=2, budget_gbp=5.0, staff_days=1.0),
                dept, "experiments"),
            _ev(MeasurementRecorded(experiment_id=experiment, measured_on=date(2026, 3, 27), value=1.5, note=marker(),
                                    by=who()), dept, "experiments"),
            _ev(ExperimentRescheduled(experiment_id=experiment, ends_on=date(2026, 5, 1), reason=marker(), by=who()),
                dept, "experiments"),
            _ev(OutcomeRecorded(
                outcome_id=outcome, experiment_id=experiment, idea_id=idea,
                result=draw(st.sampled_from(["succeeded", "failed", "inconclusive"])), summary=written(6),
                learnings=tuple(written(4) for _ in range(draw(st.integers(1, 3)))),
                benefits=Benefits(cash_savings_gbp_per_year=draw(st.none() | st.floats(0, 1e6)),
                                  hours_saved_per_year=draw(st.none() | st.floats(0, 1e6)),
                                  people_affected=draw(st.none() | st.integers(0, 10**6))),
                recommendation=draw(st.sampled_from(["scale", "adopt_elsewhere", "iterate", "stop"])), by=who()),
                dept, "experiments"),
        ]
        if draw(st.booleans()):
            events.append(_ev(ExperimentAbandoned(experiment_id=experiment, reason=marker(), by=who()), dept,
                              "experiments"))
    for _ in range(draw(st.integers(0, 3))):
        origin, origin_outcome = draw(st.sampled_from(outcomes + [("moj", uuid.uuid4())]))
        adopting = draw(st.sampled_from(departments))
        events.append(_ev(OutcomeAdopted(adoption_id=uuid.uuid4(), origin_department=origin,
                                         origin_outcome_id=origin_outcome, adopting_department=adopting,
                                         adopted_by=who(), note=marker()), adopting, "experiments"))
    return events, markers, pseudonyms, identifiers


def rows_of(changes: Changes) -> list[dict]:
    """The rows open_data's SQL reads from the tables the projection's changes fill, every column of the outcome
    row included."""
    rows = []
    for (dept, outcome_id), outcome in sorted(changes.outcomes.items(), key=lambda kv: (kv[0][0], kv[1].recorded_at,
                                                                                         kv[0][1])):
        idea = changes.ideas.get((dept, outcome.idea_id))
        adoptions = [a for a in changes.adoptions.values()
                     if (a.origin_department, a.origin_outcome_id) == (dept, outcome_id)]
        rows.append(outcome._asdict() | {
            "themes": list(idea.themes) if idea else [],
            "learnings": [l.learning for key, l in sorted(changes.learnings.items()) if key[:2] == (dept, outcome_id)],
            "adoptions": len(adoptions),
            "adopted_by": sorted({a.adopting_department for a in adoptions}),
        })
    return rows


# No shrinking: shrinking these events takes minutes, and a failure names what leaked and where.
@settings(max_examples=40, deadline=None, phases=[Phase.explicit, Phase.reuse, Phase.generate],
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(hostile_events())
def test_no_pseudonym_identifier_or_idea_text_reaches_the_open_data(generated):
    events, markers, pseudonyms, identifiers = generated
    records = [record(r) for r in rows_of(project(events))]
    assert len(records) == sum(isinstance(e.data, OutcomeRecorded) for e in events)
    bodies = [json.dumps(records, ensure_ascii=False), outcomes_csv(records)]
    for body in bodies:
        assert not _PSEUDONYM_SHAPED.search(body)
        assert not [p for p in pseudonyms if p in body]
        assert "ideatext" not in body, markers
    texts = [r["summary"] for r in records] + [learning for r in records for learning in r["learnings"]]
    texts += [cell for row in csv.DictReader(io.StringIO(bodies[1], newline="")) for cell in (row["summary"],
                                                                                              row["learnings"])]
    assert not [(i, t) for t in texts for i in identifiers if i in t]
    written = {(e.department, str(e.data.outcome_id)): e.data for e in events if isinstance(e.data, OutcomeRecorded)}
    for r in records:  # each outcome's own text, cleaned, and nothing else
        data = written[(r["department"], r["outcome_id"])]
        assert r["summary"] == published(data.summary)
        assert r["learnings"] == [published(learning) for learning in data.learnings]
