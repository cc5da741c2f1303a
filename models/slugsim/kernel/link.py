"""Links: latency, flit-serialised bandwidth and credit-based back-pressure, per direction.

A message occupies a whole number of flits (``ceil(wire_bytes / flit_bytes)``, at least one), is
serialised behind earlier messages at the link bandwidth, and is delivered ``latency`` after its
last flit leaves. The receiver advertises ``credits`` buffers; a credit comes back ``latency``
after the receiver frees the buffer.

The credits are a ring with one entry per buffer, in the order the buffers were taken, holding
the time each one's credit is back: the next message may go once the entry at the ring's head
(the buffer taken ``credits`` messages ago) is back. A receiver that frees its buffer as its
handler returns has that time written when the message is sent, since the delivery time is
known then; a receiver that frees buffers itself fills the oldest entry it holds when it calls
``release``. An uncongested link therefore costs one event per message.
"""

from __future__ import annotations

from array import array
from collections import deque
from heapq import heappush
from typing import Any

from .component import Port
from .errors import ConfigurationError, PortError, SimulationError
from .simulator import Simulator

_S_PER_PS = 10**12

# (flit bytes, bandwidth) -> {message bytes: (serialisation ps, packed counter increment)}
_COST_TABLES: dict[tuple[int, int | None], dict[int, tuple[int, int]]] = {}

# A channel's packed counters (see Channel._counts): busy picoseconds in bits 0-63 (213 days of
# serialisation), flits in bits 64-103, messages from bit 104 up (a Python int does not overflow).
_FLITS = 64
_MESSAGES = 104
_BUSY_MASK = (1 << _FLITS) - 1
_FLITS_MASK = (1 << (_MESSAGES - _FLITS)) - 1

# A ring entry whose buffer the receiver still holds. Also the latest time a credit can be
# back: the ring holds 64-bit ints, so a run cannot go past 106 days of simulated time.
HELD = (1 << 63) - 1


