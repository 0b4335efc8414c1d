"""The department's ideas intake: events its other systems emit for this service to apply.

Under the project's consumer rule (shared.consumer): each event is applied with the HTTP API's domain
rules and, accepted, published on the canonical ideas stream with its change; a refused or undecodable
event goes to innovation.dlq.ideas with its reason; a redelivered one changes nothing (the inbox).
"""

from services.ideas.handlers import IdeasHandlers
from shared.consumer import Consumes
from shared.events.topics import intake_topic
from shared.runtime import Runtime

INTAKE_CONSUMER = "ideas.intake"


def intake_group(department: str) -> str:
    return f"ideas.{department}.intake"


def declare(runtime: Runtime) -> list[Consumes]:
    settings = runtime.settings
    ideas: IdeasHandlers = runtime.handlers
    return [
        Consumes(INTAKE_CONSUMER, group_id=intake_group(settings.department), apply=ideas.apply_intake,
                 topics=(intake_topic(settings.department, "ideas"),), max_records=settings.consumer_max_records,
                 description="ideas, conversations and idea commands from the department's own systems"),
    ]
