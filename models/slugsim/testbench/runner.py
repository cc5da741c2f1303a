"""Build and run RTL blocks' cocotb tests through cocotb's runner, with cached builds.

Each (block, simulator, parameter set, build options) has one build directory,
``build/cocotb/<block>/<sim>-<hash>/``; a stamp file there holds a digest of everything the build
depends on (source contents, parameters, arguments, simulator version), so a rerun with nothing
changed skips the build entirely. A file lock per build directory keeps pytest-xdist workers
from building the same directory at once. Each run gets its own test directory under the build
directory, so concurrent runs of one build do not collide.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import warnings
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[3]
BUILD_ROOT = ROOT / "build" / "cocotb"
INCLUDE_DIRS = (
    ROOT / "rtl" / "include",
    ROOT / "rtl" / "emc",
    ROOT / "rtl" / "coherence",
    ROOT / "rtl" / "ats",
)
SIMULATORS = ("verilator", "icarus")

# Verilator: lint every build at -Wall (so each parameter set is linted), clocks from HDL delays.
VERILATOR_ARGS = ("--timing", "-Wall", "--x-assign", "0", "--x-initial", "0")
ICARUS_ARGS = ("-g2005",)


@dataclass(frozen=True)
class Block:
    """An RTL block with its cocotb testbench."""

    name: str
    toplevel: str  # the thin test wrapper (rtl/tb/), which generates the clock
    sources: tuple[str, ...]  # relative to the repository root
    test_dir: str  # cocotb_tests/<block>
    dut: str  # the synthesizable module under test (its parameters = the wrapper's)
    param_sets: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    waves_test: str = ""  # the cocotb test `make waves` records ("" = all of them)
    wave_internals: tuple[str, ...] = ()  # internal signals for the waveform, relative to top
    synth: bool = True  # False: the DUT's parameter sets are linted/synthesized via another block
    verilator_args: tuple[str, ...] = ()  # extra Verilator build arguments
    # Verilator: cocotb's runner makes every signal VPI-visible (--public-flat-rw), which halves
    # the model's speed; False leaves that out, so Python sees only the signals the wrapper marks
    # with /* verilator public_flat_rw */ (ports included)
    public_flat_rw: bool = True
    # Verilator: extra arguments of the make that compiles the model (e.g. OPT_FAST=-O2)
    verilator_make_args: tuple[str, ...] = ()

    @property
    def test_module(self) -> str:
        return f"test_{self.name}"

    @property
    def test_path(self) -> Path:
        return ROOT / self.test_dir

    def params(self, param_set: str) -> dict[str, int]:
        if param_set not in self.param_sets:
            known = ", ".join(self.param_sets)
            raise ValueError(f"{self.name} has no parameter set {param_set!r} (known: {known})")
        return dict(self.param_sets[param_set])


@dataclass
class CaseResult:
    name: str
    passed: bool
    message: str = ""
    sim_time_ns: float = 0.0
    real_time_s: float = 0.0


@dataclass
class RunResult:
    cases: list[CaseResult]
    log: Path
    test_dir: Path

    @property
    def failures(self) -> list[CaseResult]:
        return [c for c in self.cases if not c.passed]


def _get_runner(sim: str, public_flat_rw: bool = True, make_args: Sequence[str] = ()) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "runners are experimental"
        from cocotb.runner import Verilator, get_runner

        if sim != "verilator" or (public_flat_rw and not make_args):
            return get_runner(sim)

        class TunedVerilator(Verilator):  # type: ignore[misc]
            """cocotb's Verilator runner, optionally without its global --public-flat-rw and
            with extra arguments to the make that compiles the model."""

            def _build_command(self) -> list[Any]:
                cmds = super()._build_command()
                if not public_flat_rw:
                    cmds[0] = [arg for arg in cmds[0] if arg != "--public-flat-rw"]
                cmds[1] = [*cmds[1], *make_args]
                return cmds

        return TunedVerilator()


def _digest(obj: object) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True).encode()).hexdigest()


def _tool_version(sim: str) -> str:
    tool = "verilator" if sim == "verilator" else "iverilog"
    flag = "--version" if sim == "verilator" else "-V"
    try:
        out = subprocess.run([tool, flag], capture_output=True, text=True, check=False).stdout
    except FileNotFoundError:
        raise RuntimeError(f"{tool} is not installed: run `make setup`") from None
    return out.splitlines()[0] if out else ""


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _sources(block: Block) -> list[Path]:
    return [ROOT / s for s in block.sources]


def _headers() -> list[Path]:
    return sorted(p for d in INCLUDE_DIRS for p in d.glob("*.vh"))


def build(
    block: Block,
    sim: str,
    params: Mapping[str, int],
    waves: bool = False,
    defines: Mapping[str, object] | None = None,
) -> Path:
    """Build (or reuse) the simulation of ``block`` with ``params``; returns the build dir."""
    if sim not in SIMULATORS:
        raise ValueError(f"unknown simulator {sim!r}: use one of {', '.join(SIMULATORS)}")
    defines = dict(defines or {})
    args = list(VERILATOR_ARGS if sim == "verilator" else ICARUS_ARGS)
    if sim == "verilator":
        args.extend(block.verilator_args)
    public_flat_rw = block.public_flat_rw or sim != "verilator"
    make_args = list(block.verilator_make_args) if sim == "verilator" else []
    if waves and sim == "verilator":
        args.append("--trace-fst")
    config = {
        "block": block.name,
        "sim": sim,
        "params": dict(params),
        "waves": waves,
        "defines": defines,
        "args": args,
    }
    # (absent when default: keeps the other builds' digests)
    if not public_flat_rw:
        config["public_flat_rw"] = False
    if make_args:
        config["make_args"] = make_args
    build_dir = BUILD_ROOT / block.name / f"{sim}-{_digest(config)[:12]}"
    files = _sources(block) + _headers()
    stamp_value = _digest(
        {
            **config,
            "tool": _tool_version(sim),
            "files": {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in files},
        }
    )
    stamp = build_dir / "slugsim-build.stamp"
    with _locked(build_dir.with_name(build_dir.name + ".lock")):
        if stamp.exists() and stamp.read_text() == stamp_value:
            return build_dir
        if stamp.exists():
            stamp.unlink()
        build_dir.mkdir(parents=True, exist_ok=True)
        (build_dir / "config.json").write_text(json.dumps(config, indent=2) + "\n")
        log = build_dir / "build.log"
        runner = _get_runner(sim, public_flat_rw, make_args)
        try:
            runner.build(
                verilog_sources=[str(p) for p in _sources(block)],
                includes=[str(d) for d in INCLUDE_DIRS],
                hdl_toplevel=block.toplevel,
                build_dir=str(build_dir),
                parameters=dict(params),
                defines=defines,
                build_args=args,
                waves=waves,
                always=True,
                log_file=str(log),
            )
        except SystemExit as exc:
            tail = "\n".join(log.read_text(errors="replace").splitlines()[-40:])
            raise RuntimeError(f"{sim} build of {block.name} failed ({exc}):\n{tail}") from None
        stamp.write_text(stamp_value)
    return build_dir


@contextlib.contextmanager
def _without_pytest_env() -> Iterator[None]:
    """cocotb's runner refuses an explicit results file inside pytest; we want one per run."""
    saved = os.environ.pop("PYTEST_CURRENT_TEST", None)
    try:
        yield
    finally:
        if saved is not None:
            os.environ["PYTEST_CURRENT_TEST"] = saved


