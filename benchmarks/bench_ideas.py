"""Benchmark of the ideas service (not a test: it prints figures through benchmarks/common.py).

Runs the service as a real uvicorn process (HTTP_WORKERS, default auto: one worker per core)
against KAFKA_BOOTSTRAP_SERVERS and POSTGRES_URL, in a fresh database, a fresh department and its
own topic, beside its peer (benchmarks/peer_app.py: FastAPI + asyncpg inserting one row and
publishing straight to Kafka with acks=all, no outbox; the same worker count), and measures:

1. saturation with `wrk` (closed loop, fixed connections): `POST /v1/ideas` (auth, pseudonym,
   idea + outbox row in one statement, relay publishing beside it), `GET /healthz` of the same
   server, and the peer's `POST /v1/ideas`;
2. a fixed 200 submissions/s (open loop: latency counted from when each request was due), of
   the service and of the peer;
3. commit to Kafka acknowledgement per event: `sent_at - created_at` of each outbox row (the
   same interval the relay's `outbox_commit_to_ack_seconds` histogram observes);
4. the peak resident memory of every process of the service (and of the peer).

Both databases and both topics are dropped and deleted at the end, whatever happens.

    .venv/bin/python benchmarks/bench_ideas.py [--connections 64] [--seconds 10] [--rate 200] [--workers auto]

Needs `wrk` (apt-get install -y wrk).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.peer_app import TABLE as peer_table  # noqa: E402
from benchmarks.common import (  # noqa: E402
    KAFKA, Figure, RawHttp, cpu_seconds, free_port, open_loop, own_database, own_topics, peak_rss_of_tree, percentile,
    report)
from shared.auth import new_key, register_key  # noqa: E402
from shared.db import SHARED_MIGRATIONS, prepare_database  # noqa: E402
from shared.events.topics import intake_topic, topic_name  # noqa: E402
from shared.settings import usable_cores  # noqa: E402

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
    """Open loop (benchmarks.common.open_loop): each request timed from when it was due."""
    client = RawHttp(base)
    headers = {"Authorization": f"Bearer {key}", "X-Person-Ref": "bench-person-2", "Content-Type": "application/json"}
    body = BODY.encode()
    latencies: list[float] = []
    failures: collections.Counter[str] = collections.Counter()  # by reason
    loop = asyncio.get_running_loop()

    async def one(due: float) -> None:
        try:
            status, _ = await client.request("POST", "/v1/ideas", headers=headers, body=body)
        except (OSError, asyncio.IncompleteReadError) as error:
            failures[type(error).__name__] += 1
            return
        latencies.append((loop.time() - due) * 1000)
        if status != 201:
            failures[f"HTTP {status}"] += 1

    try:
        elapsed = await open_loop(rate, seconds, one)
    finally:
        client.close()
    latencies.sort()
    return {"sent": len(latencies), "achieved_rps": len(latencies) / elapsed, "failures": sum(failures.values()),
            "reasons": dict(failures),
            "p50": percentile(latencies, 50), "p99": percentile(latencies, 99), "max": latencies[-1]}


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


def loaded(pid: int, load, *args, **kwargs) -> dict:
    """`load`'s result, with the CPU milliseconds per request the process tree `pid` spent under it."""
    before = cpu_seconds(pid)
    result = load(*args, **kwargs)
    result["cpu_ms"] = (cpu_seconds(pid) - before) * 1000 / max(1, result["requests"])
    return result


