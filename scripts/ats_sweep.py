#!/usr/bin/env python3
"""ATC hit rate vs ATC size for the device workloads, with 4 KiB and 2 MiB pages, and the mean
time a miss waits for its translation.

    PYTHONPATH=models python scripts/ats_sweep.py [--jobs 2] [--passes 3]

Each point is one timed run: a host, a switch and ``acc0`` (type1, 16 KiB cache so the span
does not fit) running the workload over a span of 64 x 4 KiB pages (256 KiB, 4096 lines) of
host memory, ``passes`` x 4096 operations: stream_read and read_modify_write walk the span line
by line ``passes`` times; producer_consumer (``acc0`` the producer, a core of ``host0`` the
consumer) passes ``passes`` items, each the 4095 data lines and the flag; migratory and
false_sharing (two devices, ``acc0`` and ``acc1``, on
the same span) pick random lines of it. The ATC is 4-way (``atc_entries`` 4 KiB entries swept,
4 fully associative 2 MiB entries); with ``large_pages`` the host maps the span with one 2 MiB
page. Stats are ``acc0``'s. Figures printed last (a markdown table).
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

BASE = 4 << 30  # 2 MiB aligned
PAGES = 64
SPAN = PAGES * 4096
LINES = SPAN // 64
KINDS = ("stream_read", "read_modify_write", "producer_consumer", "migratory", "false_sharing")
SIZES = (4, 8, 16, 32, 64, 128)
SHARING = ("migratory", "false_sharing")


def point(kind: str, entries: int, large: bool, passes: int) -> dict:
    # producer_consumer: an item is the whole span then the flag, so ``passes`` items
    requests = passes if kind == "producer_consumer" else passes * LINES
    workload = DeviceWorkloadParams(
        kind=kind, base=BASE, footprint=SPAN, requests=requests, partner="host0"
    )
    ats = DeviceAtsParams(atc_entries=entries, atc_ways=min(4, entries), large_pages=large)
    builder = SystemBuilder(RunOptions(seed=1))
    builder.host("host0").switch("sw0", SwitchParams(ports=8)).link("host0", "sw0")
    for name in ("acc0", "acc1") if kind in SHARING else ("acc0",):
        params = Type1Params(cache_size=16 << 10, workload=workload, ats=ats)
        builder.component(name, "type1", params).link("sw0", name, LinkParams())
    stats, _ = run_system(elaborate(builder.build()))
    return stats["devices"]["acc0"]["ats"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=2, help="points run at once (processes)")
    parser.add_argument("--passes", type=int, default=3, help="operations = passes x 4096")
    args = parser.parse_args()
    keys = [(kind, large, n) for kind in KINDS for large in (False, True) for n in SIZES]
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        futures = {key: pool.submit(point, key[0], key[2], key[1], args.passes) for key in keys}
        results = {}
        for key in keys:
            results[key] = ats = futures[key].result()
            print(f"{key[0]} {'2M' if key[1] else '4K'} entries={key[2]}: {ats}", flush=True)
    print()
    print(
        f"{PAGES} x 4 KiB span, {args.passes} x {LINES} operations; "
        "cell: hit rate / mean miss wait (ns) / Translation Requests"
    )
    print()
    print("| workload | pages | " + " | ".join(f"{n} entries" for n in SIZES) + " |")
    print("|---|---|" + "---|" * len(SIZES))
    for kind in KINDS:
        for large in (False, True):
            cells = []
            for n in SIZES:
                ats = results[(kind, large, n)]
                cells.append(
                    f"{100 * ats['hit_rate']:.1f} % / {ats['miss_latency_ns']:.0f}"
                    f" / {ats['translation_requests']}"
                )
            print(f"| {kind} | {'2 MiB' if large else '4 KiB'} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
