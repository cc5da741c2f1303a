"""The ATC RTL's parameters and CSR map (``rtl/ats/atc.v``).

This module is the **one source of truth** for the CSR map: ``rtl/ats/atc_csr.vh`` is generated
from it (``python -m slugsim.ats.header``; ``make lint`` and a test fail when it is stale),
testbenches read the block's geometry back from ``INFO`` / ``WIDTHS`` through
``AtcParams.from_info``, and ``csr_read`` / ``csr_write`` give what the registers hold for an
``Atc`` model in the same state.

CSR map (byte addresses, 32-bit registers; unmapped addresses read 0 and ignore writes):

====== ============== ==== ================================================================
offset name           kind meaning
====== ============== ==== ================================================================
0x00   ID             RO   0x41540001 ("AT", version 1)
0x04   INFO           RO   [3:0] log2(ENTRIES), [7:4] log2(WAYS), [11:8] log2(LARGE_ENTRIES),
                           [16:12] MSHRS, [21:17] WAITERS, [27:22] INV_DEPTH,
                           [31:28] log2(RSP_DEPTH)
0x08   WIDTHS         RO   [4:0] TAG_WIDTH, [13:8] VPN_WIDTH, [21:16] PPN_WIDTH
0x0C   CTRL           RW   [0] CLEAR: write 1 to zero every event counter (reads 0)
0x10   STATUS         RO   [0] BUSY: an operation in flight, a translation outstanding or an
                           output not yet taken
0x14   ENTRIES        RO   valid entries (4 KiB and 2 MiB), not cleared by CTRL.CLEAR
0x18   LOOKUPS        RO   requests
0x1C   HITS           RO   requests answered from the arrays
0x20   MISSES         RO   requests that waited for a translation
0x24   MERGED         RO   ... of which joined one already requested
0x28   TREQS          RO   Translation Requests sent (re-requests included)
0x2C   FILLS          RO   completions that wrote an entry
0x30   INVALIDATIONS  RO   Invalidate Requests
0x34   FAULTS         RO   responses with a status other than OK
====== ============== ==== ================================================================

The event counters are ``AtcCounters``' fields (modulo 2**32: they wrap).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from ..csrmap import counter_values as csr_counter_values
from ..csrmap import field_accessors
from .atc import LARGE_BITS, Atc, AtcCounters

ATC_ID = 0x41540001
CSR_ADDR_WIDTH = 8
CSR_DATA_WIDTH = 32
COUNTER_WIDTH = 32
ITAG_WIDTH = 5  # an Invalidate Request's ITag (32 invalidations outstanding at most)
MAX_ENTRIES = 1 << 10
MAX_WAYS = 64
MAX_LARGE_ENTRIES = 64
MAX_MSHRS = 16
MAX_WAITERS = 16
MAX_INV_DEPTH = 32  # the ATS capability's Invalidate Queue Depth (0 there means 32)
MAX_RSP_DEPTH = 256
MAX_TAG_WIDTH = 16
MAX_VPN_WIDTH = 52  # a 64-bit untranslated address, bits [63:12]
MAX_PPN_WIDTH = 40  # a 52-bit host physical address, bits [51:12]
MIN_PAGE_WIDTH = LARGE_BITS + 1  # a page number has at least one bit above the 2 MiB offset


class AtcCsr(IntEnum):
    """CSR byte addresses (see the module docstring for each register's meaning)."""

    ID = 0x00
    INFO = 0x04
    WIDTHS = 0x08
    CTRL = 0x0C
    STATUS = 0x10
    ENTRIES = 0x14
    LOOKUPS = 0x18
    HITS = 0x1C
    MISSES = 0x20
    MERGED = 0x24
    TREQS = 0x28
    FILLS = 0x2C
    INVALIDATIONS = 0x30
    FAULTS = 0x34


# Register fields as (lsb, width), rendered into the header as ATC_<REG>_<FIELD>_LSB/_WIDTH.
CSR_FIELDS: dict[str, dict[str, tuple[int, int]]] = {
    "INFO": {
        "ENTRIES_LOG2": (0, 4),
        "WAYS_LOG2": (4, 4),
        "LARGE_LOG2": (8, 4),
        "MSHRS": (12, 5),
        "WAITERS": (17, 5),
        "INV_DEPTH": (22, 6),
        "RSP_DEPTH_LOG2": (28, 4),
    },
    "WIDTHS": {"TAG_WIDTH": (0, 5), "VPN_WIDTH": (8, 6), "PPN_WIDTH": (16, 6)},
    "CTRL": {"CLEAR": (0, 1)},
    "STATUS": {"BUSY": (0, 1)},
}
# The event counters in CSR order, each named after its AtcCounters field.
COUNTERS = ("LOOKUPS", "HITS", "MISSES", "MERGED", "TREQS", "FILLS", "INVALIDATIONS", "FAULTS")


field_value, place_field = field_accessors(CSR_FIELDS)


def _power_of_two(value: int, low: int, high: int) -> bool:
    return low <= value <= high and not value & (value - 1)


def _log2(value: int) -> int:
    return value.bit_length() - 1


# RTL parameter name -> AtcParams field
RTL_NAMES = {
    "ENTRIES": "entries",
    "WAYS": "ways",
    "LARGE_ENTRIES": "large_entries",
    "MSHRS": "mshrs",
    "WAITERS": "waiters",
    "INV_DEPTH": "inv_depth",
    "RSP_DEPTH": "rsp_depth",
    "TAG_WIDTH": "tag_width",
    "VPN_WIDTH": "vpn_width",
    "PPN_WIDTH": "ppn_width",
}


@dataclass(frozen=True, slots=True)
class AtcParams:
    """The RTL parameters of one ATC (readable back from ``INFO`` and ``WIDTHS``)."""

    entries: int = 16
    ways: int = 4
    large_entries: int = 4
    mshrs: int = 4
    waiters: int = 4
    inv_depth: int = 4
    rsp_depth: int = 4
    tag_width: int = 8
    vpn_width: int = 36  # a 48-bit untranslated address
    ppn_width: int = 40

    def __post_init__(self) -> None:
        def need(ok: bool, what: str) -> None:
            if not ok:
                raise ValueError(f"ATC {what}")

        need(_power_of_two(self.entries, 1, MAX_ENTRIES), f"entries: power of two ≤ {MAX_ENTRIES}")
        need(
            _power_of_two(self.ways, 1, min(MAX_WAYS, self.entries)),
            f"ways: power of two ≤ min({MAX_WAYS}, entries)",
        )
        need(
            _power_of_two(self.large_entries, 1, MAX_LARGE_ENTRIES),
            f"large_entries: power of two ≤ {MAX_LARGE_ENTRIES}",
        )
        need(1 <= self.mshrs <= MAX_MSHRS, f"mshrs: 1..{MAX_MSHRS}")
        need(1 <= self.waiters <= MAX_WAITERS, f"waiters: 1..{MAX_WAITERS}")
        need(1 <= self.inv_depth <= MAX_INV_DEPTH, f"inv_depth: 1..{MAX_INV_DEPTH}")
        need(_power_of_two(self.rsp_depth, 2, MAX_RSP_DEPTH), "rsp_depth: power of two 2..256")
        need(1 <= self.tag_width <= MAX_TAG_WIDTH, f"tag_width: 1..{MAX_TAG_WIDTH}")
        low = max(MIN_PAGE_WIDTH, self.index_width + 1)
        need(low <= self.vpn_width <= MAX_VPN_WIDTH, f"vpn_width: {low}..{MAX_VPN_WIDTH}")
        need(MIN_PAGE_WIDTH <= self.ppn_width <= MAX_PPN_WIDTH, "ppn_width: 10..40")

    @property
    def sets(self) -> int:
        return self.entries // self.ways

    @property
    def index_width(self) -> int:
        return _log2(self.entries // self.ways)

    @property
    def mshr_tag_width(self) -> int:
        """Bits of a Translation Request's tag (an MSHR number)."""
        return max(1, (self.mshrs - 1).bit_length())

    def model(self) -> Atc:
        """A fresh model with this geometry (the RTL's state after reset)."""
        return Atc(self.entries, self.ways, self.large_entries, self.mshrs, self.waiters)

    def info(self) -> int:
        """The value of the ``INFO`` register."""
        return (
            place_field(_log2(self.entries), "INFO", "ENTRIES_LOG2")
            | place_field(_log2(self.ways), "INFO", "WAYS_LOG2")
            | place_field(_log2(self.large_entries), "INFO", "LARGE_LOG2")
            | place_field(self.mshrs, "INFO", "MSHRS")
            | place_field(self.waiters, "INFO", "WAITERS")
            | place_field(self.inv_depth, "INFO", "INV_DEPTH")
            | place_field(_log2(self.rsp_depth), "INFO", "RSP_DEPTH_LOG2")
        )

    def widths(self) -> int:
        """The value of the ``WIDTHS`` register."""
        return (
            place_field(self.tag_width, "WIDTHS", "TAG_WIDTH")
            | place_field(self.vpn_width, "WIDTHS", "VPN_WIDTH")
            | place_field(self.ppn_width, "WIDTHS", "PPN_WIDTH")
        )

    @classmethod
    def from_info(cls, info: int, widths: int) -> AtcParams:
        return cls(
            entries=1 << field_value(info, "INFO", "ENTRIES_LOG2"),
            ways=1 << field_value(info, "INFO", "WAYS_LOG2"),
            large_entries=1 << field_value(info, "INFO", "LARGE_LOG2"),
            mshrs=field_value(info, "INFO", "MSHRS"),
            waiters=field_value(info, "INFO", "WAITERS"),
            inv_depth=field_value(info, "INFO", "INV_DEPTH"),
            rsp_depth=1 << field_value(info, "INFO", "RSP_DEPTH_LOG2"),
            tag_width=field_value(widths, "WIDTHS", "TAG_WIDTH"),
            vpn_width=field_value(widths, "WIDTHS", "VPN_WIDTH"),
            ppn_width=field_value(widths, "WIDTHS", "PPN_WIDTH"),
        )

    @classmethod
    def from_rtl(cls, values: dict[str, int]) -> AtcParams:
        """From the RTL parameter names (``ENTRIES``, ``WAYS``, ...); absent ones default."""
        return cls(**{RTL_NAMES[name]: value for name, value in values.items()})


def counter_values(counters: AtcCounters) -> dict[str, int]:
    """The event counters as the CSRs show them (CSR names, modulo 2**32)."""
    return csr_counter_values(counters, COUNTERS, COUNTER_WIDTH)


def csr_read(atc: Atc, params: AtcParams, addr: int, busy: bool = False) -> int:
    """What a read of ``addr`` returns from an ATC in the state of ``atc``."""
    try:
        reg = AtcCsr(addr & ~0x3)
    except ValueError:
        return 0
    if reg is AtcCsr.ID:
        return ATC_ID
    if reg is AtcCsr.INFO:
        return params.info()
    if reg is AtcCsr.WIDTHS:
        return params.widths()
    if reg is AtcCsr.CTRL:
        return 0
    if reg is AtcCsr.STATUS:
        return place_field(int(busy), "STATUS", "BUSY")
    if reg is AtcCsr.ENTRIES:
        return len(atc.translations())
    return counter_values(atc.counters)[reg.name]


def csr_write(atc: Atc, addr: int, value: int) -> None:
    """A CSR write: ``CTRL.CLEAR`` zeroes the model's counters; the rest are read-only."""
    if addr & ~0x3 == AtcCsr.CTRL and field_value(value, "CTRL", "CLEAR"):
        atc.counters = AtcCounters()
