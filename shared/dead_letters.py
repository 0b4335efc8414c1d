"""Dead letters an operator can act on: list, show and replay `innovation.dlq.<service>`.

    python -m shared.dead_letters list   [--service S] [--original-topic T] [--error-class C]
                                         [--source SRC] [--since TIME] [--until TIME]
    python -m shared.dead_letters show   SERVICE:PARTITION:OFFSET
    python -m shared.dead_letters replay (--service S [filters] | SERVICE:PARTITION:OFFSET ...) [--dry-run]

A dead letter is the original record, key and value byte for byte, with its original headers and
`dlq_*` headers saying where it came from and why (shared/events/dead_letter.py). `replay` sends
the key, value and original headers (without `dlq_*`) back to the original topic and partition, so
that a consumer fixed since reads it again. Kafka records cannot be changed: a replayed dead letter
stays in the dead-letter topic, and one that fails again is dead-lettered again, as a new letter
with a later time.

The broker and its security come from the services' settings (KAFKA_BOOTSTRAP_SERVERS,
KAFKA_SECURITY_PROTOCOL, KAFKA_SASL_*). Exit status: 0 done, 1 the broker failed or refused
(or a dead letter could not be found or replayed), 2 bad arguments or settings.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import binascii
import json
import logging
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import ClassVar, NoReturn, Protocol, TextIO

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaConnectionError, KafkaError
from pydantic import ValidationError

from shared import kafka_records
from shared.events.topics import dlq_topic
from shared.outbox import new_producer
from shared.settings import ServiceSettings

kafka_records.install()  # a record with a non-UTF-8 header name, even on a dead-letter topic, is listed

DLQ_PREFIX = "innovation.dlq."
_DLQ_HEADER = "dlq_"
_LIST_REASON_CHARS = 160


class DeadLetterSettings(ServiceSettings):
    """The broker settings every service reads; this command uses no database."""

    service: ClassVar[str] = "dead-letters"

    def settings_with_published_secrets(self) -> list[str]:
        # The default database URL holds the local server's published password; this command never
        # connects to it, so only the Kafka password is checked.
        return [name for name in super().settings_with_published_secrets() if "DATABASE_URL" not in name]


class StoredRecord(Protocol):
    """The part of aiokafka's ConsumerRecord a dead letter is read from."""

    topic: str
    partition: int
    offset: int
    timestamp: int
    key: bytes | None
    value: bytes | None
    headers: Sequence[tuple[str, bytes | None]]


# -- what a dead letter says ---------------------------------------------------------------------


@dataclass(frozen=True)
class DeadLetter:
    service: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes | None], ...]  # every header, as stored in the dead-letter topic
    time: datetime | None  # when it was dead-lettered (dlq_time, else the record's timestamp)

    @classmethod
    def from_record(cls, record: StoredRecord) -> DeadLetter:
        stored = tuple((name, None if value is None else bytes(value)) for name, value in record.headers or ())
        time = _parse_time(_text(dict(stored).get("dlq_time")))
        if time is None and record.timestamp and record.timestamp > 0:
            time = datetime.fromtimestamp(record.timestamp / 1000, timezone.utc)
        return cls(service=record.topic.removeprefix(DLQ_PREFIX), partition=record.partition,
                   offset=record.offset, key=record.key, value=record.value, headers=stored, time=time)

    @property
    def id(self) -> str:
        """What `show` and `replay` take: SERVICE:PARTITION:OFFSET in the dead-letter topic."""
        return f"{self.service}:{self.partition}:{self.offset}"

    def _header(self, name: str) -> str | None:
        return _text(dict(self.headers).get(name))

    @property
    def original_topic(self) -> str | None:
        return self._header("dlq_original_topic")

    @property
    def original_partition(self) -> int | None:
        return _int(self._header("dlq_original_partition"))

    @property
    def original_offset(self) -> int | None:
        return _int(self._header("dlq_original_offset"))

    @property
    def error_class(self) -> str:
        return self._header("dlq_error_class") or "?"

    @property
    def reason(self) -> str:
        return self._header("dlq_reason") or ""

    @property
    def replay_headers(self) -> list[tuple[str, bytes | None]]:
        """The original headers that can be sent again: every header but ours."""
        return [(name, value) for name, value in self.headers if not name.startswith(_DLQ_HEADER)]

    @property
    def unreadable_headers(self) -> list[tuple[bytes, bytes | None]]:
        """Original headers the client could not read (a name that is not UTF-8), kept by the
        consumer in `dlq_unreadable_headers`; aiokafka cannot send such a name again."""
        raw = dict(self.headers).get("dlq_unreadable_headers")
        if raw is None:
            return []
        try:
            return [(base64.b64decode(name), None if value is None else base64.b64decode(value))
                    for name, value in json.loads(raw)]
        except (ValueError, TypeError, binascii.Error):
            return [(b"(dlq_unreadable_headers could not be read)", raw)]

    @property
    def cloudevent(self) -> dict[str, str]:
        """type, id and source of the event, from its ce_* headers (binary mode) or its JSON
        body (structured mode); whatever of them can be read."""
        found = {attr: text for attr in ("type", "id", "source") if (text := self._header(f"ce_{attr}"))}
        content_type = self._header("content-type") or ""
        if len(found) < 3 and content_type.startswith("application/cloudevents") and self.value:
            try:
                document = json.loads(self.value)
            except ValueError:
                document = None
            if isinstance(document, dict):
                for attr in ("type", "id", "source"):
                    if attr not in found and isinstance(document.get(attr), str):
                        found[attr] = document[attr]
        return found


