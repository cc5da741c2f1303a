#!/usr/bin/env python3
"""Peak RSS of quickstart runs of 2M and 20M requests: memory must not grow with requests.

Each run is a fresh interpreter that loads ``topologies/quickstart.yaml``, sets ``run.requests``
and every host workload's requests per core to N, elaborates, simulates, collects stats.json and
writes the outputs ``slugsim run --out`` writes (stats.json, stats.txt, latency.png,
topology.png, into a temporary directory), then reports its peak resident set size
(``getrusage``: ru_maxrss). Prints one line per run, then last::

    rss_ratio_20M_vs_2M=<peak RSS of the 20M run / of the 2M run>

Target (issue 10): <= 1.2. ``--requests A B`` changes the two run lengths (the last line then
names them, e.g. ``rss_ratio_200k_vs_20k``).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
QUICKSTART = ROOT / "topologies" / "quickstart.yaml"


def one_run(requests: int) -> dict[str, float]:
    sys.path.insert(0, str(ROOT / "models"))
    from slugsim.config import load_topology
    from slugsim.sim import elaborate, run_system, write_outputs

    graph = load_topology(str(QUICKSTART))
    graph.graph["run"] = dataclasses.replace(graph.graph["run"], requests=requests)
    for _, data in graph.nodes(data=True):
        params = data.get("params")
        workload = getattr(params, "workload", None)
        if workload is not None:
            data["params"] = dataclasses.replace(
                params, workload=dataclasses.replace(workload, requests=requests)
            )
    started = time.perf_counter()
    system = elaborate(graph, None)
    stats, _ = run_system(system)
    with tempfile.TemporaryDirectory() as tmp:  # stats.json, stats.txt, latency.png, ...
        write_outputs(Path(tmp) / "out", stats, system, graph)
    wall = time.perf_counter() - started
    assert stats["run"]["requests"] == requests, stats["run"]
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    return {"requests": requests, "peak_rss_mb": peak_kib / 1024, "wall_s": wall}


def _label(n: int) -> str:
    for unit, size in (("M", 10**6), ("k", 10**3)):
        if n % size == 0:
            return f"{n // size}{unit}"
    return str(n)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, nargs=2, default=(2_000_000, 20_000_000))
    parser.add_argument("--one-run", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one_run is not None:
        print(json.dumps(one_run(args.one_run)))
        return 0
    peaks = []
    for n in args.requests:
        out = subprocess.run(
            [sys.executable, __file__, "--one-run", str(n)],
            capture_output=True,
            text=True,
            check=True,
        )
        result = json.loads(out.stdout.strip().splitlines()[-1])
        peaks.append(result["peak_rss_mb"])
        print(
            f"requests={n} peak_rss_mb={result['peak_rss_mb']:.1f} wall_s={result['wall_s']:.1f} "
            f"requests_per_s={n / result['wall_s']:,.0f}",
            flush=True,
        )
    small, large = args.requests
    print(f"rss_ratio_{_label(large)}_vs_{_label(small)}={peaks[1] / peaks[0]:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
