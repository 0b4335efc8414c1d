"""Settings of the notifications service."""

import re
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator

from services.notifications.addresses import Network, networks
from shared.settings import DepartmentSettings, database_url_field

OUTCOMES_PATTERN = r"^innovation\.[a-z][a-z0-9-]{1,30}\.outcomes\.v1$"


def _setting(default, name: str, **rules):
    return Field(default=default, validation_alias=AliasChoices(f"NOTIFICATIONS_{name.upper()}", name), **rules)


class NotificationsSettings(DepartmentSettings):
    service = "notifications"

    database_url: str | None = database_url_field("notifications")
    http_port: int = Field(default=8003, ge=1, le=65535)

    # Where emails go, and whom they come from.
    smtp_host: str = _setting("127.0.0.1", "smtp_host")
    smtp_port: int = _setting(1025, "smtp_port", ge=1, le=65535)
    smtp_sender: str = _setting("innovation-network@localhost", "smtp_sender")
    # How long one send may take: a webhook attempt in all (resolving, connecting, sending, reading
    # the response), each step of an SMTP conversation.
    send_timeout_seconds: float = _setting(10.0, "send_timeout_seconds", gt=0, le=120)
    # Networks webhooks may reach although they are not public ("127.0.0.0/8,::1/128" for local
    # receivers). Cloud metadata addresses stay refused whatever this says.
    webhook_allowed_networks: str = _setting("", "webhook_allowed_networks")
    # The retry budget: attempts in all, and the backoff between them (doubling, capped).
    max_attempts: int = _setting(6, "max_attempts", ge=1, le=50)
    retry_first_delay_seconds: float = _setting(5.0, "retry_first_delay_seconds", gt=0)
    retry_max_delay_seconds: float = _setting(600.0, "retry_max_delay_seconds", gt=0)
    # The worker sleeps at most this long when NOTIFY does not wake it (and when LISTEN is unavailable).
    poll_seconds: float = _setting(2.0, "poll_seconds", gt=0, le=60)
    # Attempts in flight at once in one replica, and at most this many of them to one webhook
    # (so a slow receiver holds a few slots, never all of them).
    worker_batch: int = _setting(20, "worker_batch", ge=1, le=500)
    per_webhook_in_flight: int = _setting(2, "per_webhook_in_flight", ge=1, le=100)

    # Emails: by SMTP (above) or by GOV.UK Notify (notify.py), and what their links point at.
    email_channel: Literal["smtp", "notify"] = _setting("smtp", "email_channel")
    notify_api_key: SecretStr | None = _setting(None, "notify_api_key")
    notify_base_url: str = _setting("https://api.notifications.service.gov.uk", "notify_base_url")
    # Notify template ids as JSON: {"my_ideas": "<uuid>", "endorsed": ..., "review_queue": ...,
    # "department": ..., "digest": ...}; a "default" entry serves every kind not named.
    notify_templates: str = _setting("{}", "notify_templates")
    notify_reply_to_id: str | None = _setting(None, "notify_reply_to_id")
    # The bearer token Notify sends with its delivery-status callbacks (set in Notify's API integration page).
    notify_callback_token: SecretStr | None = _setting(None, "notify_callback_token")
    # Where people open the links of an email: the department's portal, and this service (unsubscribe).
    portal_url: str = _setting("http://127.0.0.1:8004", "portal_url")
    public_url: str = _setting("http://127.0.0.1:8003", "public_url")
    # The department's name as people know it; by default from shared.departments.
    department_name: str | None = _setting(None, "department_name")
    # Digests: sent at this local time (HH:MM or HH:MM:SS) in `digest_timezone`; weekly ones on `digest_weekday`.
    digest_time: str = _setting("08:00", "digest_time")
    digest_weekday: Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"] = _setting(
        "monday", "digest_weekday")
    digest_timezone: str = _setting("Europe/London", "digest_timezone")

    # Every department's outcomes topics: adoptions of this department's outcomes arrive there.
    outcomes_pattern: str = _setting(OUTCOMES_PATTERN, "outcomes_pattern")
    metadata_max_age_ms: int = _setting(10_000, "metadata_max_age_ms", ge=500)
    consumer_max_records: int = Field(default=200, ge=1, le=10_000)

    @field_validator("webhook_allowed_networks")
    @classmethod
    def _networks(cls, value: str) -> str:
        networks(value)  # a typo is an error at start-up, not a silently empty allow-list
        return value

    @field_validator("digest_time")
    @classmethod
    def _time(cls, value: str) -> str:
        if not re.fullmatch(r"([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?", value):
            raise ValueError("a local time as HH:MM or HH:MM:SS, e.g. 08:00")
        return value

    @field_validator("digest_timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("an IANA time zone such as Europe/London") from None
        return value

    @model_validator(mode="after")
    def _notify(self) -> "NotificationsSettings":
        if self.email_channel == "notify":
            from services.notifications.notify import templates  # notify.py reads these settings itself

            if self.notify_api_key is None:
                raise ValueError("NOTIFICATIONS_NOTIFY_API_KEY is required when NOTIFICATIONS_EMAIL_CHANNEL=notify")
            templates(self.notify_templates)  # a typo is an error at start-up, not at the first email
        return self

    @property
    def allowed_networks(self) -> tuple[Network, ...]:
        return networks(self.webhook_allowed_networks)
