"""A set-associative, write-back cache that keeps a coherence state per line.

One class serves the host's LLC and, in the coherence issues, device caches and the snoop
filter's tag array (gem5's lesson: one cache built from parts, not copies). Replacement is LRU:
each set is a dict ``line -> state`` whose insertion order is the LRU order (a hit re-inserts
the line at the MRU end, a fill evicts the first key). Sets are created on first touch, so a
32 MiB LLC with a small footprint costs little memory, which matters for fabrics with hundreds
of hosts.

States are MESIF (CXL_REFERENCE.md §5); a line not present is Invalid. ``access`` is the
simple requester's view the host cores use (a load fills Exclusive, a store makes the line
Modified); ``state``, ``set_state`` and ``invalidate`` are there for coherence controllers.
"""

from __future__ import annotations

from enum import IntEnum
from typing import NamedTuple

LINE_SHIFT = 6  # 64-byte lines


class LineState(IntEnum):
    INVALID = 0
    SHARED = 1
    FORWARD = 2
    EXCLUSIVE = 3
    MODIFIED = 4

    @property
    def dirty(self) -> bool:
        return self is LineState.MODIFIED


class Hit(NamedTuple):
    state: LineState


class Miss(NamedTuple):
    """A miss that filled the line; ``victim`` is the line it evicted (None if none) and
    ``victim_state`` that line's state (a MODIFIED victim must be written back)."""

    victim: int | None
    victim_state: LineState

    @property
    def writeback(self) -> bool:
        return self.victim_state is LineState.MODIFIED


MODIFIED = LineState.MODIFIED
_I, _E, _M = LineState.INVALID, LineState.EXCLUSIVE, LineState.MODIFIED
# Results that carry nothing new are shared rather than made per access.
_HIT_EXCLUSIVE = Hit(_E)
_HIT_MODIFIED = Hit(_M)
_COLD_MISS = Miss(None, _I)


class Cache:
    __slots__ = ("_sets", "evictions", "hits", "misses", "nsets", "ways", "writebacks")

    def __init__(self, size: int, ways: int) -> None:
        lines = size >> LINE_SHIFT
        if ways <= 0 or lines < ways:
            raise ValueError(f"a cache of {size} B cannot hold {ways} ways of 64 B lines")
        self.nsets = lines // ways
        self.ways = ways
        self._sets: dict[int, dict[int, LineState]] = {}
        self.hits = 0
        self.misses = 0
        self.evictions = 0
        self.writebacks = 0  # MODIFIED victims

    def access(self, line: int, write: bool) -> Hit | Miss:
        """A core's load (``write`` False) or store to ``line``: a hit, or a miss that fills the
        line (Exclusive for a load, Modified for a store) and names its victim."""
        index = line % self.nsets
        ways = self._sets.get(index)
        if ways is None:
            ways = self._sets[index] = {}
        state = ways.pop(line, None)
        if state is not None:
            self.hits += 1
            if write or state is _M:
                ways[line] = _M
                return _HIT_MODIFIED
            ways[line] = state
            return _HIT_EXCLUSIVE if state is _E else Hit(state)
        self.misses += 1
        result = _COLD_MISS
        if len(ways) >= self.ways:
            victim = next(iter(ways))
            victim_state = ways.pop(victim)
            self.evictions += 1
            if victim_state is _M:
                self.writebacks += 1
            result = Miss(victim, victim_state)
        ways[line] = _M if write else _E
        return result

    def state(self, line: int) -> LineState:
        ways = self._sets.get(line % self.nsets)
        if ways is None:
            return _I
        return ways.get(line, _I)

    def set_state(self, line: int, state: LineState) -> None:
        """Change the state of a present line (Invalid removes it); the LRU order is kept."""
        ways = self._sets.get(line % self.nsets)
        if ways is None or line not in ways:
            raise KeyError(f"line {line:#x} is not in the cache")
        if state is _I:
            del ways[line]
        else:
            ways[line] = state

    def invalidate(self, line: int) -> LineState:
        """Drop ``line``; returns the state it had (INVALID when absent)."""
        ways = self._sets.get(line % self.nsets)
        if ways is None:
            return _I
        return ways.pop(line, _I)

    def lines(self) -> int:
        return sum(len(ways) for ways in self._sets.values())

    def resident(self) -> list[tuple[int, LineState]]:
        """Every line present and its state, set by set (a migration writes them back)."""
        return [(line, state) for ways in self._sets.values() for line, state in ways.items()]
