"""The projection: a batch of events becomes the rows to upsert into the read models. No I/O.

Every event adds facts ("idea X was first backed at T"); within a batch, facts about one row
are merged here (earliest time wins, counts add up) so each row is written once per batch, and
the SQL merges them with what is stored the same way. Merging is commutative, so the result does
not depend on the order in which streams arrive. Duplicates are filtered before this by the inbox.

Each row type's fields are its table's columns, in the order repository.py writes them: that order is
written here only. Immutable rows are NamedTuples (asyncpg takes tuples as they are); rows merged
within a batch are dataclasses.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Any, NamedTuple
from uuid import UUID

from shared.events import Event

Key = tuple[str, UUID]


def _earliest(a: Any, b: Any) -> Any:
    if a is None:
        return b
    if b is None:
        return a
    return min(a, b)


@dataclass
class IdeaRow:
    department: str
    idea_id: UUID
    title: str | None = None
    campaign: str | None = None
    themes: tuple[str, ...] = ()
    submitted_at: datetime | None = None
    shortlisted_at: datetime | None = None
    backed_at: datetime | None = None
    declined_at: datetime | None = None
    withdrawn_at: datetime | None = None
    merged_at: datetime | None = None
    budget_gbp: float | None = None
    staff_days: float | None = None
    timebox_weeks: int | None = None
    decline_reason: str | None = None
    merged_into: str | None = None  # the target's department
    merged_into_idea_id: UUID | None = None  # and its id
    submitted_by: str | None = None  # a pseudonym
    conversation_id: UUID | None = None


@dataclass
class ExperimentRow:
    department: str
    experiment_id: UUID
    idea_id: UUID | None = None
    planned_at: datetime | None = None
    starts_on: date | None = None
    ends_on: date | None = None
    ends_on_set_at: datetime | None = None
    started_on: date | None = None
    overdue_on: date | None = None
    completed_on: date | None = None
    abandoned_at: datetime | None = None
    squad_size: int | None = None
    budget_gbp: float | None = None
    staff_days: float | None = None
    measurements: int = 0


@dataclass
class DepartmentRow:
    department: str
    events: int
    first_event_at: datetime
    last_event_at: datetime


class Endorsement(NamedTuple):
    department: str
    idea_id: UUID
    endorsed_by: str
    endorsed_at: datetime


class Review(NamedTuple):
    event_id: UUID
    department: str
    idea_id: UUID
    reviewed_at: datetime
    impact: int
    feasibility: int
    value_for_money: int
    alignment: int


class Participant(NamedTuple):
    department: str
    pseudonym: str
    first_seen_at: datetime


class Conversation(NamedTuple):
    department: str
    conversation_id: UUID
    held_on: date
    participants: int
    ideas_raised: int


class Outcome(NamedTuple):
    department: str
    outcome_id: UUID
    experiment_id: UUID
    idea_id: UUID
    result: str
    recommendation: str
    cash_savings_gbp_per_year: float | None
    hours_saved_per_year: float | None
    people_affected: int | None
    recorded_at: datetime
    summary: str


class Participation(NamedTuple):
    department: str
    pseudonym: str
    month: date


class Learning(NamedTuple):
    department: str
    outcome_id: UUID
    position: int
    learning: str
    result: str
    recorded_at: datetime


class Adoption(NamedTuple):
    adoption_id: UUID
    origin_department: str
    origin_outcome_id: UUID
    adopting_department: str
    adopted_at: datetime


@dataclass
class Changes:
    """What one batch changes, one entry per row."""

    departments: dict[str, DepartmentRow] = field(default_factory=dict)
    ideas: dict[Key, IdeaRow] = field(default_factory=dict)
    # The hottest rows hold only the earliest time by key, so no event pays for building a row: their
    # rows (Endorsement, Participant) are the key's fields, then the time.
    endorsements: dict[tuple[str, UUID, str], datetime] = field(default_factory=dict)
    reviews: list[Review] = field(default_factory=list)
    participants: dict[tuple[str, str], datetime] = field(default_factory=dict)
    participation: set[tuple[str, str, date]] = field(default_factory=set)  # Participation's fields
    conversations: dict[Key, Conversation] = field(default_factory=dict)
    experiments: dict[Key, ExperimentRow] = field(default_factory=dict)
    outcomes: dict[Key, Outcome] = field(default_factory=dict)
    learnings: dict[tuple[str, UUID, int], Learning] = field(default_factory=dict)
    adoptions: dict[UUID, Adoption] = field(default_factory=dict)
    ignored: int = 0  # events of a type the read models have no use for

    def idea(self, event: Event) -> IdeaRow:
        key = (event.department, event.data.idea_id)
        row = self.ideas.get(key)
        if row is None:
            row = self.ideas[key] = IdeaRow(*key)
        return row

    def experiment(self, event: Event) -> ExperimentRow:
        key = (event.department, event.data.experiment_id)
        row = self.experiments.get(key)
        if row is None:
            row = self.experiments[key] = ExperimentRow(*key)
        return row

    def participant(self, event: Event, pseudonym: str) -> None:
        key, at = (event.department, pseudonym), event.time
        seen = self.participants.get(key)
        if seen is None or at < seen:
            self.participants[key] = at
        self.participation.add((*key, month_of(at)))


def month_of(at: datetime) -> date:
    """The first day of the event time's month, in UTC."""
    if at.utcoffset():
        at = at.astimezone(timezone.utc)
    return date(at.year, at.month, 1)


