"""Data models of the ideas stream (key: idea_id; conversations are keyed by conversation_id)."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from shared.events.base import EventData
from shared.events.fields import Count, Day, Days, DepartmentCode, Money, Pseudonym, Score, Slug, text, whole_number


class _IdeaEvent(EventData):
    stream = "ideas"
    aggregate_id_field = "idea_id"

    idea_id: UUID


class IdeaSubmitted(_IdeaEvent):
    event_type = "uk.gov.innovation.idea.submitted.v1"

    title: Annotated[str, text(200, min_length=3)]
    problem: Annotated[str, text(5000)]
    proposal: Annotated[str, text(5000)]
    expected_benefits: Annotated[str, text(2000)] | None = None
    themes: Annotated[tuple[Slug, ...], Field(max_length=10)] = ()
    team: Annotated[str, text(200)] | None = None
    submitted_by: Pseudonym
    campaign: Slug | None = None
    conversation_id: UUID | None = None


class IdeaEndorsed(_IdeaEvent):
    event_type = "uk.gov.innovation.idea.endorsed.v1"

    endorsed_by: Pseudonym


class Scores(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    impact: Score
    feasibility: Score
    value_for_money: Score
    alignment: Score


class IdeaReviewed(_IdeaEvent):
    event_type = "uk.gov.innovation.idea.reviewed.v1"

    reviewer: Pseudonym
    scores: Scores
    comment: Annotated[str, text(2000)] | None = None


class IdeaShortlisted(_IdeaEvent):
    event_type = "uk.gov.innovation.idea.shortlisted.v1"

    by: Pseudonym
    note: Annotated[str, text(2000)] | None = None


class IdeaBacked(_IdeaEvent):
    event_type = "uk.gov.innovation.idea.backed.v1"

    sponsor: Pseudonym
    budget_gbp: Money
    staff_days: Days
    timebox_weeks: Annotated[int, whole_number(1, 52)]
    note: Annotated[str, text(2000)] | None = None


DeclineReason = Literal["duplicate", "out_of_scope", "not_feasible", "insufficient_evidence", "other"]


class IdeaDeclined(_IdeaEvent):
    event_type = "uk.gov.innovation.idea.declined.v1"

    by: Pseudonym
    reason: DeclineReason
    note: Annotated[str, text(2000, min_length=0)]


class IdeaWithdrawn(_IdeaEvent):
    event_type = "uk.gov.innovation.idea.withdrawn.v1"

    by: Pseudonym


class IdeaMerged(_IdeaEvent):
    event_type = "uk.gov.innovation.idea.merged.v1"

    into_department: DepartmentCode
    into_idea_id: UUID
    by: Pseudonym


class ConversationRecorded(EventData):
    event_type = "uk.gov.innovation.conversation.recorded.v1"
    stream = "ideas"
    aggregate_id_field = "conversation_id"

    conversation_id: UUID
    team: Annotated[str, text(200)]
    participants: Annotated[int, whole_number(1, 500)]
    held_on: Day
    ideas_raised: Count


IDEAS_EVENTS: tuple[type[EventData], ...] = (
    IdeaSubmitted,
    IdeaEndorsed,
    IdeaReviewed,
    IdeaShortlisted,
    IdeaBacked,
    IdeaDeclined,
    IdeaWithdrawn,
    IdeaMerged,
    ConversationRecorded,
)
