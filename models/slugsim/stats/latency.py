"""Latency summaries: count, mean, p50/p90/p99/p999 (nearest rank) and max.

Latencies are integer picoseconds kept per (class, path) by the hosts in
``LatencyHistogram``s (``histogram.py``). Count, mean and max are exact; a percentile is the
nearest-rank one (the p-th percentile of n sorted samples is the ``ceil(p * n / 100)``-th, a
latency somebody saw) read from the histogram, so it is at most ``RELATIVE_ERROR`` (2**-10,
under 0.1 %) above the exact value and never below it; latencies under 2048 ps are exact.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from .histogram import RELATIVE_ERROR, LatencyHistogram

__all__ = ["RELATIVE_ERROR", "nearest_rank", "ns", "summarise"]

_PS_PER_NS = 1000


def nearest_rank(sorted_samples: Sequence[int], percent: int) -> int:
    """The exact nearest-rank percentile of sorted samples (the reference the histograms'
    percentiles are tested against)."""
    if not sorted_samples:
        raise ValueError("no samples")
    n = len(sorted_samples)
    rank = -(-percent * n // 100)  # ceil without floats
    return sorted_samples[max(rank, 1) - 1]


def ns(ps: float) -> float:
    """Picoseconds -> nanoseconds, rounded to the picosecond so JSON output is stable."""
    return round(ps / _PS_PER_NS, 3)


def summarise(latencies: LatencyHistogram | Iterable[int]) -> dict[str, float | int]:
    """The stats.json summary of a histogram (or of raw ps samples, histogrammed first)."""
    histogram = (
        latencies if isinstance(latencies, LatencyHistogram) else LatencyHistogram(latencies)
    )
    if not histogram:
        return {"count": 0}
    summary: dict[str, float | int] = {
        "count": histogram.count,
        "mean": ns(histogram.mean()),
        "max": ns(histogram.maximum),
    }
    for name, value in histogram.percentiles().items():
        summary[name] = ns(value)
    return summary
