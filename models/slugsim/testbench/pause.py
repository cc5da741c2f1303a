"""Pause generators: which cycles a sink holds ``ready`` low (back-pressure).

A pause generator is an iterator yielding one value per clock cycle, true (or 1) for a cycle of
back-pressure. Per-beat sinks (``StreamSink``) take any such iterator; batched sinks
(``BatchSink``) cannot run Python every cycle, so their back-pressure is the LFSR built into
``rtl/tb/tb_stream_recorder.v``, which ``LfsrPause`` describes *and* reproduces: the same
``LfsrPause`` gives either kind of sink the same pattern, so a test runs with and without
back-pressure the same way on both (``set_pause_generator(LfsrPause(0.3, seed))`` or ``None``).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator

LFSR_TAPS = 0x8020_0003  # Galois form of x^32 + x^22 + x^2 + x + 1, as the recorder's
LFSR_MASK = (1 << 32) - 1


def pause_pattern(pattern: Iterable[int]) -> Iterator[bool]:
    """Cycle a 0/1 pattern forever (1 = pause this cycle)."""
    return (bool(x) for x in itertools.cycle(pattern))


class LfsrPause:
    """Pause about ``ratio`` of the cycles, pseudo-randomly, from a 32-bit LFSR seeded ``seed``.

    Cycle by cycle as the recorder's back-pressure: the LFSR starts at ``seed`` (0 reads as 1),
    a cycle pauses when the LFSR's low byte is below ``threshold`` = ``ratio`` * 256 (at most
    255), and the LFSR steps once per cycle.
    """

    def __init__(self, ratio: float, seed: int = 1) -> None:
        if not 0.0 <= ratio < 1.0:
            raise ValueError(f"back-pressure ratio {ratio} must be in [0, 1)")
        if not 0 <= seed <= LFSR_MASK:
            raise ValueError(f"LFSR seed {seed} is not a 32-bit unsigned int")
        self.ratio = ratio
        self.seed = seed
        self.threshold = min(round(ratio * 256), 255)
        self._state = seed or 1

    def __iter__(self) -> LfsrPause:
        return self

    def __next__(self) -> bool:
        state = self._state
        self._state = (state >> 1) ^ (LFSR_TAPS if state & 1 else 0)
        return (state & 0xFF) < self.threshold

    def __repr__(self) -> str:
        return f"LfsrPause({self.ratio}, seed={self.seed:#x})"
