"""A CXL switch: per-port ingress buffers, a PBR lookup, a fixed pipeline, egress contention.

Each port's receive buffers are the credits its link advertises per message class
(``queue_depth`` caps them). A message is looked up by its DPID in the switch's PBR table (a
list indexed by PID, built once from the fabric's routes) and handed to the egress port, whose
``pipeline`` is the port-to-port ``latency``: the message starts serialising that much later, or
when the egress wire is free, whichever is later. Messages from several ingress ports heading
to one egress port queue behind each other on its wire: that is the contention, and its waiting
time is recorded per egress port. A message costs the switch one event (its arrival).

The switch queues per message class: a message whose class is out of credits at the egress
port waits in that class's backlog (``credit_stalls``, ``max_backlog``) while other classes
go on. By default its ingress buffer is freed when it is handed over, so the switch buffers
without bound. With ``hold_ingress`` the buffer is held until the message moves on: a congested
output then fills the ingress buffers feeding it and stalls the links behind them, hop by hop,
as credit flow control does. Buffers are per ingress port and class, shared by all outputs
(head-of-line blocking within a class, as in a switch without virtual output queues).
"""

from __future__ import annotations

from typing import Any

from ..contract import EITHER, Component, PortSpec, component
from ..fabric.params import SwitchParams
from ..kernel import Port, SimulationError


class SwitchPort:
    """One port of the switch and what it counted as an egress port. Message counts per
    direction are its link's (``port.rx.messages`` in, ``port.tx.messages`` out)."""

    __slots__ = (
        "credit_stalls",
        "max_backlog",
        "max_wait_ps",
        "neighbour",
        "port",
        "switch",
        "wait_ps",
        "waited",
    )

    def __init__(self, switch: Switch, port: Port, neighbour: str) -> None:
        self.switch = switch
        self.port = port
        self.neighbour = neighbour
        self.waited = 0  # messages that waited for the egress wire
        self.wait_ps = 0
        self.max_wait_ps = 0
        self.credit_stalls = 0  # messages that waited for egress credits
        self.max_backlog = 0

    def receive(self, msg: Any) -> None:
        """The port's handler under ``hold_ingress``."""
        self.switch.forward(msg, self.port)

    def stats(self) -> dict[str, Any]:
        sent = self.port.tx.messages  # type: ignore[union-attr]
        return {
            "neighbour": self.neighbour,
            "received": self.port.rx.messages,  # type: ignore[union-attr]
            "sent": sent,
            "queued": self.waited,
            "mean_queue_ns": round(self.wait_ps / sent / 1000, 3) if sent else 0.0,
            "max_queue_ns": round(self.max_wait_ps / 1000, 3),
            "credit_stalls": self.credit_stalls,
            "max_backlog": self.max_backlog,
        }


def _switch_stats_schema() -> dict[str, Any]:
    from ..stats.schema import INT, NUM, STRING, described, map_of, obj

    port = obj(
        {
            "neighbour": described(STRING, "node on the other end"),
            "received": described(INT, "messages in (ingress)"),
            "sent": described(INT, "messages out (egress)"),
            "queued": described(INT, "egress messages that waited"),
            "mean_queue_ns": described(NUM, "mean egress wait over all sent"),
            "max_queue_ns": described(NUM, "longest egress wait"),
            "credit_stalls": described(INT, "egress messages out of credits"),
            "max_backlog": described(INT, "most messages of one class waiting for credits at once"),
        },
        "one switch port",
    )
    return obj({"ports": map_of(port, "by port name")}, "one switch")


@component(
    "switch",
    params=SwitchParams,
    ports=(
        PortSpec(
            "port",
            EITHER,
            {"mem", "cache", "io"},
            max_links="ports",
            doc="a USP or a DSP by what it faces",
        ),
    ),
    section="switches",
    stats_schema=_switch_stats_schema,  # type: ignore[arg-type]
    forwards=True,
)
class Switch(Component):
    """A CXL switch with port-based routing."""

    def build(self) -> None:
        self.latency = self.params.latency  # port to port, each egress port's pipeline
        self.switch_ports: list[SwitchPort] = []
        self.route: list[Port | None] = []  # PID -> egress port (the PBR table)
        # What each port counted as an egress port; read only when a message waits, so that
        # forwarding touches the table and the egress port alone.
        self.counters: dict[Port, SwitchPort] = {}

    def connect(self) -> None:
        by_neighbour: dict[str, SwitchPort] = {}
        for attachment in self.attachments:
            port = attachment.port
            port.pipeline = self.params.latency
            switch_port = SwitchPort(self, port, attachment.peer)
            port.handler = switch_port.receive if self.params.hold_ingress else self.forward
            by_neighbour[attachment.peer] = switch_port
            self.switch_ports.append(switch_port)
        self.route = [None] * len(self.fabric.pids)
        for dest, neighbour in self.fabric.routes(self.name).items():
            pid = self.fabric.pids.get(dest)
            if pid is not None:  # switches are no destination
                self.route[pid] = by_neighbour[neighbour].port
        self.counters = {sp.port: sp for sp in self.switch_ports}

    def receive_buffers(self) -> int:
        return int(self.params.queue_depth)

    def forward(self, msg: Any, ingress: Port | None = None) -> None:
        """Hand ``msg`` to the egress port its DPID routes to. With ``ingress`` (the port it
        came in by, under ``hold_ingress``) a message that has to wait for egress credits keeps
        its ingress buffer until it moves on."""
        port = self.route[msg.dpid]
        if port is None:
            self.unroutable(msg)
        if ingress is None:
            start = port.send(msg)  # type: ignore[union-attr]
        else:
            ahead = port.egress_wait()  # type: ignore[union-attr]
            queued = port.forward(msg, ingress)  # type: ignore[union-attr]
            start = -1 if queued else self.sim.now + self.latency + ahead
        if start < 0:
            # Out of credits for its class: the wait counted is the wire's when it was sent.
            wait = port.egress_wait()  # type: ignore[union-attr]
            backlog = port.backlog(msg.VC)  # type: ignore[union-attr]
            out = self.counters[port]  # type: ignore[index]
            out.credit_stalls += 1
            if backlog > out.max_backlog:
                out.max_backlog = backlog
        else:
            wait = start - self.sim.now - self.latency
        if wait > 0:
            out = self.counters[port]  # type: ignore[index]
            out.waited += 1
            out.wait_ps += wait
            if wait > out.max_wait_ps:
                out.max_wait_ps = wait

    def unroutable(self, msg: Any) -> None:
        raise SimulationError(
            f"switch {self.name} has no route to PID {msg.dpid} ({type(msg).__name__}); the "
            "fabric's routes table misses that destination"
        )

    def stats(self, elapsed: int) -> dict[str, Any]:
        return {"ports": {sp.port.name: sp.stats() for sp in sorted(self.switch_ports, key=_name)}}


def _name(switch_port: SwitchPort) -> str:
    return switch_port.port.name
