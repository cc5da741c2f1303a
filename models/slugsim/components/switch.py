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

Simplification: the ingress buffer is freed when the message is handed to the egress port; a
message that then waits for egress credits waits in the egress channel's queue (reported as
``credit_stalls``), so back-pressure reaches the upstream link only through the receiver's credits.
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


class Switch(Component):
    def __init__(self, sim: Simulator, name: str, params: SwitchParams) -> None:
        super().__init__(sim, name)
        self.params = params
        self.switch_ports: list[SwitchPort] = []
        # PID -> egress port, and PID -> that port's channel; filled in place by set_route.
        self.route: list[SwitchPort | None] = []
        self._route_tx: list[Channel | None] = []
        self._receive = self._make_receive()

    def _make_receive(self) -> Callable[[Any], None]:
        """The handler of every port of this switch: a closure over the routing lists, so that
        forwarding a message touches the switch's shared table and the egress channel, not
        per-port objects (at fabric scale each object a message touches is a likely cache
        miss). The egress port's counters are read only when the message has to wait."""
        route, route_tx = self.route, self._route_tx
        unroutable = self.unroutable

        def receive(msg: Any) -> None:
            tx = route_tx[msg.dpid]
            if tx is None:
                unroutable(msg)
            # Time the message will wait for the egress serialiser after the pipeline.
            wait = tx.busy_until - tx.sim.now - tx.pipeline  # type: ignore[union-attr]
            tx.send(msg)  # type: ignore[union-attr]
            if wait > 0 or tx.queue:  # type: ignore[union-attr]
                out = route[msg.dpid]
                assert out is not None
                if wait > 0:
                    out.waited += 1
                    out.wait_ps += wait
                    if wait > out.max_wait_ps:
                        out.max_wait_ps = wait
                if tx.queue:  # type: ignore[union-attr]
                    out.credit_stalls += 1

        return receive

    def add_switch_port(self, name: str, neighbour: str) -> SwitchPort:
        """A port towards ``neighbour`` (validation has checked the switch has enough ports)."""
        port = self.add_port(name, self._receive)
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
