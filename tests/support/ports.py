"""Ports for servers a test starts in another process.

A port the kernel hands out for `bind(0)` lies in its ephemeral range, the same range it draws
local ports from for outgoing connections; in the time between choosing a port and the server
binding it, any client connection (Kafka's, PostgreSQL's) may take it, and the server then fails
to start. These ports come from below that range, and each is checked to be bindable now."""
import random
import socket
from pathlib import Path

_TAKEN_BY_TESTS = {15432, 19092, 19093}  # the test session's own PostgreSQL and Kafka (tests/support/infra.py)


def _ephemeral_start() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def _bindable(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_block(size: int) -> int:
    """The first of `size` consecutive ports, all free now and none in the ephemeral range."""
    top = min(_ephemeral_start(), 65536) - size
    for _ in range(200):
        base = random.randrange(20000, top)
        ports = range(base, base + size)
        if not _TAKEN_BY_TESTS.intersection(ports) and all(_bindable(p) for p in ports):
            return base
    raise AssertionError(f"no block of {size} free ports below {top + size}")


def free_ports(count: int) -> list[int]:
    """`count` distinct free ports outside the ephemeral range."""
    ports: set[int] = set()
    while len(ports) < count:
        ports.add(free_block(1))
    return sorted(ports)


def free_port() -> int:
    return free_block(1)


def listening(port: int) -> bool:
    """Whether something accepts connections on 127.0.0.1:`port`."""
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0
