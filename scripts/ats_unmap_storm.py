#!/usr/bin/env python3
"""An unmap storm against the device's ATC: does the device still make progress?

    PYTHONPATH=models python scripts/ats_unmap_storm.py

Topology: a host, a switch and ``acc0`` (type1, 4 KiB cache, ATS with an 8-entry 2-way ATC,
4 KiB pages, Invalidate Queue Depth 2), 32 GT/s x16 links. ``read_modify_write``, 300
operations over a 16-page span of host memory. Host software unmaps 3 pages of the span every
500 ns, round robin, and maps each back when its Invalidate Completion arrives: every page is
unmapped every ~2.7 µs, and unmaps of *other* pages of a pending miss's 2 MiB region arrive
faster than one translation round trip. The run stops at 200 µs of simulated time.

Before the ATC's per-page-size staleness (docs/ats.md), every invalidation marked every pending
miss in its 2 MiB region stale, so no translation ever survived: 0 of 300 operations in 200 µs.
Figures printed last.
"""

from __future__ import annotations

from typing import Any

from slugsim.components import DeviceWorkloadParams, Type1Params
from slugsim.components.coherent_params import DeviceAtsParams
from slugsim.fabric import SystemBuilder
from slugsim.fabric.params import LinkParams, RunOptions, SwitchParams
from slugsim.kernel.units import NS, US
from slugsim.sim import elaborate
from slugsim.sim.runner import run_system

BASE = 4 << 30
PAGES = 16
OPERATIONS = 300


def run(interval: int = 500 * NS, batch: int = 3, stop: int = 200 * US) -> dict[str, Any]:
    """One storm run; the stats of the device and the host's translation agent."""
    workload = DeviceWorkloadParams(
        kind="read_modify_write", base=BASE, footprint=PAGES * 4096, requests=OPERATIONS
    )
    ats = DeviceAtsParams(
        atc_entries=8,
        atc_ways=2,
        unmap_interval=interval,
        unmap_batch=batch,
        invalidate_queue_depth=2,
    )
    builder = SystemBuilder(RunOptions(seed=1, stop_time=stop))
    builder.host("host0").switch("sw0", SwitchParams(ports=4)).link("host0", "sw0")
    params = Type1Params(cache_size=4 << 10, cache_ways=4, workload=workload, ats=ats)
    builder.component("acc0", "type1", params).link("sw0", "acc0", LinkParams())
    stats, _ = run_system(elaborate(builder.build()))
    return stats


def main() -> None:
    stats = run()
    device = stats["devices"]["acc0"]
    host = stats["hosts"]["host0"]["ats"]
    ats = device["ats"]
    print(f"device ats {ats}")
    print(f"host ats (no denials expected) blocked={host['blocked']}")
    print()
    print("3 unmaps every 500 ns, queue depth 2, 16 pages, stop at 200 µs:")
    print(f"  operations completed       {device['completed']} of {OPERATIONS}")
    print(f"  simulated time (ns)        {stats['run']['sim_time_ns']:.0f}")
    print(f"  Translation Requests       {ats['translation_requests']}")
    print(f"  invalidations received     {ats['invalidations']}")
    print(f"  invalidations completed    {host['invalidations_completed']}")
    print(f"  mean invalidation latency  {host['invalidation_latency_ns']:.0f} ns")
    print(f"  ATC miss latency (mean)    {ats['miss_latency_ns']:.0f} ns")


if __name__ == "__main__":
    main()
