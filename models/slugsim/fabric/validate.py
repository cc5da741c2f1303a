"""Checks on a built fabric graph: parameter bounds, links, ports with their roles and
protocols, reachability, and what each kind checks of itself (``Component.check``). Each check
returns ``Issue``s; nothing is raised here, so one run reports all.
"""

from __future__ import annotations

import dataclasses
from collections import deque
from collections.abc import Callable
from typing import Any

import networkx as nx

from ..contract import KindSpec, PortSpec, Protocol, Role, kinds
from .errors import Issue, Where
from .params import LinkParams, format_size

Locate = Callable[[str, tuple], Where | None]
# 68B flits carry traffic only up to 32 GT/s (CXL_REFERENCE.md §6.1).
MAX_68B_FLIT_RATE = 32 * 10**9
# Protocols a device needs a host for; CXL.io alone (configuration) needs none here.
COHERENT_PROTOCOLS = (Protocol.MEM, Protocol.CACHE)

__all__ = ["bound_issues", "format_size", "validate_graph"]


def validate_graph(graph: nx.Graph, locate: Locate | None = None) -> list[Issue]:
    """Every problem of the graph. ``locate(node, ("hdm", 0))`` gives the place of a part of a
    node's params (default: the node's own ``where``) so file errors point at the right line.

    Annotates every edge with ``roles`` ({node: Role}) and ``protocols`` (what it carries)."""

    def place(name: str, part: tuple) -> Where:
        found = locate(name, part) if locate is not None else None
        return found or graph.nodes[name]["where"]

    specs = kinds()
    issues: list[Issue] = []
    issues += bound_issues(graph.graph["run"], Where(graph.graph["source"]), "run")
    for name, data in graph.nodes(data=True):
        issues += bound_issues(data["params"], data["where"], f"{data['kind']} '{name}'")
    for a, b, data in graph.edges(data=True):
        issues += _link_issues(a, b, data["params"], data["where"])
    issues += _role_issues(graph, specs)
    issues += _port_count_issues(graph, specs, place)
    issues += _isolation_issues(graph, specs)
    issues += _protocol_path_issues(graph, specs)
    for name, data in graph.nodes(data=True):
        spec = specs[data["kind"]]
        issues += spec.cls.check(graph, name, data["params"], lambda part, n=name: place(n, part))
    return issues


def bound_issues(params: Any, where: Where, label: str) -> list[Issue]:
    """Fields outside the ``ge`` / ``le`` bounds of their metadata, nested dataclasses included
    (the YAML schema enforces these too; this catches the Python builder)."""
    issues = []
    for f in dataclasses.fields(params):
        value = getattr(params, f.name)
        items = value if isinstance(value, tuple) else (value,)
        for item in items:
            if dataclasses.is_dataclass(item):
                issues += bound_issues(item, where, f"{label} {f.name}")
        # Quantities with a unit are never negative, bounded or not.
        low = f.metadata.get("ge", 0 if "unit" in f.metadata else None)
        high = f.metadata.get("le")
        if value is None or (low is None and high is None):
            continue
        if isinstance(value, bool) or not isinstance(value, int | float):
            issues.append(Issue(where, f"{label}: {f.name} must be a number, got {value!r}"))
        elif (low is not None and value < low) or (high is not None and value > high):
            span = f"at least {low}" if high is None else f"between {low} and {high}"
            message = f"{label}: {f.name} = {value} is out of range"
            issues.append(Issue(where, message, f"{f.name} ({f.metadata['doc']}) is {span}"))
    return issues


def _link_issues(a: str, b: str, params: LinkParams, where: Where) -> list[Issue]:
    if params.flit_bytes == 68 and params.rate > MAX_68B_FLIT_RATE:
        return [
            Issue(
                where,
                f"link {a} -- {b} uses 68-byte flits at {params.rate / 1e9:g} GT/s",
                "68B flits stop at 32 GT/s (CXL_REFERENCE.md §6.1); use flit_bytes: 256",
            )
        ]
    return []


def _role_issues(graph: nx.Graph, specs: dict[str, KindSpec]) -> list[Issue]:
    """Give every link its roles and protocols: one end upstream, the other downstream, and
    every protocol the device end needs carried by the other end."""
    issues = []
    for a, b, data in graph.edges(data=True):
        kind_a, kind_b = graph.nodes[a]["kind"], graph.nodes[b]["kind"]
        found = _match_ports(specs[kind_a], specs[kind_b])
        if found is None:
            issues.append(_role_mismatch(a, b, specs[kind_a], specs[kind_b], data["where"]))
            continue
        group_a, role_a, group_b, role_b = found
        data["groups"] = {a: group_a.name, b: group_b.name}
        data["roles"] = {a: role_a, b: role_b}
        data["protocols"] = group_a.protocols & group_b.protocols
        device, host = (a, b) if role_a is Role.UPSTREAM else (b, a)
        device_group, host_group = (group_a, group_b) if device == a else (group_b, group_a)
        missing = sorted(set(COHERENT_PROTOCOLS) & device_group.protocols - host_group.protocols)
        device_spec = specs[graph.nodes[device]["kind"]]
        if missing and not device_spec.forwards:
            host_kind = graph.nodes[host]["kind"]
            issues.append(
                Issue(
                    data["where"],
                    f"link {a} -- {b}: {device_spec.kind} '{device}' speaks "
                    f"{', '.join(missing)} but {host_kind} '{host}' port "
                    f"{host_group.describe()} does not carry it",
                    f"link '{device}' to a port that carries {', '.join(missing)} (a switch, or "
                    "a host root port that speaks it)",
                )
            )
    return issues


