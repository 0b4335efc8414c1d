"""Which wire `type` is which model, and how older major versions become the current one."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, NamedTuple

from pydantic_core import SchemaValidator

from shared.events.base import EventData, parse_event_type
from shared.events.envelope import Event
from shared.events.errors import UnknownEventType, UnknownMajorVersion
from shared.events.experiments import EXPERIMENTS_EVENTS
from shared.events.wire_validators import binary_validator, fast_binary_validator, structured_validator
from shared.events.ideas import IDEAS_EVENTS
from shared.events.outcomes import OUTCOMES_EVENTS

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]


class BinaryPlan(NamedTuple):
    """What the binary-mode decoder needs for a type it reads as it is, unpacked in one step."""

    validator: SchemaValidator  # the fast binary validator (wire_validators.fast_binary_validator)
    dataschema_header: bytes
    subject_prefix: bytes
    # topic -> its department as header bytes, for the topics of this type's stream that events already
    # passed the topic check on (filled by the decoder; shared by the types of one stream)
    known_topics: dict[str, bytes]
    plain: bool  # no data field must equal the envelope's department
    resolution: Resolution


@dataclass(frozen=True, slots=True)
class Resolution:
    """How to read one wire type: the upcasters to apply to its raw data, then the model."""

    model: type[EventData]
    binary: SchemaValidator
    structured: SchemaValidator
    upcasters: tuple[Upcaster, ...] = ()
    # the raw ce_type/ce_dataschema header values that need no work
    type_header: bytes = b""
    dataschema_header: bytes = b""
    subject_prefix: bytes = b""


class Registry:
    def __init__(self, models: Iterable[type[EventData]] = ()) -> None:
        self._models: dict[str, type[EventData]] = {}
        self._validators: dict[str, tuple[SchemaValidator, SchemaValidator]] = {}
        self._fast_validators: dict[str, SchemaValidator] = {}
        self._known_topics: dict[str, dict[str, bytes]] = {}  # per stream
        self._upcasters: dict[str, tuple[str, Upcaster]] = {}
        self._resolved: dict[tuple[str | bytes, bool], Resolution] = {}
        # raw ce_type header -> how to read it, for the types read as they are whether or not upcasting is on
        self.binary_plans: dict[bytes, BinaryPlan] = {}
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
        envelope = Event[model]  # type: ignore[valid-type]
        self._validators[model.event_type] = (binary_validator(envelope), structured_validator(envelope))
        self._fast_validators[model.event_type] = fast_binary_validator(envelope)
        self._resolved.clear()
        self._index_direct()
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
            self._index_direct()
            return fn

        return add

    def copy(self) -> Registry:
        clone = Registry()
        clone._models = dict(self._models)
        clone._validators = dict(self._validators)
        clone._fast_validators = dict(self._fast_validators)
        clone._upcasters = dict(self._upcasters)
        clone._index_direct()
        return clone

    def resolve(self, event_type: str | bytes, *, upcast: bool = True) -> Resolution:
        """How to read `event_type` (text, or a raw ce_type header).

        Raises UnknownEventType or UnknownMajorVersion.
        """
        cached = self._resolved.get((event_type, upcast))
        if cached is None:
            cached = self._resolved[(event_type, upcast)] = self._resolve(_text(event_type), upcast)
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
        return self._resolution(model, tuple(steps))

    def _resolution(self, model: type[EventData], steps: tuple[Upcaster, ...]) -> Resolution:
        binary, structured = self._validators[model.event_type]
        return Resolution(
            model, binary, structured, steps, model.event_type.encode(), model.dataschema.encode(),
            subject_prefix=model.subject_collection.encode() + b"/",
        )

    def _index_direct(self) -> None:
        plans = {}
        for event_type, model in self._models.items():
            if event_type not in self._upcasters:
                r = self._resolution(model, ())
                plans[r.type_header] = BinaryPlan(
                    self._fast_validators[event_type], r.dataschema_header, r.subject_prefix,
                    self._known_topics.setdefault(model.stream, {}), not model.department_field, r,
                )
        self.binary_plans = plans

    def _raise_unknown(self, event_type: str) -> None:
        try:
            name, _ = parse_event_type(event_type)
        except ValueError:
            raise UnknownEventType(event_type) from None
        known = sorted(major for other, major in map(parse_event_type, self._models) if other == name)
        if not known:
            raise UnknownEventType(event_type)
        raise UnknownMajorVersion(event_type, known)


def _text(event_type: str | bytes) -> str:
    if isinstance(event_type, str):
        return event_type
    try:
        return event_type.decode()
    except UnicodeDecodeError:
        raise UnknownEventType(event_type) from None


ALL_EVENT_MODELS: tuple[type[EventData], ...] = IDEAS_EVENTS + EXPERIMENTS_EVENTS + OUTCOMES_EVENTS
DEFAULT_REGISTRY = Registry(ALL_EVENT_MODELS)
EVENT_TYPES: Mapping[str, type[EventData]] = DEFAULT_REGISTRY.types
