#!/usr/bin/env python3
"""The IOTLB wall: how much a translation-miss stream slows a device, against the number of
distinct pages it touches, the ATC size fixed; each point against the same run without ATS.

    PYTHONPATH=models python scripts/ats_iotlb_wall.py [--jobs 1] [--requests 4096]

Each point is two timed runs of two ``type1`` devices (``acc0``, ``acc1``: 16 KiB cache, 16
operations outstanding each) behind a switch, 32 GT/s x16 links, both running ``migratory``
(read-modify-write of a random line) over one span of ``pages`` x 4 KiB pages of host memory,
``requests`` operations each, once with
``params.ats`` (64-entry 4-way ATC, 4 KiB pages, the host's 2048-entry IOTLB) and once without.
Random lines defeat the device cache at every span above 16 KiB, so the run without ATS is the
coherent cost alone and the ratio isolates translation (on the smallest spans the two devices
also take lines from each other, in both runs). Throughput and latency are over both devices;
the ATC and host figures are ``acc0``'s and the host's. Past 64 pages the ATC misses; past
2048 pages the host's IOTLB misses too and every translation walks. Figures printed last.
"""

from __future__ import annotations

import argparse
from concurrent.futures import ProcessPoolExecutor

from slugsim.components import DeviceWorkloadParams, Type1Params
from slugsim.components.coherent_params import DeviceAtsParams
from slugsim.fabric import SystemBuilder
from slugsim.fabric.params import LinkParams, RunOptions, SwitchParams
from slugsim.sim import elaborate
from slugsim.sim.runner import run_system
from slugsim.stats.histogram import LatencyHistogram

BASE = 4 << 30
PAGES = (4, 16, 64, 256, 1024, 4096, 16384)
DEVICES = ("acc0", "acc1")  # migratory needs a second device on the span


def point(pages: int, ats: bool, requests: int) -> dict[str, float]:
    workload = DeviceWorkloadParams(
        kind="migratory", base=BASE, footprint=pages * 4096, requests=requests
    )
    params = Type1Params(
        cache_size=16 << 10,
        workload=workload,
        ats=DeviceAtsParams(atc_entries=64, atc_ways=4) if ats else None,
    )
    builder = SystemBuilder(RunOptions(seed=1))
    builder.host("host0").switch("sw0", SwitchParams(ports=8)).link("host0", "sw0")
    for name in DEVICES:
        builder.component(name, "type1", params).link("sw0", name, LinkParams())
    system = elaborate(builder.build())
    stats, _ = run_system(system)
    devices = [system.components[name] for name in DEVICES]
    latency = LatencyHistogram.merged(
        [h for d in devices for h in (*d.latency.values(), d.hit_latency)]
    )
    entry = stats["devices"]["acc0"]
    completed = sum(stats["devices"][name]["completed"] for name in DEVICES)
    time_ns = stats["run"]["sim_time_ns"]
    out = {
        "completed": completed,
        "time_ns": time_ns,
        "ops_per_us": 1000 * completed / time_ns,
        "latency_ns": latency.mean() / 1000,
        "p99_ns": latency.percentiles().get("p99", 0) / 1000,
    }
    if ats:
        out["hit_rate"] = entry["ats"]["hit_rate"]
        out["miss_ns"] = entry["ats"]["miss_latency_ns"]
        host = stats["hosts"]["host0"]["ats"]
        out["walks"] = host["walks"]
        out["translations"] = host["translations"]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=1, help="points run at once (processes)")
    parser.add_argument("--requests", type=int, default=4096, help="operations per run")
    args = parser.parse_args()
    keys = [(pages, ats) for pages in PAGES for ats in (False, True)]
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        futures = {key: pool.submit(point, *key, args.requests) for key in keys}
        results = {}
        for key in keys:
            results[key] = futures[key].result()
            print(f"pages={key[0]} ats={key[1]}: {results[key]}", flush=True)
    print()
    print(
        f"2 devices x migratory, {args.requests} operations each, 16 outstanding; "
        "ATC 64 entries 4-way, "
        "host IOTLB 2048 entries"
    )
    print()
    print(
        "| pages | ATC hit rate (acc0) | host translations / walks | miss wait (ns) | "
        "ops/µs no ATS | ops/µs ATS | slowdown | mean latency no ATS / ATS (ns) | "
        "p99 no ATS / ATS (ns) |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for pages in PAGES:
        plain, ats = results[pages, False], results[pages, True]
        print(
            f"| {pages} | {100 * ats['hit_rate']:.1f} % | {ats['translations']} / {ats['walks']}"
            f" | {ats['miss_ns']:.0f} | {plain['ops_per_us']:.2f} | {ats['ops_per_us']:.2f} | "
            f"{plain['ops_per_us'] / ats['ops_per_us']:.2f}x | "
            f"{plain['latency_ns']:.0f} / {ats['latency_ns']:.0f} | "
            f"{plain['p99_ns']:.0f} / {ats['p99_ns']:.0f} |"
        )


if __name__ == "__main__":
    main()
