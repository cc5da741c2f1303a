"""Exhaustive exploration of the device-memory tables (HDM-DB and HDM-D), then the planted bugs.

    python scripts/devmem_explore.py                 # every exploration (minutes)
    python scripts/devmem_explore.py --suite ci      # the ones the tests run (seconds each)
    python scripts/devmem_explore.py --mutations     # which planted bug each one catches

Each line: the system, the programs (each host picks load/store/evict on any line, the device
any of its operations, from a menu: the explorer tries every choice), states, transitions, end
states, depth, time, and the share of each table's transition rules reached. Figures last.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "models"))

from slugsim.coherence.dcoh import BIAS_TABLE, DEVICE_SF_TABLE
from slugsim.coherence.devmem import DevMemConfig, menu_programs
from slugsim.coherence.devmem_host import HOST_MEM_TABLE
from slugsim.coherence.devmem_mutations import DEVMEM_MUTATIONS
from slugsim.coherence.explorer import ExploreResult, explore
from slugsim.coherence.table import RuleKind

DB, D = "hdm_db", "hdm_d"
# label, suite, config, host ops, device ops
EXPLORATIONS = [
    ("DB 1 host, 1 line: host x2, dev x2", "ci", DevMemConfig(DB, 1, 1, 1, 1), 2, 2),
    ("DB 1 host, 2 lines, SF 1x1: host x2, dev x1", "ci", DevMemConfig(DB, 1, 2, 1, 1), 2, 1),
    ("DB 2 hosts, 1 line: host x2", "ci", DevMemConfig(DB, 2, 1, 1, 1), 2, 0),
    ("DB 2 hosts, 2 lines, SF 1x1: host x1, dev x1", "full", DevMemConfig(DB, 2, 2, 1, 1), 1, 1),
    ("DB 2 hosts, 2 lines, SF 1x1: host x2", "ci", DevMemConfig(DB, 2, 2, 1, 1), 2, 0),
    (
        "DB 1 host, 1 line, device cache: host x2, dev x2",
        "ci",
        DevMemConfig(DB, 1, 1, 1, 1, device_cache=True),
        2,
        2,
    ),
    ("D 1 line: host x2, dev x2 (software flips)", "ci", DevMemConfig(D, lines=1), 2, 2),
    ("D 1 line, predictor 1: host x2, dev x2", "ci", DevMemConfig(D, lines=1, predictor=1), 2, 2),
    ("DB 1 host, 1 line: host x3, dev x3", "full", DevMemConfig(DB, 1, 1, 1, 1), 3, 3),
    ("DB 1 host, 1 line, I/A: host x3, dev x3", "full", DevMemConfig(DB, 1, 1, isa=False), 3, 3),
    ("DB 2 hosts, 1 line: host x2, dev x1", "full", DevMemConfig(DB, 2, 1, 1, 1), 2, 1),
    ("DB 1 host, 2 lines, SF 1x1: host x3, dev x2", "full", DevMemConfig(DB, 1, 2, 1, 1), 3, 2),
    ("DB 2 hosts, 2 lines, SF 1x1: host x2, dev x1", "full", DevMemConfig(DB, 2, 2, 1, 1), 2, 1),
    (
        "D 2 lines, 1 page: host x2, dev x2",
        "full",
        DevMemConfig(D, lines=2, page_lines=2),
        2,
        2,
    ),
    ("D 1 line: host x3, dev x3", "full", DevMemConfig(D, lines=1), 3, 3),
    ("DB 2 hosts, 1 line: host x2, dev x2", "full", DevMemConfig(DB, 2, 1, 1, 1), 2, 2),
    (
        "DB 2 hosts, 1 line, device cache: host x2, dev x2",
        "full",
        DevMemConfig(DB, 2, 1, 1, 1, device_cache=True),
        2,
        2,
    ),
    (
        "DB 1 host, 2 lines, SF 1x1, device cache: host x3, dev x2",
        "full",
        DevMemConfig(DB, 1, 2, 1, 1, device_cache=True),
        3,
        2,
    ),
    ("DB 3 hosts, 1 line: host x1, dev x2", "full", DevMemConfig(DB, 3, 1, 1, 1), 1, 2),
    (
        "DB 1 host, 2 lines, SF 1x1, 2 outstanding: host x3, dev x2",
        "full",
        DevMemConfig(DB, 1, 2, 1, 1, outstanding=2),
        3,
        2,
    ),
    (
        "D 2 lines, 1 page, 2 outstanding: host x2, dev x2",
        "full",
        DevMemConfig(D, lines=2, page_lines=2, outstanding=2),
        2,
        2,
    ),
]


# Host events that belong to one memory type only (not counted in the other's coverage).
ONLY = {
    DB: {"Evict", "BISnpInv", "BISnpData", "BISnpCur", "ConflictAck"},
    D: {"EvictSilent", "RdCurr", "WOWrInv", "RdOwnNoData"},
}


def coverage(result: ExploreResult, mode: str) -> str:
    tables = [("host", HOST_MEM_TABLE)]
    tables.append(("dcoh", DEVICE_SF_TABLE if mode == DB else BIAS_TABLE))
    other = ONLY[D if mode == DB else DB]
    parts = []
    for kind, table in tables:
        rules = {
            (s.name, e.name)
            for (s, e), rule in table.rules.items()
            if rule.kind is RuleKind.DO and not (kind == "host" and e.name in other)
        }
        reached = {(s, e) for k, s, e in result.coverage if k == kind} & rules
        parts.append(f"{kind} {len(reached)}/{len(rules)} rules")
    return ", ".join(parts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--suite", choices=("ci", "full"), default="full")
    parser.add_argument("--mutations", action="store_true", help="explore each planted bug")
    parser.add_argument("--max-states", type=int, default=None)
    args = parser.parse_args(argv)
    start = time.perf_counter()
    failed = 0
    lines = []
    chosen = [x for x in EXPLORATIONS if args.suite == "full" or x[1] == "ci"]
    if args.mutations:
        for name, mutation in sorted(DEVMEM_MUTATIONS.items()):
            for label, _, config, host_ops, device_ops in chosen:
                if config.mode != mutation.mode:
                    continue
                mutated = dataclasses.replace(config, mutation=name)
                result = explore(
                    mutated,
                    menu_programs(mutated, host_ops, device_ops),
                    max_states=args.max_states,
                )
                if result.failure is not None:
                    lines.append(
                        f"{name}: caught by '{label}' after {result.states} states, "
                        f"{result.seconds:.1f} s: {result.failure}"
                    )
                    break
            else:
                failed += 1
                lines.append(f"{name}: NOT caught by the explorations")
            print(lines[-1], flush=True)
    else:
        for label, _, config, host_ops, device_ops in chosen:
            result = explore(
                config, menu_programs(config, host_ops, device_ops), max_states=args.max_states
            )
            lines.append(f"{label}: {result.summary()}; {coverage(result, config.mode)}")
            print(lines[-1], flush=True)
            if result.failure is not None:
                failed += 1
                print("\n".join(result.trace))
    print()
    print("\n".join(lines))
    print(f"time: {time.perf_counter() - start:.1f} s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