class Channel:
    """One direction of a link."""

    # Slots are laid out in this order: what every message reads or writes comes first, so a
    # message touches two cache lines of the channel rather than three or four.
    __slots__ = (  # noqa: RUF023
        "sim",
        "queue",
        "_ring",
        "_head",
        "_credits",
        "_cost",
        "_counts",
        "pipeline",
        "busy_until",
        "latency",
        "_deliver",
        "_prepaid",
        "_waiting",
        "_held",
        "_oldest_held",
        "_wake_pending",
        "_bandwidth",
        "_ser_num",
        "dst",
        "flit_bytes",
        "src",
    )

    def __init__(
        self,
        sim: Simulator,
        src: Port,
        dst: Port,
        latency: int,
        bandwidth: int | None,
        flit_bytes: int,
        credits: int | None,
    ) -> None:
        self.sim = sim
        self.src = src
        self.dst = dst
        self.latency = latency
        # Sender-side pipeline (a switch's port-to-port latency, a host's miss path) ahead of
        # serialisation: it delays delivery but, unlike ``latency``, not the credit return.
        self.pipeline = 0
        self.flit_bytes = flit_bytes
        self._bandwidth = bandwidth
        self._ser_num = flit_bytes * _S_PER_PS
        # Shared by every channel with the same flit size and bandwidth: one small table stays
        # in cache instead of one per channel (a fabric has thousands of channels).
        self._cost = _COST_TABLES.setdefault((flit_bytes, bandwidth), {})
        self._credits = credits or 0  # the ring's size; 0: unlimited, no ring
        # The times are raw 64-bit ints in an array, not int objects in a deque: a message then
        # allocates and frees no int for its credit, and touches one line of the ring. At fabric
        # scale those objects, rarely in cache, were the largest cost of a channel.
        self._ring = array("q", bytes(8 * self._credits))
        self._head = 0  # index of the entry the next message needs
        self._held = 0  # entries at HELD
        self._oldest_held = 0  # index of the oldest of those, when there are any
        self._deliver: Any = None
        self._prepaid = False
        self.bind_receiver()
        # Egress backlog, made when the sender first runs out of credits, and beside it for each
        # waiting message: when its pipeline is done (it runs while the message waits) and the
        # upstream channel whose buffer it still holds, if any.
        self.queue: deque[Any] | None = None
        self._waiting: deque[tuple[int, Channel | None]] | None = None
        self._wake_pending = False
        self.busy_until = 0
        # busy_ps, flits and messages packed into one int (bit offsets above), so a message
        # updates one counter attribute instead of three. Each update of an int attribute frees
        # the old int; in a fabric of thousands of channels that int and its allocator pool are
        # rarely in cache, and on the 1024-endpoint benchmark those misses, not the arithmetic,
        # were the cost. (Packing busy_until too saved few misses and cost more arithmetic;
        # moving these into the ring's array cost more in array indexing than it saved.)
        self._counts = 0

    @property
    def busy_ps(self) -> int:
        """Total serialisation time so far (utilisation = busy_ps / elapsed)."""
        return self._counts & _BUSY_MASK

    @property
    def flits(self) -> int:
        return (self._counts >> _FLITS) & _FLITS_MASK

    @property
    def messages(self) -> int:
        return self._counts >> _MESSAGES

    def credit_returns(self) -> list[int]:
        """When each buffer's credit is back (HELD while the receiver holds it), in the order
        the next messages will need them."""
        ring, size, head = self._ring, self._credits, self._head
        return [ring[(head + i) % size] for i in range(size)]

    def has_credit(self) -> bool:
        if self.queue:
            return False
        return not self._credits or self._ring[self._head] <= self.sim.now

    def send(self, msg: Any) -> None:
        # Credit check inlined: this is the hottest path of every model.
        queue = self.queue
        if not queue:
            if not self._credits or self._ring[self._head] <= self.sim.now:
                self._transmit(msg)
                return
            if queue is None:
                queue = self.queue = deque()
                self._waiting = deque()
        queue.append(msg)
        self._waiting.append((self.sim.now + self.pipeline, None))  # type: ignore[union-attr]
        if len(queue) == 1:
            self._schedule_wake()

    def hold_upstream(self, upstream: Channel) -> None:
        """The message just queued here keeps its receive buffer on ``upstream`` until it leaves
        this channel's backlog. This is how a switch (``hold_ingress``) frees an ingress buffer
        only when the message moves on, so that a congested egress port back-pressures the
        links feeding it, hop by hop. Call right after a ``send`` that left the message in
        ``queue``, as the message arrives.

        A port that frees buffers as its handler returns had the buffer's credit written when
        the message was sent on ``upstream``: back ``latency`` after its arrival, which is now.
        That entry is held instead, and filled when the message leaves the backlog. (A port
        whose component frees buffers itself holds them already.)"""
        if not upstream._prepaid:
            return
        waiting = self._waiting
        assert waiting, "hold_upstream() follows a send() that queued the message"
        waiting[-1] = (waiting[-1][0], upstream)
        upstream._hold(self.sim.now + upstream.latency)

    def _hold(self, back: int) -> None:
        """Hold the buffer whose credit was written to be back at ``back`` (the newest such)."""
        ring, size, head = self._ring, self._credits, self._head
        for offset in range(1, size + 1):
            index = (head - offset) % size
            if ring[index] == back:
                ring[index] = HELD
                self._note_held(index)
                return
        raise SimulationError(
            f"{self.dst.path}: no buffer of a message arriving now to hold; call "
            "hold_upstream() from the receiving port's handler, as the message arrives"
        )

    def _note_held(self, index: int) -> None:
        """Entry ``index`` was just set to HELD: keep track of the oldest held entry."""
        if self._held:
            size, head = self._credits, self._head
            if (index - head) % size < (self._oldest_held - head) % size:
                self._oldest_held = index
        else:
            self._oldest_held = index
        self._held += 1

    def _transmit(self, msg: Any, ready: int = -1) -> None:
        """Serialise ``msg`` once the pipeline is done: ``pipeline`` from now, or at ``ready``
        for a message whose pipeline ran while it waited for a credit. The caller has checked
        that the credit at the ring's head is back; this takes it."""
        sim = self.sim
        size = getattr(msg, "wire_bytes", 0)
        cost = self._cost.get(size)
        if cost is None:
            cost = self._cost[size] = self._cost_of(size)
        ser, count = cost
        self._counts += count
        now = sim.now
        if ready < 0:
            now += self.pipeline
        elif ready > now:
            now = ready
        if ser:
            busy = self.busy_until
            end = (busy if busy > now else now) + ser
            self.busy_until = end
            when = end + self.latency
        else:
            when = now + self.latency
        # Same as sim.schedule_at(when, ...), without the call and the past-time check
        # (``when`` is never before now).
        buckets = sim._buckets
        bucket = buckets.get(when)
        if bucket is None:
            buckets[when] = [(self._deliver, msg)]
            heappush(sim._heap, when)
        else:
            bucket.append((self._deliver, msg))
        size = self._credits
        if size:
            head = self._head
            self._head = head + 1 if head + 1 < size else 0
            if self._prepaid:
                # The receiver frees the buffer as its handler returns, at ``when``: the credit
                # is back ``latency`` later (what ``release`` would write then).
                self._ring[head] = when + self.latency
            else:
                self._ring[head] = HELD
                self._note_held(head)

    def bind_receiver(self) -> None:
        """Choose how messages reach the receiving port; called again when the port's
        ``handler`` or ``auto_release`` changes, and applies to messages sent after that.

        A port with a handler that frees its buffer as the handler returns (the common case)
        gets the message straight from the event loop: the credit return is recorded here, at
        send time, since the delivery time is known. The delivery then touches neither the
        port nor this channel, which at fabric scale (thousands of channels, few of them in
        cache) measured as the largest single saving per message. Any other port (no handler,
        or buffers freed by the component) goes through ``Port._deliver``.
        """
        port = self.dst
        handler = port.handler
        direct = handler is not None and (port.auto_release or not self._credits)
        self._deliver = handler if direct else port._deliver
        self._prepaid = direct and bool(self._credits)

    def _cost_of(self, size: int) -> tuple[int, int]:
        """(serialisation ps, packed counter increment) of a message of ``size`` bytes;
        memoised per size."""
        flit_bytes = self.flit_bytes
        nflits = -(-size // flit_bytes) if size > flit_bytes else 1
        ser = 0 if self._bandwidth is None else -(-nflits * self._ser_num // self._bandwidth)
        return ser, (1 << _MESSAGES) | (nflits << _FLITS) | ser

    def _schedule_wake(self) -> None:
        """The sender is blocked: wake it when the credit at the ring's head is back (one the
        receiver still holds wakes it from ``release`` instead)."""
        if self._wake_pending:
            return
        when = self._ring[self._head]
        if when == HELD:
            return
        self._wake_pending = True
        now = self.sim.now
        self.sim.schedule_at(when if when > now else now, self._wake)

    def _wake(self) -> None:
        self._wake_pending = False
        queue, waiting = self.queue, self._waiting
        ring, now = self._ring, self.sim.now
        while queue and waiting and ring[self._head] <= now:
            ready, upstream = waiting.popleft()
            self._transmit(queue.popleft(), ready)
            if upstream is not None:
                upstream.release()
        if queue:
            self._schedule_wake()

    def release(self) -> None:
        """The receiver frees the oldest buffer it holds: its credit is back ``latency`` from
        now."""
        size = self._credits
        if not size:
            return
        if not self._held:
            raise SimulationError(
                f"{self.dst.path} released a receive buffer it does not hold: release once per "
                "message received, and only on a port whose buffers are not freed as its "
                "handler returns"
            )
        ring, index = self._ring, self._oldest_held
        ring[index] = self.sim.now + self.latency
        self._held -= 1
        if self._held:
            # The next held entry, in the order the buffers were taken.
            index = (index + 1) % size
            while ring[index] != HELD:
                index = (index + 1) % size
            self._oldest_held = index
        if self.queue:
            self._schedule_wake()

    def utilisation(self, elapsed_ps: int) -> float:
        return self.busy_ps / elapsed_ps if elapsed_ps > 0 else 0.0


class Link:
    """A full-duplex link joining two ports; each direction is an independent ``Channel``."""

    def __init__(
        self,
        sim: Simulator,
        a: Port,
        b: Port,
        latency: int,
        bandwidth: int | None = None,
        flit_bytes: int = 64,
        credits: int | None = None,
        name: str | None = None,
    ) -> None:
        if latency.__class__ is not int or latency < 0:
            raise ConfigurationError(
                f"link {a.path} <-> {b.path}: latency must be a non-negative int of "
                f"picoseconds, got {latency!r}"
            )
        if bandwidth is not None and (bandwidth.__class__ is not int or bandwidth <= 0):
            raise ConfigurationError(
                f"link {a.path} <-> {b.path}: bandwidth must be a positive int of bytes/s "
                f"(or None for unlimited), got {bandwidth!r}"
            )
        if flit_bytes.__class__ is not int or flit_bytes <= 0:
            raise ConfigurationError(
                f"link {a.path} <-> {b.path}: flit size must be a positive number of bytes, "
                f"got {flit_bytes!r}"
            )
        if credits is not None and (credits.__class__ is not int or credits <= 0):
            raise ConfigurationError(
                f"link {a.path} <-> {b.path}: credits must be a positive int (or None for "
                f"unlimited), got {credits!r}"
            )
        for port in (a, b):
            if port.tx is not None:
                raise PortError(f"port {port.path} is already connected to {port.peer!r}")
        if a is b:
            raise PortError(f"port {a.path} cannot be linked to itself")
        self.name = name or f"{a.path}<->{b.path}"
        self.a = a
        self.b = b
        self.ab = Channel(sim, a, b, latency, bandwidth, flit_bytes, credits)
        self.ba = Channel(sim, b, a, latency, bandwidth, flit_bytes, credits)
        a.tx, b.rx = self.ab, self.ab
        b.tx, a.rx = self.ba, self.ba

    def __repr__(self) -> str:
        return f"<Link {self.name}>"
