"""Typed parameters of every component, link, workload and run: the contract between the
topology front end (YAML / builder -> networkx graph) and the models that elaborate the graph.

The graph built by ``slugsim.fabric`` is an ``nx.Graph`` where

- ``G.graph["run"]`` is a ``RunOptions``;
- ``G.graph["routes"]`` maps each switch name to ``{destination node: neighbour node}``
  (port-based routing, shortest path, deterministic tie-break by name);
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
    """Field metadata: the one-line description and the unit kind (time, size, rate, ...)."""
    return {"doc": text, **extra}


@dataclass(frozen=True)
class RunOptions:
    seed: int = field(default=1, metadata=doc("run seed; every component derives its RNG from it"))
    stop_time: int | None = field(
        default=None, metadata=doc("stop at this simulated time", unit="time")
    )
    requests: int | None = field(
        default=None, metadata=doc("stop after this many completed requests, summed over hosts")
    )


@dataclass(frozen=True)
class HdmWindow:
    """An HDM decoder: a host physical address window mapped onto CXL devices."""

    base: int = field(metadata=doc("first host physical address of the window", unit="size"))
    size: int = field(metadata=doc("window size", unit="size"))
    targets: tuple[str, ...] = field(metadata=doc("devices interleaved across, in order"))
    granularity: int = field(
        default=256, metadata=doc("interleave granularity (256 B ... 16 KiB)", unit="size")
    )


@dataclass(frozen=True)
class WorkloadParams:
    kind: Literal["random", "stream", "pointer_chase"] = field(
        default="random", metadata=doc("address pattern")
    )
    read_ratio: float = field(default=1.0, metadata=doc("fraction of requests that are reads"))
    footprint: int = field(
        default=1 << 30, metadata=doc("bytes touched, starting at the target base", unit="size")
    )
    target: str = field(
        default="cxl", metadata=doc("'local', 'cxl' (every HDM window) or a window's device")
    )
    requests: int = field(default=10_000, metadata=doc("requests issued per core"))
    think_time: int = field(default=0, metadata=doc("gap between a completion and the next issue"))


@dataclass(frozen=True)
class HostParams:
    cores: int = field(default=1, metadata=doc("cores issuing requests"))
    outstanding: int = field(default=10, metadata=doc("outstanding misses per core"))
    llc_size: int = field(default=32 << 20, metadata=doc("last-level cache size", unit="size"))
    llc_ways: int = field(default=16, metadata=doc("LLC associativity"))
    llc_latency: int = field(default=20 * NS, metadata=doc("LLC hit latency", unit="time"))
    dram_latency: int = field(
        default=110 * NS, metadata=doc("local DRAM latency after the LLC miss", unit="time")
    )
    dram_size: int = field(default=64 << 30, metadata=doc("local DRAM capacity", unit="size"))
    dram_bandwidth: int = field(
        default=400 * 10**9, metadata=doc("local DRAM bandwidth", unit="bandwidth")
    )
    hdm: tuple[HdmWindow, ...] = field(default=(), metadata=doc("HDM decoders"))
    workload: WorkloadParams | None = field(default=None, metadata=doc("traffic generator"))


@dataclass(frozen=True)
class SwitchParams:
    ports: int = field(default=32, metadata=doc("number of ports"))
    latency: int = field(
        default=25 * NS, metadata=doc("port-to-port pipeline latency", unit="time")
    )
    queue_depth: int = field(default=64, metadata=doc("ingress queue entries per port"))


@dataclass(frozen=True)
class LogicalDevice:
    ld_id: int = field(metadata=doc("LD-ID, 0..15"))
    host: str = field(metadata=doc("host the LD is bound to"))
    size: int = field(metadata=doc("capacity of the LD", unit="size"))


@dataclass(frozen=True)
class Type3Params:
    capacity: int = field(default=64 << 30, metadata=doc("device capacity", unit="size"))
    controller_latency: int = field(
        default=40 * NS, metadata=doc("controller/PHY/bridge latency each way", unit="time")
    )
    dram_latency: int = field(default=50 * NS, metadata=doc("device DRAM access", unit="time"))
    dram_bandwidth: int = field(
        default=25 * 10**9, metadata=doc("device DRAM bandwidth", unit="bandwidth")
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
    rate: int = field(default=32 * 10**9, metadata=doc("transfer rate per lane", unit="rate"))
    width: int = field(default=16, metadata=doc("lanes: 1, 2, 4, 8 or 16", unit="width"))
    latency: int = field(default=10 * NS, metadata=doc("wire + PHY latency each way", unit="time"))
    flit_bytes: Literal[68, 256] = field(default=256, metadata=doc("flit size in bytes"))
    credits: int = field(default=64, metadata=doc("receive buffers per direction"))

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
