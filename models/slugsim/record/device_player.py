"""Re-driving a coherent accelerator (Type-1, Type-2) from its EMC trace.

``device_requests_of`` reads a device's trace for the requests its program caused: the egress
D2H requests a program operation sends from I or S (``RdShared`` for a load, ``RdOwn`` for a
store from I or a read-modify-write, ``RdOwnNoData`` for a store from S; CXL_REFERENCE.md
§1.3), each with the time its GO arrived and the time its last response (GO or data) arrived,
matched by CQID. Evictions (``DirtyEvict``, ``CleanEvict``, ``CleanEvictNoData``) are left out:
the device's cache makes them again when it needs room. Hits sent nothing and are not in the trace.

``DevicePlayer`` takes over a device and gives its own ``CoherentDevice`` a ``RecordedProgram``
in place of its workload: the same table-driven cache controller issues the operations,
answers the host's snoops and evicts for room; only where operations come from changes.

- ``timing``: each operation is started so that its request would go on the wire at its
  recorded time (the controller's lookup before the request is subtracted);
- ``validate``: the same, and an operation whose recorded CQID is held by an operation that
  completes later in the same instant waits for it, so events within an instant keep their
  recorded order (the controller gives the smallest free CQID);
- ``dependency``: operations start in recorded order, within the device's ``outstanding``
  limit; an operation goes ``gap`` after the completion it followed in the recording (``gap``
  as recorded), and after the accesses to its line that the host granted before it to other
  devices (``grant_history``): a write after the previous write and every read since, a read
  after the previous write. So every line is granted in the recorded order.

Values. Data is not in the trace. A write is named by its grant: the value ``name_value(d, n)``
stands for what device ``d`` wrote while it held the line from its ``n``-th request on (hits
under that ownership included), so the replay writes that value, and every replayed load is
checked against the write that preceded it in the recorded per-line order.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..coherence.device import DeviceState
from ..components.coherence_timing import DEVICE_ACTION_LATENCY_PS
from ..cxl import Channel, D2HReqOpcode, Direction, H2DData, H2DRsp, H2DRspOpcode
from ..emc.trace import Trace
from ..kernel import Crossing
from ..workloads.coherent import Op, OpKind, Program
from .player import WriteOrder

# What a program operation sends from I or S (components/coherent_device.py ``_start`` and the
# device table, coherence/device.py): RdShared for a load; RdOwn for a store from I, or for a
# read-modify-write (which from S drops its copy first); RdOwnNoData for a store from S. A
# replayed RdOwn is a store, or a read-modify-write when the line is in S.
PROGRAM_REQUESTS = {
    D2HReqOpcode.RDSHARED: OpKind.LOAD,
    D2HReqOpcode.RDOWN: OpKind.RMW,
    D2HReqOpcode.RDOWNNODATA: OpKind.STORE,
}
_SEND_ACTION = {
    D2HReqOpcode.RDSHARED: "send_rdshared",
    D2HReqOpcode.RDOWN: "send_rdown",
    D2HReqOpcode.RDOWNNODATA: "send_rdownnodata",
}
_GO = int(H2DRspOpcode.GO)

Grant = tuple[str, int, bool]  # (device, request index, a write)


@dataclass
class DeviceRequest:
    index: int
    time: int  # recorded: when it was ready for the wire (its wire time less its wait there)
    opcode: D2HReqOpcode
    addr: int  # byte address of the line
    cqid: int = 0
    granted: int | None = None  # when its GO arrived
    grant_record: int = -1  # the GO's record number in the trace (ties)
    response: int | None = None  # when its last response (GO or data) arrived
    prev: int = -1  # the request whose completion it followed, -1 none
    gap: int = 0  # recorded: from prev's completion to this request being ready for the wire
    after: list[tuple[str, int]] = field(default_factory=list)  # grants to wait for
    expect: int | None = None  # a load: the value it must read

    @property
    def write(self) -> bool:
        return self.opcode is not D2HReqOpcode.RDSHARED


def device_requests_of(trace: Trace, cycle_ps: int) -> list[DeviceRequest]:
    """The program's D2H requests in ``trace``, in the order they left the device."""
    found: list[DeviceRequest] = []
    open_cqids: dict[int, DeviceRequest | None] = {}
    for i, record in enumerate(trace.records):
        time = record.timestamp * cycle_ps
        channel = record.channel
        if channel == Channel.D2H_REQ and record.direction == Direction.EGRESS:
            kind = PROGRAM_REQUESTS.get(D2HReqOpcode(record.opcode))  # type: ignore[call-overload]
            if kind is None:
                open_cqids[record.tag] = None  # an eviction: its responses are not ours
                continue
            ready = time - trace.queued(i) * cycle_ps
            request = DeviceRequest(
                len(found), ready, D2HReqOpcode(record.opcode), record.addr, record.tag
            )
            found.append(request)
            open_cqids[record.tag] = request
        elif (
            channel in (Channel.H2D_RSP, Channel.H2D_DATA) and record.direction == Direction.INGRESS
        ):
            request = open_cqids.get(record.tag)
            if request is None:
                continue
            request.response = time
            if channel == Channel.H2D_RSP and record.opcode == _GO:
                request.granted, request.grant_record = time, i
    # Each request follows the latest completion before it (responses sorted by time).
    done = sorted((r.response, r.index) for r in found if r.response is not None)
    k, latest = 0, None
    for r in found:
        while k < len(done) and done[k][0] <= r.time:
            if done[k][1] < r.index and (latest is None or done[k][0] >= latest[0]):
                latest = done[k]
            k += 1
        if latest is not None:
            r.prev, r.gap = latest[1], r.time - latest[0]
    return found


