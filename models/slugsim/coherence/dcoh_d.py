"""The HDM-D DCOH: the bias table and bias cache, flips, device accesses by bias (see
``dcoh.py`` for the overview, CXL_REFERENCE.md §3.1)."""

from __future__ import annotations

from collections.abc import Callable
from enum import unique

from slugsim.coherence.controller import LineEntry, Transition
from slugsim.coherence.dcoh_base import DeviceMemoryBase, DevOp
from slugsim.coherence.monitor import Violation
from slugsim.coherence.ops import Completion, Op
from slugsim.coherence.snoop_filter import SnoopFilter
from slugsim.coherence.spec import LINE_BYTES
from slugsim.coherence.table import Described, Table
from slugsim.cxl import (
    D2HReq,
    D2HReqOpcode,
    M2SReq,
    M2SReqOpcode,
    M2SRwD,
    Message,
    MetaValue,
)


@unique
class BiasState(Described):
    HOST = "host bias: the host may cache the page; device accesses go through the host"
    DEVICE = "device bias: no host copy; device accesses complete in the device"
    FLIP = "host->device flip: RdOwnNoData sent for every line, completions outstanding"
    FLIP_X = "a flip spoiled by a host request: the page stays host bias when it completes"


@unique
class BiasEvent(Described):
    Load = "device read of a line of the page"
    LoadCur = "device read of the current value of a line of the page"
    Store = "device write to a line of the page"
    FlipToDevice = "software: flip the page to device bias"
    FlipToHost = "software: flip the page to host bias"
    Predict = "the predictor asks for a flip to device bias"
    HostRead = "host M2S MemRd to a line of the page"
    HostWrite = "host M2S MemWr to a line of the page"
    RdFwd = "M2S MemRdFwd completing a device read through the host"
    WrFwd = "M2S MemWrFwd completing a device write through the host"
    FlipCpl = "M2S MemRdFwd completing one RdOwnNoData of the flip"
    FlipDone = "the last RdOwnNoData completion of the flip arrived"


def _bias_table() -> Table[BiasState, BiasEvent]:
    s, e = BiasState, BiasEvent
    t: Table[BiasState, BiasEvent] = Table(
        "DCOH bias (HDM-D)",
        BiasState,
        BiasEvent,
        "One entry per page of device memory (CXL_REFERENCE.md §3.1): bias, flips, device "
        "accesses by bias, host requests served in any bias.",
    )
    via_host = (s.HOST, s.FLIP, s.FLIP_X)
    flipping = (s.FLIP, s.FLIP_X)
    t.rule(s.HOST, (e.Load, e.LoadCur), ["send_rd_curr", "predict"])
    t.rule(flipping, (e.Load, e.LoadCur), ["send_rd_curr"])
    t.rule(s.HOST, e.Store, ["send_wowrinv", "predict"])
    t.rule(flipping, e.Store, ["send_wowrinv"])
    t.rule(s.DEVICE, (e.Load, e.LoadCur), ["local_load"])
    t.rule(s.DEVICE, e.Store, ["local_store"])
    t.rule(s.HOST, (e.FlipToDevice, e.Predict), ["start_flip"], s.FLIP)
    t.rule(s.DEVICE, e.FlipToDevice, ["complete_op"])
    t.rule(s.DEVICE, e.FlipToHost, ["flush_page", "complete_op"], s.HOST)
    t.rule(s.HOST, e.FlipToHost, ["complete_op"])
    t.stall(flipping, (e.FlipToDevice, e.FlipToHost), "one flip per page at a time")
    t.impossible((s.DEVICE, *flipping), e.Predict, "the predictor asks only in host bias")
    t.rule(s.HOST, e.HostRead, ["serve_read"])
    t.rule(s.DEVICE, e.HostRead, ["flush_page", "serve_read"], s.HOST)
    t.rule(flipping, e.HostRead, ["serve_read"], s.FLIP_X)
    t.rule(via_host, e.HostWrite, ["serve_write"])
    t.impossible(s.DEVICE, e.HostWrite, "the host holds no copy of a device-bias page")
    t.rule(tuple(s), e.RdFwd, ["complete_rd_fwd"])
    t.rule(tuple(s), e.WrFwd, ["complete_wr_fwd"])
    t.rule(flipping, e.FlipCpl, ["record_flip_cpl"])
    t.impossible((s.HOST, s.DEVICE), (e.FlipCpl, e.FlipDone), "no flip in progress")
    t.rule(s.FLIP, e.FlipDone, ["finish_flip"], s.DEVICE)
    t.rule(s.FLIP_X, e.FlipDone, ["fail_flip"], s.HOST)
    return t


