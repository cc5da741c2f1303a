"""A coherent device (Type-1, Type-2): the timed device cache and the program that drives it.

The protocol is ``slugsim.coherence.device.DeviceCache``, the untimed table-driven controller;
this component times it and gives it a place in the fabric:

- **Timing.** Each H2D message and each program operation fires rules of the controller's
  table; the component adds up the latency of every action those rules name
  (``coherence_timing.DEVICE_ACTION_LATENCY_PS``, each number cited there) and releases what
  the rules produced — D2H messages and completed operations — that much later. The state
  changes at once, so the controller's ordering rules hold as in the untimed model; messages
  leave in the order they were produced (a later, quicker rule never overtakes an earlier one).
- **Capacity.** The controller tracks any number of lines; the component gives it a
  set-associative tag array (``cache_size``, ``cache_ways``, LRU): a line that needs a way in a
  full set evicts the least recently used line that has no request outstanding (DirtyEvict
  from M, CleanEvictNoData from E or S, so the host's snoop filter stays exact).
- **Outstanding.** At most ``outstanding`` program operations are in flight (the CQIDs).
- **Messages.** D2H messages leave by ``port.send`` with the device's SPID and the host's
  DPID; H2D snoops that the table stalls block the H2D Req channel (held here, in order)
  until a response or data lets the head one through.

Read-modify-write (the workloads' atomic increment) is two operations on the controller: a
store that takes the line (RdOwn; its value is whatever the line held, so nothing changes), and,
at the instant it completes, a store hit with the new value. No message can come between them.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Callable, Mapping
from typing import Any

from ..ats.atc import (
    LARGE_BITS,
    Atc,
    AtcOutputs,
    AtcRequest,
    InvalidateRequest,
    InvSize,
    Status,
    TranslationCompletion,
)
from ..coherence.device import DeviceCache, DeviceEvent, DeviceState
from ..coherence.ops import Completion
from ..coherence.ops import Op as ProtocolOp
from ..contract import Component
from ..cxl import (
    AtsInvalidationCpl,
    AtsInvalidationReq,
    AtsPageReq,
    AtsPrgRsp,
    AtsTranslationCpl,
    AtsTranslationReq,
    D2HReq,
    D2HReqOpcode,
    D2HRsp,
    H2DReq,
    H2DRsp,
    H2DRspOpcode,
    MessageClass,
)
from ..cxl import GOState as GO
from ..stats.histogram import LatencyHistogram
from ..workloads.coherent import (
    FalseSharing,
    Migratory,
    Op,
    OpKind,
    ProducerConsumer,
    Program,
    ReadModifyWrite,
    StreamRead,
    line_span,
)
from .coherence_timing import DEVICE_ACTION_LATENCY_PS, TimedOutbox
from .coherent_params import Type1Params, coherent_device_issues, home_host, sharing_group

_H2D_REQ = int(MessageClass.H2D_REQ)
_IO = int(MessageClass.IO)
_GO = H2DRspOpcode.GO
_M2S_LAST = int(MessageClass.M2S_BIRSP)  # CXL.mem requests: classes 0 .. 2
_STABLE = (DeviceState.S, DeviceState.E, DeviceState.M)
PRG_SUCCESS = 0  # PRG Response code Success (CXL_REFERENCE.md §4)
PRG_INDICES = 1 << 9  # the Page Request Group index is 9 bits

# How the device reports each H2D response in its stats.
_GO_NAMES = {GO.S: "GO-S", GO.E: "GO-E", GO.M: "GO-M", GO.I: "GO-I", GO.ERR: "GO-Err"}
_RSP_NAMES = {
    H2DRspOpcode.WRITEPULL: "WritePull",
    H2DRspOpcode.GO_WRITEPULL: "GO_WritePull",
    H2DRspOpcode.EXTCMP: "ExtCmp",
    H2DRspOpcode.GO_WRITEPULL_DROP: "GO_WritePull_Drop",
    H2DRspOpcode.FAST_GO_WRITEPULL: "Fast_GO_WritePull",
    H2DRspOpcode.GO_ERR_WRITEPULL: "GO_ERR_WritePull",
}
# The responses that are a global observation (a GO of some kind) of a request.
GO_RESPONSES = frozenset(
    {"GO-S", "GO-E", "GO-M", "GO-I", "GO-Err", "GO_WritePull", "GO_WritePull_Drop",
     "Fast_GO_WritePull", "GO_ERR_WritePull"}
)  # fmt: skip


def opcode_name(opcode: Any) -> str:
    """'RdOwn' for D2HReqOpcode.RDOWN and so on: the spec's spelling (CXL_REFERENCE.md §1.3)."""
    return _SPELLING.get(opcode.name, opcode.name)


