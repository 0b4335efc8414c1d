"""The event schema shared by every service and every department: the system's public API."""

from shared.events.base import EventData
from shared.events.binding import KafkaRecord, decode, encode, encode_structured, peek_type
from shared.events.envelope import Event, new_event
from shared.events.errors import (
    DecodeError,
    DepartmentMismatch,
    EventTooLarge,
    FieldProblem,
    MalformedEvent,
    MissingAttribute,
    SchemaViolation,
    StreamMismatch,
    UnknownEventType,
    UnknownMajorVersion,
    UpcastFailed,
)
from shared.events.experiments import (
    ExperimentAbandoned,
    ExperimentCompleted,
    ExperimentOverdue,
    ExperimentPlanned,
    ExperimentRescheduled,
    ExperimentStarted,
    Measure,
    MeasurementRecorded,
)
from shared.events.ideas import (
    ConversationRecorded,
    IdeaBacked,
    IdeaDeclined,
    IdeaEndorsed,
    IdeaMerged,
    IdeaReviewed,
    IdeaShortlisted,
    IdeaSubmitted,
    IdeaWithdrawn,
    Scores,
)
from shared.events.outcomes import Benefits, OutcomeAdopted, OutcomeRecorded
from shared.events.registry import ALL_EVENT_MODELS, DEFAULT_REGISTRY, EVENT_TYPES, Registry

__all__ = [
    "ALL_EVENT_MODELS", "DEFAULT_REGISTRY", "EVENT_TYPES", "Benefits", "ConversationRecorded", "DecodeError",
    "DepartmentMismatch", "Event", "EventData", "EventTooLarge", "ExperimentAbandoned", "ExperimentCompleted",
    "ExperimentOverdue", "ExperimentPlanned", "ExperimentRescheduled", "ExperimentStarted", "FieldProblem",
    "IdeaBacked", "IdeaDeclined", "IdeaEndorsed", "IdeaMerged", "IdeaReviewed", "IdeaShortlisted",
    "IdeaSubmitted", "IdeaWithdrawn", "KafkaRecord", "MalformedEvent", "Measure", "MeasurementRecorded",
    "MissingAttribute", "OutcomeAdopted", "OutcomeRecorded", "Registry", "SchemaViolation", "Scores",
    "StreamMismatch", "UnknownEventType", "UnknownMajorVersion", "UpcastFailed", "decode", "encode",
    "encode_structured", "new_event", "peek_type",
]
