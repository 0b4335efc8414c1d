"""Composition root of the ideas service."""

from pathlib import Path

from fastapi import FastAPI

from services.ideas import consumers
from services.ideas.catalogue import Catalogue
from services.ideas.config import IdeasSettings
from services.ideas.handlers import IdeasHandlers
from services.ideas.http import router
from shared.runtime import ServiceSpec, create_app, serve

SPEC = ServiceSpec(
    name="ideas",
    title="Innovation network: ideas",
    migrations=Path(__file__).parent / "migrations",
    routers=(router,),
    relay=True,
    handlers=lambda runtime: IdeasHandlers(runtime.pool, runtime.settings.department,
                                           Catalogue(runtime.settings.reporting_url)),
    consumers=consumers.declare,
    pool_size=20,
    stateless_pool=True,  # handlers and consumers use transactions and single statements only
)


def build(settings: IdeasSettings | None = None) -> FastAPI:
    return create_app(SPEC, settings or IdeasSettings())


def main() -> None:
    settings = IdeasSettings()
    serve("services.ideas.main:build", settings)
