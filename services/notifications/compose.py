"""Turning a claimed email delivery into the email to send (messages.Outgoing): the I/O half of
messages.py. It reads the event (or the digest's events) and what the service knows of the ideas,
experiments and outcomes they concern, and makes the person's unsubscribe links."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg

from services.notifications import domain, messages, repository
from services.notifications.config import NotificationsSettings
from services.notifications.domain import Kind
from services.notifications.failures import Refused, RecipientGone
from services.notifications.messages import About, Department, Outgoing
from shared.events import Event, IdeaMerged, OutcomeAdopted, decode
from shared.events.binding import STRUCTURED_JSON


def event_of(payload: bytes) -> Event[Any]:
    return decode(bytes(payload), [("content-type", STRUCTURED_JSON.encode())])


class Writer:
    """Writes the department's emails."""

    def __init__(self, settings: NotificationsSettings) -> None:
        self._secret = settings.pseudonym_secret
        self._public_url = settings.public_url.rstrip("/")
        self.department = Department.of(settings.department, settings.portal_url, settings.department_name)
        self._zone = settings.digest_timezone
        self.preferences_url = f"{self.department.portal_url}/account/emails"

    def unsubscribe_url(self, key: uuid.UUID, scope: domain.Scope) -> str:
        return f"{self._public_url}/unsubscribe/{domain.unsubscribe_token(self._secret, key, scope)}"

    async def outgoing(self, conn: asyncpg.Connection, row: asyncpg.Record) -> Outgoing:
        """The email of a claimed delivery: one event's, or a digest's."""
        if row["email"] is None:
            raise RecipientGone("the subscription no longer exists")
        if row["email_refused_at"] is not None:
            raise Refused("address refused", "GOV.UK Notify reported that this address cannot receive email")
        key = row["unsubscribe_key"]
        if row["digest_id"] is not None:
            digest, notices = await repository.digest_of(conn, row["digest_id"])
            told = [(n["kind"], messages.notice(event := event_of(n["payload"]), n["kind"],
                                                await self.about(conn, event), self.department)) for n in notices]
            email = messages.digest_email(told, digest["rhythm"], digest["period_end"], self.department,
                                          {k: self.unsubscribe_url(key, k) for k, _ in told}, self.preferences_url,
                                          timezone=self._zone)
            return Outgoing(row["delivery_id"], row["email"], row["display_name"], None, email,
                            self.unsubscribe_url(key, digest["rhythm"]), {"X-Innovation-Digest-Id": str(digest["digest_id"])})
        event = event_of(row["payload"])
        kind: Kind = row["kind"] or "department"  # deliveries made before kinds existed were the department's news
        notice = messages.notice(event, kind, await self.about(conn, event), self.department)
        unsubscribe = self.unsubscribe_url(key, kind)
        email = messages.single_email(notice, kind, self.department, unsubscribe, self.preferences_url)
        return Outgoing(row["delivery_id"], row["email"], row["display_name"], kind, email, unsubscribe,
                        {"X-Innovation-Event-Id": str(event.id), "X-Innovation-Event-Type": event.type})

    async def about(self, conn: asyncpg.Connection, event: Event[Any]) -> About:
        """What the service knows of the idea, experiment and outcome `event` concerns."""
        data = event.data
        idea_id = getattr(data, "idea_id", None)
        experiment_id = getattr(data, "experiment_id", None)
        outcome_id = getattr(data, "outcome_id", None)
        into_title = None
        match data:
            case OutcomeAdopted() if data.origin_department == self.department.code:
                outcome_id = data.origin_outcome_id
                if (outcome := await repository.outcome_of_ours(conn, outcome_id)) is not None:
                    idea_id, experiment_id = outcome["idea_id"], outcome["experiment_id"]
            case IdeaMerged() if data.into_department == self.department.code:
                into_title = await repository.idea_title(conn, data.into_idea_id)
        if idea_id is None and experiment_id is not None:
            idea_id = await repository.idea_of_experiment(conn, experiment_id)
        title = await repository.idea_title(conn, idea_id) if idea_id is not None else None
        return About(idea_id=idea_id, idea_title=title, experiment_id=experiment_id, outcome_id=outcome_id,
                     into_title=into_title)
