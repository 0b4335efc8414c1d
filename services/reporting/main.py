"""Composition root of the reporting service."""

import gc
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
        read_pool_size=settings.read_pool_size,
        read_pool_settings={"statement_timeout": str(settings.read_statement_timeout_ms),
                            "default_transaction_read_only": "on"},
        # A new department's topics match the pattern as soon as the metadata refreshes.
        broker_options={"metadata_max_age_ms": settings.metadata_max_age_ms},
    )


def build(settings: ReportingSettings | None = None) -> FastAPI:
    settings = settings or ReportingSettings()
    app = create_app(spec(settings), settings)
    mount_assets(app)
    return app


def tune_gc() -> None:
    """Fewer garbage collections: batch decoding allocates many short-lived objects, and with the default
    thresholds the collector's passes over the long-lived heap halve the projection's throughput."""
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)


def main() -> None:
    tune_gc()
    settings = ReportingSettings()
    serve("services.reporting.main:build", settings)
