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

    def __str__(self) -> str:
        mutation = f" mutation={self.mutation}" if self.mutation else ""
        return (
            f"{self.devices} dev, {self.cores} core, {self.lines} line, "
            f"SF {self.sf_sets}x{self.sf_ways}, clean_evict={self.clean_evict}, "
            f"outstanding={self.outstanding}{mutation}"
        )


class Step(NamedTuple):
    kind: str  # "issue", "skip" (a FlushAll the cache cannot take now) or "deliver"
    agent: str = ""
    queue: QueueKey | None = None


@dataclass
class Stats:
    steps: int = 0
    issued: int = 0
    completed: int = 0
    skipped: int = 0
    delivered: int = 0
    max_in_flight: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)


class CoherentSystem:
    """``programs`` maps agent names (``dev0``, ``core0`` ...) to their operations, in order."""

    def __init__(
        self,
        config: SystemConfig,
        programs: dict[str, Iterable[Op]] | None = None,
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
        self.programs: dict[str, deque[Op]] = {a: deque() for a in self.agents}
        for agent, ops in (programs or {}).items():
            if agent not in self.programs:
                raise ValueError(f"no agent {agent!r}; agents are {self.agents}")
            self.programs[agent].extend(ops)
        self.outstanding: dict[str, dict[Op, int]] = {a: {} for a in self.agents}  # op -> step
        self.history: dict[int, deque[Transition]] = {}
        self.history_len = history
        self.fired: list[Transition] | None = None  # set to a list to collect every rule fired
        self.stats = Stats()
        self.log: list[str] | None = None  # set to a list to record a readable trace

    # --- wiring ------------------------------------------------------------------------------

    def _host_send(self, device: int, msg: Message) -> None:
        self.network.send(HOST, device, msg)

    def _state_of(self, device: int, line: int | None) -> str:
        dev = self.devices[device]
        if line is None:
            real = [e.state.name for e in dev.lines.values() if e.line != ALL_LINES]
            return "I" if all(s == "I" for s in real) else "X"
        return dev.line_state(line).name

    def _record(self, t: Transition) -> None:
        found = self.history.get(t.line)
        if found is None:
            found = self.history[t.line] = deque(maxlen=self.history_len)
        found.append(t)
        if self.fired is not None:
            self.fired.append(t)

    def _complete(self, c: Completion) -> None:
        op = c.op
        if op.kind in LOADS or op.kind is CoreOp.Load:
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
            op = self._next_op(agent)
            if op is None:
                continue
            if agent.startswith("dev"):
                device = self.devices[int(agent[3:])]
                if device.can_issue(op):
                    steps.append(Step("issue", agent))
                elif op.kind is DeviceEvent.FlushAll and not self.outstanding[agent]:
                    steps.append(Step("skip", agent))
            else:
                steps.append(Step("issue", agent))
        for key in self.network.ready():
            if key.dst != HOST and self.devices[key.dst].stalls(self.network.head(key)):
                continue
            steps.append(Step("deliver", queue=key))
        return steps

    def _next_op(self, agent: str) -> Op | None:
        program = self.programs[agent]
        outstanding = self.outstanding[agent]
        if not program or len(outstanding) >= self.config.outstanding:
            return None
        op = program[0]
        if any(o.line == op.line or o.kind is DeviceEvent.FlushAll for o in outstanding):
            return None  # one operation per line per agent; FlushAll alone
        if op.kind is DeviceEvent.FlushAll and outstanding:
            return None
        return op

    def apply(self, step: Step) -> None:
        self.stats.steps += 1
        if step.kind == "deliver":
            assert step.queue is not None
            self._deliver(step.queue)
        else:
            self._issue(step.agent, skip=step.kind == "skip")
        in_flight = self.network.in_flight()
        if in_flight > self.stats.max_in_flight:
            self.stats.max_in_flight = in_flight

    def _issue(self, agent: str, *, skip: bool = False) -> None:
        op = self.programs[agent].popleft()
        if skip:
            self.stats.skipped += 1
            if self.log is not None:
                self.log.append(f"{agent} skips {op} (the cache is not ready for it)")
            return
        self.stats.issued += 1
        self.stats.by_kind[op.kind.name] = self.stats.by_kind.get(op.kind.name, 0) + 1
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
        elif not self.devices[key.dst].receive(msg):
            raise Violation("stall", f"{describe(msg)} stalled though it was enabled")
        line = getattr(msg, "addr", None)
        self.check(None if line is None else line // LINE_BYTES)

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

    def done(self) -> bool:
        return not any(self.programs.values()) and not any(self.outstanding.values())

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

    def key(self) -> tuple[object, ...]:
        """The canonical state (what the explorer hashes)."""
        return (
            self.home.key(),
            tuple(d.key() for d in self.devices),
            self.network.key(),
            self.monitor.key(),
            self.checker.key(),
            tuple(
                (a, tuple(self.programs[a]), tuple(sorted(self.outstanding[a], key=str)))
                for a in self.agents
            ),
        )


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
