"""The CloudEvents 1.0 envelope every event travels in."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated, Generic, Literal, TypeVar
from uuid import UUID, uuid4

from pydantic import AfterValidator, BaseModel, ConfigDict, SerializeAsAny, StringConstraints, model_validator

from shared.events.base import EventData
from shared.events.fields import DepartmentCode
from shared.events.topics import validate_department

D = TypeVar("D", bound=EventData)


def _as_utc(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("time must carry a time zone (RFC 3339, e.g. 2025-01-31T09:30:00Z)")
    return value.astimezone(timezone.utc)


UtcDatetime = Annotated[datetime, AfterValidator(_as_utc)]
Attribute = Annotated[str, StringConstraints(min_length=1, max_length=1024)]
Identifier = Annotated[str, StringConstraints(min_length=1, max_length=256)]


class Event(BaseModel, Generic[D]):
    """One event: CloudEvents 1.0 attributes, our three extensions, and typed `data`."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    specversion: Literal["1.0"] = "1.0"
    id: UUID
    source: Attribute
    type: Attribute
    subject: Attribute
    time: UtcDatetime
    datacontenttype: Literal["application/json"] = "application/json"
    dataschema: Attribute
    department: DepartmentCode
    correlationid: Identifier
    causationid: Identifier | None = None
    data: SerializeAsAny[D]

    @model_validator(mode="after")
    def _agrees_with_data(self) -> Event[D]:
        model = type(self.data)
        if self.type != model.event_type:
            raise ValueError(f"type {self.type!r} does not match data of type {model.event_type!r}")
        if self.subject != self.data.subject:
            raise ValueError(f"subject must be {self.data.subject!r}, the aggregate id of the data")
        if self.dataschema != model.dataschema():
            raise ValueError(f"dataschema must be {model.dataschema()!r} for {model.event_type}")
        if model.department_field and getattr(self.data, model.department_field) != self.department:
            raise ValueError(f"data.{model.department_field} must equal the event's department {self.department!r}")
        return self


def new_event(
    data: D,
    *,
    department: str,
    service: str,
    correlationid: str | None = None,
    causationid: str | None = None,
    source: str | None = None,
) -> Event[D]:
    """Wrap `data` in a fresh envelope; correlationid defaults to the new event's own id."""
    validate_department(department)
    event_id = uuid4()
    model = type(data)
    return Event[model](  # type: ignore[valid-type]
        id=event_id,
        source=source or f"/departments/{department}/{service}",
        type=model.event_type,
        subject=data.subject,
        time=datetime.now(timezone.utc),
        dataschema=model.dataschema(),
        department=department,
        correlationid=correlationid or str(event_id),
        causationid=causationid,
        data=data,
    )
