"""An Intel MLC-style loaded-latency curve (``mlc --loaded_latency``) on any topology.

MLC runs load-generating threads that each issue memory accesses with an *injection delay*
between them, plus one latency thread doing dependent loads; per delay it prints the latency
thread's average load latency and the total memory bandwidth. Here the load generators are the
workloads of every host that has one, and the injection delay is their ``think_time``: the gap
between a request's completion and the next request on the same one of a core's
``outstanding`` slots, so each slot injects one request per (latency + delay) and a larger delay
means less load. MLC's delay counts iterations of a busy loop; ours is in nanoseconds.

There is no separate latency thread: the latency is the **mean** read latency of the measuring
host (``--host``; default the first host with a workload), over all its read paths. The mean is
what MLC reports (a dependent chain's elapsed time divided by its loads), and unlike p50 it
moves with every queueing delay, not only once half the requests wait. The bandwidth is the
system's memory traffic, ``cxl_read_gbps + cxl_write_gbps + local_read_gbps`` of stats.json,
printed in MB/sec (10^6 B/s) as MLC does.

The points run on the sweep machinery (``sweep_run.execute``): a Dask cluster, the per-point
cache in ``OUT/cache/``, failures reported per point.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import read_yaml
from ..fabric.builder import instance_name
from ..fabric.errors import Issue, TopologyError, Where
from ..kernel.units import parse_time
from .sweep import expand
from .sweep_run import SweepOutcome, execute
from .sweep_table import memory_gbps, rows, write_tables

DEFAULT_DELAYS = "0,100,200,1000,20000"


@dataclass(frozen=True)
class CurvePoint:
    delay_ps: int
    latency_ns: float | None  # the measuring host's mean read latency
    bandwidth_gbps: float | None  # memory traffic of the whole system


@dataclass
class Curve:
    topology: str
    host: str
    points: list[CurvePoint]
    failed: list[str] = field(default_factory=list)
    outcome: SweepOutcome | None = None


def parse_delays(text: str) -> list[int]:
    """'0,100,1us' -> picoseconds; bare numbers are nanoseconds. Raises ValueError."""
    delays = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            raise ValueError("an empty delay")
        try:
            value = float(part)
        except ValueError:
            value = parse_time(part) / 1000  # raises ValueError on a bad unit
        if value < 0 or value > 1e9:
            raise ValueError(f"a delay is 0 ns to 1 s, got {part}")
        delays.append(round(value * 1000))
    return delays


def _time_text(ps: int) -> str:
    """A delay as a topology file writes it, exactly: '100ns', or '1500ps'."""
    return f"{ps // 1000}ns" if ps % 1000 == 0 else f"{ps}ps"


def workload_groups(document: Any) -> dict[str, list[str]]:
    """Host entries of the document that have a workload: declared name -> member names."""
    groups: dict[str, list[str]] = {}
    for item in document.get("components") or []:
        if not isinstance(item, dict) or item.get("kind") != "host":
            continue
        params = item.get("params")
        if isinstance(params, dict) and isinstance(params.get("workload"), dict):
            name, count = item["name"], item.get("count")
            groups[name] = [instance_name(name, i) for i in range(count)] if count else [name]
    return groups


def loaded_latency(
    topology: str,
    delays: list[int],
    out: Path,
    *,
    host: str | None = None,
    requests: int | None = None,
    workers: int = 2,
    scheduler: str | None = None,
    processes: bool = True,
    progress: bool = True,
) -> Curve:
    """Run ``topology`` once per delay (think_time of every workload); raises
    ``TopologyError`` for a topology without workloads or an unknown ``host``."""
    base = read_yaml(topology)
    if not isinstance(base.data, dict):
        expand(topology, base, [], [])  # the loader's own report
    groups = workload_groups(base.data)
    members = [m for names in groups.values() for m in names]
    if not members:
        hint = "give a host a workload: {kind: random, target: cxl, ...}"
        message = "no host has a workload to load the system with"
        raise TopologyError([Issue(base.where(("components",)), message, hint)])
    if host is None:
        host = sorted(members)[0]
    elif host not in members:
        message = f"--host {host} is not a host with a workload"
        raise TopologyError([Issue(Where(topology), message, f"hosts: {', '.join(members)}")])
    paths = [f"components[{group}].params.workload.think_time" for group in groups]
    shared = [] if requests is None else [("run.requests", requests, Where("--requests"))]
    combos = [
        [*shared, *((p, _time_text(delay), Where(f"--delays {delay / 1000:g}")) for p in paths)]
        for delay in delays
    ]
    sweep = expand(f"curve {topology}", base, combos, paths)
    outcome = execute(
        sweep, out, workers=workers, scheduler=scheduler, processes=processes, progress=progress
    )
    curve = Curve(topology, host, [], outcome=outcome)
    for delay, result in zip(delays, outcome.results, strict=True):
        if result.result is None:
            curve.points.append(CurvePoint(delay, None, None))
            curve.failed.append(f"delay {delay / 1000:g} ns failed: {result.error}")
            continue
        latency = result.result["read_latency"].get(host, {}).get("mean")
        curve.points.append(CurvePoint(delay, latency, memory_gbps(result.result["stats"])))
    write_tables(rows(outcome), out)
    with open(out / "curve.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["inject_delay_ns", "latency_ns", "bandwidth_mb_s"])
        for p in curve.points:
            mb = None if p.bandwidth_gbps is None else round(p.bandwidth_gbps * 1000, 1)
            writer.writerow([p.delay_ps / 1000, p.latency_ns, mb])
    return curve


def format_table(curve: Curve) -> str:
    """The table as ``mlc --loaded_latency`` prints it (delays here in ns)."""
    lines = [
        f"Measuring Loaded Latencies for {curve.topology} (latency of {curve.host})",
        "Inject  Latency Bandwidth",
        "Delay   (ns)    MB/sec",
        "==========================",
    ]
    for p in curve.points:
        delay = f"{round(p.delay_ps / 1000):05d}"
        if p.latency_ns is None or p.bandwidth_gbps is None:
            lines.append(f" {delay}  failed")
        else:
            lines.append(f" {delay}  {p.latency_ns:6.2f}  {p.bandwidth_gbps * 1000:9.1f}")
    return "\n".join(lines) + "\n"


def plot_curve(curve: Curve, path: Path) -> None:
    """Latency against bandwidth, each point labelled with its injection delay."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    good = [p for p in curve.points if p.latency_ns is not None and p.bandwidth_gbps is not None]
    fig, ax = plt.subplots(figsize=(6, 4))
    xs = [p.bandwidth_gbps * 1000 for p in good]  # type: ignore[operator]
    ys = [p.latency_ns for p in good]
    ax.plot(xs, ys, marker="o")
    for p, x, y in zip(good, xs, ys, strict=True):
        ax.annotate(f"{p.delay_ps / 1000:g} ns", (x, y), textcoords="offset points", xytext=(4, 4))
    ax.set_xlabel("bandwidth (MB/sec)")
    ax.set_ylabel(f"{curve.host} mean read latency (ns)")
    ax.set_title(f"loaded latency: {Path(curve.topology).name}", fontsize=10)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
