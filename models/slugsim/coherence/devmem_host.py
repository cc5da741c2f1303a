"""A host's side of device-attached memory (HDM-DB and HDM-D), as a table (``HOST_MEM_TABLE``).

One controller per host, one entry per device-memory line: the host's cached copy (the host's
caching agents are folded into one cache, as the home agent folds its cores) and the one
transaction the host has on the line. CXL_REFERENCE.md §2.2-2.4 and §3:

- **Fills** are M2S MemRd with MetaValue S / SnpData (a load) or A / SnpInv (a store); the
  device answers NDR Cmp-S/Cmp-E and DRS MemData, on independent channels, in either order.
  A store to an S copy drops it silently and reads for ownership (MemInv without data is not
  used: an early conflict would leave the host owning a line it has no data for).
- **Evictions**: M -> MemWr MetaValue I, waiting for Cmp; S/E -> MemClnEvct (HDM-DB) or a
  silent drop (HDM-D, where the host itself tracks its copies).
- **BISnp** (HDM-DB, §3.2): BIRspI/S/E by the state; a dirty line is first written back with
  MemWr and the BIRsp leaves only after the write's Cmp (the BIRsp travels on another channel
  and must not overtake the data). A BISnp that finds a writeback in flight waits for its Cmp.
- **BIConflict** (§3.2, S4 §3.5.1.3): a BISnp that finds a fill pending is answered with
  BIConflict (RwD, the fill's Tag) and the snoop is kept. The device's BIConflictAck pushes
  any earlier Cmp on NDR, so at the Ack: no Cmp yet = *early* conflict (the device has not
  served the fill and cannot before this BISnp is answered: answer from the state before the
  fill, I); Cmp already here = *late* conflict (finish the fill, then answer the kept BISnp
  from the new state). Data without its Cmp before the Ack is impossible. A BISnp that finds
  the Cmp already here needs no BIConflict (the fill was served first): it waits for the data.
- **HDM-D device requests** (§3.1): the device's D2H RdCurr (a read in host bias), WOWrInv (a
  write) and RdOwnNoData (a host->device bias flip) are resolved here against the host's copy
  and completed as M2S MemRdFwd / MemWrFwd on the Req channel (Tag = the CQID); a dirty copy is
  written back first and the Fwd waits for its Cmp. The CXL.cache GO the host would also send
  is folded into the Fwd (the device's tracker needs only one of them here).
"""

from __future__ import annotations

from collections.abc import Callable
from enum import unique

from slugsim.coherence.controller import Controller, LineEntry, Transition
from slugsim.coherence.ops import Completion, CoreOp, Op
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
    MetaField,
    MetaValue,
    S2MBISnp,
    S2MBISnpOpcode,
    S2MNDROpcode,
    SnpType,
)


@unique
class HostMemState(Described):
    I = "no copy"  # noqa: E741
    S = "clean shared copy"
    E = "clean exclusive copy"
    M = "modified copy (device memory stale)"
    IXCD = "fill (MemRd) sent: waiting for its Cmp and its data"
    IXD = "fill: Cmp-S/Cmp-E here, waiting for the data"
    IXC = "fill: data here, waiting for the Cmp"
    IXCD_K = "fill pending, BIConflict sent for a BISnp: waiting for the Ack, Cmp and data"
    IXD_K = "conflict: Cmp here (late), waiting for the Ack and the data"
    IXC_K = "conflict: data here, waiting for the Cmp and the Ack"
    IX_K = "conflict: Cmp and data here (late), waiting for the Ack"
    IXD_L = "late conflict acknowledged: waiting for the data, then the kept BISnp is answered"
    MI_C = "dirty evict: MemWr (MetaValue I) sent, waiting for its Cmp"
    XI_C = "clean evict: MemClnEvct sent, waiting for its Cmp"
    WBS = "answering a BISnp on a dirty copy: MemWr sent, the BIRsp follows its Cmp"
    WBF = "HDM-D: a dirty copy written back before a device request; the Fwd follows the Cmp"


