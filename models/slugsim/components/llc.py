"""The host's last-level cache: set-associative, LRU, write-back, write-allocate.

Only tags are kept. Each set is a dict ``line -> dirty`` whose insertion order is the LRU order
(a hit re-inserts the line at the MRU end, a miss evicts the first key). Sets are created on first
touch, so a host with a 32 MiB LLC and a small footprint costs little memory, which matters for
fabrics with hundreds of hosts.
"""

from __future__ import annotations

LINE_SHIFT = 6  # 64-byte lines


class Llc:
    __slots__ = ("_sets", "hits", "misses", "nsets", "ways", "writebacks")

    def __init__(self, size: int, ways: int) -> None:
        lines = size >> LINE_SHIFT
        if ways <= 0 or lines < ways:
            raise ValueError(f"LLC of {size} B cannot hold {ways} ways of 64 B lines")
        self.nsets = lines // ways
        self.ways = ways
        self._sets: dict[int, dict[int, bool]] = {}
        self.hits = 0
        self.misses = 0
        self.writebacks = 0

    def access(self, line: int, write: bool) -> int:
        """Look ``line`` up and fill it on a miss.

        Returns -2 on a hit, -1 on a miss with no dirty victim, else the dirty victim's line
        number (the caller writes it back).
        """
        index = line % self.nsets
        ways = self._sets.get(index)
        if ways is None:
            ways = self._sets[index] = {}
        dirty = ways.pop(line, None)
        if dirty is not None:
            self.hits += 1
            ways[line] = dirty or write
            return -2
        self.misses += 1
        victim = -1
        if len(ways) >= self.ways:
            old = next(iter(ways))
            if ways.pop(old):
                victim = old
                self.writebacks += 1
        ways[line] = write
        return victim
