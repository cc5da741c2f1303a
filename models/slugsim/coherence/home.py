"""The host home agent (Intel's CHA): the host's cores in MESIF, an inclusive snoop filter
over the devices, and every D2H request of CXL_REFERENCE.md §1.3, as a table (``HOME_TABLE``).

One transaction per line at a time (a tracker entry with a UQID, SLICC's TBE): a request that
finds its line busy waits in the line's queue and is taken up, in order, when the line is
stable again. That single rule gives the CXL ordering rules of §1.5 (S4 §3.2.5.2-3.2.5.5):

- at most one snoop pending per line per device (a transaction snoops a device once);
- a GO goes to a device only when every snoop of the line has been answered, data included;
- data and GO of one request leave together, so no snoop comes between them;
- a WritePull (pull states) and a snoop (snoop states) are never pending on one line at once.

Host stable states describe the cores' MESIF copies plus whether a device owns the line:
``I``, ``S`` (one core in F), ``E``, ``M``, and ``D`` (a device was granted E or M). Devices'
S copies are not a state: the snoop filter records them, and a request snoops whoever it
names. The filter is inclusive and finite: a caching read whose set is full first
back-invalidates the pseudo-LRU victim (SnpInv to all its sharers; the entry is freed only when
they have answered) and waits for the way. The filter may name a device that silently dropped
its S copy; such a device answers RspIHitI.

Host cores are modelled inside the home agent: their requests are handled atomically here (the
core-side MESIF protocol is not the subject), but they wait for snoops of the devices like any
request. Memory is a backing store of values.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum, unique

from slugsim.coherence.controller import Controller, LineEntry, Transition
from slugsim.coherence.ops import Completion, CoreOp, Op
from slugsim.coherence.snoop_filter import SnoopFilter
from slugsim.coherence.spec import FORWARDING_RESPONSES, LINE_BYTES, RESPONSE_LEAVES
from slugsim.coherence.table import STABLE, Described, ProtocolError, Table
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

ALL_LINES = -1  # the pseudo-line CacheFlushed is handled on


class CoreState(Enum):
    """A host core's copy of a line (MESIF: F is the one designated sharer)."""

    I = "I"  # noqa: E741
    S = "S"
    F = "F"
    E = "E"
    M = "M"


@unique
class HostState(Described):
    I = "no core copy and no device owner; devices may hold S (snoop filter); memory current"  # noqa: E741
    S = "cores share the line clean, one in F; devices may hold S; memory current"
    E = "one core holds the line exclusive and clean; no device copy"
    M = "one core holds the line modified (memory stale); no device copy"
    D = "one device was granted E or M and may have written it; no core copy"
    SNP_RS = "RdShared: snooping the device owner (SnpData), if any"
    SNP_RA = "RdAny: snooping the device owner (SnpData), if any"
    SNP_RO = "RdOwn: invalidating the other devices' copies (SnpInv)"
    SNP_RN = "RdOwnNoData: invalidating the other devices' copies (SnpInv)"
    SNP_RC = "RdCurr: asking the device owner, if any, for the current data (SnpCur)"
    SNP_FL = "CLFlush: invalidating every other device copy (SnpInv)"
    SNP_WM = "ItoMWr/WrCur: invalidating every other device copy before the pull"
    SNP_WV = "WrInv: invalidating every other device copy before the WritePull"
    SNP_WO = "WOWrInv(F): invalidating every other device copy before the Fast_GO_WritePull"
    SNP_CL = "core load miss: snooping the device owner (SnpData), if any"
    SNP_CS = "core store: invalidating every device copy (SnpInv)"
    SNP_BI = "snoop-filter victim: back-invalidating its device sharers (SnpInv)"
    PULL_EV = "evict: GO_WritePull sent; waiting for the data (or its Bogus)"
    PULL_WM = "ItoMWr/WrCur: GO_WritePull sent; waiting for the data"
    PULL_WV = "WrInv: WritePull sent; waiting for the data, GO-I follows"
    PULL_WO = "WOWrInv(F): Fast_GO_WritePull sent; waiting for the data, ExtCmp follows"
    PULL_XW = "refused ItoMWr/WrCur/DirtyEvict: GO_ERR_WritePull sent; waiting for data to drop"
    PULL_XV = "refused WrInv: WritePull sent; waiting for the data to drop, GO-Err follows"
    PULL_XO = "refused WOWrInv(F): GO_ERR_WritePull sent; waiting for data to drop, ExtCmp follows"


@unique
class HostEvent(Described):
    RdCurr = "D2H RdCurr: current data, no GO, not cached"
    RdShared = "D2H RdShared: data and GO-S"
    RdAny = "D2H RdAny: data and GO-S, GO-E or GO-M, as the host chooses"
    RdOwn = "D2H RdOwn: data and GO-E or GO-M"
    RdOwnNoData = "D2H RdOwnNoData: GO-E without data (from I, or upgrade from S)"
    ItoMWr = "D2H ItoMWr: write a full line, device keeps no copy"
    WrCur = "D2H WrCur: write the current copy, device keeps no copy"
    CLFlush = "D2H CLFlush: flush the line from every cache"
    CleanEvict = "D2H CleanEvict the host drops (GO_WritePull_Drop): memory is current"
    CleanEvictPull = "D2H CleanEvict the host pulls (GO_WritePull), by its policy"
    DirtyEvict = "D2H DirtyEvict: pull the modified data"
    CleanEvictNoData = "D2H CleanEvictNoData: snoop-filter update only"
    WOWrInv = "D2H WOWrInv: weakly-ordered partial write"
    WOWrInvF = "D2H WOWrInvF: weakly-ordered full-line write"
    WrInv = "D2H WrInv: write, invalidating every copy"
    CacheFlushed = "D2H CacheFlushed (pseudo-line): the device holds no line"
    DevFlushed = "a device that sent CacheFlushed is dropped from this line's sharers"
    SfFull = "a caching read found its snoop-filter set full: a victim must leave first"
    SfVictim = "this line was chosen as a snoop-filter victim"
    CoreLoad = "core load miss"
    CoreLoadHit = "core load hit"
    CoreStore = "core store without an exclusive copy"
    CoreStoreHit = "core store to its E or M copy"
    CoreEvict = "core evicts its copy"
    SnpRsp = "D2H snoop response"
    SnpData = "D2H data answering a snoop"
    Done = "every snoop answered; no other copy remains; data clean"
    DoneShared = "every snoop answered; other copies remain"
    DoneDirty = "every snoop answered; the data taken from a core is newer than memory"
    RefusedRead = "RdShared/RdAny/RdOwn the host's translation check refused"
    RefusedRdCurr = "RdCurr the host's translation check refused"
    RefusedRead0 = "RdOwnNoData/CLFlush the host's translation check refused"
    RefusedWrite = "ItoMWr/WrCur/DirtyEvict the host's translation check refused"
    RefusedWrInv = "WrInv the host's translation check refused"
    RefusedWOWrInv = "WOWrInv(F) the host's translation check refused"
    RefusedCleanEvict = "CleanEvict the host's translation check refused"
    RefusedCleanEvictNoData = "CleanEvictNoData the host's translation check refused"
    WriteData = "D2H data for a WritePull"
    BogusData = "D2H data for a WritePull, marked Bogus (a snoop took the line first)"


