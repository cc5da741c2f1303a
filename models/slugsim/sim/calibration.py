"""``slugsim calibrate``: the model's figures beside the measurements of CXL_REFERENCE.md §7b.

Each figure comes from running the default-parameter models on the system the measurement was
taken on (sim/graphs.py): unloaded load-to-use latency by a pointer chase (one dependent miss at
a time), and peak bandwidth by 32 cores issuing random accesses to two 256 B-interleaved
expanders. Nothing is fitted here: the table only reports what the models do.

Mixed read:write bandwidth is counted as Intel MLC counts it: memory traffic, with a store's
read-for-ownership counted as a read and its writeback as a write, and the ratio is that of the
traffic. MLC's own option list says so ("-W11: 3:1 read-Write ratio (stream triad-like with RFO)"
is two loads and a store), and a copy of its source in the public code index (ThruputThread)
credits each iteration of the 2:1 kernel, one load and one store, with 3 lines, and each line
the 1:1 kernel writes with 2. Our host is write-allocate and nearly every access of this
workload misses, so a load costs one MemRd and a store one MemRd (RFO) plus, once the LLC is
full, one MemWr: the traffic ratio R:W is reached with
``read_ratio = 1 - W/R`` (3:1 -> 2/3, 2:1 -> 1/2, 1:1 -> 0), and MLC's figure is
``cxl_read_gbps + cxl_write_gbps`` (stats.json) in the steady state. Counting only the bytes the
cores asked for would leave out the RFO reads and writebacks that MLC includes.

What makes mixed traffic slower than all-reads on the device is modelled by the device DRAM's
read/write turnaround (components/dram.py, Type3Params.dram_turnaround/dram_write_batch). It
puts 3:1 and 2:1 within 10 % of the 41.5 GB/s measured, but bandwidth keeps falling with the
write share, whereas the devices measure flat from 3:1 to 1:1: the model's 1:1 (all stores)
comes out near 31 GB/s, about 26 % low. The link is not the cause: each direction is its own
channel (kernel/port.py), and at 1:1 the M2S RwD and S2M DRS directions each run about a third
busy. The 1:1 row is in the table, marked failing (docs/dram.md: why, and what would close it).

The table also carries the five MLC loaded-latency points (``mlc_loaded_latency``); the point
at injection delay 100, on MLC's knee, fails (docs/dram.md). ``KNOWN_GAPS`` names the failing
rows; ``calibrate`` still exits 1 while any row is outside ±10 %.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.console import Console
from rich.table import Table

from .elaborate import elaborate
from .graphs import direct_system, interleaved_system, local_system, switched_system
from .runner import run_system

TOLERANCE = 0.10  # the acceptance band: each figure within ±10 % of its target

# CXL_REFERENCE.md §7b (Vistara, Meta: AMD Turin + two CXL 2.0 ASIC expanders, Gen5 x8 each).
LOCAL_TARGET_NS = 130.0
DIRECT_TARGET_NS = 250.0
SWITCHED_TARGET_NS = 2 * DIRECT_TARGET_NS  # Panmnesia §I/§VII-B: one switch ≈ 2x direct
PEAK_READ_TARGET_GBPS = 48.0
MIXED_TARGET_GBPS = 41.5  # §7b: 41-42 GB/s for 3:1 ... 1:1 read:write (Vistara Tables III, V)

# (name, read_ratio) of the mixed figures: read_ratio = 1 - W/R for an R:W traffic ratio.
MIXED_RATIOS = (("3:1", 2 / 3), ("2:1", 1 / 2), ("1:1", 0.0))
# A 64 KiB LLC fills after 1024 misses, so the mixed runs are in the writeback steady state
# for all but ~2 % of their 64k accesses (sim/graphs.py: interleaved_system).
MIXED_LLC_BYTES = 64 << 10


@dataclass(frozen=True)
class Figure:
    name: str
    model: float
    target: float
    unit: str
    source: str

    @property
    def error(self) -> float:
        return (self.model - self.target) / self.target

    @property
    def ok(self) -> bool:
        return abs(self.error) <= TOLERANCE


def _p50(graph, cls: str, path: str) -> float:  # type: ignore[no-untyped-def]
    stats, _ = run_system(elaborate(graph))
    return float(stats["latency"][cls]["paths"][path]["p50"])


def mixed_bandwidth(read_ratio: float, requests_per_core: int = 2000) -> float:
    """GB/s of memory traffic (reads, RFOs included, plus writebacks): Intel MLC's figure."""
    graph = interleaved_system(
        requests_per_core=requests_per_core, read_ratio=read_ratio, llc_size=MIXED_LLC_BYTES
    )
    stats, _ = run_system(elaborate(graph))
    bandwidth = stats["bandwidth"]
    return float(bandwidth["cxl_read_gbps"] + bandwidth["cxl_write_gbps"])


