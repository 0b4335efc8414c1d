"""Pure: the squad's pages. Their forms (from the posted fields to the experiments API's bodies, with GOV.UK error
messages: date inputs, money and numbers), the API's refusals as messages, what the pages make of an experiment
(the actions its state allows, its history as who did what, overdue), and its chart as SVG geometry."""

import math
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from services.portal.forms import Form, check_text, refused_into, typed_text
from services.portal.story import RECOMMENDATIONS, RESULTS, long_day, money

STATUSES = ("planning", "running", "completed", "abandoned")
OPEN = ("planning", "running")
STATUS_COLOURS = {"planning": "blue", "running": "turquoise", "completed": "green", "abandoned": "grey"}
DIRECTIONS = {"increase": "Higher is better", "decrease": "Lower is better"}
MAX_LEARNINGS = 20
MAX_SQUAD = 50

DONE = {  # the success banner after each action (post/redirect/get)
    "planned": "The plan has been saved",
    "started": "The experiment has started",
    "measured": "The measurement has been recorded",
    "rescheduled": "The experiment has been rescheduled",
    "completed": "The experiment is complete and its outcome recorded",
    "abandoned": "The experiment has been abandoned",
}

LABELS = {  # every field of the squad's forms, by its name (= the element's id, or its first part's)
    "hypothesis": "Hypothesis", "measure_name": "What you will measure", "measure_unit": "Unit",
    "baseline": "Baseline", "target": "Target", "direction": "Which way is better",
    "starts_on": "Start date", "ends_on": "End date", "squad_size": "Squad size", "budget_gbp": "Budget",
    "staff_days": "Staff days", "measured_on": "Date of the measurement", "value": "Value", "note": "Note",
    "reason": "Reason", "result": "Result", "summary": "Summary", "learnings": "Learnings",
    "cash_savings_gbp_per_year": "Cash savings a year", "hours_saved_per_year": "Hours saved a year",
    "people_affected": "People affected", "recommendation": "Recommendation",
}
# The API's field names (its 422 detail) as the forms' fields.
API_FIELDS = {"measure.name": "measure_name", "measure.unit": "measure_unit", "measure.baseline": "baseline",
              "measure.target": "target", "measure.direction": "direction"}
DATE_FIELDS = ("starts_on", "ends_on", "measured_on")
DATE_PARTS = ("day", "month", "year")


class SquadForm(Form):
    """A squad form, whose error links go to a date input's day or a radios group's first radio."""

    def anchor(self, name: str) -> str:
        """The element an error summary's link goes to: a date input's day, a radios group's first radio."""
        if name in DATE_FIELDS:
            return f"{name}-day"
        if name in RADIOS:
            return f"{name}-{next(iter(RADIOS[name]))}"
        return name

    @property
    def anchors(self) -> dict[str, str]:
        return {name: self.anchor(name) for name in self.errors}


RADIOS = {"direction": DIRECTIONS, "result": RESULTS, "recommendation": RECOMMENDATIONS}


def _check_text(form: SquadForm, name: str, limit: int, required: str | None = None) -> str | None:
    return check_text(form, name, LABELS[name], limit, required)


DECIMAL = re.compile(r"^-?\d{1,15}(\.\d{1,6})?$")


def _number(form: SquadForm, name: str, *, low: float | None, high: float, example: str, required: str | None = None,
            whole: bool = False, money: bool = False) -> float | int | None:
    """A number typed as people type it: thousands commas, spaces, a £ for money; whole where it must be."""
    typed = form.values[name]
    if not typed:
        if required:
            form.errors[name] = required
        return None
    cleaned = re.sub(r"[,\s]", "", typed.removeprefix("£") if money else typed)
    label = LABELS[name]
    if whole:
        shape, kind = re.compile(r"^-?\d{1,12}$"), "a whole number"
    else:
        shape, kind = DECIMAL, ("an amount in pounds" if money else "a number")
    bounds = (f" from {_plain(low)} to {_plain(high)}" if low is not None else "")
    if len(typed) > 40 or not shape.match(cleaned):
        form.errors[name] = f"{label} must be {kind}{bounds}, like {example}"
        return None
    value = int(cleaned) if whole else float(cleaned)
    if (low is not None and value < low) or abs(value) > high:
        form.errors[name] = f"{label} must be {kind}{bounds or f' up to {_plain(high)}'}, like {example}"
        return None
    return value


