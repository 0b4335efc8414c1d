"""The rules of notifications, without I/O: who may be written to, which events matter,
what an email says, how a webhook delivery is signed, and the retry budget."""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

from shared.events import EVENT_TYPES, Event, OutcomeAdopted
from shared.refusals import Invalid

_PREFIX = "uk.gov.innovation."

Status = Literal["pending", "sent", "delivered", "failed"]
Channel = Literal["email", "webhook"]

# What a person hears about, and how often.
Kind = Literal["my_ideas", "endorsed", "review_queue", "department"]
Rhythm = Literal["immediately", "daily", "weekly", "never"]
KINDS: tuple[Kind, ...] = ("my_ideas", "endorsed", "review_queue", "department")
RHYTHMS: tuple[Rhythm, ...] = ("immediately", "daily", "weekly", "never")
DEFAULT_PREFERENCES: dict[Kind, Rhythm] = {"my_ideas": "immediately", "endorsed": "weekly",
                                            "review_queue": "weekly", "department": "weekly"}


def _invalid(field: str, rule: str, message: str) -> Invalid:
    """A value refused by a rule: `rule` is a short identifier, `message` says it in words."""
    return Invalid("validation failed", field=field, rule=rule, message=message)


# -- what people and systems may subscribe with ------------------------------------------------


@dataclass(frozen=True)
class Subscription:
    """Where a person is written to, and about what: every field checked (`new_subscription`)."""

    email: str
    display_name: str | None
    event_types: tuple[str, ...]


@dataclass(frozen=True)
class Webhook:
    """Where a departmental system is sent events, and the secret that signs them (`new_webhook`)."""

    url: str
    secret: str
    event_types: tuple[str, ...]
    description: str | None


def new_subscription(email: str, name: str | None, types: Iterable[str]) -> Subscription:
    return Subscription(email_address(email), None if name is None else display_name(name), event_types(types))


def new_webhook(url: str, secret: str, types: Iterable[str], description: str | None) -> Webhook:
    """Checks the URL's form only: whether its destination may be reached is egress.py's to say."""
    return Webhook(webhook_url(url), webhook_secret(secret), event_types(types), description)


def event_types(values: Iterable[str], field: str = "event_types") -> tuple[str, ...]:
    """Known event types, given in full (`uk.gov.innovation.idea.submitted.v1`) or without the
    prefix (`idea.submitted.v1`); returned in full, sorted, without repeats."""
    chosen = set()
    for value in values:
        full = value if value.startswith(_PREFIX) else _PREFIX + value
        if full not in EVENT_TYPES:
            raise _invalid(field, "known_event_type", f"{value[:100]!r} is not an event type of the catalogue")
        chosen.add(full)
    if not chosen:
        raise _invalid(field, "at_least_one", "name at least one event type")
    return tuple(sorted(chosen))


_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_EMAIL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@" + _LABEL + r"(?:\." + _LABEL + r")+$")


def email_address(value: str) -> str:
    """A plain address (`name@host.domain`): no display part, no comments, no line breaks."""
    if len(value) > 254 or not _EMAIL.fullmatch(value) or ".." in value:
        raise _invalid("email", "email_address", "a plain email address such as name@department.gov.uk")
    return value


_DISPLAY_NAME = re.compile(r"^[^\W_](?:[\w .,'’()-]{0,98}[\w.)])?$")


def display_name(value: str) -> str:
    """A person's name as shown in the To: header: letters, digits, spaces and . , ' ( ) - only,
    so it can carry neither markup nor header syntax (<, >, ", @, ;, line breaks)."""
    if not _DISPLAY_NAME.fullmatch(value) or "@" in value:
        raise _invalid("display_name", "display_name", "1-100 letters, digits, spaces and . , ' ( ) - only")
    return value


_HOST_NAME = re.compile(r"[^\W_][\w.-]*")  # letters of any script (IDN), digits, "_", "-", "."


