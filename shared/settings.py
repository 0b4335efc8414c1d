"""Settings every service reads from its environment; a service adds its own in its config.py.

Each service has its own database: `<SERVICE>_DATABASE_URL` (e.g. `IDEAS_DATABASE_URL`),
else `DATABASE_URL`, else `<service>_<department>` on the local PostgreSQL server.
"""

from typing import ClassVar

from pydantic import AliasChoices, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.events.topics import validate_department

LOCAL_POSTGRES = "postgresql://innovation:innovation@127.0.0.1:5432"


def database_url_field(service: str):
    return Field(default=None, validation_alias=AliasChoices(f"{service.upper()}_DATABASE_URL", "DATABASE_URL"))


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)
    service: ClassVar[str]

    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    database_url: str | None = None
    log_level: str = "INFO"
    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8000, ge=1, le=65535)
    # How long a graceful stop may take before in-flight work is abandoned.
    shutdown_grace_seconds: float = Field(default=20.0, gt=0)

    def local_database(self) -> str:
        return self.service

    @model_validator(mode="after")
    def _default_database(self):
        if self.database_url is None:
            self.database_url = f"{LOCAL_POSTGRES}/{self.local_database()}"
        return self


class DepartmentSettings(ServiceSettings):
    """Settings of a service that runs once per department."""

    department: str = Field(default="dwp", validation_alias=AliasChoices("INNOVATION_DEPARTMENT", "department"))
    pseudonym_secret: str = Field(
        default="local-development-secret",
        validation_alias=AliasChoices("INNOVATION_PSEUDONYM_SECRET", "pseudonym_secret"),
        min_length=8,
    )

    @field_validator("department")
    @classmethod
    def _known_shape(cls, value: str) -> str:
        return validate_department(value)

    def local_database(self) -> str:
        return f"{self.service}_{self.department.replace('-', '_')}"
