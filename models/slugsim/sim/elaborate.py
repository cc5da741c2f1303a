"""Elaboration: a fabric graph (the contract in ``slugsim.fabric.params``) -> live components.

The graph comes from ``slugsim.fabric.SystemBuilder`` or ``slugsim.config.load_topology``, which
validate it (``slugsim.fabric.validate``): reachability, capacities, LD bindings, address maps,
workload targets and port counts are checked there, once, and not again here. What is left to
refuse here are limits of the models themselves (12-bit PIDs, Type-2 devices not modelled yet).

Everything a request needs is resolved here, once: endpoint PIDs, each switch's PBR table as a
list indexed by PID, each host's port towards each device it maps, each device's port back
towards each host. The simulation then never searches the graph.
"""

from __future__ import annotations

from dataclasses import dataclass, field

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
from ..fabric.params import RunOptions
from ..fabric.routing import route_path
from ..fabric.validate import workload_window
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
    run = graph.graph["run"]
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
        params = graph.nodes[name]["params"]
        kind = kinds[name]
        if kind == "host":
            system.hosts[name] = Host(sim, name, params, pids[name], system.budget)
        elif kind == "switch":
            system.switches[name] = Switch(sim, name, params)
        elif kind == "type3":
            system.devices[name] = Type3Device(sim, name, params, pids[name])
        else:
            system.unmodelled.append(name)
    ports = _connect_links(system)
    _program_switches(system, ports)
    _map_hosts_to_devices(system, ports)
    return system


def _connect_links(system: System) -> dict[tuple[str, str], tuple[Port, SwitchPort | None]]:
    """Create a port on each end of every edge and join them; returns (node, neighbour) ->
    (that node's port, its SwitchPort when the node is a switch)."""
    graph = system.graph
    ports: dict[tuple[str, str], tuple[Port, SwitchPort | None]] = {}
    for u, v in sorted(tuple(sorted(edge)) for edge in graph.edges):
        if u in system.unmodelled or v in system.unmodelled:
            continue
        data = graph.edges[u, v]
        params = data["params"]
        credits = params.credits
        made: list[Port] = []
        for node, other in ((u, v), (v, u)):
            port_name = f"p{data['ports'][node]}"
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
    routes = system.graph.graph["routes"]
    for name, switch in system.switches.items():
        table: list[SwitchPort | None] = [None] * len(system.pids)
        for dest, neighbour in routes[name].items():
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


def _map_hosts_to_devices(system: System, ports: dict) -> None:
    graph = system.graph
    for device in system.devices.values():
        for ld in device.params.lds:
            device.bind_ld(ld.ld_id, system.pids[ld.host])
    # Hosts whose windows decode alike share one decoder: a decoder is read by every request,
    # and one shared object stays in cache where hundreds of copies would not.
    decoders: dict[tuple, HdmDecoder] = {}
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
                        "which is not a type3 device (type2 devices are not modelled yet)"
                    )
                hop = route_path(graph, host.name, target)[1]  # type: ignore[index]
                tx = ports[host.name, hop][0].tx
                index[target] = host.add_target(target, device.pid, _ld_for(host, device), tx)
                back = route_path(graph, target, host.name)[1]  # type: ignore[index]
                device.route_to(host.pid, ports[target, back][0].tx.send)
        if windows:
            key = tuple(
                (w.base, w.size, w.granularity, tuple(index[t] for t in w.targets)) for w in windows
            )
            if key not in decoders:
                decoders[key] = HdmDecoder(windows, index)
            host.core.decoder = decoders[key]


def _ld_for(host: Host, device: Type3Device) -> int:
    """The LD-ID ``host`` uses on ``device`` (0 on a single-LD device)."""
    bound = [ld.ld_id for ld in device.params.lds if ld.host == host.name]
    return bound[0] if bound else 0


def _address_space(system: System, host: Host) -> AddressSpace:
    """Where the host's workload runs (its fit was checked by validation)."""
    workload = host.params.workload
    assert workload is not None
    lines = workload.footprint >> 6
    if workload.target == "local":
        return AddressSpace(0, lines)
    if workload.target == "cxl":
        return AddressSpace(min(w.base for w in host.params.hdm), lines)
    window = workload_window(host.params)
    decoder = host.decoder
    assert window is not None and decoder is not None
    way = window.targets.index(workload.target)

    def mapper(line: int) -> int:
        return decoder.device_address(window, way, line << 6)

    return AddressSpace(window.base, lines, mapper)