def name_value(device: int, n: int) -> int:
    """The value that stands for device number ``device``'s ``n``-th request's write."""
    return (device + 1) << 32 | (n + 1)


def grant_history(requests: dict[str, list[DeviceRequest]]) -> dict[int, list[Grant]]:
    """Per line address: the grants (GOs) of the devices' requests in the order the host made
    them. A snoop sent after a GO arrives after it (CXL_REFERENCE.md §1.1, the device table's
    snoop-pushes-GO), so two conflicting grants arrive in the order they were made."""
    by_line: dict[int, list[tuple[int, str, int, DeviceRequest]]] = defaultdict(list)
    for device, found in requests.items():
        for r in found:
            if r.granted is not None:
                by_line[r.addr].append((r.granted, device, r.grant_record, r))
    return {
        addr: [(device, r.index, r.write) for _, device, _, r in sorted(grants, key=_order)]
        for addr, grants in sorted(by_line.items())
    }


def _order(item: tuple[int, str, int, DeviceRequest]) -> tuple[int, str, int]:
    return item[0], item[1], item[2]


def epochs(history: dict[int, list[Grant]]) -> dict[int, list[tuple[Grant | None, frozenset]]]:
    """A line's grants as epochs: a write and the reads granted after it until the next write
    (their order among themselves does not matter: they see the same value)."""
    out: dict[int, list[tuple[Grant | None, frozenset]]] = {}
    for addr, grants in history.items():
        rows: list[tuple[Grant | None, set[Grant]]] = [(None, set())]
        for g in grants:
            if g[2]:
                rows.append((g, set()))
            else:
                rows[-1][1].add(g)
        out[addr] = [(w, frozenset(reads)) for w, reads in rows if w is not None or reads]
    return out


def final_writes(history: dict[int, list[Grant]]) -> dict[int, Grant]:
    """Per line: the last write granted (the value the line ends with)."""
    out = {}
    for addr, grants in history.items():
        writes = [g for g in grants if g[2]]
        if writes:
            out[addr] = writes[-1]
    return out


def order_grants(
    requests: dict[str, list[DeviceRequest]],
    history: dict[int, list[Grant]],
    numbers: dict[str, int],
) -> int:
    """Fill in each request's ``after`` (the grants to other devices it must follow) and each
    load's ``expect``; ``numbers`` gives each device its number for ``name_value``. Returns
    how many requests wait for another device."""
    waiting = 0
    for grants in history.values():
        last_write: Grant | None = None
        reads: list[Grant] = []
        for g in grants:
            device, index, write = g
            r = requests[device][index]
            deps = ([last_write] if last_write is not None else []) + (reads if write else [])
            r.after = [(d, i) for d, i, _ in deps if d != device]
            waiting += bool(r.after)
            if not write:
                # memory starts at 0 in the replay; a write stands for its name (above)
                r.expect = (
                    0 if last_write is None else name_value(numbers[last_write[0]], last_write[1])
                )
                reads.append(g)
            else:
                last_write, reads = g, []
    return waiting


class RecordedProgram(Program):
    """The device's program during a replay: operations come from its ``DevicePlayer``."""

    def __init__(self, player: DevicePlayer) -> None:
        super().__init__()
        self.player = player
        self.requests = len(player.requests)

    @property
    def finished(self) -> bool:
        return self.completed >= self.requests

    def next(self) -> Op | None:
        op = self.player.next_op()
        return None if op is None else self.issue(op)

    def complete(self, op: Op, value: int) -> None:
        super().complete(op, value)
        if self.player.completed(op, value):
            self.errors += 1


