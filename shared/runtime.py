"""The composition root every service shares: database, producer, broker, relay and HTTP app.

A service describes itself with a `ServiceSpec`; `create_app` builds the FastAPI app whose
lifespan starts everything in order and stops it in reverse on SIGTERM (uvicorn finishes
in-flight requests first, then the lifespan closes consumers, the relay and the pools).
"""

import asyncio
import contextlib
import ctypes
import gc
import os
import signal
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import uvicorn
from aiokafka import AIOKafkaProducer
from fastapi import APIRouter, FastAPI, Request
from faststream.kafka import KafkaBroker

from shared.auth import KeyCache
from shared.consumer import Consumes, Subscription
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
    producer: AIOKafkaProducer | None  # None for a service without Kafka (ServiceSpec.kafka)
    broker: KafkaBroker | None
    read_pool: asyncpg.Pool  # public reads: the same pool as `pool` unless the spec asks for one of its own
    kafka_options: Mapping[str, Any] = field(default_factory=dict)  # the spec's extra aiokafka client arguments
    relay: OutboxRelay | None = None
    keys: KeyCache | None = None  # the API keys looked up, cached until one changes (shared.auth)
    subscriptions: list[Subscription] = field(default_factory=list)  # built from spec.consumers
    handlers: Any = None  # the service's use cases, built by spec.handlers; each service's HTTP edge types it

    def consumer_options(self) -> dict[str, Any]:
        """The aiokafka client arguments of this service's consumers: address, security and the spec's options."""
        return {"bootstrap_servers": self.settings.kafka_bootstrap_servers,
                **self.settings.kafka_client_options(), **self.kafka_options}


Handlers = Callable[[Runtime], Any]
Consumers = Callable[[Runtime], Sequence[Consumes]]


GC_THRESHOLDS = (10_000, 20, 20)  # CPython's are (700, 10, 10)


@dataclass(frozen=True)
class ServiceSpec:
    name: str  # ideas, experiments, notifications, reporting
    title: str
    migrations: Path
    routers: Sequence[APIRouter] = ()
    relay: bool = False  # publishes through the outbox
    kafka: bool = True  # False: no producer, broker or consumers, and readiness does not ask Kafka (the portal)
    handlers: Handlers | None = None  # builds the use cases the routes, consumers and background tasks call
    consumers: Consumers | None = None  # declares the service's subscriptions (shared.consumer.Consumes)
    background: Sequence[Callable[[Runtime], Awaitable[None]]] = ()  # long-running tasks
    pool_size: int = 10
    stateless_pool: bool = False  # the pool's users keep no session state: releases skip the reset (shared.db)
    read_pool_size: int = 0  # > 0: public reads get a pool of their own, so they cannot starve the consumers
    read_pool_settings: Mapping[str, str] = field(default_factory=dict)  # its sessions' settings (statement_timeout...)
    max_body_bytes: int = 64 * 1024
    version: str = "1.0.0"
    broker_options: Mapping[str, Any] = field(default_factory=dict)  # extra aiokafka client arguments
    gc_thresholds: tuple[int, int, int] = GC_THRESHOLDS  # the cyclic collector's, once started

    def __post_init__(self) -> None:
        if not self.kafka and (self.relay or self.consumers):
            raise ValueError(f"{self.name}: a service without Kafka can neither relay events nor consume them")


def runtime_of(request: Request) -> Runtime:
    return request.app.state.runtime


_SUPERVISOR = "INNOVATION_HTTP_SUPERVISOR"  # set by serve() for its workers: the supervisor's pid
_PR_SET_PDEATHSIG = 1


def _end_with_supervisor() -> None:
    """In a worker of serve()'s supervisor: SIGTERM when the supervisor ends, however it ends (a SIGKILLed
    supervisor would otherwise leave its workers serving, consuming and relaying on their own)."""
    supervisor = os.environ.get(_SUPERVISOR)
    if not supervisor or os.getpid() == int(supervisor):
        return
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != int(supervisor):  # it ended before the request above
        os.kill(os.getpid(), signal.SIGTERM)


def settle_garbage_collector(thresholds: tuple[int, int, int] = GC_THRESHOLDS) -> None:
    """Once a service (or command) has started: everything alive then (modules, classes, pools, the app)
    moves to the permanent generation, which no collection walks again, and the young generation is
    collected after `thresholds[0]` allocations instead of 700. Under load the cyclic collector was ~8% of
    a submit's CPU (issue 17); unreachable cycles are still collected, only less often. Frozen once per
    process: a process that starts services one after another (tests) does not freeze each one's objects."""
    if not gc.get_freeze_count():
        gc.collect()
        gc.freeze()
    gc.set_threshold(*thresholds)


