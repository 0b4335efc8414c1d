"""Settings of the experiments service."""

from pydantic import AliasChoices, Field

from shared.settings import DepartmentSettings, database_url_field

OUTCOMES_PATTERN = r"^innovation\.[a-z][a-z0-9-]{1,30}\.outcomes\.v1$"


class ExperimentsSettings(DepartmentSettings):
    service = "experiments"

    database_url: str | None = database_url_field("experiments")
    http_port: int = Field(default=8002, ge=1, le=65535)
    # Which outcomes topics feed the catalogue that adoptions are checked against.
    outcomes_pattern: str = Field(
        default=OUTCOMES_PATTERN, validation_alias=AliasChoices("EXPERIMENTS_OUTCOMES_PATTERN", "outcomes_pattern")
    )
    # How often the time box is checked for experiments past their end date.
    overdue_check_seconds: float = Field(
        default=60.0, gt=0, validation_alias=AliasChoices("EXPERIMENTS_OVERDUE_CHECK_SECONDS", "overdue_check_seconds")
    )
    # How soon a new department's outcomes topic is discovered by the pattern subscription.
    metadata_max_age_ms: int = Field(
        default=10_000, ge=500, validation_alias=AliasChoices("EXPERIMENTS_METADATA_MAX_AGE_MS", "metadata_max_age_ms")
    )
    consumer_max_records: int = Field(default=200, ge=1, le=10_000)
