"""Benchmark of the ideas service (not a test: it prints figures).

Runs the service as a real uvicorn process against the local Kafka and PostgreSQL, in a fresh
database and a fresh department, and measures:

1. saturation: `POST /v1/ideas` (auth, pseudonym, insert + outbox in one transaction, relay
   publishing beside it) and `GET /healthz` of the same server, in the same run, with `wrk`
   (closed loop, fixed connections): throughput, p50, p99, and the ratio;
2. a fixed 200 submissions/s (open loop: latency counted from when each request was due);
3. commit to Kafka acknowledgement per event: `sent_at - created_at` of each outbox row (the
   same interval the relay's `outbox_commit_to_ack_seconds` histogram observes), for the
   fixed-rate phase and for the saturation phase.

    .venv/bin/python benchmarks/bench_ideas.py [--connections 64] [--seconds 10] [--rate 200]

Needs `wrk` (apt-get install -y wrk).
"""

import argparse
import asyncio
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from shared.auth import new_key, register_key  # noqa: E402
from shared.db import SHARED_MIGRATIONS, prepare_database  # noqa: E402
from shared.events.topics import topic_name  # noqa: E402

POSTGRES = os.environ.get("POSTGRES_URL", "postgresql://innovation:innovation@127.0.0.1:5432/postgres")
KAFKA = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
BODY = ('{"title": "Fewer forms for new claimants", "problem": "Claimants fill in the same details on four forms.",'
        ' "proposal": "One form, shared by the four teams.", "themes": ["customer-service", "ai"],'
        ' "campaign": "one-big-thing-2025"}')
