"""Pure: the review panel's pages. The scoring guidance, the panel's forms (from the posted fields to the ideas
API's bodies, with GOV.UK error messages), the API's refusals as messages, and what the pages make of the API's
answers (reviewers as "Reviewer 1..n", the ranking's averages, what the person may still do, merge targets)."""

import re
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from services.portal.forms import Form, check_text, refused_into, typed_text
from services.portal.story import DECLINE_REASONS, SLUG, WORDS, long_day

TEXT_LIMIT = 2000  # every note and comment (the event catalogue's limit)
OPEN = ("submitted", "shortlisted")


@dataclass(frozen=True)
class Criterion:
    name: str
    label: str
    question: str
    guidance: tuple[str, str, str, str, str]  # what a score of 1..5 means

    def choices(self) -> list[tuple[int, str]]:
        return list(enumerate(self.guidance, start=1))


CRITERIA = (
    Criterion("impact", "Impact", "How much difference would it make, and to how many people?", (
        "Hardly anyone would notice the difference",
        "A small improvement for one team",
        "A clear improvement for a team or for some of the people it serves",
        "A big improvement for many people, or saves a lot of time",
        "Changes things for many people or a lot of money",
    )),
    Criterion("feasibility", "Feasibility", "How easily could a small team try it within a few weeks?", (
        "Not possible now: it needs new law, new systems or money we do not have",
        "Hard: it needs several teams, new systems or senior approval",
        "Possible with some work and help from another team",
        "Straightforward: the team could try it with a little help",
        "Could start next week with what the team already has",
    )),
    Criterion("value_for_money", "Value for money", "What would it return for what it costs?", (
        "Costs more than it could ever return",
        "Returns about what it costs, or the return is very uncertain",
        "Returns more than it costs within a few years",
        "Returns several times what it costs",
        "Costs very little and returns a lot, quickly",
    )),
    Criterion("alignment", "Alignment", "How well does it fit the department's priorities?", (
        "Does not fit any of the department's priorities",
        "Touches a priority only loosely",
        "Supports one of the department's priorities",
        "Directly advances one of the department's main priorities",
        "Central to what the department has committed to deliver",
    )),
)
CRITERION_LABELS = {c.name: c.label for c in CRITERIA}


DONE = {  # the success banner after each action (post/redirect/get)
    "scored": "Your scores have been saved",
    "shortlisted": "The idea has been shortlisted",
    "backed": "The idea has been backed",
    "declined": "The idea has been declined",
    "merged": "The idea has been merged",
}

LABELS = {  # every field of the panel's forms, by its name (= the element's id)
    **CRITERION_LABELS,
    "comment": "Comment",
    "shortlist_note": "Note",
    "budget_gbp": "Budget",
    "staff_days": "Staff days",
    "timebox_weeks": "Time box",
    "back_note": "Note",
    "reason": "Reason",
    "decline_note": "Note",
    "q": "Words",
    "target": "Idea to merge into",
}


def _check_text(form: Form, name: str, required: str | None = None) -> str | None:
    return check_text(form, name, LABELS[name], TEXT_LIMIT, required)


def score_form(posted: dict[str, str]) -> Form:
    """Four scores 1-5 (radios) and an optional comment -> {scores: {...}, comment?}."""
    form = Form({c.name: posted.get(c.name, "").strip() for c in CRITERIA} | {"comment": typed_text(posted, "comment")})
    scores = {}
    for criterion in CRITERIA:
        value = form.values[criterion.name]
        if not value:
            form.errors[criterion.name] = f"Choose a score for {criterion.label.lower()}"
        elif value not in ("1", "2", "3", "4", "5"):
            form.errors[criterion.name] = f"Choose a score for {criterion.label.lower()} from 1 to 5"
        else:
            scores[criterion.name] = int(value)
    comment = _check_text(form, "comment")
    form.body = {"scores": scores} | ({"comment": comment} if comment else {})
    return form


def shortlist_form(posted: dict[str, str]) -> Form:
    form = Form({"shortlist_note": typed_text(posted, "shortlist_note")})
    note = _check_text(form, "shortlist_note")
    form.body = {"note": note} if note else {}
    return form


MONEY = re.compile(r"^\d+(\.\d{1,2})?$")
DAYS = re.compile(r"^\d+(\.\d{1,2})?$")


