"""A CXL switch: per-port ingress buffers, PBR lookup, a fixed pipeline, egress contention.

Each port's receive buffers are the credits its link advertises (``queue_depth`` caps them), so
an upstream sender stalls when the port's buffers are full. A message is looked up by its DPID in
one shared table (a list indexed by PID, built once from ``G.graph["routes"]``: nothing per
request depends on the fabric's size) and handed to the egress port, whose channel carries the
port-to-port ``latency`` as its ``pipeline``: the message starts serialising that much later, or
when the egress link is free, whichever is later. Messages from several ingress ports heading to
one egress port therefore queue behind each other on its serialiser: that is the contention, and
its waiting time is recorded per egress port. One message costs the switch one event (its
arrival).

A message that finds its egress port out of credits waits in the egress backlog
(``credit_stalls``, ``max_backlog``). By default its ingress buffer is freed when it is handed
over, so the switch buffers without bound. With ``hold_ingress`` the buffer is freed only when
the message moves on: a congested output then fills the ingress buffers of the ports feeding it
and stalls the links behind them, hop by hop, as credit flow control does in a real fabric, and
the backlog of one egress port is bounded by the switch's ingress buffers. Buffers are per
ingress port and shared by all outputs (head-of-line blocking, as in a switch without virtual
output queues) and all message classes share them, so a cyclic fabric can deadlock under load;
the run then ends with ``stop: deadlock``.
"""

from __future__ import annotations

from typing import Any

from ..fabric.params import SwitchParams
from ..kernel import Channel, Component, Port, SimulationError, Simulator


class SwitchPort:
    """One port. As an egress port it owns the channel and the queueing counters; as an
    ingress port it forwards messages with the switch's ``forward`` (``receive`` adds holding
    the buffer when the switch has ``hold_ingress``). Message counts per direction are the link
    channels' own (``port.rx.messages`` in, ``tx.messages`` out)."""

    __slots__ = (
        "credit_stalls",
        "max_backlog",
        "max_wait_ps",
        "name",
        "neighbour",
        "port",
        "switch",
        "tx",
        "wait_ps",
        "waited",
    )

    def __init__(self, switch: Switch, port: Port, neighbour: str) -> None:
        self.switch = switch
        self.port = port
        self.name = port.name
        self.neighbour = neighbour
        self.tx: Channel | None = None
        self.waited = 0
        self.wait_ps = 0
        self.max_wait_ps = 0
        self.credit_stalls = 0
        self.max_backlog = 0

    def receive(self, msg: Any) -> None:
        """The port's handler with ``hold_ingress``: forward ``msg``, and if it has to wait in
        the egress backlog, keep its buffer on this port's link until it moves on."""
        switch = self.switch
        switch.forward(msg)
        tx = switch._route_tx[msg.dpid]
        if tx.queue:  # type: ignore[union-attr]
            tx.hold_upstream(self.port.rx)  # type: ignore[union-attr,arg-type]


class Switch(Component):
    def __init__(self, sim: Simulator, name: str, params: SwitchParams) -> None:
        super().__init__(sim, name)
        self.params = params
        self.switch_ports: list[SwitchPort] = []
        # PID -> egress port, and PID -> that port's channel; filled in place by set_route.
        self.route: list[SwitchPort | None] = []
        self._route_tx: list[Channel | None] = []

    def add_switch_port(self, name: str, neighbour: str) -> SwitchPort:
        """A port towards ``neighbour`` (validation has checked the switch has enough ports)."""
        port = self.add_port(name)
        sp = SwitchPort(self, port, neighbour)
        # Without hold_ingress, forwarding does not depend on the ingress port, so every port
        # shares the switch's handler: one object per switch for a message to fetch, not one
        # per port (at 1024 endpoints, 6 fewer cache misses per request).
        port.handler = sp.receive if self.params.hold_ingress else self.forward
        self.switch_ports.append(sp)
        return sp

    def set_route(self, table: list[SwitchPort | None]) -> None:
        """Program the PBR table (PID -> egress port); the ports' channels must be connected."""
        self.route[:] = table
        self._route_tx[:] = [None if sp is None else sp.tx for sp in table]

    def forward(self, msg: Any) -> None:
        """Hand ``msg`` to its egress port. Only the shared table and the egress channel are
        read unless the message has to wait: at fabric scale each object a message touches is
        a likely cache miss. (A closure per port measured 26 more misses per request on the
        1024-endpoint benchmark than a bound method: its cells are objects too.)"""
        tx = self._route_tx[msg.dpid]
        if tx is None:
            self.unroutable(msg)
        # Time the message will wait for the egress serialiser after the pipeline.
        wait = tx.busy_until - tx.sim.now - tx.pipeline  # type: ignore[union-attr]
        tx.send(msg)  # type: ignore[union-attr]
        queue = tx.queue  # type: ignore[union-attr]
        if wait > 0 or queue:
            out = self.route[msg.dpid]
            assert out is not None
            if wait > 0:
                out.waited += 1
                out.wait_ps += wait
                if wait > out.max_wait_ps:
                    out.max_wait_ps = wait
            if queue:
                # Out of egress credits: the message waits in the egress backlog (with
                # hold_ingress, SwitchPort.receive then holds its ingress buffer).
                out.credit_stalls += 1
                if len(queue) > out.max_backlog:
                    out.max_backlog = len(queue)

    def unroutable(self, msg: Any) -> None:
        raise SimulationError(
            f"switch {self.name} has no route to PID {msg.dpid} ({type(msg).__name__} tag "
            f"{msg.tag}); the routes table in G.graph['routes'] misses that destination"
        )