def _text(raw: bytes | None) -> str | None:
    if raw is None:
        return None
    return raw.decode("utf-8", errors="replace")


def _int(text: str | None) -> int | None:
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None


def _parse_time(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


# -- which dead letters ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Selection:
    """Filters; each given one must hold (several values of one filter: any of them)."""

    original_topics: frozenset[str] = field(default_factory=frozenset)
    error_classes: frozenset[str] = field(default_factory=frozenset)
    sources: frozenset[str] = field(default_factory=frozenset)
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive

    def matches(self, letter: DeadLetter) -> bool:
        if self.original_topics and letter.original_topic not in self.original_topics:
            return False
        if self.error_classes and letter.error_class not in self.error_classes:
            return False
        if self.sources and letter.cloudevent.get("source") not in self.sources:
            return False
        if self.since is not None and (letter.time is None or letter.time < self.since):
            return False
        if self.until is not None and (letter.time is None or letter.time >= self.until):
            return False
        return True


def replay_order(letters: Iterable[DeadLetter]) -> list[DeadLetter]:
    """Original topic, partition and offset order: replayed events keep their relative order."""
    return sorted(letters, key=lambda letter: (letter.original_topic or "", letter.original_partition or 0,
                                               letter.original_offset or 0, letter.id))


# -- how it reads --------------------------------------------------------------------------------


def safe(text: str, *, keep_newlines: bool = False) -> str:
    """The text with control characters escaped: record contents are untrusted, and a terminal
    obeys the escape sequences it is sent."""
    kept = "\n\t" if keep_newlines else ""
    return "".join(c if c.isprintable() or c in kept else ascii(c)[1:-1] for c in text)


def _when(time: datetime | None) -> str:
    if time is None:
        return "(no time)"
    return time.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _origin(letter: DeadLetter) -> str:
    topic = letter.original_topic or "(unknown topic)"
    partition = "?" if letter.original_partition is None else letter.original_partition
    offset = "?" if letter.original_offset is None else letter.original_offset
    return f"{topic}[{partition}]@{offset}"


def list_line(letter: DeadLetter) -> str:
    """One dead letter on one line."""
    reason = " ".join(letter.reason.split())
    if len(reason) > _LIST_REASON_CHARS:
        reason = reason[: _LIST_REASON_CHARS - 3] + "..."
    parts = [letter.id, _when(letter.time), _origin(letter), letter.error_class, json.dumps(reason, ensure_ascii=False)]
    parts += [f"{attr}={value}" for attr, value in letter.cloudevent.items()]
    return safe("  ".join(parts))


def show_text(letter: DeadLetter) -> str:
    """One dead letter in full: where from, why, every header, key and value."""
    lines = [
        f"dead letter   {letter.id} (topic {DLQ_PREFIX}{letter.service}, partition {letter.partition}, "
        f"offset {letter.offset})",
        f"dead-lettered {_when(letter.time)}",
        f"original      {_origin(letter)}",
        f"error class   {letter.error_class}",
        f"reason        {letter.reason}",
        "headers:",
    ]
    lines += [f"  {name}: {_bytes_inline(value)}" for name, value in letter.headers]
    if unreadable := letter.unreadable_headers:
        lines.append("headers the client could not read (not re-sent by replay):")
        lines += [f"  {_bytes_inline(name)}: {_bytes_inline(value)}" for name, value in unreadable]
    lines.append(f"key: {_bytes_inline(letter.key)}")
    if letter.value is None:
        lines.append("value: (null)")
    else:
        text = _as_text(letter.value)
        kind = "text" if text is not None else "binary, hex"
        lines.append(f"value ({len(letter.value)} bytes, {kind}):")
        lines.append(text if text is not None else hexdump(letter.value))
    return "\n".join(safe(line, keep_newlines=True) for line in lines)


def _as_text(raw: bytes) -> str | None:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return text if all(c.isprintable() or c in "\n\r\t" for c in text) else None


def _bytes_inline(raw: bytes | None) -> str:
    if raw is None:
        return "(null)"
    text = _as_text(raw)
    if text is not None and "\n" not in text and "\r" not in text:
        return text
    return "hex " + raw.hex(" ")


def hexdump(raw: bytes, width: int = 16) -> str:
    return "\n".join(f"{start:08x}  {raw[start:start + width].hex(' ')}" for start in range(0, len(raw), width))


def sent_line(letter: DeadLetter, partition: int | None, offset: int | None, *, dry_run: bool) -> str:
    origin = letter.original_topic
    if dry_run:
        target = f"{origin}[{letter.original_partition if letter.original_partition is not None else 'by key'}]"
        head = f"would send {letter.id} -> {target}"
    else:
        head = f"sent {letter.id} -> {origin}[{partition}]@{offset}"
    parts = [head, letter.error_class] + [f"{attr}={value}" for attr, value in letter.cloudevent.items()]
    if dropped := len(letter.unreadable_headers):
        parts.append(f"without {dropped} unreadable header(s): aiokafka cannot send a header name that is not UTF-8")
    return safe("  ".join(parts))


# -- the command line ------------------------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    """argparse, but a mistake is one line on stderr (and exit status 2), not a usage screen."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see --help)\n")


def service_name(text: str) -> str:
    """A service name, or its dead-letter topic's full name."""
    name = text.removeprefix(DLQ_PREFIX)
    try:
        dlq_topic(name)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return name


def letter_id(text: str) -> tuple[str, int, int]:
    """SERVICE:PARTITION:OFFSET, as `list` prints it."""
    try:
        service, partition, offset = text.rsplit(":", 2)
        numbers = int(partition), int(offset)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a dead letter id: SERVICE:PARTITION:OFFSET, as `list` prints it") from None
    if min(numbers) < 0:
        raise argparse.ArgumentTypeError(f"{text!r}: partition and offset cannot be negative")
    return service_name(service), *numbers


def moment(text: str) -> datetime:
    """An ISO 8601 time or date; UTC when it names no zone."""
    parsed = _parse_time(text.strip())
    if parsed is None:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO 8601 time (e.g. 2025-01-31 or 2025-01-31T09:30:00Z)")
    return parsed


def parser() -> argparse.ArgumentParser:
    filters = _Parser(add_help=False)
    group = filters.add_argument_group("filters (repeat one to accept any of its values; all given must hold)")
    group.add_argument("--service", action="append", type=service_name, default=[],
                       help="the consuming service, i.e. its topic innovation.dlq.<service> "
                            "(default: every dead-letter topic)")
    group.add_argument("--original-topic", action="append", default=[], help="the topic the record was read from")
    group.add_argument("--error-class", action="append", default=[], help="e.g. EventTooLarge, SchemaViolation, Rejected")
    group.add_argument("--source", action="append", default=[], help="the event's CloudEvents source")
    group.add_argument("--since", type=moment, help="dead-lettered at or after this ISO time (UTC unless it says)")
    group.add_argument("--until", type=moment, help="dead-lettered before this ISO time")

    top = _Parser(prog="python -m shared.dead_letters",
                  description="List, inspect and replay dead letters (innovation.dlq.<service>). "
                              "The broker comes from KAFKA_BOOTSTRAP_SERVERS and KAFKA_SECURITY_PROTOCOL/KAFKA_SASL_*.")
    commands = top.add_subparsers(dest="command", required=True, metavar="{list,show,replay}")
    commands.add_parser("list", parents=[filters], help="one line per dead letter",
                        description="One line per dead letter: id (SERVICE:PARTITION:OFFSET), time, original "
                                    "topic[partition]@offset, error class, reason, and ce type/id/source when known.")
    show = commands.add_parser("show", help="one dead letter in full", description="One dead letter in full: "
                               "headers, key, and value as text (or hex when it is binary).")
    show.add_argument("id", type=letter_id, help="SERVICE:PARTITION:OFFSET, as `list` prints it")
    replay = commands.add_parser(
        "replay", parents=[filters], help="send dead letters back to their original topic",
        description="Sends each selected dead letter's key, value and original headers (not the dlq_* ones) back "
                    "to its original topic and partition with an idempotent acks=all producer, in original order, "
                    "and prints what it sent. Fix the cause first. Replaying the same dead letter twice is "
                    "harmless: consumers de-duplicate by their inbox (consumer, source, id), so an event already "
                    "applied is skipped. Kafka records cannot be changed: a replayed dead letter stays listed, and "
                    "one that fails again is dead-lettered again as a new letter (select new ones with --since).",
    )
    replay.add_argument("ids", nargs="*", type=letter_id, metavar="ID",
                        help="SERVICE:PARTITION:OFFSET of the dead letters to replay (instead of --service and filters)")
    replay.add_argument("--dry-run", action="store_true", help="print what would be sent; send nothing")
    return top


@dataclass(frozen=True)
class Command:
    name: str
    services: tuple[str, ...] = ()
    selection: Selection = Selection()
    ids: tuple[tuple[str, int, int], ...] = ()
    dry_run: bool = False


def parse(argv: Sequence[str] | None) -> Command:
    """The command, or SystemExit(2) with one line on stderr."""
    top = parser()
    args = top.parse_args(argv)
    ids = tuple(args.ids if args.command == "replay" else [args.id] if args.command == "show" else [])
    if args.command == "show":
        return Command("show", ids=ids)
    selection = Selection(frozenset(args.original_topic), frozenset(args.error_class), frozenset(args.source),
                          args.since, args.until)
    if args.since and args.until and args.since >= args.until:
        top.error("--since must be before --until")
    if args.command == "replay":
        if ids and (args.service or selection != Selection()):
            top.error("replay takes either dead letter ids or --service and filters, not both")
        if not ids and not args.service:
            top.error("replay needs --service (or dead letter ids): say which dead-letter topic to replay from")
    return Command(args.command, tuple(dict.fromkeys(args.service)), selection, ids, getattr(args, "dry_run", False))


# -- talking to the broker -------------------------------------------------------------------------


class NotFound(Exception):
    pass


def _consumer(settings: ServiceSettings) -> AIOKafkaConsumer:
    return AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap_servers, group_id=None,
                            enable_auto_commit=False, auto_offset_reset="earliest",
                            **settings.kafka_client_options())