def named(counts: Mapping[Any, int]) -> dict[str, int]:
    """Counts by opcode -> counts by the opcode's name, sorted (for stats.json)."""
    return dict(sorted((opcode_name(op), n) for op, n in counts.items()))


def response_key(msg: H2DRsp) -> int:
    """An H2D response's kind as an int: its opcode, and for a GO the state it carries."""
    opcode = msg.opcode
    return (opcode << 4) | (msg.rsp_data & 0xF) if opcode is _GO else opcode << 4


def responses_named(counts: Mapping[int, int]) -> dict[str, int]:
    out: dict[str, int] = {}
    for key, n in counts.items():
        opcode = H2DRspOpcode(key >> 4)
        if opcode is _GO:
            name = _GO_NAMES.get(GO(key & 0xF), "GO-?")
        else:
            name = _RSP_NAMES.get(opcode, opcode.name)
        out[name] = out.get(name, 0) + n
    return dict(sorted(out.items()))


def go_count(counts: Mapping[int, int]) -> int:
    return sum(n for name, n in responses_named(counts).items() if name in GO_RESPONSES)


_SPELLING = {
    "RDCURR": "RdCurr",
    "RDOWN": "RdOwn",
    "RDSHARED": "RdShared",
    "RDANY": "RdAny",
    "RDOWNNODATA": "RdOwnNoData",
    "ITOMWR": "ItoMWr",
    "WRCUR": "WrCur",
    "CLFLUSH": "CLFlush",
    "CLEANEVICT": "CleanEvict",
    "DIRTYEVICT": "DirtyEvict",
    "CLEANEVICTNODATA": "CleanEvictNoData",
    "WOWRINV": "WOWrInv",
    "WOWRINVF": "WOWrInvF",
    "WRINV": "WrInv",
    "CACHEFLUSHED": "CacheFlushed",
    "SNPDATA": "SnpData",
    "SNPINV": "SnpInv",
    "SNPCUR": "SnpCur",
    "RSPIHITI": "RspIHitI",
    "RSPVHITV": "RspVHitV",
    "RSPIHITSE": "RspIHitSE",
    "RSPSHITSE": "RspSHitSE",
    "RSPSFWDM": "RspSFwdM",
    "RSPIFWDM": "RspIFwdM",
    "RSPVFWDV": "RspVFwdV",
}


class Pending:
    """One operation in the device: the workload's op (None: an eviction for room), what the
    controller was given, when it started and the D2H request it caused (None: a hit)."""

    __slots__ = (
        "fault_started",
        "first",
        "op",
        "opcode",
        "protocol_op",
        "started",
        "stepped",
        "translating",
        "vline",
    )

    def __init__(self, op: Op | None, started: int) -> None:
        self.op = op
        self.vline = op.line if op is not None else 0  # its untranslated line (ATS)
        self.fault_started = -1  # when the lookup that took a PRI fault started (ATS)
        self.started = started
        self.opcode: D2HReqOpcode | None = None
        self.protocol_op: ProtocolOp | None = None
        self.first = 0  # an RMW's value before its update (an eviction: its line)
        self.stepped = False  # an RMW whose line arrived: its store (a hit) is under way
        self.translating = 0  # when its ATC miss started (ATS)


