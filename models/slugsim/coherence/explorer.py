"""Exhaustive explorer: breadth-first over every interleaving of a small system.

From the initial state every enabled step is tried — each agent's next operation (or each
alternative of a :class:`Choice`), each deliverable head message — from the **same tables** the
simulation runs. Every state reached is checked by the system (SWMR, data values, snoop-filter
inclusion, the spec monitor); a (state, event) with no rule raises there too. A state with no
step left must be the end (programs done, nothing in flight), or it is a deadlock. States are
deduplicated by the hash of their canonical key (Murphi-style hash compaction: 64-bit hashes,
so a collision could only hide a state, never invent a failure).

The failure report replays the shortest path (BFS) to the failing state with tracing on.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field

from slugsim.coherence.monitor import Violation
from slugsim.coherence.ops import CoreOp, Op
from slugsim.coherence.system import Choice, CoherentSystem, Step, SystemConfig
from slugsim.coherence.table import ProtocolError
from slugsim.coherence.tester import AnyConfig, build_system, coverage_kind


@dataclass
class ExploreResult:
    config: AnyConfig
    states: int = 0
    transitions: int = 0
    terminal: int = 0
    depth: int = 0
    seconds: float = 0.0
    complete: bool = True  # False if a state budget stopped the search
    failure: str | None = None
    trace: list[str] = field(default_factory=list)
    coverage: set[tuple[str, str, str]] = field(default_factory=set)  # (kind, state, event)

    def summary(self) -> str:
        status = "OK" if self.failure is None else f"FAIL {self.failure}"
        bound = "" if self.complete else " (stopped at the state budget)"
        return (
            f"{status}: {self.states} states, {self.transitions} transitions, "
            f"{self.terminal} end states, depth {self.depth}, "
            f"{self.seconds:.1f} s{bound} [{self.config}]"
        )


def explore(
    config: AnyConfig,
    programs: dict[str, list[Op | Choice]],
    *,
    max_states: int | None = None,
) -> ExploreResult:
    start = time.perf_counter()
    result = ExploreResult(config)
    root = build_system(config, programs, history=1)
    root_key = hash(root.key())
    parents: dict[int, tuple[int, Step] | None] = {root_key: None}
    frontier: deque[tuple[int, int, CoherentSystem]] = deque([(root_key, 0, root.clone())])
    while frontier:
        key, depth, system = frontier.popleft()
        result.depth = max(result.depth, depth)
        steps = system.enabled()
        if not steps:
            result.terminal += 1
            try:
                if not system.done():
                    raise Violation("deadlock", "no step possible but work is left")
                system.final_check()
            except (Violation, ProtocolError) as failure:
                return _fail(result, root, parents, key, None, failure, start)
            continue
        for step in steps:
            child = system.clone()
            child.fired = []
            try:
                child.apply(step)
            except (Violation, ProtocolError) as failure:
                return _fail(result, root, parents, key, step, failure, start)
            result.transitions += 1
            for t in child.fired:
                result.coverage.add((coverage_kind(t.agent), t.state.name, t.event.name))
            child.fired = None
            child_key = hash(child.key())
            if child_key in parents:
                continue
            parents[child_key] = (key, step)
            if max_states is not None and len(parents) > max_states:
                result.complete = False
                break
            frontier.append((child_key, depth + 1, child))
        if not result.complete:
            break
    result.states = len(parents)
    result.seconds = time.perf_counter() - start
    return result


def _fail(
    result: ExploreResult,
    root: CoherentSystem,
    parents: dict[int, tuple[int, Step] | None],
    key: int,
    step: Step | None,
    failure: Exception,
    start: float,
) -> ExploreResult:
    path: list[Step] = [] if step is None else [step]
    link = parents[key]
    while link is not None:
        key, previous = link
        path.append(previous)
        link = parents[key]
    path.reverse()
    replay = build_system(root.config, dict(root.programs))
    replay.log = []
    try:
        for s in path:
            replay.apply(s)
    except (Violation, ProtocolError) as again:
        replay.log.append(f"!! {type(again).__name__}: {again}")
    result.failure = f"{type(failure).__name__}: {failure}"
    result.trace = replay.log
    result.states = len(parents)
    result.seconds = time.perf_counter() - start
    return result


# --- the standard programs ------------------------------------------------------------------


def menu_programs(
    config: SystemConfig,
    device_ops: int = 2,
    core_ops: int = 1,
    device_menu: tuple[str, ...] | None = None,
    first_menu: tuple[str, ...] | None = None,
) -> dict[str, list[Op | Choice]]:
    """Each device makes ``device_ops`` choices from ``device_menu`` (every device operation
    by default; the first choice from ``first_menu`` if given) on any hot line; each core
    ``core_ops`` choices of load/store/evict. Store values are fixed per (agent, position,
    line) so the same choice reached in two orders is one state."""
    from slugsim.coherence.device import PROGRAM_EVENTS, DeviceEvent

    order = list(DeviceEvent)
    every = tuple(
        sorted((e.name for e in PROGRAM_EVENTS), key=lambda n: order.index(DeviceEvent[n]))
    )
    programs: dict[str, list[Op | Choice]] = {}
    for d in range(config.devices):
        positions = []
        for i in range(device_ops):
            names = (first_menu if i == 0 and first_menu else device_menu) or every
            kinds = [DeviceEvent[n] for n in names]
            positions.append(
                Choice(
                    tuple(
                        Op(kind, line, _value(d, i, line) if kind.name.startswith("Store") else 0)
                        for kind in kinds
                        for line in (
                            range(config.lines) if kind is not DeviceEvent.FlushAll else (0,)
                        )
                    )
                )
            )
        programs[f"dev{d}"] = positions
    for k in range(config.cores):
        programs[f"core{k}"] = [
            Choice(
                tuple(
                    Op(kind, line, _value(100 + k, i, line) if kind is CoreOp.Store else 0)
                    for kind in CoreOp
                    for line in range(config.lines)
                )
            )
            for i in range(core_ops)
        ]
    return programs


def _value(agent: int, position: int, line: int) -> int:
    return 1 + agent * 100 + position * 10 + line