@unique
class HostMemEvent(Described):
    Load = "a host load"
    Store = "a host store of a new value"
    Evict = "HDM-DB: the host evicts its copy (clean: MemClnEvct)"
    EvictSilent = "HDM-D: the host evicts its copy (clean: dropped silently)"
    CmpS = "NDR Cmp-S: the fill grants a shared copy"
    CmpE = "NDR Cmp-E: the fill grants an exclusive copy"
    Cmp = "NDR Cmp: a MemWr or MemClnEvct is done"
    Data = "DRS MemData for the fill"
    ConflictAck = "NDR BI-ConflictAck for our BIConflict"
    BISnpInv = "S2M BISnpInv: give up the line"
    BISnpData = "S2M BISnpData: keep at most S"
    BISnpCur = "S2M BISnpCur: make memory current, keep any state"
    RdCurr = "HDM-D: device D2H RdCurr (a device read in host bias)"
    WOWrInv = "HDM-D: device D2H WOWrInv (a device write in host bias)"
    RdOwnNoData = "HDM-D: device D2H RdOwnNoData (one line of a host->device bias flip)"


s, e = HostMemState, HostMemEvent
FILLS = (s.IXCD, s.IXD, s.IXC)
CONFLICTS = (s.IXCD_K, s.IXD_K, s.IXC_K, s.IX_K, s.IXD_L)
TRANSIENT = (*FILLS, *CONFLICTS, s.MI_C, s.XI_C, s.WBS, s.WBF)
SNOOPS = (e.BISnpInv, e.BISnpData, e.BISnpCur)
DEVICE_REQUESTS = (e.RdCurr, e.WOWrInv, e.RdOwnNoData)
OPS = (e.Load, e.Store, e.Evict, e.EvictSilent)
# States in which the host holds, or has been granted, a copy the device must know about.
HOLDS_COPY = frozenset({s.S, s.E, s.M, s.IXD, s.IXC, s.IXD_K, s.IXC_K, s.IX_K, s.IXD_L})


