"""A memory channel as a FIFO bandwidth server plus a fixed access latency.

Each 64 B line occupies the channel for ``64 / bandwidth``; a request that finds the channel
busy waits. Loaded latency therefore comes from queueing, never from a fitted curve. Computing
the finish time is arithmetic on one integer, so an access costs no event of its own.
"""

from __future__ import annotations

LINE_BYTES = 64

_PS_PER_S = 10**12


class DramChannel:
    __slots__ = ("accesses", "busy_ps", "free_at", "latency", "queued_ps", "service")

    def __init__(self, latency: int, bandwidth: int) -> None:
        if bandwidth <= 0:
            raise ValueError(f"DRAM bandwidth must be positive, got {bandwidth}")
        self.latency = latency
        # Whole picoseconds per line, rounded up so the modelled peak never exceeds the rating.
        self.service = -(-LINE_BYTES * _PS_PER_S // bandwidth)
        self.free_at = 0
        self.accesses = 0
        self.busy_ps = 0
        self.queued_ps = 0

    def access(self, arrive: int) -> int:
        """Time the line's data is ready for an access reaching the channel at ``arrive``."""
        return self.write(arrive) + self.latency

    def write(self, arrive: int) -> int:
        """Time a posted write is accepted: it takes its slot of bandwidth, not the read latency."""
        free = self.free_at
        start = free if free > arrive else arrive
        end = start + self.service
        self.free_at = end
        self.accesses += 1
        self.busy_ps += self.service
        self.queued_ps += start - arrive
        return end
