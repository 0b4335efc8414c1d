"""Composition root of the experiments service."""

from pathlib import Path

from fastapi import FastAPI

from services.experiments.config import ExperimentsSettings
from shared.runtime import ServiceSpec, create_app, serve

SPEC = ServiceSpec(
    name="experiments",
    title="Innovation network: experiments",
    migrations=Path(__file__).parent / "migrations",
    relay=True,
)


def build(settings: ExperimentsSettings | None = None) -> FastAPI:
    return create_app(SPEC, settings or ExperimentsSettings())


def main() -> None:
    settings = ExperimentsSettings()
    serve(build(settings), settings)