def back_form(posted: dict[str, str]) -> Form:
    """Budget in pounds (a £ and thousands commas allowed), staff days (halves allowed) and a time box in whole
    weeks, 1 to 52 -> {budget_gbp, staff_days, timebox_weeks, note?}."""
    names = ("budget_gbp", "staff_days", "timebox_weeks", "back_note")
    form = Form({name: posted.get(name, "").strip() for name in names[:3]} | {"back_note": typed_text(posted, "back_note")})
    budget = form.values["budget_gbp"].removeprefix("£").replace(",", "").strip()
    if not budget:
        form.errors["budget_gbp"] = "Enter the budget in pounds"
    elif not MONEY.match(budget) or float(budget) > 1_000_000_000:
        form.errors["budget_gbp"] = "Budget must be an amount in pounds from 0 to 1,000,000,000, like 12,500"
    days = form.values["staff_days"]
    if not days:
        form.errors["staff_days"] = "Enter the number of staff days"
    elif not DAYS.match(days) or float(days) > 1_000_000:
        form.errors["staff_days"] = "Staff days must be a number from 0 to 1,000,000, like 20 or 7.5"
    weeks = form.values["timebox_weeks"]
    if not weeks:
        form.errors["timebox_weeks"] = "Enter the time box in weeks"
    elif not weeks.isascii() or not weeks.isdigit() or not 1 <= int(weeks) <= 52:
        form.errors["timebox_weeks"] = "Time box must be a whole number of weeks from 1 to 52"
    note = _check_text(form, "back_note")
    if not form.errors:
        form.body = {"budget_gbp": float(budget), "staff_days": float(days), "timebox_weeks": int(weeks)}
        form.body |= {"note": note} if note else {}
    return form


def decline_form(posted: dict[str, str]) -> Form:
    """A reason from the catalogue's list and a note for the person who raised it -> {reason, note}."""
    form = Form({"reason": posted.get("reason", "").strip(), "decline_note": typed_text(posted, "decline_note")})
    if not form.values["reason"]:
        form.errors["reason"] = "Choose why the idea is declined"
    elif form.values["reason"] not in DECLINE_REASONS:
        form.errors["reason"] = "Choose a reason from the list"
    note = _check_text(form, "decline_note", required="Enter a note for the person who raised the idea")
    form.body = {"reason": form.values["reason"], "note": note or ""}
    return form


def merge_search(q: str | None) -> Form:
    """The words to look for a merge target with: 3 to 100 characters (central reporting's similar ideas need 3)."""
    form = Form({"q": (q or "").strip()})
    words = form.values["q"]
    if q is not None and not words:
        form.errors["q"] = "Enter words from the title of the idea to merge into"
    elif words and (not 3 <= len(words) <= 100 or not WORDS.match(words)):
        form.errors["q"] = "Words must be 3 to 100 characters"
    return form


@dataclass(frozen=True)
class Target:
    """An idea this one could be merged into: of this department (ideas API) or another (central reporting)."""

    department: str
    idea_id: str
    title: str
    status: str
    here: bool

    @property
    def value(self) -> str:
        return f"{self.department}/{self.idea_id}"


def merge_targets(idea_id: str, department: str, own: list[dict[str, Any]], elsewhere: list[dict[str, Any]]) -> list[Target]:
    """Ideas of this department first, then other departments', without the idea itself or repeats."""
    targets, seen = [], {(department, str(idea_id))}
    for found, here in ((own, True), (elsewhere, False)):
        for idea in found:
            where = department if here else str(idea.get("department", ""))
            key = (where, str(idea.get("idea_id", "")))
            if key in seen or not key[1] or (not here and where == department):
                continue
            seen.add(key)
            targets.append(Target(where, key[1], str(idea.get("title") or "An idea"), str(idea.get("status") or ""), here))
    return targets


def merge_choice(posted: dict[str, str], idea_id: str, department: str) -> Form:
    """The chosen target "<department>/<idea id>" -> {into_department, into_idea_id}."""
    form = Form({"target": posted.get("target", "").strip(), "q": posted.get("q", "").strip()[:100]})
    into_department, _, into_idea = form.values["target"].partition("/")
    if not form.values["target"]:
        form.errors["target"] = "Choose the idea to merge into"
        return form
    try:
        into = UUID(into_idea)
    except ValueError:
        into = None
    if into is None or not SLUG.match(into_department) or len(into_department) > 31:
        form.errors["target"] = "Choose an idea from the list"
    elif into_department == department and str(into) == str(idea_id):
        form.errors["target"] = "An idea cannot be merged into itself: choose another"
    else:
        form.body = {"into_department": into_department, "into_idea_id": str(into)}
    return form


# The API's refusals


def refused_fields(form: Form, fields: tuple[str, ...], detail: list[dict[str, Any]], whole: str) -> Form:
    """The API's 422 detail on the form's fields: scores.impact is the impact radios, note the form's own note."""
    def field_of(api_field: str) -> str | None:
        name = api_field.split(".")[-1]
        return next((f for f in fields if f == name or f.endswith(f"_{name}")), None)
    return refused_into(form, detail, whole, field_of, LABELS)


