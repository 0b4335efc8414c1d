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
        return f"{self.subject_collection}/{getattr(self, self.aggregate_id_field)}"

    # Derived from event_type when the subclass is defined:
    event_name: ClassVar[str]  # "idea.submitted"
    major: ClassVar[int]  # 1
    dataschema: ClassVar[str]  # "urn:uk.gov.innovation:schema:idea.submitted:1"
    subject_collection: ClassVar[str]  # "ideas": subject is "<collection>/<aggregate id>"

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: object) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        if "event_type" in cls.__dict__:
            cls.event_name, cls.major = parse_event_type(cls.event_type)
            cls.dataschema = f"urn:uk.gov.innovation:schema:{cls.event_name}:{cls.major}"
        if "aggregate_id_field" in cls.__dict__:
            # experiment_id -> experiments: the collection is named after the key field
            cls.subject_collection = cls.aggregate_id_field.removesuffix("_id") + "s"


def parse_event_type(event_type: str) -> tuple[str, int]:
    """('idea.submitted', 1) for 'uk.gov.innovation.idea.submitted.v1'; ValueError otherwise."""
    match = _TYPE_RE.fullmatch(event_type)
    if match is None:
        raise ValueError(f"{event_type!r} is not of the form uk.gov.innovation.<aggregate>.<event>.v<major>")
    return match["name"], int(match["major"])
