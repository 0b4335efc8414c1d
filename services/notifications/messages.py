"""What an email says, without I/O: the notice of one event as one kind of person reads it, an
email of one notice, and a digest of many. Plain English, the department's name, a link to the
portal, and never a pseudonym or a person's reference.
"""

from __future__ import annotations

import html
import re
import textwrap
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from services.notifications.domain import KINDS, Kind, one_line
from shared.departments import department_in_a_sentence, department_name
from shared.events import (
    ConversationRecorded,
    Event,
    ExperimentAbandoned,
    ExperimentCompleted,
    ExperimentOverdue,
    ExperimentPlanned,
    ExperimentRescheduled,
    ExperimentStarted,
    IdeaBacked,
    IdeaDeclined,
    IdeaEndorsed,
    IdeaMerged,
    IdeaReviewed,
    IdeaShortlisted,
    IdeaSubmitted,
    IdeaWithdrawn,
    MeasurementRecorded,
    OutcomeAdopted,
    OutcomeRecorded,
)


@dataclass(frozen=True)
class Department:
    code: str  # "dwp"
    name: str  # "Department for Work and Pensions"
    portal_url: str  # "https://innovation.dwp.gov.uk", no trailing slash

    @classmethod
    def of(cls, code: str, portal_url: str, name: str | None = None) -> Department:
        """The department `code`, named `name` or by the name people know (shared.departments)."""
        return cls(code, name or department_name(code), portal_url.rstrip("/"))


@dataclass(frozen=True)
class About:
    """What the service knows of the things an event concerns (its own record of the department's
    ideas, experiments and outcomes); None where it does not know."""

    idea_id: uuid.UUID | None = None
    idea_title: str | None = None
    experiment_id: uuid.UUID | None = None
    outcome_id: uuid.UUID | None = None
    into_title: str | None = None  # idea.merged: the target idea's title, when it is one of ours


@dataclass(frozen=True)
class Notice:
    """One event told to one kind of reader."""

    headline: str  # one line, says what happened: "Your idea “Fewer forms” has been backed"
    paragraphs: tuple[str, ...]  # the decision, its reason, the resources...: plain sentences
    link: str  # absolute URL of the page in the department's portal
    link_text: str  # "See your idea"


@dataclass(frozen=True)
class Email:
    subject: str  # one line, no control characters
    text: str  # the plain-text part
    html: str  # the HTML part (every value escaped)
    # The text part unwrapped, one line a paragraph: for a channel that lays text out itself (GOV.UK Notify
    # keeps each line break, so the text part's wrapping at 72 columns would show as ragged lines on a phone).
    flowing: str = ""


@dataclass(frozen=True)
class Outgoing:
    """An email ready for a channel (SMTP or GOV.UK Notify)."""

    delivery_id: uuid.UUID
    to: str
    display_name: str | None
    kind: Kind | None  # None for a digest
    email: Email
    unsubscribe_url: str  # RFC 8058 one-click: POST List-Unsubscribe=One-Click to it
    headers: Mapping[str, str] = field(default_factory=dict)  # extra headers (X-Innovation-Event-Id...)


# -- people's text, numbers and dates in words ------------------------------------------------

_PSEUDONYM = re.compile(r"p_[0-9a-f]{16}", re.IGNORECASE)
# Control characters and the explicit bidirectional controls, which could reorder the words around a
# title ("…has been declined" shown as "…denilced"); right-to-left letters themselves are kept.
_HIDDEN = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_BLANK_LINES = re.compile(r"\n[ \t]*(?:\n[ \t]*)+")
HEADLINE_TITLE = 80  # characters of a title in a headline (a merge names two titles: 50 each)
DIGEST_PARAGRAPH = 300  # characters of a notice's first paragraph in a digest
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December")
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def people_text(value: str) -> str:
    """Text a person wrote, as written, less what could hide or reorder words (control and bidi
    characters) and any pseudonym pasted into it; line breaks kept, at most one blank line in a row."""
    value = value.replace("\r\n", "\n").replace("\r", "\n").replace("\u2028", "\n").replace("\u2029", "\n\n")
    value = _HIDDEN.sub("", value.replace("\t", " "))
    value = _PSEUDONYM.sub("(a person)", value)
    return _BLANK_LINES.sub("\n\n", value).strip()


