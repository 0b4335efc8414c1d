"""aiokafka's fetcher reads record batches through shared.kafka_records: a header name that is not
UTF-8 no longer fails the fetch; the record arrives with the name's bytes recoverable."""

import struct

from aiokafka.consumer import fetcher
from aiokafka.record.default_records import _DefaultRecordBatchBuilderPy, _DefaultRecordBatchPy
from aiokafka.record.util import calc_crc32c

from shared import kafka_records
from shared.events.dead_letter import dead_letter_headers


def _batch(records, *, hostile_name: bytes | None = None) -> bytes:
    """A v2 record batch as the broker hands it out; `hostile_name` overwrites the bytes of the header
    name "XX" (same length), with the CRC made right again, as a non-Python producer could send it."""
    builder = _DefaultRecordBatchBuilderPy(magic=2, compression_type=0, is_transactional=False,
                                           producer_id=-1, producer_epoch=-1, base_sequence=-1, batch_size=1 << 20)
    for offset, (key, value, headers) in enumerate(records):
        builder.append(offset, timestamp=1_700_000_000_000, key=key, value=value, headers=headers)
    data = bytearray(builder.build())
    if hostile_name is not None:
        at = data.index(b"XX")
        data[at:at + 2] = hostile_name
        crc = calc_crc32c(bytes(data[_DefaultRecordBatchPy.ATTRIBUTES_OFFSET:]))
        struct.pack_into(">I", data, _DefaultRecordBatchPy.CRC_OFFSET, crc)
    return bytes(data)


def _read(data: bytes) -> list:
    records = kafka_records.LenientMemoryRecords(data)
    out = []
    while records.has_next():
        batch = records.next_batch()
        assert batch.validate_crc()
        out.extend(batch)
    return out


def test_install_replaces_the_fetchers_reader():
    kafka_records.install()
    assert fetcher.MemoryRecords is kafka_records.LenientMemoryRecords


def test_a_batch_of_readable_records_reads_as_before():
    records = _read(_batch([(b"k1", b"v1", [("ce_id", b"1")]), (None, None, [])]))
    assert [(r.offset, r.key, r.value, list(r.headers)) for r in records] == [
        (0, b"k1", b"v1", [("ce_id", b"1")]), (1, None, None, [])]
    assert kafka_records.unreadable_headers(records[0].headers) == []


def test_a_header_name_that_is_not_utf8_is_read_and_its_bytes_kept():
    data = _batch([(b"k0", b"before", [("a", b"x")]), (b"k1", b"hostile", [("XX", b"x"), ("ce_id", b"2")]),
                   (b"k2", b"after", [])], hostile_name=b"\xff\xfe")
    reread = kafka_records.UNREADABLE_BATCHES._value.get()  # noqa: SLF001 - the counter's current value
    before, hostile, after = _read(data)
    assert kafka_records.UNREADABLE_BATCHES._value.get() == reread + 1  # the fast reader refused it
    assert (before.value, after.value) == (b"before", b"after")
    assert [(n, v) for n, v in hostile.headers if n == "ce_id"] == [("ce_id", b"2")]
    [(name, value)] = kafka_records.unreadable_headers(hostile.headers)
    assert kafka_records.raw_name(name) == b"\xff\xfe" and value == b"x"


def test_the_dead_letter_carries_unreadable_headers_in_base64():
    import base64
    import json

    name = b"\xff\xfe".decode("utf-8", "surrogateescape")
    headers = dead_letter_headers(topic="t", partition=0, offset=5, error_class="UnreadableHeader", reason="r",
                                  original_headers=[(name, b"x"), ("ce_id", b"2")])
    as_dict = dict(headers)
    assert name not in as_dict and as_dict["ce_id"] == b"2"
    assert json.loads(as_dict["dlq_unreadable_headers"]) == [[base64.b64encode(b"\xff\xfe").decode(), "eA=="]]
    for header_name, _ in headers:
        header_name.encode("utf-8")  # every name can be sent
