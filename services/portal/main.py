"""Composition root of a department's portal: no Kafka consumers and no relay; its own small database for
server-side sessions; it calls the department's APIs over HTTP with the signed-in person's token."""

from fastapi import FastAPI

from services.portal import http, panel, squad
from services.portal.config import MIGRATIONS, PortalSettings
from services.portal.handlers import PortalHandlers, sweep_expired
from shared.runtime import ServiceSpec, create_app, serve


def spec(settings: PortalSettings) -> ServiceSpec:
    return ServiceSpec(
        name="portal",
        title=f"Innovation network: {settings.department} portal",
        migrations=MIGRATIONS,
        routers=(http.router, panel.router, squad.router),
        handlers=lambda runtime: PortalHandlers(runtime.settings, runtime.pool),
        background=(sweep_expired,),
        pool_size=5,
        kafka=False,  # it calls the departmental APIs over HTTP and nothing else
    )


def build(settings: PortalSettings | None = None) -> FastAPI:
    settings = settings or PortalSettings()
    app = create_app(spec(settings), settings)
    http.install(app, settings.oidc_issuer)
    app.openapi_url = None  # the portal is pages, not an API
    return app


def main() -> None:
    serve("services.portal.main:build", PortalSettings())
