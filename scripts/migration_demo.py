#!/usr/bin/env python3
"""Endpoint migration: downtime and bytes moved, for a device and for a host workload.

    PYTHONPATH=models python scripts/migration_demo.py

1. ``topologies/coherent_accel_migrate.yaml`` as shipped: the producer ``acc0`` moves to the
   spare ``acc2`` (one switch further from the host) at 5 us.
2. The same topology with three devices incrementing shared lines (``migratory``, 4
   outstanding each) instead of producing: acc0 holds modified lines when it stops, so its
   write-back carries data. Migrated at 2, 5 and 10 us.
3. The same with ``params.ats`` on both devices (64-entry ATC): the ATC entries move too.
   And once (at 5 us) with the spare on the source's own switch.
4. A host workload (random loads and stores on a Type-3 device, 1 core, 16 outstanding) moving
   to a spare host with the same HDM windows behind another switch.

For each: downtime (quiesce start -> the target resumes) split into drain, write-back and
transfer, bytes moved (dirty lines written back + state chunks), and the end of the run with
and without the migration. Every run is checked: increments all present, no data errors,
every request completed once.

5. Cold vs warm (``warm: true``: the target re-acquires the lines the source held, RdShared for
   S and RdOwn for E/M): a device with a private working set that fits its cache and that it
   holds whole when it moves (read-modify-write on 64 lines at 15 us; loads streaming over 128
   lines at 25 us), the contended migratory
   case and the shipped producer. For each: downtime, lines re-acquired and how long that took
   after the resume, the target's hit rate on the program's own operations, and the run's end.

Figures printed last.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from slugsim.components import DeviceWorkloadParams, HostParams, Type1Params
from slugsim.components.coherent_params import DeviceAtsParams
from slugsim.config import load_topology
from slugsim.fabric import HdmWindow, SwitchParams, SystemBuilder, Where, WorkloadParams
from slugsim.fabric.params import LinkParams, RunOptions
from slugsim.kernel import US
from slugsim.sim import elaborate
from slugsim.sim.migration import MigrationSpec, attach
from slugsim.sim.runner import run_system

ROOT = Path(__file__).resolve().parents[1]
BASE = 4 << 30


def run(graph):
    system = elaborate(graph)
    stats, _ = run_system(system)
    assert stats["run"]["stop"] == "quiescent", stats["run"]
    return system, stats


def devices(at_us: float | None, ats: bool = False, near: bool = False):
    """host0 - sw0 - acc0..acc2 (migratory on 256 B), sw0 - sw1 - acc9 (spare); ``near``: the
    spare on sw0 beside the source."""
    params = {"outstanding": 4}
    if ats:
        params["ats"] = DeviceAtsParams(atc_entries=64, atc_ways=4)
    workload = DeviceWorkloadParams(kind="migratory", base=BASE, footprint=256, requests=2000)
    builder = SystemBuilder(RunOptions(seed=1))
    builder.host("host0", HostParams()).switch("sw0", SwitchParams(ports=8))
    builder.switch("sw1", SwitchParams(ports=4)).link("host0", "sw0").link("sw0", "sw1")
    for i in range(3):
        builder.type1(f"acc{i}", Type1Params(workload=workload, **params))
        builder.link("sw0", f"acc{i}", LinkParams())
    builder.type1("acc9", Type1Params(**params)).link("sw0" if near else "sw1", "acc9")
    graph = builder.build()
    if at_us is not None:
        attach(graph, [MigrationSpec("acc0", "acc9", int(at_us * US), Where("<demo>"))])
    return graph


def host(at_us: float | None):
    window = (HdmWindow(base=64 << 30, size=64 << 30, targets=("mem0",)),)
    workload = WorkloadParams(
        kind="random", read_ratio=0.7, footprint=1 << 30, target="cxl", requests=20000
    )
    builder = SystemBuilder(RunOptions(seed=1))
    builder.host("host0", HostParams(hdm=window, workload=workload, outstanding=16))
    builder.host("host1", HostParams(hdm=window, outstanding=16))
    builder.switch("sw0", SwitchParams(ports=8)).switch("sw1", SwitchParams(ports=8))
    builder.type3("mem0").link("host0", "sw0").link("sw0", "mem0").link("sw0", "sw1")
    builder.link("sw1", "host1")
    graph = builder.build()
    if at_us is not None:
        attach(graph, [MigrationSpec("host0", "host1", int(at_us * US), Where("<demo>"))])
    return graph


def private(kind: str, footprint: int, requests: int, at_us: float | None):
    """host0 - sw0 - acc0 (a private working set), sw0 - sw1 - acc9 (the spare)."""
    workload = DeviceWorkloadParams(kind=kind, base=BASE, footprint=footprint, requests=requests)
    builder = SystemBuilder(RunOptions(seed=1))
    builder.host("host0", HostParams()).switch("sw0", SwitchParams(ports=8))
    builder.switch("sw1", SwitchParams(ports=4)).link("host0", "sw0").link("sw0", "sw1")
    builder.type1("acc0", Type1Params(workload=workload, outstanding=4)).link("sw0", "acc0")
    builder.type1("acc9", Type1Params(outstanding=4)).link("sw1", "acc9")
    graph = builder.build()
    if at_us is not None:
        attach(graph, [MigrationSpec("acc0", "acc9", int(at_us * US), Where("<demo>"))])
    return graph


def warm(graph, on: bool):
    graph.graph["migrate"] = tuple(
        dataclasses.replace(spec, warm=on) for spec in graph.graph["migrate"]
    )
    return graph


def target_hit_rate(stats, entry) -> float:
    """Hits over the program's operations at the target (re-acquisitions left out)."""
    cache = stats["devices"][entry["target"]]["cache"]
    ops = cache["hits"] + cache["misses"] - entry["lines_reacquired"]
    return cache["hits"] / ops if ops else 0.0


