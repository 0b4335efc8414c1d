"""The rules of notifications, without I/O: who may be written to, which events matter,
what an email says, how a webhook delivery is signed, and the retry budget."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from shared.events import (
    EVENT_TYPES,
    Event,
    ExperimentPlanned,
    IdeaBacked,
    IdeaEndorsed,
    IdeaReviewed,
    IdeaSubmitted,
    OutcomeAdopted,
    OutcomeRecorded,
)
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
    event_types: tuple[str, ...]  # the department's news they want
    preferences: Mapping[str, str] = field(default_factory=dict)  # the kinds they chose a rhythm for
    reviewer: bool = False  # hears of new ideas waiting for review


@dataclass(frozen=True)
class Webhook:
    """Where a departmental system is sent events, and the secret that signs them (`new_webhook`)."""

    url: str
    secret: str
    event_types: tuple[str, ...]
    description: str | None


def new_subscription(email: str, name: str | None, types: Iterable[str] | None,
                     preferences: Mapping[str, str] | None = None, reviewer: bool = False) -> Subscription:
    """A person's address and choices. `types` are the department's news they want (None: the
    standard news); naming them without a rhythm for `department` keeps the meaning they had before
    preferences existed: those events, immediately."""
    chosen = dict(preferences or {})
    if types is not None and "department" not in chosen:
        chosen["department"] = "immediately"
    news = DEPARTMENT_NEWS if types is None else event_types(types, at_least_one=False)
    return Subscription(email_address(email), None if name is None else display_name(name), news,
                        choices(chosen), reviewer)


def new_webhook(url: str, secret: str, types: Iterable[str], description: str | None) -> Webhook:
    """Checks the URL's form only: whether its destination may be reached is egress.py's to say."""
    return Webhook(webhook_url(url), webhook_secret(secret), event_types(types), description)


def event_types(values: Iterable[str], field: str = "event_types", at_least_one: bool = True) -> tuple[str, ...]:
    """Known event types, given in full (`uk.gov.innovation.idea.submitted.v1`) or without the
    prefix (`idea.submitted.v1`); returned in full, sorted, without repeats."""
    chosen = set()
    for value in values:
        full = value if value.startswith(_PREFIX) else _PREFIX + value
        if full not in EVENT_TYPES:
            raise _invalid(field, "known_event_type", f"{value[:100]!r} is not an event type of the catalogue")
        chosen.add(full)
    if not chosen and at_least_one:
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

_LINE_BREAKS = re.compile(r"[\s\x00-\x1f\x7f]+")


def one_line(text: str, limit: int) -> str:
    """Text safe for a header: no line breaks or control characters, at most `limit` characters."""
    flat = _LINE_BREAKS.sub(" ", text).strip()
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


# -- preferences -----------------------------------------------------------------------------

# The department's news a person hears of when they name none.
DEPARTMENT_NEWS = tuple(sorted(_PREFIX + t for t in (
    "idea.submitted.v1", "idea.backed.v1", "outcome.recorded.v1", "outcome.adopted.v1")))


def choices(given: Mapping[str, str]) -> dict[Kind, Rhythm]:
    """The rhythms a person chose, by kind; each checked."""
    chosen: dict[Kind, Rhythm] = {}
    for kind, rhythm in given.items():
        if kind not in KINDS:
            raise _invalid(f"preferences.{kind[:40]}", "kind", "one of " + ", ".join(KINDS))
        if rhythm not in RHYTHMS:
            raise _invalid(f"preferences.{kind}", "rhythm", "one of " + ", ".join(RHYTHMS))
        chosen[kind] = rhythm  # type: ignore[assignment]
    return chosen


def preferences(chosen: Mapping[str, str]) -> dict[Kind, Rhythm]:
    """Every kind's rhythm: the person's choice, else the default."""
    return {**DEFAULT_PREFERENCES, **{k: v for k, v in chosen.items() if k in KINDS}}  # type: ignore[dict-item]


# -- who is involved, and who hears of an event ----------------------------------------------

Role = Literal["submitter", "endorser", "reviewer", "squad"]
# The kind a person hears an event as, from their part in the idea; the closest part wins.
KIND_OF_ROLE: dict[Role, Kind] = {"submitter": "my_ideas", "squad": "my_ideas", "reviewer": "review_queue",
                                  "endorser": "endorsed"}
_CLOSENESS: tuple[Kind, ...] = ("my_ideas", "review_queue", "endorsed", "department")

# What happens to an idea that the people involved in it hear of.
INVOLVING = frozenset(_PREFIX + t for t in (
    "idea.shortlisted.v1", "idea.backed.v1", "idea.declined.v1", "idea.merged.v1", "idea.withdrawn.v1",
    "experiment.planned.v1", "experiment.started.v1", "experiment.rescheduled.v1", "experiment.overdue.v1",
    "experiment.abandoned.v1", "outcome.recorded.v1", "outcome.adopted.v1"))
NEW_IDEA = IdeaSubmitted.event_type
_ACTOR_FIELDS = ("by", "sponsor", "reviewer", "endorsed_by", "submitted_by", "adopted_by")


@dataclass(frozen=True)
class Learned:
    """What one event teaches about the department's ideas and the people involved in them."""

    idea: tuple[uuid.UUID, str, str] | None = None  # (idea_id, title, submitted_by)
    experiment: tuple[uuid.UUID, uuid.UUID] | None = None  # (experiment_id, idea_id)
    outcome: tuple[uuid.UUID, uuid.UUID, uuid.UUID] | None = None  # (outcome_id, experiment_id, idea_id)
    involved: tuple[tuple[Role, str], ...] = ()  # in the event's idea (idea_of says which)
    reviewers: tuple[str, ...] = ()


