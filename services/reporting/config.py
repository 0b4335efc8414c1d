"""Settings of the reporting service, and what its serving and rebuilding processes share."""

from pathlib import Path

from pydantic import AliasChoices, Field

from shared.events.topics import REPORTING_PATTERN
from shared.settings import ServiceSettings, database_url_field

MIGRATIONS = Path(__file__).parent / "migrations"


# Fewer garbage collections than other services: batch decoding allocates many short-lived objects, and
# with lower thresholds the collector's passes halve the projection's throughput (shared.runtime).
GC_THRESHOLDS = (50_000, 20, 100)


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
    # Departments whose events come from a simulator (the local demo): the dashboard says so.
    simulated_departments: str = Field(default="", validation_alias=AliasChoices(
        "REPORTING_SIMULATED_DEPARTMENTS", "simulated_departments"))

    # Who publishes the open data (GET /v1/open-data's `publisher`), e.g. "Cabinet Office"; empty: a generic name.
    open_data_publisher: str = Field(default="", max_length=200, validation_alias=AliasChoices(
        "REPORTING_OPEN_DATA_PUBLISHER", "open_data_publisher"))

    def simulated(self) -> list[str]:
        return sorted(d.strip() for d in self.simulated_departments.split(",") if d.strip())
    # Public reads (dashboard, /v1/*) run on a pool of their own, so a crowd of readers cannot take the
    # connections the projection writes with; each read statement is cut off after the timeout (503).
    read_pool_size: int = Field(default=5, ge=2, le=100,
                                validation_alias=AliasChoices("REPORTING_READ_POOL_SIZE", "read_pool_size"))
    read_statement_timeout_ms: int = Field(
        default=10_000, ge=1, le=600_000,
        validation_alias=AliasChoices("REPORTING_READ_STATEMENT_TIMEOUT_MS", "read_statement_timeout_ms"))
