#!/usr/bin/env python3
"""Invalidation latency and PRI fault latency, both measured in timed runs.

    PYTHONPATH=models python scripts/ats_latency.py

Topology: a host, a switch and ``acc0`` (type1, 16 KiB cache, 16 operations outstanding, ATS
with a 64-entry 4-way ATC, 4 KiB pages), 32 GT/s x16 links, ``stream_read`` once over 64 pages
(4096 line reads) of host memory.

- Invalidation: host software unmaps ``unmap_batch`` pages of the span every 2 µs
  (``params.ats.unmap_interval``) and makes each resident again when its Invalidate Completion
  arrives; the latency is from the unmap (the Invalidate Request sent, or queued when the
  device's Invalidate Queue Depth is full) to the completion at the host, with the device's
  CXL.cache stream on the same links.
- PRI fault: every ``fault_every``-th page of the span starts non-resident. The device's first
  touch gets a Translation Completion with R = W = 0, sends a Page Request, the host serves it
  (10 µs, an assumption: ``slugsim.ats.iommu``) and answers PRG Response Success, the device
  translates again. Measured at the device, per fault: from the lookup that sent the Page
  Request to the translation that succeeded.

Figures printed last.
"""

from __future__ import annotations

from typing import Any

from slugsim.components import DeviceWorkloadParams, Type1Params
from slugsim.components.coherent_params import DeviceAtsParams
from slugsim.fabric import SystemBuilder
from slugsim.fabric.params import LinkParams, RunOptions, SwitchParams
from slugsim.kernel.units import NS
from slugsim.sim import elaborate
from slugsim.sim.runner import run_system

BASE = 4 << 30
PAGES = 64


def run(**ats: Any) -> dict:
    workload = DeviceWorkloadParams(
        kind="stream_read", base=BASE, footprint=PAGES * 4096, requests=PAGES * 64
    )
    builder = SystemBuilder(RunOptions(seed=1))
    builder.host("host0").switch("sw0", SwitchParams(ports=8)).link("host0", "sw0")
    params = Type1Params(
        cache_size=16 << 10,
        workload=workload,
        ats=DeviceAtsParams(atc_entries=64, atc_ways=4, **ats),
    )
    builder.component("acc0", "type1", params).link("sw0", "acc0", LinkParams())
    stats, _ = run_system(elaborate(builder.build()))
    return stats


def main() -> None:
    rows: list[tuple[str, str]] = []
    quiet = run()
    base_time = quiet["run"]["sim_time_ns"]
    miss = quiet["devices"]["acc0"]["ats"]["miss_latency_ns"]
    print(f"no unmaps, no faults: device ats {quiet['devices']['acc0']['ats']}")
    rows.append(("translation miss wait at the device (walk at the host)", f"{miss:.1f}"))
    rows.append(("run time, no unmaps and no faults", f"{base_time:.0f}"))
    for batch, depth in ((1, 0), (8, 0), (8, 2)):
        stats = run(unmap_interval=2000 * NS, unmap_batch=batch, invalidate_queue_depth=depth)
        host, device = stats["hosts"]["host0"]["ats"], stats["devices"]["acc0"]["ats"]
        print(f"unmap batch {batch}, queue depth field {depth}: host {host}")
        print(f"  device {device}")
        rows.append(
            (
                f"invalidation, unmap -> completion at the host: {batch} page(s) every 2 µs, "
                f"queue depth {depth or 32} ({host['invalidations_completed']} completed, "
                f"{host['invalidations_queued']} queued; the device then took "
                f"{device['page_requests']} PRI faults)",
                f"{host['invalidation_latency_ns']:.1f}",
            )
        )
        rows.append(
            (
                f"... run time ({device['translation_requests']} Translation Requests)",
                f"{stats['run']['sim_time_ns']:.0f}",
            )
        )
    for every in (16, 4, 1):
        stats = run(fault_every=every)
        device = stats["devices"]["acc0"]["ats"]
        print(f"fault_every {every}: device {device}")
        rows.append(
            (
                f"PRI fault, lookup -> translation after PRG Success, 1 page in {every} "
                f"non-resident ({device['page_requests']} Page Requests)",
                f"{device['fault_latency_ns']:.1f}",
            )
        )
        rows.append(("... run time", f"{stats['run']['sim_time_ns']:.0f}"))
    print()
    print("| figure | ns |")
    print("|---|---|")
    for name, value in rows:
        print(f"| {name} | {value} |")


if __name__ == "__main__":
    main()
