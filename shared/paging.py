"""Cursor pagination, one way for every list in every service.

The repository fetches up to `limit + 1` rows after (or before) a position, in the list's order;
`page()` keeps `limit` of them and, if there were more, gives the cursor of the next page. A
cursor is opaque to callers (base64url of the last row's position); one not made here is refused
as an invalid field, like any other."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from typing import Annotated, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel, Field

from shared.refusals import Invalid

T = TypeVar("T")
Row = TypeVar("Row")

Cursor = Annotated[str | None, Query(max_length=40, description="next_cursor of the previous page")]
Limit = Annotated[int, Query(ge=1, le=200, description="items per page")]


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(description="pass as `cursor` for the next page; null on the last page")


def cursor_of(position: int) -> str:
    return base64.urlsafe_b64encode(f"p{position}".encode()).decode().rstrip("=")


def position_of(cursor: str | None) -> int | None:
    """The position a cursor stands for (None for the first page)."""
    if cursor is None:
        return None
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        if text[:1] == "p" and text[1:].isdigit() and len(text) < 20:
            return int(text[1:])
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    raise Invalid("validation failed", field="cursor", rule="a next_cursor returned by this API")


def page(rows: Sequence[Row], limit: int, position: Callable[[Row], int]) -> tuple[list[Row], str | None]:
    """The first `limit` of `rows` (fetched with `limit + 1`), and the next page's cursor if there is one."""
    kept = list(rows[:limit])
    return kept, cursor_of(position(kept[-1])) if len(rows) > limit else None
