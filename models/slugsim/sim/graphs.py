"""Fabric graphs built in code, following the graph contract of ``slugsim.fabric.params``.

The YAML front end builds the same graphs from files; these are for ``slugsim calibrate``, the
benchmark and tests, which need known systems without a file. ``compute_routes`` fills
``G.graph["routes"]`` the way the contract specifies (shortest path through switches, ties broken
by neighbour name).
"""

from __future__ import annotations

from collections import deque
from dataclasses import replace
from typing import Any

import networkx as nx

from ..fabric.params import (
    HdmWindow,
    HostParams,
    LinkParams,
    RunOptions,
    SwitchParams,
    Type3Params,
    WorkloadParams,
)
from ..kernel import NS

GIB = 1 << 30
CXL_BASE = 1 << 40  # HDM windows start above any local DRAM


class Fabric:
    """A small builder: add nodes and links, then ``graph()``."""

    def __init__(self, run: RunOptions | None = None) -> None:
        self.g = nx.Graph(run=run or RunOptions())
        self._ports: dict[str, int] = {}

    def node(self, name: str, kind: str, params: Any) -> Fabric:
        self.g.add_node(name, kind=kind, params=params)
        return self

    def host(self, name: str, params: HostParams | None = None) -> Fabric:
        return self.node(name, "host", params or HostParams())

    def switch(self, name: str, params: SwitchParams | None = None) -> Fabric:
        return self.node(name, "switch", params or SwitchParams())

    def type3(self, name: str, params: Type3Params | None = None) -> Fabric:
        return self.node(name, "type3", params or Type3Params())

    def link(self, a: str, b: str, params: LinkParams | None = None) -> Fabric:
        ports = {}
        for node in (a, b):
            ports[node] = self._ports.get(node, 0)
            self._ports[node] = ports[node] + 1
        self.g.add_edge(a, b, params=params or LinkParams(), ports=ports)
        return self

    def graph(self) -> nx.Graph:
        self.g.graph["routes"] = compute_routes(self.g)
        return self.g


def compute_routes(g: nx.Graph) -> dict[str, dict[str, str]]:
    """{switch: {endpoint: neighbour}} along shortest paths through switches."""
    switches = sorted(n for n, d in g.nodes(data=True) if d.get("kind") == "switch")
    is_switch = set(switches)
    routes: dict[str, dict[str, str]] = {s: {} for s in switches}
    for dest in sorted(n for n in g.nodes if n not in is_switch):
        dist = {dest: 0}
        frontier = deque([dest])
        while frontier:
            node = frontier.popleft()
            for other in g.neighbors(node):
                if other in is_switch and other not in dist:
                    dist[other] = dist[node] + 1
                    frontier.append(other)
        for switch in switches:
            if switch not in dist:
                continue
            hops = [
                (dist[n], n) for n in g.neighbors(switch) if n in dist and dist[n] < dist[switch]
            ]
            routes[switch][dest] = min(hops)[1]
    return routes


# -- the systems of CXL_REFERENCE.md §7b ------------------------------------------------------

# Vistara's expanders: CXL 2.0 ASICs on Gen5 (32 GT/s) x8 each (CXL_REFERENCE.md §7b).
VISTARA_LINK = LinkParams(rate=32 * 10**9, width=8)


def chase(target: str, requests: int) -> WorkloadParams:
    """An unloaded latency probe: one dependent load at a time over 1 GiB (misses the LLC)."""
    return WorkloadParams(kind="pointer_chase", footprint=GIB, target=target, requests=requests)


def local_system(requests: int = 2000, seed: int = 1) -> nx.Graph:
    host = HostParams(workload=chase("local", requests))
    return Fabric(RunOptions(seed=seed)).host("host0", host).graph()


def direct_system(requests: int = 2000, seed: int = 1) -> nx.Graph:
    host = HostParams(
        hdm=(HdmWindow(base=CXL_BASE, size=64 * GIB, targets=("mem0",)),),
        workload=chase("cxl", requests),
    )
    f = Fabric(RunOptions(seed=seed)).host("host0", host).type3("mem0")
    return f.link("host0", "mem0", VISTARA_LINK).graph()


def switched_system(requests: int = 2000, seed: int = 1) -> nx.Graph:
    host = HostParams(
        hdm=(HdmWindow(base=CXL_BASE, size=64 * GIB, targets=("mem0",)),),
        workload=chase("cxl", requests),
    )
    f = Fabric(RunOptions(seed=seed)).host("host0", host).switch("sw0").type3("mem0")
    f.link("host0", "sw0", VISTARA_LINK).link("sw0", "mem0", VISTARA_LINK)
    return f.graph()