def _short(value: str, limit: int) -> str:
    return one_line(people_text(value), limit)


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _quoted(title: str, limit: int = HEADLINE_TITLE) -> str:
    return f"“{_short(title, limit)}”"


def money(value: float) -> str:
    """£12,000; £12,000.50 when there are pence."""
    pounds = round(value, 2)
    return f"£{pounds:,.0f}" if pounds == int(pounds) else f"£{pounds:,.2f}"


def number(value: float) -> str:
    """12,000 or 7.5 or -0.25: thousands separated, no needless decimals."""
    if value == int(value) and abs(value) < 1e15:
        return f"{int(value):,}"
    if abs(value) < 0.01 or abs(value) >= 1e15:
        return f"{value:g}"
    return f"{value:,.4f}".rstrip("0").rstrip(".")


def _plural(count: float, one: str, many: str | None = None) -> str:
    return f"{number(count)} {one if count == 1 else (many or one + 's')}"


def long_day(day: date) -> str:
    """3 December 2026 (GOV.UK style)."""
    return f"{day.day} {_MONTHS[day.month - 1]} {day.year}"


def moment(when: datetime, timezone: str = "Europe/London") -> str:
    """8am on Monday 7 December 2026, in `timezone`'s local time (midday, midnight, 5:30pm)."""
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError("the end of a digest's period must be an aware datetime")
    local = when.astimezone(ZoneInfo(timezone))
    if (local.hour, local.minute) == (0, 0):
        clock = "midnight"
    elif (local.hour, local.minute) == (12, 0):
        clock = "midday"
    else:
        clock = f"{local.hour % 12 or 12}" + (f":{local.minute:02d}" if local.minute else "")
        clock += "am" if local.hour < 12 else "pm"
    return f"{clock} on {_WEEKDAYS[local.weekday()]} {long_day(local.date())}"


def resources(budget_gbp: float, staff_days: float, timebox_weeks: int) -> str:
    """£12,000, 20 staff days and a 6-week time box."""
    budget = money(budget_gbp) if budget_gbp else "no budget"
    days = _plural(staff_days, "staff day") if staff_days else "no staff days"
    return f"{budget}, {days} and a {timebox_weeks}-week time box"


DECLINE_REASONS: dict[str, str] = {
    "duplicate": "it repeats another idea",
    "out_of_scope": "it is outside what the department can change",
    "not_feasible": "it cannot be done at the moment",
    "insufficient_evidence": "there is not enough evidence yet that it would work",
    "other": "another reason, given in the note",
}
RESULTS: dict[str, str] = {"succeeded": "succeeded", "failed": "did not succeed", "inconclusive": "was inconclusive"}
RECOMMENDATIONS: dict[str, str] = {
    "scale": "scaling it up",
    "adopt_elsewhere": "that other teams and departments adopt it",
    "iterate": "trying it again, changed",
    "stop": "stopping it",
}
_SCORES = (("impact", "impact"), ("feasibility", "feasibility"), ("value_for_money", "value for money"),
           ("alignment", "alignment"))


# -- one event as one kind of reader reads it ---------------------------------------------------

_WHOSE: dict[str, str] = {"my_ideas": "your idea", "endorsed": "an idea you endorsed",
                          "review_queue": "an idea you reviewed", "department": "an idea"}
_THEIR_EXPERIMENT: dict[str, str] = {"my_ideas": "an experiment you are involved in",
                                     "endorsed": "the experiment on an idea you endorsed",
                                     "review_queue": "the experiment on an idea you reviewed",
                                     "department": "an experiment"}


def _capital(phrase: str) -> str:
    return phrase[:1].upper() + phrase[1:]


@dataclass(frozen=True)
class _Phrase:
    """How a reader names the thing, mid-sentence ("an idea you endorsed, “T”"); `aside` when the
    title is in apposition, so that as a sentence's subject it takes a closing comma."""

    words: str
    aside: bool = False

    @property
    def subject(self) -> str:
        return _capital(self.words) + ("," if self.aside else "")


