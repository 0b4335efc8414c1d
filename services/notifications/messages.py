"""What an email says, without I/O: the notice of one event as one kind of person reads it, an
email of one notice, and a digest of many. Plain English, the department's name, a link to the
portal, and never a pseudonym or a person's reference.

(Skeleton: the lead defines the types; the wording is being written.)
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from services.notifications.domain import Kind
from shared.events import Event


@dataclass(frozen=True)
class Department:
    code: str  # "dwp"
    name: str  # "Department for Work and Pensions"
    portal_url: str  # "https://innovation.dwp.gov.uk", no trailing slash


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


def notice(event: Event[Any], kind: Kind, about: About, department: Department) -> Notice:
    raise NotImplementedError


def single_email(notice: Notice, kind: Kind, department: Department, unsubscribe_url: str, preferences_url: str) -> Email:
    raise NotImplementedError


def digest_email(notices: Sequence[tuple[Kind, Notice]], rhythm: str, period_end: datetime, department: Department,
                 unsubscribe_urls: Mapping[Kind, str], preferences_url: str) -> Email:
    raise NotImplementedError
