"""The base of every event data model: what it is on the wire, and what it is keyed by."""

from __future__ import annotations

import re
from typing import ClassVar

from pydantic import BaseModel, ConfigDict

from shared.events.topics import Stream

_TYPE_RE = re.compile(r"^uk\.gov\.innovation\.(?P<name>[a-z_]+\.[a-z_]+)\.v(?P<major>[1-9][0-9]*)$")


class EventData(BaseModel):
    """The `data` of one event type.

    Subclasses set `event_type` (the wire `type`), `stream` (the topic it goes
    to) and `aggregate_id_field` (the field that is the Kafka key and the id in
    `subject`), and, where the data names the emitting department,
    `department_field`.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    event_type: ClassVar[str]
    stream: ClassVar[Stream]
    aggregate_id_field: ClassVar[str]
    # a data field that must equal the envelope's `department`, if any
    department_field: ClassVar[str | None] = None

    @property
    def aggregate_id(self) -> str:
        return str(getattr(self, self.aggregate_id_field))

    @property
    def subject(self) -> str:
        return subject_of(type(self), self.aggregate_id)

    @classmethod
    def name(cls) -> str:
        """`idea.submitted` for `uk.gov.innovation.idea.submitted.v1`."""
        return parse_event_type(cls.event_type)[0]

    @classmethod
    def major(cls) -> int:
        return parse_event_type(cls.event_type)[1]

    @classmethod
    def dataschema(cls) -> str:
        name, major = parse_event_type(cls.event_type)
        return f"urn:uk.gov.innovation:schema:{name}:{major}"


def parse_event_type(event_type: str) -> tuple[str, int]:
    """('idea.submitted', 1) for 'uk.gov.innovation.idea.submitted.v1'; ValueError otherwise."""
    match = _TYPE_RE.fullmatch(event_type)
    if match is None:
        raise ValueError(f"{event_type!r} is not of the form uk.gov.innovation.<aggregate>.<event>.v<major>")
    return match["name"], int(match["major"])


def subject_of(model: type[EventData], aggregate_id: str) -> str:
    # experiment_id -> experiments/<id>; the collection is named after the key field
    return f"{model.aggregate_id_field.removesuffix('_id')}s/{aggregate_id}"
