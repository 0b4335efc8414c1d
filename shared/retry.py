"""The one backoff of the project: pauses that double from a first delay up to a cap."""

from dataclasses import dataclass


def backoff_seconds(failures: int, first: float, cap: float) -> float:
    """The pause after the `failures`-th failure in a row (1 for the first)."""
    return min(cap, first * 2 ** max(failures - 1, 0))


@dataclass(frozen=True)
class Backoff:
    first_delay: float = 0.2
    max_delay: float = 10.0

    def delay(self, failures: int) -> float:
        return backoff_seconds(failures, self.first_delay, self.max_delay)