def webhook_url(value: str) -> str:
    """An absolute http(s) URL with a host, and no credentials, fragment, spaces or control characters."""
    if len(value) > 2000:
        raise _invalid("url", "max_length", "at most 2000 characters")
    if any(c.isspace() or ord(c) < 0x20 or ord(c) == 0x7F for c in value):
        raise _invalid("url", "no_whitespace", "no spaces or control characters")
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        raise _invalid("url", "url", "an absolute URL such as https://hooks.example.org/innovation") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise _invalid("url", "url_scheme", "the scheme must be https or http")
    if not parts.hostname or not (":" in parts.hostname or _HOST_NAME.fullmatch(parts.hostname)):
        raise _invalid("url", "url_host", "the URL must name a host: a name of letters, digits, '-' and '.', or an address")
    if parts.username is not None or parts.password is not None:
        raise _invalid("url", "url_no_credentials", "credentials do not belong in the URL: use the secret")
    if parts.fragment:
        raise _invalid("url", "url_no_fragment", "no #fragment")
    if port == 0:
        raise _invalid("url", "url_port", "a port from 1 to 65535")
    return value


def webhook_secret(value: str) -> str:
    if not 16 <= len(value) <= 200 or not all(0x21 <= ord(c) <= 0x7E for c in value):
        raise _invalid("secret", "webhook_secret", "16-200 printable ASCII characters without spaces")
    return value


# -- which events matter ---------------------------------------------------------------------


def adoption_of_ours(event: Event[Any], department: str) -> bool:
    """An adoption, by another department, of one of `department`'s outcomes."""
    data = event.data
    return isinstance(data, OutcomeAdopted) and data.origin_department == department and event.department != department


# -- signing webhook deliveries --------------------------------------------------------------

SIGNATURE_HEADER = "X-Innovation-Signature"
TIMESTAMP_HEADER = "X-Innovation-Timestamp"
DELIVERY_HEADER = "X-Innovation-Delivery"


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """`sha256=` + hex HMAC-SHA256(secret, "<timestamp>." + body): the receiver recomputes it,
    compares in constant time, and refuses old timestamps (replays)."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def signature_valid(secret: str, timestamp: int, body: bytes, given: str) -> bool:
    return hmac.compare_digest(signature(secret, timestamp, body), given)


# -- the retry budget ------------------------------------------------------------------------


@dataclass(frozen=True)
class RetryBudget:
    max_attempts: int = 6
    first_delay: float = 5.0
    max_delay: float = 600.0

    def after_failure(self, attempts: int) -> float | None:
        """Seconds until the next attempt after `attempts` failed ones, or None: the budget is spent."""
        if attempts >= self.max_attempts:
            return None
        return min(self.first_delay * 2 ** (attempts - 1), self.max_delay)


# -- what an email says ----------------------------------------------------------------------

_HEADLINE_FIELDS = ("title", "summary", "hypothesis", "reason", "note")
_LINE_BREAKS = re.compile(r"[\s\x00-\x1f\x7f]+")


def one_line(text: str, limit: int) -> str:
    """Text safe for a header: no line breaks or control characters, at most `limit` characters."""
    flat = _LINE_BREAKS.sub(" ", text).strip()
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def compose_email(event: Event[Any], department: str) -> tuple[str, str]:
    """The subject line and the plain-text body of the email about `event`."""
    data = event.data
    what = type(data).event_name.replace("_", " ").replace(".", " ")  # "idea submitted"
    headline = next((getattr(data, f) for f in _HEADLINE_FIELDS if isinstance(getattr(data, f, None), str)
                     and getattr(data, f)), None)
    subject = f"[{department}] {what.capitalize()}" + (f": {headline}" if headline else f" ({data.subject})")
    lines = [
        f"{what.capitalize()} in department {event.department}.",
        "",
        f"Subject: {data.subject}",
        f"When:    {event.time.isoformat()}",
        f"Event:   {event.type} ({event.id})",
        "",
    ]
    for name, value in data.model_dump(mode="json").items():
        if value in (None, "", [], {}):
            continue
        if isinstance(value, list):
            value = "; ".join(str(v) for v in value)
        elif isinstance(value, dict):
            value = ", ".join(f"{k}={v}" for k, v in value.items() if v is not None)
        lines.append(f"{name.replace('_', ' ')}: {value}")
    lines += ["", f"You receive this because you subscribed to {event.type} in {department}'s innovation network."]
    return one_line(subject, 200), "\n".join(lines) + "\n"
