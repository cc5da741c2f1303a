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
        "route",
        "switch",
        "tx",
        "wait_ps",
        "waited",
    )

    def __init__(self, switch: Switch, port: Port, neighbour: str, route: list[Any]) -> None:
        self.switch = switch
        self.port = port
        self.name = port.name
        self.neighbour = neighbour
        self.route = route
        self.tx: Channel | None = None
        self.waited = 0
        self.wait_ps = 0
        self.max_wait_ps = 0
        self.credit_stalls = 0

    def receive(self, msg: Any) -> None:
        out = self.route[msg.dpid]
        if out is None:
            self.switch.unroutable(msg)
        tx = out.tx
        # Time the message will wait for the egress serialiser after the pipeline.
        wait = tx.busy_until - tx.sim.now - tx.pipeline
        if wait > 0:
            out.waited += 1
            out.wait_ps += wait
            if wait > out.max_wait_ps:
                out.max_wait_ps = wait
        tx.send(msg)
        if tx.queue:
            out.credit_stalls += 1


class Switch(Component):
    def __init__(self, sim: Simulator, name: str, params: SwitchParams) -> None:
        super().__init__(sim, name)
        self.params = params
        self.switch_ports: list[SwitchPort] = []
        # PID -> egress SwitchPort; shared by every port of this switch.
        self.route: list[SwitchPort | None] = []

    def add_switch_port(self, name: str, neighbour: str) -> SwitchPort:
        """A port towards ``neighbour`` (validation has checked the switch has enough ports)."""
        port = self.add_port(name)
        sp = SwitchPort(self, port, neighbour, self.route)
        port.handler = sp.receive
        self.switch_ports.append(sp)
        return sp

    def set_route(self, table: list[SwitchPort | None]) -> None:
        self.route[:] = table

    def unroutable(self, msg: Any) -> None:
        raise SimulationError(
            f"switch {self.name} has no route to PID {msg.dpid} ({type(msg).__name__} tag "
            f"{msg.tag}); the routes table in G.graph['routes'] misses that destination"
        )
