"""The HTTP surface of notifications: subscriptions, webhooks and the status of deliveries.

Roles: every role of the department reads; a contributor or reviewer sets and deletes their
own subscription (the path's person must be the X-Person-Ref), an admin anyone's; only admins
manage webhooks. A key of another department finds no subscription here (404) and may do
nothing else (403). A subscriber's email address and name are shown to admins and to the person
(X-Person-Ref) only; a failed delivery's full error text to admins only.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints
from pydantic_core import PydanticCustomError

from services.notifications import domain, egress
from services.notifications.handlers import Notifications
from shared.auth import Caller, department_member
from shared.http import ApiError
from shared.runtime import runtime_of

router = APIRouter(prefix="/v1", tags=["notifications"])

REGISTRATION_RESOLVE_SECONDS = 5.0  # a name not resolved by then is accepted: each delivery vets it again
PERSON_REF_PATTERN = r"^[\x21-\x7e][\x20-\x7e]{0,199}$"  # as X-Person-Ref (shared.auth)


def _rule(check: Callable[[Any], Any]) -> AfterValidator:
    """A domain rule as a pydantic validator: its refusal becomes a 422 naming the field and rule."""

    def validate(value: Any) -> Any:
        try:
            return check(value)
        except domain.InvalidInput as refused:
            raise PydanticCustomError(refused.rule, refused.message) from None

    return AfterValidator(validate)


EventTypes = Annotated[
    list[Annotated[str, StringConstraints(max_length=100)]], Field(min_length=1, max_length=30),
    _rule(lambda values: list(domain.event_types(values))),
]
Description = Annotated[str, StringConstraints(max_length=200, pattern=r"^[^\x00-\x1f\x7f]*$")]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SubscriptionIn(_Body):
    email: Annotated[str, StringConstraints(max_length=254), _rule(domain.email_address)]
    display_name: Annotated[str, StringConstraints(max_length=100), _rule(domain.display_name)] | None = None
    event_types: EventTypes


class SubscriptionOut(BaseModel):
    person: str = Field(description="the pseudonym of the person (the reference itself is not stored)")
    email: str | None = Field(description="shown to admins and to the person (X-Person-Ref) only; null to others")
    display_name: str | None = Field(description="as email")
    event_types: list[str]
    created_at: datetime
    updated_at: datetime


class WebhookIn(_Body):
    url: Annotated[str, StringConstraints(max_length=2000), _rule(domain.webhook_url)]
    secret: Annotated[str, StringConstraints(max_length=200), _rule(domain.webhook_secret)] = Field(
        description="signs every delivery: X-Innovation-Signature = sha256=hex(HMAC-SHA256(secret, timestamp + '.' + body))")
    event_types: EventTypes
    description: Description | None = None


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
    event_id: uuid.UUID
    event_type: str
    channel: Literal["email", "webhook"]
    person: str | None = Field(description="the subscriber's pseudonym (email deliveries)")
    webhook_id: uuid.UUID | None
    status: Literal["pending", "delivered", "failed"]
    attempts: int
    last_error: str | None = Field(description="the class of the last failure: `HTTP 500`, `timeout`, "
                                                "`refused: private address`, `connection failed`...")
    last_error_detail: str | None = Field(description="its whole text (a receiver's response...): admins only, null to others")
    next_attempt_at: datetime | None = Field(description="when a pending delivery is tried next")
    created_at: datetime
    updated_at: datetime
    delivered_at: datetime | None


class DeliveryPage(BaseModel):
    items: list[DeliveryOut]
    next_cursor: str | None


# -- who may do what ------------------------------------------------------------------------------


def _notifications(request: Request) -> Notifications:
    return runtime_of(request).handlers


def _no_subscription() -> ApiError:
    return ApiError(404, "subscription not found", [{"field": "person_ref", "rule": "a subscriber of this department"}])


def member(*roles: str, on_subscription: bool = False):
    return department_member(*roles, hidden_as=_no_subscription if on_subscription else None)


PersonRef = Annotated[str, Path(pattern=PERSON_REF_PATTERN, description="the department's own reference for the person")]
SubscriptionReader = Annotated[Caller, Depends(member(on_subscription=True))]
SubscriptionWriter = Annotated[Caller, Depends(member("contributor", "reviewer", on_subscription=True))]
Reader = Annotated[Caller, Depends(member())]
Admin = Annotated[Caller, Depends(member("admin"))]


def _own(request: Request, caller: Caller, person_ref: str) -> str:
    """The pseudonym of `person_ref`, when the caller may manage that person's subscription:
    admins anyone's, contributors and reviewers only their own (named by X-Person-Ref)."""
    notifications = _notifications(request)
    person = notifications.person(person_ref)
    if caller.role != "admin":
        acting = request.headers.get("x-person-ref", "")
        if not acting:
            raise ApiError(400, "the person acting must be named", [
                {"field": "X-Person-Ref", "rule": "required: the caller's own reference for the person"}])
        if notifications.person(acting) != person:
            raise ApiError(403, "only an admin may manage another person's subscription",
                           [{"field": "person_ref", "rule": "equal to X-Person-Ref unless the key is an admin's"}])
    return person