BIAS_TABLE = _bias_table()


class Page(LineEntry):
    """A bias-table entry: ``line`` holds the page number."""

    __slots__ = ("op", "streak", "waiting")

    def __init__(self, page: int) -> None:
        super().__init__(page, BiasState.HOST)  # reset: every page host bias
        self.waiting = 0  # lines of the flip whose completion is outstanding (a bit each)
        self.op: Op | None = None  # the software flip operation (None: the predictor's)
        self.streak = 0  # device accesses through the host since the last flip

    def copy(self) -> Page:
        twin = Page(self.line)
        twin.state, twin.waiting, twin.op, twin.streak = (
            self.state,
            self.waiting,
            self.op,
            self.streak,
        )
        return twin

    def key(self) -> tuple[object, ...]:
        return (self.line, self.state, self.waiting, self.op, self.streak)


class BiasController(DeviceMemoryBase):
    """HDM-D DCOH for one host: bias table with a ``bias_sets x bias_ways`` bias cache."""

    TABLE = BIAS_TABLE

    def __init__(
        self,
        send: Callable[[int, Message], None],
        complete: Callable[[Completion], None],
        *,
        page_lines: int = 1,
        bias_sets: int = 1,
        bias_ways: int = 1,
        predictor: int = 0,
        on_transition: Callable[[Transition], None] | None = None,
        on_write: Callable[[str, int, int], None] | None = None,
    ) -> None:
        super().__init__(1, send, complete, on_transition, on_write)
        self.page_lines = page_lines
        self.bias_cache = SnoopFilter(bias_sets, bias_ways, 1)
        self.predictor = predictor  # flip after this many accesses through the host; 0 = off
        self.pages: dict[int, Page] = {}
        self.copies: dict[int, tuple[int, bool]] = {}  # the device's cache: line -> value, dirty
        self.txns: dict[int, Op] = {}  # CQID -> the device access waiting for its Fwd
        self._op: Op | None = None  # the device operation being issued
        self.counters = {
            "flips_to_device": 0,
            "flips_to_host": 0,
            "flips_failed": 0,
            "forced_to_host": 0,
            "predicted": 0,
            "rdownnodata": 0,
            "local": 0,
            "via_host": 0,
            "bias_hits": 0,
            "bias_misses": 0,
        }

    def clone(
        self,
        send: Callable[[int, Message], None],
        complete: Callable[[Completion], None],
        on_transition: Callable[[Transition], None] | None,
        on_write: Callable[[str, int, int], None] | None,
    ) -> BiasController:
        twin = object.__new__(type(self))
        DeviceMemoryBase.__init__(twin, 1, send, complete, on_transition, on_write)
        self._rewire(twin)
        twin.page_lines, twin.predictor = self.page_lines, self.predictor
        twin.bias_cache = self.bias_cache.copy()
        twin.pages = {n: page.copy() for n, page in self.pages.items()}
        twin.copies = dict(self.copies)
        twin.txns = dict(self.txns)
        twin.counters = dict(self.counters)
        return twin

    def key(self) -> tuple[object, ...]:
        pages = tuple(
            p.key()
            for _, p in sorted(self.pages.items())
            if p.state is not BiasState.HOST or p.streak
        )
        return (
            pages,
            tuple(sorted(self.copies.items())),
            tuple(sorted(self.txns.items())),
            tuple(sorted(self.memory.items())),
        )

    def page(self, line: int) -> Page:
        """The bias-table entry of ``line``'s page (no bias-cache access: a query)."""
        number = line // self.page_lines
        found = self.pages.get(number)
        if found is None:
            found = self.pages[number] = Page(number)
        return found

    def look_up(self, line: int) -> Page:
        """The bias lookup an accepted access makes: through the bias cache (a miss reads the
        bias table in device memory and fills the cache; hits and misses are counted)."""
        number = line // self.page_lines
        if self.bias_cache.lookup(number).hit:
            self.counters["bias_hits"] += 1
        else:
            self.counters["bias_misses"] += 1
            self.bias_cache.allocate(number, 1)
        return self.page(line)

    def bias(self, line: int) -> BiasState:
        found = self.pages.get(line // self.page_lines)
        return BiasState.HOST if found is None else found.state

    def quiescent(self) -> bool:
        return not self.txns and all(
            p.state not in (BiasState.FLIP, BiasState.FLIP_X) for p in self.pages.values()
        )

    # --- inputs ------------------------------------------------------------------------------

    _OP_EVENT = {
        DevOp.Load: BiasEvent.Load,
        DevOp.LoadCur: BiasEvent.LoadCur,
        DevOp.Store: BiasEvent.Store,
        DevOp.FlipToDevice: BiasEvent.FlipToDevice,
        DevOp.FlipToHost: BiasEvent.FlipToHost,
    }

    def can_issue(self, op: Op) -> bool:
        return not self.stall_rule(self.page(op.line), self._OP_EVENT[op.kind])  # type: ignore[index]

    def issue(self, op: Op) -> bool:
        page = self.look_up(op.line)
        self._op = op
        try:
            fired = self._fire(page, self._OP_EVENT[op.kind])  # type: ignore[index]
        finally:
            self._op = None
        predicted = self.predictor and page.streak >= self.predictor
        if fired and predicted and page.state is BiasState.HOST:
            self.counters["predicted"] += 1
            self._fire(page, BiasEvent.Predict)
        return fired

    def event_for(self, msg: Message) -> tuple[Page, BiasEvent]:
        line = msg.addr // LINE_BYTES  # type: ignore[attr-defined]
        if isinstance(msg, M2SRwD):
            return self.page(line), BiasEvent.HostWrite
        assert isinstance(msg, M2SReq)
        if msg.opcode is M2SReqOpcode.MEMRD:
            return self.page(line), BiasEvent.HostRead
        if msg.opcode is M2SReqOpcode.MEMWRFWD:
            return self.page(line), BiasEvent.WrFwd
        assert msg.opcode is M2SReqOpcode.MEMRDFWD
        flip = msg.tag & 1
        return self.page(line), BiasEvent.FlipCpl if flip else BiasEvent.RdFwd

    def stalls(self, src: int, msg: Message) -> bool:
        page, event = self.event_for(msg)
        return self.stall_rule(page, event)

    def receive(self, src: int, msg: Message) -> bool:
        page, event = self.event_for(msg)
        if event in (BiasEvent.HostRead, BiasEvent.HostWrite):
            self.look_up(msg.addr // LINE_BYTES)  # type: ignore[attr-defined]
        self._msg, self._src = msg, src
        try:
            fired = self._fire(page, event)
        finally:
            self._msg = None
        if page.state in (BiasState.FLIP, BiasState.FLIP_X) and not page.waiting:
            self._fire(page, BiasEvent.FlipDone)
        return fired

    # --- helpers -------------------------------------------------------------------------------

    def _lines(self, page: Page) -> range:
        return range(page.line * self.page_lines, (page.line + 1) * self.page_lines)

    def _d2h(self, opcode: D2HReqOpcode, line: int, flip: int) -> None:
        self.send(0, D2HReq(opcode=opcode, cqid=line * 2 + flip, addr=line * LINE_BYTES))

    # --- actions -------------------------------------------------------------------------------

    def send_rd_curr(self, page: Page) -> None:
        """Host bias: D2H RdCurr; the read completes at the MemRdFwd."""
        op = self._op
        assert op is not None
        self.counters["via_host"] += 1
        self.txns[op.line * 2] = op
        self._d2h(D2HReqOpcode.RDCURR, op.line, 0)

    def send_wowrinv(self, page: Page) -> None:
        """Host bias: D2H WOWrInv; the write completes at the MemWrFwd."""
        op = self._op
        assert op is not None
        self.counters["via_host"] += 1
        self.txns[op.line * 2] = op
        self._d2h(D2HReqOpcode.WOWRINV, op.line, 0)

    def predict(self, page: Page) -> None:
        """Count a device access that went through the host (the predictor's input)."""
        page.streak += 1

    def local_load(self, page: Page) -> None:
        """Device bias: read the device's cached copy, or fill it from memory."""
        op = self._op
        assert op is not None
        self.counters["local"] += 1
        if op.line not in self.copies:
            self.copies[op.line] = (self.read(op.line), False)
        self.complete(Completion(self.name, op, self.copies[op.line][0]))

    def local_store(self, page: Page) -> None:
        """Device bias: write the device's cached copy (dirty)."""
        op = self._op
        assert op is not None
        self.counters["local"] += 1
        self.copies[op.line] = (op.value, True)
        if self.on_write is not None:
            self.on_write(self.name, op.line, op.value)
        self.complete(Completion(self.name, op))

    def start_flip(self, page: Page) -> None:
        """Host->device flip: RdOwnNoData for every line of the page."""
        page.op, self._op = self._op, None
        page.streak = 0
        for line in self._lines(page):
            page.waiting |= 1 << (line - page.line * self.page_lines)
            self.counters["rdownnodata"] += 1
            self._d2h(D2HReqOpcode.RDOWNNODATA, line, 1)

    def complete_op(self, page: Page) -> None:
        """Complete the software flip (nothing else to do)."""
        op = self._op
        assert op is not None
        if op.kind is DevOp.FlipToHost and page.state is BiasState.DEVICE:
            self.counters["flips_to_host"] += 1
        self.complete(Completion(self.name, op))

    def flush_page(self, page: Page) -> None:
        """Write the device's dirty copies of the page to memory and drop them all."""
        if isinstance(self._msg, M2SReq):
            self.counters["forced_to_host"] += 1
        for line in self._lines(page):
            copy = self.copies.pop(line, None)
            if copy is not None and copy[1]:
                self.write(line, copy[0])
        page.streak = 0

    def serve_read(self, page: Page) -> None:
        """A host MemRd: Cmp-E for MetaValue A, Cmp-S for S, and the data from memory (HDM-D
        has one host, which resolves its own caches before it asks)."""
        msg = self._msg
        assert isinstance(msg, M2SReq)
        self._grant(self._src, msg, msg.meta_value is MetaValue.A)

    def serve_write(self, page: Page) -> None:
        """A host MemWr into memory, then Cmp."""
        self._serve_write()

    def complete_rd_fwd(self, page: Page) -> None:
        """The host resolved the device's read: read memory and complete it."""
        msg = self._msg
        assert isinstance(msg, M2SReq)
        op = self.txns.pop(msg.tag)
        self.complete(Completion(self.name, op, self.read(op.line)))

    def complete_wr_fwd(self, page: Page) -> None:
        """The host invalidated its copies: write memory and complete the device's write."""
        msg = self._msg
        assert isinstance(msg, M2SReq)
        op = self.txns.pop(msg.tag)
        self.write(op.line, op.value)
        self.complete(Completion(self.name, op))

    def record_flip_cpl(self, page: Page) -> None:
        """One line of the flip is owned by the device."""
        msg = self._msg
        assert isinstance(msg, M2SReq)
        bit = 1 << (msg.addr // LINE_BYTES - page.line * self.page_lines)
        if not page.waiting & bit:
            raise Violation("flip", f"second completion for line {msg.addr // LINE_BYTES}")
        page.waiting &= ~bit

    def finish_flip(self, page: Page) -> None:
        """Every line is owned by the device: the page is device bias."""
        self.counters["flips_to_device"] += 1
        op, page.op = page.op, None
        if op is not None:
            self.complete(Completion(self.name, op))

    def fail_flip(self, page: Page) -> None:
        """A host request came in during the flip: the page stays host bias."""
        self.counters["flips_failed"] += 1
        op, page.op = page.op, None
        if op is not None:
            self.complete(Completion(self.name, op))