def check_increments(system) -> None:
    from slugsim.coherence import DeviceState

    home = system.components["host0"].home_agent.agent
    total = 0
    for line in range(BASE >> 6, (BASE + 256) >> 6):
        value = home.lines[line].memory if line in home.lines else 0
        for component in system.components.values():
            cache = getattr(component, "cache", None)
            if cache is not None and cache.line_state(line) in (DeviceState.E, DeviceState.M):
                value = cache.line_value(line)
        total += value
    assert total == 3 * 2000, total


def main() -> None:
    rows = []

    graph = load_topology(ROOT / "topologies" / "coherent_accel_migrate.yaml")
    _, stats = run(graph)
    graph.graph["migrate"] = ()  # the same run without the migration
    _, base = run(graph)
    assert all(d.get("data_errors", 0) == 0 for d in stats["devices"].values())
    rows.append(("coherent_accel_migrate.yaml: producer acc0 -> acc2 at 5 us", stats, base))

    for ats in (False, True):
        _, base = run(devices(None, ats))
        for at in (2, 5, 10):
            system, stats = run(devices(at, ats))
            check_increments(system)
            label = f"migratory x3{' + ATS' if ats else ''}: acc0 -> acc9 at {at} us"
            rows.append((label, stats, base))

    _, base = run(devices(None))
    system, stats = run(devices(5, near=True))
    check_increments(system)
    rows.append(("migratory x3: acc0 -> acc9 on the same switch at 5 us", stats, base))

    _, base = run(host(None))
    system, stats = run(host(5))
    hosts = stats["hosts"]
    assert hosts["host0"]["completed"] + hosts["host1"]["completed"] == 20000
    rows.append(("host workload: host0 -> host1 at 5 us", stats, base))

    warm_rows = []
    cases = [
        ("read_modify_write, 64 private lines: acc0 -> acc9 at 15 us",
         lambda: private("read_modify_write", 4096, 20000, 15)),
        ("stream_read, 128 private lines: acc0 -> acc9 at 25 us",
         lambda: private("stream_read", 8192, 40000, 25)),
        ("migratory x3: acc0 -> acc9 at 5 us", lambda: devices(5)),
        ("coherent_accel_migrate.yaml: producer acc0 -> acc2 at 5 us",
         lambda: load_topology(ROOT / "topologies" / "coherent_accel_migrate.yaml")),
    ]  # fmt: skip
    for label, make in cases:
        for on in (False, True):
            system, stats = run(warm(make(), on))
            if label.startswith("migratory"):
                check_increments(system)
            assert all(d.get("data_errors", 0) == 0 for d in stats["devices"].values())
            warm_rows.append((label, on, stats))

    print(
        "| migration | downtime ns (drain + write-back + transfer) | lines written back | "
        "ATC entries | bytes moved (written back + state) | run end ns: plain -> migrated |"
    )
    print("|---|---|---|---|---|---|")
    for label, stats, base in rows:
        (entry,) = stats["migration"]["entries"].values()
        assert entry["phase"] == "resumed"
        moved = entry["bytes_moved"]
        print(
            f"| {label} | {entry['downtime_ns']:.1f} ({entry['drain_ns']:.1f} + "
            f"{entry['write_back_ns']:.1f} + {entry['transfer_ns']:.1f}) | "
            f"{entry['lines_written_back']} | {entry['atc_entries']} | {moved['total']} "
            f"({moved['written_back']} + {moved['state']}) | "
            f"{base['run']['sim_time_ns']:.1f} -> {stats['run']['sim_time_ns']:.1f} |"
        )
    print()
    print(
        "| migration | start | downtime ns | lines re-acquired | warm-up ns | state bytes | "
        "target hit rate | target hits / misses | run end ns |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for label, on, stats in warm_rows:
        (entry,) = stats["migration"]["entries"].values()
        assert entry["phase"] == "resumed"
        cache = stats["devices"][entry["target"]]["cache"]
        print(
            f"| {label} | {'warm' if on else 'cold'} | {entry['downtime_ns']:.1f} | "
            f"{entry['lines_reacquired']} | {entry['warm_up_ns']:.1f} | "
            f"{entry['bytes_moved']['state']} | {target_hit_rate(stats, entry):.3f} | "
            f"{cache['hits']} / {cache['misses']} | {stats['run']['sim_time_ns']:.1f} |"
        )


if __name__ == "__main__":
    main()
