"""``slugsim calibrate``: the model's figures beside the measurements of CXL_REFERENCE.md §7b.

Each figure comes from running the default-parameter models on the system the measurement was
taken on (sim/graphs.py): unloaded load-to-use latency by a pointer chase (one dependent miss at
a time), and peak read bandwidth by 32 cores issuing random reads to two 256 B-interleaved
expanders. Nothing is fitted here: the table only reports what the models do.
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


def measure(requests: int = 2000, bandwidth_requests_per_core: int = 4000) -> list[Figure]:
    local = _p50(local_system(requests), "read", "local")
    direct = _p50(direct_system(requests), "read", "cxl:mem0")
    switched = _p50(switched_system(requests), "read", "cxl:mem0")
    bw_stats, _ = run_system(
        elaborate(interleaved_system(requests_per_core=bandwidth_requests_per_core))
    )
    bandwidth = float(bw_stats["bandwidth"]["cxl_read_gbps"])
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
    ]


def calibration_table(figures: list[Figure]) -> Table:
    table = Table(
        title="slugsim calibration: unloaded load-to-use and peak read (CXL_REFERENCE.md §7b)"
    )
    for column in ("quantity", "model", "target", "error", "±10%", "source"):
        table.add_column(column, justify="left" if column in ("quantity", "source") else "right")
    for f in figures:
        table.add_row(
            f.name,
            f"{f.model:.1f} {f.unit}",
            f"{f.target:.1f} {f.unit}",
            f"{f.error:+.1%}",
            "yes" if f.ok else "NO",
            f.source,
        )
    return table


def calibrate(console: Console | None = None) -> int:
    """Print the calibration table; exit code 0 when every figure is within ±10 %, else 1."""
    console = console or Console()
    figures = measure()
    console.print(calibration_table(figures))
    return 0 if all(f.ok for f in figures) else 1
