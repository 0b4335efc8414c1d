"""Field types shared by the event data models: the contract's limits in one place."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import Field, StringConstraints
from pydantic.types import Strict

from shared.events.pseudonym import PSEUDONYM_PATTERN
from shared.events.topics import DEPARTMENT_PATTERN

SLUG_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"

Pseudonym = Annotated[str, StringConstraints(pattern=PSEUDONYM_PATTERN)]
Slug = Annotated[str, StringConstraints(pattern=SLUG_PATTERN, max_length=60)]
DepartmentCode = Annotated[str, StringConstraints(pattern=DEPARTMENT_PATTERN)]

# Numbers and dates are strict so that "5" or a unix timestamp is refused
# rather than silently coerced: other languages must send the real JSON type.
Day = Annotated[date, Strict()]
Count = Annotated[int, Strict(), Field(ge=0, le=100_000_000)]
Money = Annotated[float, Strict(), Field(ge=0, le=1_000_000_000, allow_inf_nan=False)]
Hours = Annotated[float, Strict(), Field(ge=0, le=1_000_000_000, allow_inf_nan=False)]
Days = Annotated[float, Strict(), Field(ge=0, le=1_000_000, allow_inf_nan=False)]
Quantity = Annotated[float, Strict(), Field(allow_inf_nan=False)]
Score = Annotated[int, Strict(), Field(ge=1, le=5)]


def text(max_length: int, *, min_length: int = 1) -> StringConstraints:
    """Free text with a length limit (an `Annotated` marker)."""
    return StringConstraints(min_length=min_length, max_length=max_length)


def whole_number(ge: int, le: int) -> object:
    """A strict integer between two bounds (an `Annotated` marker)."""
    return Field(strict=True, ge=ge, le=le)