def measure(
    requests: int = 2000,
    bandwidth_requests_per_core: int = 4000,
    mixed_requests_per_core: int = 2000,
    mlc: bool = True,
) -> list[Figure]:
    local = _p50(local_system(requests), "read", "local")
    direct = _p50(direct_system(requests), "read", "cxl:mem0")
    switched = _p50(switched_system(requests), "read", "cxl:mem0")
    bw_stats, _ = run_system(
        elaborate(interleaved_system(requests_per_core=bandwidth_requests_per_core))
    )
    bandwidth = float(bw_stats["bandwidth"]["cxl_read_gbps"])
    mixed = [
        Figure(
            f"{label} read:write, 2 interleaved Type-3",
            mixed_bandwidth(read_ratio, mixed_requests_per_core),
            MIXED_TARGET_GBPS,
            "GB/s",
            "Vistara Tbl III/V",
        )
        for label, read_ratio in MIXED_RATIOS
    ]
    return [
        Figure("local DDR, idle", local, LOCAL_TARGET_NS, "ns", "Vistara Tbl VI"),
        Figure(
            "Type-3 direct, idle",
            direct,
            DIRECT_TARGET_NS,
            "ns",
            "Vistara Tbl VI",
        ),
        Figure(
            "Type-3 behind 1 switch, idle",
            switched,
            SWITCHED_TARGET_NS,
            "ns",
            "Panmnesia (≈2x direct)",
        ),
        Figure(
            "peak read, 2 interleaved Type-3",
            bandwidth,
            PEAK_READ_TARGET_GBPS,
            "GB/s",
            "Vistara Tbl III/V",
        ),
        *mixed,
        *(mlc_figures(mlc_loaded_latency()) if mlc else ()),
    ]


def mlc_figures(points: list[LoadedPoint]) -> list[Figure]:
    """The MLC points as rows of the calibration table: the model's p50 read latency at the
    bandwidth MLC measured with that injection delay."""
    return [
        Figure(
            f"MLC delay {p.delay}, local DDR5 @ {p.target_gbps:.1f} GB/s",
            p.p50_ns,
            p.target_ns,
            "ns",
            "CXLMemSim MLC w3-2423",
        )
        for p in points
    ]


# Rows outside ±10 % whose cause is understood and documented (docs/dram.md), pinned by
# tests/test_calibration.py so that a change in either direction is noticed.
KNOWN_GAPS = (
    "1:1 read:write, 2 interleaved Type-3",
    "MLC delay 100, local DDR5 @ 28.0 GB/s",
)


def calibration_table(figures: list[Figure]) -> Table:
    table = Table(
        title="slugsim calibration: idle load-to-use, bandwidth, MLC loaded latency "
        "(CXL_REFERENCE.md §7b, CXLMemSim artifact)"
    )
    for column in ("quantity", "model", "target", "error", "±10%", "source"):
        table.add_column(column, justify="left" if column in ("quantity", "source") else "right")
    for f in figures:
        table.add_row(
            f.name,
            f"{f.model:.1f} {f.unit}",
            f"{f.target:.1f} {f.unit}",
            f"{f.error:+.1%}",
            "yes" if f.ok else ("NO (known gap)" if f.name in KNOWN_GAPS else "NO"),
            f.source,
        )
    return table


def calibrate(console: Console | None = None) -> int:
    """Print the calibration table; exit code 0 when every figure is within ±10 %, else 1."""
    console = console or Console()
    figures = measure()
    console.print(calibration_table(figures))
    return 0 if all(f.ok for f in figures) else 1