async def _partitions(consumer: AIOKafkaConsumer, services: Sequence[str]) -> dict[str, list[int]]:
    """The dead-letter topics (of `services`, or all) and their partitions, as the broker has them now."""
    # `consumer.topics()` names the topics but leaves the client's metadata without them; this is the call
    # behind it, whose answer also has their partitions.
    cluster = await consumer._client.fetch_all_metadata()  # noqa: SLF001 - aiokafka has no public form
    existing = cluster.topics()
    if services:
        wanted = [dlq_topic(service) for service in services]
        if missing := [topic for topic in wanted if topic not in existing]:
            raise NotFound(f"no such dead-letter topic on the broker: {', '.join(missing)}")
    else:
        wanted = sorted(topic for topic in existing if topic.startswith(DLQ_PREFIX))
    return {topic: sorted(cluster.partitions_for_topic(topic) or ()) for topic in wanted}


async def read_dead_letters(consumer: AIOKafkaConsumer, topics: dict[str, list[int]]) -> list[DeadLetter]:
    """Every record of `topics` (name: partitions) up to their end offsets at the time of the call."""
    partitions = [TopicPartition(topic, p) for topic, numbers in topics.items() for p in numbers]
    if not partitions:
        return []
    consumer.assign(partitions)
    await consumer.seek_to_beginning(*partitions)
    ends = await consumer.end_offsets(partitions)
    letters = []
    while [tp for tp in partitions if await consumer.position(tp) < ends[tp]]:
        for tp, records in (await consumer.getmany(timeout_ms=500)).items():
            letters.extend(DeadLetter.from_record(r) for r in records if r.offset < ends[tp])
    return letters


