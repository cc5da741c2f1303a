"""Migration in the untimed system: a device's cache contents move to another device identity.

The timed migration (``slugsim.sim.migration``) empties the source through the protocol before
the target takes over, so coherence there rests on rules the explorer already checked. This
module checks the stronger move a real migration may make: the source's lines — S, E and M,
dirty data included — are handed to the target *as they are*, the host's snoop filter and
owner records are rewritten from the source's ID to the target's, and the target continues the
source's program. The hand-over is atomic, so it may only happen at a point where nothing
involving the source is in flight:

- the source has no operation outstanding and no transaction open (it has quiesced and drained);
- no message to or from the source is in the network;
- the home agent has no transaction waiting on the source, none for a request of the source,
  and no open transaction on any line the filter says the source may hold;
- the target holds nothing and has issued nothing yet (a spare).

``run_with_migration`` is the random tester's loop (``tester.run``) with a migration in it:
from step ``at_step`` on the source issues nothing more, the schedule goes on until the hand-over
is allowed, then the target takes the source's remaining operations. Every invariant of
``CoherentSystem.check`` (SWMR, data values, snoop-filter inclusion, message legality) holds
at every step, and at the end every operation completed exactly once and every store is
visible (``final_check``).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from slugsim.coherence.device import ALL_LINES, DeviceLine, DeviceState
from slugsim.coherence.monitor import Violation
from slugsim.coherence.system import CoherentSystem, SystemConfig
from slugsim.coherence.table import ProtocolError
from slugsim.coherence.tester import Programs

_HELD = (DeviceState.S, DeviceState.E, DeviceState.M)


@dataclass
class HandOver:
    """What a hand-over moved: lines by state, and the step it happened at."""

    step: int = -1
    lines: dict[str, int] = field(default_factory=dict)  # state name -> lines moved
    filter_entries: int = 0  # snoop-filter entries rewritten


def blockers(system: CoherentSystem, source: int, target: int) -> list[str]:
    """Why the source cannot be handed over now (empty: it can)."""
    src, dst = system.devices[source], system.devices[target]
    found = []
    if system.outstanding[src.name] or src.txns:
        found.append(f"{src.name} has operations outstanding")
    busy = [
        key
        for key, queue in system.network.queues.items()
        if queue and source in (key.src, key.dst)
    ]
    if busy:
        found.append(f"messages in flight: {', '.join(map(str, busy))}")
    home = system.home
    held = {line for line, sharers in home.sf.lines().items() if sharers >> source & 1}
    for line, entry in home.lines.items():
        txn = entry.txn
        if txn is None and not entry.deferred:
            continue
        request = txn.request if txn is not None else None
        if txn is not None and source in txn.pending:
            found.append(f"the home waits for {src.name} on line {line}")
        elif request is not None and not request.core and request.requester == source:
            found.append(f"the home serves a request of {src.name} on line {line}")
        elif line in held:
            found.append(f"line {line}, which {src.name} may hold, is busy at the home")
    if dst.txns or system.outstanding[dst.name] or system.pc[dst.name]:
        found.append(f"{dst.name} is not a fresh spare")
    if any(e.state is not DeviceState.I for e in dst.lines.values() if e.line != ALL_LINES):
        found.append(f"{dst.name} holds lines")
    return found


def hand_over(system: CoherentSystem, source: int, target: int) -> HandOver:
    """Move the source's lines, filter entries, ownership and remaining program to the target
    (raises ``ValueError`` when ``blockers`` says it may not happen now)."""
    reasons = blockers(system, source, target)
    if reasons:
        raise ValueError(f"cannot hand dev{source} over now: {'; '.join(reasons)}")
    src, dst = system.devices[source], system.devices[target]
    done = HandOver(step=system.stats.steps)
    for line, entry in sorted(src.lines.items()):
        if line == ALL_LINES or entry.state not in _HELD:
            continue
        moved = DeviceLine(line)
        moved.state, moved.value = entry.state, entry.value
        dst.lines[line] = moved
        entry.state = DeviceState.I
        done.lines[moved.state.name] = done.lines.get(moved.state.name, 0) + 1
    src.lines = {line: e for line, e in src.lines.items() if line == ALL_LINES}
    home = system.home
    for line, sharers in home.sf.lines().items():
        if sharers >> source & 1:
            home.sf.update(line, (sharers & ~(1 << source)) | (1 << target))
            done.filter_entries += 1
    for entry in home.lines.values():
        if entry.owner == source:
            entry.owner = target
    # The program: the target continues where the source stopped.
    remaining = system.remaining(src.name)
    system.programs[src.name] = system.programs[src.name][: system.pc[src.name]]
    system.add(dst.name, *remaining)
    system.check()  # every hot line, at once: the move must leave the invariants holding
    return done


@dataclass
class MigrationRun:
    seed: int
    at_step: int
    ops: int = 0  # operations completed or skipped, all agents
    expected: int = 0  # operations in the programs
    steps: int = 0
    hand_over: HandOver | None = None
    quiesce_steps: int = 0  # steps from the quiesce to the hand-over (the drain)
    failure: Exception | None = None


def run_with_migration(
    config: SystemConfig,
    programs: Programs,
    seed: int,
    *,
    source: int = 0,
    target: int | None = None,
    at_step: int = 100,
    bound: int = 20_000,
) -> MigrationRun:
    """``programs`` under the random schedule of ``seed``, with dev``source`` handed over to
    dev``target`` (default: the last device, which must have an empty program) after
    ``at_step`` steps."""
    target = config.devices - 1 if target is None else target
    if programs.get(f"dev{target}"):
        raise ValueError(f"dev{target} is the spare: give it no program")
    rng = random.Random(seed)
    system = CoherentSystem(config, programs)
    result = MigrationRun(seed, at_step, expected=sum(len(p) for p in programs.values()))
    quiescing = False
    step = 0
    try:
        while True:
            if step >= at_step and result.hand_over is None:
                quiescing = True
                if not blockers(system, source, target):
                    result.hand_over = hand_over(system, source, target)
                    result.quiesce_steps = step - at_step
                    quiescing = False
            steps = system.enabled()
            if quiescing:  # the source issues nothing more
                steps = [s for s in steps if s.agent != f"dev{source}"]
            if not steps:
                if system.done() and not quiescing:
                    break
                raise Violation("deadlock", "no step possible but work is left")
            system.apply(steps[rng.randrange(len(steps))])
            step += 1
            if step % 256 == 0 and (stuck := system.stuck(step, bound)) is not None:
                raise Violation("no-progress", f"{stuck[0]} {stuck[1]} stuck")
        system.final_check()
    except (Violation, ProtocolError) as failure:
        result.failure = failure
    result.steps = step
    result.ops = system.stats.completed + system.stats.skipped
    return result
