"""The device coherence engine (DCOH) of device-attached memory, as tables.

Two controllers, one per memory type (CXL_REFERENCE.md §2.5, §3):

- :class:`DeviceSnoopFilter` (**HDM-DB**, ``DEVICE_SF_TABLE``): an inclusive, finite device
  snoop filter (the :class:`SnoopFilter` structure, a sharer bit per host, so one filter serves
  a pooled device shared by several hosts) with I/S/A or I/A states per line (§3.2). Host M2S
  requests are granted from it; a request whose set is full first back-invalidates the pLRU
  victim (BISnpInv to each sharer) and waits for the way; the device's own accesses that hit a
  line a host may cache send BISnpData/Cur/Inv first. While a BISnp to X is pending, M2S Req to
  X wait at the head of their channel (the blocking rule); RwD (MemWr, BIConflict) is always
  taken. A BIConflict is answered with BI-ConflictAck on NDR behind any earlier Cmp.
- :class:`BiasController` (**HDM-D**, ``BIAS_TABLE``): a bias bit per page (``page_lines``
  lines, a parameter) looked up through a finite bias cache; device accesses in device bias
  complete in the device (in its own cache), in host bias through the host (D2H RdCurr/WOWrInv,
  completed by MemRdFwd/MemWrFwd); a host->device flip sends RdOwnNoData per line and turns
  device bias only when every MemRdFwd completion is back; device->host is a state change
  (plus writing back the device's own cached lines, which is internal). A host M2S request to
  a device-bias page makes the DCOH flush its own copies and flip the page to host bias (the
  host "may be forced to relinquish" is the other way round: here the device does); one that
  meets a flip in progress spoils it (the page stays host bias). Flips are software-directed
  (program operations) and, with the ``predictor`` policy, hardware-autonomous: a page whose
  device accesses went through the host ``threshold`` times in a row is flipped.

Both own the device memory (a value per line) and serve host reads from it (Cmp-S/E + MemData)
and host writes into it (MemWr -> Cmp). The transaction-level twin of the RTL,
``dcoh_bias.py``, has the same rules (victim first, flip done at the last completion, one
request waiting for a victim blocks the others); this one adds the host-side messages.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import unique

from slugsim.coherence.controller import Controller, LineEntry, Transition
from slugsim.coherence.monitor import Violation
from slugsim.coherence.ops import Completion, Op
from slugsim.coherence.snoop_filter import SnoopFilter
from slugsim.coherence.spec import LINE_BYTES
from slugsim.coherence.table import STABLE, Described, Table
from slugsim.cxl import (
    S2MDRS,
    S2MNDR,
    D2HReq,
    D2HReqOpcode,
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
    S2MDRSOpcode,
    S2MNDROpcode,
)


@unique
class DevOp(Described):
    """What the device's own program asks of its memory."""

    Load = "device read of a line of its memory (wants a shared view: BISnpData)"
    LoadCur = "device read of the current value only (BISnpCur)"
    Store = "device write of a new value to a line of its memory"
    FlipToDevice = "HDM-D software flip of the line's page to device bias"
    FlipToHost = "HDM-D software flip of the line's page to host bias"