async def fetch_one(consumer: AIOKafkaConsumer, service: str, partition: int, offset: int) -> DeadLetter:
    [(topic, partitions)] = (await _partitions(consumer, [service])).items()
    tp = TopicPartition(topic, partition)
    if partition not in partitions:
        raise NotFound(f"no dead letter {service}:{partition}:{offset}: {topic} has no partition {partition}")
    consumer.assign([tp])
    first, end = (await consumer.beginning_offsets([tp]))[tp], (await consumer.end_offsets([tp]))[tp]
    if not first <= offset < end:
        held = f"holds offsets {first} to {end - 1}" if end > first else "is empty"
        raise NotFound(f"no dead letter {service}:{partition}:{offset}: {topic}[{partition}] {held}")
    consumer.seek(tp, offset)
    while await consumer.position(tp) <= offset:
        for record in (await consumer.getmany(tp, timeout_ms=500)).get(tp, []):
            if record.offset == offset:
                return DeadLetter.from_record(record)
    raise NotFound(f"no dead letter {service}:{partition}:{offset}: no record there (a transaction marker, or compacted)")


async def run(command: Command, settings: ServiceSettings, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Carries out a parsed command: what it found on `out` (stdout), counts and notes on `err` (stderr)."""
    out, err = out or sys.stdout, err or sys.stderr
    consumer = _consumer(settings)
    try:
        await consumer.start()
        if command.ids:
            letters = [await fetch_one(consumer, *letter) for letter in command.ids]
        else:
            topics = await _partitions(consumer, command.services)
            stored = await read_dead_letters(consumer, topics)
            letters = [letter for letter in stored if command.selection.matches(letter)]
    finally:
        await consumer.stop()

    if command.name == "show":
        print(show_text(letters[0]), file=out)
        return 0
    if command.name == "list":
        oldest = datetime.min.replace(tzinfo=timezone.utc)
        for letter in sorted(letters, key=lambda letter: (letter.time or oldest, letter.id)):
            print(list_line(letter), file=out)
        scope = ", ".join(topics) if topics else "no dead-letter topic"
        print(f"{len(letters)} of {len(stored)} dead letters match ({scope})", file=err)
        return 0
    return await _replay(replay_order(letters), settings, command.dry_run, out, err)


async def _replay(letters: list[DeadLetter], settings: ServiceSettings, dry_run: bool, out: TextIO, err: TextIO) -> int:
    unknown = [letter for letter in letters if not letter.original_topic]
    for letter in unknown:
        print(safe(f"skipped {letter.id}: it names no original topic (no dlq_original_topic header)"), file=err)
    sendable = [letter for letter in letters if letter.original_topic]
    if dry_run:
        for letter in sendable:
            print(sent_line(letter, None, None, dry_run=True), file=out)
        print(f"dry run: {len(sendable)} dead letters would be replayed; nothing was sent", file=err)
        return 1 if unknown else 0
    producer = new_producer(settings.kafka_bootstrap_servers, **settings.kafka_client_options())
    try:
        await producer.start()
        for letter in sendable:
            sent = await producer.send_and_wait(letter.original_topic, value=letter.value, key=letter.key,
                                                headers=letter.replay_headers, partition=letter.original_partition)
            print(sent_line(letter, sent.partition, sent.offset, dry_run=False), file=out, flush=True)
    finally:
        await producer.stop()
    print(f"replayed {len(sendable)} dead letters", file=err)
    return 1 if unknown else 0


def main(argv: Sequence[str] | None = None) -> int:
    command = parse(argv)
    prog = "python -m shared.dead_letters"
    try:
        settings = DeadLetterSettings()
    except ValidationError as error:
        problems = "; ".join(e["msg"] for e in error.errors())
        print(f"{prog}: the Kafka settings are not valid: {problems}", file=sys.stderr)
        return 2
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)  # its errors reach the operator as one line, below
    try:
        return asyncio.run(run(command, settings))
    except NotFound as error:
        print(f"{prog}: {error}", file=sys.stderr)
    except KafkaConnectionError as error:
        print(f"{prog}: cannot reach the Kafka broker at {settings.kafka_bootstrap_servers}: {error}", file=sys.stderr)
    except (KafkaError, OSError) as error:
        print(f"{prog}: Kafka failed at {settings.kafka_bootstrap_servers}: {type(error).__name__}: {error}",
              file=sys.stderr)
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
    except Exception as error:  # an operator's command: one line, not a traceback
        print(f"{prog}: failed: {type(error).__name__}: {error}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