@dataclass(frozen=True)
class _Reading:
    event: Event[Any]
    kind: Kind
    about: About
    department: Department

    @property
    def data(self) -> Any:
        return self.event.data

    @property
    def personal(self) -> bool:
        return self.kind != "department"

    @property
    def title(self) -> str | None:
        title = self.data.title if isinstance(self.data, IdeaSubmitted) else self.about.idea_title
        return title if title and people_text(title) else None

    def idea(self, limit: int = HEADLINE_TITLE) -> _Phrase:
        if self.title is None:
            return _Phrase(_WHOSE[self.kind])
        title = _quoted(self.title, limit)
        if self.kind == "department":
            return _Phrase(title)
        if self.kind == "my_ideas":
            return _Phrase(f"your idea {title}")
        return _Phrase(f"{_WHOSE[self.kind]}, {title}", aside=True)

    def experiment(self) -> _Phrase:
        if self.title is None:
            return _Phrase(_THEIR_EXPERIMENT[self.kind])
        idea = self.idea() if self.kind in ("endorsed", "review_queue") else _Phrase(_quoted(self.title))
        return _Phrase(f"the experiment on {idea.words}", idea.aside)

    def did(self, personal: str, department: str) -> str:
        return personal if self.personal else department

    def url(self, *parts: object) -> str:
        return "/".join((self.department.portal_url.rstrip("/"), *(str(p) for p in parts)))

    def idea_page(self, idea_id: uuid.UUID) -> tuple[str, str]:
        return self.url("ideas", idea_id), "See your idea" if self.kind == "my_ideas" else "See the idea"

    def experiment_page(self) -> tuple[str, str]:
        return self.url("experiments", self.data.experiment_id), "See the experiment"

    def notice(self, headline: str, paragraphs: Sequence[str | None], page: tuple[str, str]) -> Notice:
        return Notice(one_line(headline, 150), tuple(p for p in paragraphs if p), *page)


def _noted(label: str, note: str | None) -> str | None:
    text = people_text(note or "")
    return f"{label}: {text}" if text else None


def _submitted(r: _Reading) -> Notice:
    d: IdeaSubmitted = r.data
    team = people_text(d.team or "")
    about = [f"The team behind it: {team}." if team else None,
             f"The problem it solves: {_cut(people_text(d.problem), 600)}"]
    title = f": {_quoted(r.title)}" if r.title else ""
    if r.kind == "review_queue":
        return r.notice(f"A new idea is waiting for review{title}",
                        ["It has been raised in the department and is waiting for reviewers to score it.", *about],
                        (r.url("review", "ideas", d.idea_id), "Review the idea"))
    if r.kind == "department":
        return r.notice(f"A new idea was raised{title}", about, r.idea_page(d.idea_id))
    return r.notice(f"{r.idea().subject} has been submitted",
                    ["Reviewers in the department will score it and the panel will decide on it.", *about],
                    r.idea_page(d.idea_id))


def _endorsed(r: _Reading) -> Notice:
    return r.notice(f"{r.idea().subject} {r.did('has a new endorsement', 'was endorsed')}",
                    ["Someone in the department endorsed it."], r.idea_page(r.data.idea_id))


def _reviewed(r: _Reading) -> Notice:
    d: IdeaReviewed = r.data
    scores = ", ".join(f"{words} {getattr(d.scores, name)}" for name, words in _SCORES)
    return r.notice(f"{r.idea().subject} {r.did('has a new review', 'was reviewed')}",
                    [f"A reviewer scored it, out of 5: {scores}."], r.idea_page(d.idea_id))


def _shortlisted(r: _Reading) -> Notice:
    d: IdeaShortlisted = r.data
    return r.notice(f"{r.idea().subject} {r.did('has been shortlisted', 'was shortlisted')}",
                    ["The panel shortlisted it: it will now be considered for backing.",
                     _noted("The panel's note", d.note)], r.idea_page(d.idea_id))


