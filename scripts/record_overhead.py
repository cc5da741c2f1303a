#!/usr/bin/env python3
"""Wall-clock cost of recording: a plain run vs the same run with EMCs on every endpoint (and
on every switch port too) writing a recording. Elaboration, simulation and writing the
recording are timed; the best of ``REPEATS`` runs each. The table comes last.

    PYTHONPATH=models python scripts/record_overhead.py [TOPO ...]
"""

from __future__ import annotations

import dataclasses
import sys
import tempfile
import time
from contextlib import redirect_stdout
from io import StringIO
from pathlib import Path

from slugsim.config import load_topology
from slugsim.emc.config import EmcConfig
from slugsim.record.recorder import record_run
from slugsim.sim import elaborate, run_system

SHIPPED = ["quickstart", "memory_pool", "vistara_interleaved", "fat_tree_k4", "coherent_accel"]
REPEATS = 3


def plain(topo: Path) -> float:
    graph = load_topology(topo)
    started = time.perf_counter()
    system = elaborate(graph)
    run_system(system)
    return time.perf_counter() - started


def recorded(topo: Path, at: tuple[str, ...], work: Path) -> float:
    graph = load_topology(topo)
    graph.graph["emc"] = dataclasses.replace(graph.graph.get("emc") or EmcConfig(), at=at)
    started = time.perf_counter()
    with redirect_stdout(StringIO()):
        record_run(graph, topo, work / "rec", None, progress=False)
    return time.perf_counter() - started


def main() -> None:
    names = sys.argv[1:] or SHIPPED
    root = Path(__file__).resolve().parent.parent / "topologies"
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            topo = Path(name) if name.endswith(".yaml") else root / f"{name}.yaml"
            print(f"timing {topo.name} ...", file=sys.stderr)
            base = min(plain(topo) for _ in range(REPEATS))
            ends = min(recorded(topo, ("endpoints",), Path(tmp)) for _ in range(REPEATS))
            every = min(
                recorded(topo, ("endpoints", "switch_ports"), Path(tmp)) for _ in range(REPEATS)
            )
            rows.append((topo.stem, base, ends, every))
    print()
    print(
        "| workload | plain s | recorded (endpoints) s | overhead | + switch ports s | overhead |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    for name, base, ends, every in rows:
        print(
            f"| {name} | {base:.2f} | {ends:.2f} | {(ends / base - 1) * 100:+.0f} % | "
            f"{every:.2f} | {(every / base - 1) * 100:+.0f} % |"
        )


if __name__ == "__main__":
    main()
