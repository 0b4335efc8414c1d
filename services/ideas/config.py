"""Settings of the ideas service."""

from pydantic import AliasChoices, Field

from shared.settings import DepartmentSettings, database_url_field


class IdeasSettings(DepartmentSettings):
    service = "ideas"

    database_url: str | None = database_url_field("ideas")
    http_port: int = Field(default=8001, ge=1, le=65535)
    consumer_max_records: int = Field(default=200, ge=1, le=10_000)  # intake events per batch
    # central reporting, whose catalogue a merge into another department's idea is checked against
    reporting_url: str = Field(default="http://127.0.0.1:8000",
                               validation_alias=AliasChoices("REPORTING_URL", "reporting_url"))
