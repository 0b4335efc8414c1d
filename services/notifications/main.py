"""Composition root of the notifications service."""

from pathlib import Path

from fastapi import FastAPI

from services.notifications import consumers
from services.notifications.config import NotificationsSettings
from services.notifications.handlers import Notifications
from services.notifications.http import pages, router
from services.notifications.notify import callback_router
from services.notifications.digests import make_digests
from services.notifications.worker import deliver
from shared.runtime import Runtime, ServiceSpec, create_app, serve


def build(settings: NotificationsSettings | None = None) -> FastAPI:
    settings = settings or NotificationsSettings()

    def handlers(runtime: Runtime) -> Notifications:
        return Notifications(pool=runtime.pool, department=settings.department,
                             pseudonym_secret=settings.pseudonym_secret, allowed_networks=settings.allowed_networks)

    spec = ServiceSpec(
        name="notifications",
        title="Innovation network: notifications",
        migrations=Path(__file__).parent / "migrations",
        routers=(router, pages, callback_router),
        relay=False,  # publishes nothing
        handlers=handlers,
        consumers=consumers.declare,
        background=(deliver, make_digests),
        max_body_bytes=16 * 1024,
        broker_options={"metadata_max_age_ms": settings.metadata_max_age_ms},
    )
    return create_app(spec, settings)


def main() -> None:
    settings = NotificationsSettings()
    serve("services.notifications.main:build", settings)