def _host_mem_table() -> Table[HostMemState, HostMemEvent]:
    t: Table[HostMemState, HostMemEvent] = Table(
        "Host side of device memory (HDM-DB / HDM-D)",
        HostMemState,
        HostMemEvent,
        "One table per host, one entry per device-memory line (CXL_REFERENCE.md §2.2-2.4, "
        "§3). Fills by M2S MemRd, evictions by MemWr/MemClnEvct, BISnp answered with BIRsp "
        "after any dirty data is written back, BIConflict for a BISnp that meets a fill; "
        "HDM-D device requests completed as MemRdFwd/MemWrFwd.",
    )
    busy = "one transaction per line: the operation waits for the line's transaction to end"
    # -- host operations ---------------------------------------------------------------------
    t.rule(s.I, e.Load, ["send_rd_shared"], s.IXCD)
    t.rule((s.S, s.E, s.M), e.Load, ["load_hit"])
    t.rule(s.I, e.Store, ["send_rd_own"], s.IXCD)
    t.rule(s.S, e.Store, ["drop_copy", "send_rd_own"], s.IXCD)
    t.rule((s.E, s.M), e.Store, ["store_hit"], s.M)
    t.rule(s.I, (e.Evict, e.EvictSilent), ["complete_op"])
    t.rule((s.S, s.E), e.Evict, ["drop_copy", "send_cln_evct"], s.XI_C)
    t.rule((s.S, s.E), e.EvictSilent, ["drop_copy", "complete_op"], s.I)
    t.rule(s.M, (e.Evict, e.EvictSilent), ["send_evict_data"], s.MI_C)
    t.stall(TRANSIENT, OPS, busy)
    # -- fills -------------------------------------------------------------------------------
    t.rule(s.IXCD, (e.CmpS, e.CmpE), ["record_grant"], s.IXD)
    t.rule(s.IXC, (e.CmpS, e.CmpE), ["record_grant", "fill_done"], STABLE)
    t.rule(s.IXCD_K, (e.CmpS, e.CmpE), ["record_grant"], s.IXD_K)
    t.rule(s.IXC_K, (e.CmpS, e.CmpE), ["record_grant"], s.IX_K)
    t.rule(s.IXCD, e.Data, ["record_data"], s.IXC)
    t.rule(s.IXD, e.Data, ["record_data", "fill_done"], STABLE)
    t.rule(s.IXCD_K, e.Data, ["record_data"], s.IXC_K)
    t.rule(s.IXD_K, e.Data, ["record_data"], s.IX_K)
    t.rule(s.IXD_L, e.Data, ["record_data", "fill_done", "replay_snoop"], STABLE)
    # -- conflicts ---------------------------------------------------------------------------
    t.rule(s.IXCD_K, e.ConflictAck, ["answer_early"], s.IXCD)
    t.rule(s.IXD_K, e.ConflictAck, [], s.IXD_L)
    t.rule(s.IX_K, e.ConflictAck, ["fill_done", "replay_snoop"], STABLE)
    t.impossible(
        s.IXC_K,
        e.ConflictAck,
        "the data was sent with a Cmp, and the Ack pushes every earlier Cmp on NDR",
    )
    # -- writes done ---------------------------------------------------------------------------
    t.rule((s.MI_C, s.XI_C), e.Cmp, ["complete_op"], s.I)
    t.rule(s.WBS, e.Cmp, ["answer_after_writeback"], STABLE)
    t.rule(s.WBF, e.Cmp, ["forward_after_writeback"], STABLE)
    # -- back-invalidation snoops (HDM-DB) -------------------------------------------------
    t.rule((s.I, s.XI_C), SNOOPS, ["send_birsp_i"])
    t.rule(s.S, e.BISnpInv, ["drop_copy", "send_birsp_i"], s.I)
    t.rule(s.S, (e.BISnpData, e.BISnpCur), ["send_birsp_s"])
    t.rule(s.E, e.BISnpInv, ["drop_copy", "send_birsp_i"], s.I)
    t.rule(s.E, e.BISnpData, ["send_birsp_s"], s.S)
    t.rule(s.E, e.BISnpCur, ["send_birsp_e"])
    t.rule(s.M, e.BISnpInv, ["writeback_for_inv"], s.WBS)
    t.rule(s.M, e.BISnpData, ["writeback_for_data"], s.WBS)
    t.rule(s.M, e.BISnpCur, ["writeback_for_cur"], s.WBS)
    t.rule(s.IXCD, SNOOPS, ["send_conflict"], s.IXCD_K)
    t.rule(s.IXC, SNOOPS, ["send_conflict"], s.IXC_K)
    t.stall(s.MI_C, SNOOPS, "dirty data is being written back: answer after its Cmp")
    t.stall(
        s.IXD,
        SNOOPS,
        "the Cmp is here, so the fill was served before this BISnp was sent (blocking rule): "
        "no conflict, answer once the data is here",
    )
    t.impossible((s.WBS, *CONFLICTS), SNOOPS, "the device sends one BISnp per line at a time")
    t.impossible(s.WBF, SNOOPS, "HDM-D memory has no BISnp")
    # -- HDM-D device requests ---------------------------------------------------------------
    t.rule((s.I, s.S, s.E), e.RdCurr, ["send_rd_fwd"])
    t.rule(s.M, e.RdCurr, ["writeback_for_rd_fwd"], s.WBF)
    t.rule(s.I, e.WOWrInv, ["send_wr_fwd"])
    t.rule((s.S, s.E, s.M), e.WOWrInv, ["drop_copy", "send_wr_fwd"], s.I)
    t.rule(s.I, e.RdOwnNoData, ["send_flip_fwd"])
    t.rule((s.S, s.E), e.RdOwnNoData, ["drop_copy", "send_flip_fwd"], s.I)
    t.rule(s.M, e.RdOwnNoData, ["writeback_for_flip"], s.WBF)
    t.stall(TRANSIENT, DEVICE_REQUESTS, busy)
    return t


