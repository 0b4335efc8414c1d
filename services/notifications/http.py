"""The HTTP surface of notifications: subscriptions, webhooks and the status of deliveries.

Roles: every role of the department reads; a contributor or reviewer sets and deletes their
own subscription (the path's person must be the X-Person-Ref), an admin anyone's; only admins
manage webhooks. A key of another department finds no subscription here (404) and may do
nothing else (403). A subscriber's email address and name are shown to admins and to the person
(X-Person-Ref) only; a failed delivery's full error text to admins only.
"""

from __future__ import annotations

import uuid
from typing import Annotated

import asyncpg
from fastapi import APIRouter, Depends, Path, Query, Request, Response

from services.notifications import domain
from services.notifications.domain import Channel, Status
from services.notifications.handlers import Notifications, OthersSubscription, UnknownSubscription
from services.notifications.repository import DeliveryFilter
from services.notifications.schemas import (
    DeliveryOut,
    DeliveryPage,
    RegisterWebhook,
    Subscribe,
    SubscriptionOut,
    WebhookList,
    WebhookOut,
)
from shared.auth import PERSON_REF_PATTERN, Caller, acting_person, department_member, named_person
from shared.paging import Cursor, Limit, page, position_of
from shared.runtime import runtime_of

router = APIRouter(prefix="/v1", tags=["notifications"])



def handlers(request: Request) -> Notifications:
    return runtime_of(request).handlers


def member(*roles: str, on_subscription: bool = False):
    return department_member(*roles, hidden_as=UnknownSubscription if on_subscription else None)


PersonRef = Annotated[str, Path(pattern=PERSON_REF_PATTERN, description="the department's own reference for the person")]
SubscriptionReader = Annotated[Caller, Depends(member(on_subscription=True))]
SubscriptionWriter = Annotated[Caller, Depends(member("contributor", "reviewer", on_subscription=True))]
Reader = Annotated[Caller, Depends(member())]
Admin = Annotated[Caller, Depends(member("admin"))]
Handlers = Annotated[Notifications, Depends(handlers)]


async def _manages(request: Request, caller: Caller, person: str) -> None:
    """Admins manage anyone's subscription; contributors and reviewers only their own, so they
    must name themselves (X-Person-Ref)."""
    if caller.role != "admin" and await acting_person(request) != person:
        raise OthersSubscription()


async def _sees_contact(request: Request, caller: Caller, person: str) -> bool:
    """Whether the caller may read `person`'s email address and name: admins, and the person."""
    if caller.role == "admin":
        return True
    return await named_person(request) == person


_RESPONSES = {
    400: {"description": "X-Person-Ref missing or malformed"},
    401: {"description": "missing, unknown or revoked API key"},
    403: {"description": "the key's role or department may not do this"},
    404: {"description": "no such subscription or webhook in this department"},
    422: {"description": "invalid input; the body names each field and rule"},
}


# -- subscriptions --------------------------------------------------------------------------------


@router.put("/subscriptions/{person_ref}", response_model=SubscriptionOut, responses=_RESPONSES,
            summary="Set a person's email subscription (created: 201, replaced: 200)")
async def put_subscription(request: Request, response: Response, person_ref: PersonRef, body: Subscribe,
                           caller: SubscriptionWriter, handlers: Handlers) -> SubscriptionOut:
    subscription = domain.new_subscription(body.email, body.display_name, body.event_types)
    person = handlers.person(person_ref)
    await _manages(request, caller, person)
    row, created = await handlers.subscribe(person, subscription)
    response.status_code = 201 if created else 200
    return SubscriptionOut.model_validate(dict(row))


@router.get("/subscriptions/{person_ref}", response_model=SubscriptionOut, responses=_RESPONSES,
            summary="A person's subscription")
async def get_subscription(request: Request, person_ref: PersonRef, caller: SubscriptionReader,
                           handlers: Handlers) -> SubscriptionOut:
    person = handlers.person(person_ref)
    row = await handlers.subscription(person)
    if not await _sees_contact(request, caller, person):
        return SubscriptionOut.model_validate({**dict(row), "email": None, "display_name": None})
    return SubscriptionOut.model_validate(dict(row))


@router.delete("/subscriptions/{person_ref}", status_code=204, responses=_RESPONSES,
               summary="Delete a person's subscription and their email address; their pending emails end failed")
async def delete_subscription(request: Request, person_ref: PersonRef, caller: SubscriptionWriter,
                              handlers: Handlers) -> Response:
    person = handlers.person(person_ref)
    await _manages(request, caller, person)
    await handlers.unsubscribe(person)
    return Response(status_code=204)


# -- webhooks -------------------------------------------------------------------------------------


@router.post("/webhooks", status_code=201, response_model=WebhookOut, responses=_RESPONSES,
             summary="Register a webhook (admin); its secret is never shown again")
async def add_webhook(request: Request, response: Response, body: RegisterWebhook, _: Admin,
                      handlers: Handlers) -> WebhookOut:
    webhook = domain.new_webhook(body.url, body.secret, body.event_types, body.description)
    row = await handlers.add_webhook(webhook)
    response.headers["Location"] = f"/v1/webhooks/{row['webhook_id']}"
    return WebhookOut.model_validate(dict(row))


@router.get("/webhooks", response_model=WebhookList, responses=_RESPONSES, summary="The department's webhooks")
async def list_webhooks(_: Reader, handlers: Handlers) -> WebhookList:
    return WebhookList(items=[WebhookOut.model_validate(dict(r)) for r in await handlers.webhooks()])


@router.delete("/webhooks/{webhook_id}", status_code=204, responses=_RESPONSES,
               summary="Remove a webhook (admin); its pending deliveries end failed")
async def delete_webhook(webhook_id: uuid.UUID, _: Admin, handlers: Handlers) -> Response:
    await handlers.remove_webhook(webhook_id)
    return Response(status_code=204)


# -- deliveries -----------------------------------------------------------------------------------


def delivery_out(row: asyncpg.Record, *, admin: bool) -> DeliveryOut:
    """A delivery as `caller` may see it: when it is tried next only while pending, the whole
    error text only to admins."""
    return DeliveryOut.model_validate({
        **dict(row), "next_attempt_at": row["next_attempt_at"] if row["status"] == "pending" else None,
        "last_error_detail": row["last_error_detail"] if admin else None})


@router.get("/deliveries", response_model=DeliveryPage, responses=_RESPONSES,
            summary="Deliveries, oldest first, a page at a time")
async def list_deliveries(
    caller: Reader,
    handlers: Handlers,
    status: Status | None = None,
    channel: Channel | None = None,
    event_type: Annotated[str | None, Query(max_length=100)] = None,
    event_id: uuid.UUID | None = None,
    webhook_id: uuid.UUID | None = None,
    person: Annotated[str | None, Query(pattern=r"^p_[0-9a-f]{16}$", description="a subscriber's pseudonym")] = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> DeliveryPage:
    filters = DeliveryFilter(status=status, channel=channel, event_type=event_type, event_id=event_id,
                             webhook_id=webhook_id, person=person)
    rows = await handlers.deliveries(filters, after=position_of(cursor), limit=limit + 1)
    rows, next_cursor = page(rows, limit, lambda row: row["seq"])
    admin = caller.role == "admin"
    return DeliveryPage(items=[delivery_out(r, admin=admin) for r in rows], next_cursor=next_cursor)