def interleaved_system(
    cores: int = 32, requests_per_core: int = 4000, read_ratio: float = 1.0, seed: int = 1
) -> nx.Graph:
    """Two expanders, 256 B interleaved, loaded by many cores (Intel MLC-style random reads)."""
    workload = WorkloadParams(
        kind="random",
        footprint=8 * GIB,
        target="cxl",
        requests=requests_per_core,
        read_ratio=read_ratio,
    )
    host = HostParams(
        cores=cores,
        outstanding=16,
        hdm=(HdmWindow(base=CXL_BASE, size=128 * GIB, targets=("mem0", "mem1"), granularity=256),),
        workload=workload,
    )
    f = Fabric(RunOptions(seed=seed)).host("host0", host).type3("mem0").type3("mem1")
    f.link("host0", "mem0", VISTARA_LINK).link("host0", "mem1", VISTARA_LINK)
    return f.graph()


# -- benchmark systems ------------------------------------------------------------------------


def quickstart_system(requests_per_core: int = 25_000, seed: int = 1) -> nx.Graph:
    """A host with 4 cores, one switch and two interleaved expanders: the shape of
    topologies/quickstart.yaml, for when that file or its loader is not available."""
    workload = WorkloadParams(
        kind="random", footprint=4 * GIB, requests=requests_per_core, read_ratio=0.75
    )
    host = HostParams(
        cores=4,
        hdm=(HdmWindow(base=CXL_BASE, size=128 * GIB, targets=("mem0", "mem1")),),
        workload=workload,
    )
    f = Fabric(RunOptions(seed=seed)).host("host0", host).switch("sw0")
    f.type3("mem0").type3("mem1")
    f.link("host0", "sw0").link("sw0", "mem0").link("sw0", "mem1")
    return f.graph()


def leaf_spine_system(
    endpoints: int,
    requests: int,
    in_flight: int = 512,
    leaf_down: int = 16,
    spines: int = 4,
    seed: int = 1,
) -> nx.Graph:
    """Half hosts, half expanders on ``endpoints / leaf_down`` leaves and ``spines`` spines.

    Host ``i`` maps the expander of the host ``len/2`` places away, on another leaf, so every
    request crosses leaf -> spine -> leaf whatever the fabric's size. ``requests`` and the
    ``in_flight`` outstanding requests are spread evenly over the hosts, so fabrics of different
    sizes carry the same load (what the benchmark's cost ratio needs).
    """
    if endpoints % (2 * leaf_down):
        raise ValueError(f"endpoints must be a multiple of {2 * leaf_down}, got {endpoints}")
    leaves = endpoints // leaf_down
    hosts = endpoints // 2
    f = Fabric(RunOptions(seed=seed))
    for s in range(spines):
        f.switch(f"spine{s}", SwitchParams(ports=max(32, leaves)))
    for leaf in range(leaves):
        f.switch(f"leaf{leaf}", SwitchParams(ports=leaf_down + spines))
        for s in range(spines):
            f.link(f"leaf{leaf}", f"spine{s}")
    per_host = max(1, requests // hosts)
    for i in range(hosts):
        # Endpoints alternate host/device along the leaves: host i and mem i sit together.
        leaf = (2 * i) // leaf_down
        f.type3(f"mem{i:04d}")
        f.link(f"leaf{leaf}", f"mem{i:04d}")
        target = f"mem{(i + hosts // 2) % hosts:04d}"
        workload = WorkloadParams(kind="random", footprint=GIB, requests=per_host)
        f.host(
            f"host{i:04d}",
            HostParams(
                outstanding=max(1, in_flight // hosts),
                hdm=(HdmWindow(base=CXL_BASE, size=64 * GIB, targets=(target,)),),
                workload=workload,
            ),
        )
        f.link(f"leaf{leaf}", f"host{i:04d}")
    return f.graph()


def with_seed(g: nx.Graph, seed: int) -> nx.Graph:
    g.graph["run"] = replace(g.graph.get("run") or RunOptions(), seed=seed)
    return g


__all__ = [
    "CXL_BASE",
    "GIB",
    "NS",
    "VISTARA_LINK",
    "Fabric",
    "compute_routes",
    "direct_system",
    "interleaved_system",
    "leaf_spine_system",
    "local_system",
    "quickstart_system",
    "switched_system",
    "with_seed",
]
