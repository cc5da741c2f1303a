"""The HDM-DB DCOH: the device snoop filter, back-invalidation (BISnp) and BIConflict (see
``dcoh.py`` for the overview, CXL_REFERENCE.md §3.2)."""

from __future__ import annotations

from collections.abc import Callable
from enum import unique

from slugsim.coherence.controller import LineEntry, Transition
from slugsim.coherence.dcoh_base import DeviceMemoryBase, DevOp
from slugsim.coherence.monitor import Violation
from slugsim.coherence.ops import Completion, Op
from slugsim.coherence.snoop_filter import SnoopFilter
from slugsim.coherence.spec import LINE_BYTES
from slugsim.coherence.table import STABLE, Described, Table
from slugsim.cxl import (
    S2MNDR,
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
    SnpType,
)


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
    Evict = "the device evicts its own cached copy (device cache only)"


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
    t.rule(s.I, grants, ["grant_alone"], STABLE)
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
    t.rule(s.WAIT_VIC, e.VictimGone, ["grant_kept_alone"], STABLE)
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
    t.rule((s.I, s.S, s.A), e.Evict, ["device_evict"])
    t.stall(DB_BUSY, (e.Load, e.LoadCur, e.Store, e.Evict), "one transaction per line")
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
        device_cache: bool = False,
        on_transition: Callable[[Transition], None] | None = None,
        on_write: Callable[[str, int, int], None] | None = None,
    ) -> None:
        super().__init__(hosts, send, complete, on_transition, on_write)
        self.sf = SnoopFilter(sf_sets, sf_ways, max(1, hosts))
        self.isa = isa
        # The device's own cache of its memory (Type-2 HDM-DB): line -> (state S/E/M, value).
        # Not in the filter (the filter tracks hosts); host requests snoop it by SnpType.
        self.device_cache = device_cache
        self.copies: dict[int, tuple[str, int]] = {}
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
        twin.device_cache, twin.copies = self.device_cache, dict(self.copies)
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
        memory = tuple(sorted(self.memory.items()))
        return (lines, self.sf.key(), memory, tuple(sorted(self.copies.items())), self.waiting)

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
        DevOp.Evict: SfEvent.Evict,
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

    def _snoop_own(self, line: int, req: M2SReq) -> bool:
        """Snoop the device's own copy as the request's SnpType says (§2.4: SnpInv takes
        it, SnpData leaves at most S, SnpCur only cleans it); a modified copy is written to
        memory first. True when the device still holds a copy."""
        found = self.copies.get(line)
        if found is None:
            return False
        state, value = found
        if state == "M":
            self.write(line, value)
            state = "E"
        if req.snp_type is SnpType.SNPINV:
            del self.copies[line]
            return False
        self.copies[line] = ("S" if req.snp_type is SnpType.SNPDATA else state, value)
        return True

    def grant_alone(self, entry: SfLine) -> None:
        """No host caches the line: snoop the device's own copy, allocate the requester and
        grant Cmp-E (Cmp-S if the device kept a copy) with the data."""
        assert isinstance(self._msg, M2SReq)
        kept = self._snoop_own(entry.line, self._msg)
        self._allocate(entry.line, self._src)
        entry.exclusive = not kept
        self._grant(self._src, self._msg, not kept)

    def grant_shared(self, entry: SfLine) -> None:
        """Hosts share the line clean: snoop the device's own copy, add the requester and
        grant Cmp-S with the data."""
        assert isinstance(self._msg, M2SReq)
        self._snoop_own(entry.line, self._msg)
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
        kept = self._snoop_own(entry.line, req)
        self._allocate(entry.line, entry.requester)
        alone = self.sf.sharers(entry.line) == 1 << entry.requester and not kept
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
        """The way is free: snoop the device's own copy, allocate the waiting requester,
        Cmp-E (Cmp-S if the device kept a copy) and the data."""
        req, entry.req = entry.req, None
        assert req is not None
        kept = self._snoop_own(entry.line, req)
        self._allocate(entry.line, entry.requester)
        entry.exclusive = not kept
        self._grant(entry.requester, req, not kept)

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
        """The device reads or writes its memory, or its own cached copy (no host copy
        conflicts with it now): a store leaves the copy M, a load fills it E when no host
        may cache the line, else S; LoadCur does not fill."""
        op, entry.access = entry.access, None
        assert op is not None
        line = op.line
        if op.kind is DevOp.Store:
            if self.device_cache:
                self.copies[line] = ("M", op.value)
                if self.on_write is not None:
                    self.on_write(self.name, line, op.value)
            else:
                self.write(line, op.value)
            self.complete(Completion(self.name, op))
            return
        found = self.copies.get(line)
        value = self.read(line) if found is None else found[1]
        if found is None and self.device_cache and op.kind is DevOp.Load:
            self.copies[line] = ("S" if self.sf.sharers(line) else "E", value)
        self.complete(Completion(self.name, op, value))

    def device_evict(self, entry: SfLine) -> None:
        """The device drops its own copy; a modified one is written to memory first."""
        op, entry.access = entry.access, None
        assert op is not None
        found = self.copies.pop(op.line, None)
        if found is not None and found[0] == "M":
            self.write(op.line, found[1])
        self.complete(Completion(self.name, op))
