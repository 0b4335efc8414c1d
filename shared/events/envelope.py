"""The CloudEvents 1.0 envelope every event travels in."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated, Generic, Literal, TypeVar
from uuid import UUID, uuid4

from pydantic import AwareDatetime, BaseModel, ConfigDict, SerializeAsAny, StringConstraints, computed_field
from pydantic import model_validator

from shared.events.base import EventData
from shared.events.fields import DepartmentCode
from shared.events.topics import validate_department

D = TypeVar("D", bound=EventData)

Attribute = Annotated[str, StringConstraints(min_length=1, max_length=1024)]
Identifier = Annotated[str, StringConstraints(min_length=1, max_length=256)]


class Event(BaseModel, Generic[D]):
    """One event: CloudEvents 1.0 attributes, our three extensions, and typed `data`.

    `subject` and `dataschema` are derived from the data (`ideas/<idea_id>`,
    `urn:uk.gov.innovation:schema:idea.submitted:1`), so they cannot disagree with it.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    specversion: Literal["1.0"] = "1.0"
    id: UUID
    source: Attribute
    type: Attribute
    time: AwareDatetime  # normalised to UTC
    datacontenttype: Literal["application/json"] = "application/json"
    department: DepartmentCode
    correlationid: Identifier
    causationid: Identifier | None = None
    data: SerializeAsAny[D]

    @computed_field  # type: ignore[prop-decorator]
    @property
    def subject(self) -> str:
        return self.data.subject

    @computed_field  # type: ignore[prop-decorator]
    @property
    def dataschema(self) -> str:
        return type(self.data).dataschema

    @model_validator(mode="after")
    def _agrees_with_data(self) -> Event[D]:
        if self.type != type(self.data).event_type:
            raise ValueError(f"type {self.type!r} does not match data of type {type(self.data).event_type!r}")
        return self.normalised()

    def normalised(self) -> Event[D]:
        """Time in UTC, and the data's department (if it names one) equal to the envelope's.

        The binary-mode decoder builds events without the after-validator, for
        speed, and calls this instead.
        """
        if self.time.utcoffset():
            self.__dict__["time"] = self.time.astimezone(timezone.utc)
        field = type(self.data).department_field
        if field and getattr(self.data, field) != self.department:
            raise ValueError(f"data.{field} must equal the event's department {self.department!r}")
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
        time=datetime.now(timezone.utc),
        department=department,
        correlationid=correlationid or str(event_id),
        causationid=causationid,
        data=data,
    )
