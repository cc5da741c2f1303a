"""Coherence invariants on values and states: the data-value invariant and SWMR.

Every store writes a value no other store writes, so the checker can tell writes apart:

- the **coherence order** of a line is the order in which new values are first written into a
  copy or into memory (``on_write``); writing a value that is already known (a writeback, a
  forwarded M line) must write the *latest* one, or a newer store was lost;
- a **load** must return a value that was the latest at some moment between its issue and its
  completion (the set of candidates grows while it is in flight);
- **SWMR** on stable states: per line, one E/M copy and nothing else, or any number of S/F
  copies and no E/M (device S/E/M, core S/F/E/M);
- every stable copy holds the latest value; once nothing is in flight, memory holds it too
  unless a copy is modified; every device copy is known to the snoop filter (inclusion);
- every completed store's value appears in the coherence order (no lost writes).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from slugsim.coherence.device import DeviceCache, DeviceState
from slugsim.coherence.home import CoreState, HomeAgent, HostState
from slugsim.coherence.monitor import Violation
from slugsim.coherence.ops import Op

# Device states that hold a granted copy the snoop filter must know about (stable copies,
# an upgrade in flight, and grants whose data or GO is still on its way).
_TRACKED = frozenset(
    {
        DeviceState.S,
        DeviceState.E,
        DeviceState.M,
        DeviceState.SMA,
        DeviceState.ISD,
        DeviceState.IED,
        DeviceState.IMD,
        DeviceState.ISA,
        DeviceState.IXA,
        DeviceState.IMA,
    }
)
_DEVICE_READERS = frozenset({DeviceState.S})
_DEVICE_WRITERS = frozenset({DeviceState.E, DeviceState.M})
_CORE_READERS = frozenset({CoreState.S, CoreState.F})
_CORE_WRITERS = frozenset({CoreState.E, CoreState.M})


@dataclass
class LineHistory:
    order: list[int] = field(default_factory=lambda: [0])  # coherence order; 0 = initial

    @property
    def latest(self) -> int:
        return self.order[-1]


class ValueChecker:
    """Tracks coherence order per line and checks loads against it."""

    def __init__(self) -> None:
        self.lines: dict[int, LineHistory] = {}
        self.known: set[int] = {0}
        self.pending_loads: dict[tuple[str, int], set[int]] = {}  # (agent, line) -> candidates
        self.completed_stores: set[tuple[int, int]] = set()
        self.writes = 0
        self.loads_checked = 0

    def clone(self) -> ValueChecker:
        twin = ValueChecker()
        twin.lines = {line: LineHistory(list(h.order)) for line, h in self.lines.items()}
        twin.known = set(self.known)
        twin.pending_loads = {k: set(v) for k, v in self.pending_loads.items()}
        twin.completed_stores = set(self.completed_stores)
        twin.writes, twin.loads_checked = self.writes, self.loads_checked
        return twin

    def history(self, line: int) -> LineHistory:
        found = self.lines.get(line)
        if found is None:
            found = self.lines[line] = LineHistory()
        return found

    def on_write(self, agent: str, line: int, value: int) -> None:
        history = self.history(line)
        self.writes += 1
        if value not in self.known:
            self.known.add(value)
            history.order.append(value)
            for (_, pending_line), candidates in self.pending_loads.items():
                if pending_line == line:
                    candidates.add(value)
            return
        if value != history.latest:
            raise Violation(
                "stale-write",
                f"{agent} wrote {value} to line {line} after newer value {history.latest}",
            )

    def on_issue(self, agent: str, op: Op, is_load: bool) -> None:
        if is_load:
            self.pending_loads[(agent, op.line)] = {self.history(op.line).latest}

    def on_load(self, agent: str, op: Op, value: int | None) -> None:
        candidates = self.pending_loads.pop((agent, op.line), None)
        assert candidates is not None, f"{agent} completed a load it did not issue: {op}"
        self.loads_checked += 1
        if value not in candidates:
            raise Violation(
                "data-value",
                f"{agent} {op} read {value}; the line held {sorted(candidates)} meanwhile "
                f"(coherence order {self.history(op.line).order[-6:]})",
            )

    def on_failed(self, agent: str, op: Op) -> None:
        """The host refused ``op`` (GO-Err): a load read nothing, a store wrote nothing."""
        self.pending_loads.pop((agent, op.line), None)

    def on_store(self, op: Op) -> None:
        self.completed_stores.add((op.line, op.value))

    def lost_writes(self) -> list[tuple[int, int]]:
        return sorted((line, v) for line, v in self.completed_stores if v not in self.known)

    def key(self) -> tuple[object, ...]:
        return (
            tuple(sorted((line, h.latest) for line, h in self.lines.items())),
            tuple(sorted((k, frozenset(v)) for k, v in self.pending_loads.items())),
        )


def check_line(
    line: int, home: HomeAgent, devices: list[DeviceCache], latest: int, quiescent: bool
) -> None:
    """SWMR, stable copies hold the latest value, snoop-filter inclusion; memory when quiet."""
    readers: list[str] = []
    writers: list[str] = []
    stale: list[str] = []
    sharers = home.sf.sharers(line)
    for dev in devices:
        state = dev.line_state(line)
        if state in _DEVICE_WRITERS:
            writers.append(f"{dev.name}:{state.name}")
        elif state in _DEVICE_READERS:
            readers.append(f"{dev.name}:{state.name}")
        else:
            if state in _TRACKED and not sharers >> dev.device_id & 1:
                raise Violation(
                    "sf-inclusion", f"{dev.name} holds line {line} in {state.name}, filter misses"
                )
            continue
        if dev.line_value(line) != latest:
            stale.append(f"{dev.name}:{state.name}={dev.line_value(line)}")
        if not sharers >> dev.device_id & 1:
            raise Violation(
                "sf-inclusion", f"{dev.name} holds line {line} in {state.name}, filter misses"
            )
    entry = home.lines.get(line)
    if entry is not None:
        for core, state in enumerate(entry.cores):
            if state in _CORE_WRITERS:
                writers.append(f"core{core}:{state.name}")
            elif state in _CORE_READERS:
                readers.append(f"core{core}:{state.name}")
            else:
                continue
            if entry.core_values[core] != latest:
                stale.append(f"core{core}:{state.name}={entry.core_values[core]}")
    if len(writers) > 1 or (writers and readers):
        raise Violation("swmr", f"line {line}: writers {writers}, readers {readers}")
    if stale:
        raise Violation("stale-copy", f"line {line}: {stale} but the latest value is {latest}")
    if quiescent and entry is not None:
        dirty = any("M" in w.split(":")[1] for w in writers)
        if not dirty and entry.memory != latest:
            raise Violation(
                "stale-memory", f"line {line}: memory {entry.memory}, latest {latest}, no M copy"
            )
        if entry.state is HostState.D and entry.owner is None:
            raise Violation("owner", f"line {line} in D without an owner")
