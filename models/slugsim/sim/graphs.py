"""Fabric graphs built in code with ``slugsim.fabric.SystemBuilder`` (validated and routed).

The YAML front end builds graphs from files; these are for ``slugsim calibrate``, the benchmark
and tests, which need known systems without a file.
"""

from __future__ import annotations

from dataclasses import replace

import networkx as nx

from ..components import HostParams
from ..fabric import SystemBuilder
from ..fabric.params import HdmWindow, LinkParams, RunOptions, SwitchParams, WorkloadParams
from ..kernel import NS

GIB = 1 << 30
CXL_BASE = 1 << 40  # HDM windows start above any local DRAM


# -- the systems of CXL_REFERENCE.md §7b ------------------------------------------------------

# Vistara's expanders: CXL 2.0 ASICs on Gen5 (32 GT/s) x8 each (CXL_REFERENCE.md §7b).
VISTARA_LINK = LinkParams(rate=32 * 10**9, width=8)


def chase(target: str, requests: int) -> WorkloadParams:
    """An unloaded latency probe: one dependent load at a time over 1 GiB (misses the LLC)."""
    return WorkloadParams(kind="pointer_chase", footprint=GIB, target=target, requests=requests)


def local_system(requests: int = 2000, seed: int = 1) -> nx.Graph:
    host = HostParams(workload=chase("local", requests))
    return SystemBuilder(RunOptions(seed=seed)).host("host0", host).build()


def direct_system(requests: int = 2000, seed: int = 1) -> nx.Graph:
    host = HostParams(
        hdm=(HdmWindow(base=CXL_BASE, size=64 * GIB, targets=("mem0",)),),
        workload=chase("cxl", requests),
    )
    f = SystemBuilder(RunOptions(seed=seed)).host("host0", host).type3("mem0")
    return f.link("host0", "mem0", VISTARA_LINK).build()


def switched_system(requests: int = 2000, seed: int = 1) -> nx.Graph:
    host = HostParams(
        hdm=(HdmWindow(base=CXL_BASE, size=64 * GIB, targets=("mem0",)),),
        workload=chase("cxl", requests),
    )
    f = SystemBuilder(RunOptions(seed=seed)).host("host0", host).switch("sw0").type3("mem0")
    f.link("host0", "sw0", VISTARA_LINK).link("sw0", "mem0", VISTARA_LINK)
    return f.build()


def interleaved_system(
    cores: int = 32,
    requests_per_core: int = 4000,
    read_ratio: float = 1.0,
    seed: int = 1,
    llc_size: int | None = None,
) -> nx.Graph:
    """Two expanders, 256 B interleaved, loaded by many cores (Intel MLC-style random accesses).

    ``read_ratio`` below 1 mixes in stores (write-allocate: an RFO read, later a writeback).
    Writebacks only flow once the LLC is full of lines, so a mixed run measures the steady
    state only after about ``llc_size / 64`` misses; ``llc_size`` (default: HostParams') lets a
    short run skip that warm-up. Over the 8 GiB footprint the LLC's size changes nothing else
    that matters: nearly every access misses either way (hits are the LLC's share of the
    footprint, 0.4 % at 32 MiB), and a victim is dirty as often as lines are stored to.
    """
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
    if llc_size is not None:
        host = replace(host, llc_size=llc_size)
    f = SystemBuilder(RunOptions(seed=seed)).host("host0", host).type3("mem0").type3("mem1")
    f.link("host0", "mem0", VISTARA_LINK).link("host0", "mem1", VISTARA_LINK)
    return f.build()


# -- benchmark systems ------------------------------------------------------------------------


