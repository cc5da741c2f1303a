"""Checks on a built fabric graph: parameter bounds, switch ports, links, address maps, LDs and
reachability. Each check returns ``Issue``s; nothing is raised here, so one run reports all.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable
from typing import Any

import networkx as nx

from .errors import Issue, Where, did_you_mean
from .params import HdmWindow, HostParams, LinkParams, Type3Params
from .routing import route_path

# HDM decoders interleave over 1, 2, 4, 8, 16 or 3, 6, 12 targets (CXL 2.0+ decoder IW encodings).
INTERLEAVE_WAYS = (1, 2, 3, 4, 6, 8, 12, 16)
MEMORY_KINDS = ("type3", "type2")
# CXL.mem carries Addr[51:6]: a 52-bit host physical address space (CXL_REFERENCE.md §2.1).
ADDRESS_LIMIT = 1 << 52
Locate = Callable[[str, tuple], Where | None]
# 68B flits carry traffic only up to 32 GT/s (CXL_REFERENCE.md §6.1).
MAX_68B_FLIT_RATE = 32 * 10**9


def validate_graph(graph: nx.Graph, locate: Locate | None = None) -> list[Issue]:
    """Every problem of the graph. ``locate(node, ("hdm", 0))`` gives the place of a part of a
    node's params (default: the node's own ``where``) so file errors point at the right line."""

    def place(name: str, part: tuple) -> Where:
        found = locate(name, part) if locate is not None else None
        return found or graph.nodes[name]["where"]

    issues: list[Issue] = []
    issues += bound_issues(graph.graph["run"], Where(graph.graph["source"]), "run")
    for name, data in graph.nodes(data=True):
        issues += bound_issues(data["params"], data["where"], f"{data['kind']} '{name}'")
    for a, b, data in graph.edges(data=True):
        issues += _link_issues(a, b, data["params"], data["where"])
    issues += _port_issues(graph, place)
    issues += _isolation_issues(graph)
    for name, data in graph.nodes(data=True):
        if data["kind"] == "host":
            issues += _host_memory_issues(graph, name, data["params"], place)
        elif data["kind"] == "type3":
            issues += _ld_issues(graph, name, data["params"], place)
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


def _port_issues(graph: nx.Graph, locate: Locate) -> list[Issue]:
    issues = []
    for name, data in graph.nodes(data=True):
        if data["kind"] != "switch":
            continue
        used, ports = graph.degree[name], data["params"].ports
        if used > ports:
            issues.append(
                Issue(
                    locate(name, ("ports",)),
                    f"switch '{name}' has {used} links but only {ports} ports",
                    f"raise its ports to {used} or more, or spread the endpoints over more "
                    "switches (a fabric: with more leaves or a larger fanout)",
                )
            )
    return issues


def _isolation_issues(graph: nx.Graph) -> list[Issue]:
    issues = []
    for name, data in graph.nodes(data=True):
        local_only_host = data["kind"] == "host" and not data["params"].hdm
        if graph.degree[name] == 0 and not local_only_host:
            issues.append(
                Issue(
                    data["where"],
                    f"{data['kind']} '{name}' has no links",
                    "link it to a switch or a host (links: [{between: [a, b]}]) or add a "
                    "fabric: that attaches it",
                )
            )
    return issues


def _host_memory_issues(
    graph: nx.Graph, name: str, host: HostParams, locate: Locate
) -> list[Issue]:
    issues = []
    devices = [n for n, k in graph.nodes(data="kind") if k in MEMORY_KINDS]
    spans = [(0, host.dram_size, "local DRAM")]
    # Memory device -> indices of the windows that map it (its share is summed over them).
    mapped: dict[str, list[int]] = {}
    for index, window in enumerate(host.hdm):
        label = f"host '{name}' HDM window {index}"
        where = locate(name, ("hdm", index))
        issues += _window_shape_issues(window, label, where)
        spans.append((window.base, window.base + window.size, f"HDM window {index}"))
        for target in window.targets:
            if target not in graph:
                issues.append(
                    Issue(
                        where,
                        f"{label} names '{target}', which is not a component",
                        "targets are type3 (or type2) device names" + did_you_mean(target, devices),
                    )
                )
            elif graph.nodes[target]["kind"] not in MEMORY_KINDS:
                kind = graph.nodes[target]["kind"]
                issues.append(
                    Issue(where, f"{label} names {kind} '{target}', which holds no memory", "")
                )
            else:
                if index not in mapped.setdefault(target, []):
                    mapped[target].append(index)
                if route_path(graph, name, target) is None:
                    issues.append(
                        Issue(
                            where,
                            f"host '{name}' cannot reach '{target}' (named by its HDM "
                            f"window {index})",
                            "link both to the same fabric; only switches forward traffic",
                        )
                    )
    for target, indices in mapped.items():
        share = sum(host.hdm[i].size // len(host.hdm[i].targets) for i in indices)
        numbers = ", ".join(map(str, indices))
        maps = f"windows {numbers} map" if len(indices) > 1 else f"window {numbers} maps"
        label = f"host '{name}' HDM {maps}"
        where = locate(name, ("hdm", indices[0]))
        issues += _capacity_issues(graph, name, target, share, label, where)
    spans.sort()
    where = locate(name, ("hdm",))
    for (_, end, first), (start, _, second) in itertools.pairwise(spans):
        if start < end:
            issues.append(
                Issue(
                    where,
                    f"host '{name}': {second} overlaps {first}",
                    "HDM windows sit above local DRAM (base >= dram_size) and apart from "
                    "each other",
                )
            )
    if host.workload is not None:
        issues += _workload_issues(name, host, locate(name, ("workload",)))
    return issues


def _window_shape_issues(window: Any, label: str, where: Where) -> list[Issue]:
    issues = []
    ways, gran = len(window.targets), window.granularity
    if ways not in INTERLEAVE_WAYS:
        issues.append(
            Issue(
                where,
                f"{label} interleaves over {ways} devices",
                "CXL HDM decoders interleave 1, 2, 3, 4, 6, 8, 12 or 16 ways",
            )
        )
    if len(set(window.targets)) != ways:
        issues.append(Issue(where, f"{label} names a device twice", "list each target once"))
    if gran not in [256 << n for n in range(7)]:
        issues.append(
            Issue(where, f"{label} has granularity {gran}", "use 256B, 512B, ... up to 16KiB")
        )
    elif window.base % gran or window.size % (gran * max(1, ways)):
        issues.append(
            Issue(
                where,
                f"{label}: base must be a multiple of the granularity ({gran} B) and size a "
                f"multiple of granularity x ways ({gran * max(1, ways)} B)",
                "use round sizes such as 64GiB",
            )
        )
    if window.base + window.size > ADDRESS_LIMIT:
        issues.append(
            Issue(
                where,
                f"{label} ends beyond the 52-bit physical address space CXL.mem carries",
                "lower base or size (CXL_REFERENCE.md §2.1: Addr[51:6])",
            )
        )
    return issues


def _capacity_issues(
    graph: nx.Graph, host: str, target: str, share: int, label: str, where: Where
) -> list[Issue]:
    device = graph.nodes[target]["params"]
    if not isinstance(device, Type3Params):
        return []  # type2 placeholders carry no capacity yet
    if device.lds:
        bound = next((ld.size for ld in device.lds if ld.host == host), 0)
        if not bound:
            return [
                Issue(
                    where,
                    f"{label} '{target}', a multi-logical device with no LD bound to host '{host}'",
                    f"add {{ld_id: N, host: {host}, size: ...}} to {target}'s lds",
                )
            ]
        have, what = bound, f"the LD of '{target}' bound to '{host}' holds"
    else:
        have, what = device.capacity, f"'{target}' holds"
    if share > have:
        return [
            Issue(
                where,
                f"{label} {format_size(share)} onto '{target}' but {what} {format_size(have)}",
                "shrink the window or grow the device",
            )
        ]
    return []


def workload_window(host: HostParams) -> HdmWindow | None:
    """The HDM window a workload aimed at one device runs in: the lowest one naming it."""
    assert host.workload is not None
    named = [w for w in host.hdm if host.workload.target in w.targets]
    return min(named, key=lambda w: w.base) if named else None


def contiguous_hdm(host: HostParams) -> int:
    """Bytes of HDM from the lowest window's base without a gap: what target 'cxl' may touch."""
    windows = sorted(host.hdm, key=lambda w: w.base)
    covered = windows[0].size
    for before, after in itertools.pairwise(windows):
        if before.base + before.size != after.base:
            break
        covered += after.size
    return covered


