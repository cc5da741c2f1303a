"""The host's translation agent (IOMMU): page tables per device, walks, an IOTLB, PRI,
invalidation and the check of translated requests.

The agent answers the four ATS/PRI conversations of CXL_REFERENCE.md §4 for the devices below
one host, untimed in its decisions, with the latency of each answer returned beside it so a
timed wrapper only has to schedule it:

- **Page tables.** One per device (its PASID-less address space): 4 KiB and 2 MiB mappings of
  untranslated (I/O virtual) pages to host physical pages with R, W and the CXL.io-only bit.
  A mapping may be *reserved*: part of the address space but not resident (swapped out); a
  translation of it grants nothing (R = W = 0) and the device asks for it with a Page Request.
- **Translation.** A Translation Request looks the IOTLB up (``iotlb_entries``, true LRU, keyed
  by device and page) and walks the table on a miss. The Completion carries the page size, the
  permissions and the CXL.io bit; an address outside the device's space is answered with
  Unsupported Request.
- **PRI.** A Page Request for a reserved page makes it resident (a frame from the free pool) and
  is answered Success; for an address the device has no mapping for, Invalid Request; when no
  frame is free, Response Failure, which also disables PRI for the device (§4) so every later
  Page Request of it fails at once.
- **Invalidation and unmap.** ``unmap`` removes a mapping from the table and the IOTLB at once,
  then sends the device an Invalidate Request. At most ``queue_depth`` of them are outstanding
  per device (the ATS capability's 5-bit Invalidate Queue Depth, 0 meaning 32); the rest wait
  in order. The frame is *not* free until the device's Invalidate Completion arrives: only then
  may software map it again (``remap`` to another address or device). Requester IDs are the
  devices' PBR PIDs, so what the agent sends carries ``dpid`` = the device's requester ID.
- **Translated requests.** Every CXL.cache request carries an HPA. Under the ``check`` policy
  the agent allows it only if the device holds a grant covering that page with the needed
  permission: a mapping in its table, or one whose invalidation has not completed yet (the
  device may still legitimately use it). Writes (ownership requests included) need W; CXL.cache
  on a CXL.io-only page is refused. Under ``trust_translated`` (the insecure host of the 2026
  Linux discussion quoted in issue 13) every translated request is let through. A refusal is
  logged with the device and address and counted.

Latency (all in ps, every figure a parameter):

- ``iotlb_hit``: 3 cycles, gem5 SMMUv3's 2048-entry 4-way main TLB (issue 13); at the
  assumed 1 GHz agent clock (``clock``), 3 ns.
- ``walk``: one dependent memory read per page-table level, 4 levels for a 4 KiB page and 3 for
  a 2 MiB one (**assumption**: x86-64 / AArch64 4-level tables, no walk cache), each read at the
  host's local DDR idle latency, 130 ns (CXL_REFERENCE.md §7b, Vistara Table VI).
- ``fault``: the OS serving a Page Request (making a page resident), 10 µs. **Assumption**: no
  figure in CXL_REFERENCE.md; a minor-fault-plus-I/O-free allocation order of magnitude.
"""

from __future__ import annotations

from collections import Counter, OrderedDict, deque
from dataclasses import dataclass, field
from enum import IntEnum, StrEnum
from typing import NamedTuple

from slugsim.cxl import (
    AtsInvalidationCpl,
    AtsInvalidationReq,
    AtsPageReq,
    AtsPrgRsp,
    AtsStatus,
    AtsTranslationCpl,
    AtsTranslationReq,
    D2HReqOpcode,
)

PAGE_SHIFT = 12  # 4 KiB
LARGE_SHIFT = 21  # 2 MiB
LARGE_PAGES = 1 << (LARGE_SHIFT - PAGE_SHIFT)  # 512 small pages per large page
NS = 1000  # ps

IOTLB_HIT_CYCLES = 3  # gem5 SMMUv3 main TLB lookup (issue 13)
CLOCK_PS = 1000  # assumption: a 1 GHz translation agent
WALK_READ_PS = 130 * NS  # one table read at local DDR idle latency (CXL_REFERENCE.md §7b)
WALK_LEVELS = {PAGE_SHIFT: 4, LARGE_SHIFT: 3}  # assumption: 4-level tables, no walk cache
FAULT_PS = 10_000 * NS  # assumption: the OS makes one page resident (no cited figure)


