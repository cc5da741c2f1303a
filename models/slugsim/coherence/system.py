"""The untimed coherent system: one host (home agent + K cores), N devices, the network.

A state advances by one :class:`Step` at a time — an agent issues its next program operation,
or the head message of one queue is delivered — so the random tester, the exhaustive explorer
and the scenarios all drive the same object and differ only in who picks the step. After every
step the invariants of ``checker.py`` are checked on the lines it touched, and the spec monitor
has seen every message sent. ``key()`` is the canonical, hashable state for the explorer.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import partial
from typing import NamedTuple

from slugsim.coherence.checker import ValueChecker, check_line
from slugsim.coherence.controller import Transition
from slugsim.coherence.device import ALL_LINES, LOADS, STORES, DeviceCache, DeviceEvent
from slugsim.coherence.home import HomeAgent
from slugsim.coherence.monitor import SpecMonitor, Violation
from slugsim.coherence.network import HOST, Network, QueueKey
from slugsim.coherence.ops import Completion, CoreOp, Op
from slugsim.coherence.snoop_filter import SnoopFilter
from slugsim.coherence.spec import LINE_BYTES
from slugsim.cxl import D2HData, D2HReq, D2HRsp, H2DData, H2DReq, H2DRsp, Message


@dataclass(frozen=True)
class SystemConfig:
    devices: int = 2
    cores: int = 1
    lines: int = 1  # hot lines 0..lines-1
    sf_sets: int = 1
    sf_ways: int = 4
    clean_evict: str = "pull"
    outstanding: int = 1  # program operations in flight per agent (on distinct lines)
    mutation: str | None = None
    # (device, line) pairs the host's translation check refuses (answered with GO-Err)
    refused: tuple[tuple[int, int], ...] = ()

    def __str__(self) -> str:
        mutation = f" mutation={self.mutation}" if self.mutation else ""
        if self.refused:
            pairs = ", ".join(f"dev{d}:line {n}" for d, n in self.refused)
            mutation += f" refused=({pairs})"
        return (
            f"{self.devices} dev, {self.cores} core, {self.lines} line, "
            f"SF {self.sf_sets}x{self.sf_ways}, clean_evict={self.clean_evict}, "
            f"outstanding={self.outstanding}{mutation}"
        )


class Choice(NamedTuple):
    """A program position where the agent may issue any one of ``ops`` (the explorer tries
    each: a program of choices stands for every program it spells)."""

    ops: tuple[Op, ...]


class Step(NamedTuple):
    kind: str  # "issue", "skip" (a FlushAll the cache cannot take now) or "deliver"
    agent: str = ""
    queue: QueueKey | None = None
    op: Op | None = None  # the operation issued (or skipped)


@dataclass
class Stats:
    steps: int = 0
    issued: int = 0
    completed: int = 0
    skipped: int = 0
    delivered: int = 0
    max_in_flight: int = 0
    failed: int = 0  # operations answered GO-Err
    by_kind: dict[object, int] = field(default_factory=dict)  # operation kind -> issued


class ProgramDriver:
    """What every untimed system does with its agents' programs, whatever the protocol: append
    operations, track what each agent has outstanding, record the rules fired per line, find a
    stuck operation, and the end-of-run check. A system sets these attributes in ``__init__``
    and provides ``quiescent()`` and ``check()``."""

    agents: list[str]
    programs: dict[str, tuple[Op | Choice, ...]]  # immutable; each agent's position is ``pc``
    pc: dict[str, int]
    outstanding: dict[str, dict[Op, int]]  # op -> the step it was issued at
    checker: ValueChecker
    history: dict[int, deque[Transition]]
    history_len: int
    fired: list[Transition] | None  # a list collects every rule fired
    stats: Stats
    log: list[str] | None  # a list records a readable trace

    def _start_programs(
        self, programs: dict[str, Iterable[Op | Choice]] | None, history: int
    ) -> None:
        """The driver's state for ``self.agents`` (set first): ``programs``, nothing issued."""
        self.programs = {a: () for a in self.agents}
        self.pc = {a: 0 for a in self.agents}
        for agent, ops in (programs or {}).items():
            self.add(agent, *ops)
        self.outstanding = {a: {} for a in self.agents}
        self.history = {}
        self.history_len = history
        self.fired = None
        self.stats = Stats()
        self.log = None

    def _copy_programs_to(self, twin: ProgramDriver) -> None:
        """Give ``twin``, a clone being built, its own copy of the driver's state (programs
        themselves are immutable and shared; ``fired`` and ``log`` start off)."""
        twin.agents, twin.programs = self.agents, self.programs
        twin.pc = dict(self.pc)
        twin.outstanding = {a: dict(o) for a, o in self.outstanding.items()}
        twin.history = {line: deque(h, h.maxlen) for line, h in self.history.items()}
        twin.history_len = self.history_len
        twin.fired = None
        twin.stats = Stats(**{**vars(self.stats), "by_kind": dict(self.stats.by_kind)})
        twin.log = None

    def quiescent(self) -> bool:
        raise NotImplementedError

    def check(self, line: int | None = None) -> None:
        raise NotImplementedError

    def add(self, agent: str, *ops: Op | Choice) -> None:
        """Append operations to ``agent``'s program."""
        if agent not in self.programs:
            raise ValueError(f"no agent {agent!r}; agents are {self.agents}")
        self.programs[agent] = self.programs[agent] + ops

    def remaining(self, agent: str) -> tuple[Op | Choice, ...]:
        return self.programs[agent][self.pc[agent] :]

    def _record(self, t: Transition) -> None:
        found = self.history.get(t.line)
        if found is None:
            found = self.history[t.line] = deque(maxlen=self.history_len)
        found.append(t)
        if self.fired is not None:
            self.fired.append(t)

    def done(self) -> bool:
        return all(self.pc[a] == len(self.programs[a]) for a in self.agents) and not any(
            self.outstanding.values()
        )

    def final_check(self) -> None:
        """At the end of a run: nothing left in flight, every store visible."""
        if not self.quiescent():
            raise Violation("not-quiescent", "programs finished with messages or work in flight")
        lost = self.checker.lost_writes()
        if lost:
            raise Violation("lost-write", f"stores never became visible: {lost[:5]}")
        self.check()

    def stuck(self, now: int, bound: int) -> tuple[str, Op] | None:
        """The oldest operation outstanding for more than ``bound`` steps, if any."""
        for agent, ops in self.outstanding.items():
            for op, since in ops.items():
                if now - since > bound:
                    return agent, op
        return None

    def line_history(self, line: int) -> list[str]:
        return [
            f"{t.agent}: {t.state.name} --{t.event.name}--> {'/'.join(t.rule.actions) or '-'}"
            for t in self.history.get(line, ())
        ]


