"""Request and response bodies of the HTTP API.

Field names and limits are the event catalogue's: each request field takes its type from
the event model it becomes (`like(IdeaSubmitted, "title")`, `shared.requests`), so the two cannot drift.
"""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

from pydantic import BaseModel, Field

from services.ideas.domain import Status
from shared.events import (
    ConversationRecorded,
    IdeaBacked,
    IdeaDeclined,
    IdeaMerged,
    IdeaReviewed,
    IdeaShortlisted,
    IdeaSubmitted,
    Scores,
)
from shared.paging import Page
from shared.requests import Command, like


class SubmitIdea(Command):
    title: like(IdeaSubmitted, "title")
    problem: like(IdeaSubmitted, "problem")
    proposal: like(IdeaSubmitted, "proposal")
    expected_benefits: like(IdeaSubmitted, "expected_benefits") = None
    themes: like(IdeaSubmitted, "themes") = ()
    team: like(IdeaSubmitted, "team") = None
    campaign: like(IdeaSubmitted, "campaign") = None
    conversation_id: like(IdeaSubmitted, "conversation_id") = None


class Endorse(Command):
    """No fields: the endorsing person is the one named by X-Person-Ref."""


class ScoresIn(Command):
    impact: like(Scores, "impact")
    feasibility: like(Scores, "feasibility")
    value_for_money: like(Scores, "value_for_money")
    alignment: like(Scores, "alignment")


class Review(Command):
    scores: ScoresIn
    comment: like(IdeaReviewed, "comment") = None


class Shortlist(Command):
    note: like(IdeaShortlisted, "note") = None


class Back(Command):
    budget_gbp: like(IdeaBacked, "budget_gbp")
    staff_days: like(IdeaBacked, "staff_days")
    timebox_weeks: like(IdeaBacked, "timebox_weeks")
    note: like(IdeaBacked, "note") = None


class Decline(Command):
    reason: like(IdeaDeclined, "reason")
    note: like(IdeaDeclined, "note") = ""


class Withdraw(Command):
    """No fields: the withdrawing person is the one named by X-Person-Ref."""


class Merge(Command):
    into_department: like(IdeaMerged, "into_department")
    into_idea_id: like(IdeaMerged, "into_idea_id")


class RecordConversation(Command):
    conversation_id: like(ConversationRecorded, "conversation_id") | None = Field(
        default=None, description="optional; given by the caller to link ideas raised to it")
    team: like(ConversationRecorded, "team")
    participants: like(ConversationRecorded, "participants")
    held_on: like(ConversationRecorded, "held_on")
    ideas_raised: like(ConversationRecorded, "ideas_raised")


# Responses


class BackingOut(BaseModel):
    sponsor: str
    budget_gbp: float
    staff_days: float
    timebox_weeks: int
    note: str | None = None


class ClosureOut(BaseModel):
    """Who closed the idea and how: a decline's reason and note, or the idea it was merged into."""

    by: str
    reason: str | None = None
    note: str | None = None
    into_department: str | None = None
    into_idea_id: UUID | None = None


class AverageScores(BaseModel):
    impact: float
    feasibility: float
    value_for_money: float
    alignment: float
    overall: float = Field(description="the mean of the four averages")


class IdeaRef(BaseModel):
    department: str
    idea_id: UUID


class IdeaOut(BaseModel):
    idea_id: UUID
    status: Status
    title: str
    problem: str
    proposal: str
    expected_benefits: str | None
    themes: list[str]
    team: str | None
    campaign: str | None
    conversation_id: UUID | None
    submitted_by: str
    endorsements: int
    reviews: int
    scores: AverageScores | None = Field(default=None, description="average review scores (one idea, and the ranking)")
    shortlisted_by: str | None
    backing: BackingOut | None
    closure: ClosureOut | None
    source: str | None = Field(
        description="the system that submitted it: the CloudEvents source of its idea.submitted (this API's own, "
                    "or a departmental system's through the intake topic); null for ideas from before it was kept")
    submitted_at: datetime
    updated_at: datetime
    merged_from: list[IdeaRef] = Field(
        default=[], description="the ideas of this department merged into this one, in the order they were merged")


IdeaPage = Page[IdeaOut]


class ReviewOut(BaseModel):
    reviewer: str = Field(description="the reviewer's pseudonym")
    scores: Scores
    comment: str | None
    reviewed_at: datetime


class Reviews(BaseModel):
    items: list[ReviewOut] = Field(description="oldest first")


class Ranking(BaseModel):
    items: list[IdeaOut] = Field(description="shortlisted ideas, best overall average first, unreviewed last")


class ConversationOut(BaseModel):
    conversation_id: UUID
    team: str
    participants: int
    held_on: date
    ideas_raised: int