class DevicePlayer:
    """Sends a device's recorded requests through its own cache (see the module docstring)."""

    def __init__(
        self,
        device: Any,
        recorded_name: str,
        number: int,
        requests: list[DeviceRequest],
        mode: str,
        order: WriteOrder,
    ) -> None:
        self.device = device
        self.sim = device.sim
        self.recorded_name = recorded_name
        self.number = number
        self.requests = requests
        self.dependency = mode == "dependency"
        # validate: recorded times, and the order of events within an instant too
        self.exact = mode == "validate"
        self.order = order
        self.next = 0
        self.wake_at = -1
        self.done: list[int | None] = [None] * len(requests)
        self.on_line: dict[int, DeviceRequest] = {}  # line -> its request in flight
        self.arrived: dict[int, int] = {}  # line -> when its request's last response came
        self.read_errors: list[str] = []
        self.loads_checked = 0
        self.program: RecordedProgram | None = None
        device.start = self.start
        device.expected_requests = lambda: len(self.requests)
        device.in_flight = self.in_flight
        # A request is done, as in the recording, when its last response reaches the device
        # (the controller's own latency after that is the replay's, not part of the gap).
        for attachment in device.attachments:
            attachment.port.add_probe(self._observe)

    def _observe(self, port: Any, msg: Any, direction: Crossing, time: int) -> None:
        if direction is Crossing.IN and msg.__class__ in (H2DRsp, H2DData):
            entry = self.device.cache.txns.get(msg.cqid)
            if entry is not None and entry.line in self.on_line:
                self.arrived[entry.line] = time

    def start(self) -> None:
        device = self.device
        if device.home is None:
            return
        self.program = device.program = RecordedProgram(self)
        device.think_time = device.poll_interval = 0
        self.sim.schedule(0, device.pump)

    def in_flight(self) -> int:
        return len(self.on_line)

    @property
    def unsent(self) -> int:
        return len(self.requests) - self.next

    def _start_at(self, r: DeviceRequest) -> int | None:
        """When ``r``'s operation should start, or None while it waits for a completion
        (whose handler pumps the device)."""
        lookup = DEVICE_ACTION_LATENCY_PS.get(_SEND_ACTION[r.opcode], 0)
        if not self.dependency:
            return r.time - lookup
        for key in r.after:
            if key not in self.order.done:
                self.order.wait(key, self.device.pump)
                return None
        if r.prev < 0:
            return r.time - lookup
        done = self.done[r.prev]
        return None if done is None else done + r.gap - lookup

    def _cqid_taken(self, cqid: int) -> bool:
        """The recorded CQID is held by a program operation that completes later (the
        controller gives the smallest free CQID, so it was free when the request left)."""
        entry = self.device.cache.txns.get(cqid)
        return entry is not None and entry.line in self.on_line

    def next_op(self) -> Op | None:
        if self.next >= len(self.requests):
            return None
        r = self.requests[self.next]
        when = self._start_at(r)
        if when is None:
            return None
        if when > self.sim.now:
            if self.wake_at != when:
                self.wake_at = when
                self.sim.schedule_at(when, self.device.pump)
            return None
        line = r.addr >> 6
        if line in self.on_line:
            return None  # its previous operation on the line is still in flight
        if self.exact and self._cqid_taken(r.cqid):
            return None  # freed later in this instant, as recorded: its completion pumps
        self.next += 1
        self.on_line[line] = r
        kind = PROGRAM_REQUESTS[r.opcode]
        value = name_value(self.number, r.index)
        if kind is OpKind.RMW and self.device.cache.line_state(line) is DeviceState.S:
            # RdOwn from S: the device dropped its copy first, as a read-modify-write does
            return Op(kind, line, update=_constant(value))
        if kind is OpKind.LOAD:
            return Op(kind, line)
        return Op(OpKind.STORE, line, value)  # RdOwn from I, RdOwnNoData from S

    def completed(self, op: Op, value: int) -> bool:
        """``op`` completed having read ``value``; True when a load read the wrong value."""
        r = self.on_line.pop(op.line)
        now = self.sim.now
        self.done[r.index] = self.arrived.pop(op.line, now)  # a hit: now
        self.order.complete((self.recorded_name, r.index), now)
        if r.expect is None or op.kind is not OpKind.LOAD:
            return False
        self.loads_checked += 1
        if value == r.expect:
            return False
        self.read_errors.append(
            f"{self.recorded_name} request {r.index} (line {r.addr:#x}) read {value:#x}, "
            f"expected {r.expect:#x}"
        )
        return True


def _constant(value: int) -> Callable[[int], int]:
    return lambda _old: value


def final_values(system: Any, lines: list[int]) -> dict[int, int]:
    """Each line's value at the end of a run: a device's E/M copy, else its home's memory."""
    from ..components.coherent_device import CoherentDevice

    values: dict[int, int] = {}
    devices = [c for c in system.components.values() if isinstance(c, CoherentDevice)]
    homes = [c.home_agent for c in system.components.values() if getattr(c, "home_agent", None)]
    for addr in lines:
        line = addr >> 6
        value = None
        for device in devices:
            if device.cache.line_state(line) in (DeviceState.E, DeviceState.M):
                value = device.cache.line_value(line)
        if value is None:
            for home in homes:
                entry = home.agent.lines.get(line)
                if entry is not None:
                    value = entry.memory
        values[addr] = value or 0
    return values