class CoherentSystem(ProgramDriver):
    """``programs`` maps agent names (``dev0``, ``core0`` ...) to their operations, in order."""

    def __init__(
        self,
        config: SystemConfig,
        programs: dict[str, Iterable[Op | Choice]] | None = None,
        *,
        history: int = 40,
    ) -> None:
        from slugsim.coherence.mutations import classes_for  # the registry imports us

        home_cls, device_cls, network_cls = classes_for(config.mutation)
        self.config = config
        self.checker = ValueChecker()
        self.monitor = SpecMonitor(self._state_of)
        self.network: Network = network_cls(observe=self.monitor.on_send)
        sf = SnoopFilter(config.sf_sets, config.sf_ways, sharer_bits=max(1, config.devices))
        self.home: HomeAgent = home_cls(
            config.devices,
            config.cores,
            self._host_send,
            self._complete,
            snoop_filter=sf,
            clean_evict=config.clean_evict,
            on_transition=self._record,
            check=self._check if config.refused else None,
            on_write=self.checker.on_write,
        )
        self.devices: list[DeviceCache] = [
            device_cls(
                d,
                partial(self.network.send, d, HOST),
                self._complete,
                on_transition=self._record,
                on_write=self.checker.on_write,
            )
            for d in range(config.devices)
        ]
        self.agents = [d.name for d in self.devices] + [f"core{k}" for k in range(config.cores)]
        self._start_programs(programs, history)

    def clone(self) -> CoherentSystem:
        """An independent copy of the whole state (the explorer forks each state this way)."""
        twin = object.__new__(CoherentSystem)
        twin.config = self.config
        twin.checker = self.checker.clone()
        twin.monitor = self.monitor.clone(twin._state_of)
        twin.network = self.network.clone(twin.monitor.on_send)
        twin.home = self.home.clone(
            twin._host_send, twin._complete, twin._record, twin.checker.on_write
        )
        twin.devices = [
            d.clone(
                partial(twin.network.send, d.device_id, HOST),
                twin._complete,
                twin._record,
                twin.checker.on_write,
            )
            for d in self.devices
        ]
        self._copy_programs_to(twin)
        return twin

    # --- wiring ------------------------------------------------------------------------------

    def _host_send(self, device: int, msg: Message) -> None:
        self.network.send(HOST, device, msg)

    def _state_of(self, device: int, line: int | None) -> str:
        dev = self.devices[device]
        if line is None:
            real = [e.state._name_ for e in dev.lines.values() if e.line != ALL_LINES]
            return "I" if all(s == "I" for s in real) else "X"
        return dev.line_state(line)._name_

    def _check(self, device: int, line: int, opcode: object) -> str | None:
        """The host's translation check: the configured pairs are never granted."""
        return "not_granted" if (device, line) in self.config.refused else None

    def _complete(self, c: Completion) -> None:
        op = c.op
        if c.failed:
            self.checker.on_failed(c.agent, op)
            self.stats.failed += 1
        elif op.kind in LOADS or op.kind is CoreOp.Load:
            self.checker.on_load(c.agent, op, c.value)
        elif op.kind in STORES or op.kind is CoreOp.Store:
            self.checker.on_store(op)
        if self.outstanding[c.agent].pop(op, None) is None:
            raise Violation("completion", f"{c.agent} completed {op}, which it did not issue")
        self.stats.completed += 1
        if self.log is not None:
            value = "" if c.value is None else f" -> {c.value}"
            self.log.append(f"    {c.agent} completes {op}{value}")

    # --- steps -------------------------------------------------------------------------------

    def enabled(self) -> list[Step]:
        """Every step that can be taken now, in a stable order."""
        steps = []
        for agent in self.agents:
            for op in self._next_ops(agent):
                if agent.startswith("dev"):
                    device = self.devices[int(agent[3:])]
                    if device.can_issue(op):
                        steps.append(Step("issue", agent, op=op))
                    elif op.kind is DeviceEvent.FlushAll and not self.outstanding[agent]:
                        steps.append(Step("skip", agent, op=op))
                else:
                    steps.append(Step("issue", agent, op=op))
        for key in self.network.ready():
            if key.dst != HOST and self.devices[key.dst].stalls(self.network.head(key)):
                continue
            steps.append(Step("deliver", queue=key))
        return steps

    def _next_ops(self, agent: str) -> tuple[Op, ...]:
        """The operations ``agent`` may issue next (none while it must wait)."""
        program, pc = self.programs[agent], self.pc[agent]
        outstanding = self.outstanding[agent]
        if pc == len(program) or len(outstanding) >= self.config.outstanding:
            return ()
        head = program[pc]
        ops = head.ops if isinstance(head, Choice) else (head,)
        busy = {o.line for o in outstanding}
        if any(o.kind is DeviceEvent.FlushAll for o in outstanding):
            return ()  # FlushAll alone
        return tuple(
            op
            for op in ops
            if op.line not in busy and not (op.kind is DeviceEvent.FlushAll and outstanding)
        )

    def apply(self, step: Step) -> None:
        self.stats.steps += 1
        if step.kind == "deliver":
            assert step.queue is not None
            self._deliver(step.queue)
        else:
            assert step.op is not None
            self._issue(step.agent, step.op, skip=step.kind == "skip")
        in_flight = self.network.in_flight()
        if in_flight > self.stats.max_in_flight:
            self.stats.max_in_flight = in_flight

    def _issue(self, agent: str, op: Op, *, skip: bool = False) -> None:
        self.pc[agent] += 1
        if skip:
            self.stats.skipped += 1
            if self.log is not None:
                self.log.append(f"{agent} skips {op} (the cache is not ready for it)")
            return
        self.stats.issued += 1
        self.stats.by_kind[op.kind] = self.stats.by_kind.get(op.kind, 0) + 1
        if self.log is not None:
            self.log.append(f"{agent} issues {op}")
        self.outstanding[agent][op] = self.stats.steps
        is_load = op.kind in LOADS or op.kind is CoreOp.Load
        self.checker.on_issue(agent, op, is_load)
        if agent.startswith("dev"):
            if not self.devices[int(agent[3:])].issue(op):
                raise Violation("issue", f"{agent} refused {op} it said it could take")
        else:
            self.home.core_issue(int(agent[4:]), op)
        self.check(op.line if op.kind is not DeviceEvent.FlushAll else None)

    def _deliver(self, key: QueueKey) -> None:
        msg = self.network.pop(key)
        self.stats.delivered += 1
        if self.log is not None:
            self.log.append(f"  deliver {key}: {describe(msg)}")
        self.monitor.on_deliver(key.src, key.dst, msg)
        if key.dst == HOST:
            self.home.receive(key.src, msg)
            self.check()  # a host step may touch several lines (a victim, its waiters)
            return
        device = self.devices[key.dst]
        addr = getattr(msg, "addr", None)
        if addr is not None:
            line: int | None = addr // LINE_BYTES
        else:  # a response or data: its request's line (a device step touches one line)
            entry = device.txns.get(msg.cqid)  # type: ignore[attr-defined]
            line = None if entry is None or entry.line == ALL_LINES else entry.line
        if not device.receive(msg):
            raise Violation("stall", f"{describe(msg)} stalled though it was enabled")
        self.check(line)

    # --- checks ------------------------------------------------------------------------------

    def quiescent(self) -> bool:
        return (
            self.network.empty() and self.home.quiescent() and not any(d.txns for d in self.devices)
        )

    def check(self, line: int | None = None) -> None:
        """Invariants on ``line`` (every hot line when None)."""
        quiet = self.quiescent()
        lines = range(self.config.lines) if line is None or quiet else (line,)
        for n in lines:
            latest = self.checker.history(n).latest
            check_line(n, self.home, self.devices, latest, quiet)

    def key(self) -> tuple[object, ...]:
        """The canonical state (what the explorer hashes)."""
        return (
            self.home.key(),
            tuple(d.key() for d in self.devices),
            self.network.key(),
            self.monitor.key(),
            self.checker.key(),
            tuple(
                (
                    a,
                    self.pc[a],
                    len(self.programs[a]),
                    tuple(sorted(self.outstanding[a], key=_op_order)),
                )
                for a in self.agents
            ),
        )


