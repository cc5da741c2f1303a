"""Re-driving a host on HDM-DB device memory from its EMC trace.

A host that caches an HDM-DB device's memory sends its M2S traffic from its device-memory agent
(``TimedHostMem`` around the ``HostMemAgent`` table, ``components/devmem_timing.py``), with the
line number as Tag and BITag (CXL_REFERENCE.md §2.1). ``devmem_ops_of`` turns the host's trace
back into the table's program operations:

- an egress ``MemRd`` is a fill: a **store** when the record's MetaValue is A (SnpInv), a
  **load** when it is S (SnpData) (CXL_REFERENCE.md §2.3; trace format 4 carries the hint). A
  load whose copy later leaves dirty (an egress ``MemWr`` of the line before its next fill) was
  granted E and then stored to by a hit, which sent nothing: the replay makes that store when
  the load completes;
- an egress ``MemClnEvct`` is an eviction, and so is an egress ``MemWr`` that answers no BISnp
  (one that does is the table's own writeback for the snoop: not an operation). A ``MemWr``
  on a line with a BISnp pending is the answer only if it keeps what that BISnp asks for
  (MetaValue I, S or A for BISnpInv, Data or Cur) and was ready for the wire exactly a BISnp
  answer's latency after an instant a message arrived; else it is an eviction the host made
  before the BISnp reached it;
- BIRsp and BIConflict are not operations: the table answers the device's BISnps itself.

Hits sent nothing and are not in the trace; capacity evictions come from the trace, so the
agent's own LRU replacement is switched off. ``DevMemPlayer`` takes over the host's agent:

- ``timing`` / ``validate``: each operation starts when its message was sent to the port: its
  recorded wire time less the wait there the EMC recorded (``queued``, trace format 4) and the
  port's pipeline (``llc_latency``); the table's send actions cost nothing
  (``coherence/latency.py``). Operations of two hosts that start at one instant start in the
  order their messages reached the device (``SendOrder``): the switch forwards them so;
- ``dependency``: operations start in recorded order, each ``gap`` after the completion it
  followed in the recording (``gap`` as recorded).

The device's own accesses (``device_ops``) are not in a host's trace: the Type-3 runs them live
from its seeded random stream, which reproduces them when the hosts' traffic is reproduced.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..coherence.devmem_host import HostMemState
from ..coherence.latency import ACTION_LATENCY_PS
from ..coherence.ops import Completion, CoreOp, Op
from ..components.devmem_timing import LINE_BYTES, TimedHostMem, _Core, _Slot
from ..cxl import (
    Channel,
    Direction,
    M2SReq,
    M2SReqOpcode,
    M2SRwD,
    M2SRwDOpcode,
    MetaValue,
    S2MBISnpOpcode,
)
from .player import Request

_MEMRD = int(M2SReqOpcode.MEMRD)
_CLNEVCT = int(M2SReqOpcode.MEMCLNEVCT)
_MEMWR = int(M2SRwDOpcode.MEMWR)
_BICONFLICT = int(M2SRwDOpcode.BICONFLICT)
_RESPONSES = (Channel.S2M_NDR, Channel.S2M_DRS)
_OWN = int(MetaValue.A)  # a MemRd asking for an exclusive copy: the host is storing
# What a host's writeback for a BISnp keeps (coherence/devmem_host.py) ...
_ANSWER_META = {
    int(S2MBISnpOpcode.BISNPINV): int(MetaValue.I),
    int(S2MBISnpOpcode.BISNPDATA): int(MetaValue.S),
    int(S2MBISnpOpcode.BISNPCUR): int(MetaValue.A),
}
# ... and how long after the host handled the BISnp it is ready for the wire (the port's
# pipeline included: host_mem_latency_ps keeps the total).
_ANSWER_PS = {
    int(opcode): ACTION_LATENCY_PS["host_mem"][f"writeback_for_{kind}"]
    for opcode, kind in (
        (S2MBISnpOpcode.BISNPINV, "inv"),
        (S2MBISnpOpcode.BISNPDATA, "data"),
        (S2MBISnpOpcode.BISNPCUR, "cur"),
    )
}


@dataclass
class MemOp:
    index: int
    time: int  # recorded: when its message went on the wire (ps)
    kind: CoreOp  # Load / Store (a fill) or Evict
    line: int
    queued: int = 0  # recorded: how long its message waited at the port for the wire (ps)
    response: int | None = None  # recorded: its last response (Cmp / data)
    answers: int = 0  # responses it has had: a fill completes with two (Cmp and data)
    hit_store: bool = False  # a load whose copy left dirty: granted E, then stored to by a hit
    arrived: int = -1  # the last message that arrived before it left (its trace record first)
    queued_since: int | None = None  # an eviction held behind a snoop answer made then
    queued_before: int | None = None  # ... and ahead of one made then
    first: list[MemOp] = field(default_factory=list)  # evictions that made room for this fill
    record: int = -1  # the trace record of its message
    rank: int | None = None  # where its message is in the device's trace (ingress order)
    size: int = 0  # its message's bytes on the wire
    reaches: int = -1  # when its message reaches the other end of the host's link
    prev: int = -1  # the operation whose completion it followed, -1 none
    gap: int = 0  # recorded: from prev's completion to this one being ready for the wire


def _ahead_of(queued: list[MemOp], made: int | None) -> None:
    """A snoop answer made at ``made`` left after the held evictions: they started before."""
    if made is not None:
        for op in queued:
            op.queued_before = made
    queued.clear()


_CONFLICT_PS = ACTION_LATENCY_PS["host_mem"]["send_conflict"]  # a BIConflict's, likewise


def _answer_made(
    record: Any,
    meta: int,
    ready: int,
    snooped: dict[int, int],
    bisnp_at: dict[int, int],
    arrivals: set[int],
) -> int | None:
    """When the host made an egress MemWr as its answer to the BISnp pending on its line, or
    None when it is not one: an eviction the host made before that BISnp reached it (the
    BISnp then waits for the eviction's Cmp and is answered BIRspI). An answer carries the
    MetaValue of what the host keeps (I for BISnpInv, S for BISnpData, A for BISnpCur; an
    eviction's is I), and is ready for the wire a BISnp answer's latency after the host
    handled the BISnp: when it arrived, or when a later arrival ended its wait (``arrivals``:
    the instants messages arrived)."""
    opcode = snooped.get(record.tag)
    if opcode is None or meta != _ANSWER_META[opcode]:
        return None
    made = ready - _ANSWER_PS[opcode]
    return made if made >= bisnp_at[record.tag] and made in arrivals else None


def devmem_ops_of(trace: Any, cycle_ps: int) -> list[MemOp]:
    """The agent's program operations in ``trace``, in the order their messages left."""
    found: list[MemOp] = []
    pending: dict[int, MemOp] = {}  # line -> the operation waiting for responses
    fill: dict[int, MemOp] = {}  # line -> the fill of the copy the host holds
    snooped: dict[int, int] = {}  # line -> the opcode of its BISnp not yet answered
    arrived = -1  # when the last ingress message arrived
    bisnp_at: dict[int, int] = {}  # line -> when its last BISnp arrived
    arrivals: set[int] = set()  # when messages arrived
    queued: list[MemOp] = []  # held evictions waiting for the next snoop answer after them
    behind: tuple[int, int | None] | None = None  # the last MemWr: sent to the port, held since
    for index, record in enumerate(trace.records):
        time = record.timestamp * cycle_ps
        channel, line = record.channel, record.tag
        if record.direction == Direction.EGRESS:
            ready = time - trace.queued(index) * cycle_ps  # sent to the port, and through it
            op: MemOp | None = None
            if channel == Channel.M2S_REQ and record.opcode == _MEMRD:
                store = trace.meta_value(index) == _OWN
                op = MemOp(len(found), time, CoreOp.Store if store else CoreOp.Load, line)
                fill[line] = op
            elif channel == Channel.M2S_REQ and record.opcode == _CLNEVCT:
                op = MemOp(len(found), time, CoreOp.Evict, line)
                fill.pop(line, None)
            elif channel == Channel.M2S_RWD and record.opcode == _MEMWR:
                copy = fill.pop(line, None)
                if copy is not None and copy.kind is CoreOp.Load:
                    copy.hit_store = True
                held = None
                if behind is not None and ready == behind[0]:  # released with the one before
                    held = behind[1]
                meta = trace.meta_value(index)
                made = _answer_made(record, meta, ready, snooped, bisnp_at, arrivals)
                if made is None:
                    op = MemOp(len(found), time, CoreOp.Evict, line)
                    op.queued_since = held
                    if held is not None:
                        queued.append(op)
                else:  # a snoop answer
                    held = made
                    _ahead_of(queued, held)
                behind = (ready, held)
            elif channel == Channel.M2S_RWD and record.opcode == _BICONFLICT:
                behind = (ready, ready - _CONFLICT_PS)  # made when the host handled the BISnp
                _ahead_of(queued, behind[1])
            elif channel == Channel.M2S_BIRSP:
                snooped.pop(line, None)
                fill.pop(line, None)  # clean (a dirty copy went with a MemWr first)
            if op is not None:
                op.arrived = arrived
                op.record = index
                op.queued = time - ready
                op.size = (M2SRwD if channel == Channel.M2S_RWD else M2SReq).wire_bytes
                found.append(op)
                pending[line] = op
            continue
        arrived = time
        arrivals.add(time)
        behind = None  # a message released later is recorded after this arrival
        if channel == Channel.S2M_BISNP:
            snooped[line] = record.opcode
            bisnp_at[line] = time
        elif channel in _RESPONSES:
            op = pending.get(line)
            if op is not None:
                op.response = time
                op.answers += 1
                if op.answers == (1 if op.kind is CoreOp.Evict else 2):
                    del pending[line]  # complete: later responses on the line are not its
    # Each operation follows the latest completion before it was ready for the wire (as
    # device_requests_of does); its wait for the wire is the fabric's, not the program's.
    done = sorted((op.response, op.index) for op in found if op.response is not None)
    k, latest = 0, None
    for op in found:
        ready = op.time - op.queued
        while k < len(done) and done[k][0] <= ready:
            if done[k][1] < op.index and (latest is None or done[k][0] >= latest[0]):
                latest = done[k]
            k += 1
        if latest is not None:
            op.prev, op.gap = latest[1], ready - latest[0]
    return found


def fills_as_requests(ops: list[MemOp], device: str) -> list[Request]:
    """The fills among ``ops`` as ``Request`` rows (what the per-path report counts: a read
    of a line from ``device`` and the time its answer came back)."""
    return [
        Request(
            op.index,
            op.time,
            op.time - op.queued,
            False,
            op.line,
            op.line * LINE_BYTES,
            device,
            -1,
            response=op.response,
        )
        for op in ops
        if op.kind is not CoreOp.Evict
    ]


def rank_at_device(ops: list[MemOp], host: Any, device: Any, host_pid: int) -> None:
    """Set each operation's ``rank``: the index of its message among the device's ingress
    records. The k-th message a host sent with a given channel, opcode and tag is the k-th the
    device received from it with those."""
    arrivals: dict[tuple[int, int, int, int], list[int]] = {}
    for i, record in enumerate(device.records):
        if record.direction == Direction.INGRESS:
            key = (device.spid(i), int(record.channel), record.opcode, record.tag)
            arrivals.setdefault(key, []).append(i)
    of_record = {op.record: op for op in ops}
    seen: dict[tuple[int, int, int, int], int] = {}
    for i, record in enumerate(host.records):
        if record.direction != Direction.EGRESS:
            continue
        key = (host_pid, int(record.channel), record.opcode, record.tag)
        k = seen.get(key, 0)
        seen[key] = k + 1
        op = of_record.get(i)
        found = arrivals.get(key, ())
        if op is not None and k < len(found):
            op.rank = found[k]


class SendOrder:
    """What the traces cannot say alone: which of two hosts went first when both sent at one
    instant. It shows where their messages meet: two reaching the switch at the same instant
    are forwarded in the order they were sent, and reach the device in that order (``rank``).
    So of hosts' operations due at one instant, one gives way to another whose message
    reached the switch together with one of its own and the device before it. It gives way
    for at most ``PATIENCE`` turns of that instant, in case the other is held back by
    something else in the replay."""

    PATIENCE = 64
    Messages = list[tuple[int, int | None]]  # (when it reaches the switch, rank at the device)

    def __init__(self) -> None:
        self.due: dict[int, dict[tuple[int, int], SendOrder.Messages]] = {}

    def expect(self, instant: int, player: int, op: int, messages: Messages) -> None:
        self.due.setdefault(instant, {})[player, op] = messages

    def started(self, instant: int, player: int, op: int) -> None:
        due = self.due.get(instant)
        if due is not None:
            due.pop((player, op), None)
            if not due:
                del self.due[instant]

    def gives_way(self, instant: int, player: int, messages: Messages) -> bool:
        """Another player's operation due at ``instant`` sent first (above)."""
        due = self.due.get(instant)
        if due is None:
            return False
        mine = {reaches: rank for reaches, rank in messages if rank is not None}
        for (other, _), theirs in due.items():
            if other == player:
                continue
            for reaches, rank in theirs:
                if rank is not None and rank < mine.get(reaches, -1):
                    return True
        return False


class DevMemPlayer:
    """Takes over ``host``'s device-memory agent and runs ``ops`` through it."""

    def __init__(
        self,
        host: Any,
        recorded_name: str,
        ops: list[MemOp],
        mode: str,
        order: SendOrder | None = None,
        number: int = 0,
    ) -> None:
        mem: TimedHostMem = host.devmem
        self.host = host
        self.mem = mem
        self.sim = host.sim
        self.recorded_name = recorded_name
        self.pipeline = host.params.llc_latency
        self.count = len(ops)
        self.ops = ops if mode == "dependency" else self._attach(ops)
        self.dependency = mode == "dependency"
        self.core = _Core(0, None)  # its slots issue nothing of their own
        self.next = 0
        self.wake_at = -1
        self.yielded = -1
        self.done: list[int | None] = [None] * len(ops)
        self.by_op: dict[int, MemOp] = {}  # id(Op) -> the recorded operation
        self.parked: dict[int, list[MemOp]] = {}  # line -> evictions waiting for it
        self.sent = 0
        self.completed = 0
        self.order = order if order is not None else SendOrder()
        self.number = number
        self.gave_way = 0  # turns given to other hosts at the current instant
        tx = mem._port.tx
        if not self.dependency:  # dependency mode starts operations from completions
            for op in ops:  # when its message reaches the other end of the host's link
                if tx is not None:
                    op.reaches = op.time + tx._cost_of(op.size)[0] + tx.latency
            for op in self.ops:
                self.order.expect(self._sent(op), number, op.index, self._messages(op))
        mem.capacity = 1 << 30  # evictions come from the trace, not the agent's LRU
        begin = host.start  # with its workload gone the host starts no agent: we do

        def start() -> None:
            begin()
            self.start()

        host.start = start
        finish = mem._done

        def done(completion: Completion) -> None:
            finish(completion)
            self._completed(completion)

        mem._done = done  # type: ignore[method-assign]
        host.in_flight = self.in_flight
        host.expected_requests = self.expected_requests

    def start(self) -> None:
        self.sim.schedule(0, self.pump)

    def _attach(self, ops: list[MemOp]) -> list[MemOp]:
        """An eviction whose MemWr waited in the agent's outbox behind a snoop answer was
        started with the fill it made room for, before its message was sent: attach it to a
        fill started after that answer was made and before the eviction left (and before a
        later snoop answer it went ahead of). Of several, the last one without an eviction of
        its own; a fill can make room twice, so a lone candidate is taken either way."""
        kept: list[MemOp] = []
        for op in ops:
            since = op.queued_since
            if since is not None:
                latest = self._sent(op)
                if op.queued_before is not None:  # ahead of a later snoop answer
                    latest = min(latest, op.queued_before)
                candidates = []
                for i in range(len(kept) - 1, -1, -1):
                    fill = kept[i]
                    start = self._sent(fill)
                    if start < since:
                        break
                    if fill.kind is not CoreOp.Evict and start < latest:
                        before = kept[i - 1] if i else None
                        paired = (
                            before is not None
                            and before.kind is CoreOp.Evict
                            and self._sent(before) == start
                        )  # it has the eviction that made room for it
                        candidates.append((paired, fill))
                unpaired = [fill for paired, fill in candidates if not paired]
                chosen = unpaired[0] if unpaired else None
                if len(candidates) == 1:
                    chosen = candidates[0][1]
                if chosen is not None:
                    chosen.first.append(op)
                    op = None  # type: ignore[assignment]
            if op is not None:
                kept.append(op)
        return kept

    def _sent(self, op: MemOp) -> int:
        """When the host's agent sent ``op``'s message to its port: before the port's
        pipeline (``llc_latency``) and the wait for the wire the EMC recorded."""
        return op.time - op.queued - self.pipeline

    @staticmethod
    def _messages(op: MemOp) -> SendOrder.Messages:
        """What ``op`` sends (its evictions first): when each reaches the switch, and its
        rank at the device."""
        return [(m.reaches, m.rank) for m in (*op.first, op)]

    def pump(self, _: object = None) -> None:
        """Start every operation whose turn it is, in recorded order.

        ``timing`` / ``validate``: when its message was sent to the port (``_sent``), after
        what arrives and completes at that instant (one turn), and after other hosts'
        operations of that instant that reached the device first (``SendOrder``).
        ``dependency``: it also waits for the completion it followed, and goes ``gap`` after
        it."""
        now = self.sim.now
        ops = self.ops
        while self.next < len(ops):
            op = ops[self.next]
            if self.dependency:
                desired = self._sent(op)
                if op.prev >= 0:
                    finished = self.done[op.prev]
                    if finished is None:
                        return  # its completion calls pump
                    desired = finished + op.gap - self.pipeline
            else:
                desired = self._sent(op)
                if now == desired and self.yielded != op.index:
                    self.yielded = op.index  # after what arrives and completes now
                    self.gave_way = 0
                    self.sim.schedule(0, self.pump)
                    return
                if now == desired and self.gave_way < SendOrder.PATIENCE:
                    room = self._room_for(op, self.next + 1)
                    step = self._messages(op) + (self._messages(room) if room else [])
                    gives_way = self.order.gives_way(now, self.number, step)
                else:
                    gives_way = False
                if gives_way:
                    self.gave_way += 1  # another host sent first at this instant
                    self.sim.schedule(0, self.pump)
                    return
            if now < desired:
                if self.wake_at != desired:
                    self.wake_at = desired
                    self.sim.schedule_at(desired, self.pump)
                return
            self.next += 1
            room = self._room_for(op, self.next)
            for evict in op.first:
                self.issue(evict)
            self.issue(op)
            self.order.started(self._sent(op), self.number, op.index)
            if room is not None:
                self.next += 1
                for evict in room.first:
                    self.issue(evict)
                self.issue(room)
                self.order.started(self._sent(room), self.number, room.index)

    def _room_for(self, op: MemOp, next_index: int) -> MemOp | None:
        """The fill that ``op``, an eviction, made room for: the next operation (at
        ``next_index``), when the agent sent both to the port at one instant with nothing
        arriving in between (one step)."""
        if op.kind is not CoreOp.Evict or next_index >= len(self.ops):
            return None
        after = self.ops[next_index]
        if after.kind is CoreOp.Evict or after.arrived != op.arrived:
            return None
        return after if self._sent(after) == self._sent(op) else None

    def issue(self, op: MemOp) -> None:
        mem, line = self.mem, op.line
        self.sent += 1
        if op.kind is CoreOp.Evict:
            evict = Op(CoreOp.Evict, line)
            if line in mem.busy or not mem.agent.can_issue(evict):
                self.parked.setdefault(line, []).append(op)
                return
            self.by_op[id(evict)] = op
            mem.held.pop(line, None)
            mem.busy[line] = None
            mem._call(mem.agent.issue, evict)
            return
        store = op.kind is CoreOp.Store
        access = Op(CoreOp.Store, line, mem.checks.new_value()) if store else Op(CoreOp.Load, line)
        self.by_op[id(access)] = op
        slot = _Slot(self.core)
        slot.op = access
        slot.issued_at = self.sim.now
        mem._try(slot)

    def _completed(self, completion: Completion) -> None:
        op = self.by_op.pop(id(completion.op), None)
        if op is None:
            return
        self.completed += 1
        self.done[op.index] = self.sim.now
        if op.hit_store and self.mem.agent.state(op.line) is HostMemState.E:
            self.sim.schedule(0, self._store_hit, op.line)
        busy = self.mem.busy
        for line in [line for line in self.parked if line not in busy]:
            for waiting in self.parked.pop(line):
                self.sent -= 1
                self.issue(waiting)
        if self.dependency:
            self.pump()

    def _store_hit(self, line: int) -> None:
        """The store a recorded load's copy took as a hit (it left dirty): no message."""
        mem = self.mem
        if line in mem.busy or mem.agent.state(line) is not HostMemState.E:
            return
        slot = _Slot(self.core)
        slot.op = Op(CoreOp.Store, line, mem.checks.new_value())
        slot.issued_at = self.sim.now
        mem._try(slot)

    def in_flight(self) -> int:
        return self.sent - self.completed

    def expected_requests(self) -> int:
        return self.count

    @property
    def unsent(self) -> int:
        return self.count - self.sent