def _match_ports(a: KindSpec, b: KindSpec) -> tuple[PortSpec, Role, PortSpec, Role] | None:
    """The first pair of port groups (in declaration order) whose roles face each other, and
    the role each plays; a pair that shares protocols is preferred."""
    fallback = None
    for group_a in a.ports:
        for group_b in b.ports:
            for role_a, role_b in (
                (Role.DOWNSTREAM, Role.UPSTREAM),
                (Role.UPSTREAM, Role.DOWNSTREAM),
            ):
                if role_a in group_a.roles and role_b in group_b.roles:
                    if group_a.protocols & group_b.protocols:
                        return group_a, role_a, group_b, role_b
                    fallback = fallback or (group_a, role_a, group_b, role_b)
    return fallback


def _role_mismatch(a: str, b: str, spec_a: KindSpec, spec_b: KindSpec, where: Where) -> Issue:
    ends = [
        f"{spec.kind} '{name}' has only {'/'.join(sorted(_roles(spec)))} ports "
        f"({', '.join(p.describe() for p in spec.ports)})"
        for name, spec in ((a, spec_a), (b, spec_b))
    ]
    both = _roles(spec_a)
    role = next(iter(both)) if len(both) == 1 else "upstream"
    return Issue(
        where,
        f"link {a} -- {b} joins two {role} ends: {ends[0]}; {ends[1]}",
        "a link joins an upstream port (a device, or a switch facing a host) to a downstream "
        "port (a host root port, or a switch facing a device); put a switch between them",
    )


def _roles(spec: KindSpec) -> set[Role]:
    return {role for group in spec.ports for role in group.roles}


def _port_count_issues(graph: nx.Graph, specs: dict[str, KindSpec], locate: Locate) -> list[Issue]:
    issues = []
    for name, data in graph.nodes(data=True):
        spec = specs[data["kind"]]
        for group in spec.ports:
            limit = group.limit(data["params"])
            if limit is None:
                continue
            used = sum(
                1
                for _, _, edge in graph.edges(name, data=True)
                if edge.get("groups", {}).get(name) == group.name
            )
            if used <= limit:
                continue
            if isinstance(group.max_links, str):
                hint = (
                    f"raise its {group.max_links} to {used} or more, or spread the endpoints over "
                    "more switches (a fabric: with more leaves or a larger fanout)"
                )
                where = locate(name, (group.max_links,))
            else:
                hint = f"a {spec.kind} takes at most {limit} links on its {group.name} ports"
                where = data["where"]
            issues.append(
                Issue(
                    where or data["where"],
                    f"{spec.kind} '{name}' has {used} links but only {limit} ports",
                    hint,
                )
            )
    return issues


def _isolation_issues(graph: nx.Graph, specs: dict[str, KindSpec]) -> list[Issue]:
    issues = []
    for name, data in graph.nodes(data=True):
        spec = specs[data["kind"]]
        # A host that maps no device memory may stand alone (it runs on local DRAM).
        standalone = spec.home and not getattr(data["params"], "hdm", ())
        if graph.degree[name] == 0 and not standalone:
            issues.append(
                Issue(
                    data["where"],
                    f"{data['kind']} '{name}' has no links",
                    "link it to a switch or a host (links: [{between: [a, b]}]) or add a "
                    "fabric: that attaches it",
                )
            )
    return issues


def _protocol_path_issues(graph: nx.Graph, specs: dict[str, KindSpec]) -> list[Issue]:
    """Every simulated device that speaks CXL.mem or CXL.cache reaches a host over links that
    carry that protocol, through switches only."""
    issues = []
    for name, data in graph.nodes(data=True):
        spec = specs[data["kind"]]
        if spec.home or spec.forwards or not spec.modelled or graph.degree[name] == 0:
            continue
        if any("roles" not in edge for _, _, edge in graph.edges(name, data=True)):
            continue  # a link of it is refused already; its paths would only repeat that
        for protocol in sorted(set(COHERENT_PROTOCOLS) & spec.protocols):
            if not _reaches_host(graph, specs, name, protocol):
                issues.append(
                    Issue(
                        data["where"],
                        f"{spec.kind} '{name}' speaks {protocol}, but no host is reachable from "
                        f"it over links that carry {protocol}",
                        f"link it (through switches) to a host whose root port carries {protocol}",
                    )
                )
    return issues


def _reaches_host(
    graph: nx.Graph, specs: dict[str, KindSpec], start: str, protocol: Protocol
) -> bool:
    seen = {start}
    frontier = deque([start])
    while frontier:
        node = frontier.popleft()
        for peer in graph.adj[node]:
            if peer in seen or protocol not in graph.edges[node, peer].get("protocols", ()):
                continue
            seen.add(peer)
            peer_spec = specs[graph.nodes[peer]["kind"]]
            if peer_spec.home:
                return True
            if peer_spec.forwards:
                frontier.append(peer)
    return False
