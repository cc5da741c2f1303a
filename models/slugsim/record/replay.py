"""``slugsim replay``: drive the recorded or another topology from a recording.

The hosts whose traces hold CXL.mem requests lose their workload and get a ``HostPlayer``
(``slugsim.record.player``); the coherent accelerators whose traces hold D2H requests get a
``DevicePlayer`` (``slugsim.record.device_player``: their own cache controller, driven by the
recorded operations); every other component runs as the topology says. The replay is recorded
with the recording's EMC configuration, so its traces can be compared with the recorded ones:

- ``validate``: on the recorded topology, every EMC's trace must come out byte for byte (up to
  the instant the recorded run stopped at, when it stopped mid-instant);
- ``timing`` / ``dependency``: a diff report per path (host -> device): recorded vs replayed
  latency and bandwidth, as JSON, text and a plot.

The output directory is written atomically: stats.json, stats.txt, latency.png, replay.json,
replay.txt, paths.png and recording/ (the replay's own recording).
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console

from ..emc.config import EmcConfig
from .analysis import (
    final_image,
    first_difference,
    host_requests,
    order_writes,
    path_stats,
    plot_paths,
    write_history,
)
from .device_player import (
    DevicePlayer,
    device_requests_of,
    epochs,
    final_values,
    final_writes,
    grant_history,
    name_value,
    order_grants,
)
from .devmem_player import (
    DevMemPlayer,
    SendOrder,
    devmem_ops_of,
    fills_as_requests,
    rank_at_device,
)
from .player import HostPlayer, WriteOrder
from .recorder import Recorder, run_info, sha256_of
from .recording import Recording, RecordingError, load_recording

MODES = ("timing", "dependency", "validate")


@dataclass
class ReplayResult:
    out_dir: Path
    mode: str
    mismatches: dict[str, str] = field(default_factory=dict)  # validate: EMC -> first diff
    paths: list[dict[str, Any]] = field(default_factory=list)
    losses: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    same_writes: bool | None = None  # per-address write order and final image agree
    coherence: dict[str, Any] | None = None  # re-driven accelerators: outcomes vs recording


def parse_map(items: list[str]) -> dict[str, str]:
    """``["a=b", "c=d,e=f"]`` -> {a: b, c: d, e: f}; raises ValueError naming the bad item."""
    mapping: dict[str, str] = {}
    for item in items:
        for pair in filter(None, item.split(",")):
            old, sep, new = pair.partition("=")
            if not sep or not old.strip() or not new.strip():
                raise ValueError(f"--map {pair!r}: expected OLD=NEW")
            mapping[old.strip()] = new.strip()
    return mapping


def replay(
    recording: Recording,
    mode: str,
    out_dir: Path,
    topology: Path | None = None,
    mapping: dict[str, str] | None = None,
    progress: bool = False,
    console: Console | None = None,
) -> ReplayResult:
    from ..config import load_topology
    from ..sim import elaborate, run_system
    from ..stats import latency_histograms, plot_latency, write_json, write_text

    if mode not in MODES:
        raise RecordingError(f"replay mode {mode!r}: use one of {', '.join(MODES)}")
    mapping = dict(mapping or {})
    manifest = recording.manifest
    topo = topology or recording.topology_file
    if (
        mode == "validate"
        and topology is not None
        and (sha256_of(topology) != manifest["topology"]["sha256"])
    ):
        raise RecordingError(
            f"{topology}: validate replays on the recorded topology, and this is another "
            "one\n  hint: drop --topo, or use --mode dependency / timing"
        )
    graph = load_topology(topo)
    recorded_graph = graph if topo == recording.topology_file else None
    memory_hosts = _device_memory_hosts(recording, recorded_graph)
    result = ReplayResult(Path(out_dir), mode, losses=list(recording.losses))
    slots = {name: int(v["slots"]) for name, v in manifest["hosts"].items()}
    requests = host_requests(recording.traces, manifest, slots)
    # Hosts on HDM-DB memory: re-driven through their device-memory agent, not HostPlayer.
    cycle = int(manifest["emc"]["cycle"])
    memory_ops = {h: devmem_ops_of(recording.traces[h], cycle) for h in memory_hosts}
    for host, device in memory_hosts.items():
        if device in recording.traces:
            pid = int(manifest["pids"][host])
            rank_at_device(memory_ops[host], recording.traces[host], recording.traces[device], pid)
    for h in memory_hosts:
        requests[h] = []
    memory_targets = _memory_hosts(graph, memory_ops, mapping, topo)
    targets = _endpoints(graph, requests, mapping, topo)
    # Writes to a line follow each other across endpoints as they did in the recording.
    history = write_history(recording.traces, manifest, requests)
    if mode == "dependency":
        ordered = order_writes(requests, history)
        result.notes.append(f"{ordered} writes wait for another endpoint's write to their line")
    for new in [*targets.values(), *memory_targets.values()]:
        data = graph.nodes[new]
        data["params"] = dataclasses.replace(data["params"], workload=None)
    # Coherent accelerators: re-driven from their D2H requests through their own caches.
    devices = _device_requests(recording, manifest, recorded_graph)
    device_targets = _devices(graph, devices, mapping, topo)
    numbers = {name: i for i, name in enumerate(sorted(devices))}
    grants = grant_history(devices)
    if mode == "dependency" and devices:
        waits = order_grants(devices, grants, numbers)
        result.notes.append(f"{waits} accelerator requests wait for another device's grant")
    elif devices:
        order_grants(devices, grants, numbers)
        for found in devices.values():
            for r in found:
                r.after = []  # timing: recorded times only; the expected values stay
    for host in slots:
        if host not in recording.traces and slots[host]:
            result.notes.append(f"{host} has no trace: it is not replayed (no EMC on it)")
    run = graph.graph["run"]
    cutoff = recording.complete_before_ps if mode == "validate" else None
    graph.graph["run"] = dataclasses.replace(
        run, seed=int(manifest["seed"]), requests=None, stop_time=cutoff
    )
    config = _config(manifest)
    if config.ship_to is not None and config.ship_to not in graph.nodes:
        result.notes.append(f"records are not shipped: {topo} has no '{config.ship_to}'")
        config = dataclasses.replace(config, ship_to=None)
    system = elaborate(graph)
    stage = Path(tempfile.mkdtemp(prefix=f".{result.out_dir.name}.", dir=_parent(out_dir)))
    try:
        order = WriteOrder()
        players = {
            recorded: HostPlayer(
                system.components[new],  # type: ignore[arg-type]
                recorded,
                requests[recorded],
                mode,
                slots[recorded],
                order,
                exact=recording.traces[recorded].has_meta,
            )
            for recorded, new in targets.items()
        }
        device_players = {
            recorded: DevicePlayer(
                system.components[new], recorded, numbers[recorded], devices[recorded], mode, order
            )
            for recorded, new in device_targets.items()
        }
        send_order = SendOrder()
        memory_players = {
            recorded: DevMemPlayer(
                system.components[new], recorded, memory_ops[recorded], mode, send_order, i
            )
            for i, (recorded, new) in enumerate(memory_targets.items())
        }
        recorder = Recorder(stage / "recording", system, config, Path(topo), strict_names=False)
        try:
            stats, _ = run_system(system, progress, Console(stderr=True) if progress else None)
        except BaseException:
            recorder.abort()
            raise
        extra = {"replay_of": str(recording.path), "mode": mode, "map": mapping}
        recorder.finish(run_info(stats, system), extra)
        unsent = sum(
            p.unsent
            for p in [*players.values(), *device_players.values(), *memory_players.values()]
        )
        if unsent and cutoff is None:
            result.notes.append(f"{unsent} recorded requests were never sent (still waiting)")
        undecodable = sum(p.undecodable for p in players.values())
        if undecodable:
            result.notes.append(
                f"{undecodable} recorded requests have addresses the new hosts do not map"
            )
        replayed = load_recording(stage / "recording")
        _compare(recording, replayed, result, mapping, history, cutoff, memory_hosts)
        if device_players:
            result.coherence = _coherence(
                device_players, grants, numbers, replayed, system, device_targets
            )
        write_json(stats, stage / "stats.json")
        write_text(stats, stage / "stats.txt")
        plot_latency(latency_histograms(system), stage / "latency.png")
        _write_report(result, stage, recording, topo)
        _swap(stage, Path(out_dir))
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    return result


def _parent(out_dir: Path) -> Path:
    parent = Path(out_dir).resolve().parent
    parent.mkdir(parents=True, exist_ok=True)
    return parent


def _swap(stage: Path, out_dir: Path) -> None:
    from ..sim.runner import _swap_in

    umask = os.umask(0)
    os.umask(umask)
    stage.chmod(0o777 & ~umask)
    _swap_in(stage, out_dir.resolve())


def _config(manifest: dict[str, Any]) -> EmcConfig:
    values = dict(manifest["emc"])
    values["at"] = tuple(values["at"])
    return EmcConfig(**values)


def _endpoints(
    graph: Any, requests: dict[str, Any], mapping: dict[str, str], topo: Path
) -> dict[str, str]:
    """Recorded host -> the host that replays it (by name, or ``--map``)."""
    targets = {}
    for recorded, found in requests.items():
        if not found:
            continue
        new = mapping.get(recorded, recorded)
        if new not in graph.nodes:
            raise RecordingError(
                f"{topo}: the recording's endpoint '{recorded}' has no counterpart here"
                + (f" (--map gave '{new}')" if new != recorded else "")
                + f"\n  hint: pass --map {recorded}=NAME with a host of {topo}"
            )
        if graph.nodes[new]["kind"] != "host":
            raise RecordingError(
                f"{topo}: '{new}' is a {graph.nodes[new]['kind']}, but it replays the "
                f"recorded host '{recorded}'\n  hint: map it onto a host with --map"
            )
        targets[recorded] = new
    return targets


def _device_memory_hosts(recording: Recording, recorded_graph: Any) -> dict[str, str]:
    """The traced hosts on HDM-DB memory (``DevMemPlayer`` re-drives them), each with its
    device; refuses HDM-D.

    Such a host sends its M2S requests from ``TimedHostMem``'s coherence table, not from its
    cores' LLC misses, so ``HostPlayer`` finds none of them in its trace. HDM-D hosts also
    answer the device's D2H requests (bias flips), which ``DevMemPlayer`` does not order: they
    are refused, which beats a "replayed 0" and a validate that differs everywhere."""
    from ..config import load_topology

    if recorded_graph is None:
        recorded_graph = load_topology(recording.topology_file)
    found = []
    for name in sorted(recording.traces):
        node = recorded_graph.nodes.get(name)
        if node is None or node["kind"] != "host":
            continue
        for window in node["params"].hdm:
            for target in window.targets:
                device = recorded_graph.nodes.get(target)
                coherence = getattr(device["params"], "coherence", "") if device else ""
                if coherence in ("hdm_db", "hdm_d"):
                    found.append((name, target, coherence))
    found_d = [f for f in found if f[2] == "hdm_d"]
    if found_d:
        found = found_d
        host, device, coherence = found[0]
        hosts = ", ".join(sorted({f"'{h}'" for h, _, _ in found}))
        kind = "HDM-DB (back-invalidation)" if coherence == "hdm_db" else "HDM-D"
        raise RecordingError(
            f"{recording.topology_file}: host(s) {hosts} run device-coherent memory: "
            f"'{host}' caches {kind} device '{device}' through its device-memory agent, and "
            "replay does not re-drive such hosts (their MemRd S/A, writebacks and BIRsp come "
            "from the host's coherence table, not from core misses), nor the device's own "
            "device_ops\n  hint: re-run the topology with `slugsim run`; replay supports hosts "
            "on plain, home-agent or HDM-DB memory and type1/type2 accelerators "
            "(docs/record_replay.md)"
        )
    hosts = {h: device for h, device, _ in sorted(found)}
    for host in hosts:
        trace = recording.traces[host]
        if not trace.has_meta:
            raise RecordingError(
                f"{trace.path}: trace format version {trace.header.version} holds no MetaValue, "
                f"and '{host}' caches HDM-DB memory: its MemRd for a load and for a store look "
                "alike\n  hint: record the run again with this slugsim (trace format 4 carries "
                "MetaField/MetaValue/SnpType)"
            )
    return hosts


def _memory_hosts(
    graph: Any, ops: dict[str, Any], mapping: dict[str, str], topo: Path
) -> dict[str, str]:
    """Recorded HDM-DB host -> the host that replays it: one on HDM-DB memory too."""
    targets = {}
    for recorded, found in ops.items():
        if not found:
            continue
        new = mapping.get(recorded, recorded)
        node = graph.nodes.get(new)
        coherent = node is not None and any(
            getattr(graph.nodes[t]["params"], "coherence", "") == "hdm_db"
            for w in getattr(node["params"], "hdm", ())
            for t in w.targets
            if t in graph.nodes
        )
        if node is None or node["kind"] != "host" or not coherent:
            raise RecordingError(
                f"{topo}: the recording's host '{recorded}' ran on HDM-DB memory and "
                + (f"'{new}' has no such memory" if node is not None else "has no counterpart")
                + f"\n  hint: pass --map {recorded}=NAME with a host of {topo} that maps an "
                "HDM-DB device"
            )
        targets[recorded] = new
    return targets


def _device_requests(
    recording: Recording, manifest: dict[str, Any], recorded_graph: Any
) -> dict[str, Any]:
    """Recorded accelerators (type1/type2 whose traces hold D2H requests) -> their requests."""
    from ..config import load_topology

    if recorded_graph is None:
        recorded_graph = load_topology(recording.topology_file)
    cycle = int(manifest["emc"]["cycle"])
    found = {}
    for name, trace in sorted(recording.traces.items()):
        node = recorded_graph.nodes.get(name)
        if node is None or node["kind"] not in ("type1", "type2"):
            continue
        requests = device_requests_of(trace, cycle)
        if requests:
            found[name] = requests
    return found


def _devices(
    graph: Any, devices: dict[str, Any], mapping: dict[str, str], topo: Path
) -> dict[str, str]:
    """Recorded accelerator -> the accelerator that replays it (by name, or ``--map``)."""
    targets = {}
    for recorded in devices:
        new = mapping.get(recorded, recorded)
        if new not in graph.nodes:
            raise RecordingError(
                f"{topo}: the recording's accelerator '{recorded}' has no counterpart here"
                + (f" (--map gave '{new}')" if new != recorded else "")
                + f"\n  hint: pass --map {recorded}=NAME with a type1/type2 device of {topo}"
            )
        kind = graph.nodes[new]["kind"]
        if kind not in ("type1", "type2"):
            raise RecordingError(
                f"{topo}: '{new}' is a {kind}, but it replays the recorded accelerator "
                f"'{recorded}'\n  hint: map it onto a type1 or type2 device with --map"
            )
        targets[recorded] = new
    return targets


def _coherence(
    players: dict[str, DevicePlayer],
    grants: dict[int, list[tuple[str, int, bool]]],
    numbers: dict[str, int],
    replayed: Recording,
    system: Any,
    targets: dict[str, str],
) -> dict[str, Any]:
    """What the re-driven accelerators' replay shows against the recording: per-line grant
    order (as epochs: a write and the reads that saw it), the value every load read, and
    each line's final value (the last write's name)."""
    inverse = {new: old for old, new in targets.items()}
    again = grant_history(
        {
            inverse.get(name, name): device_requests_of(trace, replayed.cycle_ps)
            for name, trace in replayed.traces.items()
            if inverse.get(name, name) in players
        }
    )
    last = final_writes(grants)
    expected = {addr: name_value(numbers[d], i) for addr, (d, i, _) in last.items()}
    actual = final_values(system, sorted(expected))
    wrong_final = sorted(a for a in expected if actual[a] != expected[a])
    errors = [e for p in players.values() for e in p.read_errors]
    return {
        "lines": len(grants),
        "grants": sum(len(g) for g in grants.values()),
        "same_grant_order": epochs(again) == epochs(grants),
        "loads_checked": sum(p.loads_checked for p in players.values()),
        "load_errors": len(errors),
        "first_load_errors": errors[:5],
        "final_values_checked": len(expected),
        "final_values_wrong": len(wrong_final),
        "hits_instead_of_misses": {
            name: len(p.requests) - len(device_requests_of(replayed.traces[targets[name]], 1))
            for name, p in players.items()
            if targets[name] in replayed.traces
        },
    }


def _compare(
    recording: Recording,
    replayed: Recording,
    result: ReplayResult,
    mapping: dict[str, str],
    history: dict[int, list[tuple[str, int]]],
    cutoff: int | None,
    memory_hosts: dict[str, str],
) -> None:
    if result.mode == "validate":
        for name, trace in sorted(recording.traces.items()):
            diff = first_difference(trace, replayed.traces.get(name), cutoff, recording.cycle_ps)
            if diff is not None:
                result.mismatches[name] = diff
    inverse = {new: old for old, new in mapping.items()}
    slots = {name: int(v["slots"]) for name, v in recording.manifest["hosts"].items()}
    mapped_slots = {mapping.get(h, h): s for h, s in slots.items()}
    rec_requests = host_requests(recording.traces, recording.manifest, slots)
    rep_requests = host_requests(
        replayed.traces,
        replayed.manifest,
        {h: s for h, s in mapped_slots.items() if h in replayed.traces},
    )
    # Hosts on HDM-DB memory tag their fills by line, not by request slot: their paths
    # count the fills (devmem_player) instead.
    for host, device in memory_hosts.items():
        new = mapping.get(host, host)
        rec_requests[host] = fills_as_requests(
            devmem_ops_of(recording.traces[host], recording.cycle_ps), device
        )
        if new in replayed.traces:
            rep_requests[new] = fills_as_requests(
                devmem_ops_of(replayed.traces[new], replayed.cycle_ps), mapping.get(device, device)
            )
    before = path_stats(rec_requests, {})
    after = path_stats(rep_requests, inverse)
    for key in sorted(set(before) | set(after)):
        b, a = before.get(key), after.get(key)
        result.paths.append(
            {
                "path": key,
                "recorded": dataclasses.asdict(b) if b else None,
                "replayed": dataclasses.asdict(a) if a else None,
            }
        )
    if history:
        replayed_history = write_history(replayed.traces, replayed.manifest, rep_requests, inverse)
        result.same_writes = replayed_history == history and final_image(
            replayed_history
        ) == final_image(history)


def _write_report(result: ReplayResult, stage: Path, recording: Recording, topo: Path) -> None:
    report = {
        "mode": result.mode,
        "recording": str(recording.path),
        "topology": str(topo),
        "validate": {"passed": not result.mismatches, "mismatches": result.mismatches}
        if result.mode == "validate"
        else None,
        "same_write_order": result.same_writes,
        "coherence": result.coherence,
        "losses": result.losses,
        "notes": result.notes,
        "summary": summary(result.paths),
        "paths": result.paths,
    }
    (stage / "replay.json").write_text(json.dumps(report, indent=1) + "\n")
    (stage / "replay.txt").write_text(format_report(result))
    if result.paths:
        plot_paths(result.paths, stage / "paths.png", f"replay ({result.mode}) vs recording")


def format_report(result: ReplayResult, limit: int | None = None) -> str:
    lines = [
        f"{'path':<22} {'reqs rec/rep':>13} {'mean ns rec':>11} {'rep':>8} {'p99 rec':>8} "
        f"{'rep':>8} {'GB/s rec':>8} {'rep':>7}"
    ]
    rows = result.paths if limit is None else result.paths[:limit]
    totals = summary(result.paths)
    for row in rows:
        b, a = row["recorded"], row["replayed"]
        nb = b["requests"] if b else 0
        na = a["requests"] if a else 0

        def f(d: dict[str, Any] | None, key: str) -> str:
            return f"{d[key]:.1f}" if d else "-"

        def g(d: dict[str, Any] | None) -> str:
            return f"{d['gbps']:.3f}" if d else "-"

        lines.append(
            f"{row['path']:<22} {f'{nb}/{na}':>13} {f(b, 'mean_ns'):>11} {f(a, 'mean_ns'):>8} "
            f"{f(b, 'p99_ns'):>8} {f(a, 'p99_ns'):>8} {g(b):>8} {g(a):>7}"
        )
    if limit is not None and len(result.paths) > limit:
        lines.append(f"... {len(result.paths) - limit} more paths in replay.txt")
    if totals:
        lines.append(
            f"all paths: {totals['recorded_requests']:,} / {totals['replayed_requests']:,} "
            f"requests, mean latency {totals['recorded_mean_ns']:.1f} -> "
            f"{totals['replayed_mean_ns']:.1f} ns ({totals['latency_change_pct']:+.1f} %)"
        )
    return "\n".join(lines) + "\n"


def summary(paths: list[dict[str, Any]]) -> dict[str, float]:
    """Request-weighted mean latency over every path, recorded and replayed."""
    sums = {"recorded": [0.0, 0], "replayed": [0.0, 0]}
    for row in paths:
        for side in sums:
            stats = row[side]
            if stats:
                sums[side][0] += stats["mean_ns"] * stats["requests"]
                sums[side][1] += stats["requests"]
    if not sums["recorded"][1] or not sums["replayed"][1]:
        return {}
    before = sums["recorded"][0] / sums["recorded"][1]
    after = sums["replayed"][0] / sums["replayed"][1]
    return {
        "recorded_requests": sums["recorded"][1],
        "replayed_requests": sums["replayed"][1],
        "recorded_mean_ns": before,
        "replayed_mean_ns": after,
        "latency_change_pct": (after / before - 1) * 100,
    }
