"""What every benchmark shares: where the broker and database are, and how a figure is reported.

`make bench` (deploy/bench.sh) starts a Kafka broker and a PostgreSQL server of their own and
passes their addresses in KAFKA_BOOTSTRAP_SERVERS and POSTGRES_URL, so a running `make up` neither
consumes the benchmarks' events nor slows their database. Each benchmark reports its figures with
`report`: a line on stdout for people and, when BENCH_RESULTS names a file, a JSON line there
from which `benchmarks/table.py` prints the closing table.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import socket
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from pathlib import Path

POSTGRES = os.environ.get("POSTGRES_URL", "postgresql://innovation:innovation@127.0.0.1:5432/postgres")
KAFKA = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")


@dataclass(frozen=True)
class Figure:
    """One measured figure, its target, and the baseline measured in the same run."""

    name: str  # what was measured, e.g. "POST /v1/ideas saturation"
    value: float
    unit: str  # "req/s", "ms", "events/s", "s", "MB", "share"
    target: float | None = None
    higher_is_better: bool = True  # False: the target is a ceiling (latency, time, memory)
    baseline: str | None = None  # what the baseline is, e.g. "GET /healthz, same server"
    baseline_value: float | None = None
    baseline_unit: str | None = None  # when it differs from the figure's (e.g. a share's baseline in req/s)

    @property
    def met(self) -> bool | None:
        if self.target is None:
            return None
        return self.value >= self.target if self.higher_is_better else self.value < self.target

    @property
    def ratio(self) -> float | None:
        if not self.baseline_value or self.baseline_unit not in (None, self.unit):
            return None
        return self.value / self.baseline_value


def report(*figures: Figure) -> None:
    results = os.environ.get("BENCH_RESULTS")
    for figure in figures:
        print(f"  >> {line(figure)}", flush=True)
        if results:
            with open(results, "a") as out:
                out.write(json.dumps(asdict(figure)) + "\n")


def amount(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "share":
        return f"{value:.2f}"
    if float(value).is_integer():
        return f"{value:,.0f} {unit}".rstrip()
    if abs(value) >= 1000:
        return f"{value:,.0f} {unit}"
    if abs(value) >= 10:
        return f"{value:.1f} {unit}"
    return f"{value:.2f} {unit}"


def line(figure: Figure) -> str:
    target = "" if figure.target is None else \
        f" (target {'>=' if figure.higher_is_better else '<'} {amount(figure.target, figure.unit)}: " \
        f"{'met' if figure.met else 'NOT met'})"
    baseline = "" if figure.baseline is None else \
        f"; baseline {figure.baseline}: {amount(figure.baseline_value, figure.baseline_unit or figure.unit)}"
    return f"{figure.name}: {amount(figure.value, figure.unit)}{target}{baseline}"


def read_figures(path: Path) -> list[Figure]:
    return [Figure(**json.loads(text)) for text in path.read_text().splitlines() if text.strip()]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(sorted_values: list[float], p: float) -> float:
    """The nearest-rank percentile of values already sorted."""
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(p / 100 * len(sorted_values) + 0.5) - 1))
    return sorted_values[index]


def peak_rss_mb(pid: int) -> float:
    """The peak resident memory (VmHWM) of a running process, in MB."""
    for text in Path(f"/proc/{pid}/status").read_text().splitlines():
        if text.startswith("VmHWM:"):
            return int(text.split()[1]) / 1024
    raise RuntimeError(f"no VmHWM for pid {pid}")


def process_tree(pid: int) -> list[int]:
    """The process and its descendants (uvicorn's workers are children of the supervisor)."""
    found, queue = [], [pid]
    while queue:
        current = queue.pop()
        found.append(current)
        children = Path(f"/proc/{current}/task/{current}/children")
        if children.exists():
            queue += [int(child) for child in children.read_text().split()]
    return found


def peak_rss_of_tree(pid: int) -> float:
    """The largest peak resident memory among a process and its descendants, in MB: each uvicorn
    worker is a service process of its own, and each must stay under the memory target."""
    peaks = []
    for member in process_tree(pid):
        try:
            peaks.append(peak_rss_mb(member))
        except (FileNotFoundError, ProcessLookupError):
            pass
    return max(peaks)


class RawHttp:
    """A bare HTTP/1.1 keep-alive client for load: httpx costs too much CPU per request on a 2-core
    machine shared with the server it measures. Enough HTTP for our services' answers (Content-Length)."""

    def __init__(self, base: str, *, max_connections: int = 256) -> None:
        self.host, port = base.removeprefix("http://").split(":")
        self.port = int(port)
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
        self.connections = asyncio.Semaphore(max_connections)

    async def request(self, method: str, path: str, *, headers: dict[str, str] | None = None,
                      body: bytes = b"") -> tuple[int, bytes]:
        """(status, body); raises OSError or asyncio.IncompleteReadError when the connection fails.
        At most `max_connections` are open; a request waiting for one waits here."""
        head = f"{method} {path} HTTP/1.1\r\nHost: {self.host}\r\n" + "".join(
            f"{name}: {value}\r\n" for name, value in (headers or {}).items())
        if body or method in ("POST", "PUT"):
            head += f"Content-Length: {len(body)}\r\n"
        message = head.encode() + b"\r\n" + body
        async with self.connections:
            if self.idle:
                try:
                    return await self._exchange(*self.idle.pop(), message)
                except (ConnectionResetError, BrokenPipeError, asyncio.IncompleteReadError) as error:
                    if isinstance(error, asyncio.IncompleteReadError) and error.partial:
                        raise
                    # A kept-alive connection the server closed while idle (uvicorn: after 5 s): the
                    # request never reached it; as any HTTP client does, send it again on a new one.
            return await self._exchange(*await asyncio.open_connection(self.host, self.port), message)

    async def _exchange(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                        message: bytes) -> tuple[int, bytes]:
        try:
            writer.write(message)
            answer = await reader.readuntil(b"\r\n\r\n")
            length = re.search(rb"(?i)\r\ncontent-length: *(\d+)", answer)
            content = await reader.readexactly(int(length[1])) if length else b""
        except BaseException:
            writer.close()
            raise
        self.idle.append((reader, writer))
        return int(answer[9:12]), content

    def close(self) -> None:
        for _, writer in self.idle:
            writer.close()
        self.idle.clear()


async def open_loop(rate: float, seconds: float, one: Callable[[float], Awaitable[None]]) -> float:
    """Calls `one(due)` for request i at start + i/rate, whatever the earlier ones are doing (an open
    loop: a stall is not hidden by requests that were never sent; latency counts from `due`).
    Returns the seconds from the first due time to the last answer."""
    loop = asyncio.get_running_loop()
    start = loop.time() + 0.2

    async def at(due: float) -> None:
        await asyncio.sleep(max(0.0, due - loop.time()))
        await one(due)

    await asyncio.gather(*(at(start + i / rate) for i in range(int(rate * seconds))))
    return loop.time() - start


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and its descendants so far (a busy machine slows a request's
    wall-clock time far more than its CPU time)."""
    total = 0
    for member in process_tree(pid):
        try:
            fields = Path(f"/proc/{member}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / os.sysconf("SC_CLK_TCK")


async def as_admin(statement: str) -> None:
    """Runs `statement` on the server's administrative database (POSTGRES_URL)."""
    import asyncpg

    admin = await asyncpg.connect(POSTGRES)
    try:
        await admin.execute(statement)
    finally:
        await admin.close()


def dsn_of(database: str) -> str:
    return POSTGRES.rsplit("/", 1)[0] + "/" + database


async def new_database(name: str) -> str:
    await as_admin(f'CREATE DATABASE "{name}"')
    return dsn_of(name)


async def drop_database(name: str) -> None:
    await as_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def own_database(stack: contextlib.AsyncExitStack, name: str) -> str:
    """A new database, dropped when `stack` closes (whatever happened)."""
    dsn = await new_database(name)
    stack.push_async_callback(drop_database, name)
    return dsn


async def topics_admin(action: str, *topics: str) -> None:
    """Creates (3 partitions each) or deletes topics."""
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    kafka_admin = AIOKafkaAdminClient(bootstrap_servers=KAFKA)
    await kafka_admin.start()
    try:
        if action == "create":
            await kafka_admin.create_topics([NewTopic(topic, 3, 1) for topic in topics])
        else:
            await kafka_admin.delete_topics(list(topics))
    finally:
        await kafka_admin.close()


async def own_topics(stack: contextlib.AsyncExitStack, *topics: str) -> None:
    """New topics, deleted when `stack` closes (whatever happened)."""
    await topics_admin("create", *topics)
    stack.push_async_callback(topics_admin, "delete", *topics)
