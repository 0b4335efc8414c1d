"""Request and response bodies of the HTTP API.

Notifications publishes no events, so no request field has an event model to take its type
from (`shared.requests.like`): requests bound sizes here, and the domain's rules (domain.py:
`new_subscription`, `new_webhook`) refuse what breaks them, by field and rule.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

from services.notifications.domain import Channel, Kind, Rhythm, Status
from shared.paging import Page
from shared.requests import Command

EventTypes = Annotated[list[Annotated[str, StringConstraints(max_length=100)]], Field(min_length=1, max_length=30)]
Description = Annotated[str, StringConstraints(max_length=200, pattern=r"^[^\x00-\x1f\x7f]*$")]


Name = Annotated[str, StringConstraints(max_length=40)]


class Subscribe(Command):
    email: Annotated[str, StringConstraints(max_length=254)]
    display_name: Annotated[str, StringConstraints(max_length=100)] | None = None
    preferences: Annotated[dict[Name, Name], Field(max_length=4)] | None = Field(
        default=None, description="per kind (my_ideas, endorsed, review_queue, department): immediately, daily, "
                                  "weekly or never; a kind not named takes its default (my_ideas immediately, "
                                  "the rest weekly)")
    event_types: Annotated[list[Annotated[str, StringConstraints(max_length=100)]], Field(max_length=30)] | None = Field(
        default=None, description="the department's news the person wants (kind `department`); default: ideas "
                                  "submitted and backed, outcomes recorded and adopted. Naming them without a "
                                  "rhythm for `department` means immediately")
    reviewer: bool = Field(default=False, description="the person reviews ideas: they hear of new ones (kind review_queue)")


class RegisterWebhook(Command):
    url: Annotated[str, StringConstraints(max_length=2000)]
    secret: Annotated[str, StringConstraints(max_length=200)] = Field(
        description="signs every delivery: X-Innovation-Signature = sha256=hex(HMAC-SHA256(secret, timestamp + '.' + body))")
    event_types: EventTypes
    description: Description | None = None


# Responses


class SubscriptionOut(BaseModel):
    person: str = Field(description="the pseudonym of the person (the reference itself is not stored)")
    email: str | None = Field(description="shown to admins and to the person (X-Person-Ref) only; null to others")
    display_name: str | None = Field(description="as email")
    preferences: dict[Kind, Rhythm] = Field(description="every kind's rhythm (the person's choice or the default)")
    event_types: list[str]
    reviewer: bool
    email_refused_at: datetime | None = Field(description="when GOV.UK Notify said the address cannot receive email "
                                                          "(no email is sent to it until the address changes)")
    created_at: datetime
    updated_at: datetime


class WebhookOut(BaseModel):
    webhook_id: uuid.UUID
    url: str
    event_types: list[str]
    description: str | None
    created_at: datetime


class WebhookList(BaseModel):
    items: list[WebhookOut]


class DeliveryOut(BaseModel):
    delivery_id: uuid.UUID
    event_id: uuid.UUID | None = Field(description="the event told (null for a digest)")
    event_type: str | None
    digest_id: uuid.UUID | None = Field(description="the digest sent (null for one event's email or a webhook)")
    channel: Channel
    kind: Kind | None = Field(description="an email's kind (null for digests and webhooks)")
    person: str | None = Field(description="the subscriber's pseudonym (email deliveries)")
    webhook_id: uuid.UUID | None
    status: Status
    attempts: int
    last_error: str | None = Field(description="the class of the last failure: `HTTP 500`, `timeout`, "
                                                "`refused: private address`, `connection failed`...")
    last_error_detail: str | None = Field(description="its whole text (a receiver's response...): admins only, null to others")
    next_attempt_at: datetime | None = Field(description="when a pending delivery is tried next")
    created_at: datetime
    updated_at: datetime
    delivered_at: datetime | None
    provider_id: str | None = Field(description="GOV.UK Notify's id of the email, once Notify accepted it")


DeliveryPage = Page[DeliveryOut]