def parse_results(path: Path) -> list[CaseResult]:
    if not path.is_file():
        return []
    cases = []
    for case in ET.parse(path).iter("testcase"):
        failure = case.find("failure")
        message = ""
        if failure is not None:
            message = failure.get("message", "") or (failure.text or "")
        cases.append(
            CaseResult(
                name=case.get("name", "?"),
                passed=failure is None,
                message=message,
                sim_time_ns=float(case.get("sim_time_ns", 0) or 0),
                real_time_s=float(case.get("time", 0) or 0),
            )
        )
    return cases


def run(
    block: Block,
    sim: str,
    params: Mapping[str, int],
    testcase: str | Sequence[str] | None = None,
    seed: int | None = None,
    waves: bool = False,
    defines: Mapping[str, object] | None = None,
    extra_env: Mapping[str, str] | None = None,
    run_name: str | None = None,
    test_module: str | None = None,
) -> RunResult:
    """Build if needed, run the block's cocotb tests and return the per-test results."""
    build_dir = build(block, sim, params, waves=waves, defines=defines)
    name = run_name or (testcase if isinstance(testcase, str) else "all") or "all"
    test_dir = build_dir / f"run-{name}"
    if test_dir.exists():
        shutil.rmtree(test_dir)
    test_dir.mkdir(parents=True)
    results = test_dir / "results.xml"
    log = test_dir / "sim.log"
    # the runner passes our sys.path to the simulator's Python: make the test module importable
    if str(block.test_path) not in sys.path:
        sys.path.insert(0, str(block.test_path))
    runner = _get_runner(sim)
    env = {"SLUGSIM_PARAMS": json.dumps(dict(params)), **(extra_env or {})}
    # a crashed simulator raises SystemExit and leaves no results file: reported below
    with _without_pytest_env(), contextlib.suppress(SystemExit):
        runner.test(
            test_module=test_module or block.test_module,
            hdl_toplevel=block.toplevel,
            hdl_toplevel_lang="verilog",
            build_dir=str(build_dir),
            test_dir=str(test_dir),
            testcase=testcase,
            seed=seed,
            waves=waves,
            results_xml=str(results),
            extra_env=env,
            log_file=str(log),
        )
    cases = parse_results(results)
    if not cases:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-40:])
        cases = [CaseResult(name=name, passed=False, message=f"no results; log tail:\n{tail}")]
    return RunResult(cases=cases, log=log, test_dir=test_dir)


def check(result: RunResult) -> None:
    """Raise AssertionError naming every failed cocotb test, with the log's tail."""
    failures = result.failures
    if not failures:
        return
    lines = [f"{c.name}: {c.message}" for c in failures]
    tail = "\n".join(result.log.read_text(errors="replace").splitlines()[-60:])
    raise AssertionError(
        f"{len(failures)} cocotb test(s) failed ({result.log}):\n" + "\n".join(lines) + "\n" + tail
    )


def selected_simulators() -> list[str]:
    """SIM=icarus (or verilator) restricts the regression to one simulator; default both."""
    sim = os.environ.get("SIM", "").strip().lower()
    if not sim:
        return list(SIMULATORS)
    if sim not in SIMULATORS:
        raise ValueError(f"SIM={sim!r}: use one of {', '.join(SIMULATORS)}")
    return [sim]