def create_app(spec: ServiceSpec, settings: ServiceSettings) -> FastAPI:
    configure_logging(settings.log_level)
    _end_with_supervisor()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        dsn = settings.database_url
        applied = await prepare_database(dsn, {"shared": SHARED_MIGRATIONS, spec.name: spec.migrations})
        for m in applied:
            log.info("migration applied", component=m.component, version=m.version, name=m.name)
        pool = await create_pool(dsn, max_size=spec.pool_size, stateless=spec.stateless_pool)
        producer = new_producer(settings.kafka_bootstrap_servers, **settings.kafka_client_options()) \
            if spec.kafka else None
        broker = KafkaBroker(settings.kafka_bootstrap_servers, logger=None, graceful_timeout=settings.shutdown_grace_seconds,
                             security=settings.kafka_security(), **spec.broker_options) if spec.kafka else None
        read_pool = await create_pool(dsn, max_size=spec.read_pool_size, server_settings=spec.read_pool_settings) \
            if spec.read_pool_size else pool
        runtime = Runtime(settings=settings, pool=pool, producer=producer, broker=broker, read_pool=read_pool,
                          kafka_options=spec.broker_options)
        tasks: list[asyncio.Task] = []
        graceful = 0  # tasks[:graceful] stop when asked; the rest are cancelled
        try:
            runtime.keys = KeyCache(dsn, read_pool)
            tasks.append(asyncio.create_task(runtime.keys.run(), name="api-key-cache"))
            if producer:
                await producer.start()
            if spec.relay:
                runtime.relay = OutboxRelay(dsn, lambda: new_producer(settings.kafka_bootstrap_servers,
                                                                      **settings.kafka_client_options()))
                tasks.append(asyncio.create_task(runtime.relay.run(), name="outbox-relay"))
            if spec.handlers:
                runtime.handlers = spec.handlers(runtime)
            if spec.consumers:
                runtime.subscriptions = [c.subscription(runtime, spec.name) for c in spec.consumers(runtime)]
            if broker:
                await broker.start()
            tasks += [asyncio.create_task(subscription.run(), name=f"consumer {subscription.name}")
                      for subscription in runtime.subscriptions]
            graceful = len(tasks)
            tasks += [asyncio.create_task(job(runtime), name=job.__name__) for job in spec.background]
            app.state.runtime = runtime
            settle_garbage_collector(spec.gc_thresholds)
            log.info("service started", service=spec.name, port=settings.http_port)
            yield
        finally:
            log.info("service stopping", service=spec.name)
            # Consumers finish and commit the batch in hand, the relay its batch; other tasks are cancelled.
            for subscription in runtime.subscriptions:
                subscription.stop()
            if runtime.relay:
                await runtime.relay.stop()
            if runtime.keys:
                await runtime.keys.stop()
            for task in tasks[graceful:]:
                task.cancel()
            if tasks:
                _, late = await asyncio.wait(tasks, timeout=settings.shutdown_grace_seconds)
                for task in late:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
            if broker:
                await broker.stop()
            if producer:
                await producer.stop()
            if read_pool is not pool:
                await read_pool.close()
            await pool.close()
            log.info("service stopped", service=spec.name)

    # FastAPI's native OpenTelemetry off: no service configures a provider, and asking whether one
    # is configured cost every request a few environment and provider look-ups (issue 17).
    app = FastAPI(title=spec.title, version=spec.version, lifespan=lifespan,
                  telemetry={"tracing": False, "metrics": False, "logs": False})
    install_error_handlers(app)
    app.add_middleware(RequestContext, max_body_bytes=spec.max_body_bytes)

    async def database_ready() -> None:
        await asyncio.wait_for(app.state.runtime.pool.fetchval("SELECT 1"), 2)

    async def broker_ready() -> None:
        if not await app.state.runtime.broker.ping(timeout=2):
            raise ConnectionError("Kafka did not answer")

    checks = {"database": database_ready, "kafka": broker_ready} if spec.kafka else {"database": database_ready}
    app.include_router(operations_router(checks))
    for router in spec.routers:
        app.include_router(router)
    return app


def serve(factory: str, settings: ServiceSettings) -> None:
    """Runs the app that `factory` ("module:function", called without arguments) builds, in
    `settings.workers()` processes, until SIGTERM or SIGINT; then stops gracefully. With more than one,
    uvicorn's supervisor starts them, and each worker ends with the supervisor (even a SIGKILLed one)."""
    workers = settings.workers()
    if workers > 1:
        os.environ[_SUPERVISOR] = str(os.getpid())
    uvicorn.run(
        factory,
        factory=True,
        workers=workers if workers > 1 else None,
        host=settings.http_host,
        port=settings.http_port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=int(settings.shutdown_grace_seconds),
    )
