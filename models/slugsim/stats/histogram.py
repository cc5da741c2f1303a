"""Constant-memory latency histograms: HdrHistogram (the ``hdrhistogram`` package) fed in batches.

A ``LatencyHistogram`` holds one (class, path) stream of latencies in picoseconds. Values go
into a small staging array (``BATCH`` of them, 32 KiB); a full batch is bucketed with numpy and
added to an ``hdrh.histogram.HdrHistogram`` one bucket at a time. So memory is bounded (the
HdrHistogram's counts, about 250 KiB, plus the batch) whatever the number of requests, and the
cost per request is mostly an array append. Measured on 1M values of 0.1 .. 2 us (every batch
spread over ~4000 buckets, the worst case): ``HdrHistogram.record_value`` per value, pure Python,
1.06 us a value (a tenth of a simulated request); ``LatencyHistogram.record`` 0.16 us, of which
0.09 us is the loop and an ``array.append``. The counts are the same, value for value.

Range and precision: ``LOWEST_PS`` .. ``HIGHEST_PS`` (1 ps .. 1 s) at ``SIGNIFICANT_DIGITS`` = 3,
i.e. 2048 sub-buckets per power of two: values below 2048 ps are kept exactly, and a bucket at a
value v is at most v / 1024 wide. A percentile is reported as the highest value of the bucket
holding the nearest-rank sample (HdrHistogram's convention), capped at the exact maximum, so a
reported percentile q and the exact nearest-rank one p satisfy ``p <= q <= p * (1 + 2**-10)``
(``RELATIVE_ERROR``, under 0.1 %). Count, sum (so the mean), minimum and maximum are exact.
"""

from __future__ import annotations

import sys
from array import array
from collections.abc import Iterable

import numpy as np
from hdrh.histogram import HdrHistogram

LOWEST_PS = 1
HIGHEST_PS = 10**12  # 1 s
SIGNIFICANT_DIGITS = 3
RELATIVE_ERROR = 2.0**-10  # bucket width / value at 3 significant digits (2048 sub-buckets)
BATCH = 4096  # staged values per histogram before they are bucketed

# Percentiles in stats.json, as (name, numerator, denominator): p999 is the 99.9th.
PERCENTILES = (("p50", 50, 100), ("p90", 90, 100), ("p99", 99, 100), ("p999", 999, 1000))


def _new_hdr(digits: int = SIGNIFICANT_DIGITS) -> HdrHistogram:
    return HdrHistogram(LOWEST_PS, HIGHEST_PS, digits)


