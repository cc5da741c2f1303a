"""Parameters and validation of coherent devices (``type1``, ``type2``): their cache, the host
whose home agent serves them, and their workload.

A device's workload is one of the programs of ``slugsim.workloads.coherent`` on lines of its
home host's memory (``base``, ``footprint``): the host's local DRAM or one of its HDM windows
(a Type-2 device's own memory in host bias is such a window: the device reaches it through the
host, CXL_REFERENCE.md §9 note 3).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from ..fabric.errors import Issue, Where, did_you_mean
from ..fabric.params import doc, format_size
from ..kernel import NS

DEVICE_WORKLOADS = (
    "stream_read",
    "read_modify_write",
    "producer_consumer",
    "migratory",
    "false_sharing",
)
SHARING_WORKLOADS = ("migratory", "false_sharing")
MAX_CQIDS = 1 << 12  # CQID and UQID are 12 bits: 4096 in flight (CXL_REFERENCE.md §1.2)
# Each program operation may have an eviction for room in flight beside it: half the CQIDs.
MAX_OUTSTANDING = MAX_CQIDS // 2


@dataclass(frozen=True)
class DeviceWorkloadParams:
    kind: Literal[
        "stream_read", "read_modify_write", "producer_consumer", "migratory", "false_sharing"
    ] = field(default="stream_read", metadata=doc("what the device's cache does"))
    base: int = field(
        default=0,
        metadata=doc(
            "first host physical address of its lines (its home host's memory)", unit="size"
        ),
    )
    footprint: int = field(
        default=1 << 20,
        metadata=doc("bytes of lines it touches from base (sharing kinds: the shared lines)",
                     unit="size", ge=64),
    )  # fmt: skip
    requests: int = field(
        default=10_000,
        metadata=doc("operations it issues (producer_consumer: items it passes)", ge=1),
    )
    think_time: int = field(
        default=0, metadata=doc("gap between a completion and the next issue", unit="time")
    )
    partner: str = field(
        default="",
        metadata=doc("producer_consumer: the host (a core of it) or device taking the other role"),
    )
    role: Literal["producer", "consumer"] = field(
        default="producer", metadata=doc("producer_consumer: this device's side")
    )
    # Assumption: a device polling a flag backs off about one host round trip between polls.
    poll_interval: int = field(
        default=100 * NS,
        metadata=doc("producer_consumer: wait before polling the flag again", unit="time"),
    )


@dataclass(frozen=True)
class DeviceAtsParams:
    """The device's address translation (issue 13 item 3): its workload's addresses are
    untranslated; the ATC (``slugsim.ats.Atc``) translates them, misses ask the home host's
    IOMMU over CXL.io. The host maps the workload's span one to one (IOVA = HPA), so the
    coherent traffic is the same as without ATS and only translation time is added (and PRI
    faults, invalidations and re-translations when ``fault_every`` / ``unmap_interval`` ask for
    them)."""

    enabled: bool = field(default=True, metadata=doc("translate the workload's addresses"))
    atc_entries: int = field(default=64, metadata=doc("ATC 4 KiB entries (power of two)", ge=1))
    atc_ways: int = field(default=4, metadata=doc("their associativity (power of two)", ge=1))
    atc_large_entries: int = field(
        default=4, metadata=doc("ATC 2 MiB entries, fully associative (power of two)", ge=1)
    )
    mshrs: int = field(default=4, metadata=doc("translations outstanding at once", ge=1))
    waiters: int = field(default=8, metadata=doc("requests one translation answers", ge=1))
    large_pages: bool = field(
        default=False, metadata=doc("the host maps the span with 2 MiB pages (else 4 KiB)")
    )
    # The ATS capability's 5-bit Invalidate Queue Depth field, 0 meaning 32 (CXL_REFERENCE.md §4).
    invalidate_queue_depth: int = field(
        default=0,
        metadata=doc("Invalidate Requests the device takes at once (0 means 32)", ge=0, le=31),
    )
    fault_every: int = field(
        default=0,
        metadata=doc("every n-th 4 KiB page of the span starts non-resident: the device's "
                     "first touch takes a PRI fault (0: all resident)", ge=0),
    )  # fmt: skip
    unmap_interval: int = field(
        default=0,
        metadata=doc("host software unmaps pages of the span this often while the device runs, "
                     "and maps each again once its invalidation completes (0: never)",
                     unit="time"),
    )  # fmt: skip
    unmap_batch: int = field(
        default=1, metadata=doc("pages (4 KiB or 2 MiB mappings) unmapped each time", ge=1)
    )


@dataclass(frozen=True)
class Type1Params:
    host: str = field(
        default="",
        metadata=doc("host whose home agent serves it (empty: the one host it reaches)"),
    )
    cache_size: int = field(
        default=256 << 10, metadata=doc("device cache size", unit="size", ge=64)
    )
    cache_ways: int = field(default=8, metadata=doc("device cache associativity", ge=1, le=1024))
    outstanding: int = field(
        default=16,
        metadata=doc("operations in flight (each may add an eviction)", ge=1, le=MAX_OUTSTANDING),
    )
    workload: DeviceWorkloadParams | None = field(
        default=None, metadata=doc("what the device does (none: it only answers snoops)")
    )
    ats: DeviceAtsParams | None = field(
        default=None, metadata=doc("address translation through an ATC (none: HPAs, no ATS)")
    )


# -- validation -------------------------------------------------------------------------------


def _home_kinds() -> set[str]:
    from ..contract import kinds

    return {k for k, spec in kinds().items() if spec.home}


def reachable_hosts(graph: Any, name: str) -> list[str]:
    """Hosts ``name`` reaches over links that carry CXL.cache, through switches only."""
    from collections import deque

    from ..contract import Protocol, kinds

    specs = kinds()
    found, seen, frontier = [], {name}, deque([name])
    while frontier:
        node = frontier.popleft()
        for peer in graph.adj[node]:
            if peer in seen or Protocol.CACHE not in graph.edges[node, peer].get("protocols", ()):
                continue
            seen.add(peer)
            spec = specs[graph.nodes[peer]["kind"]]
            if spec.home:
                found.append(peer)
            elif spec.forwards:
                frontier.append(peer)
    return sorted(found)


def home_host(graph: Any, name: str, params: Type1Params) -> str | None:
    """The host serving a device: the one it names, else the one it reaches (None: neither)."""
    if params.host:
        return params.host
    hosts = reachable_hosts(graph, name)
    return hosts[0] if len(hosts) == 1 else None


def home_memory(host: Any) -> list[tuple[int, int, str]]:
    """(start, end, what) of the memory a host's home agent serves: local DRAM, HDM windows."""
    spans = [(0, host.dram_size, "local DRAM")]
    spans += [(w.base, w.base + w.size, f"HDM window at {w.base:#x}") for w in host.hdm]
    return spans


