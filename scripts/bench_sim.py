#!/usr/bin/env python3
"""Benchmark the whole-system models: simulated memory requests per wall-clock second.

Prints, in this order:

    requests_per_s=<on topologies/quickstart.yaml>
    requests_per_s_1024=<on a fabric of at least 1024 endpoints>
    cost_ratio_1024_vs_64=<per-request wall time, 1024-endpoint / 64-endpoint fabric>

Targets (issue 3): >= 100,000 requests/s on quickstart; cost ratio <= 1.5. Wall time covers
elaboration and simulation (not YAML parsing, statistics or output files); each figure is the
best of ``--repeats`` runs, since the machine is shared. The ratio compares two leaf-spine
fabrics built the same way (sim/graphs.py: every request crosses leaf -> spine -> leaf) with the
same total number of requests and requests in flight, so only the fabric's size differs; it
takes the simulation's CPU time alone (building a bigger fabric is rightly bigger), best of the
interleaved repeats, each in a fresh interpreter.

A fabric with 512 busy hosts pays for its larger working set in cache misses, and wall time on a
shared virtual machine wanders. ``--instructions`` adds figures that do not wander, for the same
two fabrics: instructions executed and data misses in a simulated 1 MiB L2 per request
(valgrind's cachegrind, taken as the difference between two run lengths so that elaboration
cancels out). It takes about five minutes and needs valgrind.

``--compare REV`` measures this tree against git revision REV (e.g. ``e99609c``, the reference
of the rule "at least 0.85x its requests/s"), side by side on this machine. REV is checked out
into a temporary ``git worktree`` (removed afterwards, also on error or Ctrl-C); then, pair by
pair, the two trees take turns (which one goes first alternates), each run in a fresh
interpreter with ``PYTHONPATH=<tree>/models``, on three figures: quickstart requests/s (each
tree's own ``topologies/quickstart.yaml``; elaboration and simulation wall time) and the CPU time
per request of the 64- and 1024-endpoint leaf-spine fabrics. The runs are a small program kept in
this script that uses only API both trees have (``load_topology``, ``elaborate``, ``simulate``,
``leaf_spine_system``), not REV's copy of this script. It prints, per figure, REV's median, this
tree's median and their ratio (this tree / REV) with the least and greatest ratio of a pair, then
last::

    requests_per_s_ratio_vs_REV=<this tree's quickstart requests/s / REV's, medians>
    cost_ratio_1024_vs_64=<this tree's, median 1024-endpoint / median 64-endpoint CPU per request>

``--repeats`` sets the number of pairs, ``--requests`` the leaf-spine run length.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "models"))
sys.path.insert(0, str(ROOT / "scripts"))  # bench_child

from bench_child import timed_run  # noqa: E402
from slugsim.config import load_topology  # noqa: E402
from slugsim.sim.graphs import leaf_spine_system  # noqa: E402


def best(graph_factory, repeats: int) -> tuple[int, float, float, float]:  # type: ignore[no-untyped-def]
    runs = [timed_run(graph_factory()) for _ in range(repeats)]
    return min(runs, key=lambda r: r[1] + r[2])


def cost_ratio(
    requests: int, repeats: int, active: int | None = None
) -> tuple[float, float, float, list[float]]:
    """Best per-request CPU time (us) on 64 and 1024 endpoints, runs interleaved so that both
    sizes see the same machine load; returns (us_64, us_1024, ratio, the sorted ratios of each
    pair of neighbouring runs, which show how much the machine wandered). ``active``: requesting
    hosts per fabric (default: every host). Each run gets a fresh interpreter, as a user's run
    does: in one long-lived process, the heap left by earlier runs makes later ones slower by
    an amount that depends on the order of the runs."""
    per_request: dict[int, list[float]] = {64: [], 1024: []}
    for _ in range(repeats):
        for endpoints in per_request:
            command = [sys.executable, __file__, "--one-run", str(endpoints), str(requests)]
            if active is not None:
                command.append(str(active))
            done = subprocess.run(command, check=True, capture_output=True, text=True)
            per_request[endpoints].append(float(done.stdout.split()[-1]))
    small, large = min(per_request[64]), min(per_request[1024])
    paired = sorted(b / a for a, b in zip(per_request[64], per_request[1024], strict=True))
    return small, large, large / small, paired


# A 1 MiB, 16-way second-level cache, as on the 2-core CI machine (AMD EPYC, 1 MiB L2 per core);
# cachegrind simulates the first and last level only, so the last level is set to the L2.
_CACHE_SIM = ["--cache-sim=yes", "--D1=32768,8,64", "--LL=1048576,16,64"]


def _cachegrind(endpoints: int, requests: int) -> tuple[int, int]:
    """(instructions, simulated L2 data misses) of one elaborate-and-simulate run in a fresh
    process, counted by valgrind's cachegrind."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "cachegrind.out"
        subprocess.run(
            [
                "valgrind",
                "--tool=cachegrind",
                *_CACHE_SIM,
                f"--cachegrind-out-file={out}",
                sys.executable,
                __file__,
                "--one-run",
                str(endpoints),
                str(requests),
            ],
            check=True,
            capture_output=True,
        )
        lines = out.read_text().splitlines()
    events = next(line for line in lines if line.startswith("events:")).split()[1:]
    totals = next(line for line in lines if line.startswith("summary:")).split()[1:]
    count = dict(zip(events, map(int, totals), strict=True))
    return count["Ir"], count["DLmr"] + count["DLmw"]