def _backed(r: _Reading) -> Notice:
    d: IdeaBacked = r.data
    return r.notice(f"{r.idea().subject} {r.did('has been backed', 'was backed')}",
                    [f"It has been backed with {resources(d.budget_gbp, d.staff_days, d.timebox_weeks)}.",
                     "Next, a squad plans an experiment to test it.",
                     _noted("The note with the backing", d.note)], r.idea_page(d.idea_id))


def _declined(r: _Reading) -> Notice:
    d: IdeaDeclined = r.data
    note = people_text(d.note)
    reason = DECLINE_REASONS[d.reason] if note or d.reason != "other" else "the panel did not give one"
    return r.notice(f"{r.idea().subject} {r.did('has been declined', 'was declined')}",
                    [f"The reason: {reason}.", _noted("The panel's note", note)], r.idea_page(d.idea_id))


def _withdrawn(r: _Reading) -> Notice:
    return r.notice(f"{r.idea().subject} {r.did('has been withdrawn', 'was withdrawn')}",
                    ["It has been withdrawn and will not go any further."], r.idea_page(r.data.idea_id))


def _merged(r: _Reading) -> Notice:
    d: IdeaMerged = r.data
    ours = d.into_department == r.department.code
    into_title = r.about.into_title if r.about.into_title and people_text(r.about.into_title) else None
    if into_title:
        into = _quoted(into_title, 50)
    elif ours:
        into = "another idea in the department"
    else:
        into = f"an idea of {department_in_a_sentence(d.into_department)}"
    idea = r.idea(50)
    where = "" if ours else f" in {department_in_a_sentence(d.into_department)}"
    page = (r.url("ideas", d.into_idea_id), "See the idea it was merged into") if ours else r.idea_page(d.idea_id)
    return r.notice(f"{idea.subject} {r.did('has been merged', 'was merged')} into {into}",
                    [f"It carries on as part of that idea{where}, rather than on its own."], page)


def _conversation(r: _Reading) -> Notice:
    d: ConversationRecorded = r.data
    team = people_text(d.team)
    return r.notice(f"A team recorded a conversation: {_short(team, HEADLINE_TITLE)}",
                    [f"{team} held a conversation with {_plural(d.participants, 'person', 'people')} on "
                     f"{long_day(d.held_on)}, and raised {_plural(d.ideas_raised, 'idea')}."],
                    (r.url("ideas"), "See the department's ideas"))


def _planned(r: _Reading) -> Notice:
    d: ExperimentPlanned = r.data
    m = d.measure
    better = "lower" if m.direction == "decrease" else "higher"
    return r.notice(f"{r.experiment().subject} {r.did('has been planned', 'was planned')}",
                    [f"What it tests: {people_text(d.hypothesis)}",
                     f"It runs from {long_day(d.starts_on)} to {long_day(d.ends_on)}, with a squad of "
                     f"{d.squad_size}, {money(d.budget_gbp) if d.budget_gbp else 'no budget'} and "
                     f"{_plural(d.staff_days, 'staff day')}.",
                     f"It measures {people_text(m.name)} ({people_text(m.unit)}): from {number(m.baseline)} to "
                     f"{number(m.target)}, where {better} is better."],
                    r.experiment_page())


def _started(r: _Reading) -> Notice:
    return r.notice(f"{r.experiment().subject} {r.did('has started', 'started')}",
                    [f"It started on {long_day(r.data.started_on)}."], r.experiment_page())


def _measured(r: _Reading) -> Notice:
    d: MeasurementRecorded = r.data
    return r.notice(f"A measurement was recorded for {r.experiment().words}",
                    [f"On {long_day(d.measured_on)} it measured {number(d.value)}.",
                     _noted("The squad's note", d.note)],
                    r.experiment_page())


def _rescheduled(r: _Reading) -> Notice:
    d: ExperimentRescheduled = r.data
    return r.notice(f"{r.experiment().subject} {r.did('has been rescheduled', 'was rescheduled')}",
                    [f"It now ends on {long_day(d.ends_on)}.", _noted("The reason", d.reason)], r.experiment_page())


