"""The idea lifecycle: rules only, no I/O. The aggregate records the events it causes.

    submitted -> shortlisted -> backed
    submitted | shortlisted -> declined | withdrawn | merged

Reviews and endorsements are accepted while an idea is submitted or shortlisted; a person
endorses an idea at most once and reviews it at most once. Nobody reviews, shortlists, backs,
declines or merges an idea they submitted (a conflict of interest). An idea is merged only into
another idea that exists and is still open (not withdrawn, declined or merged): the caller looks
the target up (this department's database, or the central catalogue) and passes what it found.
Anything else is refused with a reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from uuid import UUID, uuid4

from shared.events import (
    ConversationRecorded,
    EventData,
    IdeaBacked,
    IdeaDeclined,
    IdeaEndorsed,
    IdeaMerged,
    IdeaReviewed,
    IdeaShortlisted,
    IdeaSubmitted,
    IdeaWithdrawn,
    Scores,
)
from shared.refusals import Conflict, Forbidden, Invalid


class Status(StrEnum):
    SUBMITTED = "submitted"
    SHORTLISTED = "shortlisted"
    BACKED = "backed"
    DECLINED = "declined"
    WITHDRAWN = "withdrawn"
    MERGED = "merged"


OPEN = frozenset({Status.SUBMITTED, Status.SHORTLISTED})
CLOSED = frozenset({Status.WITHDRAWN, Status.DECLINED, Status.MERGED})


class Refused(Conflict):
    """A command the idea's current state does not allow."""

    def __init__(self, idea: "Idea", reason: str) -> None:
        super().__init__("not allowed in the idea's current state", field="status", rule=reason,
                         idea_id=str(idea.idea_id), status=idea.status.value, reason=reason)
        self.status = idea.status


class NotAllowed(Forbidden):
    """A command this person may not give, whatever the state."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason, field="X-Person-Ref", rule=reason)


class OwnIdea(NotAllowed):
    """A conflict of interest: the submitter acting as the idea's panel."""

    def __init__(self, what: str) -> None:
        reason = f"conflict of interest: nobody {what} an idea they submitted"
        Forbidden.__init__(self, reason, field="X-Person-Ref", rule="not the idea's submitter", reason=reason)


class NoSuchTarget(Invalid):
    def __init__(self, into_department: str, into_idea_id: UUID) -> None:
        super().__init__("the idea to merge into does not exist", field="into_idea_id",
                         rule="an existing idea of into_department", into_department=into_department,
                         into_idea_id=str(into_idea_id))


class TargetClosed(Conflict):
    def __init__(self, target: "MergeTarget") -> None:
        reason = f"an idea cannot be merged into a {target.status} idea"
        super().__init__(reason, field="into_idea_id", rule="an open idea (submitted, shortlisted or backed)",
                         into_department=target.department, into_idea_id=str(target.idea_id),
                         into_status=target.status, reason=reason)


@dataclass(frozen=True)
class MergeTarget:
    """The idea a merge names, as its department (or the central catalogue) knows it."""

    department: str
    idea_id: UUID
    status: str


@dataclass(frozen=True)
class Backing:
    sponsor: str
    budget_gbp: float
    staff_days: float
    timebox_weeks: int
    note: str | None = None


@dataclass(frozen=True)
class Closure:
    """Why an idea left the funnel without being backed."""

    by: str
    reason: str | None = None  # declined
    note: str | None = None  # declined
    into_department: str | None = None  # merged
    into_idea_id: UUID | None = None  # merged


