"""Soak the coherence protocol: millions of random operations over several configurations.

    python scripts/coherence_soak.py                      # 10M operations, 5 configurations
    python scripts/coherence_soak.py --ops 200000 --workers 1

Each run draws programs and a schedule from its seed (``--seed`` + run number, printed with
any failure; rerun one with ``random_test(CONFIGS[i], seed)``). Runs go to a process pool.
Prints operations, steps and violations per configuration, the message kinds exercised, and
the wall time last.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "models"))

from slugsim.coherence.system import SystemConfig
from slugsim.coherence.tester import random_test, report, run

CONFIGS = [
    # the explorer's system, randomised
    SystemConfig(devices=2, cores=1, lines=1, sf_sets=1, sf_ways=4),
    # tiny snoop filter: every allocation beyond two lines takes a victim
    SystemConfig(
        devices=3, cores=2, lines=3, sf_sets=1, sf_ways=2, outstanding=2, clean_evict="drop"
    ),
    SystemConfig(devices=4, cores=2, lines=4, sf_sets=2, sf_ways=2, outstanding=3),
    # one way: each line a device reads evicts the other's entry
    SystemConfig(devices=2, cores=0, lines=2, sf_sets=1, sf_ways=1, outstanding=2),
    # wide sharing, no victims
    SystemConfig(
        devices=4, cores=4, lines=8, sf_sets=4, sf_ways=4, outstanding=2, clean_evict="drop"
    ),
]


def one(task: tuple[int, int, int]) -> tuple[int, int, int, int, str | None, set[str]]:
    index, seed, ops_per_agent = task
    import random

    from slugsim.coherence.tester import generate

    config = CONFIGS[index]
    result = run(config, generate(config, random.Random(seed), ops_per_agent), seed)
    failure = None if result.failure is None else f"{result.kind}: {result.failure}"
    return index, seed, result.ops, result.steps, failure, result.seen


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ops", type=int, default=10_000_000, help="total operations")
    parser.add_argument("--ops-per-agent", type=int, default=300, help="per agent per run")
    parser.add_argument("--seed", type=int, default=1, help="first seed")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args(argv)

    tasks = []
    share = args.ops // len(CONFIGS)
    for index, config in enumerate(CONFIGS):
        per_run = args.ops_per_agent * (config.devices + config.cores)
        for r in range(-(-share // per_run)):
            tasks.append((index, args.seed + r, args.ops_per_agent))
    tasks.sort(key=lambda t: (t[1], t[0]))  # interleave configurations for the progress line
    print(
        f"soak: {len(tasks)} runs over {len(CONFIGS)} configurations, seeds from "
        f"{args.seed}, {args.workers} workers",
        flush=True,
    )
    start = time.perf_counter()
    ops, steps, runs = Counter(), Counter(), Counter()
    failures: list[tuple[int, int, str]] = []
    seen: set[str] = set()
    done_ops, next_report = 0, args.ops // 20
    with multiprocessing.Pool(args.workers) as pool:
        for index, seed, n, s, failure, kinds in pool.imap_unordered(one, tasks, chunksize=4):
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
                print(
                    f"  {done_ops:,} ops, {len(failures)} violations, {rate:,.0f} ops/s", flush=True
                )
                next_report += args.ops // 20
    elapsed = time.perf_counter() - start

    print()
    print(f"{'config':<90} {'runs':>6} {'ops':>11} {'steps':>12} {'viol.':>6}")
    for index, config in enumerate(CONFIGS):
        bad = sum(1 for f in failures if f[0] == index)
        print(
            f"{index}: {config!s:<87} {runs[index]:>6} {ops[index]:>11,} {steps[index]:>12,} "
            f"{bad:>6}"
        )
    requests = sorted(k.split(".")[1] for k in seen if k.startswith("D2HReq."))
    print(f"D2H opcodes exercised ({len(requests)}): {' '.join(requests)}")
    print(f"other message kinds: {' '.join(sorted(k for k in seen if not k.startswith('D2HReq')))}")
    for index, seed, _ in failures[:3]:
        result, shrunk = random_test(CONFIGS[index], seed, args.ops_per_agent)
        print(report(result, shrunk))
    total = sum(ops.values())
    print(
        f"total: {total:,} operations, {sum(steps.values()):,} steps, {len(failures)} "
        f"violations, {len(CONFIGS)} configurations"
    )
    print(f"time: {elapsed:.1f} s ({total / elapsed:,.0f} ops/s on {args.workers} workers)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