class LatencyHistogram:
    """Latencies (ps) of one stream of requests: exact count, sum, min and max, and their
    distribution to 3 significant digits."""

    __slots__ = ("_hdr", "digits", "flushed", "maximum", "minimum", "pending", "total")

    def __init__(self, values: Iterable[int] = (), digits: int = SIGNIFICANT_DIGITS) -> None:
        """``digits``: significant digits of the buckets (3: about 250 KiB of counts; 2: 1/8 of
        that, at most 2**-7 above the exact value)."""
        self.digits = digits
        self._hdr: HdrHistogram | None = None  # created by the first full batch
        self.pending: array[int] = array("q")  # staged values, not yet bucketed
        self.flushed = 0  # values already bucketed
        self.total = 0  # exact sum of the bucketed values (ps)
        self.minimum = sys.maxsize
        self.maximum = -1
        for value in values:
            self.record(value)

    def record(self, value: int) -> None:
        pending = self.pending
        pending.append(value)
        if len(pending) >= BATCH:
            self.flush()

    @property
    def count(self) -> int:
        """Values recorded (exact)."""
        return self.flushed + len(self.pending)

    def __len__(self) -> int:
        return self.count

    def __bool__(self) -> bool:
        return self.count > 0

    @property
    def hdr(self) -> HdrHistogram:
        """The HdrHistogram with every value recorded so far (``.encode()`` gives the standard
        compressed form other HdrHistogram tools read)."""
        self.flush()
        if self._hdr is None:
            self._hdr = _new_hdr(self.digits)
        return self._hdr

    def flush(self) -> None:
        """Bucket the staged values into the HdrHistogram."""
        pending = self.pending
        if not pending:
            return
        values = np.array(pending, dtype=np.int64)
        del pending[:]
        low, high = int(values.min()), int(values.max())
        if low < 0 or high > HIGHEST_PS:
            bad = low if low < 0 else high
            raise ValueError(
                f"latency {bad} ps is outside the histogram range 0 .. {HIGHEST_PS} ps (1 s)"
            )
        if self._hdr is None:
            self._hdr = _new_hdr(self.digits)
        hdr = self._hdr
        self.flushed += len(values)
        self.total += int(values.sum())
        self.minimum = min(self.minimum, low)
        self.maximum = max(self.maximum, high)
        # HdrHistogram.record_value, vectorised (it costs ~1 us a call in Python): the counts
        # index of each value, counted with bincount into the HdrHistogram's own counts array.
        counts = np.ctypeslib.as_array(hdr.counts)[: hdr.counts_len]
        counts += np.bincount(_counts_index(hdr, values), minlength=hdr.counts_len).astype(
            counts.dtype
        )
        hdr.total_count += len(values)
        hdr.min_value = min(hdr.min_value, low)
        hdr.max_value = max(hdr.max_value, high)

    def add(self, other: LatencyHistogram) -> None:
        """Add ``other``'s values to this histogram (``other`` is unchanged in content)."""
        if not other:
            return
        other.flush()
        self.flush()
        if other._hdr is not None:
            if self._hdr is None:
                self._hdr = _new_hdr(self.digits)
            self._hdr.add(other._hdr)
        self.flushed += other.flushed
        self.total += other.total
        self.minimum = min(self.minimum, other.minimum)
        self.maximum = max(self.maximum, other.maximum)

    @classmethod
    def merged(cls, histograms: Iterable[LatencyHistogram]) -> LatencyHistogram:
        out = cls()
        for histogram in histograms:
            out.add(histogram)
        return out

    def mean(self) -> float:
        self.flush()
        return self.total / self.flushed

    def percentiles(self) -> dict[str, int]:
        """Nearest-rank percentiles (ps), each within ``RELATIVE_ERROR`` above the exact one."""
        hdr = self.hdr
        n = self.flushed
        if n == 0:
            raise ValueError("no samples")
        cumulative = np.cumsum(np.ctypeslib.as_array(hdr.counts)[: hdr.counts_len])
        out = {}
        for name, num, den in PERCENTILES:
            rank = max(-(-num * n // den), 1)  # ceil without floats
            index = int(np.searchsorted(cumulative, rank, side="left"))
            top = hdr.get_highest_equivalent_value(hdr.get_value_from_index(index))
            out[name] = min(top, self.maximum)
        return out

    def cdf(self) -> tuple[list[float], list[float]]:
        """(latency ns, fraction of requests at or below it): 0 at the minimum, then a point at
        each non-empty bucket's top (capped at the exact maximum)."""
        hdr = self.hdr
        counts = np.ctypeslib.as_array(hdr.counts)[: hdr.counts_len]
        indices = np.flatnonzero(counts)
        fractions = np.cumsum(counts[indices]) / self.flushed
        xs = [
            min(hdr.get_highest_equivalent_value(hdr.get_value_from_index(int(i))), self.maximum)
            / 1000
            for i in indices
        ]
        # Start the curve at 0 at the exact minimum, so a path's CDF rises from its first latency.
        return [self.minimum / 1000, *xs], [0.0, *fractions.tolist()]


def _counts_index(hdr: HdrHistogram, values: np.ndarray) -> np.ndarray:
    """``hdr._counts_index_for`` of each value (non-negative, below 2**53)."""
    # bit length of (v | sub_bucket_mask), exact through float64 for values below 2**53
    _, bits = np.frexp((values | hdr.sub_bucket_mask).astype(np.float64))
    shift = bits.astype(np.int64) - (hdr.sub_bucket_half_count_magnitude + 1)
    bucket = shift - hdr.unit_magnitude
    sub_bucket = values >> shift
    return ((bucket + 1) << hdr.sub_bucket_half_count_magnitude) + (
        sub_bucket - hdr.sub_bucket_half_count
    )
