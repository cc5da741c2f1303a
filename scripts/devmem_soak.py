"""Soak the device-memory protocol (HDM-DB and HDM-D): many random operations, one process.

    python scripts/devmem_soak.py                        # 1M operations, 7 configurations
    python scripts/devmem_soak.py --ops 100000

Each run draws programs and a schedule from its seed (``--seed`` + run number, printed with
any failure; rerun one with ``random_test(CONFIGS[i], seed)``). Runs one process (the machine
is shared); ``--workers`` for more. Prints operations, steps and violations per configuration,
the DCOH counters (BISnp by cause, conflicts, flips), the transition rules never fired, the
message kinds exercised, and the totals and wall time last.
"""

from __future__ import annotations

import argparse
import multiprocessing
import random
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "models"))

from slugsim.coherence.dcoh import BIAS_TABLE, DEVICE_SF_TABLE
from slugsim.coherence.devmem import DevMemConfig
from slugsim.coherence.devmem_host import HOST_MEM_TABLE
from slugsim.coherence.table import RuleKind
from slugsim.coherence.tester import random_test, report

CONFIGS = [
    # one host, a one-way filter: every second line a victim; conflicts both ways
    DevMemConfig("hdm_db", hosts=1, lines=2, sf_sets=1, sf_ways=1),
    # pooled: three hosts, two outstanding each, a 2-way filter over 3 lines
    DevMemConfig("hdm_db", hosts=3, lines=3, sf_sets=1, sf_ways=2, outstanding=2),
    # pooled, I/A filter, 4 hosts, 2 sets
    DevMemConfig("hdm_db", hosts=4, lines=4, sf_sets=2, sf_ways=1, isa=False, outstanding=2),
    # Type-2 HDM-DB: the device caches its own memory; host requests snoop it by SnpType
    DevMemConfig("hdm_db", hosts=2, lines=3, sf_sets=1, sf_ways=2, device_cache=True),
    # HDM-D, software flips, 2-line pages, a 1-entry bias cache
    DevMemConfig("hdm_d", lines=4, page_lines=2, outstanding=2),
    # HDM-D, hardware predictor
    DevMemConfig("hdm_d", lines=2, page_lines=1, predictor=2, outstanding=2),
    # HDM-D, one page of 4 lines
    DevMemConfig("hdm_d", lines=4, page_lines=4, bias_sets=1, bias_ways=1, outstanding=3),
]


def one(task: tuple[int, int, int]) -> tuple[int, int, int, int, str | None, set[str], dict]:
    index, seed, ops_per_agent = task
    from slugsim.coherence.tester import run

    config = CONFIGS[index]
    programs = config.generate(random.Random(seed), ops_per_agent)
    result = run(config, programs, seed, coverage=True)
    failure = None if result.failure is None else f"{result.kind}: {result.failure}"
    fired = {f"{kind}:{state}:{event}" for kind, state, event in result.coverage}
    return index, seed, result.ops, result.steps, failure, result.seen | fired, result.counters


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ops", type=int, default=1_000_000, help="total operations")
    parser.add_argument("--ops-per-agent", type=int, default=300, help="per agent per run")
    parser.add_argument("--seed", type=int, default=1, help="first seed")
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args(argv)

    tasks = []
    share = args.ops // len(CONFIGS)
    for index, config in enumerate(CONFIGS):
        per_run = args.ops_per_agent * (config.hosts + 1)
        for r in range(-(-share // per_run)):
            tasks.append((index, args.seed + r, args.ops_per_agent))
    tasks.sort(key=lambda t: (t[1], t[0]))
    print(f"devmem soak: {len(tasks)} runs, seeds from {args.seed}, {args.workers} workers")
    start = time.perf_counter()
    ops, steps, runs = Counter(), Counter(), Counter()
    counters: dict[str, Counter[str]] = {"hdm_db": Counter(), "hdm_d": Counter()}
    failures: list[tuple[int, int, str]] = []
    seen: set[str] = set()
    done_ops, next_report = 0, args.ops // 10
    with multiprocessing.Pool(args.workers) as pool:
        for index, seed, n, s, failure, kinds, dcoh in pool.imap_unordered(one, tasks, chunksize=4):
            counters[CONFIGS[index].mode].update(dcoh)
            ops[index] += n
            steps[index] += s
            runs[index] += 1
            seen |= kinds
            done_ops += n
            if failure is not None:
                failures.append((index, seed, failure))
                print(f"  VIOLATION config {index} seed {seed}: {failure}", flush=True)
            if done_ops >= next_report:
                rate = done_ops / (time.perf_counter() - start)
                print(f"  {done_ops:,} ops, {len(failures)} violations, {rate:,.0f} ops/s")
                next_report += args.ops // 10
    elapsed = time.perf_counter() - start
    for index, seed, _ in failures[:3]:
        result, shrunk = random_test(CONFIGS[index], seed, args.ops_per_agent)
        print(report(result, shrunk))
    print()
    print(f"{'config':<92} {'runs':>5} {'ops':>10} {'steps':>11} {'viol.':>5}")
    for index, config in enumerate(CONFIGS):
        bad = sum(1 for f in failures if f[0] == index)
        print(
            f"{index}: {config!s:<89} {runs[index]:>5} {ops[index]:>10,} {steps[index]:>11,} "
            f"{bad:>5}"
        )
    for mode, counted in counters.items():
        print(
            f"{mode} DCOH counters: " + ", ".join(f"{k} {v:,}" for k, v in sorted(counted.items()))
        )
    fired_rules = {k for k in seen if k.count(":") == 2}
    seen -= fired_rules
    rules = {
        f"{kind}:{s.name}:{e.name}"
        for kind, table in (
            ("host", HOST_MEM_TABLE),
            ("dcoh", DEVICE_SF_TABLE),
            ("dcoh", BIAS_TABLE),
        )
        for (s, e), rule in table.rules.items()
        if rule.kind is RuleKind.DO
    }
    never = sorted(rules - fired_rules)
    print(f"transition rules fired: {len(rules & fired_rules)}/{len(rules)}; never: {never}")
    print(f"message kinds exercised ({len(seen)}): {' '.join(sorted(seen))}")
    total = sum(ops.values())
    print(
        f"total: {total:,} operations, {sum(steps.values()):,} steps, {len(failures)} "
        f"violations, {len(CONFIGS)} configurations"
    )
    print(f"time: {elapsed:.1f} s ({total / elapsed:,.0f} ops/s on {args.workers} workers)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
