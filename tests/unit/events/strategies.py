"""Hypothesis strategies built from the models' own annotations, so every bound is exercised."""

from __future__ import annotations

import types
import typing
from datetime import date, datetime, timedelta, timezone
from uuid import UUID

import annotated_types
from hypothesis import strategies as st
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from shared.events import ALL_EVENT_MODELS, Event, EventData, OutcomeAdopted
from shared.events.topics import DEPARTMENT_PATTERN


def _bounds(metadata: list[object]) -> dict[str, typing.Any]:
    found: dict[str, typing.Any] = {}
    for item in metadata:
        if isinstance(item, FieldInfo):
            found.update(_bounds(item.metadata))
        for name in ("ge", "le", "gt", "lt", "min_length", "max_length", "pattern"):
            value = getattr(item, name, None)
            if value is not None:
                found[name] = value
        if isinstance(item, annotated_types.Interval):
            found.update({k: v for k, v in vars(item).items() if v is not None})
    return found


def for_annotation(annotation: typing.Any, metadata: list[object] = ()) -> st.SearchStrategy[typing.Any]:
    metadata = list(metadata)
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        base, *extra = typing.get_args(annotation)
        return for_annotation(base, metadata + extra)
    if origin in (typing.Union, types.UnionType):
        return st.one_of([for_annotation(arg, metadata) for arg in typing.get_args(annotation)])
    if origin is typing.Literal:
        return st.sampled_from(typing.get_args(annotation))
    bounds = _bounds(metadata)
    if origin is tuple:
        item = for_annotation(typing.get_args(annotation)[0])
        return st.lists(item, min_size=bounds.get("min_length", 0), max_size=bounds.get("max_length", 5)).map(tuple)
    if annotation is type(None):
        return st.none()
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return for_model(annotation)
    if annotation is UUID:
        return st.uuids()
    if annotation is date:
        return st.dates()
    if annotation is int:
        return st.integers(bounds.get("ge"), bounds.get("le"))
    if annotation is float:
        return st.floats(bounds.get("ge"), bounds.get("le"), allow_nan=False, allow_infinity=False)
    if annotation is str:
        if "pattern" in bounds:
            limit = bounds.get("max_length", 1000)
            return st.from_regex(bounds["pattern"], fullmatch=True).filter(lambda s: len(s) <= limit)
        return st.text(min_size=bounds.get("min_length", 0), max_size=min(bounds.get("max_length", 50), 300))
    raise NotImplementedError(f"no strategy for {annotation!r}")


def for_model(model: type[BaseModel]) -> st.SearchStrategy[typing.Any]:
    return st.fixed_dictionaries(
        {name: for_annotation(field.annotation, field.metadata) for name, field in model.model_fields.items()}
    ).map(lambda fields: model(**fields))


departments = st.from_regex(DEPARTMENT_PATTERN, fullmatch=True)
offsets = st.integers(-23 * 60 - 59, 23 * 60 + 59).map(lambda minutes: timezone(timedelta(minutes=minutes)))
times = st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(2200, 1, 1), timezones=offsets)
attribute_text = st.text(min_size=1, max_size=60)


@st.composite
def events(draw: st.DrawFn, model: type[EventData] | None = None) -> Event[typing.Any]:
    model = model or draw(st.sampled_from(ALL_EVENT_MODELS))
    data = draw(for_model(model))
    department = data.adopting_department if isinstance(data, OutcomeAdopted) else draw(departments)
    return Event[model](  # type: ignore[valid-type]
        id=draw(st.uuids()),
        source=draw(attribute_text),
        type=model.event_type,
        time=draw(times),
        department=department,
        correlationid=draw(attribute_text),
        causationid=draw(st.none() | attribute_text),
        data=data,
    )


# Header values a hostile or careless producer might send: anything, and values that are nearly right.
header_values = st.binary(max_size=64) | st.sampled_from(
    [b"1.0", b"application/json", b"application/cloudevents+json", b"uk.gov.innovation.idea.endorsed.v1",
     b"dwp", b"\x00", b"\xff\xfe", b"2025-01-01T00:00:00Z", b""]
)