def _overdue(r: _Reading) -> Notice:
    return r.notice(f"{r.experiment().subject} is overdue",
                    [f"Its time box ended on {long_day(r.data.ended_on)} and no outcome has been recorded yet."],
                    r.experiment_page())


def _completed(r: _Reading) -> Notice:
    return r.notice(f"{r.experiment().subject} {r.did('has been completed', 'was completed')}",
                    [f"It was completed on {long_day(r.data.completed_on)}."], r.experiment_page())


def _abandoned(r: _Reading) -> Notice:
    return r.notice(f"{r.experiment().subject} {r.did('has been abandoned', 'was abandoned')}",
                    [_noted("The reason", r.data.reason) or "It was abandoned before it finished."],
                    r.experiment_page())


def _recorded(r: _Reading) -> Notice:
    d: OutcomeRecorded = r.data
    b = d.benefits
    benefits = [f"{money(b.cash_savings_gbp_per_year)} saved a year" if b.cash_savings_gbp_per_year else None,
                f"{_plural(b.hours_saved_per_year, 'hour')} saved a year" if b.hours_saved_per_year else None,
                f"{_plural(b.people_affected, 'person', 'people')} affected" if b.people_affected else None]
    benefits_said = ", ".join(x for x in benefits if x)
    return r.notice(f"{r.experiment().subject} {RESULTS[d.result]}",
                    [people_text(d.summary),
                     f"The squad recommends {RECOMMENDATIONS[d.recommendation]}.",
                     f"Expected benefits: {benefits_said}." if benefits_said else None,
                     *(_noted("What was learned", learning) for learning in d.learnings)],
                    (r.url("outcomes", r.event.department, d.outcome_id), "See the outcome"))


def _adopted(r: _Reading) -> Notice:
    d: OutcomeAdopted = r.data
    page = (r.url("outcomes", d.origin_department, d.origin_outcome_id), "See the outcome")
    if d.adopting_department == r.department.code:
        return r.notice(f"The department adopted an outcome of {department_in_a_sentence(d.origin_department)}",
                        ["A team here is adopting what another department learned from an experiment.",
                         _noted("The note with the adoption", d.note)], page)
    adopter = department_in_a_sentence(d.adopting_department)
    if r.title is None and not r.personal:
        outcome = _Phrase("one of the department's outcomes")
    else:
        idea = r.idea()
        outcome = _Phrase(f"the outcome of {idea.words}", idea.aside)
    return r.notice(f"{outcome.subject} {r.did('has been adopted', 'was adopted')} by {adopter}",
                    [f"{_capital(adopter)} is adopting what was learned.", _noted("Their note", d.note)], page)


_WORDS: dict[type, Callable[[_Reading], Notice]] = {
    IdeaSubmitted: _submitted, IdeaEndorsed: _endorsed, IdeaReviewed: _reviewed, IdeaShortlisted: _shortlisted,
    IdeaBacked: _backed, IdeaDeclined: _declined, IdeaWithdrawn: _withdrawn, IdeaMerged: _merged,
    ConversationRecorded: _conversation, ExperimentPlanned: _planned, ExperimentStarted: _started,
    MeasurementRecorded: _measured, ExperimentRescheduled: _rescheduled, ExperimentOverdue: _overdue,
    ExperimentCompleted: _completed, ExperimentAbandoned: _abandoned, OutcomeRecorded: _recorded,
    OutcomeAdopted: _adopted,
}


