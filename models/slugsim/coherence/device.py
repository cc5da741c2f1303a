"""The device cache controller of a Type-1 device (and of a Type-2 device in host bias).

MESI plus the transient states of a CXL.cache requester, as a table (``DEVICE_TABLE``). The
device issues one request per line at a time; a program operation on a line with a request
outstanding is refused (``issue`` returns False) and retried by the caller. Ordering facts the
table relies on (CXL_REFERENCE.md §1.1, §1.3, §1.5):

- *snoop-pushes-GO*: a snoop sent after a GO arrives after it, so a snoop that finds the line
  still waiting for its GO was sent *before* the host granted it: the device answers from the
  state it had when it asked (I), and a snoop cannot find data-but-no-GO (ISA/IXA/IMA);
- data may arrive before its GO: it is kept in the request (TBE) and used only at the GO
  (S4 §3.2.5.2, CXL_REFERENCE.md §9 note 2);
- once the GO has arrived but the data has not (ISD/IED/IMD), a snoop stalls at the head of the
  H2D Req channel until the data arrives — H2D data always makes progress (§1.1), so this cannot
  deadlock, and the device never answers for data it does not hold;
- a snoop between an evict and its WritePull takes the line (MIA/EIA/SIA -> IIA) and the data
  later pulled is sent with Bogus set (S4 §3.2.5.4).

Clean lines in S may be dropped silently (``Drop``, and before a write-through or CLFlush whose
buried state must be I); the host's snoop filter is then a superset, which the host tolerates
by design (a snoop may find I).
"""

from __future__ import annotations

from collections.abc import Callable
from enum import unique

from slugsim.coherence.controller import Controller, LineEntry, Transition
from slugsim.coherence.ops import Completion, Op
from slugsim.coherence.spec import LINE_BYTES
from slugsim.coherence.table import Described, ProtocolError, Table
from slugsim.cxl import (
    D2HData,
    D2HReq,
    D2HReqOpcode,
    D2HRsp,
    D2HRspOpcode,
    GOState,
    H2DData,
    H2DReq,
    H2DReqOpcode,
    H2DRsp,
    H2DRspOpcode,
    Message,
)

ALL_LINES = -1  # the pseudo-line CacheFlushed (which has no address) is tracked on


@unique
class DeviceState(Described):
    I = "invalid"  # noqa: E741 - the protocol's name
    S = "shared, clean"
    E = "exclusive, clean"
    M = "modified"
    ISAD = "RdShared sent; waiting for GO-S and data"
    ISA = "RdShared: data arrived first; waiting for GO-S (data not used before it)"
    ISD = "GO-S arrived (RdShared or RdAny); waiting for data"
    IXAD = "RdAny sent; waiting for a GO (S, E or M) and data"
    IXA = "RdAny: data arrived first; waiting for its GO"
    IED = "GO-E arrived for RdAny; waiting for data"
    IMAD = "RdOwn sent for a store; waiting for GO-E/M and data"
    IMA = "RdOwn: data arrived first; waiting for GO-E/M"
    IMD = "GO-E/M arrived for RdOwn, or GO-M for RdAny; waiting for data"
    IMG = "RdOwnNoData sent from I for a full-line store; waiting for GO-E (no data)"
    SMA = "RdOwnNoData sent from S (upgrade); clean copy kept; waiting for GO-E"
    IVD = "RdCurr sent; waiting for data (no GO; the value is used once, not cached)"
    IFA = "CLFlush sent; waiting for GO-I"
    IWA = "ItoMWr or WrCur sent; waiting for GO_WritePull"
    IWP = "WrInv sent; waiting for WritePull"
    IWG = "WrInv data sent; waiting for GO-I"
    IWF = "WOWrInv(F) sent; waiting for Fast_GO_WritePull"
    IWE = "WOWrInv(F) data sent; waiting for ExtCmp"
    MIA = "DirtyEvict sent; dirty copy kept; waiting for GO_WritePull"
    EIA = "CleanEvict sent; clean copy kept; waiting for GO_WritePull or GO_WritePull_Drop"
    SIA = "CleanEvictNoData sent from S or E; clean copy kept; waiting for GO-I"
    IIA = "an evict is pending but a snoop took the line; pulled data goes with Bogus"
    CFA = "CacheFlushed sent (device-wide pseudo-line); waiting for GO-I"
    IRA = "a read's error data (flagged GO-Err) arrived first, dropped; waiting for its GO-Err"
    IRD = "GO-Err arrived for a read (the request failed); waiting for its error data to drop"
    IWX = "WOWrInv(F) failed: data sent for the host to drop (GO_ERR_WritePull); awaiting ExtCmp"


