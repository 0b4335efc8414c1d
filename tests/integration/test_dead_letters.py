"""The dead-letter command against the real broker: dead letters made by the project's real
`EventConsumer` (a size limit too small for some valid events), listed and filtered, shown, and
replayed after the "fix" (the normal limit) until every event is applied exactly once."""

import base64
import io
import json
import os
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import asyncpg
import pytest
from aiokafka.partitioner import DefaultPartitioner

from shared.consumer import EventConsumer
from shared.db import SHARED_MIGRATIONS, migrate
from shared.dead_letters import DeadLetterSettings, parse, run
from shared.events import encode
from shared.events.topics import dlq_topic, topic_name
from shared.outbox import new_producer
from tests.support.db import fetchval
from tests.support.events import submitted
from tests.support.kafka import create_topics, publish, read_to_end, topic_size
from tests.support.ports import free_port

ROOT = Path(__file__).resolve().parents[2]
STRICT_LIMIT = 1500  # bytes: the "bug" that dead-letters valid events
TEXT = "The forms ask for the same address four times. " * 38  # ~1.8 kB: valid, over the strict limit


async def cli(bootstrap: str, *argv: str) -> tuple[int, list[str], str]:
    """The command in this process: exit status, stdout lines, stderr."""
    out, err = io.StringIO(), io.StringIO()
    code = await run(parse(list(argv)), DeadLetterSettings(kafka_bootstrap_servers=bootstrap), out=out, err=err)
    return code, out.getvalue().splitlines(), err.getvalue()


def command(bootstrap: str, *argv: str) -> subprocess.CompletedProcess:
    """The command as an operator runs it."""
    env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": bootstrap}
    return subprocess.run([sys.executable, "-m", "shared.dead_letters", *argv], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


class Consumer:
    """The project's EventConsumer over a database of its own, applying ideas into `applied`; `feed`
    hands it every record of the topics it has not been handed yet, as one batch."""

    def __init__(self, service: str, pool: asyncpg.Pool, producer, bootstrap: str, **options) -> None:
        self.bootstrap = bootstrap
        self.handled: set[tuple[str, int, int]] = set()
        self.events = EventConsumer(service=service, name="dead-letter-test", pool=pool, producer=producer,
                                    apply=self._apply, **options)

    @staticmethod
    async def _apply(conn: asyncpg.Connection, event) -> None:
        await conn.execute("INSERT INTO applied (source, event_id) VALUES ($1, $2)", event.source, event.id)

    async def feed(self, *topics: str) -> int:
        fresh = [r for topic in topics for r in await read_to_end(self.bootstrap, topic)
                 if (r.topic, r.partition, r.offset) not in self.handled]
        if fresh:
            await self.events.handle(fresh)
        self.handled.update((r.topic, r.partition, r.offset) for r in fresh)
        return len(fresh)


async def _off_key_partitions(producer, records) -> None:
    """Sends each record to the partition after the one its key hashes to (a producer may choose its
    partitions): replay must send it back to the partition it was read from, not where its key goes."""
    for topic, key, value, headers in records:
        partitions = sorted(await producer.partitions_for(topic))
        by_key = DefaultPartitioner()(key, partitions, partitions)
        await producer.send_and_wait(topic, value=value, key=key, headers=headers,
                                     partition=(by_key + 1) % len(partitions))


@pytest.fixture
async def database(new_database):
    dsn = await new_database("dead_letters")
    conn = await asyncpg.connect(dsn)
    try:
        await migrate(conn, {"shared": SHARED_MIGRATIONS})
        await conn.execute("CREATE TABLE applied (source text NOT NULL, event_id uuid NOT NULL)")  # no key: a repeat shows
    finally:
        await conn.close()
    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=2)
    yield dsn, pool
    await pool.close()


@pytest.fixture
async def producer(kafka_bootstrap):
    started = new_producer(kafka_bootstrap)
    await started.start()
    yield started
    await started.stop()


