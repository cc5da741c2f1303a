"""Exhaustive exploration of the coherence tables: 1 and 2 lines, then the planted bugs.

    python scripts/coherence_explore.py                 # every exploration (minutes)
    python scripts/coherence_explore.py --suite ci      # the ones the tests run (seconds each)
    python scripts/coherence_explore.py --mutations     # which planted bug each one catches

Each line: the system, the programs (each device picks its operations from a menu: the
explorer tries every choice), states explored, transitions, end states, depth, time, and the
share of each table's transition rules reached.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "models"))

from slugsim.coherence.device import DEVICE_TABLE
from slugsim.coherence.explorer import ExploreResult, explore, menu_programs
from slugsim.coherence.home import HOME_TABLE
from slugsim.coherence.mutations import MUTATIONS
from slugsim.coherence.system import SystemConfig
from slugsim.coherence.table import RuleKind

SETUP = ("LoadShared", "LoadAny", "StoreOwn")  # a first operation that leaves a copy

# name, suite, config, device_ops, core_ops, first_menu
EXPLORATIONS = [
    ("1 line: 2 dev x (setup op, any op)", "ci", SystemConfig(2, 0, 1, 1, 4), 2, 0, SETUP),
    ("1 line: 2 dev x any op, core x any op", "ci", SystemConfig(2, 1, 1, 1, 4), 1, 1, None),
    ("1 line: 2 dev x (setup, any), core x any", "full", SystemConfig(2, 1, 1, 1, 4), 2, 1, SETUP),
    ("2 lines, SF 1x1: 2 dev x any op", "ci", SystemConfig(2, 0, 2, 1, 1), 1, 0, None),
    ("2 lines, SF 1x1: 2 dev x any, core x any", "full", SystemConfig(2, 1, 2, 1, 1), 1, 1, None),
    ("2 lines, SF 1x1: 2 dev x (setup, any)", "full", SystemConfig(2, 0, 2, 1, 1), 2, 0, SETUP),
]


def coverage(result: ExploreResult) -> str:
    parts = []
    for kind, table in (("home", HOME_TABLE), ("device", DEVICE_TABLE)):
        rules = {
            (s.name, e.name) for (s, e), rule in table.rules.items() if rule.kind is RuleKind.DO
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
    if args.mutations:
        # the cheap explorations that reach evicts, stores and victims first
        order = sorted(EXPLORATIONS, key=lambda x: (x[4] > 0, x[3] < 2, x[1] != "ci"))
        for name in sorted(MUTATIONS):
            for label, suite, config, device_ops, core_ops, first in order:
                if suite != "ci" and args.suite == "ci":
                    continue
                mutated = SystemConfig(**{**vars(config), "mutation": name})
                programs = menu_programs(mutated, device_ops, core_ops, first_menu=first)
                result = explore(mutated, programs, max_states=args.max_states)
                if result.failure is not None:
                    print(
                        f"{name}: caught by '{label}' after {result.states} states, "
                        f"{result.seconds:.1f} s: {result.failure}",
                        flush=True,
                    )
                    break
            else:
                print(
                    f"{name}: not caught by the explorations (the random tester catches it)",
                    flush=True,
                )
    else:
        for label, suite, config, device_ops, core_ops, first in EXPLORATIONS:
            if args.suite == "ci" and suite != "ci":
                continue
            programs = menu_programs(config, device_ops, core_ops, first_menu=first)
            result = explore(config, programs, max_states=args.max_states)
            print(f"{label}: {result.summary()}; {coverage(result)}", flush=True)
            if result.failure is not None:
                failed += 1
                print("\n".join(result.trace))
    print(f"time: {time.perf_counter() - start:.1f} s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