@unique
class DeviceEvent(Described):
    # program operations
    LoadShared = "program load; RdShared on a miss"
    LoadAny = "program load; RdAny on a miss"
    LoadCur = "program load of the current value, not cached; RdCurr on a miss"
    StoreOwn = "program store, write-allocate: RdOwn from I, RdOwnNoData upgrade from S"
    StoreFull = "program full-line store, write-allocate without data: RdOwnNoData"
    StoreItoMWr = "program store written through, not kept: ItoMWr"
    StoreWrCur = "program store written through, not kept: WrCur"
    StoreWrInv = "program store written through, not kept: WrInv"
    StoreWOWrInv = "program partial weakly-ordered store, not kept: WOWrInv"
    StoreWOWrInvF = "program full-line weakly-ordered store, not kept: WOWrInvF"
    Evict = "program evict: DirtyEvict from M, CleanEvict from E, CleanEvictNoData from S"
    EvictNoData = "program evict without clean data: DirtyEvict from M, CleanEvictNoData else"
    Drop = "program evict, silent where allowed: S dropped silently, as EvictNoData otherwise"
    Flush = "program flush of the line from every cache: CLFlush (E/M: evicted instead)"
    FlushAll = "program whole-cache flush: CacheFlushed, once no line is E/M or busy"
    # H2D Rsp (by opcode, GO by its state)
    GO_S = "H2D GO carrying S"
    GO_E = "H2D GO carrying E"
    GO_M = "H2D GO carrying M"
    GO_I = "H2D GO carrying I"
    GO_Err = "H2D GO carrying Err: the request failed (the host refused it)"
    GO_ERR_WritePull = "H2D GO_ERR_WritePull: the write failed; send the data, the host drops it"
    GO_WritePull = "H2D GO_WritePull: global observation, send the data"
    GO_WritePull_Drop = "H2D GO_WritePull_Drop: global observation, do not send data"
    Fast_GO_WritePull = "H2D Fast_GO_WritePull: locally observed, send the data"
    WritePull = "H2D WritePull: send the data, GO follows"
    ExtCmp = "H2D ExtCmp: the weakly-ordered write is globally visible"
    # H2D Data and H2D Req
    Data = "H2D Data for the line's request"
    ErrData = "H2D Data flagged GO-Err (all ones): the read failed"
    SnpData = "H2D SnpData: the host wants S (dirty data back)"
    SnpInv = "H2D SnpInv: the host wants the line invalid here"
    SnpCur = "H2D SnpCur: the host wants the current value; no state change needed"


PROGRAM_EVENTS = frozenset(list(DeviceEvent)[: list(DeviceEvent).index(DeviceEvent.FlushAll) + 1])
SNOOPS = (DeviceEvent.SnpData, DeviceEvent.SnpInv, DeviceEvent.SnpCur)
LOADS = (DeviceEvent.LoadShared, DeviceEvent.LoadAny, DeviceEvent.LoadCur)
ALLOCATING_STORES = (DeviceEvent.StoreOwn, DeviceEvent.StoreFull)
THROUGH_STORES = (
    DeviceEvent.StoreItoMWr,
    DeviceEvent.StoreWrCur,
    DeviceEvent.StoreWrInv,
    DeviceEvent.StoreWOWrInv,
    DeviceEvent.StoreWOWrInvF,
)
STORES = ALLOCATING_STORES + THROUGH_STORES
EVICTS = (DeviceEvent.Evict, DeviceEvent.EvictNoData, DeviceEvent.Drop)
# States in which the line's value is held here (stable copies and evicts not yet pulled).
HOLDS_COPY = frozenset(
    {
        DeviceState.S,
        DeviceState.E,
        DeviceState.M,
        DeviceState.SMA,
        DeviceState.MIA,
        DeviceState.EIA,
        DeviceState.SIA,
    }
)

_GO_EVENT = {
    GOState.S: DeviceEvent.GO_S,
    GOState.E: DeviceEvent.GO_E,
    GOState.M: DeviceEvent.GO_M,
    GOState.I: DeviceEvent.GO_I,
    GOState.ERR: DeviceEvent.GO_Err,
}
_RSP_EVENT = {
    H2DRspOpcode.GO_WRITEPULL: DeviceEvent.GO_WritePull,
    H2DRspOpcode.GO_WRITEPULL_DROP: DeviceEvent.GO_WritePull_Drop,
    H2DRspOpcode.GO_ERR_WRITEPULL: DeviceEvent.GO_ERR_WritePull,
    H2DRspOpcode.FAST_GO_WRITEPULL: DeviceEvent.Fast_GO_WritePull,
    H2DRspOpcode.WRITEPULL: DeviceEvent.WritePull,
    H2DRspOpcode.EXTCMP: DeviceEvent.ExtCmp,
}
_SNOOP_EVENT = {
    H2DReqOpcode.SNPDATA: DeviceEvent.SnpData,
    H2DReqOpcode.SNPINV: DeviceEvent.SnpInv,
    H2DReqOpcode.SNPCUR: DeviceEvent.SnpCur,
}


