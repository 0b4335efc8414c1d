"""The department's ideas topic, and every department's outcomes topics.

Both follow the project's consumer rule (shared.consumer): bad events to innovation.dlq.experiments
with their reason, transient failures retried and never dead-lettered, every applied event recorded
in the inbox with its effect.
"""

from services.experiments.handlers import Experiments
from shared.consumer import Consumes
from shared.events.topics import topic_name
from shared.runtime import Runtime

IDEAS_CONSUMER = "experiments.ideas"
OUTCOMES_CONSUMER = "experiments.outcome-catalogue"


def ideas_group(department: str) -> str:
    return f"experiments.{department}"


def outcomes_group(department: str) -> str:
    return f"experiments.{department}.outcome-catalogue"


def declare(runtime: Runtime) -> list[Consumes]:
    settings = runtime.settings
    experiments: Experiments = runtime.handlers
    return [
        Consumes(IDEAS_CONSUMER, group_id=ideas_group(settings.department), apply=experiments.apply_idea_event,
                 topics=(topic_name(settings.department, "ideas"),), max_records=settings.consumer_max_records,
                 description="idea.backed opens an experiment; idea.withdrawn abandons one still in planning"),
        Consumes(OUTCOMES_CONSUMER, group_id=outcomes_group(settings.department), apply=experiments.catalogue,
                 pattern=settings.outcomes_pattern, max_records=settings.consumer_max_records,
                 description="every department's outcome.recorded, so that adoptions name real outcomes"),
    ]
