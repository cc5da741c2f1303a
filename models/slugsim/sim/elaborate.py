"""Elaboration: a fabric graph (the contract in ``slugsim.fabric.params``) -> live components.

Everything a request needs is resolved here, once: endpoint PIDs, each switch's PBR table as a
list indexed by PID, each host's port towards each device it maps, each device's port back
towards each host. The simulation then never searches the graph.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from itertools import pairwise

import networkx as nx

from ..components import (
    AddressSpace,
    Budget,
    HdmDecoder,
    Host,
    Switch,
    SwitchPort,
    Type3Device,
    connect,
)
from ..components.routed import MAX_PIDS
from ..fabric.params import HostParams, LinkParams, RunOptions, SwitchParams, Type3Params
from ..kernel import ConfigurationError, Link, Port, Simulator


class ElaborationError(ConfigurationError):
    """The graph cannot be turned into a runnable system (the message says why and what to do)."""


@dataclass
class System:
    sim: Simulator
    graph: nx.Graph
    run: RunOptions
    budget: Budget
    pids: dict[str, int]
    hosts: dict[str, Host] = field(default_factory=dict)
    switches: dict[str, Switch] = field(default_factory=dict)
    devices: dict[str, Type3Device] = field(default_factory=dict)
    links: dict[str, Link] = field(default_factory=dict)
    # Nodes present in the graph that this model does not simulate yet (type2, nic).
    unmodelled: list[str] = field(default_factory=list)

    def start(self) -> None:
        """Schedule every host's first requests at t=0."""
        for host in self.hosts.values():
            if host.params.workload is not None:
                host.start(_address_space(self, host))


def elaborate(graph: nx.Graph, seed: int | None = None) -> System:
    run = graph.graph.get("run") or RunOptions()
    sim = Simulator(run.seed if seed is None else seed)
    kinds = {name: data.get("kind") for name, data in graph.nodes(data=True)}
    endpoints = sorted(name for name, kind in kinds.items() if kind != "switch")
    if len(endpoints) > MAX_PIDS:
        raise ElaborationError(
            f"the fabric has {len(endpoints)} endpoints but PBR IDs are 12 bits (at most "
            f"{MAX_PIDS}, CXL_REFERENCE.md §6.2); split it into several fabrics"
        )
    pids = {name: pid for pid, name in enumerate(endpoints)}
    system = System(sim, graph, run, Budget(sim, run.requests), pids)
    for name in sorted(graph.nodes):
        params = graph.nodes[name].get("params")
        kind = kinds[name]
        if kind == "host":
            system.hosts[name] = Host(
                sim, name, _typed(name, params, HostParams), pids[name], system.budget
            )
        elif kind == "switch":
            system.switches[name] = Switch(sim, name, _typed(name, params, SwitchParams))
        elif kind == "type3":
            system.devices[name] = Type3Device(
                sim, name, _typed(name, params, Type3Params), pids[name]
            )
        else:
            system.unmodelled.append(name)
    ports = _connect_links(system)
    _program_switches(system, ports)
    _map_hosts_to_devices(system, ports)
    return system


def _typed(name: str, params: object, expected: type) -> object:
    if params is None:
        return expected()
    if not isinstance(params, expected):
        raise ElaborationError(
            f"node {name}: params must be a {expected.__name__}, got {type(params).__name__}"
        )
    return params


