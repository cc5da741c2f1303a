"""Random tester, the gem5 Ruby tester's analogue, over the untimed system.

Devices and host cores run random programs (loads, stores, evicts, flushes — every device
operation, so every D2H opcode) on a few hot lines; at each step one enabled step is drawn at
random — an agent issuing its next operation or the head of any queue being delivered — so a
message may wait for any number of steps (the random delay). Everything ``CoherentSystem``
checks is checked at every step (SWMR, data values, snoop-filter inclusion, message legality,
a rule for every (state, event)), plus:

- forward progress: an operation outstanding for more than ``bound`` steps is reported with
  the history of its line; no enabled step before the end is a deadlock;
- at the end, every store visible and nothing in flight.

A run is reproducible from ``(config, seed)``: the programs and the schedule both come from
``random.Random(seed)``. A failing run is shrunk (delta debugging over its operations, the
schedule re-drawn from a few seeds) and reported with the minimal trace.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Union

from slugsim.coherence.device import PROGRAM_EVENTS, DeviceEvent
from slugsim.coherence.monitor import Violation
from slugsim.coherence.ops import CoreOp, Op
from slugsim.coherence.system import CoherentSystem, SystemConfig, describe
from slugsim.coherence.table import ProtocolError

if TYPE_CHECKING:
    from slugsim.coherence.devmem import DevMemConfig

# Either system: the CXL.cache one, or device-attached memory (``devmem.DevMemConfig``).
AnyConfig = Union[SystemConfig, "DevMemConfig"]

Programs = dict[str, tuple[Op, ...]]

# How often each device operation is drawn: loads and allocating stores dominate, as in the
# workloads the timed model will run; every operation keeps a share so every opcode is used.
DEVICE_WEIGHTS: dict[DeviceEvent, int] = {
    DeviceEvent.LoadShared: 8,
    DeviceEvent.LoadAny: 6,
    DeviceEvent.LoadCur: 3,
    DeviceEvent.StoreOwn: 8,
    DeviceEvent.StoreFull: 3,
    DeviceEvent.StoreItoMWr: 2,
    DeviceEvent.StoreWrCur: 2,
    DeviceEvent.StoreWrInv: 2,
    DeviceEvent.StoreWOWrInv: 2,
    DeviceEvent.StoreWOWrInvF: 2,
    DeviceEvent.Evict: 4,
    DeviceEvent.EvictNoData: 2,
    DeviceEvent.Drop: 2,
    DeviceEvent.Flush: 2,
    DeviceEvent.FlushAll: 1,
}
CORE_WEIGHTS: dict[CoreOp, int] = {CoreOp.Load: 5, CoreOp.Store: 4, CoreOp.Evict: 2}
assert set(DEVICE_WEIGHTS) == PROGRAM_EVENTS


@dataclass
class RunResult:
    config: AnyConfig
    seed: int
    ops: int = 0  # operations completed (a skipped FlushAll counts as done)
    steps: int = 0
    failure: Exception | None = None
    detail: list[str] = field(default_factory=list)  # history of a stuck line, etc.
    log: list[str] | None = None
    seen: set[str] = field(default_factory=set)  # message kinds sent
    coverage: set[tuple[str, str, str]] = field(default_factory=set)  # (kind, state, event)
    counters: dict[str, int] = field(default_factory=dict)  # the DCOH's, for device memory

    @property
    def kind(self) -> str | None:
        if self.failure is None:
            return None
        return self.failure.kind if isinstance(self.failure, Violation) else "no-rule"


def generate(config: SystemConfig, rng: random.Random, ops_per_agent: int) -> Programs:
    """Random programs; store values are unique (agent-major) so writes can be told apart."""
    programs: Programs = {}
    agents = [f"dev{d}" for d in range(config.devices)] + [f"core{k}" for k in range(config.cores)]
    for index, agent in enumerate(agents):
        weights = DEVICE_WEIGHTS if agent.startswith("dev") else CORE_WEIGHTS
        kinds = list(weights)
        drawn = rng.choices(kinds, weights=list(weights.values()), k=ops_per_agent)
        ops = []
        for i, kind in enumerate(drawn):
            is_store = kind is CoreOp.Store or kind.name.startswith("Store")
            value = (index + 1) * 10_000_000 + i + 1 if is_store else 0
            ops.append(Op(kind, rng.randrange(config.lines), value))
        programs[agent] = tuple(ops)
    return programs


def run(
    config: AnyConfig,
    programs: Programs,
    seed: int,
    *,
    bound: int = 20_000,
    trace: bool = False,
    coverage: bool = False,
) -> RunResult:
    """Run ``programs`` under the random schedule drawn from ``seed``."""
    rng = random.Random(seed)
    system = build_system(config, programs)
    if trace:
        system.log = []
    if coverage:
        system.fired = []
    result = RunResult(config, seed, log=system.log)
    step = 0
    try:
        while True:
            steps = system.enabled()
            if not steps:
                if system.done():
                    break
                raise Violation("deadlock", "no step possible but work is left")
            system.apply(steps[rng.randrange(len(steps))])
            step += 1
            if step % 256 == 0:
                stuck = system.stuck(step, bound)
                if stuck is not None:
                    agent, op = stuck
                    result.detail = system.line_history(op.line)
                    raise Violation(
                        "no-progress", f"{agent} {op} outstanding for more than {bound} steps"
                    )
        system.final_check()
    except (Violation, ProtocolError) as failure:
        result.failure = failure
        if not result.detail:
            result.detail = _state_dump(system)
    result.steps = step
    result.ops = system.stats.completed + system.stats.skipped
    result.seen = system.monitor.seen_kinds()
    result.counters = dict(getattr(getattr(system, "dcoh", None), "counters", {}))
    if system.fired is not None:
        result.coverage = {
            (coverage_kind(t.agent), t.state._name_, t.event._name_) for t in system.fired
        }
    return result


def build_system(config: AnyConfig, programs: Any, *, history: int = 40) -> Any:
    """The system a configuration describes: ``config.build`` (device memory) or the
    CXL.cache :class:`CoherentSystem`."""
    build = getattr(config, "build", None)
    if build is not None:
        return build(programs, history=history)
    return CoherentSystem(config, programs, history=history)


def coverage_kind(agent: str) -> str:
    """Which table an agent's rules come from: home, device (CXL.cache), host, dcoh."""
    if agent == "host":
        return "home"
    if agent.startswith("dev"):
        return "device"
    return agent.rstrip("0123456789")


