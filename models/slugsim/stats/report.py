"""Render the stats dict: stats.json, a gem5-like stats.txt, latency.png and a rich summary."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from .histogram import LatencyHistogram
from .schema import describe

_TXT_BEGIN = "---------- Begin Simulation Statistics ----------"
_TXT_END = "---------- End Simulation Statistics   ----------"


def to_json(stats: dict[str, Any]) -> str:
    """Sorted keys and fixed indentation: the same stats give the same bytes."""
    return json.dumps(stats, sort_keys=True, indent=2, ensure_ascii=True) + "\n"


def write_json(stats: dict[str, Any], path: Path) -> None:
    path.write_text(to_json(stats), encoding="ascii")


def _flatten(value: Any, prefix: str, out: list[tuple[str, Any]]) -> None:
    if isinstance(value, dict):
        for key in sorted(value):
            _flatten(value[key], f"{prefix}.{key}" if prefix else str(key), out)
    elif isinstance(value, list):
        out.append((prefix, " ".join(map(str, value)) or "-"))
    else:
        out.append((prefix, value))


def _pattern(path: str, known: dict[str, str]) -> str:
    """The schema description of a dotted path, matching map keys against '*'."""
    parts = path.split(".")
    for candidate in known:
        pattern = candidate.split(".")
        if len(pattern) == len(parts) and all(
            p in ("*", q) for p, q in zip(pattern, parts, strict=True)
        ):
            return known[candidate]
    return ""


def to_text(stats: dict[str, Any]) -> str:
    """gem5's stats.txt layout: one ``name value # description`` line per statistic."""
    rows: list[tuple[str, Any]] = []
    _flatten(stats, "", rows)
    known = dict(describe())
    width = max(len(name) for name, _ in rows) + 2
    lines = [_TXT_BEGIN, ""]
    for name, value in rows:
        text = f"{value:.6f}" if isinstance(value, float) else str(value)
        desc = _pattern(name, known)
        lines.append(f"{name:<{width}}{text:>16}" + (f"   # {desc}" if desc else ""))
    lines += ["", _TXT_END, ""]
    return "\n".join(lines)


def write_text(stats: dict[str, Any], path: Path) -> None:
    path.write_text(to_text(stats), encoding="utf-8")


MAX_PLOTTED_PATHS = 8
MAX_TABLE_PATHS = 6


def plot_latency(histograms: dict[str, dict[str, LatencyHistogram]], path: Path) -> None:
    """Latency CDF per path, one panel per request class (the busiest paths only), drawn from
    the histograms (a step at each bucket's top, within 0.1 % of the latency)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    classes = sorted(histograms) or ["read"]
    fig, axes = plt.subplots(1, len(classes), figsize=(6 * len(classes), 4), squeeze=False)
    for ax, cls in zip(axes[0], classes, strict=True):
        paths = histograms.get(cls, {})
        busiest = sorted(paths, key=lambda p: (-paths[p].count, p))[:MAX_PLOTTED_PATHS]
        for name in sorted(busiest):
            xs, ys = paths[name].cdf()
            ax.step(xs, ys, where="post", label=f"{name} (n={paths[name].count})")
        ax.set_title(f"{cls} latency CDF")
        ax.set_xlabel("latency (ns)")
        ax.set_ylabel("fraction of requests")
        ax.grid(True, alpha=0.3)
        if busiest:
            ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110, metadata={"Software": None})
    plt.close(fig)


def summary_tables(stats: dict[str, Any]) -> list[Table]:
    run = stats["run"]
    overview = Table(title="slugsim run", show_header=False)
    overview.add_column("what")
    overview.add_column("value", justify="right")
    overview.add_row("simulated time", f"{run['sim_time_ns']:,.1f} ns")
    overview.add_row("requests completed", f"{run['requests']:,}")
    overview.add_row("stopped by", run["stop"])
    bw = stats["bandwidth"]
    overview.add_row("CXL read bandwidth", f"{bw['cxl_read_gbps']:.2f} GB/s")
    overview.add_row("CXL writeback bandwidth", f"{bw['cxl_write_gbps']:.2f} GB/s")
    overview.add_row("local DRAM read bandwidth", f"{bw['local_read_gbps']:.2f} GB/s")
    busiest = max(
        (
            (chan["utilisation"], f"{chan['from']} -> {chan['to']}")
            for link in stats["links"].values()
            for chan in (link["ab"], link["ba"])
        ),
        default=None,
    )
    if busiest:
        overview.add_row("busiest link direction", f"{busiest[1]} ({busiest[0]:.1%})")
    queue = max(
        (
            (port["mean_queue_ns"], f"{sw}.{name}")
            for sw, data in stats["switches"].items()
            for name, port in data["ports"].items()
        ),
        default=None,
    )
    if queue:
        overview.add_row("longest mean switch queue", f"{queue[1]} ({queue[0]:.1f} ns)")
    for source, entry in stats.get("migration", {}).get("entries", {}).items():
        moved = entry["bytes_moved"]["total"]
        done = f"{entry['downtime_ns']:,.1f} ns down, {moved:,} B moved"
        if entry.get("warm"):
            done += f", {entry['lines_reacquired']} lines re-acquired"
        value = done if entry["phase"] == "resumed" else entry["phase"]
        overview.add_row(f"migration {source} -> {entry['target']}", value)

    latency = Table(title="latency (ns)")
    for column in ("class", "path", "count", "mean", "p50", "p90", "p99", "p999", "max"):
        latency.add_column(column, justify="left" if column in ("class", "path") else "right")
    for cls, data in stats["latency"].items():
        # Large fabrics have a path per device: show the worst tails, the rest is in stats.json.
        paths = sorted(
            (item for item in data["paths"].items() if item[1]["count"]),
            key=lambda item: (-item[1]["p99"], item[0]),
        )
        for path, s in [("all", data["all"]), *paths[:MAX_TABLE_PATHS]]:
            latency.add_row(
                cls,
                path,
                f"{s['count']:,}",
                *(f"{s[k]:.1f}" for k in ("mean", "p50", "p90", "p99", "p999", "max")),
            )
        if len(paths) > MAX_TABLE_PATHS:
            latency.add_row(cls, f"... {len(paths) - MAX_TABLE_PATHS} more in stats.json")
    return [overview, latency]


def print_summary(stats: dict[str, Any], console: Console) -> None:
    for table in summary_tables(stats):
        console.print(table)
