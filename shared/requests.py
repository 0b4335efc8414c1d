"""The base of every service's request bodies (each service's `schemas.py`).

A request field takes its type from the event model it becomes (`like(IdeaSubmitted, "title")`),
so request and event cannot drift. Requests refuse unknown fields, and text with NUL characters
(PostgreSQL cannot store them). Dates are `IsoDay`: JSON carries a date as YYYY-MM-DD text, and a
number (which lax parsing would read as a timestamp) is refused."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, field_validator
from pydantic.types import Strict
from pydantic_core import PydanticCustomError


def _date_text(value: Any) -> Any:
    if not isinstance(value, str):
        raise PydanticCustomError("date_type", "Input should be a date as YYYY-MM-DD text")
    return value


IsoDay = Annotated[date, BeforeValidator(_date_text)]


def like(model: type[BaseModel], name: str) -> Any:
    """The type of `model.name`, with its constraints (the default is the caller's to give).
    An event's strict date (`Day`) becomes `IsoDay`, the form a JSON request carries."""
    field = model.model_fields[name]
    annotation, metadata = field.annotation, field.metadata
    if annotation is date:
        annotation, metadata = IsoDay, [m for m in metadata if not isinstance(m, Strict)]
    return Annotated[annotation, *metadata] if metadata else annotation


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, (tuple, list)):
        return any(_has_nul(v) for v in value)
    return False


class Command(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        if _has_nul(value):
            raise PydanticCustomError("no_nul_character", "text must not contain NUL characters")
        return value
