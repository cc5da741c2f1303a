#!/usr/bin/env python3
"""Many random migrations, untimed and timed; prints failures and the counts last.

    PYTHONPATH=models python scripts/migration_soak.py [--seeds N]

Untimed (``coherence/migration.py``): three system shapes (3 devices / 1 core / 2 lines /
SF 1x4 / 2 outstanding; 3 / 2 / 3 / SF 1x2 / 1; 4 / 1 / 4 / SF 2x1 / 2, where filter victims
are frequent), random programs of 150 operations per agent, the hand-over at a random step
(0..599); a run passes when every invariant held at every step, every operation completed once
and the hand-over happened.

Timed (``sim/migration.py``): a random workload (migratory, false_sharing, read_modify_write),
cache size, outstanding limit, ATS on or off, cold or warm (the target re-acquires the
source's lines), migration time 50 ns .. 20 us; a run passes when
the migration resumed, the host's and devices' counts agree, and the increments add up (or
false sharing found no lost update).
"""

from __future__ import annotations

import argparse
import dataclasses
import random
import sys
from pathlib import Path

from slugsim.coherence.migration import run_with_migration
from slugsim.coherence.system import SystemConfig
from slugsim.coherence.tester import generate
from slugsim.components import DeviceWorkloadParams
from slugsim.components.coherent_params import DeviceAtsParams
from slugsim.kernel import NS

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from test_migration import BASE, check_consistent, fabric, final_value, run

SHAPES = [
    SystemConfig(devices=3, cores=1, lines=2, sf_sets=1, sf_ways=4, outstanding=2),
    SystemConfig(devices=3, cores=2, lines=3, sf_sets=1, sf_ways=2, outstanding=1),
    SystemConfig(devices=4, cores=1, lines=4, sf_sets=2, sf_ways=1, outstanding=2),
]


def untimed(seeds: int) -> tuple[int, int]:
    failed = runs = 0
    for config in SHAPES:
        for seed in range(seeds):
            at = random.Random(seed).randrange(0, 600)
            programs = generate(config, random.Random(seed), 150)
            programs[f"dev{config.devices - 1}"] = ()
            result = run_with_migration(config, programs, seed, at_step=at)
            runs += 1
            if result.failure or result.ops != result.expected or result.hand_over is None:
                failed += 1
                print(f"untimed FAILED [{config}] seed={seed} at_step={at}: {result.failure}")
    return runs, failed


WARM = {"runs": 0, "lines": 0}  # warm timed runs and the lines their targets re-acquired


def timed(seeds: int) -> tuple[int, int]:
    failed = 0
    for seed in range(seeds):
        rng = random.Random(seed)
        at = rng.randrange(50, 20_000) * NS
        kind = rng.choice(["migratory", "false_sharing", "read_modify_write"])
        device: dict[str, object] = {
            "outstanding": rng.randrange(1, 9),
            "cache_size": rng.choice([1024, 4096, 65536]),
        }
        if rng.random() < 0.5:
            device["ats"] = DeviceAtsParams(atc_entries=4, atc_ways=2)
        footprint = 8192 if kind == "read_modify_write" else 256
        agents = 1 if kind == "read_modify_write" else 3
        workload = DeviceWorkloadParams(kind=kind, base=BASE, footprint=footprint, requests=300)
        warm = rng.random() < 0.5  # the target re-acquires the source's lines
        try:
            graph = fabric({f"acc{i}": workload for i in range(agents)}, device=device, at=at)
            graph.graph["migrate"] = tuple(
                dataclasses.replace(spec, warm=warm) for spec in graph.graph["migrate"]
            )
            system, stats = run(graph)
            entry = stats["migration"]["entries"]["acc0"]
            assert entry["phase"] == "resumed"
            WARM["runs"] += warm
            WARM["lines"] += entry["lines_reacquired"]
            check_consistent(stats)
            lines = range(BASE >> 6, (BASE + footprint) >> 6)
            if kind == "false_sharing":
                programs = [getattr(c, "program", None) for c in system.components.values()]
                assert all(p is None or p.errors == 0 for p in programs)
            else:
                assert sum(final_value(system, line) for line in lines) == agents * 300
        except AssertionError as exc:
            failed += 1
            print(
                f"timed FAILED seed={seed} {kind} at={at / NS:g} ns warm={warm} {device}: {exc!r}"
            )
    return seeds, failed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=150, help="untimed seeds per shape")
    parser.add_argument("--timed", type=int, default=40, help="timed runs")
    args = parser.parse_args()
    untimed_runs, untimed_failed = untimed(args.seeds)
    timed_runs, timed_failed = timed(args.timed)
    print(f"untimed hand-overs: {untimed_runs} runs, {untimed_failed} failed")
    print(f"timed migrations: {timed_runs} runs, {timed_failed} failed")
    print(f"  of which warm: {WARM['runs']}, re-acquiring {WARM['lines']} lines in all")


if __name__ == "__main__":
    main()