def _text(value: str) -> str:
    """PostgreSQL text cannot hold NUL; an event carrying one must not block its partition."""
    return value.replace("\x00", "") if "\x00" in value else value


REMOVED = "[removed]"
# What identifies a person whatever the department wrote around it: an email address (any local part RFC 5322
# or 6531 allows, taken whole: it starts where the run of such characters starts, which also keeps the search
# linear on long runs), a pseudonym, a UK mobile number (07..., (07...), +44 7..., +44 (0)7..., 0044 7..., spaced,
# hyphened or dotted), a National Insurance number. Names cannot be told from other words; departments are
# asked not to write them (docs/open-data.md).
_LOCAL = r"\w.!#$%&'*+/=?^`{|}~-"
_PERSONAL = re.compile(
    rf"(?<![{_LOCAL}])[{_LOCAL}]++@[\w-]+(?:\.[\w-]+)+"
    r"|p_[0-9a-fA-F]{16}"
    r"|(?<!\w)(?:(?:\+44\s?(?:\(0\)\s?)?|0044\s?)7\d{3}|\(07\d{3}\)|07\d{3})[\s.-]?\d{3}[\s.-]?\d{3}(?!\w)"
    r"|(?<![A-Za-z0-9])[A-Za-z]{2}\s?\d{2}\s?\d{2}\s?\d{2}\s?[A-Da-d](?![A-Za-z0-9])")


_MAYBE_PERSONAL = re.compile(r"[@_0-9]")  # each identifier above has one of these: most text is spared the search


def published(value: str) -> str:
    """Free text the centre publishes (titles, outcome summaries, learnings): without NUL, and with
    anything shaped like a person's identifier replaced by [removed]."""
    value = _text(value)
    return _PERSONAL.sub(REMOVED, value) if _MAYBE_PERSONAL.search(value) else value


def _submitted(c: Changes, e: Event) -> None:
    d, row = e.data, c.idea(e)
    row.title, row.campaign, row.themes = published(d.title), d.campaign, tuple(d.themes)
    row.submitted_by, row.conversation_id = d.submitted_by, d.conversation_id
    row.submitted_at = _earliest(row.submitted_at, e.time)
    c.participant(e, d.submitted_by)


def _endorsed(c: Changes, e: Event) -> None:
    key = (e.department, e.data.idea_id, e.data.endorsed_by)
    c.endorsements[key] = _earliest(c.endorsements.get(key), e.time)
    c.participant(e, e.data.endorsed_by)


def _reviewed(c: Changes, e: Event) -> None:
    s = e.data.scores
    c.reviews.append(Review(e.id, e.department, e.data.idea_id, e.time, s.impact, s.feasibility, s.value_for_money,
                            s.alignment))
    c.participant(e, e.data.reviewer)


def _shortlisted(c: Changes, e: Event) -> None:
    row = c.idea(e)
    row.shortlisted_at = _earliest(row.shortlisted_at, e.time)
    c.participant(e, e.data.by)


def _backed(c: Changes, e: Event) -> None:
    row = c.idea(e)
    row.backed_at = _earliest(row.backed_at, e.time)
    row.budget_gbp, row.staff_days, row.timebox_weeks = e.data.budget_gbp, e.data.staff_days, e.data.timebox_weeks
    c.participant(e, e.data.sponsor)


def _declined(c: Changes, e: Event) -> None:
    row = c.idea(e)
    row.declined_at = _earliest(row.declined_at, e.time)
    row.decline_reason = e.data.reason
    c.participant(e, e.data.by)


def _withdrawn(c: Changes, e: Event) -> None:
    row = c.idea(e)
    row.withdrawn_at = _earliest(row.withdrawn_at, e.time)
    c.participant(e, e.data.by)


def _merged(c: Changes, e: Event) -> None:
    row = c.idea(e)
    row.merged_at = _earliest(row.merged_at, e.time)
    row.merged_into, row.merged_into_idea_id = e.data.into_department, e.data.into_idea_id
    c.participant(e, e.data.by)