def learn(event: Event[Any]) -> Learned:
    data = event.data
    by = getattr(data, "by", None)
    match data:
        case IdeaSubmitted():
            return Learned(idea=(data.idea_id, data.title, data.submitted_by), involved=(("submitter", data.submitted_by),))
        case IdeaEndorsed():
            return Learned(involved=(("endorser", data.endorsed_by),))
        case IdeaReviewed():
            return Learned(involved=(("reviewer", data.reviewer),), reviewers=(data.reviewer,))
        case IdeaBacked():
            return Learned(involved=(("reviewer", data.sponsor),), reviewers=(data.sponsor,))
        case ExperimentPlanned():
            squad = tuple(("squad", p) for p in (by, *data.squad) if p)
            return Learned(experiment=(data.experiment_id, data.idea_id), involved=squad)  # type: ignore[arg-type]
        case OutcomeRecorded():
            return Learned(outcome=(data.outcome_id, data.experiment_id, data.idea_id),
                           involved=(("squad", by),) if by else ())
        case OutcomeAdopted():
            return Learned()
    if by is None:
        return Learned()
    if event.type.startswith(_PREFIX + "idea."):  # shortlisted, declined, merged by a reviewer; withdrawn by its author
        return Learned() if event.type.endswith(".withdrawn.v1") else Learned(involved=(("reviewer", by),), reviewers=(by,))
    return Learned(involved=(("squad", by),))  # the experiment's other events: its squad acted


def actors(event: Event[Any]) -> set[str]:
    """Who did what the event records: they do not need telling."""
    return {v for f in _ACTOR_FIELDS if isinstance(v := getattr(event.data, f, None), str)}


def audience(event: Event[Any], involved: Iterable[tuple[str, str]], reviewers: Iterable[str],
             news_readers: Iterable[str]) -> dict[str, Kind]:
    """Who hears of `event`, each once, as the kind closest to them: the people `involved` in its
    idea ((person, role) pairs), when it is something that happens to the idea; every reviewer,
    when it is a new idea; the readers of the department's news who chose its type. Never the
    people who did it."""
    heard: dict[str, Kind] = {}

    def hear(person: str, kind: Kind) -> None:
        if person not in heard or _CLOSENESS.index(kind) < _CLOSENESS.index(heard[person]):
            heard[person] = kind

    if event.type in INVOLVING:
        for person, role in involved:
            hear(person, KIND_OF_ROLE[role])  # type: ignore[index]
    if event.type == NEW_IDEA:
        for person in reviewers:
            hear(person, "review_queue")
    for person in news_readers:
        hear(person, "department")
    for person in actors(event):
        heard.pop(person, None)
    return heard


def rhythms(heard: Mapping[str, Kind], chosen: Mapping[str, Mapping[str, str]]
            ) -> tuple[list[tuple[str, Kind]], list[tuple[str, Kind, Rhythm]]]:
    """Of the people who hear of an event (as `heard`), those with an address (`chosen`: their
    preferences) split into (person, kind) to email now and (person, kind, rhythm) for a digest;
    those who chose never for the kind are left out."""
    now: list[tuple[str, Kind]] = []
    later: list[tuple[str, Kind, Rhythm]] = []
    for person, kind in sorted(heard.items()):
        if person not in chosen:
            continue
        rhythm = preferences(chosen[person])[kind]
        if rhythm == "immediately":
            now.append((person, kind))
        elif rhythm != "never":
            later.append((person, kind, rhythm))
    return now, later


