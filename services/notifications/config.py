"""Settings of the notifications service."""

from pydantic import Field

from shared.settings import DepartmentSettings, database_url_field


class NotificationsSettings(DepartmentSettings):
    service = "notifications"

    database_url: str | None = database_url_field("notifications")
    http_port: int = Field(default=8003, ge=1, le=65535)
