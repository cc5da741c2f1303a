"""Elaboration: a validated fabric graph (``slugsim.fabric.params``) -> live components.

Every node becomes the component its kind registered (``slugsim.contract``); every edge a kernel
link whose ends are ports of the two components, each port recorded as an ``Attachment`` (its
neighbour, the role it plays, the protocols the link carries). Then every component's
``connect`` runs: it binds its handlers and asks the ``Fabric`` what it needs (PIDs, the port
towards a destination, a switch's routes). Nothing here names a kind.

The graph comes from ``slugsim.fabric.SystemBuilder`` or ``slugsim.config.load_topology``,
which validate it; what is left to refuse here are limits of the models themselves (12-bit
PIDs).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any, TypeVar

import networkx as nx

from ..components import Budget, connect
from ..contract import Attachment, Component, kinds
from ..cxl import MessageClass
from ..fabric.params import LinkParams, RunOptions
from ..fabric.routing import route_path
from ..kernel import ConfigurationError, Link, Port, Simulator
from ..stats.breakdown import HopBreakdown

MAX_PIDS = 4096  # 12-bit SPID/DPID (CXL_REFERENCE.md §6.2)

T = TypeVar("T")


class ElaborationError(ConfigurationError):
    """The graph cannot be turned into a runnable system (the message says why and what to do)."""


class Fabric:
    """What a component may ask about the rest of the system while it connects."""

    def __init__(self, graph: nx.Graph, sim: Simulator, budget: Budget) -> None:
        self.graph = graph
        self.sim = sim
        self.budget = budget
        specs = kinds()
        endpoints = sorted(n for n, k in graph.nodes(data="kind") if not specs[k].forwards)
        if len(endpoints) > MAX_PIDS:
            raise ElaborationError(
                f"the fabric has {len(endpoints)} endpoints but PBR IDs are 12 bits (at most "
                f"{MAX_PIDS}, CXL_REFERENCE.md §6.2); split it into several fabrics"
            )
        self.pids: dict[str, int] = {name: pid for pid, name in enumerate(endpoints)}
        self.names_by_pid = endpoints
        self.components: dict[str, Component] = {}
        self.ports: dict[tuple[str, str], Port] = {}  # (node, neighbour) -> node's port
        self._shared: dict[Any, Any] = {}

    def port_towards(self, source: str, dest: str) -> Port:
        """``source``'s port on the first hop of its route to ``dest``."""
        path = route_path(self.graph, source, dest)
        if path is None:
            raise ElaborationError(f"{source} has no route to {dest}")
        return self.ports[source, path[1]]

    def port_towards_pid(self, source: str, pid: int) -> Port:
        return self.port_towards(source, self.names_by_pid[pid])

    def routes(self, switch: str) -> dict[str, str]:
        """The switch's table: destination -> the neighbour to forward to."""
        return dict(self.graph.graph["routes"].get(switch, {}))

    def shared(self, key: Any, make: Callable[[], T]) -> T:
        """One object for every component that asks with an equal ``key``: a read-only part that
        many components use alike (hosts with alike HDM windows share one decoder)."""
        if key not in self._shared:
            self._shared[key] = make()
        return self._shared[key]  # type: ignore[no-any-return]


@dataclass
class System:
    sim: Simulator
    graph: nx.Graph
    run: RunOptions
    budget: Budget
    fabric: Fabric
    components: dict[str, Component] = field(default_factory=dict)
    links: dict[str, Link] = field(default_factory=dict)
    breakdown: HopBreakdown | None = None  # with run.breakdown
    migrations: list[Any] = field(default_factory=list)  # migrate: entries (sim/migration.py)

    @property
    def pids(self) -> dict[str, int]:
        return self.fabric.pids

    @property
    def unmodelled(self) -> list[str]:
        specs = kinds()
        return sorted(n for n, k in self.graph.nodes(data="kind") if not specs[k].modelled)

    def start(self) -> None:
        """Every component schedules its first events at t=0, in name order."""
        for component in self.components.values():
            component.start()


def elaborate(graph: nx.Graph, seed: int | None = None) -> System:
    run = graph.graph["run"]
    sim = Simulator(run.seed if seed is None else seed)
    budget = Budget(sim, run.requests)
    fabric = Fabric(graph, sim, budget)
    system = System(sim, graph, run, budget, fabric)
    specs = kinds()
    for name in sorted(graph.nodes):
        data = graph.nodes[name]
        component = specs[data["kind"]].cls(sim, name, data["params"], fabric)
        system.components[name] = fabric.components[name] = component
    _connect_links(system)
    for component in system.components.values():
        component.connect()
    if run.breakdown:
        system.breakdown = HopBreakdown()
        system.breakdown.attach(system)
    if graph.graph.get("migrate"):
        from .migration import install

        system.migrations = install(system)
    return system


def _connect_links(system: System) -> None:
    """A port on each end of every edge, joined by a kernel link with per-class credits."""
    graph = system.graph
    for u, v in sorted(tuple(sorted(edge)) for edge in graph.edges):
        data = graph.edges[u, v]
        params: LinkParams = data["params"]
        ports = []
        for node, other in ((u, v), (v, u)):
            component = system.components[node]
            port = component.add_port(f"p{data['ports'][node]}")
            component.attachments.append(
                Attachment(
                    port, other, data["roles"][node], data["protocols"], data["groups"][node]
                )
            )
            system.fabric.ports[node, other] = port
            ports.append(port)
        buffers = [system.components[n].receive_buffers() for n in (u, v)]
        credits = _class_credits(params, min((b for b in buffers if b), default=None))
        link = connect(system.sim, ports[0], ports[1], params, credits, name=f"{u}<->{v}")
        system.links[link.name] = link


def _class_credits(params: LinkParams, cap: int | None) -> dict[int, int]:
    """Receive buffers per message class: the link's ``credits`` unless ``class_credits``
    names the class, capped by what the receiving component can buffer (a switch's
    ``queue_depth``)."""
    overrides = params.class_credits
    credits = {}
    for f in fields(overrides):
        value = getattr(overrides, f.name)
        count = params.credits if value is None else value
        credits[int(MessageClass[f.name.upper()])] = count if cap is None else min(count, cap)
    return credits
