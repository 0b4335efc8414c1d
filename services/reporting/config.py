"""Settings of the reporting service."""

from pydantic import AliasChoices, Field

from shared.events.topics import REPORTING_PATTERN
from shared.settings import ServiceSettings, database_url_field


class ReportingSettings(ServiceSettings):
    service = "reporting"

    database_url: str | None = database_url_field("reporting")
    http_port: int = Field(default=8000, ge=1, le=65535)
    # Every department's streams by default; a test or a departmental deployment narrows it.
    topic_pattern: str = Field(default=REPORTING_PATTERN, validation_alias=AliasChoices("REPORTING_TOPIC_PATTERN", "topic_pattern"))
    group_id: str = Field(default="reporting", validation_alias=AliasChoices("REPORTING_GROUP_ID", "group_id"))
    # The inbox name of the projection: the read models hold exactly the events recorded under it.
    consumer_name: str = "reporting"
    batch_max_records: int = Field(default=2000, ge=1, le=100_000,
                                   validation_alias=AliasChoices("REPORTING_BATCH_MAX_RECORDS", "batch_max_records"))
    # How soon a new department's topics are discovered (aiokafka's metadata refresh).
    metadata_max_age_ms: int = Field(default=5000, ge=500,
                                     validation_alias=AliasChoices("REPORTING_METADATA_MAX_AGE_MS", "metadata_max_age_ms"))
    # Aggregates are public by default; an operator can require a bearer key (any department, any role).
    require_viewer_key: bool = Field(default=False, validation_alias=AliasChoices("REPORTING_REQUIRE_VIEWER_KEY", "require_viewer_key"))
    dashboard_refresh_seconds: int = Field(default=10, ge=2, le=3600)