def leaf_spine_system(
    endpoints: int,
    requests: int,
    in_flight: int = 512,
    leaf_down: int = 16,
    spines: int = 4,
    seed: int = 1,
    active: int | None = None,
) -> nx.Graph:
    """Half hosts, half expanders on ``endpoints / leaf_down`` leaves and ``spines`` spines.

    Host ``i`` maps the expander of the host ``len/2`` places away, on another leaf, so every
    request crosses leaf -> spine -> leaf whatever the fabric's size. ``requests`` and the
    ``in_flight`` outstanding requests are spread evenly over the hosts, so fabrics of different
    sizes carry the same load (what the benchmark's cost ratio needs). ``active`` limits the
    requesters to that many hosts spread over the fabric (the others idle), which separates the
    cost of a bigger fabric from the cost of more components being busy at once.
    """
    if endpoints % (2 * leaf_down):
        raise ValueError(f"endpoints must be a multiple of {2 * leaf_down}, got {endpoints}")
    leaves = endpoints // leaf_down
    hosts = endpoints // 2
    f = SystemBuilder(RunOptions(seed=seed))
    for s in range(spines):
        f.switch(f"spine{s}", SwitchParams(ports=max(32, leaves)))
    for leaf in range(leaves):
        f.switch(f"leaf{leaf}", SwitchParams(ports=leaf_down + spines))
        for s in range(spines):
            f.link(f"leaf{leaf}", f"spine{s}")
    active = hosts if active is None else active
    if not 1 <= active <= hosts or hosts % active:
        raise ValueError(f"active must divide the {hosts} hosts, got {active}")
    per_host = max(1, requests // active)
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
                outstanding=max(1, in_flight // active),
                hdm=(HdmWindow(base=CXL_BASE, size=64 * GIB, targets=(target,)),),
                workload=workload if i % (hosts // active) == 0 else None,
            ),
        )
        f.link(f"leaf{leaf}", f"host{i:04d}")
    return f.build()


def with_seed(g: nx.Graph, seed: int) -> nx.Graph:
    g.graph["run"] = replace(g.graph.get("run") or RunOptions(), seed=seed)
    return g


__all__ = [
    "CXL_BASE",
    "GIB",
    "NS",
    "VISTARA_LINK",
    "direct_system",
    "interleaved_system",
    "leaf_spine_system",
    "local_system",
    "switched_system",
    "with_seed",
]


# -- Intel MLC loaded latency on a Xeon w3-2423 (Sapphire Rapids) -----------------------------

# CXLMemSim's artifact/mlc-sapphirerapids.txt: MLC v3.10 on a Xeon w3-2423 (6 cores, 12
# threads). Its peak read bandwidth, 28.6 GB/s, saturates (loaded latency climbs from 110 to
# 370 ns while bandwidth stays at 28.4), so the memory, not the cores, is the limit. The
# machine's memory is in the same artifact (dmidecode.txt): one DIMM, DIMME1 (the other seven
# slots "No Module Installed"), an SK Hynix HMCG78MEBRA115N, 16 GB DDR5 registered ECC, rated
# 4800 MT/s, 1 rank, "Configured Memory Speed: 4400 MT/s". So one channel at DDR5-4400 (35.2
# GB/s), the speed the w3-2423 runs it at, not the DIMM's rating. 16 GB on one rank of x8 chips
# (64 data bits: 8 chips, plus 2 for ECC: "Total Width: 80 bits") is 16 Gb per chip, the die of
# the preset (tRFC1 295 ns).
SPR_MLC_DRAM_PRESET = "ddr5-4400"
SPR_MLC_DRAM_CHANNELS = 1
# MLC's loaded-latency run: one thread chases pointers, the other 11 hardware threads load the
# memory. Each keeps at most 16 L1D misses in flight (Golden Cove: 16 fill buffers, Intel 64
# and IA-32 Architectures Optimization Reference Manual), so 11 x 16 requests are outstanding.
SPR_MLC_TRAFFIC_THREADS = 11
SPR_MLC_OUTSTANDING = 16
# The artifact's idle random-access latency (node 0 to node 0): 106.3 ns. With the host's
# 20 ns LLC miss path and a DDR5-4400 row miss (tRCD + CL + burst = 36 + 36 + 8 nCK = 36.4 ns),
# the controller and mesh take the remaining 50 ns.
SPR_MLC_IDLE_NS = 106.3
SPR_MLC_CONTROLLER_NS = 50
# Closed page: the artifact's loaded latency at the lightest load (110.1 ns, other threads
# opening random rows meanwhile) is only 3.8 ns above the idle one; open rows would make most
# chase loads row conflicts, tRP = 16 ns more. The controller closes the rows it leaves.
SPR_MLC_PAGE_POLICY = "closed"
SPR_LLC_BYTES = 15 << 20  # w3-2423: 15 MB LLC (Intel product specifications)


def mlc_loaded_system(think_time: int, requests_per_core: int = 1500, seed: int = 1) -> nx.Graph:
    """MLC's loaded latency on the w3-2423's local DDR5 (the timing DRAM model): 11 threads of
    random reads, each with 16 in flight and ``think_time`` between a completion and its next
    issue (MLC's injection delay, as time)."""
    workload = WorkloadParams(
        kind="random",
        footprint=8 * GIB,
        target="local",
        requests=requests_per_core,
        think_time=think_time,
    )
    host = HostParams(
        cores=SPR_MLC_TRAFFIC_THREADS,
        outstanding=SPR_MLC_OUTSTANDING,
        llc_size=SPR_LLC_BYTES,
        dram_model="timing",
        dram_preset=SPR_MLC_DRAM_PRESET,
        dram_channels=SPR_MLC_DRAM_CHANNELS,
        dram_controller_latency=SPR_MLC_CONTROLLER_NS * NS,
        dram_page_policy=SPR_MLC_PAGE_POLICY,
        workload=workload,
    )
    return SystemBuilder(RunOptions(seed=seed)).host("host0", host).build()
