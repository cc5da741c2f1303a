"""Timed device-memory coherence figures (issue 12, item 6): pooled HDM-DB in whole-system runs.

    python scripts/devmem_timed.py                 # the figures quoted in docs/device_coherence.md
    python scripts/devmem_timed.py --requests 500  # a quick look
    python scripts/devmem_timed.py --plot devmem_timed.png  # also the figures as a plot

1. **Device-SF size sweep.** Four hosts behind a switch share an HDM-DB Type-3 device; each
   loads and stores (70 % loads, random lines) 256 KiB of it and caches at most 16 KiB, so the
   hosts cache 1024 lines together. The device snoop filter (8 ways, I/S/A, and I/A at two
   points) is swept from 0.25x to 8x that (CXL_REFERENCE.md §3.2: "track >= 4x the host
   caching"). Per point: BISnp per 1000 host requests by cause, Req blocked (requests and
   total time), filter occupancy, host read latency.
2. **Latencies.** Unloaded dependent loads (one host, one core, pointer chase, a 1-line host
   cache so every load misses) to an HDM-DB device and to the same device as HDM-H, direct and
   through a switch; the hosts' BISnp -> BIRsp time beside the <= 90 ns target (§3.2, S32 Tbl
   13-2); the device's own access latency with and without a back-invalidation.
3. **HDM-D** (a Type-2 behind a switch, one host, 4-line pages): the device's loads in host
   bias (through the host: D2H RdCurr, MemRdFwd) and in device bias, against HDM-DB's; flip
   counts and costs with the predictor, alone and with the host sharing the pages.

One process; every run is deterministic (seed 1). Figures last.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "models"))

from slugsim.components import HostParams, Type2Params, Type3Params
from slugsim.fabric import (
    HdmWindow,
    LinkParams,
    RunOptions,
    SwitchParams,
    SystemBuilder,
    WorkloadParams,
)
from slugsim.sim import elaborate
from slugsim.sim.runner import run_system

GIB = 1 << 30
KIB = 1 << 10
HOSTS = 4
FOOTPRINT = 256 * KIB  # 4096 lines: the most a 12-bit BITag names
HOST_CACHE = 16 * KIB  # 256 lines per host, 1024 for the four
HOST_CACHED_LINES = HOSTS * HOST_CACHE // 64
RATIOS = (0.25, 0.5, 1, 2, 4, 8)


def system(
    *,
    hosts: int,
    footprint: int,
    cache: int,
    requests: int,
    kind: str = "random",
    cores: int = 2,
    outstanding: int = 4,
    read_ratio: float = 0.7,
    sf_entries: int = 4096,
    sf_ways: int = 8,
    states: str = "isa",
    coherence: str = "hdm_db",
    switch: bool = True,
    device_ops: int = 0,
) -> Any:
    builder = SystemBuilder(RunOptions(seed=1))
    if switch:
        builder.switch("sw0", SwitchParams(ports=16))
    workload = WorkloadParams(
        kind=kind, read_ratio=read_ratio, footprint=footprint, target="pool0", requests=requests
    )
    for index in range(hosts):
        name = f"host{index}"
        window = HdmWindow(base=64 * GIB, size=GIB, targets=("pool0",))
        params = HostParams(
            cores=cores, outstanding=outstanding, devmem_cache=cache, hdm=(window,),
            workload=workload,
        )  # fmt: skip
        builder.host(name, params)
        builder.link(name, "sw0" if switch else "pool0")
    device = Type3Params(
        capacity=GIB, coherence=coherence, sf_sets=max(1, sf_entries // sf_ways),  # type: ignore[arg-type]
        sf_ways=sf_ways, sf_states=states, device_ops=device_ops,  # type: ignore[arg-type]
        device_footprint=min(footprint, 64 * KIB), device_op_interval=500_000,
    )  # fmt: skip
    builder.component("pool0", "type3", device)
    if switch:
        builder.link("sw0", "pool0", LinkParams())
    stats, _ = run_system(elaborate(builder.build()))
    return stats


def sweep(requests: int) -> list[dict[str, Any]]:
    rows = []
    points = [(r, "isa") for r in RATIOS] + [(1, "ia"), (4, "ia")]
    for ratio, states in points:
        entries = int(ratio * HOST_CACHED_LINES)
        t0 = time.perf_counter()
        stats = system(
            hosts=HOSTS, footprint=FOOTPRINT, cache=HOST_CACHE, requests=requests,
            sf_entries=entries, states=states,
        )  # fmt: skip
        dcoh = stats["devices"]["pool0"]["dcoh"]
        done = sum(h["completed"] for h in stats["hosts"].values())
        causes = dcoh["bisnp_by_cause"]
        per_k = {cause: 1000 * n / done for cause, n in causes.items()}
        blocked = dcoh["req_blocked"]
        reads = stats["latency"]["read"]["all"]
        rows.append(
            {
                "ratio": ratio,
                "states": "I/S/A" if states == "isa" else "I/A",
                "entries": entries,
                "requests": done,
                "bisnp_per_k": sum(per_k.values()),
                "victim_per_k": per_k["victim"],
                "request_per_k": per_k["request"],
                "conflicts": dcoh["bi_conflicts"],
                "blocked": blocked["requests"],
                "blocked_pct": 100 * blocked["requests"] / done,
                "blocked_us": blocked["total_ns"] / 1000,
                "blocked_mean": blocked["latency"].get("mean", 0.0),
                "occupancy": dcoh["sf_occupancy"]["mean"],
                "read_mean": reads["mean"],
                "read_p99": reads["p99"],
                "errors": dcoh["data_errors"],
                "wall": time.perf_counter() - t0,
            }
        )
        print(f"  swept {entries} entries {states}: {rows[-1]['wall']:.1f} s", flush=True)
    return rows


def unloaded(requests: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for coherence in ("hdm_db", "hdm_h"):
        for switch in (False, True):
            stats = system(
                hosts=1, footprint=FOOTPRINT if coherence == "hdm_db" else GIB,
                cache=64, requests=requests, kind="pointer_chase", cores=1, outstanding=1,
                read_ratio=1.0, coherence=coherence, switch=switch,
            )  # fmt: skip
            out[coherence, switch] = stats["latency"]["read"]["all"]
    return out


def snoops(requests: int) -> dict[str, Any]:
    """The pooled topology's mix at 4x, with the device's own accesses: BISnp -> BIRsp at the
    hosts and at the device, and the device's access latency."""
    stats = system(
        hosts=HOSTS, footprint=64 * KIB, cache=HOST_CACHE, requests=requests,
        sf_entries=4 * HOST_CACHED_LINES, device_ops=max(200, requests // 2),
    )  # fmt: skip
    dcoh = stats["devices"]["pool0"]["dcoh"]
    hosts = [h["hdm_db"]["bisnp_to_birsp"] for h in stats["hosts"].values()]
    return {"dcoh": dcoh, "hosts": hosts}


def type2(
    *, predictor: int, device_ops: int, stores: float, host_requests: int = 0
) -> dict[str, Any]:
    """One host and an HDM-D Type-2 behind a switch, both on the device's first 16 KiB."""
    builder = SystemBuilder(RunOptions(seed=1))
    window = HdmWindow(base=64 * GIB, size=GIB, targets=("acc0",))
    workload = None
    if host_requests:
        workload = WorkloadParams(
            kind="random", read_ratio=0.7, footprint=16 * KIB, target="acc0",
            requests=host_requests,
        )  # fmt: skip
    host = HostParams(outstanding=2, devmem_cache=4 * KIB, hdm=(window,), workload=workload)
    device = Type2Params(
        capacity=GIB, coherence="hdm_d", predictor=predictor, page_lines=4,
        device_ops=device_ops, device_store_ratio=stores, device_footprint=16 * KIB,
    )  # fmt: skip
    builder.host("host0", host).switch("sw0", SwitchParams(ports=8)).link("host0", "sw0")
    builder.component("acc0", "type2", device).link("sw0", "acc0", LinkParams())
    stats, _ = run_system(elaborate(builder.build()))
    return stats


def hdm_d(requests: int) -> dict[str, Any]:
    ops = max(200, requests // 2)
    out: dict[str, Any] = {}
    out["host bias (predictor off), loads"] = type2(predictor=0, device_ops=ops, stores=0.0)
    out["predictor 1, loads"] = type2(predictor=1, device_ops=ops, stores=0.0)
    out["predictor 1, 50 % stores"] = type2(predictor=1, device_ops=ops, stores=0.5)
    out["predictor 2, host sharing"] = type2(
        predictor=2, device_ops=ops, stores=0.5, host_requests=requests
    )
    db = system(
        hosts=1, footprint=16 * KIB, cache=64, requests=1, sf_entries=4096,
        device_ops=ops, read_ratio=1.0,
    )  # fmt: skip
    out["hdm_db"] = db
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000, help="requests per host core")
    parser.add_argument(
        "--plot", type=Path, metavar="PNG",
        help="also plot BISnp rate and Req blocking vs SF size, and the HDM-D flips, to PNG",
    )  # fmt: skip
    args = parser.parse_args(argv)
    if args.requests < 1:
        print("devmem_timed.py: --requests must be at least 1", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    rows = sweep(args.requests)
    lat = unloaded(min(args.requests, 2000))
    snoop = snoops(args.requests)
    biased = hdm_d(args.requests)
    wall = time.perf_counter() - t0

    print()
    print(
        f"Device-SF sweep: {HOSTS} hosts x 2 cores x 4 outstanding, random 70 % loads over "
        f"{FOOTPRINT // KIB} KiB, host caching {HOST_CACHED_LINES} lines in total, SF 8 ways"
    )
    print(
        "| SF / host caching | states | entries | BISnp per 1k req | victim | other host | "
        "BIConflicts | Req blocked | blocked % | blocked total (us) | mean blocked (ns) | "
        "SF mean occupancy | read mean (ns) | read p99 (ns) | data errors |"
    )
    print("|" + "---|" * 15)
    for r in rows:
        print(
            f"| {r['ratio']}x | {r['states']} | {r['entries']} | {r['bisnp_per_k']:.1f} | "
            f"{r['victim_per_k']:.1f} | {r['request_per_k']:.1f} | {r['conflicts']} | "
            f"{r['blocked']} | {r['blocked_pct']:.2f} | {r['blocked_us']:.1f} | "
            f"{r['blocked_mean']:.0f} | {r['occupancy']:.0f} | {r['read_mean']:.0f} | "
            f"{r['read_p99']:.0f} | {r['errors']} |"
        )
    print()
    print("Unloaded dependent loads (1 host, pointer chase, every load a miss), ns:")
    print("| memory | attach | mean | p50 | p99 |")
    print("|---|---|---|---|---|")
    for (coherence, switch), summary in lat.items():
        attach = "switch" if switch else "direct"
        print(
            f"| {coherence.upper().replace('_', '-')} | {attach} | {summary['mean']:.1f} | "
            f"{summary['p50']:.1f} | {summary['p99']:.1f} |"
        )
    print()
    dcoh = snoop["dcoh"]
    print(
        f"BISnp -> BIRsp ({HOSTS} hosts sharing 64 KiB, SF 4x, the device's own accesses too; "
        "target <= 90 ns for a line not cached, CXL_REFERENCE.md §3.2):"
    )
    print("| where | count | mean | p50 | p90 | p99 | max |")
    print("|---|---|---|---|---|---|---|")
    for index, h in enumerate(snoop["hosts"]):
        print(
            f"| host{index} (arrival -> BIRsp leaves) | {h['count']} | {h['mean']:.1f} | "
            f"{h['p50']:.1f} | {h['p90']:.1f} | {h['p99']:.1f} | {h['max']:.1f} |"
        )
    rt = dcoh["bisnp_round_trip"]
    print(
        f"| device (BISnp leaves DCOH -> BIRsp reaches it) | {rt['count']} | {rt['mean']:.1f} "
        f"| {rt['p50']:.1f} | {rt['p90']:.1f} | {rt['p99']:.1f} | {rt['max']:.1f} |"
    )
    print()
    print("Device access latency (HDM-DB, the device's own loads and stores), ns:")
    print("| access | count | mean | p50 | p99 |")
    print("|---|---|---|---|---|")
    access = dcoh["device_access"]
    for name in ("loads", "stores", "without_bisnp", "with_bisnp"):
        a = access[name]
        if a["count"]:
            print(f"| {name} | {a['count']} | {a['mean']:.1f} | {a['p50']:.1f} | {a['p99']:.1f} |")
    print(
        f"\nBISnp by cause {dcoh['bisnp_by_cause']}, BIConflicts {dcoh['bi_conflicts']}, "
        f"values checked {dcoh['values_checked']}, data errors {dcoh['data_errors']}"
    )
    print()
    print("HDM-D (Type-2 behind a switch, 4-line pages, 16 KiB): the device's accesses, ns")
    print(
        "| case | device bias: count | p50 | mean | host bias: count | p50 | mean | "
        "flips to device | failed | forced to host | RdOwnNoData | flip time mean | p50 | "
        "data errors |"
    )
    print("|" + "---|" * 14)
    for name, stats in biased.items():
        if name == "hdm_db":
            continue
        bias = stats["devices"]["acc0"]["bias"]
        access, c, flip = bias["device_access"], bias["counters"], bias["flip_time"]
        local, remote = access["device_bias"], access["host_bias"]

        def cells(a: dict[str, Any]) -> str:
            if not a["count"]:
                return "0 | - | -"
            return f"{a['count']} | {a['p50']:.1f} | {a['mean']:.1f}"

        flips = f"{flip['mean']:.1f} | {flip['p50']:.1f}" if flip["count"] else "- | -"
        print(
            f"| {name} | {cells(local)} | {cells(remote)} | {c['flips_to_device']} | "
            f"{c['flips_failed']} | {c['forced_to_host']} | {c['rdownnodata']} | {flips} | "
            f"{bias['data_errors']} |"
        )
    shared = biased["predictor 2, host sharing"]
    reads = shared["latency"]["read"]["all"]
    print(
        f"host loads in the sharing case: {reads['count']}, mean {reads['mean']:.1f} ns, "
        f"p50 {reads['p50']:.1f} ns"
    )
    db = biased["hdm_db"]["devices"]["pool0"]["dcoh"]["device_access"]["loads"]
    print(
        f"HDM-DB device loads (Type-3 behind a switch, no host caching): {db['count']}, "
        f"p50 {db['p50']:.1f} ns, mean {db['mean']:.1f} ns"
    )
    if args.plot is not None:
        plot(rows, biased, args.plot)
        print(f"plot written to {args.plot}")
    print(f"wall time {wall:.1f} s")
    return 0


def plot(rows: list[dict[str, Any]], biased: dict[str, Any], path: Path) -> None:
    """Three panels: BISnp per 1k requests and Req blocking vs SF size (I/S/A as lines, I/A as
    points), and the HDM-D flip counts and mean flip time per predictor case."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (rate, blocked, flips) = plt.subplots(1, 3, figsize=(15, 4.2))
    for states, style in (("I/S/A", "-o"), ("I/A", "s")):
        mine = [r for r in rows if r["states"] == states]
        x = [r["ratio"] for r in mine]
        rate.plot(x, [r["bisnp_per_k"] for r in mine], style, label=f"all BISnp, {states}")
        rate.plot(x, [r["victim_per_k"] for r in mine], style, alpha=0.5,
                  label=f"victim BISnp, {states}")  # fmt: skip
        blocked.plot(x, [r["blocked_pct"] for r in mine], style, label=f"{states}")
    for axis, ylabel in ((rate, "BISnp per 1000 host requests"), (blocked, "Req blocked (%)")):
        axis.set_xscale("log", base=2)
        axis.axvline(4, color="grey", linestyle=":", label="spec guidance: 4x")
        axis.set_xlabel("device SF entries / lines the hosts cache")
        axis.set_ylabel(ylabel)
        axis.legend(fontsize=8)
    rate.set_title("Back-invalidation vs device-SF size")
    blocked.set_title("M2S Req blocked by a pending BISnp")
    cases = [name for name in biased if name != "hdm_db"]
    counters = [biased[n]["devices"]["acc0"]["bias"]["counters"] for n in cases]
    width = 0.27
    for i, (key, label) in enumerate(
        (("flips_to_device", "flips to device bias"), ("flips_failed", "flips failed"),
         ("forced_to_host", "forced back to host bias"))
    ):  # fmt: skip
        flips.bar([j + (i - 1) * width for j in range(len(cases))], [c[key] for c in counters],
                  width, label=label)  # fmt: skip
    flips.set_xticks(range(len(cases)), cases, rotation=15, fontsize=7)
    flips.set_ylabel("count")
    flips.set_title("HDM-D flips (predictor)")
    flips.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    sys.exit(main())