def _host_core_span(host: Any) -> tuple[int, int] | None:
    """Bytes the host's own (non-snooping) cores touch, as their workload aims them."""
    workload = host.workload
    if workload is None:
        return None
    if workload.target == "local":
        return 0, workload.footprint
    if workload.target == "cxl" and host.hdm:
        base = min(w.base for w in host.hdm)
        return base, base + workload.footprint
    return None  # one device of a window: a spread-out share, not checked here


def coherent_device_issues(
    graph: Any, name: str, params: Type1Params, place: Callable[[tuple], Where]
) -> list[Issue]:
    kind = graph.nodes[name]["kind"]
    label = f"{kind} '{name}'"
    homes = _home_kinds()
    hosts = sorted(n for n, k in graph.nodes(data="kind") if k in homes)
    issues = []
    if params.cache_size >> 6 < params.cache_ways:
        issues.append(
            Issue(
                place(("cache_size",)),
                f"{label}: a {format_size(params.cache_size)} cache cannot hold "
                f"{params.cache_ways} ways of 64 B lines",
                "raise cache_size or lower cache_ways",
            )
        )
    ats = params.ats
    if ats is not None and ats.enabled:
        for field_name in ("atc_entries", "atc_ways", "atc_large_entries"):
            value = getattr(ats, field_name)
            if value & (value - 1):
                issues.append(
                    Issue(
                        place(("ats", field_name)),
                        f"{label}: ATC {field_name} must be a power of two, not {value}",
                        f"use {1 << (value.bit_length() - 1)} or {1 << value.bit_length()}",
                    )
                )
        for field_name in ("fault_every", "unmap_interval"):
            if getattr(ats, field_name) and ats.large_pages:
                issues.append(
                    Issue(
                        place(("ats", field_name)),
                        f"{label}: {field_name} works on 4 KiB pages (a page left non-resident "
                        "is a 4 KiB one), but large_pages maps the span with 2 MiB pages",
                        f"set large_pages: false or remove {field_name}",
                    )
                )
        if ats.atc_ways > ats.atc_entries:
            issues.append(
                Issue(
                    place(("ats", "atc_ways")),
                    f"{label}: ATC ways ({ats.atc_ways}) exceed its entries ({ats.atc_entries})",
                    "lower atc_ways or raise atc_entries",
                )
            )
    reachable = reachable_hosts(graph, name) if graph.degree[name] else []
    if params.host:
        if params.host not in graph or graph.nodes[params.host]["kind"] not in homes:
            issues.append(
                Issue(
                    place(("host",)),
                    f"{label} names '{params.host}' as its host, which is not a host",
                    "name a declared host" + did_you_mean(params.host, hosts),
                )
            )
            return issues
        if graph.degree[name] and params.host not in reachable:
            issues.append(
                Issue(
                    place(("host",)),
                    f"{label} cannot reach its host '{params.host}' over links that carry "
                    "CXL.cache",
                    "link both to the same fabric; only switches forward traffic",
                )
            )
            return issues
    elif len(reachable) > 1:
        issues.append(
            Issue(
                graph.nodes[name]["where"],
                f"{label} reaches several hosts ({', '.join(reachable)}) and names none",
                f"add host: {reachable[0]} (the host whose home agent serves it) to its params",
            )
        )
        return issues
    home = home_host(graph, name, params)
    if home is None:
        return issues
    served = _homes(graph).get(home, [])
    if served and served[0] == name:  # the host's limits, reported once
        issues += _home_issues(graph, home, served)
    if params.workload is None:
        return issues
    return issues + _workload_issues(graph, name, label, home, params.workload, place)


