"""Composition root of the reporting service."""

from pathlib import Path

from fastapi import FastAPI

from services.reporting.config import ReportingSettings
from shared.runtime import ServiceSpec, create_app, serve

SPEC = ServiceSpec(
    name="reporting",
    title="Innovation network: reporting",
    migrations=Path(__file__).parent / "migrations",
    relay=False,
)


def build(settings: ReportingSettings | None = None) -> FastAPI:
    return create_app(SPEC, settings or ReportingSettings())


def main() -> None:
    settings = ReportingSettings()
    serve(build(settings), settings)
