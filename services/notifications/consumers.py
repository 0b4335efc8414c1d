"""The department's three streams, and every department's outcomes topics (for adoptions of this
department's outcomes).

Both follow the project's consumer rule (shared.consumer): bad events to innovation.dlq.notifications
with their reason, transient failures retried and never dead-lettered, and the deliveries an event
causes written in the same transaction as its inbox row, so a redelivered event adds none.
"""

from services.notifications.handlers import Notifications
from shared.consumer import Consumes
from shared.events.topics import STREAMS, topic_name
from shared.runtime import Runtime

DEPARTMENT_CONSUMER = "notifications.department"
ADOPTIONS_CONSUMER = "notifications.adoptions"


def department_group(department: str) -> str:
    return f"notifications.{department}"


def adoptions_group(department: str) -> str:
    return f"notifications.{department}.adoptions"


def declare(runtime: Runtime) -> list[Consumes]:
    settings = runtime.settings
    notifications: Notifications = runtime.handlers
    return [
        Consumes(DEPARTMENT_CONSUMER, group_id=department_group(settings.department),
                 apply=notifications.department_event, topics=tuple(topic_name(settings.department, s) for s in STREAMS),
                 max_records=settings.consumer_max_records,
                 description="every event of the department becomes deliveries to its subscribers and webhooks"),
        Consumes(ADOPTIONS_CONSUMER, group_id=adoptions_group(settings.department), apply=notifications.outcomes_event,
                 pattern=settings.outcomes_pattern, max_records=settings.consumer_max_records,
                 description="outcome.adopted by other departments of this department's outcomes"),
    ]
