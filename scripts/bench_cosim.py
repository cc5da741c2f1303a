"""RTL co-simulation speed of the EMC monitor, in simulated clock cycles per wall-clock second.

    .venv/bin/python scripts/bench_cosim.py [--cycles N] [--gap G]

Four ways to run the same RTL with the same traffic (one M2S Req every G cycles, the EMC
enabled and recording each, outputs always ready):

1. cocotb, clock driven from Python (cocotb.clock.Clock): Python wakes twice per cycle;
2. cocotb, clock generated in the HDL wrapper, Python woken per transaction (the bus models);
3. as 2 with no traffic at all: Python asleep, the ceiling of mode 2;
4. Verilator alone: a small C++ harness clocks the model (scripts/bench_emc_harness.cpp), the
   limit without any VPI/Python in the loop.

Prints figures; asserts nothing (benchmarks are not tests). Builds are cached like the tests'.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "models"))

from slugsim.cosim import runner  # noqa: E402
from slugsim.cosim.blocks import EMC_MONITOR  # noqa: E402

TARGET = 1_000_000  # cycles/s with the HDL clock (issue 4)
HARNESS = ROOT / "scripts" / "bench_emc_harness.cpp"


def cocotb_rate(testcase: str, cycles: int, gap: int, python_clock: bool) -> dict[str, float]:
    params = EMC_MONITOR.params(next(iter(EMC_MONITOR.param_sets)))
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "bench.json"
        result = runner.run(
            EMC_MONITOR,
            "verilator",
            params,
            testcase=testcase,
            defines={"SLUGSIM_PY_CLOCK": 1} if python_clock else None,
            test_module="bench_emc_monitor",
            extra_env={"BENCH_CYCLES": str(cycles), "BENCH_GAP": str(gap), "BENCH_OUT": str(out)},
            run_name=f"{testcase}-{gap}",
        )
        runner.check(result)
        figures = json.loads(out.read_text())
    if gap:
        assert figures["records"] >= figures["messages"] - 2, figures  # the traffic really ran
    figures["rate"] = figures["cycles"] / figures["seconds"]
    return figures


def harness_rate(cycles: int, gap: int) -> dict[str, float]:
    params = EMC_MONITOR.params(next(iter(EMC_MONITOR.param_sets)))
    build = ROOT / "build" / "bench" / "harness"
    build.mkdir(parents=True, exist_ok=True)
    sources = [ROOT / s for s in EMC_MONITOR.sources]
    binary = build / "Vtb_emc_monitor"
    newest = max(p.stat().st_mtime for p in [*sources, HARNESS])
    if not binary.exists() or binary.stat().st_mtime < newest:
        cmd = [
            "verilator",
            "--cc",
            "--exe",
            "--build",
            "-j",
            "2",
            "-Wall",
            "-DSLUGSIM_PY_CLOCK",
            "--top-module",
            EMC_MONITOR.toplevel,
            "-Mdir",
            str(build),
            *(f"-I{d}" for d in runner.INCLUDE_DIRS),
            *(f"-G{k}={v}" for k, v in params.items()),
            *map(str, sources),
            str(HARNESS),
        ]
        subprocess.run(cmd, check=True, capture_output=True, text=True)
    out = subprocess.run(
        [str(binary), str(cycles), str(gap)], check=True, capture_output=True, text=True
    ).stdout
    figures = {k: float(v) for k, v in re.findall(r"(\w+)=([\d.]+)", out)}
    figures["rate"] = figures["cycles"] / figures["seconds"]
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=2_000_000, help="cycles per HDL-clock run")
    parser.add_argument("--gap", type=int, default=20, help="cycles between two messages")
    parser.add_argument(
        "--sweep", type=int, nargs="*", default=[200, 2000], help="more gaps (HDL clock)"
    )
    args = parser.parse_args(argv)
    os.environ.pop("SIM", None)
    py_cycles = max(args.cycles // 100, 1000)
    rows = [
        (
            "cocotb, Python-driven clock",
            cocotb_rate("bench_python_clock", py_cycles, args.gap, True),
        ),
        (
            "cocotb, HDL clock, per-transaction wake-ups",
            cocotb_rate("bench_hdl_clock", args.cycles, args.gap, False),
        ),
        ("Verilator alone (C++ harness)", harness_rate(args.cycles * 10, args.gap)),
    ]
    print(f"EMC monitor, one M2S Req every {args.gap} cycles, recorded; Verilator 5.006, 1 core")
    for name, figures in rows:
        print(
            f"  {name:<46} {figures['rate']:>14,.0f} cycles/s"
            f"  ({figures['cycles']:,.0f} cycles in {figures['seconds']:.2f} s)"
        )
    print("HDL clock, per-transaction wake-ups, by traffic density:")
    asleep = cocotb_rate("bench_hdl_clock", args.cycles, 0, False)["rate"]
    for gap in [0, *args.sweep]:
        figures = cocotb_rate("bench_hdl_clock", args.cycles, gap, False)
        what = f"one message every {gap} cycles" if gap else "no traffic (Python asleep)"
        per_msg = ""
        if gap:
            # Python's cost per message: the time beyond what the clock alone costs
            extra = figures["seconds"] - figures["cycles"] / asleep
            per_msg = f", ~{extra / figures['messages'] * 1e6:.0f} us of Python per message"
        print(f"  {what:<46} {figures['rate']:>14,.0f} cycles/s{per_msg}")
    hdl = rows[1][1]["rate"]
    verdict = "meets" if hdl >= TARGET else "misses"
    print(f"at one message every {args.gap} cycles the HDL clock {verdict} {TARGET:,} cycles/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
