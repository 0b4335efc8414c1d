"""The department's ideas topic, every department's outcomes topics, and the department's intake topics.

All follow the project's consumer rule (shared.consumer): bad events to innovation.dlq.experiments
with their reason, transient failures retried and never dead-lettered, every applied event recorded
in the inbox with its effect. An intake event, accepted, is published on the canonical stream with its
change; refused, it goes to innovation.dlq.experiments with the domain's reason.
"""

from services.experiments.handlers import Experiments
from shared.consumer import Consumes
from shared.events.topics import intake_topic, topic_name
from shared.runtime import Runtime

IDEAS_CONSUMER = "experiments.ideas"
OUTCOMES_CONSUMER = "experiments.outcome-catalogue"
INTAKE_CONSUMER = "experiments.intake"


def ideas_group(department: str) -> str:
    return f"experiments.{department}"


def outcomes_group(department: str) -> str:
    return f"experiments.{department}.outcome-catalogue"


def intake_group(department: str) -> str:
    return f"experiments.{department}.intake"


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
        Consumes(INTAKE_CONSUMER, group_id=intake_group(settings.department), apply=experiments.apply_intake,
                 topics=tuple(intake_topic(settings.department, stream) for stream in ("experiments", "outcomes")),
                 max_records=settings.consumer_max_records,
                 description="experiment.* and outcome.recorded from a project tool of the department that runs the "
                             "experiment itself"),
    ]
