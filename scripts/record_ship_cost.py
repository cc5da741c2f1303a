#!/usr/bin/env python3
"""What shipping the recording over the fabric into a CXL memory device costs the workload
(``emc: {ship_to: DEVICE}``, ``slugsim.record.ship``), against the seeds' "10 % at most".

For each case the same topology runs three times: plain; recorded with EMCs on every
endpoint (probes: the simulated results are identical to plain, which is checked); and
recorded with the records shipped (raw 24-byte records, then delta/varint-compact) as
64-byte MemWr lines into the device. Reported: the workload's mean request latency and its
completion time, with the change against plain, and the log's share of the traffic (log
lines per workload request, log GB/s). The table comes last.

    PYTHONPATH=models python scripts/record_ship_cost.py
"""

from __future__ import annotations

import dataclasses
import sys
import tempfile
from contextlib import redirect_stdout
from io import StringIO
from pathlib import Path

import yaml
from slugsim.config import load_topology
from slugsim.emc.config import EmcConfig
from slugsim.record.recorder import record_run
from slugsim.sim import elaborate, run_system

ROOT = Path(__file__).resolve().parent.parent / "topologies"


def variants(work: Path) -> list[tuple[str, Path, str]]:
    """(label, topology file, ship_to): a log device of its own, and a busy data device."""
    pool = yaml.safe_load((ROOT / "memory_pool.yaml").read_text())
    pool["components"].append({"name": "log0", "kind": "type3", "params": {"capacity": "64GiB"}})
    pool["links"].append({"between": ["root", "log0"], "rate": "32GT/s", "width": "x16"})
    pool_path = work / "memory_pool_log.yaml"
    pool_path.write_text(yaml.safe_dump(pool, sort_keys=False))
    tree = yaml.safe_load((ROOT / "fat_tree_k4_spine_leaf.yaml").read_text())
    tree["components"].append({"name": "log0", "kind": "type3", "params": {"capacity": "64GiB"}})
    tree_path = work / "fat_tree_k4_spine_leaf_log.yaml"
    tree_path.write_text(yaml.safe_dump(tree, sort_keys=False))
    return [
        ("memory_pool -> own log0 on root", pool_path, "log0"),
        ("memory_pool -> pool0 (the data device)", ROOT / "memory_pool.yaml", "pool0"),
        ("fat_tree_k4 spine-leaf -> own log0", tree_path, "log0"),
        ("fat_tree_k4 spine-leaf -> mem0 (a data device)", ROOT / "fat_tree_k4_spine_leaf.yaml",
         "mem0"),
        ("vistara (bandwidth-bound) -> mem0", ROOT / "vistara_interleaved.yaml", "mem0"),
    ]  # fmt: skip


def outcome(stats: dict) -> tuple[float, float, int]:
    latency = stats["latency"]
    means = [(v["all"]["mean"], v["all"]["count"]) for v in latency.values() if v["all"]["count"]]
    count = sum(c for _, c in means)
    return sum(m * c for m, c in means) / count, stats["run"]["sim_time_ns"], count


def run(topo: Path, config: EmcConfig | None, work: Path) -> tuple[dict, dict]:
    graph = load_topology(topo)
    if config is None:
        system = elaborate(graph)
        return run_system(system)[0], {}
    graph.graph["emc"] = config
    with redirect_stdout(StringIO()):
        stats = record_run(graph, topo, work / "rec", None, progress=False)
    import json

    manifest = json.loads((work / "rec" / "manifest.json").read_text())
    shipped = [e["shipped"] for e in manifest["emcs"] if "shipped" in e]
    return stats, {
        "lines": sum(s["lines"] for s in shipped),
        "record_bytes": sum(s["record_bytes"] for s in shipped),
    }


def main() -> None:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for label, topo, target in variants(work):
            print(f"{label} ...", file=sys.stderr)
            plain, _ = run(topo, None, work)
            base = outcome(plain)
            probed, _ = run(topo, EmcConfig(), work)
            assert outcome(probed) == base, "probes changed the simulated results"
            for fmt in ("raw", "compact"):
                config = dataclasses.replace(EmcConfig(), ship_to=target, ship_format=fmt)
                stats, shipped = run(topo, config, work)
                got = outcome(stats)
                gbps = shipped["lines"] * 64 / got[1]  # bytes per ns = GB/s
                rows.append((label, fmt, base, got, shipped["lines"] / got[2], gbps))
    print()
    print(
        "| case | format | mean latency plain ns | shipped ns | change | run plain us | "
        "shipped us | change | log lines per request | log GB/s |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for label, fmt, base, got, per_request, gbps in rows:
        print(
            f"| {label} | {fmt} | {base[0]:.1f} | {got[0]:.1f} | "
            f"{(got[0] / base[0] - 1) * 100:+.1f} % | {base[1] / 1000:.1f} | {got[1] / 1000:.1f} | "
            f"{(got[1] / base[1] - 1) * 100:+.1f} % | {per_request:.2f} | {gbps:.2f} |"
        )


if __name__ == "__main__":
    main()
