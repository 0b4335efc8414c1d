"""Subscribers: the department's ideas topic, and every department's outcomes topics.

Both follow the project's consumer rule (shared.consumer): manual acknowledgement, bad
events to innovation.dlq.experiments with their reason, transient failures retried and
never dead-lettered, every applied event recorded in the inbox with its effect.
"""

from shared.consumer import EventConsumer, subscribe
from shared.events.topics import topic_name
from shared.runtime import Runtime

from services.experiments.handlers import SERVICE, Experiments

IDEAS_CONSUMER = "experiments.ideas"
OUTCOMES_CONSUMER = "experiments.outcome-catalogue"


def ideas_group(department: str) -> str:
    return f"experiments.{department}"


def outcomes_group(department: str) -> str:
    return f"experiments.{department}.outcome-catalogue"


def attach(runtime: Runtime, experiments: Experiments) -> None:
    settings = runtime.settings
    ideas = EventConsumer(service=SERVICE, name=IDEAS_CONSUMER, pool=runtime.pool, producer=runtime.producer,
                          max_event_bytes=settings.max_event_bytes, apply=experiments.apply_idea_event)
    subscribe(runtime, ideas, topic_name(settings.department, "ideas"), group_id=ideas_group(settings.department),
              max_records=settings.consumer_max_records,
              description="idea.backed opens an experiment; idea.withdrawn abandons one still in planning")
    outcomes = EventConsumer(service=SERVICE, name=OUTCOMES_CONSUMER, pool=runtime.pool, producer=runtime.producer,
                             max_event_bytes=settings.max_event_bytes, apply=experiments.catalogue)
    subscribe(runtime, outcomes, pattern=settings.outcomes_pattern, group_id=outcomes_group(settings.department),
              max_records=settings.consumer_max_records,
              description="every department's outcome.recorded, so that adoptions name real outcomes")
