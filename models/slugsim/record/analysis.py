"""What recordings say, compared: per-path latency and bandwidth, per-address write history,
and the byte-for-byte comparison of ``validate``.

A *path* is a (host, device) pair: the host's requests to that device and their responses,
matched by tag in the host's trace. The *write history* of an address is who wrote it, in the
order its memory device received the writes: each write is named by (writer, n), the writer's
n-th CXL.mem write. Writes carry no data in the models, so (writer, n) is the value they
stand for; a replay re-issues each endpoint's writes in its recorded order, so the same name
means the same write (``docs/record_replay.md``, "Values").
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any

from ..cxl import Channel, Direction
from ..emc.trace import Trace
from .player import Request, requests_of

LINE_BYTES = 64  # one CXL.mem request moves one 64-byte line (CXL_REFERENCE.md §2.1)


@dataclass
class PathStats:
    requests: int
    mean_ns: float
    p50_ns: float
    p99_ns: float
    gbps: float  # GB/s of lines moved over the path's busy span


def _percentile(values: list[int], q: float) -> float:
    ordered = sorted(values)
    return float(ordered[min(len(ordered) - 1, int(q * len(ordered)))]) if ordered else 0.0


def host_requests(
    traces: dict[str, Trace], manifest: dict[str, Any], slots: dict[str, int] | None = None
) -> dict[str, list[Request]]:
    """Every host's core requests (``player.requests_of``) by host name."""
    names_by_pid = {pid: name for name, pid in manifest["pids"].items()}
    cycle = int(manifest["emc"]["cycle"])
    hosts = slots if slots is not None else {h: v["slots"] for h, v in manifest["hosts"].items()}
    homes = {h: bool(v.get("home_agent")) for h, v in manifest["hosts"].items()}
    return {
        name: requests_of(traces[name], hosts[name], cycle, names_by_pid, homes.get(name, False))
        for name in sorted(hosts)
        if name in traces
    }


def path_stats(requests: dict[str, list[Request]], rename: dict[str, str]) -> dict[str, PathStats]:
    """Per path ``host->device`` (names through ``rename``): latency and bandwidth."""
    latencies: dict[str, list[int]] = defaultdict(list)
    spans: dict[str, list[int]] = {}
    for host, found in requests.items():
        for r in found:
            if r.response is None:
                continue
            key = f"{rename.get(host, host)}->{rename.get(r.device, r.device)}"
            latencies[key].append(r.response - r.time)
            lo, hi = spans.get(key, [r.time, r.response])
            spans[key] = [min(lo, r.time), max(hi, r.response)]
    out = {}
    for key, values in sorted(latencies.items()):
        lo, hi = spans[key]
        out[key] = PathStats(
            len(values),
            sum(values) / len(values) / 1000,
            _percentile(values, 0.5) / 1000,
            _percentile(values, 0.99) / 1000,
            len(values) * LINE_BYTES / (hi - lo) * 1000 if hi > lo else 0.0,
        )
    return out


def write_history(
    traces: dict[str, Trace],
    manifest: dict[str, Any],
    requests: dict[str, list[Request]],
    rename: dict[str, str] | None = None,
) -> dict[int, list[tuple[str, int]]]:
    """Per line address: the writes its device received, in order, as (writer, n) with n the
    writer's n-th write; writers named through ``rename``. Needs the devices' traces."""
    rename = rename or {}
    names_by_pid = {pid: name for name, pid in manifest["pids"].items()}
    # Host side: each host's writes to each device, in order: their numbers n.
    numbered: dict[tuple[str, str], list[int]] = defaultdict(list)
    for host, found in requests.items():
        writes = [r for r in found if r.write]
        for n, r in enumerate(writes):
            numbered[host, r.device].append(n)
    history: dict[int, list[tuple[str, int]]] = defaultdict(list)
    for device, trace in sorted(traces.items()):
        seen: dict[str, int] = defaultdict(int)
        for i, record in enumerate(trace.records):
            if record.direction != Direction.INGRESS or record.channel != Channel.M2S_RWD:
                continue
            writer = names_by_pid.get(trace.spid(i), f"pid{trace.spid(i)}")
            k = seen[writer]
            seen[writer] += 1
            ns = numbered.get((writer, device))
            if ns is None or k >= len(ns):
                continue  # a writer without a host trace (sampled or salvaged)
            history[record.addr].append((rename.get(writer, writer), ns[k]))
    return dict(history)


