"""Topic names and department codes: the one place they are spelt out."""

from __future__ import annotations

import functools
import re
from typing import Final, Literal, get_args

Stream = Literal["ideas", "experiments", "outcomes"]
STREAMS: Final[tuple[Stream, ...]] = get_args(Stream)

DEPARTMENT_PATTERN: Final = r"^[a-z][a-z0-9-]{1,30}$"
DEPARTMENT_RE: Final = re.compile(DEPARTMENT_PATTERN)

REPORTING_PATTERN: Final = r"^innovation\.[a-z][a-z0-9-]{1,30}\.(ideas|experiments|outcomes)\.v1$"
# A canonical stream, or a department's intake for it (`inbound.`), which REPORTING_PATTERN does not match.
_TOPIC_RE: Final = re.compile(
    r"^innovation\.(?P<department>[a-z][a-z0-9-]{1,30})\.(?:inbound\.)?(?P<stream>ideas|experiments|outcomes)\.v1$"
)
_SERVICE_RE: Final = re.compile(r"^[a-z][a-z0-9-]{0,62}$")


def validate_department(department: str) -> str:
    if not isinstance(department, str) or DEPARTMENT_RE.fullmatch(department) is None:
        raise ValueError(
            f"department code {department!r} is not valid: it must match {DEPARTMENT_PATTERN} "
            "(lower-case letters, digits and hyphens, starting with a letter, 2 to 31 characters)"
        )
    return department


def topic_name(department: str, stream: str) -> str:
    """The canonical stream: written by the service that owns it, or by the department's own stack."""
    validate_department(department)
    if stream not in STREAMS:
        raise ValueError(f"stream {stream!r} is not one of {', '.join(STREAMS)}")
    return f"innovation.{department}.{stream}.v1"


def intake_topic(department: str, stream: str) -> str:
    """Where a department's other systems emit events for the service that owns `stream`; the service
    applies them with its domain rules and publishes the accepted ones on the canonical stream."""
    topic_name(department, stream)  # the same checks
    return f"innovation.{department}.inbound.{stream}.v1"


def dlq_topic(service: str) -> str:
    if not isinstance(service, str) or _SERVICE_RE.fullmatch(service) is None:
        raise ValueError(
            f"service name {service!r} is not valid for a dead-letter topic: "
            "lower-case letters, digits and hyphens, starting with a letter"
        )
    return f"innovation.dlq.{service}"


@functools.lru_cache(maxsize=4096)
def parse_topic(topic: str) -> tuple[str, Stream] | None:
    """(department, stream) of a departmental topic (a canonical stream or its intake), or None for any other
    topic: an event on either must be of that department and stream."""
    match = _TOPIC_RE.fullmatch(topic) if isinstance(topic, str) else None
    if match is None:
        return None
    return match["department"], match["stream"]  # type: ignore[return-value]


def department_of_topic(topic: str) -> str | None:
    parsed = parse_topic(topic)
    return parsed[0] if parsed else None
