"""Producing records with kcat (librdkafka), a client that is not ours: it writes what a hostile or
merely different producer writes, bytes our own client would refuse to make (header names that are
not UTF-8, null keys and values)."""

import shutil
import subprocess
import tempfile
from collections.abc import Sequence

Header = tuple[str | bytes, bytes]


def _kcat() -> str:
    path = shutil.which("kcat")
    assert path, "kcat is required: apt-get install -y kcat (deploy/install.sh installs it)"
    return path


def produce(bootstrap: str, topic: str, *, partition: int, value: bytes | None, key: bytes | None = None,
            headers: Sequence[Header] = ()) -> None:
    """One record, acknowledged by the broker when this returns. `value=None` is a null value (a
    tombstone); `key=None` a null key."""
    command: list[str | bytes] = [_kcat(), "-P", "-b", bootstrap, "-t", topic, "-p", str(partition), "-X", "acks=all"]
    for name, header_value in headers:
        command += ["-H", (name.encode() if isinstance(name, str) else name) + b"=" + header_value]
    if value is None:
        # kcat makes a null value only from an empty value after a key delimiter, with -Z.
        assert key is not None and b":" not in key and b"\n" not in key, "a null value needs a key without : or newline"
        run(command + ["-Z", "-K:"], stdin=key + b":\n")
        return
    if key is not None:
        command += [b"-k", key]
    with tempfile.NamedTemporaryFile(prefix="kcat-value-") as file:
        file.write(value)
        file.flush()
        run(command + [file.name])  # a file argument is one record, whatever bytes it holds


def run(command: list[str | bytes], stdin: bytes = b"") -> None:
    result = subprocess.run(command, input=stdin, capture_output=True, timeout=60)
    assert result.returncode == 0 and b"failed" not in result.stderr.lower(), \
        f"kcat failed ({result.returncode}): {result.stderr.decode(errors='replace')}"