def final_image(history: dict[int, list[tuple[str, int]]]) -> dict[int, tuple[str, int]]:
    """The value each written line holds at the end: its last write."""
    return {addr: writes[-1] for addr, writes in history.items() if writes}


def order_writes(
    requests: dict[str, list[Request]], history: dict[int, list[tuple[str, int]]]
) -> int:
    """Give each write that followed another endpoint's write to the same line the dependency
    ``after``; returns how many got one."""
    by_number: dict[tuple[str, int], Request] = {}
    for host, found in requests.items():
        writes = [r for r in found if r.write]
        for n, r in enumerate(writes):
            by_number[host, n] = r
    count = 0
    for writes in history.values():
        for (prev_host, prev_n), (host, n) in pairwise(writes):
            if prev_host == host:
                continue
            r, before = by_number.get((host, n)), by_number.get((prev_host, prev_n))
            if r is not None and before is not None:
                r.after = (prev_host, before.index)
                count += 1
    return count


def first_difference(
    recorded: Trace, replayed: Trace | None, cutoff_ps: int | None, cycle_ps: int
) -> str | None:
    """None when the replayed trace holds the recorded records byte for byte (both cut at
    ``cutoff_ps``); else where and how they first differ."""
    if replayed is None:
        return "the replay has no such EMC"

    def kept(trace: Trace) -> list[tuple[int, int]]:
        rows = []
        for record, ext in zip(trace.records, trace.ext, strict=True):
            if cutoff_ps is not None and record.timestamp * cycle_ps >= cutoff_ps:
                continue
            rows.append((record.pack(), ext))
        return rows

    a, b = kept(recorded), kept(replayed)
    for i, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            return f"record {i} differs: recorded {_show(x)}, replayed {_show(y)}"
    if len(a) != len(b):
        agree = min(len(a), len(b))
        return f"recorded {len(a):,} records, replayed {len(b):,} (the first {agree:,} agree)"
    return None


def _show(row: tuple[int, int]) -> str:
    from ..cxl import EmcRecord
    from ..emc.trace import (
        META_FIELD_LSB,
        META_VALUE_LSB,
        PID_BITS,
        PID_MASK,
        QUEUED_LSB,
        QUEUED_MAX,
        SNP_TYPE_LSB,
    )

    r, ext = EmcRecord.unpack(row[0]), row[1]
    meta = ext >> META_FIELD_LSB & 0x7F
    queued = ext >> QUEUED_LSB & QUEUED_MAX
    hint = (
        f" meta_field={meta & 3} meta_value={ext >> META_VALUE_LSB & 3} "
        f"snp_type={ext >> SNP_TYPE_LSB & 7}"
        if meta
        else ""
    )
    return (
        f"[t={r.timestamp} {r.channel.name} op={r.opcode} {r.direction.name} tag={r.tag} "
        f"addr={r.addr:#x} port={r.port} spid={ext & PID_MASK} "
        f"dpid={ext >> PID_BITS & PID_MASK}{hint}{f' queued={queued}' if queued else ''}]"
    )


def plot_paths(rows: list[dict[str, Any]], path: Path, title: str) -> None:
    """Recorded vs replayed mean latency per path (one point each) and per-path bandwidth."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.5))
    for ax, key, unit in ((left, "mean_ns", "mean latency (ns)"), (right, "gbps", "GB/s")):
        xs = [r["recorded"][key] for r in rows if r["recorded"] and r["replayed"]]
        ys = [r["replayed"][key] for r in rows if r["recorded"] and r["replayed"]]
        ax.scatter(xs, ys, s=14)
        if xs:
            lo, hi = min(xs + ys), max(xs + ys)
            ax.plot([lo, hi], [lo, hi], color="grey", linewidth=0.8, label="unchanged")
            ax.legend()
        ax.set_xlabel(f"recorded {unit}")
        ax.set_ylabel(f"replayed {unit}")
        ax.set_title(f"per path: {unit}")
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
