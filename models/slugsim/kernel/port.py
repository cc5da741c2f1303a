"""Ports and links: latency, flit-serialised bandwidth and per-class credits, per direction.

A ``Link`` joins two ports; each direction is a ``Channel``, one wire: one serialiser, one
latency, one bandwidth. The wire carries several message classes, each a ``VirtualChannel``
with its own receive buffers (credits) and its own egress backlog, as the CXL link layer keeps
credits per channel (M2S Req, S2M DRS, ...). A message's class is its ``VC`` class attribute,
a small int (0..15); its size on the wire is its ``wire_bytes``.

A message occupies a whole number of flits (``ceil(wire_bytes / flit_bytes)``, at least one).
Once its class has a credit it is serialised behind the messages already accepted, whatever
their class, at the link bandwidth, and is delivered ``latency`` after its last flit leaves.
A message whose class is out of credits waits in that class's backlog and takes no wire time,
so a blocked class never delays another. A credit comes back ``latency`` after the receiver
frees the buffer.

Each class's credits are a ring with one entry per buffer, in the order the buffers were taken,
holding the time each one's credit is back: the next message may go once the entry at the
ring's head (the buffer taken ``credits`` messages ago) is back. A receiver that frees its
buffer as its handler returns has that time written when the message is sent, since the
delivery time is known then; a receiver that frees buffers itself fills the oldest entry it
holds when it calls ``release``. An uncongested link therefore costs one event per message.
"""

from __future__ import annotations

from array import array
from collections import deque
from collections.abc import Callable, Mapping
from enum import IntEnum
from functools import partial
from typing import Any, Protocol

from .errors import ConfigurationError, PortError, SimulationError
from .simulator import Event, Simulator

_S_PER_PS = 10**12

# Message classes per link direction: VC numbers are 0 .. CLASSES - 1.
CLASSES = 16
_NO_CLASSES: tuple[None, ...] = (None,) * CLASSES

# Receive buffers per class (0: unlimited), each plan kept once for every link that has it.
_CREDIT_PLANS: dict[tuple[int, ...], tuple[int, ...]] = {}

# (flit bytes, bandwidth) -> {message bytes: (serialisation ps, packed counter increment)}
_COST_TABLES: dict[tuple[int, int | None], dict[int, tuple[int, int]]] = {}

# A class's packed counters (see VirtualChannel._counts): busy picoseconds in bits 0-63 (213
# days of serialisation), flits in bits 64-103, messages from bit 104 up (a Python int does
# not overflow).
_FLITS = 64
_MESSAGES = 104
_BUSY_MASK = (1 << _FLITS) - 1
_FLITS_MASK = (1 << (_MESSAGES - _FLITS)) - 1

# A ring entry whose buffer the receiver still holds. Also the latest time a credit can be
# back: the ring holds 64-bit ints, so a run cannot go past 106 days of simulated time.
HELD = (1 << 63) - 1


class Crossing(IntEnum):
    """Which way a message crosses the port a probe watches."""

    IN = 0  # delivered to the port
    OUT = 1  # accepted by the link for transmission from the port


Handler = Callable[[Any], object]
Probe = Callable[["Port", Any, Crossing, int], object]


class Owner(Protocol):
    """What a port needs of its component."""

    name: str
    sim: Simulator