def _plain(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,}"


def _date_values(posted: dict[str, str], name: str) -> dict[str, str]:
    return {f"{name}-{part}": posted.get(f"{name}-{part}", "").strip()[:10] for part in DATE_PARTS}


def _day(form: SquadForm, name: str, required: str) -> date | None:
    """A GOV.UK date input's three fields as a real date (a 4-digit year), or an error naming what is wrong."""
    day, month, year = (form.values[f"{name}-{part}"] for part in DATE_PARTS)
    label = LABELS[name]
    if not (day or month or year):
        form.errors[name] = required
        return None
    missing = [part for part, typed in zip(DATE_PARTS, (day, month, year)) if not typed]
    if missing:
        form.errors[name] = f"{label} must include a {' and a '.join(missing)}"
        return None
    if not all(p.isascii() and p.isdigit() for p in (day, month, year)) or len(year) != 4:
        form.errors[name] = f"{label} must be a real date, like 27 3 2026"
        return None
    try:
        return date(int(year), int(month), int(day))
    except ValueError:
        form.errors[name] = f"{label} must be a real date, like 27 3 2026"
        return None


def _choice(form: SquadForm, name: str, required: str) -> str | None:
    value = form.values[name]
    if value in RADIOS[name]:
        return value
    form.errors[name] = required  # nothing chosen, or a value that is none of the choices
    return None


def as_day(value: Any) -> date | None:
    if value is None or isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


PLAN_FIELDS = ("hypothesis", "measure_name", "measure_unit", "baseline", "target", "direction", "starts_on", "ends_on",
               "squad_size", "budget_gbp", "staff_days")


def plan_values(experiment: dict[str, Any]) -> dict[str, str]:
    """The plan form filled in from the experiment (its current plan, or the backing's dates and resources)."""
    measure = experiment.get("measure") or {}
    values = {"hypothesis": experiment.get("hypothesis") or "", "measure_name": measure.get("name", ""),
              "measure_unit": measure.get("unit", ""), "baseline": _shown(measure.get("baseline")),
              "target": _shown(measure.get("target")), "direction": measure.get("direction", ""),
              "squad_size": str(experiment.get("squad_size") or ""),
              "budget_gbp": _shown(experiment.get("budget_gbp")), "staff_days": _shown(experiment.get("staff_days"))}
    for name in ("starts_on", "ends_on"):
        day = as_day(experiment.get(name))
        values |= {f"{name}-day": str(day.day), f"{name}-month": str(day.month), f"{name}-year": str(day.year)} \
            if day else _date_values({}, name)
    return values


def _shown(value: Any) -> str:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return ""
    return f"{value:g}" if abs(value) < 1e15 else str(value)


def plan_form(posted: dict[str, str], timebox_weeks: int) -> SquadForm:
    """The plan -> the API's body {hypothesis, measure: {...}, starts_on, ends_on, squad_size, budget_gbp,
    staff_days}; the end date must be after the start and inside the backed time box."""
    form = SquadForm({"hypothesis": typed_text(posted, "hypothesis")}
                     | {n: posted.get(n, "").strip() for n in ("measure_name", "measure_unit", "baseline", "target",
                                                                "direction", "squad_size", "budget_gbp", "staff_days")}
                     | _date_values(posted, "starts_on") | _date_values(posted, "ends_on"))
    hypothesis = _check_text(form, "hypothesis", 2000, "Enter the hypothesis: what you expect to change, and why")
    name = _check_text(form, "measure_name", 200, "Enter what you will measure")
    unit = _check_text(form, "measure_unit", 50, "Enter the unit of the measure, like minutes or calls a day")
    baseline = _number(form, "baseline", low=None, high=1e15, example="120 or 7.5",
                       required="Enter the baseline: the measure before the experiment")
    target = _number(form, "target", low=None, high=1e15, example="90 or 12.5",
                     required="Enter the target: the measure you hope to reach")
    direction = _choice(form, "direction", "Choose whether a higher or a lower value is better")
    if baseline is not None and target is not None and direction:
        if direction == "increase" and not target > baseline:
            form.errors["target"] = "Target must be more than the baseline when higher is better"
        elif direction == "decrease" and not target < baseline:
            form.errors["target"] = "Target must be less than the baseline when lower is better"
    starts = _day(form, "starts_on", "Enter the start date")
    ends = _day(form, "ends_on", "Enter the end date")
    if starts and ends:
        if not ends > starts:
            form.errors["ends_on"] = "End date must be after the start date"
        elif ends > starts + timedelta(weeks=timebox_weeks):
            latest = long_day(starts + timedelta(weeks=timebox_weeks))
            form.errors["ends_on"] = (f"End date must be within the backed time box of {timebox_weeks} "
                                      f"week{'s' if timebox_weeks != 1 else ''}: {latest} or earlier")
    squad = _number(form, "squad_size", low=1, high=MAX_SQUAD, example="4", whole=True,
                    required="Enter how many people are in the squad")
    budget = _number(form, "budget_gbp", low=0, high=1_000_000_000, example="5,000", money=True)
    days = _number(form, "staff_days", low=0, high=1_000_000, example="12 or 7.5")
    if not form.errors:
        form.body = {"hypothesis": hypothesis, "measure": {"name": name, "unit": unit, "baseline": float(baseline),
                                                           "target": float(target), "direction": direction},
                     "starts_on": starts.isoformat(), "ends_on": ends.isoformat(), "squad_size": squad}
        form.body |= ({"budget_gbp": float(budget)} if budget is not None else {}) \
            | ({"staff_days": float(days)} if days is not None else {})
    return form