_REQUEST_EVENT = {
    D2HReqOpcode.RDCURR: HostEvent.RdCurr,
    D2HReqOpcode.RDSHARED: HostEvent.RdShared,
    D2HReqOpcode.RDANY: HostEvent.RdAny,
    D2HReqOpcode.RDOWN: HostEvent.RdOwn,
    D2HReqOpcode.RDOWNNODATA: HostEvent.RdOwnNoData,
    D2HReqOpcode.ITOMWR: HostEvent.ItoMWr,
    D2HReqOpcode.WRCUR: HostEvent.WrCur,
    D2HReqOpcode.CLFLUSH: HostEvent.CLFlush,
    D2HReqOpcode.CLEANEVICT: HostEvent.CleanEvict,
    D2HReqOpcode.DIRTYEVICT: HostEvent.DirtyEvict,
    D2HReqOpcode.CLEANEVICTNODATA: HostEvent.CleanEvictNoData,
    D2HReqOpcode.WOWRINV: HostEvent.WOWrInv,
    D2HReqOpcode.WOWRINVF: HostEvent.WOWrInvF,
    D2HReqOpcode.WRINV: HostEvent.WrInv,
    D2HReqOpcode.CACHEFLUSHED: HostEvent.CacheFlushed,
}
# A request the host's translation check refused (ATS, CXL_REFERENCE.md §4): the answer §1.3
# lists for an error, by opcode. CacheFlushed carries no address and is never checked.
_REFUSED_EVENT = {
    D2HReqOpcode.RDCURR: HostEvent.RefusedRdCurr,
    D2HReqOpcode.RDSHARED: HostEvent.RefusedRead,
    D2HReqOpcode.RDANY: HostEvent.RefusedRead,
    D2HReqOpcode.RDOWN: HostEvent.RefusedRead,
    D2HReqOpcode.RDOWNNODATA: HostEvent.RefusedRead0,
    D2HReqOpcode.CLFLUSH: HostEvent.RefusedRead0,
    D2HReqOpcode.ITOMWR: HostEvent.RefusedWrite,
    D2HReqOpcode.WRCUR: HostEvent.RefusedWrite,
    D2HReqOpcode.DIRTYEVICT: HostEvent.RefusedWrite,
    D2HReqOpcode.WRINV: HostEvent.RefusedWrInv,
    D2HReqOpcode.WOWRINV: HostEvent.RefusedWOWrInv,
    D2HReqOpcode.WOWRINVF: HostEvent.RefusedWOWrInv,
    D2HReqOpcode.CLEANEVICT: HostEvent.RefusedCleanEvict,
    D2HReqOpcode.CLEANEVICTNODATA: HostEvent.RefusedCleanEvictNoData,
}
REFUSED_EVENTS = frozenset(_REFUSED_EVENT.values())
# Data sent with GO-Err for a read: all ones (CXL_REFERENCE.md §1.3, RdOwn row).
ERROR_DATA = (1 << (64 * 8)) - 1

# Requests that leave the requester with a copy: they need a snoop-filter entry first.
CACHING_READS = frozenset(
    {D2HReqOpcode.RDSHARED, D2HReqOpcode.RDANY, D2HReqOpcode.RDOWN, D2HReqOpcode.RDOWNNODATA}
)

STABLE_STATES = frozenset({HostState.I, HostState.S, HostState.E, HostState.M, HostState.D})
SNOOP_STATES = frozenset(s for s in HostState if s.name.startswith("SNP_"))
PULL_STATES = frozenset(s for s in HostState if s.name.startswith("PULL_"))
CLEAN_EVICT_POLICIES = ("pull", "drop")