HOST_MEM_TABLE = _host_mem_table()

_SNOOP_EVENT = {
    S2MBISnpOpcode.BISNPINV: e.BISnpInv,
    S2MBISnpOpcode.BISNPDATA: e.BISnpData,
    S2MBISnpOpcode.BISNPCUR: e.BISnpCur,
}
_NDR_EVENT = {
    S2MNDROpcode.CMP: e.Cmp,
    S2MNDROpcode.CMP_S: e.CmpS,
    S2MNDROpcode.CMP_E: e.CmpE,
    S2MNDROpcode.BI_CONFLICT_ACK: e.ConflictAck,
}
_D2H_EVENT = {
    D2HReqOpcode.RDCURR: e.RdCurr,
    D2HReqOpcode.WOWRINV: e.WOWrInv,
    D2HReqOpcode.RDOWNNODATA: e.RdOwnNoData,
}
_OP_EVENT = {CoreOp.Load: e.Load, CoreOp.Store: e.Store, CoreOp.Evict: e.Evict}


class HostLine(LineEntry):
    __slots__ = ("after", "fwd", "grant", "op", "replay", "rsp", "snoop", "value")

    def __init__(self, line: int) -> None:
        super().__init__(line, HostMemState.I)
        self.value: int | None = None  # the cached copy (None: no copy)
        self.op: Op | None = None  # the host operation this line's transaction serves
        self.grant: HostMemState | None = None  # S or E, from the fill's Cmp
        self.after: HostMemState = HostMemState.I  # where a STABLE rule lands
        self.snoop: S2MBISnp | None = None  # a BISnp kept across a conflict
        self.replay = False  # answer ``snoop`` once the fill is done (late conflict)
        self.rsp = M2SBIRspOpcode.BIRSPI  # the BIRsp owed after a writeback
        self.fwd: D2HReq | None = None  # the device request owed after a writeback

    def copy(self) -> HostLine:
        twin = HostLine(self.line)
        twin.state, twin.value, twin.op, twin.grant = self.state, self.value, self.op, self.grant
        twin.after, twin.snoop, twin.replay = self.after, self.snoop, self.replay
        twin.rsp, twin.fwd = self.rsp, self.fwd
        return twin

    def key(self) -> tuple[object, ...]:
        snoop = None if self.snoop is None else self.snoop.opcode
        fwd = None if self.fwd is None else (self.fwd.opcode, self.fwd.cqid)
        return (self.line, self.state, self.value, self.op, self.grant, snoop, self.rsp, fwd)