def instruction_ratio(requests: int) -> dict[int, tuple[float, float]]:
    """{endpoints: (instructions per request, simulated L2 misses per request)} for 64 and
    1024 endpoints: the difference between runs of ``requests`` and ``2 * requests`` requests,
    so that start-up and elaboration cancel. The runs go two at a time."""
    sizes = (64, 1024)
    jobs = [(e, n) for e in sizes for n in (requests, 2 * requests)]
    with ThreadPoolExecutor(max_workers=2) as pool:
        counts = dict(zip(jobs, pool.map(lambda job: _cachegrind(*job), jobs), strict=True))
    result = {}
    for e in sizes:
        short, long = counts[e, requests], counts[e, 2 * requests]
        result[e] = ((long[0] - short[0]) / requests, (long[1] - short[1]) / requests)
    return result


# -- --compare REV ---------------------------------------------------------------------------

CHILD = Path(__file__).resolve().with_name("bench_child.py")


def child_run(tree: Path, *args: str) -> float:
    """Run ``bench_child.py`` (this tree's copy) with ``args`` in a fresh interpreter on
    ``tree``'s models; its figure. The child prints where slugsim came from, checked here: an
    installed slugsim must not stand in for the tree's."""
    env = dict(os.environ, PYTHONPATH=str(tree / "models"))
    done = subprocess.run(
        [sys.executable, str(CHILD), *args],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(
            f"run {' '.join(args)} on {tree} failed (exit {done.returncode}):\n{done.stderr}"
        )
    origin, figure = done.stdout.split()[-2:]
    if not Path(origin).resolve().is_relative_to((tree / "models").resolve()):
        raise RuntimeError(f"run on {tree} imported slugsim from {origin}, not from that tree")
    return float(figure)


def _git(*args: str) -> str:
    done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)}: {done.stderr.strip()}")
    return done.stdout.strip()


@contextlib.contextmanager
def temporary_worktree(rev: str) -> Iterator[Path]:
    """Check ``rev`` out into a temporary, detached git worktree; removed when the block ends,
    however it ends (SIGTERM is turned into an exception so that it ends this way too)."""
    commit = _git("rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}")
    tmp = Path(tempfile.mkdtemp(prefix="bench_sim-compare-"))
    tree = tmp / "tree"
    previous = signal.getsignal(signal.SIGTERM)
    signal.signal(signal.SIGTERM, _terminate)
    try:
        _git("worktree", "add", "--detach", "--quiet", str(tree), commit)
        yield tree
    finally:
        try:
            # --force: the runs leave __pycache__ directories behind.
            if tree.exists():
                _git("worktree", "remove", "--force", str(tree))
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
            _git("worktree", "prune")
            signal.signal(signal.SIGTERM, previous)


def _terminate(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def _summary(label: str, rev: str, old: list[float], new: list[float], fmt: str) -> str:
    pairs = [b / a for a, b in zip(old, new, strict=True)]
    old_m, new_m = statistics.median(old), statistics.median(new)
    return (
        f"# {label}: {rev} median {old_m:{fmt}}, current median {new_m:{fmt}}, "
        f"ratio {new_m / old_m:.3f} (per pair min {min(pairs):.3f}, max {max(pairs):.3f})"
    )


def compare(rev: str, requests: int, repeats: int) -> int:
    """Measure this tree against ``rev``, pair by pair; prints the report (see the docstring)."""
    try:
        commit = _git("rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}")
    except RuntimeError:
        print(f"bench_sim: --compare {rev}: not a commit of this repository", file=sys.stderr)
        return 2
    figures = {
        "quickstart": ("quickstart requests/s", ",.0f"),
        "64": ("leaf-spine 64 endpoints, CPU us per request", ".3f"),
        "1024": ("leaf-spine 1024 endpoints, CPU us per request", ".3f"),
    }
    measured: dict[str, dict[str, list[float]]] = {f: {"rev": [], "cur": []} for f in figures}
    with temporary_worktree(commit) as other:
        trees = {"rev": other, "cur": ROOT}
        quickstart = {k: t / "topologies" / "quickstart.yaml" for k, t in trees.items()}
        same_quickstart = quickstart["rev"].read_bytes() == quickstart["cur"].read_bytes()
        for i in range(repeats):
            order = ("rev", "cur") if i % 2 == 0 else ("cur", "rev")
            print(f"# pair {i + 1}/{repeats}", file=sys.stderr, flush=True)
            for figure in figures:
                for key in order:
                    if figure == "quickstart":
                        args = ("quickstart", str(quickstart[key]))
                    else:
                        args = ("leaf-spine", figure, str(requests))
                    measured[figure][key].append(child_run(trees[key], *args))

    print(
        f"# --compare {rev} ({commit[:12]}) with the current tree ({ROOT}): {repeats} pairs, "
        "each run in a fresh interpreter, which tree runs first alternating; "
        f"leaf-spine runs of {requests} requests"
    )
    if not same_quickstart:
        print(f"# note: topologies/quickstart.yaml differs between {rev} and the current tree")
    for figure, (label, fmt) in figures.items():
        m = measured[figure]
        print(_summary(label, rev, m["rev"], m["cur"], fmt))
    med = {f: {k: statistics.median(v) for k, v in m.items()} for f, m in measured.items()}
    rps_ratio = med["quickstart"]["cur"] / med["quickstart"]["rev"]
    cost = {k: med["1024"][k] / med["64"][k] for k in ("rev", "cur")}
    print(f"# cost_ratio_1024_vs_64: {rev} {cost['rev']:.2f}, current {cost['cur']:.2f}")
    print("# ratios are current / REV: above 1 is faster for requests/s, slower for us/request")
    print(f"requests_per_s_ratio_vs_{rev}={rps_ratio:.3f}")
    print(f"cost_ratio_1024_vs_64={cost['cur']:.2f}")
    return 0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--repeats", type=int, default=5, help="runs per figure (pairs with --compare)"
    )
    parser.add_argument("--requests", type=int, default=100_000, help="for the 64/1024 fabrics")
    parser.add_argument(
        "--instructions",
        action="store_true",
        help="also count instructions per request with callgrind (minutes; needs valgrind)",
    )
    parser.add_argument(
        "--compare",
        metavar="REV",
        help="measure the current tree against git revision REV, side by side (see the docstring)",
    )
    args = parser.parse_args(argv)
    if args.repeats < 1 or args.requests < 1024:
        parser.error("--repeats must be >= 1 and --requests >= 1024")
    if args.compare is not None and args.instructions:
        parser.error("--compare and --instructions do not go together")
    return args


