"""Address generators: which line a core touches next.

A generator yields line indices in ``[0, lines)`` of the workload's footprint; the host turns an
index into a physical address. Generators draw only from the RNG they are given (the host's own
stream), so runs are reproducible from the seed.

- ``RandomLines``: uniform over the footprint (Intel MLC-style random loads).
- ``StreamLines``: sequential; core ``c`` of ``n`` starts at ``c/n`` of the footprint and wraps.
- ``PointerChase``: a pseudo-random permutation walked in order, so every line is visited once
  per lap and each load depends on the previous one (``dependent``: one outstanding per core).
"""

from __future__ import annotations

import random

from ..fabric.params import WorkloadParams


class RandomLines:
    __slots__ = ("_lines", "_rng")
    dependent = False

    def __init__(self, lines: int, rng: random.Random) -> None:
        self._lines = lines
        self._rng = rng

    def next(self) -> int:
        # NOTE: random() * n rather than randrange(n), for speed (docs/performance.md).
        return int(self._rng.random() * self._lines)


class StreamLines:
    __slots__ = ("_lines", "_pos")
    dependent = False

    def __init__(self, lines: int, start: int) -> None:
        self._lines = lines
        self._pos = start % lines

    def next(self) -> int:
        pos = self._pos
        nxt = pos + 1
        self._pos = 0 if nxt == self._lines else nxt
        return pos


# Odd multipliers: multiplication by an odd number is a bijection modulo a power of two.
_MIX_A = 0x9E3779B97F4A7C15
_MIX_B = 0xBF58476D1CE4E5B9


class PointerChase:
    """Visits ``lines`` in the order of a keyed bijection on ``[0, 2**k)``, skipping values
    beyond the footprint (cycle walking), so the chain is a full-length pseudo-random cycle."""

    __slots__ = ("_bits", "_counter", "_key", "_lines", "_mask", "_shift")
    dependent = True

    def __init__(self, lines: int, rng: random.Random) -> None:
        self._lines = lines
        self._bits = max(1, (lines - 1).bit_length())
        self._mask = (1 << self._bits) - 1
        self._shift = max(1, self._bits // 2)
        self._key = rng.getrandbits(self._bits)
        self._counter = rng.getrandbits(self._bits)

    def _permute(self, x: int) -> int:
        mask, shift = self._mask, self._shift
        x = ((x ^ self._key) * _MIX_A) & mask
        x ^= x >> shift
        x = (x * _MIX_B) & mask
        x ^= x >> shift
        return x

    def next(self) -> int:
        mask = self._mask
        while True:
            self._counter = (self._counter + 1) & mask
            line = self._permute(self._counter)
            if line < self._lines:
                return line


Generator = RandomLines | StreamLines | PointerChase


def make_generator(
    params: WorkloadParams, lines: int, core: int, cores: int, rng: random.Random
) -> Generator:
    """The generator of one core; ``lines`` is the footprint in 64 B lines."""
    if lines <= 0:
        raise ValueError(f"a workload footprint must hold at least one 64 B line, got {lines}")
    if params.kind == "random":
        return RandomLines(lines, rng)
    if params.kind == "stream":
        return StreamLines(lines, core * lines // cores)
    if params.kind == "pointer_chase":
        return PointerChase(lines, rng)
    raise ValueError(
        f"unknown workload kind {params.kind!r}; use 'random', 'stream' or 'pointer_chase'"
    )