class Port:
    """A named endpoint of a component.

    ``send(msg)`` is the one way to send: the message goes on the virtual channel of its class
    (``msg.VC``), at once when that class has a credit, otherwise into the class's backlog. It
    returns when the message's first flit goes on the wire, or -1 when it waits for a credit.

    Incoming messages go to ``handler`` when one is set, otherwise into an inbox that processes
    read with ``yield port.recv()``. With ``auto_release`` (the default) the receive buffer is
    freed, and a credit sent back, as soon as the handler returns; a component that holds on to
    messages (a queue that drains later) sets ``auto_release=False`` and calls ``release(vc)``.

    ``pipeline`` is sender-side latency ahead of serialisation on this port's egress (a switch's
    port-to-port latency, a host's miss path): it delays delivery but not the credit return,
    and it runs while a message waits for a credit.

    Probes added with ``add_probe`` see every message crossing the port and change nothing.
    """

    __slots__ = (
        "_auto_release",
        "_handler",
        "_inbox",
        "_pipeline",
        "_probes",
        "_waiters",
        "name",
        "owner",
        "rx",
        "send",
        "tx",
    )

    # Bound to the link's channel when the port is linked, so that a send is one call; it
    # returns when the message's first flit goes on the wire, or -1 when it waits for a credit.
    send: Callable[[Any], int]

    def __init__(
        self, owner: Owner, name: str, handler: Handler | None = None, auto_release: bool = True
    ) -> None:
        self.owner = owner
        self.name = name
        self.tx: Channel | None = None
        self.rx: Channel | None = None
        self.send = self._send_unconnected
        self._handler = handler
        self._auto_release = auto_release
        self._pipeline = 0
        self._probes: list[Probe] | None = None
        # Created on first use: most ports have a handler, and fabrics have thousands of ports.
        self._inbox: deque[Any] | None = None
        self._waiters: deque[Event] | None = None

    # The receiving channel decides from these how to deliver (``Channel._bind_delivery``);
    # a change applies to messages sent after it.
    @property
    def handler(self) -> Handler | None:
        return self._handler

    @handler.setter
    def handler(self, handler: Handler | None) -> None:
        self._handler = handler
        if self.rx is not None:
            self.rx._bind_delivery()

    @property
    def auto_release(self) -> bool:
        return self._auto_release

    @auto_release.setter
    def auto_release(self, value: bool) -> None:
        self._auto_release = value
        if self.rx is not None:
            self.rx._bind_delivery()

    @property
    def pipeline(self) -> int:
        return self._pipeline

    @pipeline.setter
    def pipeline(self, ps: int) -> None:
        if ps.__class__ is not int or ps < 0:
            raise ConfigurationError(
                f"port {self.path}: pipeline must be a non-negative int of picoseconds, "
                f"got {ps!r}; convert with slugsim.kernel.ns() or parse_time()"
            )
        self._pipeline = ps
        if self.tx is not None:
            self.tx._pipeline = ps

    @property
    def path(self) -> str:
        return f"{self.owner.name}.{self.name}"

    @property
    def connected(self) -> bool:
        return self.tx is not None

    @property
    def peer(self) -> Port | None:
        return None if self.tx is None else self.tx.dst

    def _send_unconnected(self, msg: Any) -> int:
        raise PortError(
            f"cannot send on port {self.path}: it is not connected; "
            f"join it to another port with Link(sim, {self.path}, other_port, ...)"
        )

    def forward(self, msg: Any, ingress: Port) -> bool:
        """Send ``msg``, which has just arrived on ``ingress``; return True when it has to wait
        in this port's backlog for a credit.

        While it waits it keeps its receive buffer on ``ingress`` (same class), which is freed
        only when the message leaves the backlog: a congested egress back-pressures the links
        feeding it, hop by hop (a switch with ``hold_ingress``). Call it from ``ingress``'s
        handler, as the message arrives. (A port whose component frees buffers itself holds
        them already, and keeps freeing them itself.)
        """
        if self.send(msg) >= 0:
            return False
        tx = self.tx
        assert tx is not None  # send() refuses an unconnected port
        vc = tx._vcs[msg.VC]
        upstream = None if ingress.rx is None else ingress.rx._vcs[msg.VC]
        if upstream is not None and upstream._prepaid:
            # Its credit was written, at send time, to be back ``latency`` after its arrival,
            # which is now: hold that entry instead, until the message moves on.
            waiting = vc._waiting  # type: ignore[union-attr]
            waiting[-1] = (waiting[-1][0], upstream)  # type: ignore[index]
            upstream._hold(tx.sim.now + upstream.channel.latency)
        return True

    def can_send(self, vc: int) -> bool:
        """True when a message of class ``vc`` sent now would be accepted at once (a credit,
        and no earlier message of its class waiting)."""
        tx = self.tx
        if tx is None:
            return False
        opened = tx._vcs[vc]
        return opened is None or opened.has_credit()

    def egress_wait(self) -> int:
        """Picoseconds a message sent now would wait for the wire after its pipeline."""
        tx = self.tx
        if tx is None:
            return 0
        wait = tx.busy_until - tx.sim.now - tx._pipeline
        return wait if wait > 0 else 0

    def backlog(self, vc: int) -> int:
        """Messages of class ``vc`` waiting for credits on this port's egress."""
        tx = self.tx
        opened = None if tx is None else tx._vcs[vc]
        return 0 if opened is None or opened._queue is None else len(opened._queue)

    def release(self, vc: int) -> None:
        """Free the oldest receive buffer of class ``vc`` this port holds; its credit goes back
        to the sender. For ports whose component frees buffers itself (``auto_release=False``);
        a class with unlimited buffers has nothing to free."""
        rx = self.rx
        if rx is None:
            raise PortError(f"cannot release on port {self.path}: it is not connected")
        opened = rx._vcs[vc] if vc.__class__ is int and 0 <= vc < CLASSES else None
        if opened is None:
            # A class never received holds no buffer (release says so), or vc is no class.
            opened = rx.virtual_channel(vc)
        opened.release()

    def hold(self, msg: Any) -> None:
        """Keep the receive buffer of ``msg``, being delivered to this port's handler now, until
        ``release(msg.VC)``: a component that takes messages into a bounded queue holds those
        it cannot take yet, so its sender gets no credit for them meanwhile. The buffer was to
        be freed as the handler returns; a port whose component frees buffers itself
        (``auto_release=False``) holds it already, and a class without credits has none."""
        rx = self.rx
        if rx is None:
            raise PortError(f"cannot hold on port {self.path}: it is not connected")
        opened = rx._vcs[msg.VC]
        if opened is not None and opened._prepaid:
            opened._hold(rx.sim.now + rx.latency)

    def recv(self) -> Event:
        """An event carrying the next inbox message (for processes; handler must be unset)."""
        event = Event(self.owner.sim)
        if self._inbox:
            msg = self._inbox.popleft()
            event.succeed(msg)
            if self._auto_release:
                self.rx._vcs[msg.VC].release()  # type: ignore[union-attr]
        else:
            if self._waiters is None:
                self._waiters = deque()
            self._waiters.append(event)
        return event

    # -- probes ------------------------------------------------------------------------------

    def add_probe(self, probe: Probe) -> None:
        """Call ``probe(port, msg, direction, time)`` for every message crossing this port,
        each direction in wire order: ``Crossing.OUT`` when the link accepts a message this
        port sends (it has its credit), with the time its first flit goes on the wire;
        ``Crossing.IN`` when a message is delivered here, just before the handler runs, with
        the current time. For ``OUT``, ``port.tx.ready_at`` is when the message was ready for
        the wire (sent, and through the port's pipeline): it waited from then until ``time``
        for the wire or a credit. A probe observes only; it sees the messages sent after it
        was added.
        """
        if self._probes is None:
            self._probes = []
        self._probes.append(probe)
        self._bind_observers()

    def remove_probe(self, probe: Probe) -> None:
        if not self._probes or probe not in self._probes:
            raise PortError(f"port {self.path} has no probe {probe!r} to remove")
        self._probes.remove(probe)
        if not self._probes:
            self._probes = None
        self._bind_observers()

    def _bind_observers(self) -> None:
        # Without probes neither the delivery nor the send looks for them.
        if self.rx is not None:
            self.rx._bind_delivery()
        if self.tx is not None:
            self.tx._observed = self._probes is not None

    def _observe(self, msg: Any, direction: Crossing, time: int) -> None:
        for probe in self._probes or ():
            probe(self, msg, direction, time)

    def _observe_then_handle(self, handler: Handler, msg: Any) -> None:
        """Direct delivery to ``handler`` with probes attached."""
        self._observe(msg, Crossing.IN, self.owner.sim.now)
        handler(msg)

    def _deliver(self, msg: Any) -> None:
        """The general delivery: inbox, waiting process, or a handler with buffers to free."""
        if self._probes:
            self._observe(msg, Crossing.IN, self.owner.sim.now)
        handler = self._handler
        if handler is not None:
            handler(msg)
        elif self._waiters:
            self._waiters.popleft().succeed(msg)
        else:
            if self._inbox is None:
                self._inbox = deque()
            self._inbox.append(msg)
            return
        if self._auto_release:
            self.rx._vcs[msg.VC].release()  # type: ignore[union-attr]

    def __repr__(self) -> str:
        return f"<Port {self.path}>"


