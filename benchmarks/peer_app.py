"""The peer of `POST /v1/ideas` in benchmarks/bench_ideas.py: what a team would write by hand.

A minimal FastAPI + asyncpg app: `POST /v1/ideas` validates the body with a pydantic model, inserts
one row, then publishes the event straight to Kafka with aiokafka (acks=all, idempotent) and waits
for the broker's acknowledgement before it answers 201. No outbox, no inbox, no API key, no pseudonym:
what our guarantees and our edge cost is the difference between the two.

Settings from the environment: PEER_DATABASE_URL (the database; the table is created at start),
KAFKA_BOOTSTRAP_SERVERS, PEER_TOPIC. Run it as the service runs (the same worker count):

    python -m uvicorn benchmarks.peer_app:app --workers 2 --port 8090 --no-access-log
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import AsyncIterator

import asyncpg
import orjson
from aiokafka import AIOKafkaProducer
from fastapi import FastAPI, Request, Response
from pydantic import BaseModel, Field

TABLE = """CREATE TABLE IF NOT EXISTS peer_ideas (
    idea_id uuid PRIMARY KEY, title text NOT NULL, problem text NOT NULL, proposal text NOT NULL,
    themes text[] NOT NULL, campaign text, submitted_at timestamptz NOT NULL DEFAULT now())"""


class Submit(BaseModel):
    title: str = Field(min_length=1, max_length=200)
    problem: str = Field(min_length=1, max_length=5000)
    proposal: str = Field(min_length=1, max_length=5000)
    themes: list[str] = Field(default_factory=list, max_length=10)
    campaign: str | None = Field(default=None, max_length=60)


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    dsn = os.environ["PEER_DATABASE_URL"]
    async with asyncpg.create_pool(dsn, min_size=2, max_size=20) as pool:
        try:  # every worker runs it; two at once may both find it missing
            await pool.execute(TABLE)
        except (asyncpg.UniqueViolationError, asyncpg.DuplicateTableError):
            pass
        producer = AIOKafkaProducer(bootstrap_servers=os.environ["KAFKA_BOOTSTRAP_SERVERS"], acks="all",
                                    enable_idempotence=True, linger_ms=5)
        await producer.start()
        app.state.pool, app.state.producer, app.state.topic = pool, producer, os.environ["PEER_TOPIC"]
        try:
            yield
        finally:
            await producer.stop()


app = FastAPI(lifespan=lifespan)


@app.get("/healthz")
async def healthz() -> dict:
    return {"status": "ok"}


@app.post("/v1/ideas", status_code=201)
async def submit(body: Submit, request: Request) -> Response:
    state = request.app.state
    idea_id = uuid.uuid4()
    await state.pool.execute(
        "INSERT INTO peer_ideas (idea_id, title, problem, proposal, themes, campaign) VALUES ($1, $2, $3, $4, $5, $6)",
        idea_id, body.title, body.problem, body.proposal, body.themes, body.campaign)
    event = {"type": "idea.submitted", "idea_id": str(idea_id), **body.model_dump()}
    await state.producer.send_and_wait(state.topic, orjson.dumps(event), key=idea_id.bytes)
    return Response(orjson.dumps({"idea_id": str(idea_id), **body.model_dump()}), 201,
                    media_type="application/json")
