"""The device coherence engine's bias and back-invalidation datapath (twin of
``rtl/coherence/dcoh_bias.v``).

Transaction level and untimed: each input is one method call, made in the order the block
*accepts* its inputs (the RTL takes at most one input per event slot, so that order is total),
and every output the block produces is appended, in order, to one list per output stream
(``outputs``). The RTL's scoreboard feeds the accepted inputs in acceptance order and compares
each output stream beat by beat; the table-driven DCOH controller can own one as its datapath.

Semantics (CXL_REFERENCE.md §2.3-2.4, §3):

* **Bias** (HDM-D): one bit per page of ``2**page_lines_log2`` lines in a bias table (reset: all
  host bias), looked up through a bias cache of ``bias_sets x bias_ways`` page tags with tree
  pLRU (the :class:`SnoopFilter` structure; it holds presence only, the bias bit is read from
  the table, so the cache sets hit/miss counters and, in a timed model, latency).
* **Bias table in device memory** (``bias_in_memory``, CXL_REFERENCE.md §3.1): a bias-cache
  miss sends ``bias_rd`` (page) and the access waits for ``bias_data`` (the word, fed back in as
  an input and checked against the table); every bias change is written through on ``bias_wr``.
* **Device access** (``device_access``): host bias -> ``DevRsp(local=0)`` (goes through the host,
  MemRdFwd/MemWrFwd). Device bias: device SF lookup; a miss -> ``DevRsp(local=1)`` at once; a
  hit (the host may cache the line) -> ``BISnpCur`` (want=CUR read), ``BISnpData`` (want=SHARED
  read) or ``BISnpInv`` (a write, or want=OWN), with a BI tracker; the response
  ``DevRsp(local=1, snooped=1)`` goes out when the BIRsp arrives.
* **Host M2S Req** (``m2s_req``): a grant of a cacheable copy (MemRd or MemInv with MetaValue A
  or S, MemRdData) allocates the line in the device SF (I/A, ``sf_sets x sf_ways``, pLRU). If
  the set is full the pLRU entry's line gets a ``BISnpInv`` (cause: victim) and the Req waits
  for the BIRsp, which frees the victim, allocates the line and releases the Req. MemClnEvct,
  and MemRd/MemInv with MetaValue I, free the line's entry. Every Req is released on ``m2s_go``.
  A Req to a line with a BISnp pending must not be accepted (:class:`DcohError`) -- head-of-line
  blocking, as the protocol model ``dcoh_db.py`` stalls its Req channel -- unless the block has
  a replay queue (``replay_depth`` > 0): such a Req (or one to a line with a parked Req) is then
  parked, and Reqs to other lines pass it. ``replay`` serves the oldest parked Req once its line
  is no longer pending; the RTL chooses *when* (the testbench feeds the edge it did), the model
  checks that it may and what it sends.
* **Host M2S RwD** (``m2s_rwd``): never blocked. MemWr/MemWrPtl with MetaValue I frees the
  line's entry; they are released on ``rwd_go``. A BIConflict (S4 §3.5.1.3) is not released: it
  is answered on ``ndr`` with BIConflictAck and its Tag, behind every Cmp that came before it
  (``cmp``: the memory pipeline's NDR Cmp*, passed on in order). It counts as a conflict when its
  line has a BISnp pending, else as a stray one (acked all the same).
* **Device SF states** (``sf_isa``): I/A, or I/S/A as the one-host HDM-DB protocol model
  (``dcoh_db.py``): a grant leaves the line A, except a shared ask (MetaValue S, MemRdData) to an
  S line, which stays S; BIRspS to a device snoop makes the line S (BIRspE keeps it); a device
  read of an S line completes without a BISnp, a write (or want=OWN) sends BISnpInv.
* **BIRsp** (``bi_rsp``): BITag is the tracker index. Victim snoop: free victim, allocate the
  waiting Req's line, release the Req. Device-hit snoop: BIRspI frees the entry (S/E keep it),
  then the device response.
* **Flips** (``flip``): to device -> one ``RdOwnNoData`` per line of the page, and the page
  turns device bias only when the last completion (``flip_completion``, the MemRdFwd) arrived;
  to host -> state only. One host->device flip at a time.

Acceptance rules the RTL enforces on its ready signals (``can_*``): a device access needs a
free tracker and its line not pending; a Req needs a free tracker, no Req waiting for a victim
snoop, and its line not pending; a flip needs no flip in progress.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from typing import NamedTuple

from .snoop_filter import SnoopFilter

BI_TAG_WIDTH = 12


class DcohError(Exception):
    """An input the block would not have accepted, or one with no meaning (scoreboard failure)."""


class Want(IntEnum):
    """What a device read needs: current data only, a shared copy, or ownership."""

    CUR = 0
    SHARED = 1
    OWN = 2


class M2SReqOp(IntEnum):
    MEM_INV = 0b0000
    MEM_RD = 0b0001
    MEM_RD_DATA = 0b0010
    MEM_SPEC_RD = 0b1000
    MEM_CLN_EVCT = 0b1010


class M2SRwdOp(IntEnum):
    MEM_WR = 0b0001
    MEM_WR_PTL = 0b0010
    BI_CONFLICT = 0b0100


class MetaValue(IntEnum):
    I = 0b00  # noqa: E741 - the spec's name
    A = 0b10
    S = 0b11


class NdrOp(IntEnum):
    CMP = 0b000
    CMP_S = 0b001
    CMP_E = 0b010
    BI_CONFLICT_ACK = 0b100  # S4 Tbl 3-50 (CXL_REFERENCE.md §2.2)


class BISnpOp(IntEnum):
    CUR = 0b0000
    DATA = 0b0001
    INV = 0b0010


class BIRspOp(IntEnum):
    I = 0b0000  # noqa: E741
    S = 0b0001
    E = 0b0010


# -- transactions (the RTL's stream payloads, field for field) --------------------------------


class DevAccess(NamedTuple):
    id: int
    line: int
    write: int
    want: int


class DevRsp(NamedTuple):
    id: int
    local: int  # 1: completes in the device; 0: goes through the host (host bias)
    snooped: int  # 1: a BISnp went out and was answered first


class M2SReq(NamedTuple):
    opcode: int
    line: int
    tag: int
    meta_value: int


class M2SRwd(NamedTuple):
    opcode: int
    line: int
    tag: int
    meta_value: int


class M2SGo(NamedTuple):
    opcode: int
    line: int
    tag: int


class BISnp(NamedTuple):
    opcode: int
    bitag: int
    line: int


class BIRsp(NamedTuple):
    opcode: int
    bitag: int


class Ndr(NamedTuple):
    opcode: int
    tag: int


class BiasRd(NamedTuple):
    page: int


class BiasData(NamedTuple):
    bias: int


class BiasWr(NamedTuple):
    page: int
    bias: int


class Flip(NamedTuple):
    page: int
    to_device: int


class FlipCpl(NamedTuple):
    line: int


class RdOwnNoData(NamedTuple):
    line: int


@dataclass
class DcohCounters:
    bias_hits: int = 0
    bias_misses: int = 0
    dev_local: int = 0
    dev_via_host: int = 0
    flips_to_device: int = 0
    flips_to_host: int = 0
    rdownnodata: int = 0
    bisnp_victim: int = 0
    bisnp_dev: int = 0
    bisnp_cur: int = 0
    bisnp_data: int = 0
    bisnp_inv: int = 0
    sf_allocations: int = 0
    sf_frees: int = 0
    conflicts: int = 0
    conflicts_stray: int = 0  # a BIConflict whose line had no BISnp pending (acked anyway)
    m2s_parked: int = 0  # Reqs parked in the replay queue


@dataclass(frozen=True, slots=True)
class DcohParams:
    addr_width: int = 10  # line address bits
    page_lines_log2: int = 2  # lines per page, log2
    bias_sets: int = 2
    bias_ways: int = 2
    sf_sets: int = 2
    sf_ways: int = 2
    bi_trackers: int = 4
    id_width: int = 4
    tag_width: int = 16
    sf_isa: int = 0  # device SF states: 0 = I/A, 1 = I/S/A
    replay_depth: int = 0  # parked Reqs; 0 = head-of-line blocking (as dcoh_db.py)
    bias_in_memory: int = 0  # 1: the bias table is in device memory (read on bias-cache misses)

    def __post_init__(self) -> None:
        for name in ("bias_sets", "bias_ways", "sf_sets", "sf_ways"):
            value = getattr(self, name)
            if value < 1 or value & (value - 1) or value > 64:
                raise ValueError(f"DCOH {name} must be a power of two in 1..64, not {value}")
        if not 1 <= self.bi_trackers <= 16:
            raise ValueError(f"DCOH bi_trackers must be in 1..16, not {self.bi_trackers}")
        if not 0 <= self.page_lines_log2 <= 6:
            raise ValueError(f"DCOH page_lines_log2 must be in 0..6, not {self.page_lines_log2}")
        low = max(self.page_lines_log2 + self.bias_sets.bit_length(), self.sf_sets.bit_length())
        if not low <= self.addr_width <= 16:
            raise ValueError(f"DCOH addr_width must be in {low}..16, not {self.addr_width}")
        if not 1 <= self.id_width <= 16 or not 1 <= self.tag_width <= 16:
            raise ValueError("DCOH id_width and tag_width must be in 1..16")
        if self.bias_in_memory not in (0, 1):
            raise ValueError(f"DCOH bias_in_memory must be 0 or 1, not {self.bias_in_memory}")
        if not 0 <= self.replay_depth <= 8:
            raise ValueError(f"DCOH replay_depth must be in 0..8, not {self.replay_depth}")
        if self.sf_isa not in (0, 1):
            raise ValueError(f"DCOH sf_isa must be 0 (I/A) or 1 (I/S/A), not {self.sf_isa}")

    @property
    def page_width(self) -> int:
        return self.addr_width - self.page_lines_log2

    @classmethod
    def from_rtl(cls, values: dict[str, int]) -> DcohParams:
        return cls(**{k.lower(): v for k, v in values.items()})

    def model(self) -> DcohBias:
        return DcohBias(self)


@dataclass
class _Tracker:
    line: int
    victim: bool  # cause: SF victim (else a device access hit)
    dev: DevAccess | None = None


OUTPUTS = ("dev_rsp", "bisnp", "m2s_go", "rwd_go", "rdownnodata", "ndr", "bias_rd", "bias_wr")


@dataclass
class DcohBias:
    params: DcohParams
    counters: DcohCounters = field(default_factory=DcohCounters)

    def __post_init__(self) -> None:
        p = self.params
        self.bias = [0] * (1 << p.page_width)  # 1 = device bias
        self.bias_cache = SnoopFilter(p.bias_sets, p.bias_ways, 1)
        self.sf = SnoopFilter(p.sf_sets, p.sf_ways, 1)
        self.trackers: list[_Tracker | None] = [None] * p.bi_trackers
        self.waiting_req: M2SReq | None = None  # a Req waiting for its victim's BIRsp
        self.flip_page: int | None = None  # host->device flip in progress
        self.flip_done: set[int] = set()
        self.shared: set[int] = set()  # I/S/A: SF lines in S (the rest of the entries are A)
        self.parked: list[M2SReq] = []  # the replay queue, oldest first
        self.bias_reads: list[int] = []  # pages whose bias word is awaited (bias_in_memory)
        self.outputs: dict[str, list[NamedTuple]] = {name: [] for name in OUTPUTS}

    # -- acceptance rules -------------------------------------------------------------------

    def pending(self, line: int) -> bool:
        return any(t is not None and t.line == line for t in self.trackers)

    def free_tracker(self) -> int | None:
        return next((i for i, t in enumerate(self.trackers) if t is None), None)

    def can_access(self, line: int) -> bool:
        return self.free_tracker() is not None and not self.pending(line)

    def can_req(self, line: int) -> bool:
        return self.can_access(line) and self.waiting_req is None

    def page_of(self, line: int) -> int:
        return line >> self.params.page_lines_log2

    # -- inputs -------------------------------------------------------------------------------

    def device_access(self, acc: DevAccess) -> None:
        if not self.can_access(acc.line):
            raise DcohError(f"device access {acc} accepted with its line pending or no tracker")
        page = self.page_of(acc.line)
        if self.bias_cache.lookup(page).hit:
            self.counters.bias_hits += 1
        else:
            self.counters.bias_misses += 1
            self.bias_cache.allocate(page, 1)
            if self.params.bias_in_memory:
                self.bias_reads.append(page)
                self._out("bias_rd", BiasRd(page))
        if not self.bias[page]:
            self.counters.dev_via_host += 1
            self._out("dev_rsp", DevRsp(acc.id, 0, 0))
            return
        self.counters.dev_local += 1
        own = acc.write or acc.want == Want.OWN
        if not self.sf.lookup(acc.line).hit or (acc.line in self.shared and not own):
            self._out("dev_rsp", DevRsp(acc.id, 1, 0))
            return
        if own:
            op = BISnpOp.INV
        elif acc.want == Want.SHARED:
            op = BISnpOp.DATA
        else:
            op = BISnpOp.CUR
        self.counters.bisnp_dev += 1
        self._snoop(op, acc.line, _Tracker(acc.line, False, acc))

    def must_park(self, line: int) -> bool:
        parked = any(r.line == line for r in self.parked)
        return bool(self.params.replay_depth) and (self.pending(line) or parked)

    def m2s_req(self, req: M2SReq) -> None:
        if self.must_park(req.line):
            if self.waiting_req is not None or len(self.parked) >= self.params.replay_depth:
                raise DcohError(f"M2S Req {req} parked with the replay queue full or a victim due")
            self.counters.m2s_parked += 1
            self.parked.append(req)
            return
        self._serve(req)

    def replay(self) -> None:
        """Serve the oldest parked Req (its line no longer pending)."""
        if not self.parked or not self.can_req(self.parked[0].line):
            raise DcohError(f"replay of {self.parked[:1]} while it is blocked (or none parked)")
        self._serve(self.parked.pop(0))

    def _serve(self, req: M2SReq) -> None:
        if not self.can_req(req.line):
            raise DcohError(
                f"M2S Req {req} accepted while a BISnp to its line (or a victim snoop) is pending"
            )
        grant = (req.opcode in (M2SReqOp.MEM_RD, M2SReqOp.MEM_INV)) and req.meta_value in (
            MetaValue.A,
            MetaValue.S,
        )
        grant |= req.opcode == M2SReqOp.MEM_RD_DATA
        drop = req.opcode == M2SReqOp.MEM_CLN_EVCT or (
            req.opcode in (M2SReqOp.MEM_RD, M2SReqOp.MEM_INV) and req.meta_value == MetaValue.I
        )
        if grant:
            victim = self.sf.victim_for(req.line)
            if victim is not None:
                self.counters.bisnp_victim += 1
                self.waiting_req = req
                self._snoop(BISnpOp.INV, victim.line, _Tracker(victim.line, True))
                return
            shared_ask = req.opcode == M2SReqOp.MEM_RD_DATA or req.meta_value == MetaValue.S
            stays_shared = req.line in self.shared and shared_ask
            self._allocate(req.line)
            if not stays_shared:  # one host: it is alone, so the grant is exclusive (A)
                self.shared.discard(req.line)
        elif drop:
            self._free(req.line)
        self._out("m2s_go", M2SGo(req.opcode, req.line, req.tag))

    def m2s_rwd(self, rwd: M2SRwd) -> None:
        if rwd.opcode == M2SRwdOp.BI_CONFLICT:
            if self.pending(rwd.line):
                self.counters.conflicts += 1
            else:
                self.counters.conflicts_stray += 1
            self._out("ndr", Ndr(NdrOp.BI_CONFLICT_ACK, rwd.tag))
            return
        if rwd.meta_value == MetaValue.I:
            self._free(rwd.line)
        self._out("rwd_go", M2SGo(rwd.opcode, rwd.line, rwd.tag))

    def cmp(self, cmp: Ndr) -> None:
        """An NDR Cmp* from the memory pipeline: passed on, in order with BIConflictAcks."""
        self._out("ndr", cmp)

    def bi_rsp(self, rsp: BIRsp) -> None:
        if not 0 <= rsp.bitag < len(self.trackers) or self.trackers[rsp.bitag] is None:
            raise DcohError(f"BIRsp {rsp} for no pending BISnp")
        tracker = self.trackers[rsp.bitag]
        assert tracker is not None
        self.trackers[rsp.bitag] = None
        if tracker.victim:
            req = self.waiting_req
            assert req is not None
            self.waiting_req = None
            self._free(tracker.line)  # a victim BISnpInv leaves the host with no copy
            self._allocate(req.line)
            self._out("m2s_go", M2SGo(req.opcode, req.line, req.tag))
            return
        if rsp.opcode == BIRspOp.I:
            self._free(tracker.line)
        elif rsp.opcode == BIRspOp.S and self.params.sf_isa:
            self.shared.add(tracker.line)  # the host kept at most S
        assert tracker.dev is not None
        self._out("dev_rsp", DevRsp(tracker.dev.id, 1, 1))

    def bias_data(self, data: BiasData) -> None:
        """The bias word a miss read: it must be the table's (memory saw the writes in order)."""
        if not self.bias_reads:
            raise DcohError(f"bias word {data} with no bias read outstanding")
        page = self.bias_reads.pop(0)
        if data.bias != self.bias[page]:
            raise DcohError(
                f"bias word {data} for page {page:#x}, the table holds {self.bias[page]}"
            )

    def _set_bias(self, page: int, bias: int) -> None:
        self.bias[page] = bias
        if self.params.bias_in_memory:
            self._out("bias_wr", BiasWr(page, bias))

    def flip(self, cmd: Flip) -> None:
        if self.flip_page is not None:
            raise DcohError(f"flip {cmd} accepted while page {self.flip_page:#x} is flipping")
        if not cmd.to_device:
            self.counters.flips_to_host += 1
            self._set_bias(cmd.page, 0)
            return
        self.flip_page = cmd.page
        self.flip_done = set()
        base = cmd.page << self.params.page_lines_log2
        for offset in range(1 << self.params.page_lines_log2):
            self.counters.rdownnodata += 1
            self._out("rdownnodata", RdOwnNoData(base + offset))

    def flip_completion(self, cpl: FlipCpl) -> None:
        if self.flip_page is None or self.page_of(cpl.line) != self.flip_page:
            raise DcohError(f"flip completion {cpl} for no flip in progress")
        if cpl.line in self.flip_done:
            raise DcohError(f"second flip completion for line {cpl.line:#x}")
        self.flip_done.add(cpl.line)
        if len(self.flip_done) == 1 << self.params.page_lines_log2:
            self._set_bias(self.flip_page, 1)
            self.counters.flips_to_device += 1
            self.flip_page = None

    # -- internals ------------------------------------------------------------------------------

    def _snoop(self, op: BISnpOp, line: int, tracker: _Tracker) -> None:
        index = self.free_tracker()
        assert index is not None
        self.trackers[index] = tracker
        self.counters.bisnp_cur += op == BISnpOp.CUR
        self.counters.bisnp_data += op == BISnpOp.DATA
        self.counters.bisnp_inv += op == BISnpOp.INV
        self._out("bisnp", BISnp(int(op), index, line))

    def _allocate(self, line: int) -> None:
        result = self.sf.allocate(line, 1)
        assert result.victim is None
        self.counters.sf_allocations += not result.hit

    def _free(self, line: int) -> None:
        self.shared.discard(line)
        self.counters.sf_frees += self.sf.deallocate(line).hit

    def _out(self, stream: str, value: NamedTuple) -> None:
        self.outputs[stream].append(value)
