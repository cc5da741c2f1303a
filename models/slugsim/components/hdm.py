"""HDM decoders: host physical address -> (target device, device-relative offset).

A window maps ``[base, base + size)`` onto its targets, interleaved in ``granularity`` chunks in
target order (CXL 2.0 HDM decoder interleave; the calibration platform uses 256 B across two
devices, CXL_REFERENCE.md §7b). Windows are few, so lookup walks a short sorted list.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..fabric.params import HdmWindow


class HdmDecoder:
    __slots__ = ("_windows",)

    def __init__(self, windows: Sequence[HdmWindow], target_index: dict[str, int]) -> None:
        """``target_index`` numbers the devices the host talks to (indices into its port table)."""
        # Validation (slugsim.fabric.validate) has checked that windows do not overlap and end
        # below 2**52 (CXL.mem carries Addr[51:6], CXL_REFERENCE.md §2.1).
        ordered = sorted(windows, key=lambda w: w.base)
        self._windows = [
            (
                w.base,
                w.base + w.size,
                w.granularity,
                tuple(target_index[t] for t in w.targets),
                len(w.targets),
            )
            for w in ordered
        ]

    def decode(self, addr: int) -> int:
        """Index of the target device serving ``addr``, or -1 outside every window."""
        for base, end, granularity, targets, ways in self._windows:
            if base <= addr < end:
                if ways == 1:
                    return targets[0]
                return targets[((addr - base) // granularity) % ways]
        return -1

    def device_address(self, window: HdmWindow, target: int, offset: int) -> int:
        """Host address of the ``offset``-th byte that ``window`` places on its ``target``-th
        device (used to aim a workload at one device of an interleaved window)."""
        ways = len(window.targets)
        gran = window.granularity
        chunk, within = divmod(offset, gran)
        return window.base + (chunk * ways + target) * gran + within


# The decoder of a host without HDM windows: every address is local.
NO_WINDOWS = HdmDecoder((), {})
