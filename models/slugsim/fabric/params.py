"""Typed parameters of every component, link, workload and run: the contract between the
topology front end (YAML / builder -> networkx graph) and the models that elaborate the graph.

The graph built by ``slugsim.fabric`` is an ``nx.Graph`` where

- ``G.graph["run"]`` is a ``RunOptions``;
- ``G.graph["routes"]`` maps each switch name to ``{destination node: neighbour node}``
  (port-based routing, shortest path; equal-cost next hops are chosen by destination,
  D-mod-k: see ``slugsim.fabric.routing``);
- every node has ``kind`` (one of ``KINDS``) and ``params`` (the matching dataclass below);
- every edge has ``params`` (a ``LinkParams``) and ``ports``: ``{node: port index on that node}``.

All times are integer picoseconds, sizes bytes, rates transfers/s, bandwidths bytes/s. Each field
has a default and a one-line description (``field(metadata={"doc": ...})``) so that the schema,
``slugsim schema`` and the docs come from here. Default values that are calibrated cite
shared/CXL_REFERENCE.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from ..kernel.units import NS

KINDS = ("host", "switch", "type3", "type2", "nic")


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
        metadata=doc("stop after this many completed requests, summed over hosts", ge=1),
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
class HostParams:
    cores: int = field(default=1, metadata=doc("cores issuing requests", ge=1, le=4096))
    outstanding: int = field(
        default=10, metadata=doc("outstanding misses per core", ge=1, le=65536)
    )
    llc_size: int = field(
        default=32 << 20, metadata=doc("last-level cache size", unit="size", ge=1)
    )
    llc_ways: int = field(default=16, metadata=doc("LLC associativity", ge=1, le=1024))
    # Calibration (slugsim calibrate): llc_latency + dram_latency = the 130 ns idle local DDR
    # load of CXL_REFERENCE.md §7b (Vistara, AMD Turin); the 20/110 split is derived, no
    # measurement gives it. llc_latency is also the miss path to the CXL root port.
    llc_latency: int = field(default=20 * NS, metadata=doc("LLC hit latency", unit="time"))
    dram_latency: int = field(
        default=110 * NS, metadata=doc("local DRAM latency after the LLC miss", unit="time")
    )
    dram_size: int = field(default=64 << 30, metadata=doc("local DRAM capacity", unit="size"))
    # 12 x DDR5-6400 x 8 B = 614.4 GB/s, the calibration platform (CXL_REFERENCE.md §7b).
    dram_bandwidth: int = field(
        default=614_400 * 10**6, metadata=doc("local DRAM bandwidth", unit="bandwidth", ge=1)
    )
    hdm: tuple[HdmWindow, ...] = field(default=(), metadata=doc("HDM decoders"))
    workload: WorkloadParams | None = field(default=None, metadata=doc("traffic generator"))


@dataclass(frozen=True)
class SwitchParams:
    ports: int = field(default=32, metadata=doc("number of ports", ge=1, le=4096))
    # Derived: one switch makes a load ≈2x the direct-attached 250 ns (CXL_REFERENCE.md §7b,
    # Panmnesia); with the extra link hop (2 x 10 ns + serialisation) that leaves 113 ns each
    # way, in the ~100-120 ns range of the §7 editorial estimate [NP-c] (Xerxes' 25 ns is a
    # simulator default, not a measurement).
    latency: int = field(
        default=113 * NS, metadata=doc("port-to-port pipeline latency", unit="time")
    )
    queue_depth: int = field(
        default=64, metadata=doc("ingress queue entries per port", ge=1, le=65536)
    )
    # Off by default: with shortest-path routing a cyclic fabric (ring) has cyclic buffer
    # dependencies and deadlocks under load once buffers are held (measured: a 6-switch ring
    # stopped after 1,006 of 96,000 requests), and the model has no escape channels yet.
    hold_ingress: bool = field(
        default=False,
        metadata=doc(
            "hold an ingress buffer until its message leaves the egress backlog (hop-by-hop "
            "back-pressure; cyclic fabrics can deadlock)"
        ),
    )


@dataclass(frozen=True)
class LogicalDevice:
    ld_id: int = field(metadata=doc("LD-ID, 0..15", ge=0, le=15))
    host: str = field(metadata=doc("host the LD is bound to"))
    size: int = field(metadata=doc("capacity of the LD", unit="size", ge=1))


@dataclass(frozen=True)
class Type3Params:
    capacity: int = field(default=64 << 30, metadata=doc("device capacity", unit="size", ge=1))
    # Vistara: the expander's controller/PHY/bridge add ≈150 ns per round trip, i.e. 75 ns
    # each way (CXL_REFERENCE.md §7b).
    controller_latency: int = field(
        default=75 * NS, metadata=doc("controller/PHY/bridge latency each way", unit="time")
    )
    # Derived: what is left of the 250 ns direct-attached load (§7b) after the host miss path
    # (20), two link crossings (2 x 10 + serialisation) and the controller (150).
    dram_latency: int = field(default=55 * NS, metadata=doc("device DRAM access", unit="time"))
    # Two DDR4-2400 channels, 2 x 2400 MT/s x 8 B = 38.4 GB/s: the calibration devices' DRAM,
    # whose 76.8 GB/s for the pair is the "theoretical" that 48 GB/s is 62 % of (§7b).
    dram_bandwidth: int = field(
        default=38_400 * 10**6, metadata=doc("device DRAM bandwidth", unit="bandwidth", ge=1)
    )
    # DDR4-2400 (1200 MHz clock) data-bus idle time of one read->write->read turnaround, 24
    # clocks = 20 ns: read->write 2 (JESD79-4 read-to-write spacing RL + BL/2 - WL + 2 nCK leaves
    # the bus 2 clocks idle) plus write->read tWTR + CL = 5 + 17. tWTR_S = max(2 nCK, 2.5 ns) = 3
    # and tWTR_L = max(4 nCK, 7.5 ns) = 9 clocks (JESD79-4); a random read lands in the last
    # write's bank group 1 time in 4 (4 bank groups), so 3/4 * 3 + 1/4 * 9 = 4.5, rounded up to 5.
    # CL 17 is the DDR4-2400T bin that gem5's DDR4_2400 interface takes from Micron MT40A2G4.
    dram_turnaround: int = field(
        default=20 * NS,
        metadata=doc("device DRAM bus idle per read->write->read turnaround", unit="time"),
    )
    # Derived: with the 20 ns turnaround, draining 4 writes per turnaround puts the model's 3:1
    # and 2:1 read:write memory traffic within 10 % of Vistara's 41-42 GB/s (CXL_REFERENCE.md
    # §7b; sim/calibration.py). Real controllers batch more (gem5's MemCtrl: at least 16 writes
    # per switch), so the small batch also stands for write costs not modelled otherwise.
    dram_write_batch: int = field(
        default=4,
        metadata=doc("posted writes the device DRAM drains per turnaround", ge=1, le=65536),
    )
    lds: tuple[LogicalDevice, ...] = field(
        default=(), metadata=doc("multi-logical-device partitions (empty: single LD)")
    )


@dataclass(frozen=True)
class PlaceholderParams:
    """Type-2 accelerators and NICs: modelled in later issues; present in the graph only."""

    note: str = field(default="", metadata=doc("free text"))


@dataclass(frozen=True)
class LinkParams:
    rate: int = field(default=32 * 10**9, metadata=doc("transfer rate per lane", unit="rate", ge=1))
    width: int = field(default=16, metadata=doc("lanes: 1, 2, 4, 8 or 16", unit="width"))
    # Derived: no measurement separates the link from the endpoints; 10 ns per crossing is
    # part of the calibrated 250 ns direct-attached load (CXL_REFERENCE.md §7b).
    latency: int = field(default=10 * NS, metadata=doc("wire + PHY latency each way", unit="time"))
    flit_bytes: Literal[68, 256] = field(default=256, metadata=doc("flit size in bytes"))
    credits: int = field(default=64, metadata=doc("receive buffers per direction", ge=1, le=65536))

    @property
    def bandwidth(self) -> int:
        """Bytes per second per direction (32 GT/s x16 = 64 GB/s, CXL_REFERENCE.md §6.1)."""
        return self.rate * self.width // 8


PARAMS_BY_KIND: dict[str, type] = {
    "host": HostParams,
    "switch": SwitchParams,
    "type3": Type3Params,
    "type2": PlaceholderParams,
    "nic": PlaceholderParams,
}
