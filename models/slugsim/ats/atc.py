"""A device's Address Translation Cache (ATC): the PCIe/CXL ATS client inside a CXL device.

A device issues *untranslated* addresses; the ATC turns them into host physical addresses (HPAs)
for CXL.cache (S4 §3.2.5.13: CXL.cache carries HPAs, obtained through ATS on CXL.io) or for
CXL.io. A miss sends a Translation Request to the host's translation agent and the Translation
Completion fills an entry; the host revokes translations with Invalidate Requests, each answered
by an Invalidate Completion (CXL_REFERENCE.md §4).

This class is both the device ATC of the timing model and the scoreboard of ``rtl/ats/atc.v``.
It is *atomic in arrival order*: the RTL takes at most one operation per clock (a request, a
completion or an invalidation, ``s_req`` / ``s_tcpl`` / ``s_inv``) and each one sees the state
every earlier one left, so feeding the model the operations in the order the RTL accepted them
gives, stream by stream, exactly the RTL's outputs.

- **Arrays.** 4 KiB translations live in a set-associative array (``entries`` / ``ways``, index
  = the page number's low bits), 2 MiB translations in a small fully associative array
  (``large_entries``), looked up in parallel; a page found in both is served by the 4 KiB entry.
  Replacement per set: the lowest invalid way, else tree pseudo-LRU (as the snoop filter's);
  a hit and a fill make the way most recently used.
- **Misses** are merged per 4 KiB page: the first allocates a pending-miss entry (an MSHR, the
  lowest free one; its index is the Translation Request's tag) and sends one Translation
  Request; later requests to the page join its waiter list (at most ``waiters``). The completion
  answers every waiter, in arrival order, and frees the MSHR; a failed completion faults them all
  and caches nothing.
- **Permissions** per entry: R, W and the CXL.io-only bit (S4 §3.1.6). A CXL.cache use of a
  CXL.io-only page faults ``IO_ONLY``; a write without W or a read without R faults ``PERM``. A
  faulted response carries page 0: no HPA leaves the ATC for a use it does not permit.
- **Invalidation** removes every entry overlapping the range (one 4 KiB page, one 2 MiB region,
  or everything) and marks the MSHRs whose translation on its way may overlap it: the
  completion is thrown away and the page asked again (waiters kept) only if the translation it
  carries, *at its own page size*, overlaps an invalidated range. An MSHR whose 4 KiB page lies
  in the range is *stale* (any completion is discarded); one whose page is outside the range
  but in the same 2 MiB region is *stale if large* (a 4 KiB completion does not cover the
  invalidated page and is used; a 2 MiB one might and is discarded). So unmaps of other pages
  of the region no longer starve a miss (the livelock of docs/ats.md). The Invalidate
  Completion is due once every response produced before the invalidation has left the ATC
  (``InvalidationDone.after``): no request answered with the old translation is still inside.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from typing import NamedTuple

from slugsim.cxl import (
    AtsInvalidationCpl,
    AtsInvalidationReq,
    AtsStatus,
    AtsTranslationCpl,
    AtsTranslationReq,
)

PAGE_SHIFT = 12  # a 4 KiB page
LARGE_SHIFT = 21  # a 2 MiB page
LARGE_PAGES = 1 << (LARGE_SHIFT - PAGE_SHIFT)  # 4 KiB pages per 2 MiB page: 512
LARGE_BITS = LARGE_SHIFT - PAGE_SHIFT  # 9


class Status(IntEnum):
    """A response's outcome (the RTL's ``m_rsp_status``)."""

    OK = 0  # translated: ``page`` is the HPA page
    PERM = 1  # a write to a page without W, or a read of a page without R
    IO_ONLY = 2  # a CXL.cache use of a page whose translation has the CXL.io bit set
    FAILED = 3  # the host's Translation Completion reported failure (nothing cached)


class InvSize(IntEnum):
    """The range of an Invalidate Request (the RTL's ``s_inv_size``)."""

    PAGE = 0  # the 4 KiB page ``page``
    LARGE = 1  # the 2 MiB region holding ``page``
    ALL = 2  # every translation


class AtcRequest(NamedTuple):
    """A device access to translate (``s_req``): ``page`` is the untranslated 4 KiB page
    number, ``cache`` 1 for a CXL.cache use, 0 for CXL.io."""

    tag: int
    page: int
    write: int = 0
    cache: int = 1


class AtcResponse(NamedTuple):
    """The answer to one request (``m_rsp``): ``hit`` 1 when it was served from the ATC
    without waiting for a translation, ``page`` the HPA page number (0 unless ``OK``)."""

    tag: int
    status: int
    hit: int
    page: int


class TranslationRequest(NamedTuple):
    """A Translation Request to the host (``m_treq``): ``tag`` names the MSHR.

    The block's view of ``slugsim.cxl.AtsTranslationReq``, the message on CXL.io: the
    ``to_message`` / ``from_message`` adapters convert, so there is one definition of each ATS
    message and this is its port format (the same holds for the three types below)."""

    tag: int
    page: int

    def to_message(self, requester_id: int = 0) -> AtsTranslationReq:
        return AtsTranslationReq(requester_id=requester_id, tag=self.tag, addr=self.page << 12)


class TranslationCompletion(NamedTuple):
    """The host's Translation Completion (``s_tcpl``): for the MSHR ``tag``; ``ok`` 0 is a
    failure; ``page`` the HPA page (a 2 MiB one when ``large``, its low 9 bits ignored);
    ``r``/``w`` the permissions and ``io`` the CXL.io-only bit."""

    tag: int
    ok: int
    page: int
    large: int = 0
    r: int = 1
    w: int = 1
    io: int = 0

    @classmethod
    def from_message(cls, cpl: AtsTranslationCpl) -> TranslationCompletion:
        if cpl.page_shift not in (PAGE_SHIFT, LARGE_SHIFT):
            raise ValueError(f"the ATC caches 4 KiB and 2 MiB pages, not 2**{cpl.page_shift}")
        ok = int(cpl.status == AtsStatus.SUCCESS)
        large = int(cpl.page_shift == LARGE_SHIFT)
        return cls(cpl.tag, ok, cpl.addr >> PAGE_SHIFT, large, cpl.read, cpl.write, cpl.cxl_io)


class InvalidateRequest(NamedTuple):
    """An Invalidate Request (``s_inv``): ITag, a 4 KiB page number and an ``InvSize``."""

    itag: int
    page: int
    size: int = InvSize.PAGE

    @classmethod
    def from_message(cls, inv: AtsInvalidationReq) -> InvalidateRequest:
        """The smallest of our three ranges that covers the message's (more is safe)."""
        if inv.global_ or inv.page_shift > LARGE_SHIFT:
            size = InvSize.ALL
        elif inv.page_shift > PAGE_SHIFT:
            size = InvSize.LARGE
        else:
            size = InvSize.PAGE
        return cls(inv.itag, inv.addr >> PAGE_SHIFT, int(size))


class InvalidateCompletion(NamedTuple):
    """An Invalidate Completion (``m_invcpl``)."""

    itag: int

    def to_message(self, requester_id: int = 0) -> AtsInvalidationCpl:
        return AtsInvalidationCpl(requester_id=requester_id, itag_vector=1 << self.itag, cc=1)


class InvalidationDone(NamedTuple):
    """An Invalidate Completion and when it may go: after the first ``after`` responses."""

    completion: InvalidateCompletion
    after: int


@dataclass
class AtcOutputs:
    """What one operation produced, per output stream, in order."""

    responses: list[AtcResponse] = field(default_factory=list)
    translation_requests: list[TranslationRequest] = field(default_factory=list)
    invalidations: list[InvalidationDone] = field(default_factory=list)


class AtcOverflow(RuntimeError):
    """A request arrived with no MSHR or waiter slot to hold it (the RTL must not accept it)."""


@dataclass
class AtcCounters:
    lookups: int = 0  # requests
    hits: int = 0  # requests answered from the arrays
    misses: int = 0  # requests that had to wait for a translation
    merged: int = 0  # ... of which joined a translation already requested
    treqs: int = 0  # Translation Requests sent (re-requests after a stale completion included)
    fills: int = 0  # completions that wrote an entry
    invalidations: int = 0  # Invalidate Requests
    faults: int = 0  # responses with a status other than OK


@dataclass(frozen=True, slots=True)
class Translation:
    """A cached translation: ``ppn`` the HPA page (4 KiB units; a 2 MiB entry's low 9 bits 0)."""

    ppn: int
    large: bool
    r: bool
    w: bool
    io: bool

    def check(self, write: int, cache: int) -> Status:
        if cache and self.io:
            return Status.IO_ONLY
        if not (self.w if write else self.r):
            return Status.PERM
        return Status.OK

    def hpa_page(self, page: int) -> int:
        return self.ppn | (page & (LARGE_PAGES - 1)) if self.large else self.ppn


class TreePlru:
    """Tree pseudo-LRU over ``ways`` (a power of two): ways-1 bits, node i's children 2i+1 and
    2i+2, a bit of 1 sends the victim walk to the upper half; a touch points every node on the
    way's path away from it."""

    def __init__(self, ways: int) -> None:
        self.ways = ways
        self.bits = 0

    def victim(self) -> int:
        node, way, span = 0, 0, self.ways
        while span > 1:
            span //= 2
            upper = (self.bits >> node) & 1
            way += span * upper
            node = 2 * node + 1 + upper
        return way

    def touch(self, way: int) -> None:
        node, low, span = 0, 0, self.ways
        while span > 1:
            span //= 2
            upper = way >= low + span
            if upper:
                self.bits &= ~(1 << node)
                low += span
            else:
                self.bits |= 1 << node
            node = 2 * node + 1 + upper


@dataclass
class _Set:
    keys: list[int | None]  # the 4 KiB page number (or the 2 MiB region number) held per way
    entries: list[Translation | None]
    plru: TreePlru

    @classmethod
    def empty(cls, ways: int) -> _Set:
        return cls([None] * ways, [None] * ways, TreePlru(ways))

    def find(self, key: int) -> int | None:
        return next((w for w, k in enumerate(self.keys) if k == key), None)

    def fill(self, key: int, entry: Translation) -> None:
        way = self.find(key)
        if way is None:
            way = next((w for w, k in enumerate(self.keys) if k is None), None)
        if way is None:
            way = self.plru.victim()
        self.keys[way] = key
        self.entries[way] = entry
        self.plru.touch(way)

    def drop(self, way: int) -> None:
        self.keys[way] = None
        self.entries[way] = None


@dataclass
class _Mshr:
    page: int
    waiters: list[AtcRequest]
    stale: bool = False  # an invalidation covered the page: discard any completion
    stale_large: bool = False  # ... covered another page of its 2 MiB region: discard a 2 MiB one

    def discards(self, large: int) -> bool:
        """Whether a completion of this size may carry a translation invalidated meanwhile."""
        return self.stale or (self.stale_large and bool(large))


@dataclass
class Atc:
    entries: int = 16  # 4 KiB entries
    ways: int = 4  # their associativity
    large_entries: int = 4  # 2 MiB entries, fully associative
    mshrs: int = 4  # translations outstanding at once
    waiters: int = 4  # requests one outstanding translation can answer
    counters: AtcCounters = field(default_factory=AtcCounters)

    def __post_init__(self) -> None:
        for name in ("entries", "ways", "large_entries"):
            value = getattr(self, name)
            if value < 1 or value & (value - 1):
                raise ValueError(f"ATC {name} must be a power of two, not {value}")
        if self.ways > self.entries:
            raise ValueError(f"ATC ways ({self.ways}) exceed its entries ({self.entries})")
        if self.mshrs < 1 or self.waiters < 1:
            raise ValueError("an ATC needs at least one MSHR with one waiter")
        self.sets = self.entries // self.ways
        self._small = [_Set.empty(self.ways) for _ in range(self.sets)]
        self._large = _Set.empty(self.large_entries)
        self._mshrs: list[_Mshr | None] = [None] * self.mshrs
        self.responses_out = 0  # responses produced so far (an invalidation's ``after``)

    # --- the three operations --------------------------------------------------------------

    def request(self, req: AtcRequest) -> AtcOutputs:
        out = AtcOutputs()
        self.counters.lookups += 1
        found = self._lookup(req.page)
        if found is not None:
            array, way = found
            array.plru.touch(way)
            entry = array.entries[way]
            assert entry is not None
            self.counters.hits += 1
            self._respond(out, req, entry.check(req.write, req.cache), 1, entry)
            return out
        self.counters.misses += 1
        index = next((i for i, m in enumerate(self._mshrs) if m and m.page == req.page), None)
        if index is not None:
            mshr = self._mshrs[index]
            assert mshr is not None
            if len(mshr.waiters) >= self.waiters:
                raise AtcOverflow(f"page {req.page:#x}: all {self.waiters} waiter slots taken")
            mshr.waiters.append(req)
            self.counters.merged += 1
            return out
        index = next((i for i, m in enumerate(self._mshrs) if m is None), None)
        if index is None:
            raise AtcOverflow(f"page {req.page:#x}: all {self.mshrs} MSHRs taken")
        self._mshrs[index] = _Mshr(req.page, [req])
        self._ask(out, index, req.page)
        return out

    def complete(self, cpl: TranslationCompletion) -> AtcOutputs:
        out = AtcOutputs()
        mshr = self._mshrs[cpl.tag] if 0 <= cpl.tag < self.mshrs else None
        if mshr is None:
            return out  # no translation outstanding under that tag: ignored
        if mshr.discards(cpl.large):  # invalidated while on its way: throw away, ask again
            mshr.stale = mshr.stale_large = False
            self._ask(out, cpl.tag, mshr.page)
            return out
        self._mshrs[cpl.tag] = None
        if not cpl.ok:
            for req in mshr.waiters:
                self._respond(out, req, Status.FAILED, 0, None)
            return out
        large = bool(cpl.large)
        ppn = cpl.page & ~(LARGE_PAGES - 1) if large else cpl.page
        entry = Translation(ppn, large, bool(cpl.r), bool(cpl.w), bool(cpl.io))
        self.counters.fills += 1
        if large:
            self._large.fill(mshr.page >> LARGE_BITS, entry)
        else:
            self._small[mshr.page % self.sets].fill(mshr.page, entry)
        for req in mshr.waiters:
            self._respond(out, req, entry.check(req.write, req.cache), 0, entry)
        return out

    def invalidate(self, inv: InvalidateRequest) -> AtcOutputs:
        out = AtcOutputs()
        self.counters.invalidations += 1
        size = InvSize(inv.size)
        region = inv.page >> LARGE_BITS
        for array in self._small:
            for way, page in enumerate(array.keys):
                if page is not None and (
                    size is InvSize.ALL
                    or (size is InvSize.PAGE and page == inv.page)
                    or (size is InvSize.LARGE and page >> LARGE_BITS == region)
                ):
                    array.drop(way)
        for way, key in enumerate(self._large.keys):
            if key is not None and (size is InvSize.ALL or key == region):
                self._large.drop(way)
        for mshr in self._mshrs:
            if mshr is None:
                continue
            if size is InvSize.ALL or mshr.page >> LARGE_BITS == region:
                if size is not InvSize.PAGE or mshr.page == inv.page:
                    mshr.stale = True  # its own page is in the range
                else:
                    mshr.stale_large = True  # only a 2 MiB translation of it would overlap
        done = InvalidationDone(InvalidateCompletion(inv.itag), self.responses_out)
        out.invalidations.append(done)
        return out

    # --- queries -----------------------------------------------------------------------------

    def can_accept(self) -> bool:
        """Whether any request could be taken now: a free MSHR and room in every waiter list."""
        pending = [m for m in self._mshrs if m is not None]
        return len(pending) < self.mshrs and all(len(m.waiters) < self.waiters for m in pending)

    def translations(self) -> dict[tuple[int, bool], Translation]:
        """Every cached translation, keyed (4 KiB page or 2 MiB region number, large)."""
        held: dict[tuple[int, bool], Translation] = {}
        for array in self._small:
            for key, entry in zip(array.keys, array.entries, strict=True):
                if key is not None and entry is not None:
                    held[(key, False)] = entry
        for key, entry in zip(self._large.keys, self._large.entries, strict=True):
            if key is not None and entry is not None:
                held[(key, True)] = entry
        return held

    def pending(self) -> dict[int, tuple[int, int, bool, bool]]:
        """Outstanding translations: MSHR tag -> (page, waiters, stale, stale if large)."""
        return {
            i: (m.page, len(m.waiters), m.stale, m.stale_large)
            for i, m in enumerate(self._mshrs)
            if m is not None
        }

    def discards(self, cpl: TranslationCompletion) -> bool:
        """Whether ``complete(cpl)`` would throw the completion away and ask again."""
        mshr = self._mshrs[cpl.tag] if 0 <= cpl.tag < self.mshrs else None
        return mshr is not None and mshr.discards(cpl.large)

    # --- internals ---------------------------------------------------------------------------

    def _lookup(self, page: int) -> tuple[_Set, int] | None:
        small = self._small[page % self.sets]
        way = small.find(page)
        if way is not None:
            return small, way
        way = self._large.find(page >> LARGE_BITS)
        return None if way is None else (self._large, way)

    def _ask(self, out: AtcOutputs, tag: int, page: int) -> None:
        self.counters.treqs += 1
        out.translation_requests.append(TranslationRequest(tag, page))

    def _respond(
        self,
        out: AtcOutputs,
        req: AtcRequest,
        status: Status,
        hit: int,
        entry: Translation | None,
    ) -> None:
        page = entry.hpa_page(req.page) if entry is not None and status is Status.OK else 0
        if status is not Status.OK:
            self.counters.faults += 1
        out.responses.append(AtcResponse(req.tag, int(status), hit, page))
        self.responses_out += 1