def _device_table() -> Table[DeviceState, DeviceEvent]:
    s, e = DeviceState, DeviceEvent
    t: Table[DeviceState, DeviceEvent] = Table(
        "Device cache (Type-1, Type-2 in host bias)",
        DeviceState,
        DeviceEvent,
        "One table per device, one entry per line. Requests follow CXL_REFERENCE.md §1.3 "
        "(opcode, legal buried state), snoop responses §1.5.",
    )
    transient = [x for x in s if x not in (s.I, s.S, s.E, s.M)]
    valid = (s.S, s.E, s.M)

    # --- program operations ------------------------------------------------------------------
    t.rule(valid, LOADS, ["complete_load_hit"])
    t.rule(s.I, e.LoadShared, ["send_rdshared"], s.ISAD)
    t.rule(s.I, e.LoadAny, ["send_rdany"], s.IXAD)
    t.rule(s.I, e.LoadCur, ["send_rdcurr"], s.IVD)
    t.rule((s.E, s.M), STORES, ["complete_store_hit"], s.M)
    t.rule(s.S, ALLOCATING_STORES, ["send_rdownnodata"], s.SMA)
    t.rule(s.I, e.StoreOwn, ["send_rdown"], s.IMAD)
    t.rule(s.I, e.StoreFull, ["send_rdownnodata"], s.IMG)
    through = {
        e.StoreItoMWr: ("send_itomwr", s.IWA),
        e.StoreWrCur: ("send_wrcur", s.IWA),
        e.StoreWrInv: ("send_wrinv", s.IWP),
        e.StoreWOWrInv: ("send_wowrinv", s.IWF),
        e.StoreWOWrInvF: ("send_wowrinvf", s.IWF),
    }
    for event, (send, nxt) in through.items():
        t.rule(s.I, event, [send], nxt)
        t.rule(s.S, event, ["drop_line", send], nxt)  # buried state must be I
    t.rule(s.I, EVICTS, ["complete_op"])
    t.rule(s.M, EVICTS, ["send_dirtyevict"], s.MIA)
    t.rule(s.E, e.Evict, ["send_cleanevict"], s.EIA)
    t.rule(s.E, (e.EvictNoData, e.Drop), ["send_cleanevictnodata"], s.SIA)
    t.rule(s.S, (e.Evict, e.EvictNoData), ["send_cleanevictnodata"], s.SIA)
    t.rule(s.S, e.Drop, ["drop_line", "complete_op"], s.I)
    t.rule(s.I, e.Flush, ["send_clflush"], s.IFA)
    t.rule(s.S, e.Flush, ["drop_line", "send_clflush"], s.IFA)
    # exclusive: no other cache holds the line, so evicting it is flushing it
    t.rule(s.E, e.Flush, ["send_cleanevictnodata"], s.SIA)
    t.rule(s.M, e.Flush, ["send_dirtyevict"], s.MIA)
    t.rule(s.I, e.FlushAll, ["drop_shared_lines", "send_cacheflushed"], s.CFA)
    t.stall(transient, PROGRAM_EVENTS, "one request per line: the operation waits")
    t.impossible(valid, e.FlushAll, "CacheFlushed is tracked on the pseudo-line, always I")

    # --- snoops ----------------------------------------------------------------------------
    t.rule(s.I, SNOOPS, ["send_rsp_ihiti"])
    t.rule((s.S, s.E), e.SnpInv, ["send_rsp_ihitse"], s.I)
    t.rule((s.S, s.E), e.SnpData, ["send_rsp_shitse"], s.S)
    t.rule((s.S, s.E), e.SnpCur, ["send_rsp_vhitv"])
    t.rule(s.M, e.SnpInv, ["send_rsp_ifwdm", "send_snoop_data"], s.I)
    t.rule(s.M, e.SnpData, ["send_rsp_sfwdm", "send_snoop_data"], s.S)
    t.rule(s.M, e.SnpCur, ["send_rsp_vfwdv", "send_snoop_data"])
    # waiting for a GO: the snoop was sent before the host granted; answer as buried I
    buried_i = (s.ISAD, s.IXAD, s.IMAD, s.IMG, s.IVD, s.IFA, s.IWA, s.IWP, s.IWG, s.IWF)
    t.rule(buried_i, SNOOPS, ["send_rsp_ihiti"])
    t.rule((s.IWE, s.IIA, s.IRA, s.IRD, s.IWX), SNOOPS, ["send_rsp_ihiti"])
    t.impossible(
        (s.ISA, s.IXA, s.IMA),
        SNOOPS,
        "data arrived, so the host granted; a snoop sent before the grant was answered first",
    )
    t.stall(
        (s.ISD, s.IED, s.IMD),
        SNOOPS,
        "GO consumed, data not yet here: hold the snoop until the data arrives",
    )
    t.rule(s.SMA, e.SnpInv, ["send_rsp_ihitse"], s.IMG)
    t.rule(s.SMA, e.SnpData, ["send_rsp_shitse"])
    t.rule(s.SMA, e.SnpCur, ["send_rsp_vhitv"])
    t.rule(s.MIA, (e.SnpInv, e.SnpData), ["send_rsp_ifwdm", "send_snoop_data"], s.IIA)
    t.rule(s.MIA, e.SnpCur, ["send_rsp_vfwdv", "send_snoop_data"])
    t.rule((s.EIA, s.SIA), e.SnpInv, ["send_rsp_ihitse"], s.IIA)
    t.rule(s.EIA, e.SnpData, ["send_rsp_ihitse"], s.IIA)  # may invalidate: evicting anyway
    t.rule(s.SIA, e.SnpData, ["send_rsp_shitse"])
    t.rule((s.EIA, s.SIA), e.SnpCur, ["send_rsp_vhitv"])
    t.rule(s.CFA, SNOOPS, ["send_rsp_ihiti"])  # never routed here: the pseudo-line has no addr

    # --- responses and data ----------------------------------------------------------------
    t.rule(s.ISAD, e.GO_S, [], s.ISD)
    t.rule(s.ISAD, e.Data, ["record_data"], s.ISA)
    t.rule(s.ISA, e.GO_S, ["fill_line", "complete_load", "free_tbe"], s.S)
    t.rule(s.ISD, e.Data, ["record_data", "fill_line", "complete_load", "free_tbe"], s.S)
    t.rule(s.IXAD, e.GO_S, [], s.ISD)
    t.rule(s.IXAD, e.GO_E, [], s.IED)
    t.rule(s.IXAD, e.GO_M, [], s.IMD)
    t.rule(s.IXAD, e.Data, ["record_data"], s.IXA)
    t.rule(s.IXA, e.GO_S, ["fill_line", "complete_load", "free_tbe"], s.S)
    t.rule(s.IXA, e.GO_E, ["fill_line", "complete_load", "free_tbe"], s.E)
    t.rule(s.IXA, e.GO_M, ["fill_line", "complete_load", "free_tbe"], s.M)
    t.rule(s.IED, e.Data, ["record_data", "fill_line", "complete_load", "free_tbe"], s.E)
    t.rule(s.IMAD, (e.GO_E, e.GO_M), [], s.IMD)
    t.rule(s.IMAD, e.Data, ["record_data"], s.IMA)
    t.rule(s.IMA, (e.GO_E, e.GO_M), ["fill_line", "complete_store", "free_tbe"], s.M)
    # IMD serves RdOwn (a store) and RdAny granted M (a load)
    t.rule(s.IMD, e.Data, ["record_data", "fill_line", "complete_op_on_fill", "free_tbe"], s.M)
    t.rule((s.IMG, s.SMA), e.GO_E, ["complete_store", "free_tbe"], s.M)
    t.rule(s.IVD, e.Data, ["record_data", "complete_load_uncached", "free_tbe"], s.I)
    t.rule(s.IFA, e.GO_I, ["complete_op", "free_tbe"], s.I)
    t.rule(s.IWA, e.GO_WritePull, ["send_write_data", "complete_op", "free_tbe"], s.I)
    t.rule(s.IWP, e.WritePull, ["send_write_data"], s.IWG)
    t.rule(s.IWG, e.GO_I, ["complete_op", "free_tbe"], s.I)
    t.rule(s.IWF, e.Fast_GO_WritePull, ["send_write_data"], s.IWE)
    t.rule(s.IWE, e.ExtCmp, ["complete_op", "free_tbe"], s.I)
    t.rule((s.MIA, s.EIA), e.GO_WritePull, ["send_evict_data", "complete_op", "free_tbe"], s.I)
    t.rule(s.EIA, e.GO_WritePull_Drop, ["complete_op", "free_tbe"], s.I)
    t.rule(s.SIA, e.GO_I, ["complete_op", "free_tbe"], s.I)
    t.rule(s.IIA, e.GO_WritePull, ["send_bogus_data", "complete_op", "free_tbe"], s.I)
    t.rule(s.IIA, (e.GO_WritePull_Drop, e.GO_I), ["complete_op", "free_tbe"], s.I)
    t.rule(s.CFA, e.GO_I, ["complete_op", "free_tbe"], s.I)

    # --- errors: the host refused the request (GO-Err, CXL_REFERENCE.md §1.3/§1.4) ------------
    # The operation completes as failed; nothing is installed and nothing is owned. A read's
    # error data (all ones, flagged GO-Err) may come before or after its GO-Err and is dropped.
    failed = ["fail_op", "free_tbe"]
    t.rule((s.ISAD, s.IXAD, s.IMAD), e.GO_Err, [], s.IRD)
    t.rule((s.ISAD, s.IXAD, s.IMAD), e.ErrData, [], s.IRA)
    t.rule(s.IRA, e.GO_Err, failed, s.I)
    t.rule(s.IRD, e.ErrData, failed, s.I)
    t.rule(s.IVD, e.ErrData, failed, s.I)  # RdCurr has no GO: the flagged data says it failed
    t.rule((s.IMG, s.IFA, s.IWG), e.GO_Err, failed, s.I)
    t.rule(s.SMA, e.GO_Err, failed, s.S)  # the upgrade failed; the clean copy stays
    t.rule(s.IWA, e.GO_ERR_WritePull, ["send_write_data", *failed], s.I)
    t.rule(s.IWF, e.GO_ERR_WritePull, ["send_write_data"], s.IWX)
    t.rule(s.IWX, e.ExtCmp, failed, s.I)
    t.rule(s.MIA, e.GO_ERR_WritePull, ["send_evict_data", *failed], s.I)
    t.rule(s.IIA, e.GO_ERR_WritePull, ["send_bogus_data", *failed], s.I)
    t.impossible((s.ISD, s.IED, s.IMD), e.ErrData, "a granted read gets its line's data")
    t.impossible((s.IRA, s.IRD), e.Data, "a failed read's data comes flagged GO-Err")
    t.impossible((s.ISA, s.IXA, s.IMA), e.GO_Err, "its data was not flagged GO-Err")
    return t


