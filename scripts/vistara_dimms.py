#!/usr/bin/env python3
"""Vistara's calibration rows with the device DRAM as the timing model, per DIMM population.

The calibration system (sim/graphs.py ``interleaved_system``: 32 cores, two expanders 256 B
interleaved, Gen5 x8 each) with each expander's DRAM switched from the ``simple`` bandwidth
server to the bank/row/refresh model (``dram_model: timing``, DDR4-2400, 2 channels), at 1, 2
and 4 ranks per channel. The Vistara paper (ISCA 2026, as reported by The Register and Tom's
Hardware) gives the population: two 72-bit DDR4 channels per ASIC and 128 GB per ASIC from
32 GB modules, so two DIMMs per channel, at least 2 ranks; whether the modules are single-
or dual-rank (2 or 4 ranks per channel) it does not say. Prints, per population, the model's
idle direct-attached latency, peak read bandwidth and the 3:1, 2:1 and 1:1 memory traffic
against CXL_REFERENCE.md §7b (250 ns, 48 GB/s, 41-42 GB/s), with the error of each.
PYTHONPATH=models python scripts/vistara_dimms.py [RANKS ...]
"""

from __future__ import annotations

import dataclasses
import sys
from typing import Any

from slugsim.sim.calibration import (
    DIRECT_TARGET_NS,
    MIXED_LLC_BYTES,
    MIXED_RATIOS,
    MIXED_TARGET_GBPS,
    PEAK_READ_TARGET_GBPS,
    TOLERANCE,
)
from slugsim.sim.elaborate import elaborate
from slugsim.sim.graphs import direct_system, interleaved_system
from slugsim.sim.runner import run_system

DEVICES = ("mem0", "mem1")


def with_timing_dram(graph: Any, ranks: int) -> Any:
    for name in DEVICES:
        if name in graph.nodes:
            params = graph.nodes[name]["params"]
            graph.nodes[name]["params"] = dataclasses.replace(
                params, dram_model="timing", dram_ranks=ranks
            )
    return graph


def figures(ranks: int) -> list[tuple[str, float, float, str]]:
    stats, _ = run_system(elaborate(with_timing_dram(direct_system(2000), ranks)))
    idle = float(stats["latency"]["read"]["paths"]["cxl:mem0"]["p50"])
    stats, _ = run_system(elaborate(with_timing_dram(interleaved_system(), ranks)))
    rows = [
        ("idle, direct", idle, DIRECT_TARGET_NS, "ns"),
        ("peak read", float(stats["bandwidth"]["cxl_read_gbps"]), PEAK_READ_TARGET_GBPS, "GB/s"),
    ]
    for label, read_ratio in MIXED_RATIOS:
        graph = interleaved_system(
            requests_per_core=2000, read_ratio=read_ratio, llc_size=MIXED_LLC_BYTES
        )
        stats, _ = run_system(elaborate(with_timing_dram(graph, ranks)))
        gbps = stats["bandwidth"]["cxl_read_gbps"] + stats["bandwidth"]["cxl_write_gbps"]
        rows.append((f"{label} read:write", float(gbps), MIXED_TARGET_GBPS, "GB/s"))
    return rows


def main() -> None:
    choices = [int(a) for a in sys.argv[1:]] or [1, 2, 4]
    table = []
    for ranks in choices:
        print(f"{ranks} rank(s) per channel ...", file=sys.stderr)
        table.append((ranks, figures(ranks)))
    print("| ranks per channel | figure | model | target | error | within 10 % |")
    print("|---:|---|---:|---:|---:|---|")
    for ranks, rows in table:
        for name, model, target, unit in rows:
            error = (model - target) / target
            ok = "yes" if abs(error) <= TOLERANCE else "NO"
            print(
                f"| {ranks} | {name} | {model:.1f} {unit} | {target:.1f} {unit} | "
                f"{error:+.1%} | {ok} |"
            )


if __name__ == "__main__":
    main()