def main() -> int:
    if sys.argv[1:2] == ["--one-run"]:  # child process: prints CPU us per request
        endpoints, requests = int(sys.argv[2]), int(sys.argv[3])
        active = int(sys.argv[4]) if len(sys.argv) > 4 else None
        n, _, _, cpu = timed_run(leaf_spine_system(endpoints, requests, active=active))
        print(f"{cpu / n * 1e6:.3f}")
        return 0
    args = parse_args()
    if args.compare is not None:
        try:
            return compare(args.compare, args.requests, args.repeats)
        except RuntimeError as error:  # a run or git failed; the worktree is gone already
            print(f"bench_sim: --compare {args.compare}: {error}", file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            print("bench_sim: interrupted; the temporary worktree is removed", file=sys.stderr)
            return 130

    quick_path = ROOT / "topologies" / "quickstart.yaml"
    n, elab, sim, _ = best(lambda: load_topology(quick_path), args.repeats)
    print(f"requests_per_s={n / (elab + sim):.0f}")

    big_path = ROOT / "topologies" / "spine_leaf_1024.yaml"
    big = load_topology(big_path)
    n_big, elab_big, sim_big, _ = best(lambda: big, 1)
    endpoints = sum(1 for _, d in big.nodes(data=True) if d["kind"] != "switch")
    print(f"requests_per_s_1024={n_big / (elab_big + sim_big):.0f}")

    us64, us1k, ratio, paired = cost_ratio(args.requests, args.repeats)
    print(f"cost_ratio_1024_vs_64={ratio:.2f}")

    print(
        f"# quickstart: {n} requests, elaboration {elab * 1e3:.1f} ms, simulation "
        f"{sim * 1e3:.1f} ms ({n / sim:.0f} requests/s simulating)"
    )
    print(
        f"# {big_path.name}: {endpoints} endpoints, {n_big} requests, "
        f"elaboration {elab_big:.2f} s, "
        f"simulation {sim_big:.2f} s ({n_big / sim_big:.0f} requests/s simulating)"
    )
    print(
        f"# leaf-spine, CPU per request: 64 endpoints {us64:.2f} us, 1024 endpoints {us1k:.2f} us"
        " (every host requesting: 32 vs 512 busy hosts)"
    )
    print(
        f"# cost ratio of each pair of neighbouring runs: min {paired[0]:.2f}, median "
        f"{paired[len(paired) // 2]:.2f}, max {paired[-1]:.2f} (the spread is the machine's)"
    )
    same = cost_ratio(args.requests, args.repeats, active=32)
    print(
        f"# same 32 requesting hosts in both fabrics: {same[0]:.2f} us vs {same[1]:.2f} us, "
        f"ratio {same[2]:.2f} (fabric size alone)"
    )
    if args.instructions:
        counts = instruction_ratio(32_768)
        (i64, m64), (i1k, m1k) = counts[64], counts[1024]
        print(
            f"# per request (cachegrind): instructions 64 endpoints {i64:,.0f}, "
            f"1024 endpoints {i1k:,.0f}, ratio {i1k / i64:.2f}; simulated 1 MiB L2 misses "
            f"{m64:.1f} vs {m1k:.1f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
