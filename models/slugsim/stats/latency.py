"""Latency summaries from raw samples: count, mean, p50/p90/p99 (nearest rank) and max.

Samples are integer picoseconds kept per (class, path) by the hosts; summaries are computed by
sorting, so they are exact and deterministic. Nearest rank: the p-th percentile of n sorted
samples is the ``ceil(p * n / 100)``-th one (1-based), the definition that never interpolates a
latency nobody saw.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

PERCENTILES = (50, 90, 99)
_PS_PER_NS = 1000


def nearest_rank(sorted_samples: Sequence[int], percent: int) -> int:
    if not sorted_samples:
        raise ValueError("no samples")
    n = len(sorted_samples)
    rank = -(-percent * n // 100)  # ceil without floats
    return sorted_samples[max(rank, 1) - 1]


def ns(ps: float) -> float:
    """Picoseconds -> nanoseconds, rounded to the picosecond so JSON output is stable."""
    return round(ps / _PS_PER_NS, 3)


def summarise(samples: Iterable[int]) -> dict[str, float | int]:
    ordered = sorted(samples)
    if not ordered:
        return {"count": 0}
    summary: dict[str, float | int] = {
        "count": len(ordered),
        "mean": ns(sum(ordered) / len(ordered)),
        "max": ns(ordered[-1]),
    }
    for percent in PERCENTILES:
        summary[f"p{percent}"] = ns(nearest_rank(ordered, percent))
    return summary