def _state_dump(system: CoherentSystem) -> list[str]:
    waiting = {a: [str(o) for o in ops] for a, ops in system.outstanding.items() if ops}
    out = [f"outstanding: {waiting}"]
    fmt = getattr(system, "describe", describe)  # device memory names its own messages
    name = getattr(system, "queue_name", str)
    for key in sorted(system.network.queues):
        for _, msg in system.network.queues[key]:
            out.append(f"in flight {name(key)}: {fmt(msg)}")
    for line in range(system.config.lines):
        out.append(f"line {line} history:")
        out.extend("  " + h for h in system.line_history(line)[-12:])
    return out


def random_test(
    config: AnyConfig, seed: int, ops_per_agent: int = 200, *, shrink_runs: int = 400
) -> tuple[RunResult, RunResult | None]:
    """One seeded random run; on failure also the shrunk run (with its trace)."""
    maker = getattr(config, "generate", None)
    rng = random.Random(seed)
    programs = maker(rng, ops_per_agent) if maker else generate(config, rng, ops_per_agent)
    result = run(config, programs, seed)
    if result.failure is None:
        return result, None
    return result, shrink(config, programs, seed, result.kind, budget=shrink_runs)


def shrink(
    config: AnyConfig,
    programs: Programs,
    seed: int,
    kind: str | None,
    *,
    budget: int = 400,
    schedules: int = 8,
) -> RunResult:
    """Delta-debug the operations of a failing run down to a small set that still fails the
    same way under one of ``schedules`` seeds; the result carries the minimal trace."""
    ops = [(agent, i) for agent, prog in programs.items() for i in range(len(prog))]
    runs = 0

    def failing(subset: list[tuple[str, int]]) -> RunResult | None:
        nonlocal runs
        chosen = {a: tuple(programs[a][i] for (b, i) in subset if b == a) for a in programs}
        for s in range(schedules):
            runs += 1
            found = run(config, chosen, seed + s, bound=2_000)
            if found.kind == kind:
                return found
        return None

    best = failing(ops)
    if best is None:  # the failure needs the original schedule: report it unshrunk
        return run(config, programs, seed, trace=True)
    chunk = max(1, len(ops) // 2)
    while chunk >= 1 and runs < budget:
        i, shrunk = 0, False
        while i < len(ops) and runs < budget:
            candidate = ops[:i] + ops[i + chunk :]
            found = failing(candidate) if candidate else None
            if found is not None:
                ops, best, shrunk = candidate, found, True
            else:
                i += chunk
        if not shrunk:
            chunk //= 2
    chosen = {a: tuple(programs[a][i] for (b, i) in ops if b == a) for a in programs}
    return run(config, chosen, best.seed, bound=2_000, trace=True)


def report(result: RunResult, shrunk: RunResult | None) -> str:
    """A failure as the tester prints it: seed, rule, minimal programs and trace."""
    lines = [
        f"FAILED seed={result.seed} [{result.config}]: {result.failure}",
        f"rerun: random_test({type(result.config).__name__}(...), seed={result.seed})",
    ]
    lines += result.detail[-30:]
    if shrunk is not None:
        total = sum(1 for log in (shrunk.log or []) if " issues " in log or " skips " in log)
        lines.append(f"minimal failing run: {total} operations, schedule seed {shrunk.seed}:")
        lines.extend(shrunk.log or [])
        lines.append(f"-> {shrunk.failure}")
    return "\n".join(lines)