async def test_dead_letters_are_listed_shown_and_replayed_after_the_fix_until_each_event_is_applied_once(
    kafka_bootstrap, department, database, producer,
):
    dsn, pool = database
    service = f"dlq-{department}"
    ours, theirs = department, f"{department}b"
    ideas, their_ideas = topic_name(ours, "ideas"), topic_name(theirs, "ideas")
    await create_topics(kafka_bootstrap, ideas, their_ideas, dlq_topic(service))
    strict = Consumer(service, pool, producer, kafka_bootstrap, max_event_bytes=STRICT_LIMIT)

    small = [submitted(ours) for _ in range(3)]
    big = [submitted(ours, expected_benefits=TEXT), submitted(ours, expected_benefits=TEXT[::-1])]
    binary = (ideas, b"m", b"\xff\xfe\x00 not an event", [("content-type", b"application/cloudevents+json")])
    await _off_key_partitions(producer, [encode(small[0]), encode(big[0]), binary, encode(small[1]), encode(big[1]),
                                         encode(small[2])])
    await strict.feed(ideas)
    between = datetime.now(timezone.utc)
    their_small, their_big = submitted(theirs), submitted(theirs, expected_benefits=TEXT)
    await publish(kafka_bootstrap, their_small, their_big)
    await strict.feed(their_ideas)
    assert await fetchval(dsn, "SELECT count(*) FROM applied") == 4

    # list: every dead letter, and each filter selects the right ones
    code, lines, summary = await cli(kafka_bootstrap, "list", "--service", service)
    assert code == 0 and len(lines) == 4 and "4 of 4 dead letters match" in summary
    by_id = {line.split("  ")[0]: line for line in lines}

    async def listed(*filters: str) -> set[str]:
        code, lines, _ = await cli(kafka_bootstrap, "list", "--service", service, *filters)
        assert code == 0
        return {f"{line.split('  ')[2].rsplit('[', 1)[0]} {line.split('  ')[3]}" for line in lines}

    assert await listed("--error-class", "EventTooLarge") == {f"{ideas} EventTooLarge", f"{their_ideas} EventTooLarge"}
    assert await listed("--error-class", "MalformedEvent") == {f"{ideas} MalformedEvent"}
    assert await listed("--original-topic", their_ideas) == {f"{their_ideas} EventTooLarge"}
    assert await listed("--source", f"/departments/{theirs}/ideas") == {f"{their_ideas} EventTooLarge"}
    assert await listed("--since", between.isoformat()) == {f"{their_ideas} EventTooLarge"}
    assert await listed("--until", between.isoformat()) == {f"{ideas} EventTooLarge", f"{ideas} MalformedEvent"}
    code, ours_too_large, _ = await cli(kafka_bootstrap, "list", "--service", service, "--original-topic", ideas,
                                        "--error-class", "EventTooLarge")
    assert len(ours_too_large) == 2 and {str(e.id) for e in big} == {line.split("id=")[1].split()[0] for line in ours_too_large}

    # show: one in full, with its reason; a binary value as hex
    first_big = next(i for i, line in by_id.items() if f"id={big[0].id}" in line)
    code, shown, _ = await cli(kafka_bootstrap, "show", first_big)
    text = "\n".join(shown)
    assert code == 0 and "error class   EventTooLarge" in text
    assert f"the maximum is {STRICT_LIMIT}" in text and TEXT.strip() in text and f"ce_id: {big[0].id}" in text
    malformed = next(i for i, line in by_id.items() if "MalformedEvent" in line)
    code, shown, _ = await cli(kafka_bootstrap, "show", malformed)
    assert "binary, hex" in "\n".join(shown) and "00000000  ff fe 00 20" in "\n".join(shown)

    # replay --dry-run sends nothing
    selection = ("--service", service, "--original-topic", ideas, "--error-class", "EventTooLarge")
    before = await topic_size(kafka_bootstrap, ideas)
    code, would, summary = await cli(kafka_bootstrap, "replay", *selection, "--dry-run")
    assert code == 0 and len(would) == 2 and all(line.startswith("would send") for line in would)
    assert "nothing was sent" in summary
    assert await topic_size(kafka_bootstrap, ideas) == before

    # the fix: the normal limit. Replay puts the original bytes back where they were read from...
    fixed = Consumer(service, pool, producer, kafka_bootstrap)
    fixed.handled = set(strict.handled)
    replayed = command(kafka_bootstrap, "replay", *selection)
    assert replayed.returncode == 0, replayed.stderr
    sent = replayed.stdout.splitlines()
    assert len(sent) == 2 and all(line.startswith("sent ") for line in sent)
    records = await read_to_end(kafka_bootstrap, ideas)
    originals = {r.value: r for r in records if (r.topic, r.partition, r.offset) in strict.handled}
    copies = [r for r in records if (r.topic, r.partition, r.offset) not in strict.handled]
    assert len(copies) == 2
    for copy in copies:
        original = originals[copy.value]
        assert (copy.key, copy.value, list(copy.headers)) == (original.key, original.value, list(original.headers))
        assert copy.partition == original.partition
        assert f"-> {ideas}[{copy.partition}]@{copy.offset}" in replayed.stdout

    # ...and the fixed consumer applies them. A second replay changes nothing: the inbox knows them.
    assert await fixed.feed(ideas) == 2
    code, again, _ = await cli(kafka_bootstrap, "replay", *selection)
    assert code == 0 and len(again) == 2
    assert await fixed.feed(ideas) == 2
    # The other department's dead letter, replayed by its id.
    their_letter = next(i for i, line in by_id.items() if f"id={their_big.id}" in line)
    code, one, _ = await cli(kafka_bootstrap, "replay", their_letter)
    assert code == 0 and len(one) == 1 and one[0].startswith(f"sent {their_letter} -> {their_ideas}")
    assert await fixed.feed(their_ideas) == 1

    applied = await fetchval(dsn, "SELECT array_agg(event_id::text ORDER BY event_id::text) FROM applied")
    assert applied == sorted(str(e.id) for e in [*small, *big, their_small, their_big])
    assert await topic_size(kafka_bootstrap, dlq_topic(service)) == 4  # nothing dead-lettered again