class Policy(StrEnum):
    """How the host treats requests that carry a translated address (an HPA)."""

    CHECK = "check"  # allowed only within the device's grants
    TRUST_TRANSLATED = "trust_translated"  # insecure: any HPA the device sends is used


class PrgResponseCode(IntEnum):
    """PRG Response codes (CXL_REFERENCE.md §4; any other value is treated as failure)."""

    SUCCESS = 0b0000
    INVALID_REQUEST = 0b0001
    RESPONSE_FAILURE = 0b1111


# Requests that modify the line or ask for ownership of it: they need W.
WRITE_OPCODES = frozenset(
    {
        D2HReqOpcode.RDOWN,
        D2HReqOpcode.RDOWNNODATA,
        D2HReqOpcode.ITOMWR,
        D2HReqOpcode.WRCUR,
        D2HReqOpcode.CLFLUSH,
        D2HReqOpcode.DIRTYEVICT,
        D2HReqOpcode.WOWRINV,
        D2HReqOpcode.WOWRINVF,
        D2HReqOpcode.WRINV,
    }
)


def queue_depth(field_value: int) -> int:
    """The ATS capability's Invalidate Queue Depth field (5 bits): 0 means 32."""
    if not 0 <= field_value < 32:
        raise ValueError(f"Invalidate Queue Depth is a 5-bit field, not {field_value}")
    return field_value or 32


@dataclass(frozen=True, slots=True)
class Mapping:
    """One page-table entry: ``iova`` and ``hpa`` are 4 KiB page numbers (a large mapping's low
    9 bits 0); ``resident`` False for a reserved page (PRI makes it resident; its ``hpa`` is
    then the frame PRI will use, -1 for one from the free pool)."""

    iova: int
    hpa: int
    large: bool = False
    r: bool = True
    w: bool = True
    io: bool = False
    resident: bool = True

    @property
    def pages(self) -> int:
        return LARGE_PAGES if self.large else 1

    def hpa_of(self, page: int) -> int:
        return self.hpa + (page - self.iova)


class Denial(NamedTuple):
    """A refused translated request, as logged."""

    device: int
    addr: int  # the HPA (bytes)
    reason: str  # "ungranted", "read_only", "io_only"
    opcode: str


class Verdict(NamedTuple):
    allowed: bool
    reason: str  # "granted", "trusted" or the Denial's reason


class Translated(NamedTuple):
    """A Translation Completion and the agent time it took."""

    completion: AtsTranslationCpl
    latency: int
    iotlb_hit: bool


class PageResponse(NamedTuple):
    response: AtsPrgRsp
    latency: int


@dataclass
class IommuCounters:
    translations: int = 0
    iotlb_hits: int = 0
    walks: int = 0
    unsupported: int = 0  # translations of addresses outside the device's space
    page_requests: int = 0
    prg_success: int = 0
    prg_invalid: int = 0
    prg_failure: int = 0
    invalidations_sent: int = 0
    invalidations_queued: int = 0  # had to wait for a free slot in the device's queue
    invalidations_completed: int = 0
    checked: int = 0  # translated requests looked at
    blocked: int = 0
    trusted: int = 0  # let through unchecked (trust_translated)


@dataclass
class _Pending:
    """An unmapped translation the device may still hold: its frame is not free yet."""

    mapping: Mapping
    itag: int | None = None  # None while waiting for a slot


@dataclass
class DeviceContext:
    """What the agent keeps per device: its table, ATS capability and invalidation state."""

    device: int
    depth: int  # invalidations outstanding at most
    table: dict[int, Mapping] = field(default_factory=dict)  # 4 KiB page -> mapping
    pri_enabled: bool = True
    inflight: dict[int, _Pending] = field(default_factory=dict)  # ITag -> pending
    waiting: deque[_Pending] = field(default_factory=deque)
    next_itag: int = 0
    # HPA page -> the resident mappings covering it that the device holds (in its table or
    # unmapped and not yet completed): what ``check`` looks up, in installation order
    held: dict[int, list[Mapping]] = field(default_factory=dict)
    checked: int = 0  # its translated requests looked at
    blocked: int = 0  # ... refused (``check``)


