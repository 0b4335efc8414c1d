"""Subscribers: the department's three streams, and every department's outcomes topics (for
adoptions of this department's outcomes).

Both follow the project's consumer rule (shared.consumer): manual acknowledgement, bad events
to innovation.dlq.notifications with their reason, transient failures retried and never
dead-lettered, and the deliveries an event causes written in the same transaction as its
inbox row, so a redelivered event adds none.
"""

from services.notifications.handlers import SERVICE, Notifications
from shared.consumer import EventConsumer, subscribe
from shared.events.topics import STREAMS, topic_name
from shared.runtime import Runtime

DEPARTMENT_CONSUMER = "notifications.department"
ADOPTIONS_CONSUMER = "notifications.adoptions"


def department_group(department: str) -> str:
    return f"notifications.{department}"


def adoptions_group(department: str) -> str:
    return f"notifications.{department}.adoptions"


def attach(runtime: Runtime, notifications: Notifications) -> None:
    settings = runtime.settings
    own = EventConsumer(service=SERVICE, name=DEPARTMENT_CONSUMER, pool=runtime.pool, producer=runtime.producer,
                        max_event_bytes=settings.max_event_bytes, apply=notifications.department_event)
    subscribe(runtime, own, *(topic_name(settings.department, s) for s in STREAMS),
              group_id=department_group(settings.department), max_records=settings.consumer_max_records,
              description="every event of the department becomes deliveries to its subscribers and webhooks")
    adoptions = EventConsumer(service=SERVICE, name=ADOPTIONS_CONSUMER, pool=runtime.pool, producer=runtime.producer,
                              max_event_bytes=settings.max_event_bytes, apply=notifications.outcomes_event)
    subscribe(runtime, adoptions, pattern=settings.outcomes_pattern,
              group_id=adoptions_group(settings.department), max_records=settings.consumer_max_records,
              description="outcome.adopted by other departments of this department's outcomes")
