"""What every service's HTTP surface shares: JSON errors, size limits, correlation ids,
health and readiness, and Prometheus metrics."""

import contextlib
import re
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import asyncpg

from fastapi import APIRouter, FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.logging import correlation, get_logger
from shared.refusals import Conflict, Forbidden, Invalid, NotFound, Refusal

log = get_logger(__name__)

CORRELATION_HEADER = "x-correlation-id"
_CORRELATION_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")

REQUESTS = Counter("http_requests_total", "HTTP requests", ["method", "route", "status"])
LATENCY = Histogram("http_request_seconds", "HTTP request latency", ["method", "route"])


class ApiError(Exception):
    """An error with a status and the contract's JSON body."""

    headers: Mapping[str, str] | None = None  # response headers (WWW-Authenticate, Retry-After)

    def __init__(self, status: int, error: str, detail: list[dict[str, Any]] | None = None, /, **extra: Any) -> None:
        super().__init__(error)
        self.status, self.error, self.detail, self.extra = status, error, detail or [], extra


def error_body(error: str, detail: list[dict[str, Any]] | None = None, **extra: Any) -> dict[str, Any]:
    return {"error": error, "detail": detail or [], **extra}


def _field(location: tuple[Any, ...]) -> str:
    parts = [str(p) for p in location if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


def _refusal_status(refusal: Refusal) -> int:
    return next(status for kind, status in _REFUSAL_STATUS.items() if isinstance(refusal, kind))


_REFUSAL_STATUS = {NotFound: 404, Conflict: 409, Forbidden: 403, Invalid: 422}


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        detail = [
            {"field": _field(tuple(e.get("loc", ()))), "rule": e.get("type", "invalid"), "message": e.get("msg", "")}
            for e in exc.errors()
        ]
        return JSONResponse(error_body("validation failed", detail), status_code=422)

    @app.exception_handler(Refusal)
    async def _refused(_: Request, exc: Refusal) -> JSONResponse:
        body = error_body(exc.error, [{"field": exc.field, "rule": exc.rule}], **exc.facts)
        return JSONResponse(body, status_code=_refusal_status(exc))

    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(error_body(exc.error, exc.detail, **exc.extra), status_code=exc.status, headers=exc.headers)

    @app.exception_handler(HTTPException)
    async def _http_error(_: Request, exc: HTTPException) -> JSONResponse:
        message = exc.detail if isinstance(exc.detail, str) else "request refused"
        return JSONResponse(error_body(message), status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(asyncpg.ReadOnlySQLTransactionError)
    @app.exception_handler(asyncpg.PostgresConnectionError)
    @app.exception_handler(asyncpg.CannotConnectNowError)
    @app.exception_handler(asyncpg.AdminShutdownError)
    @app.exception_handler(asyncpg.InterfaceError)
    @app.exception_handler(asyncpg.InternalClientError)  # a session ended under a statement
    @app.exception_handler(ConnectionError)
    async def _database_unavailable(request: Request, exc: Exception) -> JSONResponse:
        # The pool's sessions may outlive the fault in a state that repeats it (read-only after a failover
        # to a replica): the next requests start on new ones.
        log.warning("database unavailable", path=request.url.path, error=repr(exc))
        with contextlib.suppress(Exception):
            await request.app.state.runtime.pool.expire_connections()
        return JSONResponse(error_body("the database is unavailable; nothing was changed, try again shortly"),
                            status_code=503, headers={"Retry-After": "2"})

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", path=request.url.path)
        return JSONResponse(error_body("internal error"), status_code=500)


_CORRELATION_NAME = CORRELATION_HEADER.encode()
_SERIES: dict[tuple[str, str, int], tuple[Any, Any]] = {}  # the metrics' labelled series, found once


def _series(method: str, route: str, status: int) -> tuple[Any, Any]:
    found = _SERIES.get((method, route, status))
    if found is None:  # bounded: routes are the app's paths (or "unmatched"), methods and statuses few
        found = _SERIES[(method, route, status)] = (REQUESTS.labels(method, route, str(status)),
                                                    LATENCY.labels(method, route))
    return found


class RequestContext:
    """ASGI middleware: refuses oversized bodies (413), carries the correlation id, counts requests."""

    def __init__(self, app: ASGIApp, max_body_bytes: int = 64 * 1024) -> None:
        self.app, self.max_body_bytes = app, max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given, declared = "", ""
        for name, value in scope["headers"]:  # only the two this middleware reads
            name = name.lower()
            if name == _CORRELATION_NAME:
                given = value.decode("latin-1")
            elif name == b"content-length":
                declared = value.decode("latin-1")
        correlation_id = given if _CORRELATION_ID.match(given) else str(uuid.uuid4())
        scope.setdefault("state", {})["correlation_id"] = correlation_id
        started = time.perf_counter()
        status_holder = {"status": 500}

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-correlation-id", correlation_id.encode())]
            await send(message)

        with correlation(correlation_id):
            if declared.isdigit() and int(declared) > self.max_body_bytes:
                await self._too_large(send_with_id)
            elif (first := await self._read_body(receive)) is None:
                await self._too_large(send_with_id)
            else:
                await self.app(scope, _replay(first, receive), send_with_id)
        route = scope.get("route")
        route_name = getattr(route, "path", "unmatched")
        counted, timed = _series(scope["method"], route_name, status_holder["status"])
        counted.inc()
        timed.observe(time.perf_counter() - started)

    async def _read_body(self, receive: Receive) -> Message | None:
        """The whole body as one message (or the disconnect that cut it short), None as soon as it
        exceeds the limit. Read here, before the app runs, because a chunked body declares no length,
        and an error raised inside the app's own read becomes FastAPI's 400, not a 413."""
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return message
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > self.max_body_bytes:
                return None
            if not message.get("more_body", False):
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}

    async def _too_large(self, send: Send) -> None:
        response = JSONResponse(
            error_body("request body too large", [{"field": "body", "rule": f"at most {self.max_body_bytes} bytes"}]),
            status_code=413,
        )
        await response({"type": "http"}, _nothing, send)


def _replay(first: Message, receive: Receive) -> Receive:
    """A receive that gives the app the message already read, then what the server sends next."""
    pending = [first]

    async def replayed() -> Message:
        return pending.pop() if pending else await receive()

    return replayed


async def _nothing() -> Message:
    return {"type": "http.disconnect"}


Check = Callable[[], Awaitable[None]]


def operations_router(checks: Mapping[str, Check]) -> APIRouter:
    """`/healthz` (alive), `/readyz` (every check passes) and `/metrics`."""
    router = APIRouter(tags=["operations"])

    @router.get("/healthz", summary="The process is alive")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/readyz", summary="The database and the broker are reachable")
    async def readyz() -> JSONResponse:
        results: dict[str, str] = {}
        for name, check in checks.items():
            try:
                await check()
                results[name] = "ok"
            except Exception as error:  # a readiness probe reports, it never raises
                results[name] = f"unavailable: {type(error).__name__}"
        ready = all(v == "ok" for v in results.values())
        return JSONResponse({"status": "ready" if ready else "not ready", "checks": results},
                            status_code=200 if ready else 503)

    @router.get("/metrics", summary="Prometheus metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return router