def measurement_form(posted: dict[str, str], started_on: date | None, today: date) -> SquadForm:
    """A measurement: its date (from the start to today), its value, a note -> {measured_on, value, note?}."""
    form = SquadForm({"value": posted.get("value", "").strip(), "note": typed_text(posted, "note")}
                     | _date_values(posted, "measured_on"))
    measured = _day(form, "measured_on", "Enter the date of the measurement")
    if measured and measured > today:
        form.errors["measured_on"] = "Date of the measurement must be today or in the past"
    elif measured and started_on and measured < started_on:
        form.errors["measured_on"] = (f"Date of the measurement must be on or after the day the experiment started, "
                                      f"{long_day(started_on)}")
    value = _number(form, "value", low=None, high=1e15, example="95 or 3.25", required="Enter the value you measured")
    note = _check_text(form, "note", 2000)
    if not form.errors:
        form.body = {"measured_on": measured.isoformat(), "value": float(value)} | ({"note": note} if note else {})
    return form


def reschedule_form(posted: dict[str, str], starts_on: date | None, ends_on: date | None) -> SquadForm:
    """A new end date (after the start, not the current one) and the reason -> {ends_on, reason}."""
    form = SquadForm({"reason": typed_text(posted, "reason")} | _date_values(posted, "ends_on"))
    ends = _day(form, "ends_on", "Enter the new end date")
    if ends and starts_on and not ends > starts_on:
        form.errors["ends_on"] = f"End date must be after the start date, {long_day(starts_on)}"
    elif ends and ends == ends_on:
        form.errors["ends_on"] = "End date must be different from the current end date"
    reason = _check_text(form, "reason", 2000, "Enter why the experiment is being rescheduled")
    if not form.errors:
        form.body = {"ends_on": ends.isoformat(), "reason": reason}
    return form


def learnings_of(text: str) -> list[str]:
    """One learning per line; blank lines and a leading bullet (-, *, •) left out."""
    return [re.sub(r"^[-*•]\s*", "", line).strip() for line in text.split("\n") if re.sub(r"^[-*•]\s*", "", line).strip()]


def complete_form(posted: dict[str, str]) -> SquadForm:
    """The outcome -> {result, summary, learnings: [...], benefits: {...}, recommendation}."""
    form = SquadForm({"result": posted.get("result", "").strip(), "summary": typed_text(posted, "summary"),
                      "learnings": typed_text(posted, "learnings"), "recommendation": posted.get("recommendation", "").strip()}
                     | {n: posted.get(n, "").strip() for n in ("cash_savings_gbp_per_year", "hours_saved_per_year",
                                                               "people_affected")})
    result = _choice(form, "result", "Choose the result of the experiment")
    summary = _check_text(form, "summary", 5000, "Enter a summary of what happened")
    learnings = learnings_of(form.values["learnings"])
    if not learnings:
        form.errors["learnings"] = "Enter at least one thing you learnt, one a line"
    elif len(learnings) > MAX_LEARNINGS:
        form.errors["learnings"] = f"Enter at most {MAX_LEARNINGS} learnings, one a line"
    elif any(len(learning) > 2000 for learning in learnings):
        form.errors["learnings"] = "Each learning must be 2000 characters or fewer"
    elif re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", form.values["learnings"]):
        form.errors["learnings"] = "Learnings must be plain text"
    benefits = {
        "cash_savings_gbp_per_year": _number(form, "cash_savings_gbp_per_year", low=0, high=1_000_000_000,
                                             example="12,000", money=True),
        "hours_saved_per_year": _number(form, "hours_saved_per_year", low=0, high=1_000_000_000, example="400 or 37.5"),
        "people_affected": _number(form, "people_affected", low=0, high=100_000_000, example="2,500", whole=True),
    }
    recommendation = _choice(form, "recommendation", "Choose what you recommend next")
    if not form.errors:
        form.body = {"result": result, "summary": summary, "learnings": learnings, "recommendation": recommendation,
                     "benefits": {name: (float(v) if name != "people_affected" else v)
                                  for name, v in benefits.items() if v is not None}}
    return form