def _home_table() -> Table[HostState, HostEvent]:
    s, e = HostState, HostEvent
    t: Table[HostState, HostEvent] = Table(
        "Host home agent (CHA)",
        HostState,
        HostEvent,
        "One table per host, one entry per line. Every D2H request of CXL_REFERENCE.md §1.3 "
        "and the host cores' requests; snoops per §1.5; the snoop filter per §5. A "
        "*stable* next state is the one the line's copies imply (D if a device owns it, "
        "else the cores' MESIF state).",
    )
    stable = (s.I, s.S, s.E, s.M, s.D)
    busy = [x for x in s if x not in stable]
    core_excl = (s.E, s.M)
    clean_no_owner = (s.I, s.S)

    requests = [
        e.RdCurr,
        e.RdShared,
        e.RdAny,
        e.RdOwn,
        e.RdOwnNoData,
        e.ItoMWr,
        e.WrCur,
        e.CLFlush,
        e.CleanEvict,
        e.CleanEvictPull,
        e.DirtyEvict,
        e.CleanEvictNoData,
        e.WOWrInv,
        e.WOWrInvF,
        e.WrInv,
        e.CoreLoad,
        e.CoreStore,
        e.CoreStoreHit,
        e.CoreEvict,
        *sorted(REFUSED_EVENTS, key=list(HostEvent).index),
    ]
    t.rule(busy, requests, ["defer_request"])
    t.rule(stable, e.CoreLoadHit, ["complete_core_load"])
    t.rule(busy, e.CoreLoadHit, ["complete_core_load"])  # a valid core copy is current
    t.rule((s.I, s.S, s.E, s.M), e.SfFull, ["park_for_sf_way"])
    t.impossible(s.D, e.SfFull, "a device-owned line has its filter entry")
    t.impossible(busy, e.SfFull, "requests are classified against the filter only when stable")

    # --- device reads ------------------------------------------------------------------------
    t.rule(clean_no_owner, e.RdShared, ["allocate_tbe", "allocate_sf"], s.SNP_RS)
    t.rule(core_excl, e.RdShared, ["allocate_tbe", "allocate_sf", "downgrade_core_owner"], s.SNP_RS)
    t.rule(s.D, e.RdShared, ["allocate_tbe", "allocate_sf", "snoop_owner_data"], s.SNP_RS)
    t.rule(s.SNP_RS, (e.Done, e.DoneShared), _grant("send_go_s", "send_data"), STABLE)

    t.rule(clean_no_owner, e.RdAny, ["allocate_tbe", "allocate_sf"], s.SNP_RA)
    t.rule(s.E, e.RdAny, ["allocate_tbe", "allocate_sf", "downgrade_core_owner"], s.SNP_RA)
    t.rule(s.M, e.RdAny, ["allocate_tbe", "allocate_sf", "take_core_dirty"], s.SNP_RA)
    t.rule(s.D, e.RdAny, ["allocate_tbe", "allocate_sf", "snoop_owner_data"], s.SNP_RA)
    t.rule(s.SNP_RA, e.Done, _grant("send_go_e", "send_data", "set_owner"), STABLE)
    t.rule(s.SNP_RA, e.DoneShared, _grant("send_go_s", "send_data"), STABLE)
    t.rule(s.SNP_RA, e.DoneDirty, _grant("send_go_m", "send_data", "set_owner"), STABLE)

    own = ["allocate_tbe", "allocate_sf", "invalidate_cores", "snoop_sharers_inv"]
    t.rule((s.I, s.S, s.E), e.RdOwn, own, s.SNP_RO)
    t.rule(s.M, e.RdOwn, ["allocate_tbe", "allocate_sf", "take_core_dirty"], s.SNP_RO)
    t.rule(s.D, e.RdOwn, ["allocate_tbe", "allocate_sf", "snoop_sharers_inv"], s.SNP_RO)
    t.rule(s.SNP_RO, e.Done, _grant("send_go_e", "send_data", "set_owner"), STABLE)
    t.rule(s.SNP_RO, e.DoneDirty, _grant("send_go_m", "send_data", "set_owner"), STABLE)

    # RdOwnNoData carries no data, so a core's dirty data is written back, never handed over
    t.rule((s.I, s.S, s.E, s.M), e.RdOwnNoData, own, s.SNP_RN)
    t.rule(s.D, e.RdOwnNoData, ["allocate_tbe", "allocate_sf", "snoop_sharers_inv"], s.SNP_RN)
    t.rule(s.SNP_RN, e.Done, _grant("send_go_e", "set_owner"), STABLE)

    t.rule((s.I, s.S, s.E, s.M), e.RdCurr, ["allocate_tbe"], s.SNP_RC)
    t.rule(s.D, e.RdCurr, ["allocate_tbe", "snoop_owner_cur"], s.SNP_RC)
    t.rule(s.SNP_RC, (e.Done, e.DoneShared), _grant("send_data"), STABLE)

    # --- device writes and flushes: every other copy goes first ---------------------------
    invalidate_all = ["allocate_tbe", "invalidate_cores", "snoop_sharers_inv"]
    for event, snooping in (
        (e.CLFlush, s.SNP_FL),
        (e.ItoMWr, s.SNP_WM),
        (e.WrCur, s.SNP_WM),
        (e.WrInv, s.SNP_WV),
        (e.WOWrInv, s.SNP_WO),
        (e.WOWrInvF, s.SNP_WO),
    ):
        t.rule((s.I, s.S, s.E, s.M), event, invalidate_all, snooping)
        t.rule(s.D, event, ["allocate_tbe", "snoop_sharers_inv"], snooping)
    before_pull = ["write_back_snoop_data", "remove_requester"]
    t.rule(s.SNP_FL, e.Done, [*before_pull, "send_go_i", "free_tbe"], STABLE)
    t.rule(s.SNP_WM, e.Done, [*before_pull, "send_go_writepull"], s.PULL_WM)
    t.rule(s.SNP_WV, e.Done, [*before_pull, "send_writepull"], s.PULL_WV)
    t.rule(s.SNP_WO, e.Done, [*before_pull, "send_fast_go_writepull"], s.PULL_WO)
    t.rule(s.PULL_WM, e.WriteData, ["write_memory", "free_tbe"], STABLE)
    t.rule(s.PULL_WV, e.WriteData, ["write_memory", "send_go_i", "free_tbe"], STABLE)
    t.rule(s.PULL_WO, e.WriteData, ["write_memory", "send_extcmp", "free_tbe"], STABLE)

    # --- evicts ------------------------------------------------------------------------------
    # the evicting device may no longer be a sharer (a snoop took the line first); its
    # request still gets the response its opcode requires, and pulled data comes Bogus
    t.rule(stable, e.CleanEvict, ["remove_requester", "send_go_writepull_drop"], STABLE)
    pull = ["allocate_tbe", "remove_requester", "send_go_writepull"]
    t.rule(stable, (e.CleanEvictPull, e.DirtyEvict), pull, s.PULL_EV)
    t.rule(s.PULL_EV, e.WriteData, ["write_memory", "free_tbe"], STABLE)
    t.rule(s.PULL_EV, e.BogusData, ["drop_bogus_data", "free_tbe"], STABLE)
    t.rule(stable, e.CleanEvictNoData, ["remove_requester", "send_go_i"], STABLE)
    t.rule(s.I, e.CacheFlushed, ["flush_device_from_sf", "send_go_i"])
    t.impossible([x for x in s if x is not s.I], e.CacheFlushed, "the pseudo-line never leaves I")
    t.rule(clean_no_owner, e.DevFlushed, ["remove_flushed_device"], STABLE)
    t.impossible(
        (s.E, s.M, s.D), e.DevFlushed, "no device copy besides an owner, which cannot flush"
    )
    t.impossible(busy, e.DevFlushed, "only stable lines are cleaned after CacheFlushed")

    # --- requests the translation check refused (GO-Err, CXL_REFERENCE.md §1.3/§1.4) ----------
    # Served like any request (deferred while the line is busy, so no GO passes a pending
    # snoop), but the line's copies, owner and snoop filter are untouched: the requester gets
    # nothing. Reads get GO-Err with all-ones data flagged GO-Err (RdCurr: the data only);
    # pulled write data is dropped. CleanEvict/CleanEvictNoData have no error response in §1.3:
    # they get the no-data answer (memory is current), the filter keeps the device (a superset).
    refused = {
        e.RefusedRead: (["send_go_err", "send_error_data"], None),
        e.RefusedRdCurr: (["send_error_data"], None),
        e.RefusedRead0: (["send_go_err"], None),
        e.RefusedWrite: (["allocate_tbe", "send_go_err_writepull"], s.PULL_XW),
        e.RefusedWrInv: (["allocate_tbe", "send_writepull"], s.PULL_XV),
        e.RefusedWOWrInv: (["allocate_tbe", "send_go_err_writepull"], s.PULL_XO),
        e.RefusedCleanEvict: (["send_go_writepull_drop"], None),
        e.RefusedCleanEvictNoData: (["send_go_i"], None),
    }
    for event, (answer, pulling) in refused.items():
        t.rule(stable, event, ["count_refused", *answer], pulling)
    pulled = (e.WriteData, e.BogusData)
    t.rule(s.PULL_XW, pulled, ["drop_error_data", "free_tbe"], STABLE)
    t.rule(s.PULL_XV, pulled, ["drop_error_data", "send_go_err", "free_tbe"], STABLE)
    t.rule(s.PULL_XO, pulled, ["drop_error_data", "send_extcmp", "free_tbe"], STABLE)

    # --- snoop-filter victims ----------------------------------------------------------------
    t.rule((s.I, s.S, s.D), e.SfVictim, ["allocate_tbe", "snoop_sharers_inv"], s.SNP_BI)
    t.impossible(core_excl, e.SfVictim, "a core-exclusive line has no filter entry")
    written = (s.PULL_WM, s.PULL_WV, s.PULL_WO)
    t.rule([x for x in busy if x not in written], e.SfVictim, [])  # waiter retries when stable
    t.impossible(written, e.SfVictim, "copies invalidated and the writer forgotten: no entry")
    t.rule(s.SNP_BI, (e.Done, e.DoneShared), ["write_back_snoop_data", "free_tbe"], STABLE)

    # --- host cores ------------------------------------------------------------------------
    t.rule((s.I, s.S), e.CoreLoad, ["allocate_tbe"], s.SNP_CL)
    t.rule(core_excl, e.CoreLoad, ["allocate_tbe", "downgrade_core_owner"], s.SNP_CL)
    t.rule(s.D, e.CoreLoad, ["allocate_tbe", "snoop_owner_data"], s.SNP_CL)
    for done, grant in ((e.Done, "grant_core_e"), (e.DoneShared, "grant_core_f")):
        core_load = ["write_back_snoop_data", grant, "complete_core_load", "free_tbe"]
        t.rule(s.SNP_CL, done, core_load, STABLE)
    t.rule(
        (s.I, s.S, s.E, s.M),
        e.CoreStore,
        ["allocate_tbe", "invalidate_other_cores", "snoop_sharers_inv"],
        s.SNP_CS,
    )
    t.rule(s.D, e.CoreStore, ["allocate_tbe", "snoop_sharers_inv"], s.SNP_CS)
    t.rule(
        s.SNP_CS,
        e.Done,
        ["write_back_snoop_data", "grant_core_m", "complete_core_store", "free_tbe"],
        STABLE,
    )
    t.rule(core_excl, e.CoreStoreHit, ["complete_core_store"], s.M)
    t.impossible((s.I, s.S, s.D), e.CoreStoreHit, "no core holds E or M")
    t.rule((s.S, s.E, s.M), e.CoreEvict, ["evict_core"], STABLE)
    t.impossible((s.I, s.D), e.CoreEvict, "no core holds the line")

    # --- snoop responses and data ------------------------------------------------------------
    t.rule(SNOOP_STATES, e.SnpRsp, ["record_snoop_response"])
    t.rule(SNOOP_STATES, e.SnpData, ["record_snoop_data"])
    no_other_copy = "every other copy was invalidated"
    for st in (s.SNP_RO, s.SNP_RN, s.SNP_FL, s.SNP_WM, s.SNP_WV, s.SNP_WO, s.SNP_CS):
        t.impossible(st, e.DoneShared, no_other_copy)
    for st in SNOOP_STATES - {s.SNP_RA, s.SNP_RO}:
        t.impossible(st, e.DoneDirty, "only RdAny/RdOwn hand a core's dirty data over")
    return t