def _conversation(c: Changes, e: Event) -> None:
    d = e.data
    key = (e.department, d.conversation_id)
    c.conversations[key] = Conversation(*key, d.held_on, d.participants, d.ideas_raised)


def _planned(c: Changes, e: Event) -> None:
    d, row = e.data, c.experiment(e)
    row.idea_id, row.starts_on = d.idea_id, d.starts_on
    row.squad_size, row.budget_gbp, row.staff_days = d.squad_size, d.budget_gbp, d.staff_days
    row.planned_at = _earliest(row.planned_at, e.time)
    _set_end(row, d.ends_on, e.time)


def _set_end(row: ExperimentRow, ends_on: date, at: datetime) -> None:
    if row.ends_on_set_at is None or at >= row.ends_on_set_at:
        row.ends_on, row.ends_on_set_at = ends_on, at


def _started(c: Changes, e: Event) -> None:
    row = c.experiment(e)
    row.started_on = _earliest(row.started_on, e.data.started_on)


def _measured(c: Changes, e: Event) -> None:
    c.experiment(e).measurements += 1


def _rescheduled(c: Changes, e: Event) -> None:
    _set_end(c.experiment(e), e.data.ends_on, e.time)


def _overdue(c: Changes, e: Event) -> None:
    row = c.experiment(e)
    row.overdue_on = _earliest(row.overdue_on, e.data.ended_on)


def _completed(c: Changes, e: Event) -> None:
    row = c.experiment(e)
    row.completed_on = _earliest(row.completed_on, e.data.completed_on)


def _abandoned(c: Changes, e: Event) -> None:
    row = c.experiment(e)
    row.abandoned_at = _earliest(row.abandoned_at, e.time)


def _outcome(c: Changes, e: Event) -> None:
    d, b = e.data, e.data.benefits
    key = (e.department, d.outcome_id)
    c.outcomes[key] = Outcome(*key, d.experiment_id, d.idea_id, d.result, d.recommendation,
                              b.cash_savings_gbp_per_year, b.hours_saved_per_year, b.people_affected, e.time,
                              published(d.summary))
    for position, learning in enumerate(d.learnings):
        c.learnings[(*key, position)] = Learning(*key, position, published(learning), d.result, e.time)


def _adopted(c: Changes, e: Event) -> None:
    d = e.data
    c.adoptions[d.adoption_id] = Adoption(d.adoption_id, d.origin_department, d.origin_outcome_id,
                                          d.adopting_department, e.time)
    c.participant(e, d.adopted_by)


PROJECTIONS: dict[str, Callable[[Changes, Event], None]] = {
    "uk.gov.innovation.idea.submitted.v1": _submitted,
    "uk.gov.innovation.idea.endorsed.v1": _endorsed,
    "uk.gov.innovation.idea.reviewed.v1": _reviewed,
    "uk.gov.innovation.idea.shortlisted.v1": _shortlisted,
    "uk.gov.innovation.idea.backed.v1": _backed,
    "uk.gov.innovation.idea.declined.v1": _declined,
    "uk.gov.innovation.idea.withdrawn.v1": _withdrawn,
    "uk.gov.innovation.idea.merged.v1": _merged,
    "uk.gov.innovation.conversation.recorded.v1": _conversation,
    "uk.gov.innovation.experiment.planned.v1": _planned,
    "uk.gov.innovation.experiment.started.v1": _started,
    "uk.gov.innovation.experiment.measurement_recorded.v1": _measured,
    "uk.gov.innovation.experiment.rescheduled.v1": _rescheduled,
    "uk.gov.innovation.experiment.overdue.v1": _overdue,
    "uk.gov.innovation.experiment.completed.v1": _completed,
    "uk.gov.innovation.experiment.abandoned.v1": _abandoned,
    "uk.gov.innovation.outcome.recorded.v1": _outcome,
    "uk.gov.innovation.outcome.adopted.v1": _adopted,
}


def project(events: Iterable[Event]) -> Changes:
    """The rows a batch of fresh (already de-duplicated) events changes."""
    changes = Changes()
    departments = changes.departments
    projections = PROJECTIONS
    for event in events:
        at = event.time
        row = departments.get(event.department)
        if row is None:
            row = departments[event.department] = DepartmentRow(event.department, 0, at, at)
        elif at < row.first_event_at:
            row.first_event_at = at
        elif at > row.last_event_at:
            row.last_event_at = at
        row.events += 1
        projection = projections.get(event.type)
        if projection is None:
            changes.ignored += 1
        else:
            projection(changes, event)
    return changes
