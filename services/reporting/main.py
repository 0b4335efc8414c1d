"""Composition root of the reporting service."""

from fastapi import FastAPI

from services.reporting.config import GC_THRESHOLDS, MIGRATIONS, ReportingSettings
from services.reporting import consumers
from services.reporting.dashboard import mount_assets
from services.reporting.dashboard import router as dashboard_router
from services.reporting.http import router as api_router
from services.reporting.open_data import router as open_data_router
from shared.runtime import ServiceSpec, create_app, serve


def spec(settings: ReportingSettings) -> ServiceSpec:
    return ServiceSpec(
        name="reporting",
        title="Innovation network: reporting",
        migrations=MIGRATIONS,
        routers=(api_router, open_data_router, dashboard_router),
        relay=False,
        consumers=consumers.declare,
        read_pool_size=settings.read_pool_size,
        read_pool_settings={"statement_timeout": str(settings.read_statement_timeout_ms),
                            "default_transaction_read_only": "on"},
        # A new department's topics match the pattern as soon as the metadata refreshes.
        broker_options={"metadata_max_age_ms": settings.metadata_max_age_ms},
        gc_thresholds=GC_THRESHOLDS,
    )


def build(settings: ReportingSettings | None = None) -> FastAPI:
    settings = settings or ReportingSettings()
    app = create_app(spec(settings), settings)
    mount_assets(app)
    return app


def main() -> None:
    settings = ReportingSettings()
    serve("services.reporting.main:build", settings)