class DeviceMemoryBase(Controller):
    """Device memory (a value per line) and the wiring both DCOH controllers share."""

    name = "dcoh"

    def __init__(
        self,
        hosts: int,
        send: Callable[[int, Message], None],
        complete: Callable[[Completion], None],
        on_transition: Callable[[Transition], None] | None,
        on_write: Callable[[str, int, int], None] | None,
    ) -> None:
        self.hosts = hosts
        self.send = send
        self.complete = complete
        self.on_transition = on_transition
        self.on_write = on_write
        self.memory: dict[int, int] = {}
        self._msg: Message | None = None
        self._src = 0  # the host the message being received came from

    def _rewire(self, twin: DeviceMemoryBase) -> None:
        twin.memory = dict(self.memory)
        twin._msg, twin._src = None, 0

    def read(self, line: int) -> int:
        return self.memory.get(line, 0)

    def write(self, line: int, value: int) -> None:
        self.memory[line] = value
        if self.on_write is not None:
            self.on_write(self.name, line, value)

    def _serve_write(self) -> None:
        """A host MemWr: into memory, then Cmp."""
        msg = self._msg
        assert isinstance(msg, M2SRwD)
        self.write(msg.addr // LINE_BYTES, msg.data)
        self.send(self._src, S2MNDR(opcode=S2MNDROpcode.CMP, tag=msg.tag))

    def _grant(self, host: int, req: M2SReq, exclusive: bool) -> None:
        line = req.addr // LINE_BYTES
        opcode = S2MNDROpcode.CMP_E if exclusive else S2MNDROpcode.CMP_S
        meta = MetaValue.A if exclusive else MetaValue.S
        self.send(host, S2MNDR(opcode=opcode, meta_value=meta, tag=req.tag))
        self.send(host, S2MDRS(opcode=S2MDRSOpcode.MEMDATA, tag=req.tag, data=self.read(line)))


# ==== HDM-DB: the device snoop filter ========================================================


@unique
class SfState(Described):
    I = "no host may cache the line (no filter entry)"  # noqa: E741
    S = "hosts in the sharer vector may hold S copies (I/S/A filters only)"
    A = "a host may hold the line in any state (I/S/A: one host, E or M possible)"
    SNP_REQ = "a host request waits for BISnp answers of the other hosts"
    SNP_DEV = "a device access waits for BISnp answers of the hosts"
    SNP_VIC = "a filter victim: BISnpInv sent to every sharer, the entry leaves when answered"
    WAIT_VIC = "a host request waits for a victim to free a way in its set"


@unique
class SfEvent(Described):
    MemRdS = "M2S MemRd MetaValue S (SnpData): a shared copy"
    MemRdA = "M2S MemRd MetaValue A (SnpInv): an exclusive copy"
    MemClnEvct = "M2S MemClnEvct: the host dropped its clean copy"
    SfFull = "a granting request found its filter set full (the victim is idle)"
    VictimBusy = "a granting request found its filter set full and the victim busy"
    Victim = "this line was chosen as the filter victim"
    VictimGone = "the victim's entry was freed: the waiting request takes the way"
    MemWrI = "M2S MemWr MetaValue I: writeback, the host keeps no copy"
    MemWrKeep = "M2S MemWr MetaValue S or A: writeback answering a BISnp, a copy kept"
    BIConflict = "M2S RwD BIConflict: the host met our BISnp with a request pending"
    BIRspI = "M2S BIRspI: the host kept no copy"
    BIRspS = "M2S BIRspS: the host kept at most S"
    BIRspE = "M2S BIRspE: the host kept an exclusive copy"
    Snooped = "the last BIRsp of the line's BISnps arrived"
    Load = "device read (BISnpData to the hosts that may hold E/M)"
    LoadCur = "device read of the current value (BISnpCur)"
    Store = "device write (BISnpInv to every host that may cache the line)"


DB_BUSY = (SfState.SNP_REQ, SfState.SNP_DEV, SfState.SNP_VIC, SfState.WAIT_VIC)
DB_SNOOPING = (SfState.SNP_REQ, SfState.SNP_DEV, SfState.SNP_VIC)


def _device_sf_table() -> Table[SfState, SfEvent]:
    s, e = SfState, SfEvent
    t: Table[SfState, SfEvent] = Table(
        "DCOH device snoop filter (HDM-DB)",
        SfState,
        SfEvent,
        "One entry per device-memory line (CXL_REFERENCE.md §3.2): the host requests, "
        "writebacks, BISnp answers and the device's own accesses. The filter is inclusive "
        "and finite; its victims are back-invalidated before their way is reused.",
    )
    grants = (e.MemRdS, e.MemRdA)
    reqs = (*grants, e.MemClnEvct, e.SfFull, e.VictimBusy)
    t.rule(s.I, grants, ["grant_alone"], s.A)
    t.rule(s.I, e.MemClnEvct, ["send_cmp"])
    t.rule(s.I, e.SfFull, ["keep_request", "evict_victim"], s.WAIT_VIC)
    t.stall(s.I, e.VictimBusy, "the filter victim has a transaction: the request waits for it")
    t.rule(s.S, e.MemRdS, ["grant_shared"])
    t.rule((s.S, s.A), e.MemRdA, ["keep_request", "snoop_others_inv"], s.SNP_REQ)
    t.rule(s.A, e.MemRdS, ["keep_request", "snoop_others_data"], s.SNP_REQ)
    t.rule((s.S, s.A), e.MemClnEvct, ["remove_requester", "send_cmp"], STABLE)
    t.impossible((s.S, s.A), (e.SfFull, e.VictimBusy), "the line has an entry already")
    t.stall(DB_BUSY, reqs, "blocking rule: no M2S Req to a line with a BISnp or request pending")
    t.rule((s.S, s.A), e.Victim, ["snoop_sharers_victim"], s.SNP_VIC)
    t.impossible((s.I, *DB_BUSY), e.Victim, "victims are idle lines with an entry")
    t.rule(s.WAIT_VIC, e.VictimGone, ["grant_kept_alone"], s.A)
    t.impossible((s.I, s.S, s.A, *DB_SNOOPING), e.VictimGone, "only a waiting request wakes")
    t.rule(s.A, e.MemWrI, ["write_memory", "remove_writer"], STABLE)
    t.impossible(
        (s.I, s.S, s.WAIT_VIC),
        e.MemWrI,
        "a dirty host is an A sharer until its BIRspI, which waits for this MemWr's Cmp",
    )
    # a writer that kept nothing leaves the filter at once, as in the RTL, except while its
    # line's request waits for the others: the grant then needs the entry it already has
    t.rule((s.SNP_DEV, s.SNP_VIC), e.MemWrI, ["write_memory", "remove_writer"])
    t.rule(s.SNP_REQ, e.MemWrI, ["write_memory"])
    t.rule((s.SNP_REQ, s.SNP_DEV), e.MemWrKeep, ["write_memory"])
    t.impossible(
        (s.I, s.S, s.A, s.WAIT_VIC, s.SNP_VIC),
        e.MemWrKeep,
        "a MemWr keeping a copy answers a BISnpData/Cur",
    )
    t.rule(DB_SNOOPING, e.BIConflict, ["send_conflict_ack"])
    t.impossible(
        (s.I, s.S, s.A, s.WAIT_VIC),
        e.BIConflict,
        "a BIConflict answers a BISnp, and the line stays snooping until that host's BIRsp",
    )
    t.rule(DB_SNOOPING, e.BIRspI, ["record_birsp_i"])
    t.rule((s.SNP_REQ, s.SNP_DEV), e.BIRspS, ["record_birsp_s"])
    t.rule(s.SNP_DEV, e.BIRspE, ["record_birsp_e"])
    t.impossible(s.SNP_VIC, (e.BIRspS, e.BIRspE), "a victim is snooped with BISnpInv")
    t.impossible(s.SNP_REQ, e.BIRspE, "a request snoops with BISnpInv or BISnpData")
    t.impossible((s.I, s.S, s.A, s.WAIT_VIC), (e.BIRspI, e.BIRspS, e.BIRspE), "no BISnp is pending")
    t.rule(s.SNP_REQ, e.Snooped, ["grant_kept"], STABLE)
    t.rule(s.SNP_DEV, e.Snooped, ["device_access"], STABLE)
    t.rule(s.SNP_VIC, e.Snooped, ["free_victim"], s.I)
    t.impossible((s.I, s.S, s.A, s.WAIT_VIC), e.Snooped, "no BISnp is pending")
    t.rule(s.I, (e.Load, e.LoadCur, e.Store), ["device_access"])
    t.rule(s.S, (e.Load, e.LoadCur), ["device_access"])
    t.rule(s.S, e.Store, ["keep_access", "snoop_sharers_inv"], s.SNP_DEV)
    t.rule(s.A, e.Load, ["keep_access", "snoop_sharers_data"], s.SNP_DEV)
    t.rule(s.A, e.LoadCur, ["keep_access", "snoop_sharers_cur"], s.SNP_DEV)
    t.rule(s.A, e.Store, ["keep_access", "snoop_sharers_inv"], s.SNP_DEV)
    t.stall(DB_BUSY, (e.Load, e.LoadCur, e.Store), "one transaction per line")
    return t


DEVICE_SF_TABLE = _device_sf_table()

_BIRSP_EVENT = {
    M2SBIRspOpcode.BIRSPI: SfEvent.BIRspI,
    M2SBIRspOpcode.BIRSPS: SfEvent.BIRspS,
    M2SBIRspOpcode.BIRSPE: SfEvent.BIRspE,
}


class SfLine(LineEntry):
    __slots__ = ("access", "exclusive", "pending", "req", "requester", "waiter")

    def __init__(self, line: int) -> None:
        super().__init__(line, SfState.I)
        self.exclusive = False  # I/S/A: the one sharer may hold E/M (state A)
        self.pending = 0  # hosts whose BIRsp is awaited (a bit each)
        self.req: M2SReq | None = None  # the host request being served
        self.requester = 0
        self.access: Op | None = None  # the device access waiting for BISnp answers
        self.waiter: int | None = None  # victim: the line whose request waits for the way

    def copy(self) -> SfLine:
        twin = SfLine(self.line)
        twin.state, twin.exclusive, twin.pending = self.state, self.exclusive, self.pending
        twin.req, twin.requester, twin.access = self.req, self.requester, self.access
        twin.waiter = self.waiter
        return twin

    def key(self) -> tuple[object, ...]:
        req = None if self.req is None else (self.req.opcode, self.req.meta_value)
        return (
            self.line,
            self.state,
            self.exclusive,
            self.pending,
            req,
            self.requester,
            self.access,
            self.waiter,
        )


class DeviceSnoopFilter(DeviceMemoryBase):
    """HDM-DB DCOH: ``sf_sets x sf_ways`` filter over ``hosts``; ``isa``: I/S/A (else I/A)."""

    TABLE = DEVICE_SF_TABLE

    def __init__(
        self,
        hosts: int,
        send: Callable[[int, Message], None],
        complete: Callable[[Completion], None],
        *,
        sf_sets: int = 1,
        sf_ways: int = 2,
        isa: bool = True,
        on_transition: Callable[[Transition], None] | None = None,
        on_write: Callable[[str, int, int], None] | None = None,
    ) -> None:
        super().__init__(hosts, send, complete, on_transition, on_write)
        self.sf = SnoopFilter(sf_sets, sf_ways, max(1, hosts))
        self.isa = isa
        self.lines: dict[int, SfLine] = {}
        self.waiting: int | None = None  # the line whose request waits for a victim
        self.counters = {"bisnp_victim": 0, "bisnp_device": 0, "bisnp_request": 0, "conflicts": 0}

    def clone(
        self,
        send: Callable[[int, Message], None],
        complete: Callable[[Completion], None],
        on_transition: Callable[[Transition], None] | None,
        on_write: Callable[[str, int, int], None] | None,
    ) -> DeviceSnoopFilter:
        twin = object.__new__(type(self))
        DeviceMemoryBase.__init__(twin, self.hosts, send, complete, on_transition, on_write)
        self._rewire(twin)
        twin.sf, twin.isa = self.sf.copy(), self.isa
        twin.lines = {n: entry.copy() for n, entry in self.lines.items()}
        twin.waiting = self.waiting
        twin.counters = dict(self.counters)
        return twin

    def key(self) -> tuple[object, ...]:
        lines = tuple(
            entry.key()
            for _, entry in sorted(self.lines.items())
            if entry.state is not SfState.I or entry.waiter is not None
        )
        return (lines, self.sf.key(), tuple(sorted(self.memory.items())), self.waiting)

    def entry(self, line: int) -> SfLine:
        found = self.lines.get(line)
        if found is None:
            found = self.lines[line] = SfLine(line)
        return found

    def quiescent(self) -> bool:
        return all(entry.state not in DB_BUSY for entry in self.lines.values())

    def sharers(self, line: int) -> int:
        return self.sf.sharers(line)

    def exclusive(self, line: int) -> bool:
        found = self.lines.get(line)
        return found is not None and found.exclusive

    def stable_state(self, entry: SfLine) -> SfState:
        if not self.sf.sharers(entry.line):
            self.sf.deallocate(entry.line)
            entry.exclusive = False
            return SfState.I
        if not self.isa:
            return SfState.A
        return SfState.A if entry.exclusive else SfState.S

    # --- inputs ------------------------------------------------------------------------------

    def _req_event(self, msg: M2SReq) -> SfEvent:
        if msg.opcode is M2SReqOpcode.MEMCLNEVCT:
            return SfEvent.MemClnEvct
        line = msg.addr // LINE_BYTES
        if self.entry(line).state is SfState.I:
            victim = self.sf.victim_for(line)
            if victim is not None:
                idle = self.entry(victim.line).state in (SfState.S, SfState.A)
                return SfEvent.SfFull if idle else SfEvent.VictimBusy
        return SfEvent.MemRdA if msg.meta_value is MetaValue.A else SfEvent.MemRdS

    def event_for(self, msg: Message) -> tuple[SfLine, SfEvent]:
        if isinstance(msg, M2SReq):
            return self.entry(msg.addr // LINE_BYTES), self._req_event(msg)
        if isinstance(msg, M2SRwD):
            if msg.opcode is M2SRwDOpcode.BICONFLICT:
                event = SfEvent.BIConflict
            else:
                event = SfEvent.MemWrI if msg.meta_value is MetaValue.I else SfEvent.MemWrKeep
            return self.entry(msg.addr // LINE_BYTES), event
        assert isinstance(msg, M2SBIRsp)
        return self.entry(msg.bi_tag), _BIRSP_EVENT[msg.opcode]

    def stalls(self, src: int, msg: Message) -> bool:
        if isinstance(msg, M2SReq) and self.waiting is not None:
            return True  # one request waits for a victim at a time; the others queue behind
        entry, event = self.event_for(msg)
        return self.stall_rule(entry, event)

    def receive(self, src: int, msg: Message) -> bool:
        entry, event = self.event_for(msg)
        self._msg, self._src = msg, src
        try:
            fired = self._fire(entry, event)
        finally:
            self._msg = None
        self._after(entry)
        return fired

    def _after(self, entry: SfLine) -> None:
        if entry.state in DB_SNOOPING and not entry.pending:
            self._fire(entry, SfEvent.Snooped)

    _OP_EVENT = {
        DevOp.Load: SfEvent.Load,
        DevOp.LoadCur: SfEvent.LoadCur,
        DevOp.Store: SfEvent.Store,
    }

    def can_issue(self, op: Op) -> bool:
        return not self.stall_rule(self.entry(op.line), self._OP_EVENT[op.kind])  # type: ignore[index]

    def issue(self, op: Op) -> bool:
        entry = self.entry(op.line)
        entry.access = op
        self.sf.lookup(op.line)  # a hit makes the line most recently used, as in the RTL
        if not self._fire(entry, self._OP_EVENT[op.kind]):  # type: ignore[index]
            entry.access = None
            return False
        self._after(entry)
        return True

    # --- helpers -------------------------------------------------------------------------------

    def _snoop(self, entry: SfLine, targets: int, opcode: S2MBISnpOpcode, cause: str) -> None:
        for host in range(self.hosts):
            if targets >> host & 1:
                entry.pending |= 1 << host
                self.counters[cause] += 1
                self.send(
                    host,
                    S2MBISnp(opcode=opcode, bi_tag=entry.line, addr=entry.line * LINE_BYTES),
                )

    def _others(self, entry: SfLine) -> int:
        return self.sf.sharers(entry.line) & ~(1 << entry.requester)

    def _allocate(self, line: int, host: int) -> None:
        result = self.sf.allocate(line, 1 << host)
        if result.victim is not None:
            raise Violation("sf-overflow", f"line {line} took a way from {result.victim}")

    # --- actions -------------------------------------------------------------------------------

    def grant_alone(self, entry: SfLine) -> None:
        """No host caches the line: allocate the requester and grant Cmp-E with the data."""
        assert isinstance(self._msg, M2SReq)
        self._allocate(entry.line, self._src)
        entry.exclusive = True
        self._grant(self._src, self._msg, True)

    def grant_shared(self, entry: SfLine) -> None:
        """Hosts share the line clean: add the requester and grant Cmp-S with the data."""
        assert isinstance(self._msg, M2SReq)
        self._allocate(entry.line, self._src)
        self._grant(self._src, self._msg, False)

    def keep_request(self, entry: SfLine) -> None:
        """Hold the request (and its host) while others are snooped or a victim leaves."""
        assert isinstance(self._msg, M2SReq)
        entry.req, entry.requester = self._msg, self._src

    def snoop_others_inv(self, entry: SfLine) -> None:
        """BISnpInv to every other host that may cache the line."""
        self._snoop(entry, self._others(entry), S2MBISnpOpcode.BISNPINV, "bisnp_request")

    def snoop_others_data(self, entry: SfLine) -> None:
        """BISnpData to every other host that may hold the line E/M."""
        self._snoop(entry, self._others(entry), S2MBISnpOpcode.BISNPDATA, "bisnp_request")

    def grant_kept(self, entry: SfLine) -> None:
        """The others answered: add the requester; Cmp-E if it is alone (or asked for
        ownership), else Cmp-S; then the data."""
        req, entry.req = entry.req, None
        assert req is not None
        self._allocate(entry.line, entry.requester)
        alone = self.sf.sharers(entry.line) == 1 << entry.requester
        exclusive = alone or req.meta_value is MetaValue.A
        if exclusive and not alone:
            raise Violation("swmr-grant", f"Cmp-E for line {entry.line} with other sharers")
        entry.exclusive = exclusive
        self._grant(entry.requester, req, exclusive)

    def evict_victim(self, entry: SfLine) -> None:
        """Back-invalidate the pLRU victim of the set; this request waits for its way."""
        victim = self.sf.victim_for(entry.line)
        assert victim is not None
        self.waiting = entry.line
        target = self.entry(victim.line)
        target.waiter = entry.line
        self._fire(target, SfEvent.Victim)

    def snoop_sharers_victim(self, entry: SfLine) -> None:
        """BISnpInv to every sharer of the victim."""
        self._snoop(entry, self.sf.sharers(entry.line), S2MBISnpOpcode.BISNPINV, "bisnp_victim")

    def free_victim(self, entry: SfLine) -> None:
        """Every sharer answered: free the entry and wake the request waiting for the way."""
        self.sf.deallocate(entry.line)
        entry.exclusive = False
        waiter, entry.waiter = entry.waiter, None
        assert waiter is not None
        self.waiting = None
        self._fire(self.entry(waiter), SfEvent.VictimGone)

    def grant_kept_alone(self, entry: SfLine) -> None:
        """The way is free: allocate the waiting requester, Cmp-E and the data."""
        req, entry.req = entry.req, None
        assert req is not None
        self._allocate(entry.line, entry.requester)
        entry.exclusive = True
        self._grant(entry.requester, req, True)

    def _forget(self, entry: SfLine) -> None:
        # NOTE: a host the filter already forgot (a BIRspI overtook its MemClnEvct) must not
        # clear the exclusive mark of the line's new owner.
        if self.sf.sharers(entry.line) >> self._src & 1:
            self.sf.remove_sharer(entry.line, self._src)
            entry.exclusive = False

    def remove_requester(self, entry: SfLine) -> None:
        """Forget the requesting host's copy."""
        self._forget(entry)

    def remove_writer(self, entry: SfLine) -> None:
        """The writeback left the writer without a copy: forget it."""
        self._forget(entry)

    def send_cmp(self, entry: SfLine) -> None:
        """NDR Cmp for the request."""
        assert isinstance(self._msg, M2SReq)
        self.send(self._src, S2MNDR(opcode=S2MNDROpcode.CMP, tag=self._msg.tag))

    def write_memory(self, entry: SfLine) -> None:
        """A MemWr's data into memory, then NDR Cmp (RwD never waits)."""
        self._serve_write()

    def send_conflict_ack(self, entry: SfLine) -> None:
        """NDR BI-ConflictAck with the conflict's Tag, behind any Cmp already sent."""
        assert isinstance(self._msg, M2SRwD)
        self.counters["conflicts"] += 1
        self.send(self._src, S2MNDR(opcode=S2MNDROpcode.BI_CONFLICT_ACK, tag=self._msg.tag))

    def _answered(self, entry: SfLine) -> None:
        bit = 1 << self._src
        if not entry.pending & bit:
            raise Violation("birsp", f"host{self._src} answered a BISnp to {entry.line} twice")
        entry.pending &= ~bit

    def record_birsp_i(self, entry: SfLine) -> None:
        """The host kept nothing: forget it."""
        self._answered(entry)
        self.sf.remove_sharer(entry.line, self._src)

    def record_birsp_s(self, entry: SfLine) -> None:
        """The host kept at most S: the line is no longer exclusive."""
        self._answered(entry)
        entry.exclusive = False

    def record_birsp_e(self, entry: SfLine) -> None:
        """The host kept its exclusive copy."""
        self._answered(entry)

    def keep_access(self, entry: SfLine) -> None:
        """Hold the device access while the hosts are snooped."""

    def snoop_sharers_inv(self, entry: SfLine) -> None:
        """BISnpInv to every host that may cache the line."""
        self._snoop(entry, self.sf.sharers(entry.line), S2MBISnpOpcode.BISNPINV, "bisnp_device")

    def snoop_sharers_data(self, entry: SfLine) -> None:
        """BISnpData to every host that may cache the line."""
        self._snoop(entry, self.sf.sharers(entry.line), S2MBISnpOpcode.BISNPDATA, "bisnp_device")

    def snoop_sharers_cur(self, entry: SfLine) -> None:
        """BISnpCur to every host that may cache the line."""
        self._snoop(entry, self.sf.sharers(entry.line), S2MBISnpOpcode.BISNPCUR, "bisnp_device")

    def device_access(self, entry: SfLine) -> None:
        """The device reads or writes its memory (no host copy conflicts with it now)."""
        op, entry.access = entry.access, None
        assert op is not None
        if op.kind is DevOp.Store:
            self.write(op.line, op.value)
            self.complete(Completion(self.name, op))
        else:
            self.complete(Completion(self.name, op, self.read(op.line)))


# ==== HDM-D: bias ==============================================================================


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
