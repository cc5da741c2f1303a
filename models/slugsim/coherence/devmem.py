"""The untimed device-memory system: H hosts, one device's DCOH, its memory, the CXL.mem network.

The device-memory twin of ``system.py`` (same steps, same checks, same tools): hosts cache
lines of the device's memory (``devmem_host.py``) and the device's DCOH (``dcoh.py``) keeps
them coherent with its own accesses, by back-invalidation (``mode="hdm_db"``, any number of
hosts: the pooled case) or by bias (``mode="hdm_d"``, one host). A step issues an agent's next
operation or delivers one queue head; after every step the checks below run on the lines it
touched. ``tester.py`` and ``explorer.py`` drive it through :meth:`DevMemConfig.build`.

Checks (CXL_REFERENCE.md §3): SWMR over the hosts' copies and the device's cached copy (HDM-D);
data values (``checker.ValueChecker``: coherence order, loads, lost and stale writes); every
stable copy holds the latest value; memory current when quiet unless a copy is dirty;
**SF inclusion** (HDM-DB: a host with a copy, or a granted fill in flight, is a sharer in the
device filter, and an E/M copy makes the I/S/A entry A); **bias** (HDM-D: no host copy of a
device-bias page, the device caches only device-bias lines; HDM-DB with ``device_cache``: the
device's own copy takes part in SWMR and the value checks); message legality
(:class:`MemMonitor`: BIRsp against its BISnp, Cmp against its request, Ack against a
BIConflict); a (state, event) without a rule raises.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import partial
from typing import Any

from slugsim.coherence.checker import ValueChecker
from slugsim.coherence.dcoh import BiasController, BiasState, DeviceSnoopFilter, DevOp
from slugsim.coherence.devmem_host import HOLDS_COPY, HostMemAgent, HostMemState
from slugsim.coherence.monitor import Violation
from slugsim.coherence.network import Network, QueueKey
from slugsim.coherence.ops import Completion, CoreOp, Op
from slugsim.coherence.spec import LINE_BYTES
from slugsim.coherence.system import Choice, ProgramDriver, Step
from slugsim.cxl import (
    S2MDRS,
    S2MNDR,
    D2HReq,
    M2SBIRsp,
    M2SBIRspOpcode,
    M2SReq,
    M2SReqOpcode,
    M2SRwD,
    M2SRwDOpcode,
    Message,
    MetaValue,
    S2MBISnp,
    S2MBISnpOpcode,
    S2MNDROpcode,
)

DEVICE = -1  # the device's endpoint; hosts are 0..H-1
MODES = ("hdm_db", "hdm_d")
LOADS = frozenset({CoreOp.Load, DevOp.Load, DevOp.LoadCur})
STORES = frozenset({CoreOp.Store, DevOp.Store})


@dataclass(frozen=True)
class DevMemConfig:
    mode: str = "hdm_db"
    hosts: int = 1
    lines: int = 1  # device-memory lines 0..lines-1
    sf_sets: int = 1  # HDM-DB device snoop filter
    sf_ways: int = 2
    isa: bool = True  # I/S/A filter states (else I/A)
    device_cache: bool = False  # HDM-DB: the device caches its own memory (Type-2)
    page_lines: int = 1  # HDM-D bias granularity, lines per page
    bias_sets: int = 1
    bias_ways: int = 1
    predictor: int = 0  # HDM-D: flip after this many accesses through the host (0 = off)
    outstanding: int = 1
    mutation: str | None = None

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, not {self.mode!r}")
        if self.mode == "hdm_d" and self.hosts != 1:
            raise ValueError("HDM-D memory has one host (CXL_REFERENCE.md §2.5)")

    def __str__(self) -> str:
        if self.mode == "hdm_db":
            what = f"SF {self.sf_sets}x{self.sf_ways} {'I/S/A' if self.isa else 'I/A'}"
            what += ", device cache" if self.device_cache else ""
        else:
            policy = f"predictor {self.predictor}" if self.predictor else "software flips"
            what = f"{self.page_lines} line/page, bias cache {self.bias_sets}x{self.bias_ways}, "
            what += policy
        mutation = f" mutation={self.mutation}" if self.mutation else ""
        return (
            f"{self.mode.upper().replace('_', '-')}: {self.hosts} host, {self.lines} line, "
            f"{what}, outstanding={self.outstanding}{mutation}"
        )

    def build(
        self, programs: dict[str, Iterable[Op | Choice]] | None = None, *, history: int = 40
    ) -> DevMemSystem:
        return DevMemSystem(self, programs, history=history)

    def generate(self, rng: Any, ops_per_agent: int) -> dict[str, tuple[Op, ...]]:
        return generate(self, rng, ops_per_agent)


class MemNetwork(Network):
    """CXL.mem channels: FIFO per (source, destination, channel) and nothing else. The two
    ordering rules this protocol needs are within one channel: BI-ConflictAck behind earlier
    Cmp on NDR, MemRdFwd ahead of later M2S Req to the line (CXL_REFERENCE.md §3.1-3.2)."""

    def blocked(self, key: QueueKey) -> bool:
        return False


def queue_name(key: QueueKey) -> str:
    def name(endpoint: int) -> str:
        return "dcoh" if endpoint == DEVICE else f"host{endpoint}"

    return f"{name(key.src)}->{name(key.dst)} {key.channel.name}"


def describe(msg: Message) -> str:
    line = getattr(msg, "addr", None)
    where = "" if line is None else f" line {line // LINE_BYTES}"
    if isinstance(msg, M2SReq | M2SRwD):
        return f"{msg.opcode.name} meta {msg.meta_value.name}{where} tag {msg.tag}"
    if isinstance(msg, S2MBISnp | M2SBIRsp):
        return f"{msg.opcode.name}{where} bitag {msg.bi_tag}"
    if isinstance(msg, S2MNDR):
        return f"{msg.opcode.name} tag {msg.tag}"
    if isinstance(msg, S2MDRS):
        return f"MemData {msg.data} tag {msg.tag}"
    if isinstance(msg, D2HReq):
        return f"{msg.opcode.name}{where} cqid {msg.cqid}"
    return repr(msg)


# --- message legality -------------------------------------------------------------------------

# BIRsp legal for each BISnp (CXL_REFERENCE.md §3.2: Inv leaves no copy, Data at most S).
LEGAL_BIRSP: dict[S2MBISnpOpcode, frozenset[M2SBIRspOpcode]] = {
    S2MBISnpOpcode.BISNPINV: frozenset({M2SBIRspOpcode.BIRSPI}),
    S2MBISnpOpcode.BISNPDATA: frozenset({M2SBIRspOpcode.BIRSPI, M2SBIRspOpcode.BIRSPS}),
    S2MBISnpOpcode.BISNPCUR: frozenset(
        {M2SBIRspOpcode.BIRSPI, M2SBIRspOpcode.BIRSPS, M2SBIRspOpcode.BIRSPE}
    ),
}
# NDR legal for each request (§2.4: MemRd A -> Cmp-E; MemRd S -> Cmp-S/E; writes, evicts Cmp).
LEGAL_NDR: dict[tuple[int, int], frozenset[S2MNDROpcode]] = {
    (M2SReqOpcode.MEMRD, MetaValue.A): frozenset({S2MNDROpcode.CMP_E}),
    (M2SReqOpcode.MEMRD, MetaValue.S): frozenset({S2MNDROpcode.CMP_S, S2MNDROpcode.CMP_E}),
    (M2SReqOpcode.MEMCLNEVCT, MetaValue.I): frozenset({S2MNDROpcode.CMP}),
}


class MemMonitor:
    """Checks each S2M/M2S answer against what is outstanding, knowing only the spec."""

    def __init__(self) -> None:
        self.snoops: dict[tuple[int, int], S2MBISnpOpcode] = {}  # (host, bitag) -> opcode
        self.requests: dict[tuple[int, int], tuple[int, int]] = {}  # (host, tag) -> kind
        self.writes: dict[tuple[int, int], int] = {}  # (host, tag) -> MemWr outstanding
        self.conflicts: set[tuple[int, int]] = set()
        self.seen: set[str] = set()

    def clone(self) -> MemMonitor:
        twin = MemMonitor()
        twin.snoops, twin.requests = dict(self.snoops), dict(self.requests)
        twin.writes, twin.conflicts = dict(self.writes), set(self.conflicts)
        twin.seen = self.seen  # coverage is shared, it is not state
        return twin

    def key(self) -> tuple[object, ...]:
        return (
            tuple(sorted(self.snoops.items())),
            tuple(sorted(self.requests.items())),
            tuple(sorted(self.writes.items())),
            tuple(sorted(self.conflicts)),
        )

    def seen_kinds(self) -> set[str]:
        return set(self.seen)

    def on_send(self, src: int, dst: int, msg: Message) -> None:
        opcode = getattr(msg, "opcode", None)
        self.seen.add(f"{type(msg).__name__}.{getattr(opcode, 'name', '')}")
        if isinstance(msg, S2MBISnp):
            if (dst, msg.bi_tag) in self.snoops:
                raise Violation("two-bisnp", f"second BISnp to host{dst} line {msg.bi_tag}")
            self.snoops[(dst, msg.bi_tag)] = msg.opcode
        elif isinstance(msg, M2SBIRsp):
            snoop = self.snoops.pop((src, msg.bi_tag), None)
            if snoop is None:
                raise Violation("illegal-birsp", f"host{src} {msg.opcode.name} for no BISnp")
            if msg.opcode not in LEGAL_BIRSP[snoop]:
                raise Violation("illegal-birsp", f"{msg.opcode.name} answers {snoop.name}")
        elif isinstance(msg, M2SReq) and (msg.opcode, msg.meta_value) in LEGAL_NDR:
            self.requests[(src, msg.tag)] = (msg.opcode, msg.meta_value)
        elif isinstance(msg, M2SRwD):
            if msg.opcode is M2SRwDOpcode.BICONFLICT:
                if (src, msg.tag) not in self.requests:
                    raise Violation("illegal-conflict", f"host{src} BIConflict, no request")
                self.conflicts.add((src, msg.tag))
            else:
                self.writes[(src, msg.tag)] = 1
        elif isinstance(msg, S2MNDR):
            self._check_ndr(dst, msg)

    def _check_ndr(self, host: int, msg: S2MNDR) -> None:
        key = (host, msg.tag)
        if msg.opcode is S2MNDROpcode.BI_CONFLICT_ACK:
            if key not in self.conflicts:
                raise Violation("illegal-ack", f"BI-ConflictAck to host{host} for no conflict")
            self.conflicts.discard(key)
            return
        if msg.opcode is S2MNDROpcode.CMP and key in self.writes:
            del self.writes[key]
            return
        kind = self.requests.get(key)
        if kind is None or msg.opcode not in LEGAL_NDR[kind]:  # type: ignore[index]
            raise Violation("illegal-ndr", f"{msg.opcode.name} to host{host} answers {kind}")

    def on_deliver(self, src: int, dst: int, msg: Message) -> None:
        """A request is outstanding (a BIConflict may name it) until its Cmp is delivered."""
        if isinstance(msg, S2MNDR) and msg.opcode is not S2MNDROpcode.BI_CONFLICT_ACK:
            self.requests.pop((dst, msg.tag), None)


# --- the system -------------------------------------------------------------------------------


class DevMemSystem(ProgramDriver):
    """``programs`` maps agents (``host0`` ..., ``dcoh``) to their operations, in order."""

    def __init__(
        self,
        config: DevMemConfig,
        programs: dict[str, Iterable[Op | Choice]] | None = None,
        *,
        history: int = 40,
    ) -> None:
        from slugsim.coherence.devmem_mutations import classes_for

        host_cls, sf_cls, bias_cls = classes_for(config.mutation)
        self.config = config
        self.hdm_d = config.mode == "hdm_d"
        self.checker = ValueChecker()
        self.monitor = MemMonitor()
        self.network = MemNetwork(observe=self.monitor.on_send)
        self.hosts: list[HostMemAgent] = [
            host_cls(
                h,
                self.hdm_d,
                partial(self.network.send, h, DEVICE),
                self._complete,
                on_transition=self._record,
                on_write=self.checker.on_write,
            )
            for h in range(config.hosts)
        ]
        self.dcoh: DeviceSnoopFilter | BiasController
        if self.hdm_d:
            self.dcoh = bias_cls(
                self._device_send,
                self._complete,
                page_lines=config.page_lines,
                bias_sets=config.bias_sets,
                bias_ways=config.bias_ways,
                predictor=config.predictor,
                on_transition=self._record,
                on_write=self.checker.on_write,
            )
        else:
            self.dcoh = sf_cls(
                config.hosts,
                self._device_send,
                self._complete,
                sf_sets=config.sf_sets,
                sf_ways=config.sf_ways,
                isa=config.isa,
                device_cache=config.device_cache,
                on_transition=self._record,
                on_write=self.checker.on_write,
            )
        self.agents = [h.name for h in self.hosts] + ["dcoh"]
        self._start_programs(programs, history)

    describe = staticmethod(describe)
    queue_name = staticmethod(queue_name)

    def clone(self) -> DevMemSystem:
        twin = object.__new__(DevMemSystem)
        twin.config, twin.hdm_d = self.config, self.hdm_d
        twin.checker = self.checker.clone()
        twin.monitor = self.monitor.clone()
        twin.network = self.network.clone(twin.monitor.on_send)
        twin.hosts = [
            h.clone(
                partial(twin.network.send, h.host_id, DEVICE),
                twin._complete,
                twin._record,
                twin.checker.on_write,
            )
            for h in self.hosts
        ]
        twin.dcoh = self.dcoh.clone(
            twin._device_send, twin._complete, twin._record, twin.checker.on_write
        )
        self._copy_programs_to(twin)
        return twin

    # --- wiring ------------------------------------------------------------------------------

    def _device_send(self, host: int, msg: Message) -> None:
        self.network.send(DEVICE, host, msg)

    def _complete(self, c: Completion) -> None:
        op = c.op
        if op.kind in LOADS:
            self.checker.on_load(c.agent, op, c.value)
        elif op.kind in STORES:
            self.checker.on_store(op)
        if self.outstanding[c.agent].pop(op, None) is None:
            raise Violation("completion", f"{c.agent} completed {op}, which it did not issue")
        self.stats.completed += 1
        if self.log is not None:
            value = "" if c.value is None else f" -> {c.value}"
            self.log.append(f"    {c.agent} completes {op}{value}")

    def _agent(self, name: str) -> HostMemAgent | DeviceSnoopFilter | BiasController:
        return self.dcoh if name == "dcoh" else self.hosts[int(name[4:])]

    # --- steps -------------------------------------------------------------------------------

    def enabled(self) -> list[Step]:
        steps = []
        for agent in self.agents:
            controller = self._agent(agent)
            for op in self._next_ops(agent):
                if controller.can_issue(op):
                    steps.append(Step("issue", agent, op=op))
        for key in self.network.ready():
            msg = self.network.head(key)
            if key.dst == DEVICE:
                if self.dcoh.stalls(key.src, msg):
                    continue
            elif self.hosts[key.dst].stalls(msg):
                continue
            steps.append(Step("deliver", queue=key))
        return steps

    def _busy(self, agent: str) -> set[int]:
        """Lines (HDM-D flips: every line of the page) the agent's outstanding ops hold."""
        busy = set()
        size = self.config.page_lines
        for o in self.outstanding[agent]:
            if o.kind in (DevOp.FlipToDevice, DevOp.FlipToHost):
                busy.update(range(o.line // size * size, (o.line // size + 1) * size))
            else:
                busy.add(o.line)
        return busy

    def _next_ops(self, agent: str) -> tuple[Op, ...]:
        program, pc = self.programs[agent], self.pc[agent]
        if pc == len(program) or len(self.outstanding[agent]) >= self.config.outstanding:
            return ()
        head = program[pc]
        ops = head.ops if isinstance(head, Choice) else (head,)
        busy = self._busy(agent)
        size = self.config.page_lines
        out = []
        for op in ops:
            if op.kind in (DevOp.FlipToDevice, DevOp.FlipToHost):
                if busy & set(range(op.line // size * size, (op.line // size + 1) * size)):
                    continue
            elif op.line in busy:
                continue
            out.append(op)
        return tuple(out)

    def apply(self, step: Step) -> None:
        self.stats.steps += 1
        if step.kind == "deliver":
            assert step.queue is not None
            self._deliver(step.queue)
        else:
            assert step.op is not None
            self._issue(step.agent, step.op)
        in_flight = self.network.in_flight()
        if in_flight > self.stats.max_in_flight:
            self.stats.max_in_flight = in_flight

    def _issue(self, agent: str, op: Op) -> None:
        self.pc[agent] += 1
        self.stats.issued += 1
        self.stats.by_kind[op.kind] = self.stats.by_kind.get(op.kind, 0) + 1
        if self.log is not None:
            self.log.append(f"{agent} issues {op}")
        self.outstanding[agent][op] = self.stats.steps
        self.checker.on_issue(agent, op, op.kind in LOADS)
        if not self._agent(agent).issue(op):
            raise Violation("issue", f"{agent} refused {op} it said it could take")
        self.check()

    def _deliver(self, key: QueueKey) -> None:
        msg = self.network.pop(key)
        self.stats.delivered += 1
        if self.log is not None:
            self.log.append(f"  deliver {queue_name(key)}: {describe(msg)}")
        self.monitor.on_deliver(key.src, key.dst, msg)
        if key.dst == DEVICE:
            fired = self.dcoh.receive(key.src, msg)
        else:
            fired = self.hosts[key.dst].receive(msg)
        if not fired:
            raise Violation("stall", f"{describe(msg)} stalled though it was enabled")
        self.check()

    # --- checks ------------------------------------------------------------------------------

    def quiescent(self) -> bool:
        return (
            self.network.empty()
            and self.dcoh.quiescent()
            and all(h.quiescent() for h in self.hosts)
        )

    def check(self, line: int | None = None) -> None:
        quiet = self.quiescent()
        for n in range(self.config.lines) if line is None else (line,):
            self.check_line(n, quiet)

    def check_line(self, line: int, quiet: bool) -> None:
        latest = self.checker.history(line).latest
        readers: list[str] = []
        writers: list[str] = []
        stale: list[str] = []
        dirty = False
        db = self.dcoh if isinstance(self.dcoh, DeviceSnoopFilter) else None
        bias = self.dcoh if isinstance(self.dcoh, BiasController) else None
        sharers = db.sharers(line) if db is not None else 0
        for host in self.hosts:
            entry = host.lines.get(line)
            if entry is None:
                continue
            state = entry.state
            if db is not None and state in HOLDS_COPY and not sharers >> host.host_id & 1:
                raise Violation(
                    "sf-inclusion", f"{host.name} holds line {line} in {state.name}, SF misses"
                )
            if bias is not None and state in HOLDS_COPY and bias.bias(line) is BiasState.DEVICE:
                raise Violation(
                    "bias", f"{host.name} holds line {line} in {state.name} in device bias"
                )
            if state in (HostMemState.E, HostMemState.M):
                writers.append(f"{host.name}:{state.name}")
                if db is not None and db.isa and not db.exclusive(line):
                    raise Violation("sf-state", f"{host.name} holds line {line} {state.name}, SF S")
            elif state is HostMemState.S:
                readers.append(f"{host.name}:S")
            else:
                continue
            dirty |= state is HostMemState.M
            if entry.value != latest:
                stale.append(f"{host.name}:{state.name}={entry.value}")
        if bias is not None and line in bias.copies:
            value, copy_dirty = bias.copies[line]
            writers.append("dcoh:copy")
            dirty |= copy_dirty
            if value != latest:
                stale.append(f"dcoh copy={value}")
            if bias.bias(line) is not BiasState.DEVICE:
                raise Violation("bias", f"the device caches line {line} outside device bias")
        if db is not None and line in db.copies:
            copy_state, value = db.copies[line]
            (readers if copy_state == "S" else writers).append(f"dcoh:{copy_state}")
            dirty |= copy_state == "M"
            if value != latest:
                stale.append(f"dcoh:{copy_state}={value}")
        if len(writers) > 1 or (writers and readers):
            raise Violation("swmr", f"line {line}: writers {writers}, readers {readers}")
        if stale:
            raise Violation("stale-copy", f"line {line}: {stale} but the latest value is {latest}")
        if quiet and not dirty and self.dcoh.read(line) != latest:
            raise Violation(
                "stale-memory", f"line {line}: memory {self.dcoh.read(line)}, latest {latest}"
            )

    def key(self) -> tuple[object, ...]:
        return (
            tuple(h.key() for h in self.hosts),
            self.dcoh.key(),
            self.network.key(),
            self.monitor.key(),
            self.checker.key(),
            tuple(
                (
                    a,
                    self.pc[a],
                    tuple(sorted(self.outstanding[a], key=lambda o: (o.line, o.kind.name))),
                )
                for a in self.agents
            ),
        )


# --- programs ---------------------------------------------------------------------------------

HOST_WEIGHTS: dict[CoreOp, int] = {CoreOp.Load: 5, CoreOp.Store: 4, CoreOp.Evict: 2}
DEVICE_WEIGHTS_DB: dict[DevOp, int] = {DevOp.Load: 4, DevOp.LoadCur: 2, DevOp.Store: 4}
DEVICE_WEIGHTS_D: dict[DevOp, int] = {
    DevOp.Load: 4,
    DevOp.LoadCur: 1,
    DevOp.Store: 4,
    DevOp.FlipToDevice: 2,
    DevOp.FlipToHost: 1,
}


def _device_ops(config: DevMemConfig) -> dict[DevOp, int]:
    if config.mode == "hdm_db":
        return {**DEVICE_WEIGHTS_DB, DevOp.Evict: 2} if config.device_cache else DEVICE_WEIGHTS_DB
    if config.predictor:  # hardware-autonomous: no software flips
        return {k: v for k, v in DEVICE_WEIGHTS_D.items() if k is not DevOp.FlipToDevice}
    return DEVICE_WEIGHTS_D


def generate(config: DevMemConfig, rng: Any, ops_per_agent: int) -> dict[str, tuple[Op, ...]]:
    """Random programs with unique store values (agent-major)."""
    programs: dict[str, tuple[Op, ...]] = {}
    agents = [f"host{h}" for h in range(config.hosts)] + ["dcoh"]
    for index, agent in enumerate(agents):
        weights: dict[Any, int] = HOST_WEIGHTS if agent != "dcoh" else _device_ops(config)
        drawn = rng.choices(list(weights), weights=list(weights.values()), k=ops_per_agent)
        ops = []
        for i, kind in enumerate(drawn):
            value = (index + 1) * 10_000_000 + i + 1 if kind in STORES else 0
            ops.append(Op(kind, rng.randrange(config.lines), value))
        programs[agent] = tuple(ops)
    return programs


def menu_programs(
    config: DevMemConfig, host_ops: int = 2, device_ops: int = 2
) -> dict[str, list[Op | Choice]]:
    """Each host makes ``host_ops`` choices of load/store/evict on any line, the device
    ``device_ops`` choices of its operations; store values fixed per (agent, position, line)."""
    programs: dict[str, list[Op | Choice]] = {}
    for h in range(config.hosts):
        programs[f"host{h}"] = [
            Choice(
                tuple(
                    Op(kind, line, _value(h, i, line) if kind is CoreOp.Store else 0)
                    for kind in CoreOp
                    for line in range(config.lines)
                )
            )
            for i in range(host_ops)
        ]
    kinds = list(_device_ops(config))
    programs["dcoh"] = [
        Choice(
            tuple(
                Op(kind, line, _value(50, i, line) if kind is DevOp.Store else 0)
                for kind in kinds
                for line in range(config.lines)
                if kind not in (DevOp.FlipToDevice, DevOp.FlipToHost)
                or line % config.page_lines == 0
            )
        )
        for i in range(device_ops)
    ]
    return programs


def _value(agent: int, position: int, line: int) -> int:
    return 1 + agent * 100 + position * 10 + line
