"""Reading Kafka records whose header names are not UTF-8, instead of failing the whole fetch.

Kafka header names are bytes on the wire; aiokafka decodes them strictly as UTF-8 while it unpacks
a fetch, inside its fetcher, so one hostile record raises `UnicodeDecodeError` out of `getmany`, loses
the records already drained from other partitions in the same call, and comes back at every fetch.
`install()` gives aiokafka's fetcher a record reader that keeps its fast (Cython) path and, for a
batch that path cannot read, reads it again record by record with the undecodable names kept as
surrogate-escaped text (`bytes.decode("utf-8", "surrogateescape")`, reversible). The consumer then
dead-letters such a record with its original bytes (`unreadable_headers`, `raw_name`).

Written against aiokafka 0.14 (pinned): the fetcher's module-level `MemoryRecords` name, and the
pure-Python `_MemoryRecordsPy` and `_DefaultRecordBatchPy` it is built from.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from operator import itemgetter
from typing import Any

from aiokafka.consumer import fetcher
from aiokafka.errors import CorruptRecordException
from aiokafka.record import default_records, memory_records
from aiokafka.record.util import decode_varint
from prometheus_client import Counter

UNREADABLE_BATCHES = Counter("kafka_unreadable_batches_total",
                             "Fetched record batches re-read because a header name is not UTF-8")

_NAME = itemgetter(0)
_MAGIC_OFFSET = memory_records._MemoryRecordsPy.MAGIC_OFFSET  # noqa: SLF001


def raw_name(name: str) -> bytes:
    """The bytes a header name had on the wire (names read leniently hold surrogate escapes)."""
    return name.encode("utf-8", "surrogateescape")


class _Reads:
    """Whether this process has read any batch leniently. Only `_LenientBatch` makes header names that were
    not UTF-8 on the wire (surrogate escapes); aiokafka's own readers refuse them. Until it has run once, no
    record in the process can have one, and `may_be_unreadable` spares the consumer a look at each record."""

    lenient = False


def may_be_unreadable(headers: Sequence[tuple[str, Any]] | None) -> list[tuple[str, Any]]:
    """`unreadable_headers`, or [] at once while no batch of this process was read leniently."""
    return unreadable_headers(headers) if _Reads.lenient else []


def unreadable_headers(headers: Sequence[tuple[str, Any]] | None) -> list[tuple[str, Any]]:
    """The headers whose names were not UTF-8 on the wire."""
    if not headers:
        return []
    try:
        if all(map(str.isascii, map(_NAME, headers))):  # the usual case, without a Python step per header
            return []
    except TypeError:  # a name that is not a str: looked at one by one below
        pass
    hostile = []
    for name, value in headers or ():
        if not name.isascii():
            try:
                name.encode("utf-8")
            except UnicodeEncodeError:
                hostile.append((name, value))
    return hostile


class _LenientBatch(default_records._DefaultRecordBatchPy):  # noqa: SLF001
    """aiokafka's pure-Python batch reader, reading header names leniently."""

    def _read_msg(self, decode_varint=decode_varint):
        buffer, pos = self._buffer, self._pos
        length, pos = decode_varint(buffer, pos)
        start = pos
        _, pos = decode_varint(buffer, pos)  # record attributes: unused
        timestamp_delta, pos = decode_varint(buffer, pos)
        timestamp = self.max_timestamp if self.timestamp_type == self.LOG_APPEND_TIME \
            else self.first_timestamp + timestamp_delta
        offset_delta, pos = decode_varint(buffer, pos)
        key, pos = _nullable_bytes(buffer, pos)
        value, pos = _nullable_bytes(buffer, pos)
        count, pos = decode_varint(buffer, pos)
        if count < 0:
            raise CorruptRecordException(f"invalid number of record headers {count}")
        headers = []
        for _ in range(count):
            name, pos = _nullable_bytes(buffer, pos)
            if name is None:
                raise CorruptRecordException("a header name is null")
            header_value, pos = _nullable_bytes(buffer, pos)
            headers.append((name.decode("utf-8", "surrogateescape"), header_value))
        if pos - start != length:
            raise CorruptRecordException(f"record length {length} but {pos - start} bytes read")
        self._pos = pos
        return default_records._DefaultRecordPy(  # noqa: SLF001
            self.base_offset + offset_delta, timestamp, self.timestamp_type, key, value, headers)


def _nullable_bytes(buffer: Any, pos: int) -> tuple[bytes | None, int]:
    size, pos = decode_varint(buffer, pos)
    if size < 0:
        return None, pos
    return bytes(buffer[pos:pos + size]), pos + size


class _Batch:
    """One v2 record batch: read by the fast reader, and again leniently if a header name is not UTF-8."""

    def __init__(self, buffer: memoryview, fast: Any) -> None:
        self._buffer, self._fast = buffer, fast

    def __getattr__(self, name: str) -> Any:  # base_offset, next_offset, validate_crc, is_control_batch, ...
        return getattr(self._fast, name)

    def __iter__(self) -> Iterator[Any]:
        """The batch's records, read when iteration starts (a list's own iterator: no Python call per record)."""
        try:
            records = list(self._fast)
        except UnicodeDecodeError:
            UNREADABLE_BATCHES.inc()
            _Reads.lenient = True  # before any of its records reaches a consumer
            records = list(_LenientBatch(self._buffer))
        return iter(records)


class LenientMemoryRecords(memory_records._MemoryRecordsPy):  # noqa: SLF001
    def next_batch(self, *args: Any) -> Any:
        buffer = self._next_slice
        batch = super().next_batch(*args)
        if batch is not None and buffer[_MAGIC_OFFSET] >= 2:
            return _Batch(buffer, batch)
        return batch


def install() -> None:
    """Makes every aiokafka consumer of this process read fetches with `LenientMemoryRecords`."""
    fetcher.MemoryRecords = LenientMemoryRecords