def _grant(*actions: str) -> list[str]:
    """A device read ends with writing forwarded data back, the grant, and the TBE freed."""
    return ["write_back_snoop_data", *actions, "free_tbe"]


HOME_TABLE = _home_table()


class Request:
    """A request waiting for, or being served by, the home agent: from device ``requester``
    (``opcode``, ``cqid``) or, when ``core`` is set, from host core ``requester`` (``op``)."""

    __slots__ = ("core", "cqid", "line", "op", "opcode", "refused", "requester")

    def __init__(
        self,
        requester: int,
        line: int,
        *,
        opcode: D2HReqOpcode | None = None,
        cqid: int = 0,
        op: Op | None = None,
        refused: str | None = None,
    ) -> None:
        self.refused = refused  # why the host's translation check refused it (None: allowed)
        self.requester = requester
        self.line = line
        self.opcode = opcode
        self.cqid = cqid
        self.op = op
        self.core = op is not None

    def key(self) -> tuple[object, ...]:
        return (self.requester, self.line, self.opcode, self.cqid, self.op, self.refused)

    def __repr__(self) -> str:
        if self.core:
            return f"core{self.requester}:{self.op}"
        assert self.opcode is not None
        return f"dev{self.requester}:{self.opcode.name}(line {self.line}, cqid {self.cqid})"