class VirtualChannel:
    """One message class on one link direction: its receive buffers (credits), its egress
    backlog and its counters. Made on first use of the class."""

    # What every message reads or writes comes first: a message then touches fewer cache
    # lines of the object.
    __slots__ = (  # noqa: RUF023
        "_queue",
        "_credits",
        "_ring",
        "_head",
        "_deliver",
        "_prepaid",
        "_counts",
        "channel",
        "index",
        "_waiting",
        "_held",
        "_oldest_held",
        "_wake_pending",
    )

    def __init__(self, channel: Channel, index: int, credits: int) -> None:
        self.channel = channel
        self.index = index
        self._credits = credits  # the ring's size; 0: unlimited, no ring
        # The times are raw 64-bit ints in an array, not int objects in a deque: a message then
        # allocates and frees no int for its credit, and touches one line of the ring. At fabric
        # scale those objects, rarely in cache, were the largest cost of a channel.
        self._ring = array("q", bytes(8 * credits))
        self._head = 0  # index of the entry the next message needs
        self._held = 0  # entries at HELD
        self._oldest_held = 0  # index of the oldest of those, when there are any
        self._deliver: Handler = channel.dst._deliver
        self._prepaid = False
        # Egress backlog, made when the class first runs out of credits, and beside it for each
        # waiting message: when its pipeline is done (it runs while the message waits) and the
        # upstream class whose buffer it still holds, if any.
        self._queue: deque[Any] | None = None
        self._waiting: deque[tuple[int, VirtualChannel | None]] | None = None
        self._wake_pending = False
        # busy_ps, flits and messages packed into one int (bit offsets above), so a message
        # updates one counter attribute instead of three. Each update of an int attribute frees
        # the old int; in a fabric of thousands of channels that int and its allocator pool are
        # rarely in cache, and on the 1024-endpoint benchmark those misses, not the arithmetic,
        # were the cost. The channel's totals are the sums over its classes.
        self._counts = 0

    @property
    def credits(self) -> int:
        """Receive buffers of this class (0: unlimited)."""
        return self._credits

    @property
    def busy_ps(self) -> int:
        return self._counts & _BUSY_MASK

    @property
    def flits(self) -> int:
        return (self._counts >> _FLITS) & _FLITS_MASK

    @property
    def messages(self) -> int:
        return self._counts >> _MESSAGES

    @property
    def backlog(self) -> list[Any]:
        """The messages waiting for a credit, oldest first."""
        return [] if self._queue is None else [*self._queue]

    def credit_returns(self) -> list[int]:
        """When each buffer's credit is back (HELD while the receiver holds it), in the order
        the next messages will need them."""
        ring, size, head = self._ring, self._credits, self._head
        return [ring[(head + i) % size] for i in range(size)]

    def has_credit(self) -> bool:
        if self._queue:
            return False
        return not self._credits or self._ring[self._head] <= self.channel.sim.now

    def release(self) -> None:
        """The receiver frees the oldest buffer it holds: its credit is back ``latency`` from
        now."""
        size = self._credits
        if not size:
            return
        channel = self.channel
        if not self._held:
            raise SimulationError(
                f"{channel.dst.path} released a receive buffer of class {self.index} it does "
                "not hold: release once per message received, and only on a port whose "
                "buffers are not freed as its handler returns"
            )
        ring, index = self._ring, self._oldest_held
        ring[index] = channel.sim.now + channel.latency
        self._held -= 1
        if self._held:
            # The next held entry, in the order the buffers were taken.
            index = (index + 1) % size
            while ring[index] != HELD:
                index = (index + 1) % size
            self._oldest_held = index
        if self._queue:
            self._schedule_wake()

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
            f"{self.channel.dst.path}: no buffer of a message arriving now to hold; call "
            "forward() from the receiving port's handler, as the message arrives"
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

    def _schedule_wake(self) -> None:
        """The class is blocked: wake it when the credit at the ring's head is back (one the
        receiver still holds wakes it from ``release`` instead)."""
        if self._wake_pending:
            return
        when = self._ring[self._head]
        if when == HELD:
            return
        self._wake_pending = True
        sim = self.channel.sim
        sim._post(when if when > sim.now else sim.now, self._wake)

    def _wake(self) -> None:
        self._wake_pending = False
        channel, queue, waiting = self.channel, self._queue, self._waiting
        ring, now = self._ring, channel.sim.now
        while queue and waiting and ring[self._head] <= now:
            ready, upstream = waiting.popleft()
            channel._transmit(self, queue.popleft(), ready)
            if upstream is not None:
                upstream.release()
        if queue:
            self._schedule_wake()

    def __repr__(self) -> str:
        return f"<VirtualChannel {self.index} of {self.channel!r}>"