def refusal_message(status: int, body: dict[str, Any], action: str) -> str:
    """A 403 or 409 of the ideas API in the page's words: own idea, a second review, the idea's state."""
    said = " ".join(str(x) for x in (body.get("error"), body.get("reason"),
                                     *(d.get("rule") for d in body.get("detail") or [] if isinstance(d, dict))) if x)
    if status == 403:
        if "role" in said:
            return f"You cannot {action} this idea: only reviewers and admins can"
        return f"You raised this idea, so you cannot {action} it"
    if status == 409 and "already" in said and "review" in said:
        return "You have already scored this idea"
    state = body.get("status")
    if status == 409 and state:
        return f"This idea is {state} now, so it cannot be {DONE_VERBS.get(action, action)}"
    return f"This idea cannot be {DONE_VERBS.get(action, action)} now"


DONE_VERBS = {"score": "scored", "shortlist": "shortlisted", "back": "backed", "decline": "declined",
              "merge": "merged"}


# Page data


def my_review(reviews: list[dict[str, Any]], me: str) -> dict[str, Any] | None:
    return next((r for r in reviews if r.get("reviewer") == me), None)


@dataclass(frozen=True)
class ShownReview:
    label: str  # "Reviewer 1", in the order they reviewed; never the pseudonym
    yours: bool
    scores: list[tuple[str, int]]
    comment: str
    on: str


def reviews_shown(reviews: list[dict[str, Any]], me: str | None = None) -> list[ShownReview]:
    ordered = sorted(reviews, key=lambda r: str(r.get("reviewed_at") or ""))
    return [ShownReview(f"Reviewer {n}", bool(me) and r.get("reviewer") == me,
                        [(c.label, (r.get("scores") or {}).get(c.name)) for c in CRITERIA],
                        str(r.get("comment") or ""), long_day(r.get("reviewed_at")))
            for n, r in enumerate(ordered, start=1)]


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def overall(scores: dict[str, Any] | None) -> float | None:
    """The average of the four criteria's averages (the API's `overall` when it gives one)."""
    if not scores:
        return None
    if _number(scores.get("overall")) is not None:
        return float(scores["overall"])
    values = [_number(scores.get(c.name)) for c in CRITERIA]
    return round(sum(values) / len(values), 2) if all(v is not None for v in values) else None


def averages(scores: dict[str, Any] | None) -> list[tuple[str, str]]:
    """(label, "3.5") for each criterion, then overall; empty before any review."""
    if not scores:
        return []
    shown = [(c.label, _score(scores.get(c.name))) for c in CRITERIA]
    return shown + [("Overall", _score(overall(scores)))]


def _score(value: Any) -> str:
    number = _number(value)
    return "–" if number is None else f"{number:.1f}".removesuffix(".0")


@dataclass(frozen=True)
class Ranked:
    idea_id: str
    title: str
    reviews: int
    overall: str
    scores: list[str]  # the four criteria's averages, in CRITERIA order


def ranking(items: list[dict[str, Any]]) -> list[Ranked]:
    """Shortlisted ideas, best overall average first (the API's order; ties keep it)."""
    rows = [(overall(i.get("scores")), n, i) for n, i in enumerate(items)]
    rows.sort(key=lambda row: (-(row[0] if row[0] is not None else -1), row[1]))
    return [Ranked(str(i["idea_id"]), str(i.get("title", "")), int(i.get("reviews") or 0), _score(o),
                   [_score((i.get("scores") or {}).get(c.name)) for c in CRITERIA]) for o, _, i in rows]


@dataclass(frozen=True)
class Actions:
    """What the person may do on an idea's panel page, and why not when they may do nothing."""

    score: bool
    shortlist: bool
    back: bool
    decline: bool
    merge: bool
    why_not: str = ""

    @property
    def decide(self) -> bool:
        return self.shortlist or self.back or self.decline or self.merge


def actions(idea: dict[str, Any], mine: bool, reviewed: bool) -> Actions:
    status = idea.get("status")
    if mine:
        return Actions(False, False, False, False, False, "You raised this idea, so you cannot review it or decide on it.")
    open_ = status in OPEN
    why = "" if open_ else f"This idea is {status}: there is nothing more to decide."
    return Actions(open_ and not reviewed, status == "submitted", status == "shortlisted", open_, open_, why)


def queue_rows(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The queue's ideas (oldest first, in the API's order) with the date each was raised and its reviews so far."""
    return [{"idea_id": str(i["idea_id"]), "title": str(i.get("title", "")), "submitted": long_day(i.get("submitted_at")),
             "reviews": int(i.get("reviews") or 0), "status": i.get("status")} for i in items]