class HostTxn:
    """The home agent's tracker for one transaction (SLICC's TBE), found by UQID."""

    __slots__ = (
        "data",
        "data_expected",
        "data_received",
        "dirty",
        "pending",
        "request",
        "uqid",
        "writeback",
    )

    def __init__(self, uqid: int, request: Request | None) -> None:
        self.uqid = uqid
        self.request = request  # None for a victim's back-invalidation
        self.pending: set[int] = set()  # devices snooped whose response has not arrived
        self.data_expected = 0  # forwarding responses seen
        self.data_received = 0  # snoop data seen (it may arrive before its response)
        self.data: int | None = None  # forwarded or taken data
        self.dirty = False  # data came from a core's M copy and memory was not written
        self.writeback = False  # the data must reach memory (RspSFwdM / RspIFwdM)

    def copy(self) -> HostTxn:
        twin = HostTxn(self.uqid, self.request)
        twin.pending = set(self.pending)
        twin.data_expected, twin.data_received = self.data_expected, self.data_received
        twin.data, twin.dirty, twin.writeback = self.data, self.dirty, self.writeback
        return twin

    def snoops_done(self) -> bool:
        return not self.pending and self.data_received >= self.data_expected

    def key(self) -> tuple[object, ...]:
        request = self.request.key() if self.request is not None else None
        return (
            self.uqid,
            request,
            tuple(sorted(self.pending)),
            self.data_expected,
            self.data_received,
            self.data,
            self.dirty,
            self.writeback,
        )


class HostLine(LineEntry):
    __slots__ = ("core_values", "cores", "deferred", "memory", "owner", "sf_waiters", "txn")

    def __init__(self, line: int, cores: int) -> None:
        super().__init__(line, HostState.I)
        self.memory = 0
        self.cores = [CoreState.I] * cores
        self.core_values = [0] * cores
        self.owner: int | None = None  # the device granted E/M (state D)
        self.txn: HostTxn | None = None
        self.deferred: list[Request] = []  # requests that found the line busy, in order
        self.sf_waiters: list[Request] = []  # requests (other lines) waiting for this victim

    def copy(self) -> HostLine:
        twin = HostLine(self.line, 0)
        twin.state, twin.memory, twin.owner = self.state, self.memory, self.owner
        twin.cores, twin.core_values = list(self.cores), list(self.core_values)
        twin.txn = self.txn.copy() if self.txn is not None else None
        twin.deferred, twin.sf_waiters = list(self.deferred), list(self.sf_waiters)
        return twin

    def key(self) -> tuple[object, ...]:
        values = tuple(
            v if c is not CoreState.I else 0
            for c, v in zip(self.cores, self.core_values, strict=True)
        )
        return (
            self.line,
            self.state,
            self.memory,
            tuple(self.cores),
            values,
            self.owner,
            self.txn.key() if self.txn is not None else None,
            tuple(r.key() for r in self.deferred),
            tuple(r.key() for r in self.sf_waiters),
        )