class HostMemAgent(Controller):
    """Host ``host_id``'s caches of device memory. ``send(msg)`` goes to the device."""

    TABLE = HOST_MEM_TABLE

    def __init__(
        self,
        host_id: int,
        hdm_d: bool,
        send: Callable[[Message], None],
        complete: Callable[[Completion], None],
        *,
        on_transition: Callable[[Transition], None] | None = None,
        on_write: Callable[[str, int, int], None] | None = None,
    ) -> None:
        self.host_id = host_id
        self.name = f"host{host_id}"
        self.hdm_d = hdm_d
        self.send = send
        self.complete = complete
        self.on_transition = on_transition
        self.on_write = on_write
        self.lines: dict[int, HostLine] = {}
        self._msg: Message | None = None

    def clone(
        self,
        send: Callable[[Message], None],
        complete: Callable[[Completion], None],
        on_transition: Callable[[Transition], None] | None,
        on_write: Callable[[str, int, int], None] | None,
    ) -> HostMemAgent:
        twin = type(self)(self.host_id, self.hdm_d, send, complete, on_transition=on_transition)
        twin.on_write = on_write
        twin.lines = {n: entry.copy() for n, entry in self.lines.items()}
        return twin

    def key(self) -> tuple[object, ...]:
        return tuple(
            entry.key()
            for _, entry in sorted(self.lines.items())
            if entry.state is not HostMemState.I or entry.op is not None
        )

    def entry(self, line: int) -> HostLine:
        found = self.lines.get(line)
        if found is None:
            found = self.lines[line] = HostLine(line)
        return found

    def state(self, line: int) -> HostMemState:
        found = self.lines.get(line)
        return HostMemState.I if found is None else found.state

    def quiescent(self) -> bool:
        return all(entry.state not in TRANSIENT for entry in self.lines.values())

    # --- inputs ------------------------------------------------------------------------------

    def _op_event(self, op: Op) -> HostMemEvent:
        event = _OP_EVENT[op.kind]  # type: ignore[index]
        return e.EvictSilent if event is e.Evict and self.hdm_d else event

    def can_issue(self, op: Op) -> bool:
        return not self.stall_rule(self.entry(op.line), self._op_event(op))

    def issue(self, op: Op) -> bool:
        entry = self.entry(op.line)
        entry.op = op
        if not self._fire(entry, self._op_event(op)):
            entry.op = None
            return False
        return True

    def event_for(self, msg: Message) -> tuple[HostLine, HostMemEvent]:
        if isinstance(msg, S2MBISnp):
            return self.entry(msg.addr // LINE_BYTES), _SNOOP_EVENT[msg.opcode]
        if isinstance(msg, S2MNDR):
            return self.entry(msg.tag), _NDR_EVENT[msg.opcode]
        if isinstance(msg, S2MDRS):
            return self.entry(msg.tag), e.Data
        assert isinstance(msg, D2HReq)
        return self.entry(msg.addr // LINE_BYTES), _D2H_EVENT[msg.opcode]

    def stalls(self, msg: Message) -> bool:
        entry, event = self.event_for(msg)
        return self.stall_rule(entry, event)

    def receive(self, msg: Message) -> bool:
        entry, event = self.event_for(msg)
        self._msg = msg
        try:
            fired = self._fire(entry, event)
        finally:
            self._msg = None
        if entry.replay:  # a late conflict: answer the kept BISnp from the new stable state
            entry.replay = False
            snoop, entry.snoop = entry.snoop, None
            assert snoop is not None
            self._msg = snoop
            try:
                self._fire(entry, _SNOOP_EVENT[snoop.opcode])
            finally:
                self._msg = None
        return fired

    def stable_state(self, entry: HostLine) -> HostMemState:
        return entry.after

    # --- helpers -------------------------------------------------------------------------------

    def _req(self, entry: HostLine, opcode: M2SReqOpcode, meta: MetaValue, snp: SnpType) -> None:
        self.send(
            M2SReq(
                opcode=opcode,
                snp_type=snp,
                meta_field=MetaField.META0_STATE,
                meta_value=meta,
                tag=entry.line,
                addr=entry.line * LINE_BYTES,
            )
        )

    def _memwr(self, entry: HostLine, meta: MetaValue) -> None:
        assert entry.value is not None
        self.send(
            M2SRwD(
                opcode=M2SRwDOpcode.MEMWR,
                meta_field=MetaField.META0_STATE,
                meta_value=meta,
                tag=entry.line,
                addr=entry.line * LINE_BYTES,
                data=entry.value,
            )
        )

    def _birsp(self, entry: HostLine, opcode: M2SBIRspOpcode) -> None:
        snoop = self._msg if isinstance(self._msg, S2MBISnp) else entry.snoop
        assert snoop is not None
        self.send(M2SBIRsp(opcode=opcode, bi_tag=snoop.bi_tag))

    def _finish(self, entry: HostLine, value: int | None = None) -> None:
        op, entry.op = entry.op, None
        assert op is not None
        self.complete(Completion(self.name, op, value))

    def _fwd(self, entry: HostLine, opcode: M2SReqOpcode, meta: MetaValue) -> None:
        req = self._msg if isinstance(self._msg, D2HReq) else entry.fwd
        assert req is not None
        entry.fwd = None
        self.send(
            M2SReq(
                opcode=opcode,
                meta_field=MetaField.META0_STATE,
                meta_value=meta,
                tag=req.cqid,
                addr=entry.line * LINE_BYTES,
            )
        )

    # --- actions -------------------------------------------------------------------------------

    def send_rd_shared(self, entry: HostLine) -> None:
        """M2S MemRd, MetaValue S, SnpData: a shared (or exclusive) copy with data."""
        self._req(entry, M2SReqOpcode.MEMRD, MetaValue.S, SnpType.SNPDATA)

    def send_rd_own(self, entry: HostLine) -> None:
        """M2S MemRd, MetaValue A, SnpInv: an exclusive copy with data."""
        self._req(entry, M2SReqOpcode.MEMRD, MetaValue.A, SnpType.SNPINV)

    def send_cln_evct(self, entry: HostLine) -> None:
        """M2S MemClnEvct, MetaValue I: the host dropped a clean copy (HDM-DB)."""
        self._req(entry, M2SReqOpcode.MEMCLNEVCT, MetaValue.I, SnpType.NO_OP)

    def send_evict_data(self, entry: HostLine) -> None:
        """M2S MemWr, MetaValue I: write the modified copy back and keep nothing."""
        self._memwr(entry, MetaValue.I)
        entry.value = None

    def drop_copy(self, entry: HostLine) -> None:
        """Forget the cached copy."""
        entry.value = None

    def load_hit(self, entry: HostLine) -> None:
        """Complete the load from the cached copy."""
        self._finish(entry, entry.value)

    def store_hit(self, entry: HostLine) -> None:
        """Write the store's value into the exclusive copy and complete it."""
        assert entry.op is not None
        entry.value = entry.op.value
        if self.on_write is not None:
            self.on_write(self.name, entry.line, entry.value)
        self._finish(entry)

    def complete_op(self, entry: HostLine) -> None:
        """Complete the operation (nothing else to do)."""
        self._finish(entry)

    def record_grant(self, entry: HostLine) -> None:
        """Note the state the Cmp grants (S or E)."""
        assert isinstance(self._msg, S2MNDR)
        entry.grant = s.E if self._msg.opcode is S2MNDROpcode.CMP_E else s.S

    def record_data(self, entry: HostLine) -> None:
        """Keep the fill's data."""
        assert isinstance(self._msg, S2MDRS)
        entry.value = self._msg.data

    def fill_done(self, entry: HostLine) -> None:
        """Cmp and data are both here: complete the load, or perform the store (-> M)."""
        assert entry.op is not None and entry.grant is not None
        if entry.op.kind is CoreOp.Store:
            assert entry.grant is s.E, "a read for ownership granted S"
            entry.after = s.M
            self.store_hit(entry)
        else:
            entry.after = entry.grant
            self._finish(entry, entry.value)
        entry.grant = None

    def send_conflict(self, entry: HostLine) -> None:
        """Keep the BISnp and send M2S RwD BIConflict with the pending fill's Tag."""
        assert isinstance(self._msg, S2MBISnp)
        entry.snoop = self._msg
        self.send(
            M2SRwD(
                opcode=M2SRwDOpcode.BICONFLICT,
                tag=entry.line,
                addr=entry.line * LINE_BYTES,
                data=0,
            )
        )

    def answer_early(self, entry: HostLine) -> None:
        """Early conflict: the fill is not served yet, so answer the kept BISnp as I."""
        self._birsp(entry, M2SBIRspOpcode.BIRSPI)
        entry.snoop = None

    def replay_snoop(self, entry: HostLine) -> None:
        """Late conflict: answer the kept BISnp once the fill has left a stable state."""
        entry.replay = True

    def send_birsp_i(self, entry: HostLine) -> None:
        """M2S BIRspI: no copy is kept."""
        self._birsp(entry, M2SBIRspOpcode.BIRSPI)

    def send_birsp_s(self, entry: HostLine) -> None:
        """M2S BIRspS: a shared copy is kept."""
        self._birsp(entry, M2SBIRspOpcode.BIRSPS)

    def send_birsp_e(self, entry: HostLine) -> None:
        """M2S BIRspE: an exclusive (clean) copy is kept."""
        self._birsp(entry, M2SBIRspOpcode.BIRSPE)

    def _writeback_for_snoop(self, entry: HostLine, meta: MetaValue, after: HostMemState) -> None:
        assert isinstance(self._msg, S2MBISnp)
        entry.snoop = self._msg
        entry.after = after
        entry.rsp = {s.I: M2SBIRspOpcode.BIRSPI, s.S: M2SBIRspOpcode.BIRSPS}.get(
            after, M2SBIRspOpcode.BIRSPE
        )
        self._memwr(entry, meta)
        if after is s.I:
            entry.value = None

    def writeback_for_inv(self, entry: HostLine) -> None:
        """BISnpInv on M: MemWr MetaValue I; BIRspI after its Cmp."""
        self._writeback_for_snoop(entry, MetaValue.I, s.I)

    def writeback_for_data(self, entry: HostLine) -> None:
        """BISnpData on M: MemWr MetaValue S (keep S); BIRspS after its Cmp."""
        self._writeback_for_snoop(entry, MetaValue.S, s.S)

    def writeback_for_cur(self, entry: HostLine) -> None:
        """BISnpCur on M: MemWr MetaValue A (keep E); BIRspE after its Cmp."""
        self._writeback_for_snoop(entry, MetaValue.A, s.E)

    def answer_after_writeback(self, entry: HostLine) -> None:
        """The writeback is in device memory: send the BIRsp owed to the kept BISnp."""
        self._birsp(entry, entry.rsp)
        entry.snoop = None

    def send_rd_fwd(self, entry: HostLine) -> None:
        """HDM-D: M2S MemRdFwd (Tag = the CQID, MetaValue = the host's state)."""
        meta = {s.I: MetaValue.I, s.S: MetaValue.S}.get(entry.state, MetaValue.A)
        self._fwd(entry, M2SReqOpcode.MEMRDFWD, meta)

    def send_wr_fwd(self, entry: HostLine) -> None:
        """HDM-D: M2S MemWrFwd: the host holds no copy, the device writes its memory."""
        self._fwd(entry, M2SReqOpcode.MEMWRFWD, MetaValue.I)

    def send_flip_fwd(self, entry: HostLine) -> None:
        """HDM-D: the RdOwnNoData completion, MemRdFwd with MetaValue I (host keeps nothing)."""
        self._fwd(entry, M2SReqOpcode.MEMRDFWD, MetaValue.I)

    def writeback_for_rd_fwd(self, entry: HostLine) -> None:
        """HDM-D RdCurr on M: MemWr MetaValue A (keep E), the MemRdFwd after its Cmp."""
        assert isinstance(self._msg, D2HReq)
        entry.fwd, entry.after = self._msg, s.E
        self._memwr(entry, MetaValue.A)

    def writeback_for_flip(self, entry: HostLine) -> None:
        """HDM-D RdOwnNoData on M: MemWr MetaValue I, the MemRdFwd after its Cmp."""
        assert isinstance(self._msg, D2HReq)
        entry.fwd, entry.after = self._msg, s.I
        self._memwr(entry, MetaValue.I)
        entry.value = None

    def forward_after_writeback(self, entry: HostLine) -> None:
        """The writeback is in device memory: send the MemRdFwd owed to the device."""
        meta = MetaValue.A if entry.after is s.E else MetaValue.I
        self._fwd(entry, M2SReqOpcode.MEMRDFWD, meta)