@dataclass
class Idea:
    idea_id: UUID
    status: Status
    title: str
    problem: str
    proposal: str
    submitted_by: str
    expected_benefits: str | None = None
    themes: tuple[str, ...] = ()
    team: str | None = None
    campaign: str | None = None
    conversation_id: UUID | None = None
    endorsed_by: set[str] = field(default_factory=set)
    reviewed_by: set[str] = field(default_factory=set)
    shortlisted_by: str | None = None
    backing: Backing | None = None
    closure: Closure | None = None
    events: list[EventData] = field(default_factory=list, repr=False)

    @classmethod
    def submit(cls, submission: IdeaSubmitted) -> Idea:
        idea = cls(
            idea_id=submission.idea_id, status=Status.SUBMITTED, title=submission.title,
            problem=submission.problem, proposal=submission.proposal, submitted_by=submission.submitted_by,
            expected_benefits=submission.expected_benefits, themes=tuple(submission.themes), team=submission.team,
            campaign=submission.campaign, conversation_id=submission.conversation_id,
        )
        idea.events.append(submission)
        return idea

    def endorse(self, by: str) -> None:
        self._require_open("endorsed")
        if by in self.endorsed_by:
            raise Refused(self, "this person has already endorsed this idea")
        self.endorsed_by.add(by)
        self.events.append(IdeaEndorsed(idea_id=self.idea_id, endorsed_by=by))

    def review(self, reviewer: str, scores: Scores, comment: str | None = None) -> None:
        self._require_not_own(reviewer, "reviews")
        self._require_open("reviewed")
        if reviewer in self.reviewed_by:
            raise Refused(self, "this person has already reviewed this idea: one review per reviewer")
        self.reviewed_by.add(reviewer)
        self.events.append(IdeaReviewed(idea_id=self.idea_id, reviewer=reviewer, scores=scores, comment=comment))

    def shortlist(self, by: str, note: str | None = None) -> None:
        self._require_not_own(by, "shortlists")
        if self.status is not Status.SUBMITTED:
            raise Refused(self, f"only a submitted idea can be shortlisted; this one is {self.status}")
        self.status, self.shortlisted_by = Status.SHORTLISTED, by
        self.events.append(IdeaShortlisted(idea_id=self.idea_id, by=by, note=note))

    def back(self, backing: Backing) -> None:
        self._require_not_own(backing.sponsor, "backs")
        if self.status is not Status.SHORTLISTED:
            raise Refused(self, f"only a shortlisted idea can be backed; this one is {self.status}")
        self.status, self.backing = Status.BACKED, backing
        self.events.append(IdeaBacked(
            idea_id=self.idea_id, sponsor=backing.sponsor, budget_gbp=backing.budget_gbp,
            staff_days=backing.staff_days, timebox_weeks=backing.timebox_weeks, note=backing.note,
        ))

    def decline(self, by: str, reason: str, note: str) -> None:
        self._require_not_own(by, "declines")
        self._require_open("declined")
        self.status, self.closure = Status.DECLINED, Closure(by=by, reason=reason, note=note)
        self.events.append(IdeaDeclined(idea_id=self.idea_id, by=by, reason=reason, note=note))

    def withdraw(self, by: str, *, on_behalf: bool = False) -> None:
        """The submitter withdraws their idea; an administrator may do it on their behalf."""
        if by != self.submitted_by and not on_behalf:
            raise NotAllowed("only the person who submitted an idea can withdraw it")
        self._require_open("withdrawn")
        self.status, self.closure = Status.WITHDRAWN, Closure(by=by)
        self.events.append(IdeaWithdrawn(idea_id=self.idea_id, by=by))

    def merge(self, by: str, into_department: str, into_idea_id: UUID, *, department: str,
              target: MergeTarget | None) -> None:
        """Merges this idea into another, possibly another department's (`department` is this one's);
        `target` is the other idea as the caller found it, None when it was not found."""
        if into_department == department and into_idea_id == self.idea_id:
            raise Refused(self, "an idea cannot be merged into itself")
        self._require_not_own(by, "merges")
        self._require_open("merged")
        if target is None:
            raise NoSuchTarget(into_department, into_idea_id)
        if target.status in CLOSED:
            raise TargetClosed(target)
        self.status = Status.MERGED
        self.closure = Closure(by=by, into_department=into_department, into_idea_id=into_idea_id)
        self.events.append(IdeaMerged(idea_id=self.idea_id, into_department=into_department,
                                      into_idea_id=into_idea_id, by=by))

    def take_events(self) -> list[EventData]:
        taken, self.events = self.events, []
        return taken

    def _require_not_own(self, person: str, what: str) -> None:
        if person == self.submitted_by:
            raise OwnIdea(what)

    def _require_open(self, what: str) -> None:
        if self.status not in OPEN:
            raise Refused(self, f"a {self.status} idea can no longer be {what}")


@dataclass(frozen=True)
class Conversation:
    """A team conversation that raised ideas: recorded once, never changed."""

    conversation_id: UUID
    team: str
    participants: int
    held_on: date
    ideas_raised: int
    recorded_by: str | None  # None when a departmental system reported it (the event names no recorder)

    def recorded(self) -> ConversationRecorded:
        return ConversationRecorded(conversation_id=self.conversation_id, team=self.team,
                                    participants=self.participants, held_on=self.held_on,
                                    ideas_raised=self.ideas_raised)


def new_id() -> UUID:
    return uuid4()