def _connect_links(system: System) -> dict[tuple[str, str], tuple[Port, SwitchPort | None]]:
    """Create a port on each end of every edge and join them; returns (node, neighbour) ->
    (that node's port, its SwitchPort when the node is a switch)."""
    graph = system.graph
    ports: dict[tuple[str, str], tuple[Port, SwitchPort | None]] = {}
    next_index: dict[str, int] = {}
    for u, v in sorted(tuple(sorted(edge)) for edge in graph.edges):
        if u in system.unmodelled or v in system.unmodelled:
            continue
        data = graph.edges[u, v]
        params = data.get("params") or LinkParams()
        numbering = data.get("ports") or {}
        credits = params.credits
        made: list[Port] = []
        for node, other in ((u, v), (v, u)):
            index = numbering.get(node)
            if index is None:
                index = next_index.get(node, 0)
            next_index[node] = max(next_index.get(node, 0), index + 1)
            port_name = f"p{index}"
            if node in system.switches:
                switch = system.switches[node]
                sp = switch.add_switch_port(port_name, other)
                # The switch's ingress buffers are the credits it can advertise.
                credits = min(credits, switch.params.queue_depth)
                ports[node, other] = (sp.port, sp)
                made.append(sp.port)
            elif node in system.hosts:
                host = system.hosts[node]
                port = host.add_port(port_name, host.on_response)
                ports[node, other] = (port, None)
                made.append(port)
            else:
                device = system.devices[node]
                port = device.add_port(port_name, device.on_request)
                ports[node, other] = (port, None)
                made.append(port)
        link = connect(system.sim, made[0], made[1], params, credits, name=f"{u}<->{v}")
        for node, channel in ((u, link.ab), (v, link.ba)):
            channel.pipeline = _egress_pipeline(system, node)
        for node, other in ((u, v), (v, u)):
            sp = ports[node, other][1]
            if sp is not None:
                sp.tx = ports[node, other][0].tx
        system.links[link.name] = link
    return ports


def _egress_pipeline(system: System, node: str) -> int:
    """Latency inside ``node`` ahead of its egress serialiser (see the component docstrings)."""
    if node in system.switches:
        return system.switches[node].params.latency
    if node in system.hosts:
        return system.hosts[node].params.llc_latency
    return system.devices[node].params.controller_latency


def _program_switches(system: System, ports: dict) -> None:
    routes = system.graph.graph.get("routes") or {}
    for name, switch in system.switches.items():
        table: list[SwitchPort | None] = [None] * len(system.pids)
        for dest, neighbour in (routes.get(name) or {}).items():
            pid = system.pids.get(dest)
            if pid is None or dest in system.unmodelled:
                continue  # switches are not message destinations
            entry = ports.get((name, neighbour))
            if entry is None:
                raise ElaborationError(
                    f"routes[{name!r}][{dest!r}] = {neighbour!r}, but {name} has no link to "
                    f"{neighbour}; the routes table must name a neighbour of the switch"
                )
            table[pid] = entry[1]
        switch.set_route(table)


def _switch_distances(system: System, source: str) -> dict[str, int]:
    """Hop counts from ``source`` through switches only (endpoints do not forward)."""
    graph = system.graph
    dist = {source: 0}
    frontier = deque([source])
    while frontier:
        node = frontier.popleft()
        for other in graph.neighbors(node):
            if other not in dist and other in system.switches:
                dist[other] = dist[node] + 1
                frontier.append(other)
    return dist


def _first_hop(system: System, node: str, dest: str, dist: dict[str, int]) -> str:
    """``node``'s neighbour on a shortest switch path to ``dest`` (ties broken by name)."""
    best = None
    for other in sorted(system.graph.neighbors(node)):
        if other == dest:
            return other
        if other in dist and (best is None or dist[other] < dist[best]):
            best = other
    if best is None:
        raise ElaborationError(
            f"{node} cannot reach {dest} through switches; link them, or remove {dest} from "
            f"{node}'s HDM windows"
        )
    return best