def abandon_form(posted: dict[str, str]) -> SquadForm:
    form = SquadForm({"reason": typed_text(posted, "reason")})
    reason = _check_text(form, "reason", 2000, "Enter why the experiment is being abandoned")
    if not form.errors:
        form.body = {"reason": reason}
    return form


# The API's refusals


def _form_field(api_field: str, fields: tuple[str, ...]) -> str | None:
    """measure.target -> target, benefits.hours_saved_per_year -> hours_saved_per_year, learnings.3 -> learnings."""
    if api_field in API_FIELDS:
        return API_FIELDS[api_field] if API_FIELDS[api_field] in fields else None
    parts = [p for p in api_field.split(".") if not p.isdigit()]
    for part in reversed(parts):
        if part in fields:
            return part
    return None


def refused_fields(form: SquadForm, fields: tuple[str, ...], detail: list[dict[str, Any]], whole: str) -> SquadForm:
    """The API's 422 detail on the form's fields (`whole`, the id of its button, for what names none)."""
    return refused_into(form, detail, whole, lambda api_field: _form_field(api_field, fields), LABELS)


VERBS = {"plan": "planned", "start": "started", "measurements": "measured", "reschedule": "rescheduled",
         "complete": "completed", "abandon": "abandoned"}


def refusal_message(status: int, body: dict[str, Any], action: str) -> str:
    """A 403 or 409 of the experiments API in the page's words."""
    if status == 403:
        if action == "abandon":
            return "Only reviewers and admins can abandon an experiment. Ask one of them if it should stop."
        return "Your role cannot change experiments."
    state = body.get("status")
    reason = str(body.get("reason") or "")
    said = f" ({reason})" if reason else ""
    if state:
        return f"This experiment is {state} now, so it cannot be {VERBS.get(action, action)}{said}."
    return f"This experiment cannot be {VERBS.get(action, action)} now{said}."


# Page data


def not_allowed(experiment: dict[str, Any], action: str) -> str:
    """Why an action's page is not offered in the experiment's state."""
    status = experiment.get("status")
    if status == "planning" and not experiment.get("hypothesis") and action in ("start", "reschedule"):
        return f"Plan the experiment before you {'start' if action == 'start' else 'reschedule'} it."
    if status == "planning" and action in ("measurements", "complete"):
        return f"Start the experiment before you {'record measurements' if action == 'measurements' else 'complete it'}."
    return f"This experiment is {status}, so it cannot be {VERBS.get(action, action)} now."


def is_overdue(experiment: dict[str, Any], today: date) -> bool:
    """Still open after its end date: what the time box check marks overdue (without waiting for it, and not after a
    reschedule moved the end date on)."""
    ends = as_day(experiment.get("ends_on"))
    return experiment.get("status") in OPEN and ends is not None and ends < today


@dataclass(frozen=True)
class Actions:
    """What the experiment's state allows on its page, and why abandoning is not offered when it is not."""

    plan: bool
    start: bool
    measure: bool
    reschedule: bool
    complete: bool
    abandon: bool
    abandon_note: str = ""

    @property
    def any(self) -> bool:
        return self.plan or self.start or self.measure or self.reschedule or self.complete or self.abandon