def _homes(graph: Any) -> dict[str, list[str]]:
    """Host -> the coherent devices it is home to, worked out once per graph."""
    found = graph.graph.get("coherent_homes")
    if found is None:
        found = {}
        for name, data in graph.nodes(data=True):
            params = data["params"]
            if isinstance(params, Type1Params):
                home = home_host(graph, name, params)
                if home is not None:
                    found.setdefault(home, []).append(name)
        graph.graph["coherent_homes"] = found
    return found  # type: ignore[no-any-return]


def _home_issues(graph: Any, home: str, served: list[str]) -> list[Issue]:
    """A home agent tracks at most 64 devices (its snoop filter's sharer vector) and 4096
    transactions (12-bit UQIDs)."""
    issues = []
    where = graph.nodes[home]["where"]
    if len(served) > 64:
        issues.append(
            Issue(
                where,
                f"host '{home}' is home to {len(served)} coherent devices; its snoop filter "
                "tracks at most 64",
                "spread the devices over more hosts (host: in their params)",
            )
        )
    in_flight = sum(2 * graph.nodes[n]["params"].outstanding for n in served)
    if in_flight > MAX_CQIDS:
        issues.append(
            Issue(
                where,
                f"host '{home}''s coherent devices may have {in_flight} requests in flight "
                f"(2 x outstanding each); UQIDs are 12 bits ({MAX_CQIDS})",
                "lower their outstanding",
            )
        )
    return issues + _go_ordering_issues(graph, home, served)


def _go_ordering_issues(graph: Any, home: str, served: list[str]) -> list[Issue]:
    """Snoops must not pass earlier GOs to the same device (CXL_REFERENCE.md §1.1). The timed
    model sends each device's H2D messages in order, and the kernel's virtual channels keep
    that order as long as the H2D Rsp class never waits for credits; it cannot wait while every
    link and switch queue on the way buffers one response per outstanding request. One is the
    most a request has in flight: its second response (GO-I after WritePull, ExtCmp after
    Fast_GO_WritePull) waits for the write data the first one pulled, and by then the first
    one's credit is back (it returns one link latency after delivery, before the data can have
    crossed even one link and the host's pipeline).
    A fabric where it could wait is refused rather than simulated with snoops passing GOs."""
    from ..fabric.routing import route_path

    load: dict[tuple[str, str], int] = {}
    for device in served:
        path = route_path(graph, home, device) or []
        for edge in itertools.pairwise(path):
            load[edge] = load.get(edge, 0) + graph.nodes[device]["params"].outstanding
    issues = []
    for (sender, receiver), responses in sorted(load.items()):
        data = graph.edges[sender, receiver]
        link = data["params"]
        credits = link.class_credits.h2d_rsp or link.credits
        depth = getattr(graph.nodes[receiver]["params"], "queue_depth", None)
        if depth is not None:
            credits = min(credits, depth)
        if responses > credits:
            issues.append(
                Issue(
                    data["where"],
                    f"up to {responses} H2D responses from host '{home}' may be in flight on "
                    f"the link {sender} -> {receiver} (the outstanding requests of the "
                    f"coherent devices behind it), but it buffers {credits}: a GO waiting for "
                    "credits would let a later snoop pass it",
                    "raise the link's class_credits: {h2d_rsp: N} (and the switch's "
                    "queue_depth), or lower the devices' outstanding",
                )
            )
    return issues