def coherent_device_schema(description: str, extra: Mapping[str, Any] | None = None) -> Any:
    from ..stats.schema import INT, NUM, STRING, described, map_of, obj

    schema = obj(
        {
            "host": described(STRING, "the host whose home agent serves it"),
            "workload": described(STRING, "its workload kind ('' when it has none)"),
            "issued": described(INT, "program operations issued"),
            "completed": described(INT, "program operations completed"),
            "data_errors": described(
                INT, "values read that coherence should not have produced (0 when correct)"
            ),
            "items": described(INT, "producer_consumer: items passed"),
            "polls": described(INT, "producer_consumer: flag reads that found nothing new"),
            "cache": obj(
                {
                    "hits": described(INT, "operations served by the device cache"),
                    "misses": described(INT, "operations that sent a D2H request"),
                    "evictions": described(INT, "lines evicted for room"),
                    "dirty_evictions": described(INT, "of those, DirtyEvict"),
                },
                "the device cache",
            ),
            "d2h_requests": map_of(described(INT, "requests"), "D2H requests sent, by opcode"),
            "d2h_completed": described(INT, "D2H requests completed"),
            "errored": map_of(
                described(INT, "operations"),
                "D2H requests the host refused and answered with an error (GO-Err, "
                "GO_ERR_WritePull, error data), by opcode: the operation completed as failed",
            ),
            "h2d_responses": map_of(
                described(INT, "responses"), "H2D responses received, by kind (GO by state)"
            ),
            "go_received": described(INT, "H2D responses that are a GO of some kind"),
            "snoops_received": map_of(described(INT, "snoops"), "H2D snoops received, by opcode"),
            "snoop_responses": map_of(
                described(INT, "responses"), "D2H snoop responses sent, by opcode"
            ),
            "snoops_stalled": described(INT, "snoops held until their line's data arrived"),
            "eviction_latency_ns": map_of(
                described(NUM, "mean (ns)"), "mean latency of evictions for room, by D2H opcode"
            ),
            "ats": obj(
                {
                    "lookups": described(INT, "program operations translated by the ATC"),
                    "hits": described(INT, "... served from the ATC"),
                    "misses": described(INT, "... that waited for a translation"),
                    "merged": described(INT, "... of which joined one already requested"),
                    "translation_requests": described(INT, "Translation Requests sent"),
                    "invalidations": described(INT, "Invalidate Requests received"),
                    "hit_rate": described(NUM, "hits / lookups"),
                    "miss_latency_ns": described(NUM, "mean wait of a miss for its translation"),
                    "page_requests": described(INT, "Page Requests (PRI) sent"),
                    "prg_success": described(INT, "PRG Responses Success"),
                    "prg_failed": described(INT, "PRG Responses Invalid Request or Failure"),
                    "abandoned": described(
                        INT, "operations dropped: no translation the host would grant"
                    ),
                    "fault_latency_ns": described(
                        NUM,
                        "mean time from the lookup that sent a Page Request to its translation "
                        "after the PRG Response",
                    ),
                },
                "address translation (present only when params.ats is enabled)",
            ),
            **(extra or {}),
        },
        description,
    )
    schema["required"].remove("ats")
    return schema


