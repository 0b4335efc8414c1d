"""Builders of valid events for tests."""

import uuid

from shared.events import IdeaBacked, IdeaSubmitted, IdeaEndorsed, new_event
from shared.events.pseudonym import pseudonymise


def person(ref: str = "alice") -> str:
    return pseudonymise(b"test-secret", ref)


def submitted(department: str, idea_id: uuid.UUID | None = None, title: str = "Fewer forms", **kw):
    data = IdeaSubmitted(
        idea_id=idea_id or uuid.uuid4(), title=title, problem="Too many forms.",
        proposal="Merge them.", submitted_by=person(), **kw,
    )
    return new_event(data, department=department, service="ideas")


def endorsed(department: str, idea_id: uuid.UUID, who: str = "bob"):
    return new_event(IdeaEndorsed(idea_id=idea_id, endorsed_by=person(who)), department=department, service="ideas")


def backed(department: str, idea_id: uuid.UUID, **kw):
    data = IdeaBacked(idea_id=idea_id, sponsor=person("sponsor"), budget_gbp=kw.pop("budget_gbp", 5000),
                      staff_days=kw.pop("staff_days", 10), timebox_weeks=kw.pop("timebox_weeks", 6), **kw)
    return new_event(data, department=department, service="ideas")
