"""Settings of the reporting service."""

from pydantic import Field

from shared.settings import ServiceSettings, database_url_field


class ReportingSettings(ServiceSettings):
    service = "reporting"

    database_url: str | None = database_url_field("reporting")
    http_port: int = Field(default=8000, ge=1, le=65535)