def actions(experiment: dict[str, Any], on_panel: bool, role: str | None) -> Actions:
    status = experiment.get("status")
    planned = bool(experiment.get("hypothesis"))
    runs = role in ("contributor", "reviewer", "admin")
    open_ = status in OPEN
    note = "Only a reviewer or an admin can abandon an experiment." if runs and open_ and not on_panel else ""
    return Actions(plan=runs and status == "planning", start=runs and status == "planning" and planned,
                   measure=runs and status == "running", reschedule=runs and open_ and planned,
                   complete=runs and status == "running", abandon=on_panel and open_, abandon_note=note)


def next_page(status: str, cursor: str | None) -> str | None:
    """The list's next page: the same status, the API's cursor."""
    if not cursor:
        return None
    return "/experiments?" + urlencode(({"status": status} if status else {}) | {"cursor": cursor})


@dataclass(frozen=True)
class Row:
    experiment_id: str
    title: str
    status: str
    starts: str
    ends: str
    overdue: bool


def rows(experiments: list[dict[str, Any]], titles: dict[str, str], today: date) -> list[Row]:
    return [Row(str(e["experiment_id"]), titles.get(str(e.get("idea_id")), "") or "An idea's experiment",
                str(e.get("status", "")), long_day(as_day(e.get("starts_on"))), long_day(as_day(e.get("ends_on"))),
                is_overdue(e, today)) for e in experiments]


@dataclass(frozen=True)
class HistoryStep:
    what: str
    who: str
    when: str
    detail: str


STEP_NAMES = {"planned": "Planned", "started": "Started", "measured": "Measured", "rescheduled": "Rescheduled",
              "completed": "Completed", "abandoned": "Abandoned", "overdue": "Overdue"}


def who(by: str | None, me: str | None, experiment: dict[str, Any]) -> str:
    """A pseudonym in the page's words; never the pseudonym itself."""
    if not by:
        return ""
    if by == me:
        return "You"
    if by == experiment.get("squad_lead"):
        return "Squad lead"
    if by in (experiment.get("squad") or ()):
        return "Someone in the squad"
    return "Someone in the department"


def history(experiment: dict[str, Any], me: str | None) -> list[HistoryStep]:
    """Who did what, when, oldest first (empty when the API does not give a history)."""
    steps = [s for s in experiment.get("history") or [] if isinstance(s, dict)]
    steps.sort(key=lambda s: str(s.get("at") or ""))
    return [HistoryStep(STEP_NAMES.get(str(s.get("step")), str(s.get("step", "")).capitalize()),
                        who(s.get("by"), me, experiment),
                        _when(s.get("at")), str(s.get("detail") or "")) for s in steps]


def _when(value: Any) -> str:
    try:
        at = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return ""
    return at.strftime("%-d %B %Y at %-I:%M%p").replace("AM", "am").replace("PM", "pm")


def value_text(value: Any, unit: str = "") -> str:
    """A measure's value as people read it: 1,200, 7.5, 0.00012, 1.5e+20; with its unit when given."""
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
        return ""
    v = float(value)
    if v == 0:
        text = "0"
    elif abs(v) >= 1e12 or abs(v) < 1e-3:
        text = f"{v:.3g}"
    else:
        text = f"{v:,.3f}".rstrip("0").rstrip(".")
    return f"{text} {unit}".strip()


@dataclass(frozen=True)
class MeasurementRow:
    on: str
    value: str
    note: str
    who: str


def measurements(experiment: dict[str, Any], me: str | None) -> list[MeasurementRow]:
    """The measurements by date (the same data as the chart), each with who recorded it where the API says."""
    unit = (experiment.get("measure") or {}).get("unit", "")
    found = [m for m in experiment.get("measurements") or [] if isinstance(m, dict) and as_day(m.get("measured_on"))]
    found.sort(key=lambda m: as_day(m["measured_on"]))
    return [MeasurementRow(long_day(as_day(m["measured_on"])), value_text(m.get("value"), unit),
                           str(m.get("note") or ""), who(m.get("recorded_by"), me, experiment)) for m in found]


# The chart: the measure over time against its baseline and target, as SVG geometry (the template draws it).

WIDTH, HEIGHT = 640, 360
LEFT, RIGHT, TOP, BOTTOM = 80, 620, 20, 300  # the plot area


@dataclass(frozen=True)
class Tick:
    at: float  # x or y in the SVG's coordinates
    label: str


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    label: str


