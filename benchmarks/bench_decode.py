"""Decode+validate throughput of binary-mode events against plain json.loads of the same bodies.

    python benchmarks/bench_decode.py [--seconds 5]

Not a test: it prints figures (through benchmarks/common.py). Target (issue 17): decode + validate at
>= 50% of json.loads of the same bodies, both in CPU time on one core, measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import Figure, report  # noqa: E402
from shared.events import decode, encode, new_event  # noqa: E402
from shared.events.examples import EXAMPLES  # noqa: E402

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


def best_rates(runs: list[Callable[[int, int], None]], count: int, seconds: float, batch: int = 2_000) -> list[float]:
    """Items per CPU-second of each run: the sum over batches of the least CPU time each batch took.

    CPU time of this thread, not wall time: on a machine shared with other work a wall clock also
    counts the time we wait for a core, and that penalises the slower run more (its batches are
    longer, so fewer of them run unpreempted). The runs alternate batch by batch, so both see the
    same cache and memory contention.
    """
    starts = range(0, count, batch)
    best = [[float("inf")] * len(starts) for _ in runs]
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        for slot, start in enumerate(starts):
            for index, run in enumerate(runs):
                started = time.thread_time()
                run(start, min(start + batch, count))
                best[index][slot] = min(best[index][slot], time.thread_time() - started)
    return [count / sum(times) for times in best]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    records = build_records(args.events)
    mean_size = sum(len(value) for _, value, _ in records) / len(records)

    def decode_all(start: int, stop: int) -> None:
        for topic, value, headers in records[start:stop]:
            decode(value, headers, topic=topic)

    def json_loads_all(start: int, stop: int) -> None:
        for _, value, _ in records[start:stop]:
            json.loads(value)

    ours, baseline = best_rates([decode_all, json_loads_all], len(records), args.seconds)
    print(f"events: {len(records)} binary-mode records, {len(EXAMPLES)} types, mean body {mean_size:.0f} bytes")
    print(f"json.loads of the bodies  : {baseline:12,.0f} bodies per CPU-second")
    print(f"decode + validate (ours)  : {ours:12,.0f} events per CPU-second")
    report(
        Figure("decode + validate, per CPU-second", ours, "events/s",
               baseline="json.loads of the same bodies, per CPU-second", baseline_value=baseline),
        Figure("decode + validate as a share of json.loads", ours / baseline, "share", target=0.5,
               baseline="json.loads of the same bodies", baseline_value=baseline, baseline_unit="events/s"),
    )


if __name__ == "__main__":
    main()
