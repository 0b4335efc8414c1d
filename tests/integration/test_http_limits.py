"""The request body limit holds for every way a body can arrive, on a real uvicorn server (a real
socket, both of uvicorn's HTTP parsers): a declared Content-Length, and a chunked body
(Transfer-Encoding: chunked) that declares no length and is only known to be too large while it
is read. Either way: 413 with the contract's JSON error shape, and the handler never runs."""

import asyncio
import contextlib
import json
import socket
from collections.abc import AsyncIterator

import httpx
import pytest
import uvicorn
from fastapi import FastAPI, Request
from pydantic import BaseModel

from services.ideas.config import IdeasSettings
from services.ideas.main import build as build_ideas
from shared.events.topics import topic_name
from shared.http import RequestContext, install_error_handlers
from tests.support.kafka import create_topics
from tests.support.services import issue_keys

LIMIT = 1024
TOO_LARGE = {"error": "request body too large", "detail": [{"field": "body", "rule": f"at most {LIMIT} bytes"}]}


class Note(BaseModel):
    text: str


def limited_app(handled: list[int]) -> FastAPI:
    """A minimal app with the shared middleware and error handlers; `handled` records each body a handler got."""
    app = FastAPI()
    install_error_handlers(app)
    app.add_middleware(RequestContext, max_body_bytes=LIMIT)

    @app.post("/notes")
    async def notes(note: Note) -> dict:
        handled.append(len(note.text))
        return {"length": len(note.text)}

    @app.post("/raw")
    async def raw(request: Request) -> dict:
        body = await request.body()
        handled.append(len(body))
        return {"length": len(body)}

    return app


@contextlib.asynccontextmanager
async def uvicorn_serving(app: FastAPI, http: str = "auto", lifespan: str = "off") -> AsyncIterator[int]:
    """Serves `app` with a real uvicorn server in this loop, on a free port; yields the port."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, http=http, lifespan=lifespan, log_config=None, access_log=False))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            assert not task.done(), "uvicorn stopped during start-up"
            await asyncio.sleep(0.02)
        yield sock.getsockname()[1]
    finally:
        server.should_exit = True
        await task
        sock.close()


def chunked_request(path: str, chunks: list[bytes]) -> bytes:
    head = (f"POST {path} HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
            "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n").encode()
    return head + b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in chunks) + b"0\r\n\r\n"


async def exchange(port: int, request: bytes) -> tuple[int, dict]:
    """Sends raw bytes, reads the response to the end; its status and JSON body."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(request)
        await writer.drain()
        response = await reader.read()
    finally:
        writer.close()
    head, body = response.split(b"\r\n\r\n", 1)
    return int(head.split(b" ")[1]), json.loads(body)


def note_of(total: int) -> bytes:
    """A JSON note whose encoding is exactly `total` bytes."""
    frame = b'{"text": ""}'
    return frame[:-2] + b"x" * (total - len(frame)) + frame[-2:]


def split(body: bytes, size: int) -> list[bytes]:
    return [body[i:i + size] for i in range(0, len(body), size)]


@pytest.fixture(params=["h11", "httptools"])
async def server(request) -> AsyncIterator[tuple[int, list[int]]]:
    handled: list[int] = []
    async with uvicorn_serving(limited_app(handled), http=request.param) as port:
        yield port, handled


@pytest.mark.parametrize("path", ["/notes", "/raw"])
@pytest.mark.parametrize("chunk_size", [1, 100, LIMIT + 1, 10 * LIMIT])
async def test_a_chunked_body_over_the_limit_gets_413_and_the_handler_never_runs(server, path, chunk_size):
    port, handled = server
    status, body = await exchange(port, chunked_request(path, split(note_of(LIMIT + 1), chunk_size)))
    assert (status, body) == (413, TOO_LARGE)
    status, body = await exchange(port, chunked_request(path, split(note_of(20 * LIMIT), chunk_size)))
    assert (status, body) == (413, TOO_LARGE)
    assert handled == []


@pytest.mark.parametrize("chunk_size", [1, 100, LIMIT])
async def test_a_chunked_body_within_the_limit_reaches_the_handler_whole(server, chunk_size):
    port, handled = server
    assert await exchange(port, chunked_request("/raw", split(note_of(LIMIT), chunk_size))) == (200, {"length": LIMIT})
    assert await exchange(port, chunked_request("/notes", split(note_of(LIMIT), chunk_size))) == (
        200, {"length": LIMIT - len(b'{"text": ""}')})
    assert await exchange(port, chunked_request("/raw", [])) == (200, {"length": 0})
    assert handled == [LIMIT, LIMIT - len(b'{"text": ""}'), 0]


async def test_a_declared_length_over_the_limit_gets_413_before_the_body_is_read(server):
    port, handled = server
    head = (f"POST /raw HTTP/1.1\r\nHost: test\r\nContent-Length: {LIMIT + 1}\r\n"
            "Connection: close\r\n\r\n").encode()
    assert await exchange(port, head) == (413, TOO_LARGE)  # the body is never sent
    assert handled == []


async def test_a_client_streaming_a_generator_gets_413_and_can_go_on(server):
    """httpx sends an async generator chunked, with no Content-Length; the connection serves the next request."""
    port, handled = server

    async def drip(total: int):
        for piece in split(note_of(total), 256):
            yield piece

    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
        refused = await client.post("/notes", content=drip(4 * LIMIT), headers={"content-type": "application/json"})
        assert "content-length" not in refused.request.headers
        assert refused.request.headers["transfer-encoding"] == "chunked"
        assert (refused.status_code, refused.json()) == (413, TOO_LARGE)
        accepted = await client.post("/notes", content=drip(LIMIT), headers={"content-type": "application/json"})
        assert accepted.status_code == 200
    assert handled == [LIMIT - len(b'{"text": ""}')]


async def test_the_ideas_service_refuses_a_chunked_oversized_idea_and_takes_a_chunked_one(
        kafka_bootstrap, new_database, department):
    """The real service (its lifespan, database, broker and 64 KiB limit) behind a real uvicorn."""
    dsn = await new_database("ideas")
    await create_topics(kafka_bootstrap, topic_name(department, "ideas"))
    settings = IdeasSettings(department=department, database_url=dsn, kafka_bootstrap_servers=kafka_bootstrap,
                             pseudonym_secret="http-limits-test-secret")
    async with uvicorn_serving(build_ideas(settings), lifespan="on") as port:
        keys = await issue_keys(dsn, department)
        headers = {"Authorization": f"Bearer {keys['contributor']}", "X-Person-Ref": "alice",
                   "Content-Type": "application/json"}

        async def chunks(body: bytes):
            for piece in split(body, 4096):
                yield piece

        idea = {"title": "Fewer forms", "problem": "Too many forms.", "proposal": "Merge them."}
        huge = json.dumps({**idea, "proposal": "x" * 70_000}).encode()
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            refused = await client.post("/v1/ideas", content=chunks(huge), headers=headers)
            assert refused.status_code == 413
            assert refused.json() == {"error": "request body too large",
                                      "detail": [{"field": "body", "rule": f"at most {64 * 1024} bytes"}]}
            assert refused.headers["x-correlation-id"]
            accepted = await client.post("/v1/ideas", content=chunks(json.dumps(idea).encode()), headers=headers)
            assert accepted.status_code == 201, accepted.text
            listed = await client.get("/v1/ideas", headers=headers)
        assert [i["title"] for i in listed.json()["items"]] == ["Fewer forms"]
