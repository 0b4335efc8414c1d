"""The composition root every service shares: database, producer, broker, relay and HTTP app.

A service describes itself with a `ServiceSpec`; `create_app` builds the FastAPI app whose
lifespan starts everything in order and stops it in reverse on SIGTERM (uvicorn finishes
in-flight requests first, then the lifespan closes consumers, the relay and the pools).
"""

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import uvicorn
from aiokafka import AIOKafkaProducer
from fastapi import APIRouter, FastAPI, Request
from faststream.kafka import KafkaBroker

from shared.db import SHARED_MIGRATIONS, create_pool, prepare_database
from shared.http import RequestContext, install_error_handlers, operations_router
from shared.logging import configure_logging, get_logger
from shared.outbox import OutboxRelay, new_producer
from shared.settings import ServiceSettings

log = get_logger(__name__)


@dataclass
class Runtime:
    """What a running service holds; handlers receive the parts they need from it."""

    settings: Any
    pool: asyncpg.Pool
    producer: AIOKafkaProducer
    broker: KafkaBroker
    relay: OutboxRelay | None = None
    extras: dict[str, Any] = field(default_factory=dict)


Setup = Callable[[Runtime], Awaitable[None]]


@dataclass(frozen=True)
class ServiceSpec:
    name: str  # ideas, experiments, notifications, reporting
    title: str
    migrations: Path
    routers: Sequence[APIRouter] = ()
    relay: bool = False  # publishes through the outbox
    subscribe: Setup | None = None  # attaches consumers to runtime.broker before it starts
    background: Sequence[Callable[[Runtime], Awaitable[None]]] = ()  # long-running tasks
    pool_size: int = 10
    max_body_bytes: int = 64 * 1024
    version: str = "1.0.0"
    broker_options: Mapping[str, Any] = field(default_factory=dict)  # extra KafkaBroker(...) arguments


def runtime_of(request: Request) -> Runtime:
    return request.app.state.runtime


def create_app(spec: ServiceSpec, settings: ServiceSettings) -> FastAPI:
    configure_logging(settings.log_level)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        dsn = settings.database_url
        applied = await prepare_database(dsn, {"shared": SHARED_MIGRATIONS, spec.name: spec.migrations})
        for m in applied:
            log.info("migration applied", component=m.component, version=m.version, name=m.name)
        pool = await create_pool(dsn, max_size=spec.pool_size)
        producer = new_producer(settings.kafka_bootstrap_servers, **settings.kafka_client_options())
        broker = KafkaBroker(settings.kafka_bootstrap_servers, logger=None, graceful_timeout=settings.shutdown_grace_seconds,
                             security=settings.kafka_security(), **spec.broker_options)
        runtime = Runtime(settings=settings, pool=pool, producer=producer, broker=broker)
        tasks: list[asyncio.Task] = []
        try:
            await producer.start()
            if spec.relay:
                runtime.relay = OutboxRelay(dsn, producer)
                tasks.append(asyncio.create_task(runtime.relay.run(), name="outbox-relay"))
            if spec.subscribe:
                await spec.subscribe(runtime)
            await broker.start()
            tasks += [asyncio.create_task(job(runtime), name=job.__name__) for job in spec.background]
            app.state.runtime = runtime
            log.info("service started", service=spec.name, port=settings.http_port)
            yield
        finally:
            log.info("service stopping", service=spec.name)
            await broker.stop()
            if runtime.relay:
                await runtime.relay.stop()
            for task in tasks:
                if task.get_name() != "outbox-relay":
                    task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await producer.stop()
            await pool.close()
            log.info("service stopped", service=spec.name)

    app = FastAPI(title=spec.title, version=spec.version, lifespan=lifespan)
    install_error_handlers(app)
    app.add_middleware(RequestContext, max_body_bytes=spec.max_body_bytes)

    async def database_ready() -> None:
        await asyncio.wait_for(app.state.runtime.pool.fetchval("SELECT 1"), 2)

    async def broker_ready() -> None:
        if not await app.state.runtime.broker.ping(timeout=2):
            raise ConnectionError("Kafka did not answer")

    app.include_router(operations_router({"database": database_ready, "kafka": broker_ready}))
    for router in spec.routers:
        app.include_router(router)
    return app


def serve(factory: str, settings: ServiceSettings) -> None:
    """Runs the app that `factory` ("module:function", called without arguments) builds, in
    `settings.http_workers` processes, until SIGTERM or SIGINT; then stops gracefully."""
    uvicorn.run(
        factory,
        factory=True,
        workers=settings.http_workers if settings.http_workers > 1 else None,
        host=settings.http_host,
        port=settings.http_port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=int(settings.shutdown_grace_seconds),
    )