DEVICE_TABLE = _device_table()


class DeviceTxn:
    """The device's tracker for one outstanding request (SLICC's TBE), found by CQID."""

    __slots__ = ("cqid", "data", "op", "opcode")

    def __init__(self, cqid: int, opcode: D2HReqOpcode, op: Op) -> None:
        self.cqid = cqid
        self.opcode = opcode
        self.op = op
        self.data: int | None = None  # H2D data, kept until the GO allows its use

    def key(self) -> tuple[int, int, Op, int | None]:
        return (self.cqid, self.opcode, self.op, self.data)

    def copy(self) -> DeviceTxn:
        twin = DeviceTxn(self.cqid, self.opcode, self.op)
        twin.data = self.data
        return twin


class DeviceLine(LineEntry):
    __slots__ = ("txn", "value")

    def __init__(self, line: int) -> None:
        super().__init__(line, DeviceState.I)
        self.value = 0  # meaningful in S/E/M and while an evict still holds the copy
        self.txn: DeviceTxn | None = None


class DeviceCache(Controller):
    """A CXL.cache device's coherent cache.

    ``send(msg)`` puts a D2H message on the device's link to the host; ``complete(c)`` reports
    a finished program operation; ``on_write(agent, line, value)`` (optional) is told each
    value a store writes into the cache (the data-value checker's hook). Drive it with
    :meth:`issue` (program operations; False means "busy, retry") and :meth:`receive` (H2D
    messages; False means "stalled: deliver again later, the channel stays blocked behind
    it").
    """

    TABLE = DEVICE_TABLE

    def __init__(
        self,
        device_id: int,
        send: Callable[[Message], None],
        complete: Callable[[Completion], None],
        *,
        name: str | None = None,
        on_transition: Callable[[Transition], None] | None = None,
        on_write: Callable[[str, int, int], None] | None = None,
    ) -> None:
        self.device_id = device_id
        self.on_write = on_write
        self.name = name or f"dev{device_id}"
        self.send = send
        self.complete = complete
        self.on_transition = on_transition
        self.lines: dict[int, DeviceLine] = {}
        self.txns: dict[int, DeviceLine] = {}  # CQID -> the line waiting on it
        self.errors = 0  # operations failed with GO-Err
        self._op: Op | None = None  # the operation being issued (hits have no TBE)
        self._msg: Message | None = None  # the message being received

    # --- the interface -----------------------------------------------------------------------

    def issue(self, op: Op) -> bool:
        """Start ``op``; False if its line is busy (or, for FlushAll, the cache is not ready)."""
        if op.kind not in PROGRAM_EVENTS:
            raise ValueError(f"{self.name}: {op.kind!r} is not a device operation")
        if op.kind is DeviceEvent.FlushAll:
            if self.txns or any(e.state in (DeviceState.E, DeviceState.M) for e in self._real()):
                return False
            entry = self._entry(ALL_LINES)
        else:
            entry = self._entry(op.line)
        self._op = op
        try:
            return self._fire(entry, op.kind)
        finally:
            self._op = None

    def receive(self, msg: Message) -> bool:
        """Handle one H2D message; False if the table stalls it (nothing changed)."""
        if isinstance(msg, H2DReq):
            entry = self._entry(msg.addr // LINE_BYTES)
            event = _SNOOP_EVENT[msg.opcode]
        else:
            assert isinstance(msg, H2DRsp | H2DData)
            found = self.txns.get(msg.cqid)
            if found is None:
                raise ProtocolError(
                    f"{self.name}: {type(msg).__name__} for unknown CQID {msg.cqid}"
                )
            entry = found
            if isinstance(msg, H2DData):
                event = DeviceEvent.ErrData if msg.go_err else DeviceEvent.Data
            elif msg.opcode is H2DRspOpcode.GO:
                go = _GO_EVENT.get(GOState(msg.rsp_data & 0xF))
                if go is None:
                    raise ProtocolError(f"{self.name}: GO state {msg.rsp_data:#x} not modelled")
                event = go
            else:
                event = _RSP_EVENT[msg.opcode]
        self._msg = msg
        try:
            return self._fire(entry, event)
        finally:
            self._msg = None

    def stalls(self, msg: Message) -> bool:
        """Whether :meth:`receive` would stall ``msg`` now (no side effects)."""
        if not isinstance(msg, H2DReq):
            return False  # only snoops wait (for the data of a granted read)
        return self.stall_rule(self._peek(msg.addr // LINE_BYTES), _SNOOP_EVENT[msg.opcode])

    def can_issue(self, op: Op) -> bool:
        """Whether :meth:`issue` would accept ``op`` now (no side effects)."""
        if op.kind is DeviceEvent.FlushAll:
            busy = any(e.state in (DeviceState.E, DeviceState.M) for e in self._real())
            return not self.txns and not busy
        return not self.stall_rule(self._peek(op.line), op.kind)

    def _peek(self, line: int) -> DeviceLine:
        return self.lines.get(line) or DeviceLine(line)

    def clone(
        self,
        send: Callable[[Message], None],
        complete: Callable[[Completion], None],
        on_transition: Callable[[Transition], None] | None,
        on_write: Callable[[str, int, int], None] | None,
    ) -> DeviceCache:
        """An independent copy wired to new callbacks (the explorer forks states this way:
        messages, operations and enum states are immutable and shared)."""
        twin = type(self).__new__(type(self))
        twin.__dict__.update(self.__dict__)
        twin.send, twin.complete = send, complete
        twin.on_transition, twin.on_write = on_transition, on_write
        twin.lines, twin.txns = {}, {}
        for line, entry in self.lines.items():
            copy = DeviceLine(line)
            copy.state, copy.value = entry.state, entry.value
            if entry.txn is not None:
                copy.txn = entry.txn.copy()
                twin.txns[copy.txn.cqid] = copy
            twin.lines[line] = copy
        return twin

    def line_state(self, line: int) -> DeviceState:
        entry = self.lines.get(line)
        return DeviceState.I if entry is None else entry.state

    def line_value(self, line: int) -> int:
        entry = self.lines.get(line)
        return 0 if entry is None else entry.value

    def busy(self, line: int) -> bool:
        entry = self.lines.get(line)
        return entry is not None and entry.txn is not None

    def key(self) -> tuple[object, ...]:
        """Canonical state for the explorer: lines in order, values only where they matter."""
        out = []
        for line in sorted(self.lines):
            entry = self.lines[line]
            if entry.state is DeviceState.I and entry.txn is None:
                continue
            txn = entry.txn.key() if entry.txn is not None else None
            value = entry.value if entry.state in HOLDS_COPY else 0
            out.append((line, entry.state, value, txn))
        return tuple(out)

    # --- helpers -----------------------------------------------------------------------------

    def _entry(self, line: int) -> DeviceLine:
        entry = self.lines.get(line)
        if entry is None:
            entry = self.lines[line] = DeviceLine(line)
        return entry

    def _real(self) -> list[DeviceLine]:
        return [e for e in self.lines.values() if e.line != ALL_LINES]

    def _current_op(self, entry: DeviceLine) -> Op:
        if self._op is not None:
            return self._op
        assert entry.txn is not None, "a completion without an operation"
        return entry.txn.op

    def _request(self, entry: DeviceLine, opcode: D2HReqOpcode) -> None:
        cqid = 0
        while cqid in self.txns:  # the smallest free CQID keeps explorer states canonical
            cqid += 1
        entry.txn = DeviceTxn(cqid, opcode, self._current_op(entry))
        self.txns[cqid] = entry
        addr = 0 if entry.line == ALL_LINES else entry.line * LINE_BYTES
        self.send(D2HReq(opcode=opcode, cqid=cqid, addr=addr))

    def _respond(self, opcode: D2HRspOpcode) -> None:
        assert isinstance(self._msg, H2DReq)
        self.send(D2HRsp(opcode=opcode, uqid=self._msg.uqid))

    def _data(self, entry: DeviceLine, value: int, bogus: int = 0) -> None:
        """D2H data to the UQID of the snoop being answered or of the pull being served."""
        msg = self._msg
        uqid = msg.uqid if isinstance(msg, H2DReq) else msg.rsp_data  # type: ignore[union-attr]
        self.send(D2HData(uqid=uqid, bogus=bogus, data=value))

    def _report(self, entry: DeviceLine, value: int | None) -> None:
        self.complete(Completion(self.name, self._current_op(entry), value))

    # --- actions: requests -------------------------------------------------------------------

    def send_rdshared(self, entry: DeviceLine) -> None:
        """Send D2H RdShared for the line (a CQID and tracker entry taken)."""
        self._request(entry, D2HReqOpcode.RDSHARED)

    def send_rdany(self, entry: DeviceLine) -> None:
        """Send D2H RdAny for the line (a CQID and tracker entry taken)."""
        self._request(entry, D2HReqOpcode.RDANY)

    def send_rdcurr(self, entry: DeviceLine) -> None:
        """Send D2H RdCurr for the line (a CQID and tracker entry taken)."""
        self._request(entry, D2HReqOpcode.RDCURR)

    def send_rdown(self, entry: DeviceLine) -> None:
        """Send D2H RdOwn for the line (a CQID and tracker entry taken)."""
        self._request(entry, D2HReqOpcode.RDOWN)

    def send_rdownnodata(self, entry: DeviceLine) -> None:
        """Send D2H RdOwnNoData for the line (a CQID and tracker entry taken)."""
        self._request(entry, D2HReqOpcode.RDOWNNODATA)

    def send_itomwr(self, entry: DeviceLine) -> None:
        """Send D2H ItoMWr for the line (a CQID and tracker entry taken)."""
        self._request(entry, D2HReqOpcode.ITOMWR)

    def send_wrcur(self, entry: DeviceLine) -> None:
        """Send D2H WrCur for the line (a CQID and tracker entry taken)."""
        self._request(entry, D2HReqOpcode.WRCUR)

    def send_wrinv(self, entry: DeviceLine) -> None:
        """Send D2H WrInv for the line (a CQID and tracker entry taken)."""
        self._request(entry, D2HReqOpcode.WRINV)

    def send_wowrinv(self, entry: DeviceLine) -> None:
        """Send D2H WOWrInv for the line (a CQID and tracker entry taken)."""
        self._request(entry, D2HReqOpcode.WOWRINV)

    def send_wowrinvf(self, entry: DeviceLine) -> None:
        """Send D2H WOWrInvF for the line (a CQID and tracker entry taken)."""
        self._request(entry, D2HReqOpcode.WOWRINVF)

    def send_clflush(self, entry: DeviceLine) -> None:
        """Send D2H CLFlush for the line (a CQID and tracker entry taken)."""
        self._request(entry, D2HReqOpcode.CLFLUSH)

    def send_dirtyevict(self, entry: DeviceLine) -> None:
        """Send D2H DirtyEvict for the line (a CQID and tracker entry taken)."""
        self._request(entry, D2HReqOpcode.DIRTYEVICT)

    def send_cleanevict(self, entry: DeviceLine) -> None:
        """Send D2H CleanEvict for the line (a CQID and tracker entry taken)."""
        self._request(entry, D2HReqOpcode.CLEANEVICT)

    def send_cleanevictnodata(self, entry: DeviceLine) -> None:
        """Send D2H CleanEvictNoData for the line (a CQID and tracker entry taken)."""
        self._request(entry, D2HReqOpcode.CLEANEVICTNODATA)

    def send_cacheflushed(self, entry: DeviceLine) -> None:
        """Send D2H CacheFlushed (no address) for the line (a CQID and tracker entry taken)."""
        self._request(entry, D2HReqOpcode.CACHEFLUSHED)

    def drop_line(self, entry: DeviceLine) -> None:
        """Silently invalidate a clean S copy (its buried state becomes I)."""
        assert entry.state is DeviceState.S
        entry.state = DeviceState.I
        entry.value = 0

    def drop_shared_lines(self, entry: DeviceLine) -> None:
        """Before CacheFlushed: every S line is dropped silently (E/M lines refused in issue)."""
        for other in self._real():
            if other.state is DeviceState.S:
                self.drop_line(other)

    # --- actions: snoop responses ----------------------------------------------------------

    def send_rsp_ihiti(self, entry: DeviceLine) -> None:
        """D2H RspIHitI to the snoop's UQID."""
        self._respond(D2HRspOpcode.RSPIHITI)

    def send_rsp_ihitse(self, entry: DeviceLine) -> None:
        """D2H RspIHitSE to the snoop's UQID."""
        self._respond(D2HRspOpcode.RSPIHITSE)

    def send_rsp_shitse(self, entry: DeviceLine) -> None:
        """D2H RspSHitSE to the snoop's UQID."""
        self._respond(D2HRspOpcode.RSPSHITSE)

    def send_rsp_vhitv(self, entry: DeviceLine) -> None:
        """D2H RspVHitV to the snoop's UQID."""
        self._respond(D2HRspOpcode.RSPVHITV)

    def send_rsp_sfwdm(self, entry: DeviceLine) -> None:
        """D2H RspSFwdM to the snoop's UQID."""
        self._respond(D2HRspOpcode.RSPSFWDM)

    def send_rsp_ifwdm(self, entry: DeviceLine) -> None:
        """D2H RspIFwdM to the snoop's UQID."""
        self._respond(D2HRspOpcode.RSPIFWDM)

    def send_rsp_vfwdv(self, entry: DeviceLine) -> None:
        """D2H RspVFwdV to the snoop's UQID."""
        self._respond(D2HRspOpcode.RSPVFWDV)

    def send_snoop_data(self, entry: DeviceLine) -> None:
        """D2H data with the line's value to the snoop's UQID."""
        self._data(entry, entry.value)

    # --- actions: data, completion ---------------------------------------------------------

    def record_data(self, entry: DeviceLine) -> None:
        """Keep H2D data in the tracker; it is used only once the GO has arrived."""
        assert entry.txn is not None and isinstance(self._msg, H2DData)
        entry.txn.data = self._msg.data

    def fill_line(self, entry: DeviceLine) -> None:
        """Put the kept data into the line."""
        assert entry.txn is not None and entry.txn.data is not None
        entry.value = entry.txn.data

    def send_write_data(self, entry: DeviceLine) -> None:
        """D2H data with the store's value to the pull's UQID."""
        self._data(entry, self._current_op(entry).value)

    def send_evict_data(self, entry: DeviceLine) -> None:
        """D2H data with the evicted line's value to the pull's UQID."""
        self._data(entry, entry.value)

    def send_bogus_data(self, entry: DeviceLine) -> None:
        """The line went to a snoop after the evict was sent: this data is stale."""
        self._data(entry, entry.value, bogus=1)

    def complete_load_hit(self, entry: DeviceLine) -> None:
        """The load completes with the cached value."""
        self._report(entry, entry.value)

    def complete_load(self, entry: DeviceLine) -> None:
        """The load completes with the filled value."""
        self._report(entry, entry.value)

    def complete_load_uncached(self, entry: DeviceLine) -> None:
        """RdCurr: the load completes with the data, which is not cached."""
        assert entry.txn is not None
        self._report(entry, entry.txn.data)

    def complete_store_hit(self, entry: DeviceLine) -> None:
        """The store writes its value into the E/M line and completes."""
        self._store(entry)

    def complete_store(self, entry: DeviceLine) -> None:
        """The store writes its value into the newly owned line and completes."""
        self._store(entry)

    def _store(self, entry: DeviceLine) -> None:
        entry.value = self._current_op(entry).value
        if self.on_write is not None:
            self.on_write(self.name, entry.line, entry.value)
        self._report(entry, None)

    def complete_op_on_fill(self, entry: DeviceLine) -> None:
        """IMD: a store (RdOwn) writes its value; a load (RdAny granted M) reads the data."""
        if self._current_op(entry).kind in STORES:
            self.complete_store(entry)
        else:
            self.complete_load(entry)

    def complete_op(self, entry: DeviceLine) -> None:
        """The operation (evict, flush, write-through store) completes."""
        self._report(entry, None)

    def fail_op(self, entry: DeviceLine) -> None:
        """The operation completes as failed (GO-Err): no value, nothing written or kept."""
        self.errors += 1
        self.complete(Completion(self.name, self._current_op(entry), None, failed=True))

    def free_tbe(self, entry: DeviceLine) -> None:
        """Release the request's tracker entry and CQID."""
        assert entry.txn is not None
        del self.txns[entry.txn.cqid]
        entry.txn = None


DEVICE_TABLE.check_actions(DeviceCache)