@dataclass(frozen=True)
class Chart:
    title: str
    description: str
    x_ticks: list[Tick]
    y_ticks: list[Tick]
    baseline_y: float
    target_y: float
    baseline_label: str
    target_label: str
    points: list[Point]
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    right: int = RIGHT
    top: int = TOP
    bottom: int = BOTTOM

    @property
    def line(self) -> str:
        """The polyline through the points, in date order."""
        return " ".join(f"{p.x},{p.y}" for p in self.points)


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round values from at or below `low` to at or above `high` (steps of 1, 2, 2.5 or 5 times a power of ten);
    just [low, high] where the numbers are too extreme to round."""
    try:
        span = high - low
        if not math.isfinite(span) or span <= 0:
            raise ValueError
        raw = span / (count - 1)
        magnitude = 10 ** math.floor(math.log10(raw))
        step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
        first, last = math.floor(low / step), math.ceil(high / step)
        if step <= 0 or not math.isfinite(step) or last - first > 12:
            raise ValueError
        return [round(n * step, 12) for n in range(first, last + 1)]
    except (ValueError, OverflowError, ZeroDivisionError):
        return [low, high]


def _scale(value: float, low: float, high: float) -> float:
    # Halved first, so that the difference of two finite floats at opposite extremes stays finite.
    span = high / 2 - low / 2
    return 0.5 if span == 0 else (value / 2 - low / 2) / span


def _round(value: float) -> float:
    return round(value, 1)


def chart(experiment: dict[str, Any], today: date) -> Chart | None:
    """The chart of a planned experiment's measure: None before it has one."""
    measure = experiment.get("measure")
    if not isinstance(measure, dict):
        return None
    unit, name = str(measure.get("unit", "")), str(measure.get("name", "the measure"))
    baseline, target = float(measure["baseline"]), float(measure["target"])
    found = sorted(((as_day(m.get("measured_on")), float(m["value"])) for m in experiment.get("measurements") or []
                    if isinstance(m, dict) and as_day(m.get("measured_on")) and isinstance(m.get("value"), (int, float))),
                   key=lambda m: m[0])
    values = [baseline, target, *(v for _, v in found)]
    low, high = min(values), max(values)
    if low == high:
        low, high = low - 1, high + 1
    pad = (high / 2 - low / 2) / 10  # a margin, so that no point sits on the axis
    if math.isfinite(low - pad) and math.isfinite(high + pad):
        low, high = low - pad, high + pad
    y_values = nice_ticks(low, high)
    y_low, y_high = y_values[0], y_values[-1]

    def y(value: float) -> float:
        return _round(BOTTOM - _scale(value, y_low, y_high) * (BOTTOM - TOP))

    starts = as_day(experiment.get("starts_on")) or (found[0][0] if found else today)
    ends = as_day(experiment.get("ends_on")) or starts
    first = min([starts, *(d for d, _ in found)])
    last = max([ends, *(d for d, _ in found)])
    if last <= first:
        last = first + timedelta(days=1)
    days = (last - first).days

    def x(day: date) -> float:
        return _round(LEFT + (day - first).days / days * (RIGHT - LEFT))

    short = "%-d %b" if first.year == last.year else "%-d %b %Y"
    tick_days = sorted({first + timedelta(days=round(days * n / 4)) for n in range(5)})
    points = [Point(x(d), y(v), f"{long_day(d)}: {value_text(v, unit)}") for d, v in found]
    better = "higher" if measure.get("direction") == "increase" else "lower"
    description = (f"{name} in {unit or 'its unit'}: baseline {value_text(baseline, unit)}, target "
                   f"{value_text(target, unit)} ({better} is better). ")
    if found:
        latest_day, latest = found[-1]
        progress = _scale(latest, baseline, target) * 100 if baseline != target else 0
        description += (f"{len(found)} measurement{'s' if len(found) != 1 else ''} from {long_day(found[0][0])} to "
                        f"{long_day(latest_day)}; the latest, {value_text(latest, unit)}, is "
                        + ("at or beyond the target." if progress >= 100 else
                           f"{progress:.0f}% of the way from the baseline to the target." if progress >= 0 else
                           "further from the target than the baseline."))
    else:
        description += "No measurements yet."
    return Chart(title=f"{name} over time against its baseline and target", description=description,
                 x_ticks=[Tick(x(d), d.strftime(short)) for d in tick_days],
                 y_ticks=[Tick(y(v), value_text(v)) for v in y_values],
                 baseline_y=y(baseline), target_y=y(target), baseline_label=f"Baseline {value_text(baseline, unit)}",
                 target_label=f"Target {value_text(target, unit)}", points=points)