class HomeAgent(Controller):
    """The host's CHA for ``devices`` CXL.cache devices and ``cores`` host cores.

    ``send(device, msg)`` puts an H2D message on the link to ``device``; ``complete(c)``
    reports a finished core operation; ``on_write(agent, line, value)`` (optional) is told
    every value written into memory or a core's copy (the data-value checker's hook).
    """

    TABLE = HOME_TABLE

    def __init__(
        self,
        devices: int,
        cores: int,
        send: Callable[[int, Message], None],
        complete: Callable[[Completion], None],
        *,
        snoop_filter: SnoopFilter | None = None,
        clean_evict: str = "pull",
        name: str = "host",
        on_transition: Callable[[Transition], None] | None = None,
        on_write: Callable[[str, int, int], None] | None = None,
        check: Callable[[int, int, D2HReqOpcode], str | None] | None = None,
    ) -> None:
        if clean_evict not in CLEAN_EVICT_POLICIES:
            raise ValueError(f"clean_evict must be one of {CLEAN_EVICT_POLICIES}")
        self.devices = devices
        self.cores = cores
        self.send = send
        self.complete = complete
        self.sf = snoop_filter or SnoopFilter(sets=64, ways=8, sharer_bits=max(devices, 1))
        if self.sf.sharer_bits < devices:
            raise ValueError(
                f"the snoop filter tracks {self.sf.sharer_bits} devices, not {devices}"
            )
        self.clean_evict = clean_evict
        self.name = name
        self.on_transition = on_transition
        self.on_write = on_write
        self.lines: dict[int, HostLine] = {}
        self.txns: dict[int, HostLine] = {}  # UQID -> the line whose transaction it is
        self.bogus_dropped = 0
        # the host's translation check: (device, line, opcode) -> why it is refused, or None
        self.check = check
        self.refused = 0  # requests answered with an error (GO-Err or its no-data equivalent)
        self.error_data_dropped = 0  # write data pulled from refused requests and dropped
        self._req: Request | None = None  # the request an event was classified from
        self._msg: Message | None = None
        self._src = -1  # the device a received message came from
        self._work: list[HostLine] = []  # lines to settle (done events, deferred requests)

    # --- the interface -----------------------------------------------------------------------

    def receive(self, device: int, msg: Message, refused: str | None = None) -> None:
        """Handle one D2H message from ``device``; ``refused`` (a D2H request's) says why the
        host's translation check refused it, when that check ran outside (else ``check``)."""
        if isinstance(msg, D2HReq):
            opcode = msg.opcode
            line = ALL_LINES if opcode is D2HReqOpcode.CACHEFLUSHED else msg.addr // LINE_BYTES
            if refused is None and self.check is not None and line != ALL_LINES:
                refused = self.check(device, line, opcode)
            self._dispatch(Request(device, line, opcode=opcode, cqid=msg.cqid, refused=refused))
        else:
            assert isinstance(msg, D2HRsp | D2HData)
            entry = self.txns.get(msg.uqid)
            if entry is None:
                raise ProtocolError(
                    f"{self.name}: {type(msg).__name__} for unknown UQID {msg.uqid}"
                )
            if isinstance(msg, D2HRsp):
                event = HostEvent.SnpRsp
            elif entry.state in SNOOP_STATES:
                event = HostEvent.SnpData
            else:
                event = HostEvent.BogusData if msg.bogus else HostEvent.WriteData
            self._msg, self._src = msg, device
            try:
                self._fire(entry, event)
            finally:
                self._msg, self._src = None, -1
            self._work.append(entry)
        self._settle_all()

    def core_issue(self, core: int, op: Op) -> None:
        """Host core ``core`` starts ``op`` (completion is reported through ``complete``)."""
        if not isinstance(op.kind, CoreOp):
            raise ValueError(f"{op.kind!r} is not a core operation")
        self._dispatch(Request(core, op.line, op=op))
        self._settle_all()

    def entry(self, line: int) -> HostLine:
        found = self.lines.get(line)
        if found is None:
            found = self.lines[line] = HostLine(line, self.cores)
        return found

    def clone(
        self,
        send: Callable[[int, Message], None],
        complete: Callable[[Completion], None],
        on_transition: Callable[[Transition], None] | None,
        on_write: Callable[[str, int, int], None] | None,
    ) -> HomeAgent:
        """An independent copy wired to new callbacks (the explorer's fork; requests,
        messages and enum states are immutable and shared)."""
        twin = type(self).__new__(type(self))
        twin.__dict__.update(self.__dict__)
        twin.send, twin.complete = send, complete
        twin.on_transition, twin.on_write = on_transition, on_write
        twin.sf = self.sf.copy()
        twin.lines = {line: entry.copy() for line, entry in self.lines.items()}
        twin.txns = {
            entry.txn.uqid: entry for entry in twin.lines.values() if entry.txn is not None
        }
        twin._work = []
        return twin

    def quiescent(self) -> bool:
        return not self.txns and all(
            not e.deferred and not e.sf_waiters and e.state in STABLE_STATES
            for e in self.lines.values()
        )

    def key(self) -> tuple[object, ...]:
        lines = tuple(self.lines[n].key() for n in sorted(self.lines))
        return (lines, self.sf.key())

    def stable_state(self, entry: HostLine) -> HostState:
        if entry.owner is not None:
            return HostState.D
        cores = entry.cores
        if CoreState.M in cores:
            return HostState.M
        if CoreState.E in cores:
            return HostState.E
        if CoreState.F in cores or CoreState.S in cores:
            return HostState.S
        return HostState.I

    # --- dispatch ----------------------------------------------------------------------------

    def _dispatch(self, req: Request) -> None:
        entry = self.entry(req.line)
        event = self._classify(entry, req)
        if event is None:  # a core evict of a line it no longer holds: nothing to do
            self.complete(Completion(f"core{req.requester}", req.op))  # type: ignore[arg-type]
            return
        self._req = req
        try:
            self._fire(entry, event)
        finally:
            self._req = None
        self._work.append(entry)

    def _classify(self, entry: HostLine, req: Request) -> HostEvent | None:
        if req.core:
            assert req.op is not None
            mine = entry.cores[req.requester]
            kind = req.op.kind
            if kind is CoreOp.Load:
                return HostEvent.CoreLoad if mine is CoreState.I else HostEvent.CoreLoadHit
            if kind is CoreOp.Store:
                exclusive = mine in (CoreState.E, CoreState.M)
                return HostEvent.CoreStoreHit if exclusive else HostEvent.CoreStore
            return None if mine is CoreState.I else HostEvent.CoreEvict
        assert req.opcode is not None
        if req.refused is not None:
            return _REFUSED_EVENT[req.opcode]  # no copy results: no snoop-filter way needed
        event = _REQUEST_EVENT[req.opcode]
        if event is HostEvent.CleanEvict and self.clean_evict == "pull":
            event = HostEvent.CleanEvictPull
        if (
            entry.state in STABLE_STATES
            and req.opcode in CACHING_READS
            and self.sf.victim_for(entry.line) is not None
        ):
            return HostEvent.SfFull
        return event

    def _settle_all(self) -> None:
        """Fire the internal events the last step made due, on every line it touched."""
        while self._work:
            self._settle(self._work.pop())

    def _settle(self, entry: HostLine) -> None:
        while True:
            if entry.state in SNOOP_STATES:
                assert entry.txn is not None
                if not entry.txn.snoops_done():
                    return
                self._fire(entry, self._done_event(entry))
                continue
            if entry.state not in STABLE_STATES:
                return
            if entry.sf_waiters:  # this victim's way may be free now: let them retry
                waiters, entry.sf_waiters = entry.sf_waiters, []
                for req in waiters:
                    self._dispatch(req)
                continue
            if not entry.deferred:
                return
            self._dispatch(entry.deferred.pop(0))

    def _done_event(self, entry: HostLine) -> HostEvent:
        txn = entry.txn
        assert txn is not None
        if txn.dirty:
            return HostEvent.DoneDirty
        req = txn.request
        other_cores = any(
            c is not CoreState.I
            for k, c in enumerate(entry.cores)
            if req is None or not req.core or k != req.requester
        )
        sharers = self.sf.sharers(entry.line)
        if req is not None and not req.core:
            sharers &= ~(1 << req.requester)
        return HostEvent.DoneShared if other_cores or sharers else HostEvent.Done

    # --- helpers -----------------------------------------------------------------------------

    def _request(self, entry: HostLine) -> Request:
        req = self._req or (entry.txn.request if entry.txn is not None else None)
        assert req is not None, "an action that needs a request ran without one"
        return req

    def _write(self, entry: HostLine, value: int, *, core: int | None = None) -> None:
        """Write ``value`` into memory (``core`` None) or into a core's copy."""
        if core is None:
            entry.memory = value
        else:
            entry.core_values[core] = value
        if self.on_write is not None:
            self.on_write(self.name if core is None else f"core{core}", entry.line, value)

    def _snoop(self, entry: HostLine, device: int, opcode: H2DReqOpcode) -> None:
        txn = entry.txn
        assert txn is not None
        if device in txn.pending:
            raise ProtocolError(f"{self.name}: second snoop of line {entry.line} to dev{device}")
        txn.pending.add(device)
        self.send(device, H2DReq(opcode=opcode, addr=entry.line * LINE_BYTES, uqid=txn.uqid))

    def _respond(self, entry: HostLine, opcode: H2DRspOpcode, rsp_data: int = 0) -> None:
        req = self._request(entry)
        self.send(req.requester, H2DRsp(opcode=opcode, rsp_data=rsp_data, cqid=req.cqid))

    def _go(self, entry: HostLine, state: GOState) -> None:
        self._respond(entry, H2DRspOpcode.GO, int(state))

    def _pull(self, entry: HostLine, opcode: H2DRspOpcode) -> None:
        assert entry.txn is not None
        self._respond(entry, opcode, entry.txn.uqid)

    def _forget_device(self, entry: HostLine, device: int) -> None:
        if self.sf.sharers(entry.line) >> device & 1:
            self.sf.remove_sharer(entry.line, device)
        if entry.owner == device:
            entry.owner = None

    def _core_owner(self, entry: HostLine) -> int:
        for k, c in enumerate(entry.cores):
            if c in (CoreState.E, CoreState.M):
                return k
        raise ProtocolError(f"{self.name}: line {entry.line} has no exclusive core")

    def _invalidate_core(self, entry: HostLine, core: int) -> None:
        if entry.cores[core] is CoreState.M:  # MESIF has no dirty sharing: write back
            self._write(entry, entry.core_values[core])
        entry.cores[core] = CoreState.I

    # --- actions: trackers and queues --------------------------------------------------------

    def allocate_tbe(self, entry: HostLine) -> None:
        """Take a tracker entry (the smallest free UQID) for this line's transaction."""
        uqid = 0
        while uqid in self.txns:  # smallest free UQID: canonical explorer states
            uqid += 1
        entry.txn = HostTxn(uqid, self._req)
        self.txns[uqid] = entry

    def free_tbe(self, entry: HostLine) -> None:
        """Release the transaction's tracker entry and UQID."""
        assert entry.txn is not None
        del self.txns[entry.txn.uqid]
        entry.txn = None

    def defer_request(self, entry: HostLine) -> None:
        """The line is busy: queue the request; it is taken up when the line is stable."""
        entry.deferred.append(self._request(entry))

    def park_for_sf_way(self, entry: HostLine) -> None:
        """Make the pseudo-LRU victim of this line's set leave; retry when it has."""
        victim = self.sf.victim_for(entry.line)
        assert victim is not None
        victim_entry = self.entry(victim.line)
        victim_entry.sf_waiters.append(self._request(entry))
        saved, self._req = self._req, None
        try:
            self._fire(victim_entry, HostEvent.SfVictim)
        finally:
            self._req = saved
        self._work.append(victim_entry)

    # --- actions: snoop filter and owner -----------------------------------------------------

    def allocate_sf(self, entry: HostLine) -> None:
        """Add the requester to the line's snoop-filter entry (a way is free: SfFull went first)."""
        result = self.sf.allocate(entry.line, 1 << self._request(entry).requester)
        if result.victim is not None:
            raise ProtocolError(f"{self.name}: allocation of line {entry.line} replaced a victim")

    def remove_requester(self, entry: HostLine) -> None:
        """Forget the requesting device in the snoop filter (and as owner)."""
        self._forget_device(entry, self._request(entry).requester)

    def remove_flushed_device(self, entry: HostLine) -> None:
        """Forget the device that sent CacheFlushed in this line's filter entry."""
        self._forget_device(entry, self._request(entry).requester)

    def flush_device_from_sf(self, entry: HostLine) -> None:
        """CacheFlushed: the device holds nothing, so stable lines forget it (busy lines keep
        it; a superset is safe)."""
        device = self._request(entry).requester
        for line, sharers in sorted(self.sf.lines().items()):
            target = self.entry(line)
            if sharers >> device & 1 and target.state in STABLE_STATES:
                self._fire(target, HostEvent.DevFlushed)

    def set_owner(self, entry: HostLine) -> None:
        """Record the requesting device as the line's E/M owner (state D)."""
        entry.owner = self._request(entry).requester

    # --- actions: snoops ---------------------------------------------------------------------

    def snoop_owner_data(self, entry: HostLine) -> None:
        """SnpData to the owning device, if a device owns the line."""
        self._snoop_owner(entry, H2DReqOpcode.SNPDATA)

    def snoop_owner_cur(self, entry: HostLine) -> None:
        """SnpCur to the owning device, if a device owns the line."""
        self._snoop_owner(entry, H2DReqOpcode.SNPCUR)

    def _snoop_owner(self, entry: HostLine, opcode: H2DReqOpcode) -> None:
        if entry.owner is None:
            return
        req = self._request(entry)
        if not req.core and req.requester == entry.owner:
            # its evict travels ahead of this request on D2H Req and is served first
            raise ProtocolError(f"{self.name}: dev{req.requester} reads line {entry.line} it owns")
        self._snoop(entry, entry.owner, opcode)

    def snoop_sharers_inv(self, entry: HostLine) -> None:
        """SnpInv to every device the filter names, but the requester (its copy is I)."""
        req = entry.txn.request if entry.txn is not None else None
        skip = req.requester if req is not None and not req.core else -1
        sharers = self.sf.sharers(entry.line)
        for device in range(self.devices):
            if sharers >> device & 1 and device != skip:
                self._snoop(entry, device, H2DReqOpcode.SNPINV)

    def record_snoop_response(self, entry: HostLine) -> None:
        """Note a snoop response: update the filter and owner; expect data after a Fwd."""
        txn, msg, device = entry.txn, self._msg, self._src
        assert txn is not None and isinstance(msg, D2HRsp)
        if device not in txn.pending:
            raise ProtocolError(f"{self.name}: dev{device} answered a snoop it was not sent")
        txn.pending.discard(device)
        leaves = RESPONSE_LEAVES[msg.opcode]
        if leaves == "I":
            self._forget_device(entry, device)
        elif leaves == "S" and entry.owner == device:
            entry.owner = None  # the owner kept S: the line is shared now
        if msg.opcode in FORWARDING_RESPONSES:
            txn.data_expected += 1
            txn.writeback = msg.opcode is not D2HRspOpcode.RSPVFWDV

    def record_snoop_data(self, entry: HostLine) -> None:
        """Keep the data a snoop response forwarded."""
        txn, msg = entry.txn, self._msg
        assert txn is not None and isinstance(msg, D2HData)
        txn.data_received += 1
        txn.data = msg.data

    def write_back_snoop_data(self, entry: HostLine) -> None:
        """Forwarded M data (RspSFwdM/RspIFwdM) goes to memory; RspVFwdV data does not (the
        owner keeps M)."""
        txn = entry.txn
        assert txn is not None
        if txn.writeback and txn.data is not None:
            self._write(entry, txn.data)

    # --- actions: host cores -----------------------------------------------------------------

    def downgrade_core_owner(self, entry: HostLine) -> None:
        """The E/M core keeps an F copy (M writes back first): a device will share the line."""
        owner = self._core_owner(entry)
        if entry.cores[owner] is CoreState.M:
            self._write(entry, entry.core_values[owner])
        entry.cores[owner] = CoreState.F  # the only core sharer forwards (MESIF)

    def invalidate_cores(self, entry: HostLine) -> None:
        """Invalidate every core's copy (M writes back first)."""
        for core in range(self.cores):
            self._invalidate_core(entry, core)

    def invalidate_other_cores(self, entry: HostLine) -> None:
        """Invalidate the other cores' copies (M writes back first)."""
        keep = self._request(entry).requester
        for core in range(self.cores):
            if core != keep:
                self._invalidate_core(entry, core)

    def take_core_dirty(self, entry: HostLine) -> None:
        """Hand a core's M data to the device without writing memory (it will get GO-M)."""
        owner = self._core_owner(entry)
        assert entry.txn is not None and entry.cores[owner] is CoreState.M
        entry.txn.data = entry.core_values[owner]
        entry.txn.dirty = True
        entry.cores[owner] = CoreState.I

    def grant_core_e(self, entry: HostLine) -> None:
        """The requesting core gets E, filled from memory."""
        core = self._request(entry).requester
        entry.cores[core] = CoreState.E
        entry.core_values[core] = entry.memory

    def grant_core_f(self, entry: HostLine) -> None:
        """The newest sharer gets F; the previous F becomes S (MESIF)."""
        core = self._request(entry).requester
        entry.cores = [CoreState.S if c is CoreState.F else c for c in entry.cores]
        entry.cores[core] = CoreState.F
        entry.core_values[core] = entry.memory

    def grant_core_m(self, entry: HostLine) -> None:
        """The requesting core gets M (its store follows)."""
        core = self._request(entry).requester
        entry.cores[core] = CoreState.M
        entry.core_values[core] = entry.memory

    def complete_core_load(self, entry: HostLine) -> None:
        """The core's load completes with its copy's value."""
        req = self._request(entry)
        self.complete(Completion(f"core{req.requester}", req.op, entry.core_values[req.requester]))  # type: ignore[arg-type]

    def complete_core_store(self, entry: HostLine) -> None:
        """The core writes its store's value into its copy (M) and completes."""
        req = self._request(entry)
        assert req.op is not None
        entry.cores[req.requester] = CoreState.M
        self._write(entry, req.op.value, core=req.requester)
        self.complete(Completion(f"core{req.requester}", req.op))

    def evict_core(self, entry: HostLine) -> None:
        """The core drops its copy (M writes back) and its evict completes."""
        req = self._request(entry)
        self._invalidate_core(entry, req.requester)
        self.complete(Completion(f"core{req.requester}", req.op))  # type: ignore[arg-type]

    # --- actions: responses to devices -------------------------------------------------------

    def send_go_s(self, entry: HostLine) -> None:
        """H2D GO-S to the requester."""
        self._go(entry, GOState.S)

    def send_go_e(self, entry: HostLine) -> None:
        """H2D GO-E to the requester."""
        self._go(entry, GOState.E)

    def send_go_m(self, entry: HostLine) -> None:
        """H2D GO-M to the requester."""
        self._go(entry, GOState.M)

    def send_go_i(self, entry: HostLine) -> None:
        """H2D GO-I to the requester."""
        self._go(entry, GOState.I)

    def send_data(self, entry: HostLine) -> None:
        """64 B to the requester: data taken or forwarded in this transaction, else the
        current copy (a core's M copy for RdCurr, memory otherwise)."""
        txn = entry.txn
        assert txn is not None
        value = txn.data
        if value is None:
            value = entry.memory
            for core, state in enumerate(entry.cores):
                if state is CoreState.M:
                    value = entry.core_values[core]
        self.send(
            self._request(entry).requester, H2DData(cqid=self._request(entry).cqid, data=value)
        )

    def send_go_writepull(self, entry: HostLine) -> None:
        """H2D GO_WritePull (RspData = UQID) to the requester."""
        self._pull(entry, H2DRspOpcode.GO_WRITEPULL)

    def send_go_writepull_drop(self, entry: HostLine) -> None:
        """H2D GO_WritePull_Drop to the requester: no data wanted."""
        self._respond(entry, H2DRspOpcode.GO_WRITEPULL_DROP)

    def send_writepull(self, entry: HostLine) -> None:
        """H2D WritePull (RspData = UQID) to the requester; GO-I follows the data."""
        self._pull(entry, H2DRspOpcode.WRITEPULL)

    def send_fast_go_writepull(self, entry: HostLine) -> None:
        """H2D Fast_GO_WritePull (RspData = UQID); ExtCmp follows the data."""
        self._pull(entry, H2DRspOpcode.FAST_GO_WRITEPULL)

    def send_extcmp(self, entry: HostLine) -> None:
        """H2D ExtCmp: the weakly-ordered write is globally visible."""
        self._respond(entry, H2DRspOpcode.EXTCMP)

    # --- actions: pulled data ----------------------------------------------------------------

    def write_memory(self, entry: HostLine) -> None:
        """Write the pulled D2H data to memory."""
        assert isinstance(self._msg, D2HData)
        self._write(entry, self._msg.data)

    def drop_bogus_data(self, entry: HostLine) -> None:
        """Discard D2H data marked Bogus (count it)."""
        self.bogus_dropped += 1

    # --- actions: refused requests -----------------------------------------------------------

    def send_go_err(self, entry: HostLine) -> None:
        """H2D GO-Err to the requester: its request failed (CXL_REFERENCE.md §1.3/§1.4)."""
        self._go(entry, GOState.ERR)

    def send_error_data(self, entry: HostLine) -> None:
        """64 B of all ones, flagged GO-Err, to the requester (§1.3: a failed read's data)."""
        req = self._request(entry)
        self.send(req.requester, H2DData(cqid=req.cqid, go_err=1, data=ERROR_DATA))

    def send_go_err_writepull(self, entry: HostLine) -> None:
        """H2D GO_ERR_WritePull (RspData = UQID): the device sends its data, the host drops it."""
        self._pull(entry, H2DRspOpcode.GO_ERR_WRITEPULL)

    def drop_error_data(self, entry: HostLine) -> None:
        """Discard the data a refused write sent (memory is not written; count it)."""
        self.error_data_dropped += 1

    def count_refused(self, entry: HostLine) -> None:
        """Count a request the translation check refused, as it is taken up."""
        self.refused += 1


HOME_TABLE.check_actions(HomeAgent)
