"""Decode+validate throughput of binary-mode events against plain json.loads of the same bodies.

    python benchmarks/bench_decode.py [--seconds 3]

Not a test: it prints figures. Targets: >= 50% of json.loads, >= 100,000 events/s on one core.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from collections.abc import Callable

from shared.events import decode, encode, new_event
from shared.events.examples import EXAMPLES

# The mix a departmental topic sees: many endorsements and measurements, few submissions and outcomes.
WEIGHTS = {
    "idea.submitted": 8, "idea.endorsed": 30, "idea.reviewed": 10, "idea.shortlisted": 4, "idea.backed": 3,
    "idea.declined": 3, "idea.withdrawn": 2, "idea.merged": 1, "conversation.recorded": 3,
    "experiment.planned": 3, "experiment.started": 3, "experiment.measurement_recorded": 20,
    "experiment.rescheduled": 1, "experiment.overdue": 1, "experiment.completed": 2,
    "experiment.abandoned": 1, "outcome.recorded": 3, "outcome.adopted": 1,
}


def build_records(count: int) -> list[tuple[str, bytes, list[tuple[str, bytes]]]]:
    rng = random.Random(7)
    weights = [WEIGHTS[type(example).event_name] for example in EXAMPLES]
    records = []
    for data in rng.choices(EXAMPLES, weights=weights, k=count):
        department = "hmrc" if type(data).event_name == "outcome.adopted" else "dwp"
        record = encode(new_event(data, department=department, service="bench", causationid="req-1"))
        records.append((record.topic, record.value, record.headers))
    return records


def best_rates(runs: list[Callable[[], None]], count: int, seconds: float) -> list[float]:
    """Best items/s of each run, measured in alternation so that both see the same machine load."""
    best = [0.0] * len(runs)
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        for index, run in enumerate(runs):
            started = time.perf_counter()
            run()
            best[index] = max(best[index], count / (time.perf_counter() - started))
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()
    records = build_records(args.events)
    mean_size = sum(len(value) for _, value, _ in records) / len(records)

    def decode_all() -> None:
        for topic, value, headers in records:
            decode(value, headers, topic=topic)

    def json_loads_all() -> None:
        for _, value, _ in records:
            json.loads(value)

    ours, baseline = best_rates([decode_all, json_loads_all], len(records), args.seconds)
    print(f"events: {len(records)} binary-mode records, {len(EXAMPLES)} types, mean body {mean_size:.0f} bytes")
    print(f"json.loads of the bodies  : {baseline:12,.0f} bodies/s")
    print(f"decode + validate (ours)  : {ours:12,.0f} events/s")
    print(f"ratio ours / json.loads   : {ours / baseline:12.0%}")


if __name__ == "__main__":
    main()
