"""Composition root of the notifications service."""

from pathlib import Path

from fastapi import FastAPI

from services.notifications.config import NotificationsSettings
from shared.runtime import ServiceSpec, create_app, serve

SPEC = ServiceSpec(
    name="notifications",
    title="Innovation network: notifications",
    migrations=Path(__file__).parent / "migrations",
    relay=False,
)


def build(settings: NotificationsSettings | None = None) -> FastAPI:
    return create_app(SPEC, settings or NotificationsSettings())


def main() -> None:
    settings = NotificationsSettings()
    serve(build(settings), settings)
