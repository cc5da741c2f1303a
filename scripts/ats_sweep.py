#!/usr/bin/env python3
"""ATC hit rate vs ATC size for the device workloads (one device, 4 KiB pages, 4-way ATC or
fully associative below 4 entries), with the mean time a miss waits for its translation.

    PYTHONPATH=models python scripts/ats_sweep.py

Each point is one timed run: a host, a switch and ``acc0`` (type1, 16 KiB cache so the span
does not fit) running the workload on 256 KiB (64 pages) of host memory; sharing kinds run
on two devices over 1 KiB (one page). Figures printed last.
"""

from __future__ import annotations

from slugsim.components import DeviceWorkloadParams, Type1Params
from slugsim.components.coherent_params import DeviceAtsParams
from slugsim.fabric import SystemBuilder
from slugsim.fabric.params import LinkParams, RunOptions, SwitchParams
from slugsim.sim import elaborate
from slugsim.sim.runner import run_system

BASE = 4 << 30
KINDS = ("stream_read", "read_modify_write", "producer_consumer", "migratory", "false_sharing")
SIZES = (1, 4, 16, 64, 256)


def point(kind: str, entries: int) -> dict:
    sharing = kind in ("migratory", "false_sharing")
    footprint = 1024 if sharing else 256 << 10
    workload = DeviceWorkloadParams(
        kind=kind, base=BASE, footprint=footprint, requests=2000, partner="host0"
    )
    ats = DeviceAtsParams(atc_entries=entries, atc_ways=min(4, entries))
    builder = SystemBuilder(RunOptions(seed=1))
    builder.host("host0").switch("sw0", SwitchParams(ports=8)).link("host0", "sw0")
    for name in ("acc0", "acc1") if sharing else ("acc0",):
        params = Type1Params(cache_size=16 << 10, workload=workload, ats=ats)
        builder.component(name, "type1", params).link("sw0", name, LinkParams())
    stats, _ = run_system(elaborate(builder.build()))
    return stats["devices"]["acc0"]["ats"]


def main() -> None:
    rows = []
    for kind in KINDS:
        for entries in SIZES:
            ats = point(kind, entries)
            rows.append((kind, entries, ats["hit_rate"], ats["miss_latency_ns"]))
            print(f"{kind} entries={entries}: {ats}", flush=True)
    print()
    print("| workload | " + " | ".join(f"{n} entries" for n in SIZES) + " | miss wait (ns) |")
    print("|---|" + "---|" * (len(SIZES) + 1))
    for kind in KINDS:
        mine = [r for r in rows if r[0] == kind]
        rates = " | ".join(f"{100 * r[2]:.1f} %" for r in mine)
        print(f"| {kind} | {rates} | {mine[-1][3]:.0f} |")


if __name__ == "__main__":
    main()