def _sees_contact(request: Request, caller: Caller, person: str) -> bool:
    """Whether the caller may read `person`'s email address and name: admins, and the person."""
    if caller.role == "admin":
        return True
    acting = request.headers.get("x-person-ref", "")
    return bool(acting) and _notifications(request).person(acting) == person


_RESPONSES = {
    401: {"description": "missing, unknown or revoked API key"},
    403: {"description": "the key's role or department may not do this"},
    422: {"description": "invalid input; the body names each field and rule"},
}


# -- subscriptions --------------------------------------------------------------------------------


@router.put("/subscriptions/{person_ref}", response_model=SubscriptionOut, responses=_RESPONSES,
            summary="Set a person's email subscription (created: 201, replaced: 200)")
async def put_subscription(request: Request, response: Response, person_ref: PersonRef, body: SubscriptionIn,
                           caller: SubscriptionWriter) -> dict[str, Any]:
    person = _own(request, caller, person_ref)
    row, created = await _notifications(request).subscribe(person, body.email, body.display_name, body.event_types)
    response.status_code = 201 if created else 200
    return dict(row)


@router.get("/subscriptions/{person_ref}", response_model=SubscriptionOut, responses=_RESPONSES,
            summary="A person's subscription")
async def get_subscription(request: Request, person_ref: PersonRef, caller: SubscriptionReader) -> dict[str, Any]:
    notifications = _notifications(request)
    person = notifications.person(person_ref)
    row = await notifications.subscription(person)
    if row is None:
        raise _no_subscription()
    if not _sees_contact(request, caller, person):
        return {**dict(row), "email": None, "display_name": None}
    return dict(row)


@router.delete("/subscriptions/{person_ref}", status_code=204, responses=_RESPONSES,
               summary="Delete a person's subscription and their email address; their pending emails end failed")
async def delete_subscription(request: Request, person_ref: PersonRef, caller: SubscriptionWriter) -> Response:
    if not await _notifications(request).unsubscribe(_own(request, caller, person_ref)):
        raise _no_subscription()
    return Response(status_code=204)


# -- webhooks -------------------------------------------------------------------------------------


@router.post("/webhooks", status_code=201, response_model=WebhookOut, responses=_RESPONSES,
             summary="Register a webhook (admin); its secret is never shown again")
async def add_webhook(request: Request, response: Response, body: WebhookIn, _: Admin) -> dict[str, Any]:
    try:
        await egress.vet_at_registration(body.url, runtime_of(request).settings.allowed_networks, REGISTRATION_RESOLVE_SECONDS)
    except domain.InvalidInput as refused:  # a RefusedDestination, mostly
        raise ApiError(422, "validation failed", [{"field": "url", "rule": refused.rule, "message": refused.message}]) from None
    row = await _notifications(request).add_webhook(body.url, body.secret, body.event_types, body.description)
    response.headers["Location"] = f"/v1/webhooks/{row['webhook_id']}"
    return dict(row)


@router.get("/webhooks", response_model=WebhookList, responses=_RESPONSES, summary="The department's webhooks")
async def list_webhooks(request: Request, _: Reader) -> dict[str, Any]:
    return {"items": [dict(r) for r in await _notifications(request).webhooks()]}


@router.delete("/webhooks/{webhook_id}", status_code=204, responses=_RESPONSES,
               summary="Remove a webhook (admin); its pending deliveries end failed")
async def delete_webhook(request: Request, webhook_id: uuid.UUID, _: Admin) -> Response:
    if not await _notifications(request).remove_webhook(webhook_id):
        raise ApiError(404, "webhook not found", [{"field": "webhook_id", "rule": "a webhook of this department"}])
    return Response(status_code=204)


# -- deliveries -----------------------------------------------------------------------------------


@router.get("/deliveries", response_model=DeliveryPage, responses=_RESPONSES,
            summary="Deliveries, oldest first, a page at a time")
async def list_deliveries(
    request: Request,
    caller: Reader,
    status: Literal["pending", "delivered", "failed"] | None = None,
    channel: Literal["email", "webhook"] | None = None,
    event_type: Annotated[str | None, Query(max_length=100)] = None,
    event_id: uuid.UUID | None = None,
    webhook_id: uuid.UUID | None = None,
    person: Annotated[str | None, Query(pattern=r"^p_[0-9a-f]{16}$", description="a subscriber's pseudonym")] = None,
    cursor: Annotated[str | None, Query(pattern=r"^[0-9]{1,18}$", description="next_cursor of the previous page")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> dict[str, Any]:
    if event_type is not None:
        try:
            (event_type,) = domain.event_types([event_type])
        except domain.InvalidInput as refused:
            raise ApiError(422, "validation failed", [{"field": "event_type", "rule": refused.rule}]) from None
    rows = await _notifications(request).deliveries(
        after=int(cursor or 0), limit=limit + 1, status=status, channel=channel, event_type=event_type,
        event_id=event_id, webhook_id=webhook_id, person=person,
    )
    more = len(rows) > limit
    rows = rows[:limit]
    admin = caller.role == "admin"
    items = [{**dict(r), "next_attempt_at": r["next_attempt_at"] if r["status"] == "pending" else None,
              "last_error_detail": r["last_error_detail"] if admin else None} for r in rows]
    return {"items": items, "next_cursor": str(rows[-1]["seq"]) if more else None}
