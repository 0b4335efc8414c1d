"""The Notify channel's pure parts: which failures are final and what every role reads of them,
which template an email uses, what the templates' placeholders receive, and what a callback body
must hold."""

import json
import uuid
from types import SimpleNamespace

import httpx
import pytest
import requests
from fastapi import FastAPI
from notifications_python_client.errors import HTTPError, InvalidResponse
from pydantic import ValidationError

from services.notifications import messages
from services.notifications.config import NotificationsSettings
from services.notifications.failures import Refused, SendFailed
from services.notifications.notify import (
    NotifyCallback,
    NotifySender,
    callback_router,
    failure,
    personalisation,
    templates,
)
from services.notifications.worker import describe
from shared.http import install_error_handlers

T = {name: str(uuid.uuid4()) for name in ("my_ideas", "endorsed", "review_queue", "department", "digest", "default")}
KEY = f"key-{uuid.uuid4()}-{uuid.uuid4()}"


def notify_error(status: int, body) -> HTTPError:
    response = requests.Response()
    response.status_code = status
    response._content = json.dumps(body).encode() if not isinstance(body, bytes) else body
    return HTTPError(response)


def errors(status: int, error: str, message: str) -> HTTPError:
    return notify_error(status, {"status_code": status, "errors": [{"error": error, "message": message}]})


def without_response(cause: Exception) -> HTTPError:
    """What the client raises when a request got no response: HTTPError.create(e) from e."""
    try:
        try:
            raise cause
        except requests.RequestException as e:
            raise HTTPError.create(e) from e
    except HTTPError as error:
        return error


@pytest.mark.parametrize(("error", "final", "reason"), [
    (errors(400, "ValidationError", "email_address Not a valid email address"), True, "Notify 400 ValidationError"),
    (errors(400, "BadRequestError", "Missing personalisation: body"), True, "Notify 400 BadRequestError"),
    (errors(403, "AuthError", "Invalid token: API key not found"), False, "Notify 403 AuthError"),
    (errors(429, "RateLimitError", "Exceeded rate limit for key type LIVE of 3000 requests per 60 seconds"), False,
     "Notify 429 RateLimitError"),
    (errors(429, "TooManyRequestsError", "Exceeded send limits (250000) for today"), False,
     "Notify 429 TooManyRequestsError"),
    (errors(500, "Exception", "Internal server error"), False, "Notify 500 Exception"),
    (notify_error(502, b"<html>bad gateway</html>"), False, "Notify 502"),
    (notify_error(503, {"message": "down for maintenance"}), False, "Notify 503"),
    (without_response(requests.exceptions.ReadTimeout("read timed out")), False, "timeout"),
    (without_response(requests.exceptions.ConnectTimeout("connect timed out")), False, "timeout"),
    (without_response(requests.exceptions.ConnectionError("refused")), False, "connection failed"),
])
def test_only_a_400_is_final_and_the_reason_names_the_status_and_notifys_error_class(error, final, reason):
    mapped = failure(error)
    assert isinstance(mapped, SendFailed)
    assert isinstance(mapped, Refused) is final
    assert mapped.reason == reason
    shown, detail = describe(mapped)  # as the worker records it: the class for every role, the text for admins
    assert shown == reason and detail.startswith(reason if reason.startswith("Notify") else "Notify")


def test_the_detail_keeps_notifys_messages_for_admins_and_a_hostile_error_class_is_not_shown_to_everyone():
    mapped = failure(errors(400, "ValidationError", "email_address Not a valid email address"))
    assert "email_address Not a valid email address" in str(mapped)
    hostile = failure(errors(400, "Bad Request <script>\r\nX-Injected: 1", "x"))
    assert hostile.reason == "Notify 400" and isinstance(hostile, Refused)
    not_json = InvalidResponse(notify_error(200, b"not json").response, message="No JSON")
    assert failure(not_json).reason == "Notify invalid response"


def test_every_kind_and_digests_get_their_template_or_the_default():
    assert templates(json.dumps({"my_ideas": T["my_ideas"], "default": T["default"]})) == {
        "my_ideas": T["my_ideas"], "endorsed": T["default"], "review_queue": T["default"], "department": T["default"],
        "digest": T["default"]}
    every = {k: T[k] for k in ("my_ideas", "endorsed", "review_queue", "department", "digest")}
    assert templates(json.dumps(every)) == every
    assert templates(json.dumps({"default": T["default"].upper()}))["digest"] == T["default"]  # ids are canonical


@pytest.mark.parametrize(("raw", "says"), [
    ("{}", "no template for my_ideas, endorsed, review_queue, department, digest"),
    (json.dumps({"my_ideas": T["my_ideas"]}), "no template for endorsed"),
    ("{not json", "not JSON"),
    ('["a"]', "JSON object"),
    (json.dumps({"default": "not-a-uuid"}), "not a template id"),
    (json.dumps({"default": 12}), "not a template id"),
    (json.dumps({"default": T["default"], "my_idea": T["my_ideas"]}), "unknown kinds: my_idea"),
])
def test_a_template_setting_that_leaves_an_email_without_template_is_refused_at_start(raw, says):
    with pytest.raises(ValueError, match=says):
        templates(raw)