def notice(event: Event[Any], kind: Kind, about: About, department: Department) -> Notice:
    """`event` told to a reader of `kind`: what happened, in words, with a link to the portal's page.
    Nobody is named: no field holding a person (by, sponsor, submitted_by, reviewer...) is read."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}")
    words = next((w for model, w in _WORDS.items() if isinstance(event.data, model)), None)
    if words is None:
        raise ValueError(f"no words for events of type {event.type}")
    return words(_Reading(event, kind, about, department))


# -- emails ---------------------------------------------------------------------------------------

_WHY: dict[str, str] = {
    "my_ideas": "You get this email because you raised this idea, or are in the squad testing it, in the {} "
                "innovation network.",
    "endorsed": "You get this email because you endorsed this idea in the {} innovation network.",
    "review_queue": "You get this email because you review ideas in the {} innovation network.",
    "department": "You get this email because you asked for the news of the {} innovation network.",
}
_STOP: dict[str, str] = {"my_ideas": "Stop emails about your ideas", "endorsed": "Stop emails about ideas you endorsed",
                         "review_queue": "Stop emails about your review queue",
                         "department": "Stop emails about your department's news"}
SECTIONS: dict[str, str] = {"my_ideas": "Your ideas", "endorsed": "Ideas you endorsed",
                            "review_queue": "Your review queue", "department": "Your department"}
_CHANGE = "Change how often you get these emails"
WIDTH = 72

_FONT = "font-family:Arial,Helvetica,sans-serif;color:#0b0c0c;"
_P = f"margin:0 0 15px 0;{_FONT}font-size:19px;line-height:1.32;"
_SMALL = f"margin:0 0 10px 0;{_FONT}font-size:16px;line-height:1.25;"
_H1 = f"margin:0 0 20px 0;{_FONT}font-size:32px;line-height:1.1;font-weight:700;"
_H2 = f"margin:30px 0 15px 0;{_FONT}font-size:24px;line-height:1.2;font-weight:700;"
_A = "color:#1d70b8;text-decoration:underline;"


_LEAD = re.compile(r"\* | *")


def _wrap(block: str) -> str:
    """A block at WIDTH columns: each of its lines wrapped on its own, continuing under its text after
    a leading indent or "* " bullet; URLs and long words never split."""
    lines = []
    for line in block.split("\n"):
        lead = _LEAD.match(line).group(0)  # type: ignore[union-attr]
        lines.append(textwrap.fill(line[len(lead):], WIDTH, initial_indent=lead, subsequent_indent=" " * len(lead),
                                   break_long_words=False, break_on_hyphens=False) if line.strip() else "")
    return "\n".join(lines)


def _texts(blocks: Sequence[str]) -> tuple[str, str]:
    """The text part (wrapped) and its flowing twin, from the same blocks."""
    return "\n\n".join(_wrap(b) for b in blocks) + "\n", "\n\n".join(blocks) + "\n"


def _e(value: str) -> str:
    return html.escape(value, quote=True)


def _multiline(value: str) -> str:
    return "<br>".join(_e(line) for line in value.split("\n"))


def _href(url: str) -> str:
    if not url.lower().startswith(("https://", "http://")) or any(c.isspace() or ord(c) < 0x20 for c in url):
        raise ValueError(f"a link must be an absolute http(s) URL without spaces: {url[:100]!r}")
    return _e(url)


def _a(url: str, text: str, style: str = _A) -> str:
    return f'<a href="{_href(url)}" style="{style}">{_e(text)}</a>'


def _page(title: str, department: Department, body: Sequence[str], footer: Sequence[str]) -> str:
    return "\n".join([
        "<!DOCTYPE html>",
        '<html lang="en">',
        '<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title)}</title></head>",
        '<body style="margin:0;padding:0;background-color:#ffffff;">',
        f'<div style="max-width:640px;margin:0 auto;padding:20px;{_FONT}">',
        f'<p style="{_FONT}margin:0 0 30px 0;padding:0 0 10px 0;border-bottom:10px solid #1d70b8;font-size:19px;'
        f'font-weight:700;">{_e(department.name)} innovation network</p>',
        *body,
        '<hr style="border:0;border-top:1px solid #b1b4b6;margin:30px 0 20px 0;">',
        *footer,
        "</div>",
        "</body>",
        "</html>",
    ]) + "\n"


def single_email(notice: Notice, kind: Kind, department: Department, unsubscribe_url: str, preferences_url: str) -> Email:
    """One notice as an email: its headline as the subject, then the paragraphs, the link, whose
    network it is, why the reader gets it, and how to change or stop it."""
    headline = one_line(notice.headline, 150)
    why = _WHY[kind].format(department.name)
    text, flowing = _texts([headline, *notice.paragraphs, f"{notice.link_text}: {notice.link}", "---", why,
                            f"{_CHANGE}: {preferences_url}", f"{_STOP[kind]}: {unsubscribe_url}"])
    html_part = _page(headline, department, [
        f'<h1 style="{_H1}">{_e(headline)}</h1>',
        *(f'<p style="{_P}">{_multiline(p)}</p>' for p in notice.paragraphs),
        f'<p style="{_P}">{_a(notice.link, notice.link_text)}</p>',
    ], [
        f'<p style="{_SMALL}">{_e(why)}</p>',
        f'<p style="{_SMALL}">{_a(preferences_url, _CHANGE)}</p>',
        f'<p style="{_SMALL}">{_a(unsubscribe_url, _STOP[kind])}</p>',
    ])
    return Email(headline, text, html_part, flowing)


def digest_email(notices: Sequence[tuple[Kind, Notice]], rhythm: str, period_end: datetime, department: Department,
                 unsubscribe_urls: Mapping[Kind, str], preferences_url: str, *,
                 timezone: str = "Europe/London") -> Email:
    """Every notice of a period in one email, each once and in the order given, grouped by kind: its
    headline, its first paragraph (cut short) and its link; per kind a link to stop that kind."""
    if rhythm not in ("daily", "weekly"):
        raise ValueError(f"a digest is daily or weekly, not {rhythm!r}")
    if not notices:
        raise ValueError("a digest needs at least one notice: an empty period sends nothing")
    groups: dict[str, list[Notice]] = {}
    for kind, item in notices:
        if kind not in KINDS:
            raise ValueError(f"unknown kind {kind!r}")
        groups.setdefault(kind, []).append(item)
    count = len(notices)
    subject = f"Your {rhythm} innovation network update: {count} {'thing' if count == 1 else 'things'} happened"
    intro = f"Your {rhythm} update from the {department.name} innovation network, up to {moment(period_end, timezone)}."
    why = (f"You get this email because you chose a {rhythm} update of the {department.name} innovation network "
           f"for these kinds of news.")

    blocks = [subject, intro]
    body = [f'<h1 style="{_H1}">{_e(subject)}</h1>', f'<p style="{_P}">{_e(intro)}</p>']
    for kind in (k for k in KINDS if k in groups):
        items = groups[kind]
        heading = f"{SECTIONS[kind]} ({len(items)})"
        stop_url = unsubscribe_urls.get(kind)  # type: ignore[call-overload]
        stop = (_STOP[kind], stop_url) if stop_url else (f"{_CHANGE} or stop them", preferences_url)
        blocks.append(f"{heading}\n{'=' * len(heading)}")
        body.append(f'<h2 style="{_H2}">{_e(heading)}</h2>')
        body.append(f'<ul style="margin:0 0 15px 0;padding:0 0 0 20px;{_FONT}font-size:19px;line-height:1.32;">')
        for item in items:
            headline = one_line(item.headline, 150)
            first = one_line(item.paragraphs[0], DIGEST_PARAGRAPH) if item.paragraphs else ""
            blocks.append("\n".join(x for x in (f"* {headline}", f"  {first}" if first else "",
                                                 f"  {item.link_text}: {item.link}") if x))
            body.append(f'<li style="margin:0 0 15px 0;">{_a(item.link, headline, "color:#1d70b8;font-weight:700;")}'
                        + (f"<br>{_e(first)}" if first else "") + "</li>")
        body.append("</ul>")
        blocks.append(f"{stop[0]}: {stop[1]}")
        body.append(f'<p style="{_SMALL}">{_a(stop[1], stop[0])}</p>')
    blocks += ["---", why, f"{_CHANGE}: {preferences_url}"]
    footer = [f'<p style="{_SMALL}">{_e(why)}</p>', f'<p style="{_SMALL}">{_a(preferences_url, _CHANGE)}</p>']
    text, flowing = _texts(blocks)
    return Email(subject, text, _page(subject, department, body, footer), flowing)
