"""A sweep's results as one table (``results.csv``, ``results.parquet``) and a plot
(``sweep.png``: each headline stat against the first swept parameter, one line per combination
of the others)."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from ..kernel.units import parse_time
from .sweep_run import SweepOutcome

# column -> (path in stats.json, what it is)
HEADLINE: dict[str, tuple[tuple[str, ...], str]] = {
    "requests": (("run", "requests"), "requests completed"),
    "sim_time_ns": (("run", "sim_time_ns"), "simulated time (ns)"),
    "read_p50_ns": (("latency", "read", "all", "p50"), "read latency p50 (ns)"),
    "read_p99_ns": (("latency", "read", "all", "p99"), "read latency p99 (ns)"),
    "read_mean_ns": (("latency", "read", "all", "mean"), "read latency mean (ns)"),
    "cxl_read_gbps": (("bandwidth", "cxl_read_gbps"), "CXL read GB/s"),
    "cxl_write_gbps": (("bandwidth", "cxl_write_gbps"), "CXL write GB/s"),
    "local_read_gbps": (("bandwidth", "local_read_gbps"), "local DRAM read GB/s"),
}
PLOTTED = ("read_mean_ns", "read_p50_ns", "read_p99_ns", "bandwidth_gbps", "sim_time_ns")


def _get(stats: dict[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = stats
    for key in path:
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return value


def memory_gbps(stats: dict[str, Any]) -> float:
    """GB/s of memory traffic: CXL reads + CXL writebacks + local DRAM reads."""
    bandwidth = stats.get("bandwidth", {})
    keys = ("cxl_read_gbps", "cxl_write_gbps", "local_read_gbps")
    return round(sum(bandwidth.get(k, 0.0) for k in keys), 3)


def rows(outcome: SweepOutcome) -> list[dict[str, Any]]:
    """One row per point: its index, parameters (as written), key, status, headline stats."""
    swept = outcome.sweep.swept
    table = []
    for r in outcome.results:
        row: dict[str, Any] = {"point": r.point.index}
        for path in swept:
            row[path] = r.point.params.get(path)
        stats = r.result["stats"] if r.result is not None else None
        row["key"] = r.point.key[:16]
        row["status"] = "failed" if r.error else "cached" if r.cached else "ran"
        row["stop"] = _get(stats, ("run", "stop")) if stats else None
        for column, (path, _) in HEADLINE.items():
            row[column] = _get(stats, path) if stats else None
        row["bandwidth_gbps"] = memory_gbps(stats) if stats else None
        row["error"] = r.error
        table.append(row)
    # A parameter column of mixed types (1 and "2ns", or lists) becomes text, for Parquet.
    for path in swept:
        values = [row[path] for row in table if row[path] is not None]
        kinds = {type(v) for v in values}
        if (len(kinds) > 1 and kinds != {int, float}) or kinds & {dict, list}:
            for row in table:
                if row[path] is not None and not isinstance(row[path], str):
                    row[path] = json.dumps(row[path], separators=(",", ":"))
    return table


def write_tables(table: list[dict[str, Any]], out: Path) -> tuple[Path, Path]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    out.mkdir(parents=True, exist_ok=True)
    columns = list(table[0]) if table else ["point"]
    csv_path, parquet_path = out / "results.csv", out / "results.parquet"
    with open(csv_path, "w", newline="") as f:
        writer = csv.DictWriter(f, columns)
        writer.writeheader()
        writer.writerows(table)
    arrays = {c: [row[c] for row in table] for c in columns}
    pq.write_table(pa.table(arrays), parquet_path)
    return csv_path, parquet_path


def _axis(values: list[Any]) -> tuple[list[float], str, list[str] | None]:
    """Numbers for the x axis: numbers as they are, times in ns, anything else by position."""
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        return [float(v) for v in values], "", None
    try:
        return [parse_time(v) / 1000 for v in values], " (ns)", None
    except (TypeError, ValueError):
        labels = list(dict.fromkeys(str(v) for v in values))
        return [float(labels.index(str(v))) for v in values], "", labels


def plot(table: list[dict[str, Any]], swept: list[str], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    good = [row for row in table if row["status"] != "failed"]
    fig, axes = plt.subplots(1, len(PLOTTED), figsize=(4 * len(PLOTTED), 3.6), squeeze=False)
    x_name = swept[0] if swept else "point"
    others = swept[1:]
    xs, unit, labels = _axis([row[x_name] for row in good])
    groups: dict[str, list[int]] = {}
    for i, row in enumerate(good):
        name = ", ".join(f"{p.rsplit('.', 1)[-1]}={row[p]}" for p in others)
        groups.setdefault(name, []).append(i)
    for ax, column in zip(axes[0], PLOTTED, strict=True):
        for name, members in groups.items():
            members = sorted(members, key=lambda i: xs[i])
            ys = [good[i][column] for i in members]
            ax.plot([xs[i] for i in members], ys, marker="o", label=name or None)
        ax.set_xlabel(x_name.rsplit(".", 1)[-1] + unit)
        ax.set_title(HEADLINE[column][1] if column in HEADLINE else "memory GB/s", fontsize=9)
        if labels is not None:
            ax.set_xticks(range(len(labels)), labels, rotation=30)
        ax.grid(alpha=0.3)
    if len(groups) > 1 and len(groups) <= 12:
        axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def print_table(table: list[dict[str, Any]], swept: list[str], console: Console) -> None:
    shown = Table(title="slugsim sweep")
    columns = ["point", *swept, "status", "requests", "read_p50_ns", "read_mean_ns"]
    columns += ["read_p99_ns", "bandwidth_gbps"]
    for column in columns:
        shown.add_column(column.rsplit(".", 1)[-1], justify="right")
    for row in table:
        shown.add_row(*(_cell(row[c]) for c in columns))
    console.print(shown)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.1f}" if abs(value) >= 100 else f"{value:.3g}"
    return str(value)