class Channel:
    """One direction of a link: one wire shared by the message classes it carries."""

    # Slots are laid out in this order: what every message reads or writes comes first.
    __slots__ = (  # noqa: RUF023
        "sim",
        "_vcs",
        "_cost",
        "_pipeline",
        "busy_until",
        "latency",
        "_observed",
        "_credit_plan",
        "_bandwidth",
        "_ser_num",
        "dst",
        "flit_bytes",
        "src",
        "ready_at",
    )

    def __init__(
        self,
        sim: Simulator,
        src: Port,
        dst: Port,
        latency: int,
        bandwidth: int | None,
        flit_bytes: int,
        credit_plan: tuple[int, ...],
    ) -> None:
        self.sim = sim
        self.src = src
        self.dst = dst
        self.latency = latency
        self._pipeline = src._pipeline  # the sending port's (Port.pipeline sets both)
        self.flit_bytes = flit_bytes
        self._bandwidth = bandwidth
        self._ser_num = flit_bytes * _S_PER_PS
        # Shared by every channel with the same flit size and bandwidth: one small table stays
        # in cache instead of one per channel (a fabric has thousands of channels).
        self._cost = _COST_TABLES.setdefault((flit_bytes, bandwidth), {})
        self._credit_plan = credit_plan  # buffers per class, 0: unlimited
        # Indexed by class; a class gets its VirtualChannel when first used, since most
        # classes never appear on most links of a fabric. A tuple, rebuilt when a class opens
        # (rarely), holds its items inline, where a list keeps them in a second block: one
        # object fewer for a message to touch.
        self._vcs: tuple[VirtualChannel | None, ...] = _NO_CLASSES
        self.busy_until = 0
        # Whether the sending port has probes. A check here, not a send rebound on the port:
        # a model that keeps ``port.send`` (a bound method) from before a probe was added
        # would bypass a rebound send, and the EMC, a probe, would silently miss messages.
        self._observed = src._probes is not None
        # For probes: when the message they are shown was ready for the wire (its pipeline
        # done); what it waited after that, for the wire or a credit, is ``start - ready_at``.
        self.ready_at = 0

    # -- counters ----------------------------------------------------------------------------

    def _opened(self) -> list[VirtualChannel]:
        return [vc for vc in self._vcs if vc is not None]

    @property
    def busy_ps(self) -> int:
        """Total serialisation time so far (utilisation = busy_ps / elapsed)."""
        return sum(vc.busy_ps for vc in self._opened())

    @property
    def flits(self) -> int:
        return sum(vc.flits for vc in self._opened())

    @property
    def messages(self) -> int:
        return sum(vc.messages for vc in self._opened())

    def class_messages(self) -> dict[int, int]:
        """Messages sent so far, by class (VC), for the classes used."""
        return {vc.index: vc.messages for vc in self._opened()}

    def class_flits(self) -> dict[int, int]:
        """Flits sent so far, by class (VC), for the classes used."""
        return {vc.index: vc.flits for vc in self._opened()}

    def utilisation(self, elapsed_ps: int) -> float:
        return self.busy_ps / elapsed_ps if elapsed_ps > 0 else 0.0

    # -- classes -----------------------------------------------------------------------------

    def virtual_channel(self, index: int) -> VirtualChannel:
        """The virtual channel of class ``index`` (made now if the class was never used)."""
        if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < CLASSES:
            raise PortError(
                f"{self.src.path} -> {self.dst.path}: no message class {index!r}; a class (VC) "
                f"is an int from 0 to {CLASSES - 1}"
            )
        vc = self._vcs[index]
        if vc is None:
            vc = VirtualChannel(self, index, self._credit_plan[index])
            self._vcs = (*self._vcs[:index], vc, *self._vcs[index + 1 :])
            self._bind_class_delivery(vc)
        return vc

    def _open_for(self, msg: Any) -> VirtualChannel:
        """The first message of its class on this channel: check it can be sent."""
        if not hasattr(msg, "wire_bytes"):
            raise PortError(
                f"cannot send {msg!r} on {self.src.path}: a message needs a wire_bytes class "
                "attribute (its size on the link) beside its VC"
            )
        return self.virtual_channel(msg.VC)

    # -- sending -----------------------------------------------------------------------------

    def _send(self, msg: Any) -> int:
        """``Port.send`` of the sending port: return when the message's first flit goes on the
        wire, or -1 when it waits for a credit."""
        try:
            vc = self._vcs[msg.VC]
        except (AttributeError, IndexError, TypeError):
            raise PortError(
                f"cannot send {msg!r} on {self.src.path}: a message needs a VC class attribute, "
                f"its message class, an int from 0 to {CLASSES - 1}"
            ) from None
        if vc is None:
            vc = self._open_for(msg)
        # NOTE: the credit check and _transmit's immediate case are inlined for performance
        # (one call fewer per message; docs/performance.md).
        queue = vc._queue
        if not queue:
            sim = self.sim
            size = vc._credits
            if not size or vc._ring[vc._head] <= sim.now:
                cost = self._cost.get(msg.wire_bytes)
                if cost is None:
                    cost = self._cost[msg.wire_bytes] = self._cost_of(msg.wire_bytes)
                ser, count = cost
                vc._counts += count
                start = sim.now + self._pipeline
                if ser:
                    busy = self.busy_until
                    if busy > start:
                        start = busy
                    end = self.busy_until = start + ser
                    when = end + self.latency
                else:
                    when = start + self.latency
                sim._post(when, vc._deliver, msg)
                if size:
                    head = vc._head
                    vc._head = head + 1 if head + 1 < size else 0
                    if vc._prepaid:
                        vc._ring[head] = when + self.latency
                    else:
                        vc._ring[head] = HELD
                        vc._note_held(head)
                if self._observed:
                    self.ready_at = sim.now + self._pipeline
                    self.src._observe(msg, Crossing.OUT, start)
                return start
            if queue is None:
                queue = vc._queue = deque()
                vc._waiting = deque()
        queue.append(msg)
        vc._waiting.append((self.sim.now + self._pipeline, None))  # type: ignore[union-attr]
        if len(queue) == 1:
            vc._schedule_wake()
        return -1

    def _transmit(self, vc: VirtualChannel, msg: Any, ready: int = -1) -> int:
        """Serialise ``msg`` once the pipeline is done: ``pipeline`` from now, or at ``ready``
        for a message whose pipeline ran while it waited for a credit; return when its first
        flit goes on the wire. The caller has checked that the credit at the head of its
        class's ring is back; this takes it."""
        sim = self.sim
        cost = self._cost.get(msg.wire_bytes)
        if cost is None:
            cost = self._cost[msg.wire_bytes] = self._cost_of(msg.wire_bytes)
        ser, count = cost
        vc._counts += count
        start = sim.now
        if ready < 0:
            start += self._pipeline
        elif ready > start:
            start = ready
        if ser:
            busy = self.busy_until
            if busy > start:
                start = busy
            end = self.busy_until = start + ser
            when = end + self.latency
        else:
            when = start + self.latency
        sim._post(when, vc._deliver, msg)
        size = vc._credits
        if size:
            head = vc._head
            vc._head = head + 1 if head + 1 < size else 0
            if vc._prepaid:
                # The receiver frees the buffer as its handler returns, at ``when``: the credit
                # is back ``latency`` later (what ``release`` would write then).
                vc._ring[head] = when + self.latency
            else:
                vc._ring[head] = HELD
                vc._note_held(head)
        if self._observed:
            self.ready_at = ready if ready >= 0 else sim.now + self._pipeline
            self.src._observe(msg, Crossing.OUT, start)
        return start

    def _cost_of(self, size: int) -> tuple[int, int]:
        """(serialisation ps, packed counter increment) of a message of ``size`` bytes;
        memoised per size."""
        flit_bytes = self.flit_bytes
        nflits = -(-size // flit_bytes) if size > flit_bytes else 1
        ser = 0 if self._bandwidth is None else -(-nflits * self._ser_num // self._bandwidth)
        return ser, (1 << _MESSAGES) | (nflits << _FLITS) | ser

    # -- binding -----------------------------------------------------------------------------

    def _bind_delivery(self) -> None:
        """Choose again how each class's messages reach the receiving port; called when the
        port's ``handler``, ``auto_release`` or probes change, and applies to messages sent
        after that."""
        for vc in self._opened():
            self._bind_class_delivery(vc)

    def _bind_class_delivery(self, vc: VirtualChannel) -> None:
        """A port with a handler that frees its buffer as the handler returns (the common case)
        gets the message straight from the event loop: the credit return is recorded at send
        time, since the delivery time is known. The delivery then touches neither the port nor
        this channel, which at fabric scale (thousands of channels, few of them in cache)
        measured as the largest single saving per message. Any other port (no handler, or
        buffers freed by the component) goes through ``Port._deliver``.
        """
        port = self.dst
        handler = port._handler
        direct = handler is not None and (port._auto_release or not vc._credits)
        if not direct:
            vc._deliver = port._deliver
        elif port._probes is None:
            vc._deliver = handler  # type: ignore[assignment]
        else:
            vc._deliver = partial(port._observe_then_handle, handler)
        vc._prepaid = direct and bool(vc._credits)

    def __repr__(self) -> str:
        return f"<Channel {self.src.path} -> {self.dst.path}>"


def _credit_plan(credits: int | Mapping[int, int] | None, where: str) -> tuple[int, ...]:
    """Receive buffers per class (0: unlimited) from ``Link``'s ``credits``."""
    if credits is None:
        return (0,) * CLASSES
    if isinstance(credits, Mapping):
        plan = [0] * CLASSES
        for vc, buffers in credits.items():
            if not isinstance(vc, int) or isinstance(vc, bool) or not 0 <= vc < CLASSES:
                raise ConfigurationError(
                    f"{where}: credits maps a message class (VC, an int from 0 to "
                    f"{CLASSES - 1}) to its receive buffers; got the key {vc!r}"
                )
            if not _positive_int(buffers):
                raise ConfigurationError(
                    f"{where}: credits for class {vc} must be a positive int of receive "
                    f"buffers (leave the class out for unlimited), got {buffers!r}"
                )
            plan[vc] = buffers
        return tuple(plan)
    if not _positive_int(credits):
        raise ConfigurationError(
            f"{where}: credits must be a positive int of receive buffers per class, a mapping "
            f"VC -> buffers, or None for unlimited; got {credits!r}"
        )
    return (credits,) * CLASSES


def _positive_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


class Link:
    """A full-duplex link joining two ports; each direction is an independent ``Channel``.

    ``credits``: None (unlimited for every class), an int (that many receive buffers for every
    class), or a mapping VC -> buffers (a class left out is unlimited). Both directions get the
    same buffers.
    """

    def __init__(
        self,
        sim: Simulator,
        a: Port,
        b: Port,
        latency: int,
        bandwidth: int | None = None,
        flit_bytes: int = 64,
        credits: int | Mapping[int, int] | None = None,
        name: str | None = None,
    ) -> None:
        where = f"link {a.path} <-> {b.path}"
        if latency.__class__ is not int or latency < 0:
            raise ConfigurationError(
                f"{where}: latency must be a non-negative int of picoseconds, got {latency!r}"
            )
        if bandwidth is not None and (bandwidth.__class__ is not int or bandwidth <= 0):
            raise ConfigurationError(
                f"{where}: bandwidth must be a positive int of bytes/s (or None for "
                f"unlimited), got {bandwidth!r}"
            )
        if flit_bytes.__class__ is not int or flit_bytes <= 0:
            raise ConfigurationError(
                f"{where}: flit size must be a positive number of bytes, got {flit_bytes!r}"
            )
        plan = _credit_plan(credits, where)
        plan = _CREDIT_PLANS.setdefault(plan, plan)  # one tuple for all links alike
        for port in (a, b):
            if port.tx is not None:
                raise PortError(f"port {port.path} is already connected to {port.peer!r}")
        if a is b:
            raise PortError(f"port {a.path} cannot be linked to itself")
        self.name = name or f"{a.path}<->{b.path}"
        self.a = a
        self.b = b
        self.ab = Channel(sim, a, b, latency, bandwidth, flit_bytes, plan)
        self.ba = Channel(sim, b, a, latency, bandwidth, flit_bytes, plan)
        a.tx, b.rx = self.ab, self.ab
        b.tx, a.rx = self.ba, self.ba
        a.send, b.send = self.ab._send, self.ba._send

    def __repr__(self) -> str:
        return f"<Link {self.name}>"