def _workload_issues(
    graph: Any,
    name: str,
    label: str,
    home: str,
    workload: DeviceWorkloadParams,
    place: Callable[[tuple], Where],
) -> list[Issue]:
    where = place(("workload",))
    host = graph.nodes[home]["params"]
    start, end = workload.base, workload.base + workload.footprint
    issues = []
    if workload.base & 63:
        issues.append(
            Issue(where, f"{label} workload base {workload.base:#x} is not 64 B aligned", "")
        )
    if not any(lo <= start and end <= hi for lo, hi, _ in home_memory(host)):
        spans = ", ".join(f"{what} [{lo:#x}, {hi:#x})" for lo, hi, what in home_memory(host))
        issues.append(
            Issue(
                where,
                f"{label} workload touches [{start:#x}, {end:#x}), which is not in one memory "
                f"of its host '{home}'",
                f"its host serves {spans}",
            )
        )
    cores = _host_core_span(host)
    if cores is not None and start < cores[1] and cores[0] < end:
        issues.append(
            Issue(
                where,
                f"{label} workload lines overlap the footprint of host '{home}''s cores, which "
                "do not snoop",
                "move the device's base beyond the host workload's footprint",
            )
        )
    if workload.kind == "producer_consumer":
        issues += _partner_issues(graph, name, label, home, workload, where)
        if workload.footprint < 128:
            issues.append(
                Issue(
                    where,
                    f"{label}: a producer_consumer channel needs two lines (a flag and data)",
                    "use footprint: 128B or more",
                )
            )
    if workload.kind in SHARING_WORKLOADS:
        sharers = sharing_group(graph, name)
        if len(sharers) < 2:
            issues.append(
                Issue(
                    where,
                    f"{label}: its {workload.kind} workload shares its lines with no other device",
                    f"give another device a {workload.kind} workload with base "
                    f"{workload.base:#x} and the same host",
                )
            )
        elif workload.kind == "false_sharing" and len(sharers) > 32:
            issues.append(Issue(where, f"{label}: more than 32 devices falsely share one line", ""))
    return issues


def _partner_issues(
    graph: Any, name: str, label: str, home: str, workload: DeviceWorkloadParams, where: Where
) -> list[Issue]:
    """A producer/consumer names its partner: its home host (a core of it takes the other
    role), or a device with the mirror workload (same lines and host, other role, naming it)."""
    partner = workload.partner
    if not partner:
        return [
            Issue(
                where,
                f"{label}: a producer_consumer workload names no partner",
                f"add partner: {home} (the host whose core takes the other role) or a device",
            )
        ]
    if partner not in graph:
        known = [
            n
            for n, d in graph.nodes(data=True)
            if n == home or isinstance(d["params"], Type1Params)
        ]
        return [
            Issue(
                where,
                f"{label}: producer_consumer partner '{partner}' is not a component",
                "name its host or a coherent device" + did_you_mean(partner, known),
            )
        ]
    params = graph.nodes[partner]["params"]
    if not isinstance(params, Type1Params):
        if partner == home:
            return []
        return [
            Issue(
                where,
                f"{label}: producer_consumer partner '{partner}' is neither its host '{home}' "
                "nor a coherent device",
                f"the lines are homed at '{home}': partner: {home}, or a device served by it",
            )
        ]
    theirs = params.workload
    other = "consumer" if workload.role == "producer" else "producer"
    mirror = (
        theirs is not None
        and theirs.kind == "producer_consumer"
        and theirs.partner == name
        and theirs.role == other
        and (theirs.base, theirs.footprint) == (workload.base, workload.footprint)
        and theirs.requests == workload.requests  # else one side polls for ever
        and home_host(graph, partner, params) == home
    )
    if mirror:
        return []
    return [
        Issue(
            where,
            f"{label}: its partner '{partner}' does not run the other side of its channel",
            f"give '{partner}' the same host and workload: {{kind: producer_consumer, role: "
            f"{other}, partner: {name}, base: {workload.base:#x}, footprint: "
            f"{workload.footprint}, requests: {workload.requests}}}",
        )
    ]


def sharing_group(graph: Any, name: str) -> list[str]:
    """The devices (by name) whose workload is the same sharing kind on the same lines and the
    same host as ``name``'s; a false-sharing device's field is its index in this list."""
    mine = graph.nodes[name]["params"]
    home = home_host(graph, name, mine)
    key = (mine.workload.kind, mine.workload.base, mine.workload.footprint, home)
    group = []
    for other, data in graph.nodes(data=True):
        params = data["params"]
        workload = getattr(params, "workload", None)
        if not isinstance(workload, DeviceWorkloadParams):
            continue
        theirs = (workload.kind, workload.base, workload.footprint, home_host(graph, other, params))
        if theirs == key:
            group.append(other)
    return sorted(group)