class CoherentDevice(Component):
    """Base of the ``type1`` and ``type2`` kinds."""

    params: Type1Params

    def build(self) -> None:
        params = self.params
        self.home: str | None = None  # resolved in connect (the graph is complete then)
        self.home_pid = 0
        self.port: Any = None
        self.cache = DeviceCache(
            self.pid or 0,
            self._produce_message,
            self._produce_completion,
            name=self.name,
            on_transition=self._charge,
        )
        self.out = TimedOutbox(self.sim, DEVICE_ACTION_LATENCY_PS)
        lines = params.cache_size >> 6
        self.nsets = max(1, lines // params.cache_ways)
        self.ways = params.cache_ways
        self.sets: dict[int, dict[int, None]] = {}  # set -> resident lines, LRU first
        self.program: Program | None = None
        self.think_time = 0
        self.poll_interval = 0
        self.in_flight_ops = 0
        self.waiting: deque[Pending] = deque()  # operations the cache could not start yet
        self.pending: dict[int, Pending] = {}  # id(protocol op) -> its operation
        self.issuing: Pending | None = None
        self.follow_ups: list[Pending] = []  # RMWs whose line was just taken: store now
        self.blocked_snoops: deque[H2DReq] = deque()
        self.paused = False  # a migration stops it taking new operations (sim/migration.py)
        # statistics
        self.hits = 0
        self.misses = 0
        self.evictions = 0
        self.dirty_evictions = 0
        # by opcode (H2D responses by response_key); named in stats()
        self.d2h_requests: Counter[Any] = Counter()
        self.d2h_completed = 0
        self.errored: Counter[Any] = Counter()  # operations failed with GO-Err, by D2H opcode
        self.h2d_responses: Counter[int] = Counter()
        self.snoops_received: Counter[Any] = Counter()
        self.snoop_responses: Counter[Any] = Counter()
        self._costs: dict[int, int] = {}  # id(rule) -> latency of its actions
        self.snoops_stalled = 0
        # Latency (ps) of program operations by the D2H opcode of the request they sent, of
        # those the cache served, and of evictions for room (not program operations).
        self.latency: dict[Any, LatencyHistogram] = {}  # by D2H opcode
        self.hit_latency = LatencyHistogram()
        self.evict_latency: dict[Any, LatencyHistogram] = {}
        self.budget = self.fabric.budget
        ats = params.ats
        self.atc: Atc | None = None
        if ats is not None and ats.enabled:
            self.atc = Atc(
                entries=ats.atc_entries,
                ways=ats.atc_ways,
                large_entries=ats.atc_large_entries,
                mshrs=ats.mshrs,
                waiters=ats.waiters,
            )
        self.translating: dict[int, Pending] = {}  # ATC request tag -> operation
        self.untranslated: deque[Pending] = deque()  # operations waiting for ATC room
        self.atc_tags = 0
        self.atc_miss_latency = LatencyHistogram()
        self.faulting: dict[int, list[Pending]] = {}  # untranslated page -> its PRI waiters
        self.prg_pages: dict[int, int] = {}  # PRG index -> untranslated page
        self.prg_next = 0
        self.page_requests = 0
        self.prg_success = 0
        self.prg_failed = 0
        self.abandoned = 0
        self.local_drops = 0  # no-access translations dropped after a PRG Response
        self.fault_latency = LatencyHistogram()

    def cache_home(self) -> str | None:
        return home_host(self.fabric.graph, self.name, self.params)

    def connect(self) -> None:
        for attachment in self.attachments:
            attachment.port.handler = self.on_message
        self.home = self.cache_home()
        if self.home is not None:
            self.port = self.fabric.port_towards(self.name, self.home)
            self.home_pid = self.fabric.pids[self.home]

    def start(self) -> None:
        workload = self.params.workload
        if workload is None or self.home is None:
            return
        self.program = self._make_program()
        self.think_time = workload.think_time
        self.poll_interval = workload.poll_interval
        self.sim.schedule(0, self.pump)

    def _make_program(self) -> Program:
        workload = self.params.workload
        assert workload is not None
        base, lines = line_span(workload.base, workload.footprint)
        kind = workload.kind
        if kind == "stream_read":
            return StreamRead(base, lines, workload.requests)
        if kind == "read_modify_write":
            return ReadModifyWrite(base, lines, workload.requests)
        if kind == "migratory":
            return Migratory(base, lines, workload.requests, self.rng)
        if kind == "false_sharing":
            slot = sharing_group(self.fabric.graph, self.name).index(self.name)
            return FalseSharing(base, lines, workload.requests, slot, self.rng)
        return ProducerConsumer(workload.role == "producer", base, lines, workload.requests)

    # -- the program --------------------------------------------------------------------------

    def pump(self) -> None:
        """Start what the program offers while there is room (and retry what had to wait)."""
        program = self.program
        if program is None:
            return
        for _ in range(len(self.waiting)):
            pending = self.waiting.popleft()
            if not self._start(pending):
                self.waiting.append(pending)
        if self.paused:
            return
        limit = self.params.outstanding
        while self.in_flight_ops < limit and not self.waiting:
            op = program.next()
            if op is None:
                return
            self.in_flight_ops += 1
            pending = Pending(op, self.sim.now)
            if self.atc is not None:
                self._translate(pending)
            elif not self._start(pending):
                self.waiting.append(pending)

    # -- address translation (params.ats) -----------------------------------------------------

    def _translate(self, pending: Pending) -> None:
        """Ask the ATC for the operation's HPA; a hit starts it now (assumption: the ATC is
        looked up in parallel with the cache tags, so a hit adds no time), a miss when the
        host's Translation Completion arrives."""
        atc = self.atc
        assert atc is not None and pending.op is not None
        if not atc.can_accept():
            self.untranslated.append(pending)
            return
        tag = self.atc_tags
        self.atc_tags += 1
        self.translating[tag] = pending
        pending.translating = self.sim.now
        write = int(pending.op.kind is not OpKind.LOAD)
        self._translated(atc.request(AtcRequest(tag, pending.op.line >> 6, write, 1)))

    def _translated(self, out: AtcOutputs) -> None:
        for treq in out.translation_requests:
            self.port.send(
                AtsTranslationReq(
                    requester_id=self.pid or 0,
                    tag=treq.tag,
                    addr=treq.page << 12,
                    dpid=self.home_pid,
                )
            )
        for rsp in out.responses:
            pending = self.translating.pop(rsp.tag)
            op = pending.op
            assert op is not None
            status = rsp.status
            if status == Status.PERM:
                self._page_fault(pending)  # not resident, or the access is not granted
                continue
            if status != Status.OK:  # the host refused the translation, or CXL.io only
                self._abandon(pending)
                continue
            if not rsp.hit:
                self.atc_miss_latency.record(self.sim.now - pending.translating)
            if pending.fault_started >= 0:
                self.fault_latency.record(self.sim.now - pending.fault_started)
                pending.fault_started = -1
            line = (rsp.page << 6) | (op.line & 63)
            if line != op.line:
                pending.op = op._replace(line=line)
            if not self._start(pending):
                self.waiting.append(pending)

    def _on_ats(self, msg: Any) -> None:
        atc = self.atc
        if atc is None:
            raise AssertionError(f"{self.name} has no ATC, but {type(msg).__name__} reached it")
        if msg.__class__ is AtsTranslationCpl:
            self._translated(atc.complete(TranslationCompletion.from_message(msg)))
            while self.untranslated and atc.can_accept():
                self._translate(self.untranslated.popleft())
        elif msg.__class__ is AtsInvalidationReq:
            inv = InvalidateRequest.from_message(msg)
            out = atc.invalidate(inv)
            self._retranslate_waiting(inv)
            # Responses leave the ATC as they are made: every one before this is out already.
            # The completion leaves behind every D2H request the device has produced so far
            # (the outbox keeps a port's messages in order), so none carrying the old HPA
            # follows it.
            for done in out.invalidations:
                cpl = done.completion.to_message(self.pid or 0)
                self.out.begin()
                self.out.message(
                    self.port,
                    AtsInvalidationCpl(
                        requester_id=cpl.requester_id,
                        itag_vector=cpl.itag_vector,
                        cc=cpl.cc,
                        dpid=self.home_pid,
                    ),
                )
                self.out.release()
        elif msg.__class__ is AtsPrgRsp:
            self._page_response(msg)
        else:
            raise AssertionError(f"{self.name}: unexpected {type(msg).__name__}")
        if self.waiting:
            self.pump()

    def _page_fault(self, pending: Pending) -> None:
        """The ATC granted no access the operation needs (R = W = 0: not resident): ask the
        host with a Page Request, one per page; the operation waits for the PRG Response."""
        op = pending.op
        assert op is not None
        page = pending.vline >> 6
        parked = self.faulting.get(page)
        if parked is None:
            # the fault latency is timed on the operation that sends the Page Request
            if pending.fault_started < 0:
                pending.fault_started = pending.translating
            parked = self.faulting[page] = []
            index = self.prg_next
            self.prg_next = (index + 1) % PRG_INDICES
            self.prg_pages[index] = page
            self.page_requests += 1
            self.port.send(
                AtsPageReq(
                    requester_id=self.pid or 0,
                    prg_index=index,
                    addr=page << 12,
                    read=1,
                    write=int(op.kind is not OpKind.LOAD),
                    dpid=self.home_pid,
                )
            )
        parked.append(pending)

    def _page_response(self, msg: AtsPrgRsp) -> None:
        page = self.prg_pages.pop(msg.prg_index)
        parked = self.faulting.pop(page)
        atc = self.atc
        assert atc is not None
        if msg.code != PRG_SUCCESS:
            self.prg_failed += 1
            for pending in parked:
                self._abandon(pending)
            return
        self.prg_success += 1
        # The ATC still holds the no-access translation: drop it so the retry asks the host
        # (assumption: the device does this itself; CXL_REFERENCE.md §4 says nothing on it).
        atc.invalidate(InvalidateRequest(0, page, InvSize.PAGE))
        self.local_drops += 1
        for pending in parked:
            self._retranslate(pending)

    def _retranslate(self, pending: Pending) -> None:
        op = pending.op
        assert op is not None
        if op.line != pending.vline:
            pending.op = op._replace(line=pending.vline)
        self._translate(pending)

    def _retranslate_waiting(self, inv: InvalidateRequest) -> None:
        """Operations translated but not started yet hold an HPA the invalidation revokes:
        they translate again."""
        size = InvSize(inv.size)
        region = inv.page >> LARGE_BITS
        keep: deque[Pending] = deque()
        again = []
        for pending in self.waiting:
            page = pending.vline >> 6
            if (
                size is InvSize.ALL
                or (size is InvSize.PAGE and page == inv.page)
                or (size is InvSize.LARGE and page >> LARGE_BITS == region)
            ):
                again.append(pending)
            else:
                keep.append(pending)
        self.waiting = keep
        for pending in again:
            self._retranslate(pending)

    def _abandon(self, pending: Pending) -> None:
        """No translation the host grants covers the operation: the device drops it (counted;
        the program never sees it complete)."""
        self.abandoned += 1
        self.in_flight_ops -= 1
        self.sim.schedule(0, self.pump)

    def running(self) -> bool:
        """Whether the program still has operations to issue or in flight."""
        program = self.program
        if program is None or program.finished:
            return False
        return not (self.abandoned and self.in_flight_ops == 0 and not self.untranslated)

    def _start(self, pending: Pending) -> bool:
        """Give an operation to the controller; False when its line or set is busy now."""
        op = pending.op
        line = op.line
        state = self.cache.line_state(line)
        if state not in _STABLE and self.cache.busy(line):
            return False
        if not self._make_room(line):
            return False
        if op.kind is OpKind.LOAD:
            kind, value = DeviceEvent.LoadShared, 0
        elif op.kind is OpKind.STORE:
            kind, value = DeviceEvent.StoreOwn, op.value
        else:  # RMW
            assert op.update is not None
            if state in (DeviceState.E, DeviceState.M):
                pending.first = self.cache.line_value(line)
                kind, value = DeviceEvent.StoreOwn, op.update(pending.first)
            else:
                if state is DeviceState.S:
                    self._fire_issue(None, ProtocolOp(DeviceEvent.Drop, line))
                # take the line (its value is unknown until the data is here)
                kind, value = DeviceEvent.StoreOwn, -1
        protocol_op = ProtocolOp(kind, line, value)
        pending.protocol_op = protocol_op
        self.pending[id(protocol_op)] = pending
        if not self._fire_issue(pending, protocol_op):
            del self.pending[id(protocol_op)]
            return False
        return True

    def _fire_issue(self, pending: Pending | None, op: ProtocolOp) -> bool:
        self.issuing = pending
        self.out.begin()
        try:
            accepted = self.cache.issue(op)
        finally:
            self.issuing = None
        self._finish()
        return accepted

    def _make_room(self, line: int) -> bool:
        """A way for ``line`` in its set (evicting the LRU idle line if the set is full)."""
        index = line % self.nsets
        resident = self.sets.get(index)
        if resident is None:
            resident = self.sets[index] = {}
        if line in resident:
            del resident[line]
            resident[line] = None  # most recently used
            return True
        if len(resident) >= self.ways:
            cache = self.cache
            for old in [x for x in resident if cache.line_state(x) is DeviceState.I]:
                del resident[old]  # taken by a snoop, or evicted
                if not cache.busy(old):
                    cache.lines.pop(old, None)
        if len(resident) >= self.ways:
            victim = next(
                (x for x in resident if cache.line_state(x) in _STABLE and not cache.busy(x)), None
            )
            if victim is None:
                return False  # every way waits for a response: retry when one completes
            del resident[victim]
            self.evictions += 1
            if cache.line_state(victim) is DeviceState.M:
                self.dirty_evictions += 1
            evict = ProtocolOp(DeviceEvent.EvictNoData, victim)
            pending = Pending(None, self.sim.now)
            pending.first = victim
            self.pending[id(evict)] = pending
            self._fire_issue(pending, evict)
        resident[line] = None
        return True

    # -- the controller's outputs -------------------------------------------------------------

    def _charge(self, transition: Any) -> None:
        rule = transition.rule
        cost = self._costs.get(id(rule))
        if cost is None:
            cost = self._costs[id(rule)] = sum(map(DEVICE_ACTION_LATENCY_PS.get, rule.actions))
        self.out.latency += cost

    def _produce_message(self, msg: Any) -> None:
        cls = msg.__class__
        if cls is D2HReq:
            msg.spid = self.pid
            self.d2h_requests[msg.opcode] += 1
            if self.issuing is not None:
                self.issuing.opcode = msg.opcode
        elif cls is D2HRsp:
            self.snoop_responses[msg.opcode] += 1
        msg.dpid = self.home_pid
        self.out.message(self.port, msg)

    def _produce_completion(self, completion: Completion) -> None:
        pending = self.pending.pop(id(completion.op), None)
        if pending is None:
            return  # a silent drop of an S line before an RMW
        if pending.opcode is not None and not pending.stepped:
            self.d2h_completed += 1
        op = pending.op
        if completion.failed:  # GO-Err: the host refused the request; nothing was kept
            self.errored[pending.opcode] += 1
        if op is None:  # an eviction: timed, not a program operation
            self.out.completion(self._evicted, pending)
            return
        if completion.failed:
            self.out.completion(self._done, (pending, None))
            return
        if op.kind is OpKind.RMW and completion.op.value == -1:
            # The line is ours now: its value is the data that filled it.
            entry = self.cache.lines[op.line]
            assert entry.txn is not None and entry.txn.data is not None
            pending.first = entry.txn.data
            pending.stepped = True
            self.follow_ups.append(pending)
            return
        value = completion.value if completion.value is not None else pending.first
        self.out.completion(self._done, (pending, value))

    def _finish(self) -> None:
        """The controller call is over: release its outputs after its latency; an RMW whose
        line just arrived stores its new value at once (nothing may come in between)."""
        while self.follow_ups:
            pending = self.follow_ups.pop()
            assert pending.op.update is not None
            store = ProtocolOp(
                DeviceEvent.StoreOwn, pending.op.line, pending.op.update(pending.first)
            )
            pending.protocol_op = store
            self.pending[id(store)] = pending
            if not self.cache.issue(store):  # the line is M: a store hits
                raise AssertionError(f"{self.name}: the store of an RMW did not hit")
        self.out.release()

    def _record(self, pending: Pending, kept: dict[Any, LatencyHistogram]) -> None:
        opcode = pending.opcode
        histogram = kept.get(opcode)
        if histogram is None:
            histogram = kept[opcode] = LatencyHistogram()
        histogram.record(self.sim.now - pending.started)

    def _evicted(self, pending: Pending) -> None:
        self._record(pending, self.evict_latency)
        # Forget the line's entry once it is gone (an absent line is I): memory stays bounded
        # by the cache, not by the footprint.
        line = pending.first
        entry = self.cache.lines.get(line)
        if entry is not None and entry.state is DeviceState.I and entry.txn is None:
            del self.cache.lines[line]
        if self.waiting:
            self.pump()

    def _done(self, item: tuple[Pending, int | None]) -> None:
        """An operation is over: done with ``value``, or failed (GO-Err) when it is None."""
        pending, value = item
        now = self.sim.now
        if pending.opcode is None:
            self.hits += 1
            self.hit_latency.record(now - pending.started)
        else:
            self.misses += 1
            self._record(pending, self.latency)
        self.in_flight_ops -= 1
        program = self.program
        assert program is not None
        if value is None:
            program.fail(pending.op)  # type: ignore[arg-type]
        else:
            program.complete(pending.op, value)  # type: ignore[arg-type]
        self.budget.complete(now)
        delay = self.think_time
        if program.backoff:
            program.backoff = False
            delay = max(delay, self.poll_interval)
        if delay:
            self.sim.schedule(delay, self.pump)
        else:
            self.pump()

    # -- H2D messages -------------------------------------------------------------------------

    def on_message(self, msg: Any) -> None:
        vc = msg.VC
        if vc <= _M2S_LAST:
            self.on_memory(msg)
            return
        if vc == _IO:
            self._on_ats(msg)
            return
        if vc == _H2D_REQ:
            self.snoops_received[msg.opcode] += 1
            if self.blocked_snoops or not self._receive(msg):
                if not self.blocked_snoops:
                    self.snoops_stalled += 1
                self.blocked_snoops.append(msg)
            return
        if msg.__class__ is H2DRsp:
            self.h2d_responses[response_key(msg)] += 1
        if not self._receive(msg):
            raise AssertionError(f"{self.name}: the device cache stalled {msg!r}")
        while self.blocked_snoops and self._receive(self.blocked_snoops[0]):
            self.blocked_snoops.popleft()
        if self.waiting:
            self.pump()

    def _receive(self, msg: Any) -> bool:
        self.out.begin()
        accepted = self.cache.receive(msg)
        self._finish()
        return accepted

    def on_memory(self, msg: Any) -> None:
        raise AssertionError(f"{self.name} holds no memory, but {type(msg).__name__} reached it")

    # -- what the run reads -------------------------------------------------------------------

    def latency_histograms(self) -> Mapping[tuple[str, str], LatencyHistogram]:
        """Program operations: class ``d2h:<opcode>`` by the request they sent, ``device_hit``
        for those the device cache served; the path is the device."""
        kept = {(f"d2h:{opcode_name(op)}", self.name): h for op, h in self.latency.items()}
        if self.hit_latency:
            kept["device_hit", self.name] = self.hit_latency
        return kept

    def expected_requests(self) -> int:
        workload = self.params.workload
        if workload is None or self.home is None:
            return 0
        if workload.kind == "producer_consumer":
            _, lines = line_span(workload.base, workload.footprint)
            return workload.requests * (lines + 1)
        return workload.requests

    def in_flight(self) -> int:
        program = self.program
        if program is None:
            return 0
        return 0 if program.finished else max(1, self.in_flight_ops)

    def stats(self, elapsed: int) -> dict[str, Any]:
        program = self.program
        workload = self.params.workload
        stats: dict[str, Any] = {
            "host": self.home or "",
            "workload": workload.kind if workload is not None else "",
            "issued": program.issued if program else 0,
            "completed": program.completed if program else 0,
            "data_errors": program.errors if program else 0,
            "items": program.items_done if isinstance(program, ProducerConsumer) else 0,
            "polls": program.polls if isinstance(program, ProducerConsumer) else 0,
            "cache": {
                "hits": self.hits,
                "misses": self.misses,
                "evictions": self.evictions,
                "dirty_evictions": self.dirty_evictions,
            },
            "d2h_requests": named(self.d2h_requests),
            "d2h_completed": self.d2h_completed,
            "errored": named(self.errored),
            "h2d_responses": responses_named(self.h2d_responses),
            "go_received": go_count(self.h2d_responses),
            "snoops_received": named(self.snoops_received),
            "snoop_responses": named(self.snoop_responses),
            "snoops_stalled": self.snoops_stalled,
            "eviction_latency_ns": {
                opcode_name(op): round(h.mean() / 1000, 3)
                for op, h in sorted(self.evict_latency.items())
            },
        }
        if self.atc is not None:
            c = self.atc.counters
            miss = self.atc_miss_latency
            fault = self.fault_latency
            stats["ats"] = {
                "lookups": c.lookups,
                "hits": c.hits,
                "misses": c.misses,
                "merged": c.merged,
                "translation_requests": c.treqs,
                "invalidations": c.invalidations - self.local_drops,
                "hit_rate": round(c.hits / c.lookups, 6) if c.lookups else 0.0,
                "miss_latency_ns": round(miss.mean() / 1000, 3) if miss else 0.0,
                "page_requests": self.page_requests,
                "prg_success": self.prg_success,
                "prg_failed": self.prg_failed,
                "abandoned": self.abandoned,
                "fault_latency_ns": round(fault.mean() / 1000, 3) if fault else 0.0,
            }
        return stats

    @classmethod
    def check(cls, graph: Any, name: str, params: Any, place: Callable[[tuple], Any]) -> list[Any]:
        return coherent_device_issues(graph, name, params, place)
