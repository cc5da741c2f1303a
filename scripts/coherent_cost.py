#!/usr/bin/env python3
"""CPU time per request: a coherent device's request (CXL.cache) beside a host's CXL.mem request.

Three systems with one switch, built alike, each completing ``--requests`` requests:

- ``cxl_mem``: a host core loading random lines of a Type-3 device (quickstart's shape: every
  load misses the LLC and is a MemRd / MemData round trip);
- ``coherent``: a Type-1 device streaming reads over a footprint larger than its cache (every
  operation is a D2H RdShared, a GO-S with data from the host's DRAM, and, once the cache is
  full, a CleanEvictNoData for room);
- ``coherent_snooping``: two Type-1 devices incrementing a few shared lines in turn (migratory:
  every operation is a RdOwn that snoops the other device, which forwards its M data).

Each figure is the simulation's CPU time (``time.process_time``: elaboration and the run, not
YAML or outputs) divided by completed requests, the median of ``--repeats`` runs, the systems
taken in turns. The figures are printed last, one ``name=value`` per line, in microseconds.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "models"))

from slugsim.components import DeviceWorkloadParams, HostParams, Type1Params  # noqa: E402
from slugsim.fabric import (  # noqa: E402
    HdmWindow,
    RunOptions,
    SwitchParams,
    SystemBuilder,
    Type3Params,
    WorkloadParams,
)
from slugsim.sim import elaborate  # noqa: E402
from slugsim.sim.runner import simulate  # noqa: E402

GIB = 1 << 30
DEVICE_BASE = 4 * GIB  # in the host's local DRAM


def cxl_mem(requests: int):
    window = HdmWindow(base=64 * GIB, size=64 * GIB, targets=("mem0",))
    workload = WorkloadParams(kind="random", footprint=GIB, target="cxl", requests=requests)
    return (
        SystemBuilder(RunOptions(seed=1))
        .host("host0", HostParams(hdm=(window,), workload=workload))
        .switch("sw0", SwitchParams(ports=8))
        .type3("mem0", Type3Params())
        .link("host0", "sw0")
        .link("sw0", "mem0")
        .build()
    )


def coherent(requests: int):
    workload = DeviceWorkloadParams(
        kind="stream_read", base=DEVICE_BASE, footprint=1 << 30, requests=requests
    )
    return (
        SystemBuilder(RunOptions(seed=1))
        .host("host0", HostParams())
        .switch("sw0", SwitchParams(ports=8))
        .type1("acc0", Type1Params(outstanding=10, workload=workload))
        .link("host0", "sw0")
        .link("sw0", "acc0")
        .build()
    )


def coherent_snooping(requests: int):
    workload = DeviceWorkloadParams(
        kind="migratory", base=DEVICE_BASE, footprint=1024, requests=requests // 2
    )
    builder = SystemBuilder(RunOptions(seed=1)).host("host0", HostParams())
    builder.switch("sw0", SwitchParams(ports=8)).link("host0", "sw0")
    for name in ("acc0", "acc1"):
        builder.type1(name, Type1Params(outstanding=5, workload=workload)).link("sw0", name)
    return builder.build()


SYSTEMS = {"cxl_mem": cxl_mem, "coherent": coherent, "coherent_snooping": coherent_snooping}


def measure(make, requests: int) -> tuple[float, int, int]:
    """(CPU seconds, completed requests, D2H requests) of one run."""
    graph = make(requests)
    gc.collect()
    started = time.process_time()
    system = elaborate(graph)
    system.start()
    simulate(system)
    cpu = time.process_time() - started
    completed = system.budget.completed
    d2h = sum(sum(getattr(c, "d2h_requests", {}).values()) for c in system.components.values())
    return cpu, completed, d2h


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    per_request: dict[str, list[float]] = {name: [] for name in SYSTEMS}
    per_d2h: dict[str, list[float]] = {name: [] for name in SYSTEMS}
    for _ in range(args.repeats):
        for name, make in SYSTEMS.items():
            cpu, completed, d2h = measure(make, args.requests)
            per_request[name].append(cpu / completed * 1e6)
            if d2h:
                per_d2h[name].append(cpu / d2h * 1e6)
    medians = {name: statistics.median(values) for name, values in per_request.items()}
    for name, values in per_request.items():
        spread = f"{min(values):.2f}..{max(values):.2f}"
        d2h = (
            f", {statistics.median(per_d2h[name]):.2f} us per D2H request" if per_d2h[name] else ""
        )
        print(f"# {name}: {medians[name]:.2f} us CPU per completed request ({spread}){d2h}")
    print(f"cxl_mem_us_per_request={medians['cxl_mem']:.2f}")
    print(f"coherent_us_per_request={medians['coherent']:.2f}")
    print(f"coherent_snooping_us_per_request={medians['coherent_snooping']:.2f}")
    print(f"coherent_vs_cxl_mem={medians['coherent'] / medians['cxl_mem']:.2f}")
    print(f"coherent_snooping_vs_cxl_mem={medians['coherent_snooping'] / medians['cxl_mem']:.2f}")


if __name__ == "__main__":
    main()
