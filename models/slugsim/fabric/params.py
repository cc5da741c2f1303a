"""Typed parameters of every component, link, workload and run: the contract between the
topology front end (YAML / builder -> networkx graph) and the models that elaborate the graph.

The graph built by ``slugsim.fabric`` is an ``nx.Graph`` where

- ``G.graph["run"]`` is a ``RunOptions``;
- ``G.graph["routes"]`` maps each switch name to ``{destination node: neighbour node}``
  (port-based routing, shortest path; equal-cost next hops are chosen by destination,
  D-mod-k: see ``slugsim.fabric.routing``);
- every node has ``kind`` (a kind registered with ``slugsim.contract.component``) and ``params``
  (that kind's params dataclass, defined in the kind's own module);
- every edge has ``params`` (a ``LinkParams``), ``ports`` (``{node: port index on that node}``),
  ``roles`` (``{node: the Role its port plays}``) and ``protocols`` (what the link carries).

All times are integer picoseconds, sizes bytes, rates transfers/s, bandwidths bytes/s. This
module holds what several kinds share (runs, links, switches, HDM windows, workloads); each
field has a default and a one-line description (``field(metadata={"doc": ...})``) so that the
schema, ``slugsim schema`` and the docs come from here. Default values that are calibrated cite
shared/CXL_REFERENCE.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from ..kernel.units import NS


def doc(text: str, **extra: Any) -> dict[str, Any]:
    """Field metadata: the one-line description, the unit kind (time, size, rate, bandwidth,
    width) and optional inclusive bounds ``ge`` / ``le`` that the config layer enforces."""
    return {"doc": text, **extra}


@dataclass(frozen=True)
class RunOptions:
    seed: int = field(
        default=1,
        metadata=doc("run seed; every component derives its RNG from it", ge=0, le=2**63 - 1),
    )
    stop_time: int | None = field(
        default=None, metadata=doc("stop at this simulated time", unit="time")
    )
    requests: int | None = field(
        default=None,
        metadata=doc("stop after this many completed requests (hosts and coherent devices)", ge=1),
    )
    breakdown: bool = field(
        default=False,
        metadata=doc(
            "follow every request through the fabric and report its time per stage (a probe "
            "on every port: slower)"
        ),
    )


@dataclass(frozen=True)
class HdmWindow:
    """An HDM decoder: a host physical address window mapped onto CXL devices."""

    base: int = field(metadata=doc("first host physical address of the window", unit="size"))
    size: int = field(metadata=doc("window size", unit="size", ge=1))
    targets: tuple[str, ...] = field(metadata=doc("devices interleaved across, in order"))
    granularity: int = field(
        default=256, metadata=doc("interleave granularity (256 B ... 16 KiB)", unit="size")
    )


@dataclass(frozen=True)
class WorkloadParams:
    kind: Literal["random", "stream", "pointer_chase"] = field(
        default="random", metadata=doc("address pattern")
    )
    read_ratio: float = field(
        default=1.0, metadata=doc("fraction of requests that are reads", ge=0, le=1)
    )
    footprint: int = field(
        default=1 << 30,
        metadata=doc("bytes touched, starting at the target base", unit="size", ge=1),
    )
    target: str = field(
        default="cxl", metadata=doc("'local', 'cxl' (every HDM window) or a window's device")
    )
    requests: int = field(default=10_000, metadata=doc("requests issued per core", ge=1))
    think_time: int = field(
        default=0, metadata=doc("gap between a completion and the next issue", unit="time")
    )


@dataclass(frozen=True)
class SwitchParams:
    """The switch kind's params (here, not in components/switch.py: fabric families generate
    switches)."""

    ports: int = field(default=32, metadata=doc("number of ports", ge=1, le=4096))
    # Derived: one switch makes a load ≈2x the direct-attached 250 ns (CXL_REFERENCE.md §7b,
    # Panmnesia); with the extra link hop (2 x 10 ns + serialisation) that leaves 113 ns each
    # way, in the ~100-120 ns range of the §7 editorial estimate [NP-c] (Xerxes' 25 ns is a
    # simulator default, not a measurement).
    latency: int = field(
        default=113 * NS, metadata=doc("port-to-port pipeline latency", unit="time")
    )
    queue_depth: int = field(
        default=64, metadata=doc("ingress queue entries per port and message class", ge=1, le=65536)
    )
    # Off by default: with shortest-path routing a cyclic fabric (ring) has cyclic buffer
    # dependencies, and with requests and responses sharing buffers it deadlocked under load
    # once buffers were held (issue 3: a 6-switch ring stopped after 1,006 of 96,000 requests).
    hold_ingress: bool = field(
        default=False,
        metadata=doc(
            "hold an ingress buffer until its message leaves the egress backlog (hop-by-hop "
            "back-pressure; cyclic fabrics can deadlock)"
        ),
    )


@dataclass(frozen=True)
class ClassCredits:
    """Receive buffers per direction of one message class (virtual channel), where it should
    differ from the link's ``credits``: each CXL message class has its own link-layer credits
    (CXL_REFERENCE.md §1.1, §2.1); the response and data classes are pre-allocated by the
    requester and see only link-layer back-pressure (§1.1)."""

    m2s_req: int | None = field(default=None, metadata=doc("M2S Req buffers", ge=1, le=65536))
    m2s_rwd: int | None = field(default=None, metadata=doc("M2S RwD buffers", ge=1, le=65536))
    m2s_birsp: int | None = field(default=None, metadata=doc("M2S BIRsp buffers", ge=1, le=65536))
    s2m_ndr: int | None = field(default=None, metadata=doc("S2M NDR buffers", ge=1, le=65536))
    s2m_drs: int | None = field(default=None, metadata=doc("S2M DRS buffers", ge=1, le=65536))
    s2m_bisnp: int | None = field(default=None, metadata=doc("S2M BISnp buffers", ge=1, le=65536))
    d2h_req: int | None = field(default=None, metadata=doc("D2H Req buffers", ge=1, le=65536))
    d2h_rsp: int | None = field(default=None, metadata=doc("D2H Rsp buffers", ge=1, le=65536))
    d2h_data: int | None = field(default=None, metadata=doc("D2H Data buffers", ge=1, le=65536))
    h2d_req: int | None = field(default=None, metadata=doc("H2D Req buffers", ge=1, le=65536))
    h2d_rsp: int | None = field(default=None, metadata=doc("H2D Rsp buffers", ge=1, le=65536))
    h2d_data: int | None = field(default=None, metadata=doc("H2D Data buffers", ge=1, le=65536))
    io: int | None = field(default=None, metadata=doc("CXL.io buffers", ge=1, le=65536))


@dataclass(frozen=True)
class LinkParams:
    rate: int = field(default=32 * 10**9, metadata=doc("transfer rate per lane", unit="rate", ge=1))
    width: int = field(default=16, metadata=doc("lanes: 1, 2, 4, 8 or 16", unit="width"))
    # Derived: no measurement separates the link from the endpoints; 10 ns per crossing is
    # part of the calibrated 250 ns direct-attached load (CXL_REFERENCE.md §7b).
    latency: int = field(default=10 * NS, metadata=doc("wire + PHY latency each way", unit="time"))
    flit_bytes: Literal[68, 256] = field(default=256, metadata=doc("flit size in bytes"))
    # 64: the most credits the 68B-flit credit return encodes per message class (3-bit
    # exponent 0, 1, 2, 4 ... 64; CXL_REFERENCE.md §6.1, S4 Tbl 4-4/4-5).
    credits: int = field(
        default=64,
        metadata=doc("receive buffers per direction and message class", ge=1, le=65536),
    )
    class_credits: ClassCredits = field(
        default_factory=lambda: ClassCredits(),
        metadata=doc("receive buffers of single message classes (unset: credits)"),
    )

    @property
    def bandwidth(self) -> int:
        """Bytes per second per direction (32 GT/s x16 = 64 GB/s, CXL_REFERENCE.md §6.1)."""
        return self.rate * self.width // 8


def format_size(size: int) -> str:
    """64 << 30 -> '64GiB'; sizes that are not a whole number of a binary unit stay in bytes."""
    for unit, shift in (("TiB", 40), ("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if size and size % (1 << shift) == 0:
            return f"{size >> shift}{unit}"
    return f"{size}B"
