"""A memory channel as a FIFO bandwidth server plus a fixed access latency.

Each 64 B line occupies the channel for ``64 / bandwidth``; a request that finds the channel
busy waits. Loaded latency therefore comes from queueing, never from a fitted curve. Computing
the finish time is arithmetic on one integer, so an access costs no event of its own.

Read/write turnaround. A DRAM data bus changes direction at a cost: after a write burst the next
read's data can only start ``tWTR + CL`` clocks later, and after a read the next write's data
2 clocks later (JEDEC JESD79-4; the numbers are in ``fabric/params.py``, Type3Params). Real
controllers therefore hold posted writes in a write queue and drain them in batches, paying one
read->write->read turnaround per batch instead of one per write. The channel does the same:

- ``write()`` puts the line in the write queue and returns when it is accepted there (at once,
  unless the queue is still waiting for the previous batch to start draining);
- when ``write_batch`` writes are queued, the batch drains behind whatever the bus already has:
  it occupies the bus for ``turnaround + write_batch * service``, and reads arriving meanwhile
  wait for it (write-drain mode);
- when the bus has been idle long enough, queued writes drain in the idle time instead, as a
  controller does when its read queue is empty, so they cost an idle read nothing.

An all-reads stream never meets a write, so it pays no turnaround; an idle read's latency is
``service + latency`` as before. With ``turnaround=0`` and ``write_batch=1`` (the defaults) a
write is served in FIFO order like a read and completes at the end of its slot: the plain
bandwidth server. Every call is O(1) arithmetic and schedules nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

LINE_BYTES = 64

_PS_PER_S = 10**12


class DramChannel:
    __slots__ = (
        "_batched",
        "accesses",
        "drains",
        "free_at",
        "last_start",
        "latency",
        "queued_ps",
        "service",
        "turnaround",
        "turnaround_ps",
        "wq",
        "wq_open_at",
        "write_batch",
    )

    def __init__(
        self, latency: int, bandwidth: int, *, turnaround: int = 0, write_batch: int = 1
    ) -> None:
        if bandwidth <= 0:
            raise ValueError(f"DRAM bandwidth must be positive, got {bandwidth}")
        if turnaround < 0:
            raise ValueError(f"DRAM turnaround cannot be negative, got {turnaround}")
        if write_batch < 1:
            raise ValueError(f"DRAM write batch must be at least 1, got {write_batch}")
        self.latency = latency
        # Whole picoseconds per line, rounded up so the modelled peak never exceeds the rating.
        self.service = -(-LINE_BYTES * _PS_PER_S // bandwidth)
        self.turnaround = turnaround
        self.write_batch = write_batch
        # With no turnaround to amortise and batches of one, writes simply take their slot in
        # order, like reads: the plain bandwidth server, kept exact for the host's local DRAM.
        self._batched = turnaround > 0 or write_batch > 1
        self.free_at = 0
        self.accesses = 0  # lines transferred or queued, reads and writes
        self.queued_ps = 0
        self.turnaround_ps = 0
        self.drains = 0
        # When the latest access started on the bus (a write: was accepted), for the per-hop
        # breakdown, which reads it in the access's callback.
        self.last_start = 0
        self.wq = 0  # writes waiting in the write queue
        # A full batch waiting for the bus fills the queue: writes arriving meanwhile are
        # accepted when it starts to drain, at this time.
        self.wq_open_at = 0

    @property
    def busy_ps(self) -> int:
        """Data transfer time so far (turnarounds are in ``turnaround_ps``): every line accessed
        has been transferred except the writes still queued (derived, not counted: see
        docs/performance.md)."""
        return (self.accesses - self.wq) * self.service

    def access(
        self,
        arrive: int,
        line: int = 0,
        on_done: Callable[[Any, int], object] | None = None,
        context: Any = None,
    ) -> int:
        """Time the line's data is ready for a read reaching the channel at ``arrive``.

        ``line`` (the 64 B line number) is ignored: a bandwidth server has no banks. With
        ``on_done``, it is also called as ``on_done(context, ready)``, the interface of
        ``dram_timing.DramTiming`` (whose reads are decided later), so a call site serves both.
        """
        free = self.free_at
        if self.wq and arrive > free:
            self._drain_idle(free, arrive)
        start = free if free > arrive else arrive
        end = start + self.service
        self.free_at = end
        self.last_start = start
        self.accesses += 1
        self.queued_ps += start - arrive
        ready = end + self.latency
        if on_done is not None:
            on_done(context, ready)
        return ready

    def write(
        self,
        arrive: int,
        line: int = 0,
        on_accepted: Callable[[Any, int], object] | None = None,
        context: Any = None,
    ) -> int:
        """Time a posted write reaching the channel at ``arrive`` is accepted (its completion);
        ``on_accepted(context, accepted)`` too when given (as ``access``)."""
        if on_accepted is not None:
            accepted = self.last_start = self.write(arrive)
            on_accepted(context, accepted)
            return accepted
        if not self._batched:
            # The plain server: the write takes the next slot like a read, done at its end.
            return self.access(arrive) - self.latency
        self.accesses += 1
        service = self.service
        free = self.free_at
        if self.wq and arrive > free:
            self._drain_idle(free, arrive)
        opens = self.wq_open_at
        accepted = opens if opens > arrive else arrive
        self.queued_ps += accepted - arrive
        queued = self.wq + 1
        if queued < self.write_batch:
            self.wq = queued
            return accepted
        # The batch is full: drain it behind the bus's current work (write-drain mode).
        start = free if free > arrive else arrive
        self.free_at = start + self.turnaround + queued * service
        self.turnaround_ps += self.turnaround
        self.drains += 1
        self.wq = 0
        self.wq_open_at = start
        return accepted

    def _drain_idle(self, free: int, arrive: int) -> None:
        """Drain queued writes in the idle time ``[free, arrive)``, as many as fit whole."""
        fit = (arrive - free - self.turnaround) // self.service
        if fit <= 0:
            return
        drained = fit if fit < self.wq else self.wq
        self.wq -= drained
        self.turnaround_ps += self.turnaround
        self.drains += 1
