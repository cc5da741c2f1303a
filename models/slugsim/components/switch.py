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

An ingress buffer is freed when its message moves on: at once when the egress port has a credit
for it (the usual case), else when the message leaves the egress backlog, where it waits for the
next hop's credits (``credit_stalls``, ``max_backlog``). A congested output therefore fills the
ingress buffers of the ports feeding it and stalls the links behind them, hop by hop, as credit
flow control does in a real fabric; the backlog of one egress port is bounded by the ingress
buffers of the switch. (Buffers are per ingress port and shared by all outputs, so a blocked
output can block other traffic arriving on the same port: head-of-line blocking, which is what
a switch without virtual output queues does.)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..fabric.params import SwitchParams
from ..kernel import Channel, Component, Port, SimulationError, Simulator


class SwitchPort:
    """One port: the egress channel and its queueing counters. Message counts per direction are
    the link channels' own (``port.rx.messages`` in, ``tx.messages`` out)."""

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


class Switch(Component):
    def __init__(self, sim: Simulator, name: str, params: SwitchParams) -> None:
        super().__init__(sim, name)
        self.params = params
        self.switch_ports: list[SwitchPort] = []
        # PID -> egress port, and PID -> that port's channel; filled in place by set_route.
        self.route: list[SwitchPort | None] = []
        self._route_tx: list[Channel | None] = []

    def _make_receive(self, port: Port) -> Callable[[Any], None]:
        """The handler of ``port``: a closure over the switch's routing lists, so that
        forwarding a message touches the shared table and the egress channel, not per-port
        objects (at fabric scale each object a message touches is a likely cache miss). The
        ports' objects are read only when the message has to wait."""
        route, route_tx = self.route, self._route_tx
        unroutable = self.unroutable

        def receive(msg: Any) -> None:
            tx = route_tx[msg.dpid]
            if tx is None:
                unroutable(msg)
            # Time the message will wait for the egress serialiser after the pipeline.
            wait = tx.busy_until - tx.sim.now - tx.pipeline  # type: ignore[union-attr]
            tx.send(msg)  # type: ignore[union-attr]
            queue = tx.queue  # type: ignore[union-attr]
            if wait > 0 or queue:
                out = route[msg.dpid]
                assert out is not None
                if wait > 0:
                    out.waited += 1
                    out.wait_ps += wait
                    if wait > out.max_wait_ps:
                        out.max_wait_ps = wait
                if queue:
                    # Out of egress credits: the message waits in the egress backlog and keeps
                    # its ingress buffer until it moves on (hop-by-hop back-pressure).
                    out.credit_stalls += 1
                    if len(queue) > out.max_backlog:
                        out.max_backlog = len(queue)
                    tx.hold_upstream(port.rx)  # type: ignore[union-attr,arg-type]

        return receive

    def add_switch_port(self, name: str, neighbour: str) -> SwitchPort:
        """A port towards ``neighbour`` (validation has checked the switch has enough ports)."""
        port = self.add_port(name)
        port.handler = self._make_receive(port)
        sp = SwitchPort(self, port, neighbour)
        self.switch_ports.append(sp)
        return sp

    def set_route(self, table: list[SwitchPort | None]) -> None:
        """Program the PBR table (PID -> egress port); the ports' channels must be connected."""
        self.route[:] = table
        self._route_tx[:] = [None if sp is None else sp.tx for sp in table]

    def unroutable(self, msg: Any) -> None:
        raise SimulationError(
            f"switch {self.name} has no route to PID {msg.dpid} ({type(msg).__name__} tag "
            f"{msg.tag}); the routes table in G.graph['routes'] misses that destination"
        )