def _workload_issues(name: str, host: HostParams, where: Where) -> list[Issue]:
    workload = host.workload
    assert workload is not None
    target = workload.target
    label = f"host '{name}' workload"
    if target == "local":
        room, what = host.dram_size, "local DRAM"
    elif target == "cxl":
        if not host.hdm:
            return [
                Issue(
                    where,
                    f"{label} targets 'cxl' but the host has no HDM windows",
                    "add hdm: [{base: ..., size: ..., targets: [...]}] or use target: local",
                )
            ]
        room, what = contiguous_hdm(host), "contiguous HDM from the lowest window"
    else:
        window = workload_window(host)
        if window is None:
            named = sorted({t for w in host.hdm for t in w.targets})
            return [
                Issue(
                    where,
                    f"{label} targets '{target}', which none of its HDM windows names",
                    "use 'local', 'cxl' or one of the devices its windows name"
                    + did_you_mean(target, named),
                )
            ]
        room = window.size // len(window.targets)
        what = f"its share of the window at {window.base:#x}"
    if workload.footprint > room:
        return [
            Issue(
                where,
                f"{label} touches {format_size(workload.footprint)} but its target '{target}' "
                f"has {format_size(room)} ({what})",
                "lower footprint or enlarge the memory it targets",
            )
        ]
    return []