def settings(**given) -> NotificationsSettings:
    return NotificationsSettings(**{"notify_api_key": KEY, "notify_templates": json.dumps({"default": T["default"],
                                    "digest": T["digest"], "my_ideas": T["my_ideas"]}),
                                    "portal_url": "https://innovation.dwp.example/", **given})


def test_the_sender_chooses_the_template_of_the_kind_or_of_digests():
    sender = NotifySender(settings())
    assert sender.template_for("my_ideas") == T["my_ideas"]
    assert sender.template_for("endorsed") == T["default"]
    assert sender.template_for(None) == T["digest"]


@pytest.mark.parametrize(("given", "says"), [
    ({"notify_api_key": None}, "NOTIFY_API_KEY is not set"),
    ({"notify_api_key": "short"}, "not a Notify API key"),
    ({"notify_templates": "{}"}, "no template"),
])
def test_a_sender_without_a_key_or_templates_is_refused_at_start(given, says):
    with pytest.raises(ValueError, match=says):
        NotifySender(settings(**given))


def outgoing(**given) -> messages.Outgoing:
    return messages.Outgoing(**{
        "delivery_id": uuid.uuid4(), "to": "alice@dept.example.org", "display_name": "Alice", "kind": "my_ideas",
        "email": messages.Email("Your idea “Fewer forms” has been backed",
                                "Your idea has been backed.\n\nSee your idea: https://portal/ideas/1", "<p>html</p>"),
        "unsubscribe_url": "https://notifications.example/v1/unsubscribe/tok", **given})


def test_the_placeholders_get_the_subject_the_flowing_text_and_the_links_never_the_html():
    wrapped = "Your idea has been backed. It will\nstart soon.\n\nSee your idea: https://portal/ideas/1\n"
    flowing = "Your idea has been backed. It will start soon.\n\nSee your idea: https://portal/ideas/1\n"
    mail = outgoing(email=messages.Email("Your idea “Fewer forms” has been backed", wrapped, "<p>html</p>", flowing))
    values = personalisation(mail, "https://innovation.dwp.example")
    assert values == {"subject": mail.email.subject, "body": flowing,
                      "unsubscribe_link": "https://notifications.example/v1/unsubscribe/tok",
                      "portal_link": "https://innovation.dwp.example"}
    assert all(isinstance(v, str) for v in values.values()) and "<p>" not in "".join(values.values())
    assert personalisation(outgoing(), "https://p")["body"] == outgoing().email.text  # an Email without its twin


RECEIPT = {"id": str(uuid.uuid4()), "reference": str(uuid.uuid4()), "to": "alice@dept.example.org",
           "status": "delivered", "created_at": "2017-05-14T12:15:30.000000Z",
           "completed_at": "2017-05-14T12:15:30.000000Z", "sent_at": "2017-05-14T12:15:30.000000Z",
           "notification_type": "email", "template_id": str(uuid.uuid4()), "template_version": 1}


def test_a_receipt_is_read_as_documented_and_unknown_fields_are_ignored():
    receipt = NotifyCallback.model_validate({**RECEIPT, "cost_in_pounds": 0.0, "provider": "ses"})
    assert str(receipt.id) == RECEIPT["id"] and receipt.status == "delivered" and receipt.template_version == 1
    minimal = NotifyCallback.model_validate({**RECEIPT, "reference": None, "completed_at": None, "sent_at": None})
    assert minimal.reference is None


@pytest.mark.parametrize("change", [
    {"id": "not-a-uuid"}, {"status": "Delivered<script>"}, {"status": 3}, {"to": "x" * 400},
    {"reference": "r" * 1001}, {"created_at": "yesterday"}, {"template_version": -1},
])
def test_a_malformed_receipt_is_refused(change):
    with pytest.raises(ValidationError):
        NotifyCallback.model_validate({**RECEIPT, **change})
    missing = dict(RECEIPT)
    del missing["id"]
    with pytest.raises(ValidationError):
        NotifyCallback.model_validate(missing)


async def test_the_callback_route_is_off_without_a_token_and_refuses_a_missing_or_wrong_bearer():
    app = FastAPI()
    install_error_handlers(app)
    app.include_router(callback_router)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://n") as client:
        app.state.runtime = SimpleNamespace(settings=settings(notify_callback_token=None))
        off = await client.post("/v1/notify/callbacks", json=RECEIPT, headers={"Authorization": "Bearer anything"})
        assert off.status_code == 404 and off.json()["error"] == "not found"

        app.state.runtime = SimpleNamespace(settings=settings(notify_callback_token="callback-token-0123456789"))
        for headers in ({}, {"Authorization": "Bearer callback-token-012345678"},
                        {"Authorization": "Bearer callback-token-0123456789x"},
                        {"Authorization": "Basic callback-token-0123456789"},
                        {"Authorization": "callback-token-0123456789"}):
            refused = await client.post("/v1/notify/callbacks", json=RECEIPT, headers=headers)
            assert refused.status_code == 401, headers
            assert refused.json()["detail"] == [{"field": "Authorization",
                                                 "rule": "Bearer <NOTIFICATIONS_NOTIFY_CALLBACK_TOKEN>"}]
            assert refused.headers["www-authenticate"] == "Bearer"
        # A bad body without the token is refused for the token, before the body is read.
        assert (await client.post("/v1/notify/callbacks", content=b"{", headers={})).status_code == 401