async def test_replay_sends_the_headers_aiokafka_can_send_and_says_which_it_could_not(kafka_bootstrap, department):
    """A record whose header name was not UTF-8 is kept as the consumer writes it: the name and value
    in `dlq_unreadable_headers`. Replay sends everything else, byte for byte, and says what it left out."""
    service, ideas = f"dlq-{department}", topic_name(department, "ideas")
    await create_topics(kafka_bootstrap, ideas, dlq_topic(service))
    unreadable = json.dumps([[base64.b64encode(b"\xff\xfe").decode(), base64.b64encode(b"x").decode()]]).encode()
    original_headers = [("ce_id", b"42"), ("x-trace", b"\x00\x01")]
    letter_headers = original_headers + [
        ("dlq_unreadable_headers", unreadable), ("dlq_original_topic", ideas.encode()),
        ("dlq_original_partition", b"1"), ("dlq_original_offset", b"17"), ("dlq_error_class", b"UnreadableHeader"),
        ("dlq_reason", b"a header name is not UTF-8"), ("dlq_time", b"2025-03-01T09:30:00Z"),
    ]
    await publish(kafka_bootstrap, (dlq_topic(service), None, b"raw \xc3 bytes", letter_headers))
    [stored] = await read_to_end(kafka_bootstrap, dlq_topic(service))
    letter_id = f"{service}:{stored.partition}:{stored.offset}"

    code, shown, _ = await cli(kafka_bootstrap, "show", letter_id)
    assert code == 0 and "headers the client could not read (not re-sent by replay):" in shown
    assert "  hex ff fe: x" in shown and "  x-trace: hex 00 01" in shown and "key: (null)" in shown

    code, sent, _ = await cli(kafka_bootstrap, "replay", letter_id)
    assert code == 0 and len(sent) == 1
    assert sent[0].startswith(f"sent {letter_id} -> {ideas}[1]@0") and "without 1 unreadable header(s)" in sent[0]
    [copy] = await read_to_end(kafka_bootstrap, ideas)
    assert (copy.partition, copy.key, copy.value, list(copy.headers)) == (1, None, b"raw \xc3 bytes", original_headers)

    code, _, _ = await cli(kafka_bootstrap, "replay", letter_id, "--dry-run")
    assert code == 0 and await topic_size(kafka_bootstrap, ideas) == 1


@pytest.mark.parametrize(("where", "argv", "status", "says"), [
    ("nowhere", ["list"], 1, "cannot reach the Kafka broker at 127.0.0.1:"),
    ("broker", ["list", "--service", "never-dead-lettered-anything"], 1,
     "no such dead-letter topic on the broker: innovation.dlq.never-dead-lettered-anything"),
    ("broker", ["show", "{service}:0:5"], 1, "no dead letter {service}:0:5: innovation.dlq.{service}[0] is empty"),
    ("broker", ["show", "{service}:3:0"], 1, "no dead letter {service}:3:0: innovation.dlq.{service} has no partition 3"),
    ("broker", ["replay", "--since", "2025-01-01"], 2, "replay needs --service"),
])
async def test_a_failure_is_one_line_and_a_non_zero_status(kafka_bootstrap, department, where, argv, status, says):
    service = f"dlq-{department}"
    await create_topics(kafka_bootstrap, dlq_topic(service))  # empty, three partitions
    bootstrap = kafka_bootstrap if where == "broker" else f"127.0.0.1:{free_port()}"
    finished = command(bootstrap, *(arg.format(service=service) for arg in argv))
    assert finished.returncode == status and finished.stdout == ""
    assert says.format(service=service) in finished.stderr and finished.stderr.count("\n") == 1, finished.stderr
