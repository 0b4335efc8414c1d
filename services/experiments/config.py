"""Settings of the experiments service."""

from pydantic import Field

from shared.settings import DepartmentSettings, database_url_field


class ExperimentsSettings(DepartmentSettings):
    service = "experiments"

    database_url: str | None = database_url_field("experiments")
    http_port: int = Field(default=8002, ge=1, le=65535)