WRK_SCRIPT = """
wrk.method = "{method}"
wrk.body = {body}
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer {key}"
wrk.headers["X-Person-Ref"] = "bench-person-1"
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def lua_string(text: str) -> str:
    return "[==[" + text + "]==]"


def run_wrk(url: str, *, method: str, body: str | None, key: str, connections: int, seconds: int) -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_SCRIPT.format(method=method, body=lua_string(body) if body else "nil", key=key))
    try:
        result = subprocess.run(
            ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", script.name, url],
            capture_output=True, text=True,
        )
        if result.returncode != 0:
            raise RuntimeError(f"wrk failed: {result.stdout}{result.stderr}")
        out = result.stdout
    finally:
        os.unlink(script.name)

    def latency(percent: str) -> float:
        match = re.search(rf"^\s+{percent}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        value, unit = float(match[1]), match[2]
        return value * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: (.*)", out)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out)[1]),
        "requests": int(re.search(r"(\d+) requests in", out)[1]),
        "p50": latency("50"), "p99": latency("99"),
        "non_2xx": int(errors[1]) if errors else 0,
        "socket_errors": socket_errors[1] if socket_errors else "none",
    }


async def fixed_rate(base: str, key: str, rate: float, seconds: float) -> dict:
    """Open loop: request i is due at start + i/rate and its latency runs from when it was due
    (so a stall is not hidden by requests that were never sent). A bare HTTP/1.1 keep-alive
    client: httpx costs too much CPU per request on a 2-core machine shared with the server."""
    host, port = base.removeprefix("http://").split(":")
    body = BODY.encode()
    request = (f"POST /v1/ideas HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {key}\r\n"
               f"X-Person-Ref: bench-person-2\r\nContent-Type: application/json\r\n"
               f"Content-Length: {len(body)}\r\n\r\n").encode() + body
    idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
    latencies: list[float] = []
    failures = 0
    loop = asyncio.get_running_loop()
    connections = asyncio.Semaphore(256)

    async def one(due: float) -> None:
        nonlocal failures
        await asyncio.sleep(max(0.0, due - loop.time()))
        async with connections:  # at most 256 open; a request waiting for one still counts from `due`
            reader, writer = idle.pop() if idle else await asyncio.open_connection(host, int(port))
            try:
                writer.write(request)
                head = await reader.readuntil(b"\r\n\r\n")
                length = int(re.search(rb"(?i)content-length: (\d+)", head)[1])
                await reader.readexactly(length)
            except (OSError, asyncio.IncompleteReadError):
                failures += 1
                writer.close()
                return
            latencies.append((loop.time() - due) * 1000)
            if not head.startswith(b"HTTP/1.1 201"):
                failures += 1
            idle.append((reader, writer))

    start = loop.time() + 0.2
    await asyncio.gather(*(one(start + i / rate) for i in range(int(rate * seconds))))
    elapsed = loop.time() - start
    for _, writer in idle:
        writer.close()
    latencies.sort()
    return {"sent": len(latencies), "achieved_rps": len(latencies) / elapsed, "failures": failures,
            "p50": percentile(latencies, 50), "p99": percentile(latencies, 99), "max": latencies[-1]}


def percentile(sorted_values: list[float], p: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(p / 100 * len(sorted_values) + 0.5) - 1))
    return sorted_values[index]


async def commit_to_ack(dsn: str, since_id: int, until_id: int) -> dict:
    conn = await asyncpg.connect(dsn)
    try:
        row = await conn.fetchrow(
            """SELECT count(*) AS events, count(sent_at) AS sent,
                      percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM sent_at - created_at)) * 1000 AS p50,
                      percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM sent_at - created_at)) * 1000 AS p99,
                      max(extract(epoch FROM sent_at - created_at)) * 1000 AS max
               FROM outbox WHERE id > $1 AND id <= $2""",
            since_id, until_id,
        )
        return dict(row)
    finally:
        await conn.close()


async def max_outbox_id(dsn: str) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetchval("SELECT coalesce(max(id), 0) FROM outbox")
    finally:
        await conn.close()


async def wait_drained(dsn: str, timeout: float = 120) -> float:
    conn = await asyncpg.connect(dsn)
    started = time.monotonic()
    try:
        while await conn.fetchval("SELECT count(*) FROM outbox WHERE sent_at IS NULL"):
            if time.monotonic() - started > timeout:
                raise RuntimeError("the outbox did not drain")
            await asyncio.sleep(0.05)
        return time.monotonic() - started
    finally:
        await conn.close()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rate", type=float, default=200)
    parser.add_argument("--rate-seconds", type=float, default=15)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is needed: apt-get install -y wrk")

    tag = uuid.uuid4().hex[:8]
    department, database = f"bench{tag}", f"bench_ideas_{tag}"
    admin = await asyncpg.connect(POSTGRES)
    await admin.execute(f'CREATE DATABASE "{database}"')
    await admin.close()
    dsn = POSTGRES.rsplit("/", 1)[0] + "/" + database
    await prepare_database(dsn, {"shared": SHARED_MIGRATIONS, "ideas": ROOT / "services" / "ideas" / "migrations"})
    key = new_key()
    conn = await asyncpg.connect(dsn)
    await register_key(conn, key, department=department, role="contributor", label="benchmark",
                       acts_for_people=True)
    await conn.close()
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic
    kafka_admin = AIOKafkaAdminClient(bootstrap_servers=KAFKA)
    await kafka_admin.start()
    await kafka_admin.create_topics([NewTopic(topic_name(department, "ideas"), 3, 1)])
    await kafka_admin.close()

    port = free_port()
    env = {**os.environ, "INNOVATION_DEPARTMENT": department, "IDEAS_DATABASE_URL": dsn,
           "KAFKA_BOOTSTRAP_SERVERS": KAFKA, "HTTP_PORT": str(port), "LOG_LEVEL": "WARNING"}
    server = subprocess.Popen([sys.executable, "-m", "services.ideas"], env=env, cwd=ROOT)
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=base) as client:
            for _ in range(300):
                try:
                    if (await client.get("/readyz")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
        print(f"ideas service pid {server.pid} at {base}; database {database}; department {department}; "
              f"{os.cpu_count()} cores")

        run_wrk(f"{base}/v1/ideas", method="POST", body=BODY, key=key, connections=8, seconds=2)  # warm-up
        await wait_drained(dsn)

        before = await max_outbox_id(dsn)
        submit = run_wrk(f"{base}/v1/ideas", method="POST", body=BODY, key=key,
                         connections=args.connections, seconds=args.seconds)
        saturated_upto = await max_outbox_id(dsn)
        drain = await wait_drained(dsn)
        trivial = run_wrk(f"{base}/healthz", method="GET", body=None, key=key,
                          connections=args.connections, seconds=args.seconds)
        saturated_ack = await commit_to_ack(dsn, before, saturated_upto)

        before = await max_outbox_id(dsn)
        steady = await fixed_rate(base, key, args.rate, args.rate_seconds)
        await wait_drained(dsn)
        steady_ack = await commit_to_ack(dsn, before, await max_outbox_id(dsn))
    finally:
        server.terminate()
        server.wait(timeout=30)
        admin = await asyncpg.connect(POSTGRES)
        await admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        await admin.close()

    print(f"\nsaturation, {args.connections} connections, {args.seconds}s each (wrk, closed loop):")
    for name, r in (("POST /v1/ideas", submit), ("GET /healthz", trivial)):
        print(f"  {name:<15} {r['rps']:8.0f} req/s   p50 {r['p50']:7.2f} ms   p99 {r['p99']:7.2f} ms   "
              f"non-2xx {r['non_2xx']}   socket errors {r['socket_errors']}")
    print(f"  ratio submit/healthz throughput: {submit['rps'] / trivial['rps']:.2f}")
    print(f"  outbox drained {drain:.2f}s after the submit load ended; commit->ack over {saturated_ack['events']} "
          f"events: p50 {saturated_ack['p50']:.1f} ms  p99 {saturated_ack['p99']:.1f} ms  max {saturated_ack['max']:.1f} ms")
    print(f"\nfixed rate {args.rate:.0f} submissions/s for {args.rate_seconds:.0f}s (open loop):")
    print(f"  achieved {steady['achieved_rps']:.0f}/s   p50 {steady['p50']:.2f} ms   p99 {steady['p99']:.2f} ms   "
          f"max {steady['max']:.2f} ms   failures {steady['failures']}")
    print(f"  commit->Kafka ack over {steady_ack['events']} events: p50 {steady_ack['p50']:.1f} ms   "
          f"p99 {steady_ack['p99']:.1f} ms   max {steady_ack['max']:.1f} ms")


if __name__ == "__main__":
    asyncio.run(main())