def _map_hosts_to_devices(system: System, ports: dict) -> None:
    dist_cache: dict[str, dict[str, int]] = {}

    def distances(source: str) -> dict[str, int]:
        if source not in dist_cache:
            dist_cache[source] = _switch_distances(system, source)
        return dist_cache[source]

    for device in system.devices.values():
        for ld in device.params.lds:
            if ld.host not in system.hosts:
                raise ElaborationError(
                    f"device {device.name}: LD {ld.ld_id} is bound to {ld.host!r}, which is "
                    f"not a host of this fabric (hosts: {', '.join(sorted(system.hosts))})"
                )
            device.ld_owner[ld.ld_id] = system.pids[ld.host]
    for host in system.hosts.values():
        windows = host.params.hdm
        index: dict[str, int] = {}
        for window in windows:
            for target in window.targets:
                if target in index:
                    continue
                device = system.devices.get(target)
                if device is None:
                    raise ElaborationError(
                        f"host {host.name}: HDM window at {window.base:#x} targets {target!r}, "
                        "which is not a type3 device of this fabric"
                    )
                ld_id = _ld_for(host, device, windows)
                hop = _first_hop(system, host.name, target, distances(target))
                send = ports[host.name, hop][0].tx.send
                index[target] = host.add_target(target, device.pid, ld_id, send)
                back = _first_hop(system, target, host.name, distances(host.name))
                device.route_to(host.pid, ports[target, back][0].tx.send)
        if windows:
            try:
                host.core.decoder = HdmDecoder(windows, index)
            except ValueError as exc:
                raise ElaborationError(f"host {host.name}: {exc}") from None


def _ld_for(host: Host, device: Type3Device, windows: tuple) -> int:
    """The LD-ID ``host`` uses on ``device``, after checking its windows fit that LD."""
    share = sum(w.size // len(w.targets) for w in windows if device.name in w.targets)
    if not device.params.lds:
        capacity, ld_id = device.params.capacity, 0
    else:
        bound = [ld for ld in device.params.lds if ld.host == host.name]
        if not bound:
            raise ElaborationError(
                f"host {host.name} maps device {device.name} in an HDM window, but none of "
                f"{device.name}'s logical devices is bound to it; add an LD with host: "
                f"{host.name}"
            )
        capacity, ld_id = bound[0].size, bound[0].ld_id
    if share > capacity:
        raise ElaborationError(
            f"host {host.name}'s HDM windows put {share} B on {device.name}, more than the "
            f"{capacity} B it may use there; shrink the window or grow the LD"
        )
    return ld_id


def _address_space(system: System, host: Host) -> AddressSpace:
    workload = host.params.workload
    assert workload is not None
    lines = workload.footprint >> 6
    target = workload.target
    if target == "local":
        if workload.footprint > host.params.dram_size:
            raise ElaborationError(
                f"host {host.name}: footprint {workload.footprint} B exceeds local DRAM "
                f"({host.params.dram_size} B)"
            )
        return AddressSpace(0, lines)
    windows = sorted(host.params.hdm, key=lambda w: w.base)
    if not windows:
        raise ElaborationError(
            f"host {host.name}: the workload targets {target!r} but the host has no HDM "
            "windows; add an hdm window or use target: local"
        )
    if target == "cxl":
        covered = windows[0].size
        for before, after in pairwise(windows):
            if before.base + before.size != after.base:
                break
            covered += after.size
        if workload.footprint > covered:
            raise ElaborationError(
                f"host {host.name}: footprint {workload.footprint} B is larger than the "
                f"{covered} B of contiguous HDM windows from {windows[0].base:#x}"
            )
        return AddressSpace(windows[0].base, lines)
    for window in windows:
        if target in window.targets:
            way = window.targets.index(target)
            per_device = window.size // len(window.targets)
            if workload.footprint > per_device:
                raise ElaborationError(
                    f"host {host.name}: footprint {workload.footprint} B exceeds the "
                    f"{per_device} B window {window.base:#x} places on {target}"
                )
            decoder = host.decoder
            assert decoder is not None

            def mapper(line: int, window=window, way=way, decoder=decoder) -> int:
                return decoder.device_address(window, way, line << 6)

            return AddressSpace(window.base, lines, mapper)
    raise ElaborationError(
        f"host {host.name}: workload target {target!r} is not 'local', 'cxl' or a device in "
        "one of the host's HDM windows"
    )