# -- digests ---------------------------------------------------------------------------------

DigestRhythm = Literal["daily", "weekly"]
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


@dataclass(frozen=True)
class DigestClock:
    """When digests go: at `at`, local time in `zone`, every day (daily) or on `weekday` (weekly)."""

    at: time
    weekday: int  # Monday is 0
    zone: ZoneInfo

    def _moment(self, day: date) -> datetime:
        # A local time that does not exist (the spring gap) is read with the offset before the
        # change, so it happens once, an hour "late"; one that exists twice (autumn) is the first.
        return datetime.combine(day, self.at, tzinfo=self.zone).astimezone(UTC)

    def _days(self, rhythm: DigestRhythm, around: date, step: int) -> Iterable[date]:
        for n in range(9):
            day = around + timedelta(days=step * n)
            if rhythm == "daily" or day.weekday() == self.weekday:
                yield day

    def last(self, rhythm: DigestRhythm, now: datetime) -> datetime:
        """The most recent moment digests of `rhythm` were due, at or before `now`."""
        today = now.astimezone(self.zone).date() + timedelta(days=1)
        return next(m for d in self._days(rhythm, today, -1) if (m := self._moment(d)) <= now)

    def next(self, rhythm: DigestRhythm, now: datetime) -> datetime:
        """The next moment digests of `rhythm` are due, after `now`."""
        yesterday = now.astimezone(self.zone).date() - timedelta(days=1)
        return next(m for d in self._days(rhythm, yesterday, 1) if (m := self._moment(d)) > now)


def digest_clock(at: str, weekday: str, zone: str) -> DigestClock:
    """From settings: `at` as HH:MM or HH:MM:SS, a weekday's English name, an IANA time zone."""
    return DigestClock(time.fromisoformat(at), WEEKDAYS.index(weekday), ZoneInfo(zone))


# -- unsubscribe links -----------------------------------------------------------------------

# What one unsubscribe link stops: one kind of email, or every kind a person gets in a digest of a rhythm.
Scope = Literal["my_ideas", "endorsed", "review_queue", "department", "daily", "weekly"]
SCOPES: tuple[Scope, ...] = ("my_ideas", "endorsed", "review_queue", "department", "daily", "weekly")


def _link_key(secret: str) -> bytes:
    return hmac.new(secret.encode(), b"innovation-network unsubscribe links v1", hashlib.sha256).digest()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def unsubscribe_token(secret: str, unsubscribe_key: uuid.UUID, scope: Scope) -> str:
    """An unguessable link token naming the subscription (by its random key, never the person) and
    what it stops, signed with a key derived from the department's secret."""
    payload = unsubscribe_key.bytes + bytes([SCOPES.index(scope)])
    return _b64(payload) + "." + _b64(hmac.new(_link_key(secret), payload, hashlib.sha256).digest()[:16])


_TOKEN = re.compile(r"[A-Za-z0-9_-]{23}\.[A-Za-z0-9_-]{22}")  # 17 bytes, ".", 16 bytes: unpadded base64url


def read_unsubscribe_token(secret: str, token: str) -> tuple[uuid.UUID, Scope] | None:
    """(unsubscribe_key, scope) of a token this department signed, or None for anything else."""
    if not _TOKEN.fullmatch(token):
        return None
    body, _, mac = token.partition(".")
    payload = base64.urlsafe_b64decode(body + "=")
    given = base64.urlsafe_b64decode(mac + "==")
    if payload[16] >= len(SCOPES):
        return None
    if not hmac.compare_digest(hmac.new(_link_key(secret), payload, hashlib.sha256).digest()[:16], given):
        return None
    return uuid.UUID(bytes=payload[:16]), SCOPES[payload[16]]


def unsubscribed(chosen: Mapping[str, str], scope: Scope) -> dict[Kind, Rhythm]:
    """The preferences after following a link of `scope`: that kind, or every kind now sent in
    that rhythm's digest, set to never."""
    now = preferences(chosen)
    stopped = [k for k in KINDS if k == scope or now[k] == scope]
    return {**now, **{k: "never" for k in stopped}}  # type: ignore[dict-item]