def _op_order(op: Op) -> tuple[int, str, int]:
    return (op.line, op.kind._name_, op.value)  # enums do not order


def describe(msg: Message) -> str:
    """One line per message, as a trace shows it."""
    if isinstance(msg, D2HReq):
        return f"{msg.opcode.name} line {msg.addr // LINE_BYTES} cqid {msg.cqid}"
    if isinstance(msg, H2DReq):
        return f"{msg.opcode.name} line {msg.addr // LINE_BYTES} uqid {msg.uqid}"
    if isinstance(msg, D2HRsp):
        return f"{msg.opcode.name} uqid {msg.uqid}"
    if isinstance(msg, H2DRsp):
        from slugsim.cxl import GOState, H2DRspOpcode

        if msg.opcode is H2DRspOpcode.GO:
            return f"GO-{GOState(msg.rsp_data & 0xF).name} cqid {msg.cqid}"
        return f"{msg.opcode.name} cqid {msg.cqid} uqid {msg.rsp_data}"
    if isinstance(msg, D2HData):
        bogus = " BOGUS" if msg.bogus else ""
        return f"D2H data {msg.data}{bogus} uqid {msg.uqid}"
    if isinstance(msg, H2DData):
        return f"H2D data {msg.data} cqid {msg.cqid}"
    return repr(msg)
