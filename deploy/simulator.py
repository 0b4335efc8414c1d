"""Departmental-system simulator: publishes a realistic flow of CloudEvents straight onto Kafka (binary mode,
keyed by aggregate id), as departmental systems would. Two modes:

    python deploy/simulator.py [--departments dwp,hmrc,mhclg] [--rate 20] [--history 3000] [--count N]
    python deploy/simulator.py --intake dwp [--rate 0.5] [--history 10] [--count N]

The first is every system of departments that run none of our services: they write their canonical
streams (innovation.<dept>.<stream>.v1) themselves. --history first publishes that many events spread over
the last twelve weeks (so the weekly series has a shape), as fast as the broker takes them; then events
follow at --rate per second, timed now, until --count events in all (or for ever).

--intake is one system of a department that runs the services, a team-conversation tool: conversations,
the ideas they raised and endorsements, onto the department's intake innovation.<dept>.inbound.ideas.v1
(source /departments/<dept>/systems/team-conversations), for its ideas service to apply; all timed now.
Run it from the repository root.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from deploy.simulation import DEPARTMENTS, ConversationTool, Flow  # noqa: E402
from shared.events import Event, encode  # noqa: E402
from shared.events.topics import intake_topic, validate_department  # noqa: E402
from shared.outbox import new_producer  # noqa: E402


class HistoryClock:
    """Times spread evenly from `weeks` ago to now over `events` events, then the real time."""

    def __init__(self, events: int, weeks: int = 12) -> None:
        self.now = datetime.now(timezone.utc)
        self.start = self.now - timedelta(weeks=weeks)
        self.step = (self.now - self.start) / max(events, 1)
        self.left = events

    def __call__(self) -> datetime:
        if self.left <= 0:
            return datetime.now(timezone.utc)
        self.left -= 1
        self.start += self.step
        return self.start


def intake_topic_of(event: Event) -> str:
    return intake_topic(event.department, type(event.data).stream)


async def run(departments: tuple[str, ...], rate: float, history: int, count: int | None, bootstrap: str,
              seed: int | None, intake: bool = False) -> None:
    if intake:
        flow: Flow = ConversationTool(departments=departments, seed=seed)
    else:
        flow = Flow(departments=departments, seed=seed, clock=HistoryClock(history))
    producer = new_producer(bootstrap)
    await producer.start()
    sent, started, last_report = 0, time.monotonic(), 0.0
    try:
        for event in flow:
            if count is not None and sent >= count:
                break
            record = encode(event)
            topic = intake_topic_of(event) if intake else record.topic
            await producer.send(topic, record.value, key=record.key, headers=record.headers)
            sent += 1
            if sent > history:
                await producer.flush()
                await asyncio.sleep(1 / rate)
            now = time.monotonic()
            if now - last_report >= 5 or sent == history:
                last_report = now
                onto = f"the intake of {departments[0]}" if intake else ", ".join(departments)
                print(f"simulator: {sent:,} events published ({sent / (now - started):,.0f}/s) for {onto}",
                      file=sys.stderr, flush=True)
        await producer.flush()
    finally:
        await producer.stop()
    print(f"simulator: done, {sent:,} events", file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--departments", default=",".join(DEPARTMENTS[:3]))
    parser.add_argument("--intake", metavar="DEPT", help="a team-conversation tool of DEPT, onto its intake")
    parser.add_argument("--rate", type=float, default=None, help="events per second after the history (20; intake 0.5)")
    parser.add_argument("--history", type=int, default=None,
                        help="events published at once (3000, spread over 12 weeks; intake 10, timed now)")
    parser.add_argument("--count", type=int, default=None, help="stop after this many events in all")
    parser.add_argument("--bootstrap", default="127.0.0.1:9092")
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()
    intake = args.intake is not None
    if intake:
        departments = (validate_department(args.intake),)
    else:
        departments = tuple(validate_department(d.strip()) for d in args.departments.split(",") if d.strip())
    rate = args.rate if args.rate is not None else (0.5 if intake else 20.0)
    history = args.history if args.history is not None else (10 if intake else 3000)
    try:
        asyncio.run(run(departments, rate, history, args.count, args.bootstrap, args.seed, intake))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