def _ld_issues(graph: nx.Graph, name: str, device: Type3Params, locate: Locate) -> list[Issue]:
    issues = []
    where = locate(name, ("lds",))
    ids = [ld.ld_id for ld in device.lds]
    if len(set(ids)) != len(ids):
        issues.append(Issue(where, f"type3 '{name}' uses an LD-ID twice", "LD-IDs are unique"))
    total = sum(ld.size for ld in device.lds)
    if total > device.capacity:
        issues.append(
            Issue(
                where,
                f"type3 '{name}': its LDs total {format_size(total)} but its capacity is "
                f"{format_size(device.capacity)}",
                "shrink the LDs or raise capacity",
            )
        )
    hosts = [n for n, k in graph.nodes(data="kind") if k == "host"]
    seen: set[str] = set()
    for index, ld in enumerate(device.lds):
        if ld.host in seen:
            # A host enumerates each LD as a device of its own (CXL_REFERENCE.md §2.5, MLD),
            # reached by its own HDM decoder; one window cannot address two LDs of one MLD.
            issues.append(
                Issue(
                    locate(name, ("lds", index)),
                    f"type3 '{name}' binds a second LD (LD {ld.ld_id}) to '{ld.host}'",
                    "bind one LD per host and size it for the host's window(s)",
                )
            )
        seen.add(ld.host)
        if ld.host not in graph or graph.nodes[ld.host]["kind"] != "host":
            issues.append(
                Issue(
                    locate(name, ("lds", index)),
                    f"type3 '{name}' binds LD {ld.ld_id} to '{ld.host}', which is not a host",
                    "bind LDs to declared hosts" + did_you_mean(ld.host, hosts),
                )
            )
    return issues


def format_size(size: int) -> str:
    """64 << 30 -> '64GiB'; sizes that are not a whole number of a binary unit stay in bytes."""
    for unit, shift in (("TiB", 40), ("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if size and size % (1 << shift) == 0:
            return f"{size >> shift}{unit}"
    return f"{size}B"
