"""Which wire `type` is which model, and how older major versions become the current one."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from shared.events.base import EventData, parse_event_type
from shared.events.envelope import Event
from shared.events.errors import UnknownEventType, UnknownMajorVersion
from shared.events.experiments import EXPERIMENTS_EVENTS
from shared.events.ideas import IDEAS_EVENTS
from shared.events.outcomes import OUTCOMES_EVENTS

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class Resolution:
    """How to read one wire type: the upcasters to apply to its raw data, then the model."""

    model: type[EventData]
    envelope: type[Event[Any]]
    upcasters: tuple[Upcaster, ...] = ()


class Registry:
    def __init__(self, models: Iterable[type[EventData]] = ()) -> None:
        self._models: dict[str, type[EventData]] = {}
        self._envelopes: dict[str, type[Event[Any]]] = {}
        self._upcasters: dict[str, tuple[str, Upcaster]] = {}
        self._resolved: dict[tuple[str, bool], Resolution] = {}
        for model in models:
            self.register(model)

    @property
    def types(self) -> Mapping[str, type[EventData]]:
        return MappingProxyType(self._models)

    def register(self, model: type[EventData]) -> type[EventData]:
        name, major = parse_event_type(model.event_type)
        if model.event_type in self._models:
            raise ValueError(f"{model.event_type} is already registered")
        self._models[model.event_type] = model
        self._envelopes[model.event_type] = Event[model]  # type: ignore[valid-type]
        self._resolved.clear()
        return model

    def upcaster(self, from_type: str, to_type: str) -> Callable[[Upcaster], Upcaster]:
        """Register `fn(data) -> data` turning the raw data of `from_type` into that of `to_type`."""
        from_name, from_major = parse_event_type(from_type)
        to_name, to_major = parse_event_type(to_type)
        if from_name != to_name or to_major != from_major + 1:
            raise ValueError(f"an upcaster goes from one major version to the next: {from_type} -> {to_type}")

        def add(fn: Upcaster) -> Upcaster:
            self._upcasters[from_type] = (to_type, fn)
            self._resolved.clear()
            return fn

        return add

    def copy(self) -> Registry:
        clone = Registry(self._models.values())
        clone._upcasters = dict(self._upcasters)
        return clone

    def resolve(self, event_type: str, *, upcast: bool = True) -> Resolution:
        """The model to read `event_type` with; raises UnknownEventType or UnknownMajorVersion."""
        cached = self._resolved.get((event_type, upcast))
        if cached is None:
            cached = self._resolved[(event_type, upcast)] = self._resolve(event_type, upcast)
        return cached

    def _resolve(self, event_type: str, upcast: bool) -> Resolution:
        steps: list[Upcaster] = []
        current = event_type
        while upcast and current in self._upcasters:
            current, fn = self._upcasters[current]
            steps.append(fn)
        model = self._models.get(current)
        if model is None:
            self._raise_unknown(event_type)
        return Resolution(model, self._envelopes[current], tuple(steps))

    def _raise_unknown(self, event_type: str) -> None:
        try:
            name, _ = parse_event_type(event_type)
        except ValueError:
            raise UnknownEventType(event_type) from None
        known = sorted(major for other, major in map(parse_event_type, self._models) if other == name)
        if not known:
            raise UnknownEventType(event_type)
        raise UnknownMajorVersion(event_type, known)


ALL_EVENT_MODELS: tuple[type[EventData], ...] = IDEAS_EVENTS + EXPERIMENTS_EVENTS + OUTCOMES_EVENTS
DEFAULT_REGISTRY = Registry(ALL_EVENT_MODELS)
EVENT_TYPES: Mapping[str, type[EventData]] = DEFAULT_REGISTRY.types
