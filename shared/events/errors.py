"""The only exceptions `decode` raises: each says what was wrong in words a person can act on."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError


@dataclass(frozen=True)
class FieldProblem:
    path: str  # e.g. "data.scores.impact" or "time"
    rule: str  # pydantic's error type, e.g. "less_than_equal", "string_too_long", "missing"
    message: str


class DecodeError(Exception):
    """A message that can never become an event; it belongs in the dead-letter topic."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason

    @property
    def error_class(self) -> str:
        return type(self).__name__


class MalformedEvent(DecodeError):
    """Not JSON, not a JSON object, not UTF-8, a tombstone, or headers that are not name/bytes pairs."""


class EventTooLarge(DecodeError):
    """The body is larger than the configured maximum; it was not parsed."""


class MissingAttribute(DecodeError):
    def __init__(self, names: list[str]) -> None:
        super().__init__("missing CloudEvents attribute(s): " + ", ".join(names))
        self.names = tuple(names)


class UnknownEventType(DecodeError):
    def __init__(self, event_type: object) -> None:
        super().__init__(f"unknown event type {event_type!r}")
        self.event_type = event_type


class UnknownMajorVersion(DecodeError):
    def __init__(self, event_type: str, known: list[int]) -> None:
        super().__init__(
            f"unknown major version of {event_type!r}; this consumer knows v"
            + ", v".join(str(major) for major in known)
        )
        self.event_type = event_type


class UpcastFailed(DecodeError):
    """An upcaster could not turn an older major version into the current one."""


class SchemaViolation(DecodeError):
    def __init__(self, problems: list[FieldProblem]) -> None:
        super().__init__("; ".join(f"{p.path or '(event)'}: {p.message} [{p.rule}]" for p in problems))
        self.problems = tuple(problems)


class DepartmentMismatch(DecodeError):
    def __init__(self, department: str, topic: str, topic_department: str) -> None:
        super().__init__(
            f"event department {department!r} does not match topic {topic!r} of department {topic_department!r}"
        )


class StreamMismatch(DecodeError):
    def __init__(self, event_type: str, stream: str, topic: str) -> None:
        super().__init__(f"{event_type} belongs on the {stream} stream, not on topic {topic!r}")


class UnreadableHeader(DecodeError):
    """A header name is not UTF-8: the record cannot be read as Kafka headers, let alone as an event."""


class KeyMismatch(DecodeError):
    """The record's key is not the event's aggregate id, so the aggregate's events would lose their order."""


def schema_violation(error: ValidationError, *, rename: Callable[[Any], str] = str) -> SchemaViolation:
    """Our error from pydantic's, with each field's path; `rename` maps wire names to attribute names."""
    problems = [
        FieldProblem(
            path=".".join([rename(detail["loc"][0]), *map(str, detail["loc"][1:])]) if detail["loc"] else "",
            rule=detail["type"],
            message=detail["msg"],
        )
        for detail in error.errors(include_url=False, include_input=False)
    ]
    return SchemaViolation(problems)