# -- Intel MLC loaded latency, local DDR5 on a Xeon w3-2423 (timing DRAM model) ----------------

# CXLMemSim artifact/mlc-sapphirerapids.txt, "Measuring Loaded Latencies for the system":
# (MLC injection delay, latency ns, bandwidth GB/s). The only loaded targets of the model.
MLC_LOADED_TARGETS = (
    (20000, 110.1, 0.74),
    (1000, 113.0, 3.59),
    (200, 125.1, 14.6),
    (100, 238.5, 28.0),
    (0, 370.1, 28.4),
)


@dataclass(frozen=True)
class LoadedPoint:
    delay: int  # MLC's injection delay
    think_ns: float  # the think time that offers MLC's load to the model
    p50_ns: float
    mean_ns: float
    bandwidth_gbps: float
    target_ns: float
    target_gbps: float

    @property
    def error(self) -> float:
        return (self.p50_ns - self.target_ns) / self.target_ns

    @property
    def ok(self) -> bool:
        return abs(self.error) <= TOLERANCE


def _mlc_run(think_ps: int, requests_per_core: int) -> tuple[float, float, float]:
    from .graphs import mlc_loaded_system

    stats, _ = run_system(elaborate(mlc_loaded_system(think_ps, requests_per_core)))
    latency = stats["latency"]["read"]["paths"]["local"]
    return (
        float(latency["p50"]),
        float(latency["mean"]),
        float(stats["bandwidth"]["local_read_gbps"]),
    )


def mlc_loaded_latency(requests_per_core: int = 1500, iterations: int = 3) -> list[LoadedPoint]:
    """The model's loaded-latency curve beside MLC's on the w3-2423 (sim/graphs.py).

    MLC's injection delay is a count of delay-loop iterations between a thread's loads, whose
    length in time MLC does not publish, so the delay cannot be turned into a think time from
    the sources. What the artifact does give is the load each delay offered: its bandwidth. So
    each point's think time is the one that offers that load, by Little's law over the
    ``slots`` requests in flight: ``think = slots * 64 B / bandwidth - latency``, with the
    model's own mean latency, a few fixed-point steps. The latency is then the model's
    prediction. Delay 0 is MLC without a delay: no think time, the bandwidth is the model's.
    The latency compared is the p50 of all reads: MLC's latency thread samples the same queues
    the traffic meets, and the mean is inflated by the host's cores issuing in step (every slot
    starts at t = 0 and keeps its phase with a fixed think time), which MLC's threads do not.
    """
    from .graphs import SPR_MLC_OUTSTANDING, SPR_MLC_TRAFFIC_THREADS

    slots = SPR_MLC_TRAFFIC_THREADS * SPR_MLC_OUTSTANDING
    points = []
    for delay, target_ns, target_gbps in MLC_LOADED_TARGETS:
        think = 0
        if delay:
            mean = target_ns
            for _ in range(iterations):
                think = max(0, round(slots * 64 / target_gbps * 1000 - mean * 1000))
                _, mean, _ = _mlc_run(think, requests_per_core)
        p50, mean, bandwidth = _mlc_run(think, requests_per_core)
        points.append(
            LoadedPoint(delay, think / 1000, p50, mean, bandwidth, target_ns, target_gbps)
        )
    return points


def mlc_table(points: list[LoadedPoint]) -> Table:
    table = Table(
        title="MLC loaded latency, local DDR5 on a Xeon w3-2423 (CXLMemSim mlc-sapphirerapids)"
    )
    columns = ("delay", "think", "model p50", "model mean", "target", "error", "±10%")
    for column in (*columns, "model GB/s", "MLC GB/s"):
        table.add_column(column, justify="right")
    for p in points:
        table.add_row(
            str(p.delay),
            f"{p.think_ns:.0f} ns",
            f"{p.p50_ns:.1f} ns",
            f"{p.mean_ns:.1f} ns",
            f"{p.target_ns:.1f} ns",
            f"{p.error:+.1%}",
            "yes" if p.ok else "NO",
            f"{p.bandwidth_gbps:.2f}",
            f"{p.target_gbps:.2f}",
        )
    return table