@dataclass
class Iommu:
    """The translation agent of one host."""

    iotlb_entries: int = 2048  # gem5 SMMUv3 main TLB size (issue 13)
    policy: Policy = Policy.CHECK
    clock: int = CLOCK_PS
    walk_read: int = WALK_READ_PS
    fault: int = FAULT_PS
    denial_log: int | None = None  # denials kept in ``denials`` (None: all; counts are exact)
    counters: IommuCounters = field(default_factory=IommuCounters)

    def __post_init__(self) -> None:
        if self.iotlb_entries < 1:
            raise ValueError(f"the IOTLB needs at least one entry, not {self.iotlb_entries}")
        self.policy = Policy(self.policy)
        self.devices: dict[int, DeviceContext] = {}
        # (device, mapping's first 4 KiB page, large) -> mapping, least recently used first
        self._iotlb: OrderedDict[tuple[int, int, bool], Mapping] = OrderedDict()
        self._free: list[int] = []  # free HPA frames (4 KiB page numbers) for PRI
        self._revoking: Counter[int] = Counter()  # frames of unmaps not yet completed
        self.denials: list[Denial] = []
        self.sent: list[AtsInvalidationReq] = []  # Invalidate Requests, in order sent

    # --- software: devices, frames, mappings -----------------------------------------------

    def attach(self, device: int, invalidate_queue_depth: int = 0) -> DeviceContext:
        """Give ``device`` an address space; its ATS capability's queue depth field."""
        if device in self.devices:
            raise ValueError(f"device {device} is attached already")
        ctx = DeviceContext(device, queue_depth(invalidate_queue_depth))
        self.devices[device] = ctx
        return ctx

    def add_frames(self, first: int, count: int) -> None:
        """Hand the agent ``count`` free 4 KiB frames from HPA page ``first`` (for PRI)."""
        self._free.extend(range(first, first + count))

    def map(
        self,
        device: int,
        iova: int,
        hpa: int,
        *,
        large: bool = False,
        r: bool = True,
        w: bool = True,
        io: bool = False,
    ) -> Mapping:
        """Map byte address ``iova`` to ``hpa`` (both aligned to the page size)."""
        mapping = Mapping(*self._pages(iova, hpa, large), large, r, w, io)
        frames = range(mapping.hpa, mapping.hpa + mapping.pages)
        taken = [f for f in frames if self._revoking[f]]
        if taken:
            raise ValueError(
                f"HPA page {taken[0]:#x} was unmapped but its invalidation has not completed"
            )
        self._install(device, mapping)
        return mapping

    def reserve(
        self, device: int, iova: int, *, r: bool = True, w: bool = True, hpa: int | None = None
    ) -> Mapping:
        """Put the 4 KiB page ``iova`` in the device's space, not resident (PRI brings it):
        into the frame ``hpa`` when given (the page's own frame, read back), else into one from
        the free pool (``add_frames``)."""
        frame = -1 if hpa is None else hpa >> PAGE_SHIFT
        mapping = Mapping(iova >> PAGE_SHIFT, frame, False, r, w, False, resident=False)
        self._install(device, mapping)
        return mapping

    def unmap(self, device: int, iova: int) -> AtsInvalidationReq | None:
        """Remove the mapping holding ``iova``; returns the Invalidate Request sent now, or
        None when the device's queue is full (it goes when a completion frees a slot)."""
        ctx = self._ctx(device)
        mapping = ctx.table.get(iova >> PAGE_SHIFT)
        if mapping is None:
            raise ValueError(f"device {device} has nothing mapped at {iova:#x}")
        for page in range(mapping.iova, mapping.iova + mapping.pages):
            del ctx.table[page]
        self._iotlb.pop((device, mapping.iova, mapping.large), None)
        pending = _Pending(mapping)
        if mapping.resident:
            self._revoking.update(range(mapping.hpa, mapping.hpa + mapping.pages))
        if len(ctx.inflight) < ctx.depth:
            return self._send(ctx, pending)
        ctx.waiting.append(pending)
        self.counters.invalidations_queued += 1
        return None

    def invalidation_complete(
        self, device: int, cpl: AtsInvalidationCpl
    ) -> list[AtsInvalidationReq]:
        """The device's Invalidate Completion: frees the frames of every ITag in the vector
        and sends queued invalidations into the freed slots (returned)."""
        ctx = self._ctx(device)
        for itag in range(32):
            if not cpl.itag_vector >> itag & 1:
                continue
            pending = ctx.inflight.pop(itag, None)
            if pending is None:
                continue  # a completion for nothing outstanding: ignored
            self.counters.invalidations_completed += 1
            mapping = pending.mapping
            if mapping.resident:
                self._revoking.subtract(range(mapping.hpa, mapping.hpa + mapping.pages))
                self._release(ctx, mapping)
        sent = []
        while ctx.waiting and len(ctx.inflight) < ctx.depth:
            sent.append(self._send(ctx, ctx.waiting.popleft()))
        return sent

    def make_resident(self, device: int, iova: int) -> Mapping:
        """Bring the reserved page ``iova`` in: into its own frame (``reserve(hpa=)``) or one
        from the free pool. What a successful Page Request does, and software may do too."""
        ctx = self._ctx(device)
        mapping = ctx.table.get(iova >> PAGE_SHIFT)
        if mapping is None or mapping.resident:
            raise ValueError(f"device {device} has no reserved page at {iova:#x}")
        if mapping.hpa < 0 and not self._free:
            raise ValueError("no free frame")
        frame = mapping.hpa if mapping.hpa >= 0 else self._free.pop(0)
        resident = Mapping(mapping.iova, frame, False, mapping.r, mapping.w)
        ctx.table[mapping.iova] = resident
        self._hold(ctx, resident)
        return resident

    def remap(self, device: int, iova: int, hpa: int, **perms: bool) -> Mapping:
        """Map again after an unmap: refused while the frame's invalidation is outstanding."""
        return self.map(device, iova, hpa, **perms)

    # --- the device's requests ---------------------------------------------------------------

    def translate(self, device: int, req: AtsTranslationReq) -> Translated:
        self.counters.translations += 1
        ctx = self._ctx(device)
        page = req.addr >> PAGE_SHIFT
        mapping = ctx.table.get(page)
        lookup = IOTLB_HIT_CYCLES * self.clock
        # The IOTLB caches resident table entries and unmap flushes it, so looking the table
        # up first gives the same answer as a tag match in the IOTLB.
        key = None
        if mapping is not None and mapping.resident:
            key = (device, mapping.iova, mapping.large)
            if key in self._iotlb:
                self._iotlb.move_to_end(key)
                self.counters.iotlb_hits += 1
                return Translated(self._completion(req, page, mapping), lookup, True)
        self.counters.walks += 1
        large = mapping is not None and mapping.large
        latency = lookup + WALK_LEVELS[LARGE_SHIFT if large else PAGE_SHIFT] * self.walk_read
        if mapping is None:
            self.counters.unsupported += 1
            cpl = AtsTranslationCpl(
                requester_id=req.requester_id,
                tag=req.tag,
                dpid=req.requester_id,
                status=AtsStatus.UNSUPPORTED_REQUEST,
                addr=req.addr,
                read=0,
                write=0,
            )
            return Translated(cpl, latency, False)
        if key is not None:  # a non-resident entry is not cached: PRI will change it
            self._iotlb[key] = mapping
            if len(self._iotlb) > self.iotlb_entries:
                self._iotlb.popitem(last=False)
        return Translated(self._completion(req, page, mapping), latency, False)

    def page_request(self, device: int, req: AtsPageReq) -> PageResponse:
        self.counters.page_requests += 1
        ctx = self._ctx(device)
        mapping = ctx.table.get(req.addr >> PAGE_SHIFT)
        latency = self.fault
        if not ctx.pri_enabled:
            code, latency = PrgResponseCode.RESPONSE_FAILURE, IOTLB_HIT_CYCLES * self.clock
        elif mapping is None or (req.write and not mapping.w) or (req.read and not mapping.r):
            code = PrgResponseCode.INVALID_REQUEST
        elif mapping.resident:
            code = PrgResponseCode.SUCCESS  # resident already (another request won)
        elif mapping.hpa < 0 and not self._free:
            code = PrgResponseCode.RESPONSE_FAILURE
            ctx.pri_enabled = False
        else:
            self.make_resident(device, req.addr)
            code = PrgResponseCode.SUCCESS
        name = {
            PrgResponseCode.SUCCESS: "prg_success",
            PrgResponseCode.INVALID_REQUEST: "prg_invalid",
            PrgResponseCode.RESPONSE_FAILURE: "prg_failure",
        }[code]
        setattr(self.counters, name, getattr(self.counters, name) + 1)
        rsp = AtsPrgRsp(
            requester_id=req.requester_id,
            prg_index=req.prg_index,
            code=int(code),
            dpid=req.requester_id,
        )
        return PageResponse(rsp, latency)

    def check(self, device: int, addr: int, opcode: D2HReqOpcode) -> Verdict:
        """Whether the translated CXL.cache request ``opcode`` to HPA ``addr`` may proceed."""
        self.counters.checked += 1
        ctx = self._ctx(device)
        ctx.checked += 1
        if self.policy is Policy.TRUST_TRANSLATED:
            self.counters.trusted += 1
            return Verdict(True, "trusted")
        grant = self.grant(device, addr >> PAGE_SHIFT)
        if grant is None:
            reason = "ungranted"
        elif grant.io:
            reason = "io_only"
        elif opcode in WRITE_OPCODES and not grant.w:
            reason = "read_only"
        elif not grant.r and opcode not in WRITE_OPCODES:
            reason = "write_only"
        else:
            return Verdict(True, "granted")
        self.counters.blocked += 1
        ctx.blocked += 1
        if self.denial_log is None or len(self.denials) < self.denial_log:
            self.denials.append(Denial(device, addr, reason, D2HReqOpcode(opcode).name))
        return Verdict(False, reason)

    def grant(self, device: int, hpa_page: int) -> Mapping | None:
        """The resident mapping of ``device`` covering HPA page ``hpa_page``: in its table, or
        unmapped with its invalidation still outstanding (the first such one installed)."""
        held = self._ctx(device).held.get(hpa_page)
        return held[0] if held else None

    # --- helpers ---------------------------------------------------------------------------------

    def _ctx(self, device: int) -> DeviceContext:
        ctx = self.devices.get(device)
        if ctx is None:
            raise ValueError(f"device {device} is not attached to this IOMMU")
        return ctx

    @staticmethod
    def _pages(iova: int, hpa: int, large: bool) -> tuple[int, int]:
        shift = LARGE_SHIFT if large else PAGE_SHIFT
        if iova % (1 << shift) or hpa % (1 << shift):
            raise ValueError(f"{iova:#x} -> {hpa:#x} is not aligned to 2**{shift}")
        return iova >> PAGE_SHIFT, hpa >> PAGE_SHIFT

    def _install(self, device: int, mapping: Mapping) -> None:
        ctx = self._ctx(device)
        pages = range(mapping.iova, mapping.iova + mapping.pages)
        if any(p in ctx.table for p in pages):
            raise ValueError(f"device {device} has {mapping.iova << PAGE_SHIFT:#x} mapped already")
        for page in pages:
            ctx.table[page] = mapping
        if mapping.resident:
            self._hold(ctx, mapping)

    @staticmethod
    def _hold(ctx: DeviceContext, mapping: Mapping) -> None:
        for frame in range(mapping.hpa, mapping.hpa + mapping.pages):
            ctx.held.setdefault(frame, []).append(mapping)

    @staticmethod
    def _release(ctx: DeviceContext, mapping: Mapping) -> None:
        for frame in range(mapping.hpa, mapping.hpa + mapping.pages):
            held = ctx.held[frame]
            held.remove(mapping)
            if not held:
                del ctx.held[frame]

    def _send(self, ctx: DeviceContext, pending: _Pending) -> AtsInvalidationReq:
        itag = next(t for t in range(32) if t not in ctx.inflight)
        pending.itag = itag
        ctx.inflight[itag] = pending
        mapping = pending.mapping
        req = AtsInvalidationReq(
            requester_id=ctx.device,
            dpid=ctx.device,
            itag=itag,
            addr=mapping.iova << PAGE_SHIFT,
            page_shift=LARGE_SHIFT if mapping.large else PAGE_SHIFT,
        )
        self.counters.invalidations_sent += 1
        self.sent.append(req)
        return req

    @staticmethod
    def _completion(req: AtsTranslationReq, page: int, mapping: Mapping) -> AtsTranslationCpl:
        if not mapping.resident:  # in the space but not present: no access, ask with PRI
            return AtsTranslationCpl(
                requester_id=req.requester_id,
                tag=req.tag,
                dpid=req.requester_id,
                addr=req.addr,
                read=0,
                write=0,
            )
        large = mapping.large
        hpa = mapping.hpa if large else mapping.hpa_of(page)
        return AtsTranslationCpl(
            requester_id=req.requester_id,
            tag=req.tag,
            dpid=req.requester_id,
            addr=hpa << PAGE_SHIFT,
            read=int(mapping.r),
            write=int(mapping.w and not req.no_write),
            page_shift=LARGE_SHIFT if large else PAGE_SHIFT,
            cxl_io=int(mapping.io),
        )

    def stats(self) -> dict[str, object]:
        out: dict[str, object] = dict(vars(self.counters))
        out["policy"] = self.policy.value
        out["denials"] = [d._asdict() for d in self.denials]
        return out
