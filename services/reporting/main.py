"""Composition root of the reporting service."""

from pathlib import Path

from fastapi import FastAPI

from services.reporting.config import ReportingSettings
from services.reporting.consumers import attach
from services.reporting.dashboard import mount_assets
from services.reporting.dashboard import router as dashboard_router
from services.reporting.http import router as api_router
from shared.runtime import ServiceSpec, create_app, serve

MIGRATIONS = Path(__file__).parent / "migrations"


def spec(settings: ReportingSettings) -> ServiceSpec:
    return ServiceSpec(
        name="reporting",
        title="Innovation network: reporting",
        migrations=MIGRATIONS,
        routers=(api_router, dashboard_router),
        relay=False,
        subscribe=attach,
        # A new department's topics match the pattern as soon as the metadata refreshes.
        broker_options={"metadata_max_age_ms": settings.metadata_max_age_ms},
    )


def build(settings: ReportingSettings | None = None) -> FastAPI:
    settings = settings or ReportingSettings()
    app = create_app(spec(settings), settings)
    mount_assets(app)
    return app


def main() -> None:
    settings = ReportingSettings()
    serve(build(settings), settings)
