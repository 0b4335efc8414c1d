"""The HTTP surface of notifications: subscriptions, webhooks and the status of deliveries.

Roles: every role of the department reads; a contributor or reviewer sets and deletes their
own subscription (the path's person must be the X-Person-Ref), an admin anyone's; only admins
manage webhooks. A key of another department finds no subscription here (404) and may do
nothing else (403). A subscriber's email address and name are shown to admins and to the person
(X-Person-Ref) only; a failed delivery's full error text to admins only.
"""

from __future__ import annotations

import html
import uuid
from typing import Annotated

import asyncpg
from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response
from fastapi.responses import HTMLResponse

from services.notifications import domain
from services.notifications.domain import Channel, Status
from services.notifications.handlers import Notifications, OthersSubscription, SubscriptionExists, UnknownSubscription
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
from shared.http import ApiError
from shared.paging import Cursor, Limit, page, position_of
from shared.refusals import Invalid
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


def subscription_out(row: dict, *, contact: bool = True) -> SubscriptionOut:
    """A subscription with every kind's rhythm; the address and name only when `contact`."""
    hidden = {} if contact else {"email": None, "display_name": None}
    return SubscriptionOut.model_validate({**row, "preferences": domain.preferences(row["preferences"]), **hidden})


@router.put("/subscriptions/{person_ref}", response_model=SubscriptionOut,
            responses={**_RESPONSES, 412: {"description": "If-None-Match: * and the person has a subscription"}},
            summary="Set a person's address and email preferences (created: 201, replaced: 200)")
async def put_subscription(request: Request, response: Response, person_ref: PersonRef, body: Subscribe,
                           caller: SubscriptionWriter, handlers: Handlers,
                           if_none_match: Annotated[str | None, Header(max_length=10)] = None) -> SubscriptionOut:
    if if_none_match not in (None, "*"):
        raise Invalid("validation failed", field="If-None-Match", rule="*",
                      message="only If-None-Match: * (create the subscription unless one exists)")
    subscription = domain.new_subscription(body.email, body.display_name, body.event_types, body.preferences,
                                           body.reviewer)
    person = handlers.person(person_ref)
    await _manages(request, caller, person)
    try:
        row, created = await handlers.subscribe(person, subscription, create_only=if_none_match == "*")
    except SubscriptionExists as exists:
        raise ApiError(412, exists.reason, [{"field": "If-None-Match", "rule": "no subscription of this person yet"}]) from None
    response.status_code = 201 if created else 200
    return subscription_out(row)


@router.get("/subscriptions/{person_ref}", response_model=SubscriptionOut, responses=_RESPONSES,
            summary="A person's subscription")
async def get_subscription(request: Request, person_ref: PersonRef, caller: SubscriptionReader,
                           handlers: Handlers) -> SubscriptionOut:
    person = handlers.person(person_ref)
    row = await handlers.subscription(person)
    return subscription_out(row, contact=await _sees_contact(request, caller, person))


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


# -- unsubscribe links (people, without signing in) ----------------------------------------------

pages = APIRouter(tags=["unsubscribe"])

_WHAT = {"my_ideas": "emails about your ideas", "endorsed": "emails about ideas you endorsed",
         "review_queue": "emails about your review queue", "department": "emails with your department's news",
         "daily": "your daily digest", "weekly": "your weekly digest"}
_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex"><title>{title} – Innovation network</title>
<style>body{{font-family:Arial,Helvetica,sans-serif;color:#0b0c0c;max-width:40em;margin:2em auto;padding:0 1em;
line-height:1.5}}h1{{font-size:2em}}button{{font-size:1.2em;padding:.4em 1em;background:#00703c;color:#fff;
border:0;box-shadow:0 2px 0 #002d18;cursor:pointer}}button:focus{{outline:3px solid #fd0;color:#0b0c0c;
background:#fd0}}a{{color:#1d70b8}}</style></head>
<body><main><h1>{title}</h1>{body}</main></body></html>"""


def _page(status: int, title: str, body: str) -> HTMLResponse:
    return HTMLResponse(_PAGE.format(title=html.escape(title), body=body), status_code=status,
                        headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer",
                                 "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
                                                            "form-action 'self'; frame-ancestors 'none'"})


def _invalid_link() -> HTMLResponse:
    return _page(404, "This link does not work",
                 "<p>The link may have been copied wrongly, or the email address it was for has been removed.</p>"
                 "<p>You can change the emails you get from your account in your department's innovation portal.</p>")


Token = Annotated[str, Path(max_length=100, pattern=r"^[A-Za-z0-9_.-]+$")]


@pages.get("/unsubscribe/{token}", response_class=HTMLResponse, summary="The page of an email's unsubscribe link")
async def unsubscribe_page(token: Token, handlers: Handlers) -> HTMLResponse:
    found = await handlers.unsubscribe_link(token, confirm=False)
    if found is None:
        return _invalid_link()
    scope, already = found
    what = _WHAT[scope]
    if already:
        return _page(200, "You have already unsubscribed", f"<p>You do not get {html.escape(what)}.</p>")
    return _page(200, f"Stop {what}?",
                 f'<form method="post"><p>We will stop sending you {html.escape(what)}. You will still get any other '
                 f'emails you chose.</p><button type="submit">Unsubscribe</button></form>')


@pages.post("/unsubscribe/{token}", response_class=HTMLResponse,
            summary="Unsubscribe: the page's button, or RFC 8058 one-click (List-Unsubscribe=One-Click)")
async def unsubscribe(token: Token, handlers: Handlers) -> HTMLResponse:
    found = await handlers.unsubscribe_link(token, confirm=True)
    if found is None:
        return _invalid_link()
    scope, already = found
    what = html.escape(_WHAT[scope])
    if already:
        return _page(200, "You have already unsubscribed", f"<p>You do not get {what}.</p>")
    return _page(200, "You have unsubscribed", f"<p>We will not send you {what} any more.</p>")