@contextlib.asynccontextmanager
async def process(command: list[str], env: dict[str, str], base: str) -> AsyncIterator[subprocess.Popen]:
    """Starts a server and waits for /healthz (or /readyz); SIGTERM at the end, SIGKILL if it lingers."""
    server = subprocess.Popen(command, env=env, cwd=ROOT)
    try:
        async with httpx.AsyncClient(base_url=base) as client:
            for _ in range(600):
                if server.poll() is not None:
                    raise RuntimeError(f"{command} exited with {server.returncode}")
                try:
                    if (await client.get("/readyz" if "services.ideas" in command else "/healthz")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
            else:
                raise RuntimeError(f"{command} did not become ready")
        yield server
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rate", type=float, default=200)
    parser.add_argument("--rate-seconds", type=float, default=15)
    parser.add_argument("--workers", default=os.environ.get("HTTP_WORKERS", "auto"),
                        help="HTTP worker processes of the service and of the peer (auto: one per core)")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is needed: apt-get install -y wrk")
    workers = usable_cores() if args.workers == "auto" else int(args.workers)

    tag = uuid.uuid4().hex[:8]
    department = f"bench{tag}"
    topics = (topic_name(department, "ideas"), intake_topic(department, "ideas"), f"bench.peer.{tag}")
    async with contextlib.AsyncExitStack() as stack:
        dsn = await own_database(stack, f"bench_ideas_{tag}")
        peer_dsn = await own_database(stack, f"bench_peer_{tag}")
        await own_topics(stack, *topics)
        await prepare_database(dsn, {"shared": SHARED_MIGRATIONS, "ideas": ROOT / "services" / "ideas" / "migrations"})
        key = new_key()
        conn = await asyncpg.connect(dsn)
        await register_key(conn, key, department=department, role="contributor", label="benchmark",
                           acts_for_people=True)
        await conn.close()

        conn = await asyncpg.connect(peer_dsn)
        await conn.execute(peer_table)  # before its workers start, each of which would make it
        await conn.close()

        port, peer_port = free_port(), free_port()
        base, peer = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{peer_port}"
        env = {**os.environ, "INNOVATION_DEPARTMENT": department, "IDEAS_DATABASE_URL": dsn,
               "KAFKA_BOOTSTRAP_SERVERS": KAFKA, "HTTP_PORT": str(port), "LOG_LEVEL": "WARNING",
               "HTTP_WORKERS": str(workers), "PYTHONPATH": str(ROOT)}
        server = await stack.enter_async_context(process([sys.executable, "-m", "services.ideas"], env, base))
        peer_env = {**os.environ, "PEER_DATABASE_URL": peer_dsn, "KAFKA_BOOTSTRAP_SERVERS": KAFKA,
                    "PEER_TOPIC": topics[-1], "PYTHONPATH": str(ROOT)}
        peer_server = await stack.enter_async_context(process(
            [sys.executable, "-m", "uvicorn", "benchmarks.peer_app:app", "--port", str(peer_port),
             "--workers", str(workers), "--no-access-log", "--log-level", "warning"], peer_env, peer))
        print(f"ideas service pid {server.pid} at {base}, peer pid {peer_server.pid} at {peer}; {workers} workers "
              f"each; {os.cpu_count()} cores; department {department}", flush=True)

        for url in (f"{base}/v1/ideas", f"{peer}/v1/ideas"):  # warm-up
            run_wrk(url, method="POST", body=BODY, key=key, connections=8, seconds=2)
        await wait_drained(dsn)

        before = await max_outbox_id(dsn)
        submit = loaded(server.pid, run_wrk, f"{base}/v1/ideas", method="POST", body=BODY, key=key,
                        connections=args.connections, seconds=args.seconds)
        saturated_upto = await max_outbox_id(dsn)
        drain = await wait_drained(dsn)
        trivial = loaded(server.pid, run_wrk, f"{base}/healthz", method="GET", body=None, key=key,
                         connections=args.connections, seconds=args.seconds)
        hand_written = loaded(peer_server.pid, run_wrk, f"{peer}/v1/ideas", method="POST", body=BODY, key=key,
                              connections=args.connections, seconds=args.seconds)
        saturated_ack = await commit_to_ack(dsn, before, saturated_upto)

        before = await max_outbox_id(dsn)
        steady = await fixed_rate(base, key, args.rate, args.rate_seconds)
        await wait_drained(dsn)
        steady_ack = await commit_to_ack(dsn, before, await max_outbox_id(dsn))
        peer_steady = await fixed_rate(peer, key, args.rate, args.rate_seconds)
        rss, peer_rss = peak_rss_of_tree(server.pid), peak_rss_of_tree(peer_server.pid)

    print(f"\nsaturation, {args.connections} connections, {args.seconds}s each (wrk, closed loop):")
    for name, r in (("POST /v1/ideas", submit), ("GET /healthz", trivial), ("peer POST", hand_written)):
        print(f"  {name:<15} {r['rps']:8.0f} req/s   p50 {r['p50']:7.2f} ms   p99 {r['p99']:7.2f} ms   "
              f"non-2xx {r['non_2xx']}   socket errors {r['socket_errors']}   server CPU {r['cpu_ms']:.2f} ms/request")
    print(f"  outbox drained {drain:.2f}s after the submit load ended; commit->ack over {saturated_ack['events']} "
          f"events: p50 {saturated_ack['p50']:.1f} ms  p99 {saturated_ack['p99']:.1f} ms  max {saturated_ack['max']:.1f} ms")
    print(f"\nfixed rate {args.rate:.0f} submissions/s for {args.rate_seconds:.0f}s (open loop):")
    for name, r in (("POST /v1/ideas", steady), ("peer POST", peer_steady)):
        print(f"  {name:<15} achieved {r['achieved_rps']:.0f}/s   p50 {r['p50']:.2f} ms   p99 {r['p99']:.2f} ms   "
              f"max {r['max']:.2f} ms   failures {r['failures']} {r['reasons'] or ''}")
    print(f"  commit->Kafka ack over {steady_ack['events']} events: p50 {steady_ack['p50']:.1f} ms   "
          f"p99 {steady_ack['p99']:.1f} ms   max {steady_ack['max']:.1f} ms\n")

    healthz = "GET /healthz, same server"
    peer_name = f"hand-written peer (FastAPI + asyncpg + aiokafka acks=all, no outbox), {workers} workers"
    failed = steady["failures"] + submit["non_2xx"]
    report(
        Figure("POST /v1/ideas saturation", submit["rps"], "req/s", target=1000, baseline=healthz,
               baseline_value=trivial["rps"]),
        Figure("POST /v1/ideas as a share of GET /healthz", submit["rps"] / trivial["rps"], "share", target=0.3,
               baseline=healthz, baseline_value=trivial["rps"], baseline_unit="req/s"),
        Figure("POST /v1/ideas vs hand-written peer", submit["rps"], "req/s", baseline=peer_name,
               baseline_value=hand_written["rps"]),
        Figure("POST /v1/ideas server CPU per request (all the service's processes, relay included)",
               submit["cpu_ms"], "ms", higher_is_better=False, baseline=f"{peer_name}, its processes",
               baseline_value=hand_written["cpu_ms"]),
        Figure(f"POST /v1/ideas p99 at {args.rate:.0f}/s", steady["p99"], "ms", target=50, higher_is_better=False,
               baseline=f"the peer at {args.rate:.0f}/s", baseline_value=peer_steady["p99"]),
        Figure(f"POST /v1/ideas failed requests (at {args.rate:.0f}/s and saturated)", failed, "requests", target=1,
               higher_is_better=False, baseline="the peer, same loads",
               baseline_value=peer_steady["failures"] + hand_written["non_2xx"]),
        Figure(f"commit -> Kafka ack p99 at {args.rate:.0f}/s", steady_ack["p99"], "ms", target=100,
               higher_is_better=False, baseline=f"the peer's whole request (insert + acked send) p99 at "
                                                f"{args.rate:.0f}/s", baseline_value=peer_steady["p99"]),
        Figure("ideas service peak resident memory, largest process", rss, "MB", target=300, higher_is_better=False,
               baseline="the peer, largest process", baseline_value=peer_rss),
    )


if __name__ == "__main__":
    asyncio.run(main())
