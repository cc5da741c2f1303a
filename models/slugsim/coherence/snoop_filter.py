"""The host's inclusive snoop filter: which devices may cache each line.

A set-associative tag array with a sharer vector per entry (CXL_REFERENCE.md §5: the CHA's
snoop filter and its core-valid bits; S4 §3.2.5 for why the host must know every device copy).
It is *inclusive*: a line a device may hold always has an entry, so when a set is full the
replaced entry is returned as a :class:`Victim` whose sharers the home agent must
back-invalidate with SnpInv before they may keep the line.

This class is both the home agent's filter in the timing model and the scoreboard of
``rtl/coherence/snoop_filter.v``, so its operations are the RTL's request opcodes and its
replacement is the RTL's: tree pseudo-LRU over the ways, an invalid way preferred, every
lookup hit, allocate and update making the way most recently used.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from typing import NamedTuple


class SfOp(IntEnum):
    """Request opcodes of the snoop filter (the RTL's ``s_req_op``)."""

    LOOKUP = 0  # sharers of a line; no change but the pLRU touch on a hit
    ALLOCATE = 1  # add sharers to a line, taking a way (and naming a victim) if it has none
    UPDATE = 2  # replace the sharer vector of a present line (empty vector frees the entry)
    DEALLOCATE = 3  # forget a line


class SfRequest(NamedTuple):
    """One request on the RTL's request stream (``s_req_op``, ``s_req_line``, ``s_req_sharers``)."""

    op: SfOp
    line: int
    sharers: int = 0


class Victim(NamedTuple):
    """An entry replaced to make room: its line and the devices that may still hold it."""

    line: int
    sharers: int


class SfResult(NamedTuple):
    """What one request found: whether the line was present, its sharers *after* the
    request, and the entry it replaced (ALLOCATE into a full set only)."""

    hit: bool
    sharers: int
    victim: Victim | None


@dataclass
class SfCounters:
    lookups: int = 0
    hits: int = 0
    misses: int = 0
    allocations: int = 0
    victims: int = 0
    deallocations: int = 0


@dataclass
class _Set:
    tags: list[int | None]
    sharers: list[int]
    plru: int = 0  # ways-1 tree bits; bit i is node i, 1 = the victim is in the upper half

    @classmethod
    def empty(cls, ways: int) -> _Set:
        return cls([None] * ways, [0] * ways)


@dataclass
class SnoopFilter:
    sets: int
    ways: int
    sharer_bits: int  # width of the sharer vector: how many devices (or cache IDs) it tracks
    counters: SfCounters = field(default_factory=SfCounters)

    def __post_init__(self) -> None:
        for name in ("sets", "ways"):
            value = getattr(self, name)
            if value < 1 or value & (value - 1):
                raise ValueError(f"snoop filter {name} must be a power of two, not {value}")
        if not 1 <= self.sharer_bits <= 64:
            raise ValueError(f"sharer vector width must be 1..64, not {self.sharer_bits}")
        self._sets = [_Set.empty(self.ways) for _ in range(self.sets)]

    # --- the four requests ------------------------------------------------------------------

    def request(self, op: SfOp, line: int, sharers: int = 0) -> SfResult:
        """One request as the RTL takes it from its stream."""
        if op is SfOp.LOOKUP:
            return self.lookup(line)
        if op is SfOp.ALLOCATE:
            return self.allocate(line, sharers)
        if op is SfOp.UPDATE:
            return self.update(line, sharers)
        return self.deallocate(line)

    def lookup(self, line: int) -> SfResult:
        self.counters.lookups += 1
        entry, way = self._find(line)
        if way is None:
            self.counters.misses += 1
            return SfResult(False, 0, None)
        self.counters.hits += 1
        self._touch(entry, way)
        return SfResult(True, entry.sharers[way], None)

    def allocate(self, line: int, sharers: int) -> SfResult:
        self._check_vector(sharers)
        entry, way = self._find(line)
        if way is not None:
            entry.sharers[way] |= sharers
            self._touch(entry, way)
            return SfResult(True, entry.sharers[way], None)
        self.counters.allocations += 1
        way = self._victim_way(entry)
        victim = None
        old_tag = entry.tags[way]
        if old_tag is not None:
            self.counters.victims += 1
            victim = Victim(old_tag * self.sets + self._index(line), entry.sharers[way])
        entry.tags[way] = self._tag(line)
        entry.sharers[way] = sharers
        self._touch(entry, way)
        return SfResult(False, sharers, victim)

    def update(self, line: int, sharers: int) -> SfResult:
        self._check_vector(sharers)
        entry, way = self._find(line)
        if way is None:
            return SfResult(False, 0, None)
        if sharers == 0:
            self._free(entry, way)
            return SfResult(True, 0, None)
        entry.sharers[way] = sharers
        self._touch(entry, way)
        return SfResult(True, sharers, None)

    def deallocate(self, line: int) -> SfResult:
        entry, way = self._find(line)
        if way is None:
            return SfResult(False, 0, None)
        self._free(entry, way)
        return SfResult(True, 0, None)

    # --- conveniences for the home agent ---------------------------------------------------

    def sharers(self, line: int) -> int:
        """The sharer vector without touching replacement state or counters."""
        entry, way = self._find(line)
        return 0 if way is None else entry.sharers[way]

    def remove_sharer(self, line: int, sharer: int) -> SfResult:
        return self.update(line, self.sharers(line) & ~(1 << sharer))

    def victim_for(self, line: int) -> Victim | None:
        """The entry ``allocate(line, ...)`` would replace now, without changing anything: the
        home agent back-invalidates it *before* allocating, so the entry is freed only once its
        sharers have answered. None when the line is present or its set has a free way."""
        entry, way = self._find(line)
        if way is not None:
            return None
        way = self._victim_way(entry)
        tag = entry.tags[way]
        if tag is None:
            return None
        return Victim(tag * self.sets + self._index(line), entry.sharers[way])

    def key(self) -> tuple[tuple[tuple[int | None, ...], tuple[int, ...], int], ...]:
        """Tags, sharers and pLRU bits of every set (hashable; the explorer's state)."""
        return tuple((tuple(s.tags), tuple(s.sharers), s.plru) for s in self._sets)

    def copy(self) -> SnoopFilter:
        """An independent copy (tags, sharers, pLRU and counters): the explorer's fork."""
        twin = object.__new__(SnoopFilter)  # NOTE: skips __post_init__ (it was 1/5 of a fork)
        twin.sets, twin.ways, twin.sharer_bits = self.sets, self.ways, self.sharer_bits
        twin.counters = SfCounters(**vars(self.counters))
        twin._sets = [_Set(list(s.tags), list(s.sharers), s.plru) for s in self._sets]
        return twin

    def lines(self) -> dict[int, int]:
        """Every tracked line and its sharers (for invariant checks)."""
        tracked = {}
        for index, entry in enumerate(self._sets):
            for tag, sharers in zip(entry.tags, entry.sharers, strict=True):
                if tag is not None:
                    tracked[tag * self.sets + index] = sharers
        return tracked

    # --- internals ---------------------------------------------------------------------------

    def _index(self, line: int) -> int:
        return line & (self.sets - 1)

    def _tag(self, line: int) -> int:
        return line // self.sets

    def _find(self, line: int) -> tuple[_Set, int | None]:
        entry = self._sets[self._index(line)]
        tag = self._tag(line)
        for way, present in enumerate(entry.tags):
            if present == tag:
                return entry, way
        return entry, None

    def _free(self, entry: _Set, way: int) -> None:
        self.counters.deallocations += 1
        entry.tags[way] = None
        entry.sharers[way] = 0

    def _victim_way(self, entry: _Set) -> int:
        for way, tag in enumerate(entry.tags):
            if tag is None:
                return way
        node, way, span = 0, 0, self.ways
        while span > 1:
            span //= 2
            upper = (entry.plru >> node) & 1
            way += span * upper
            node = 2 * node + 1 + upper
        return way

    def _touch(self, entry: _Set, way: int) -> None:
        """Point every tree node on ``way``'s path away from it."""
        node, low, span = 0, 0, self.ways
        while span > 1:
            span //= 2
            upper = way >= low + span
            if upper:
                entry.plru &= ~(1 << node)
                low += span
            else:
                entry.plru |= 1 << node
            node = 2 * node + 1 + upper

    def _check_vector(self, sharers: int) -> None:
        if sharers >> self.sharer_bits or sharers < 0:
            raise ValueError(f"sharer vector {sharers:#x} is wider than {self.sharer_bits} bits")
