"""The snoop-filter RTL's parameters and CSR map (``rtl/coherence/snoop_filter.v``).

This module is the **one source of truth** for the CSR map: ``rtl/coherence/snoop_filter_csr.vh``
is generated from it (``python -m slugsim.coherence.header``; a test fails when the header is
stale), testbenches read the block's geometry back from ``INFO`` through ``SfParams.from_info``,
and ``csr_read`` / ``csr_write`` give what the registers hold for a ``SnoopFilter`` model in the
same state.

CSR map (byte addresses, 32-bit registers; unmapped addresses read 0 and ignore writes):

====== ============== ==== ================================================================
offset name           kind meaning
====== ============== ==== ================================================================
0x00   ID             RO   0x53460001 ("SF", version 1)
0x04   INFO           RO   [4:0] log2(SETS), [10:8] log2(WAYS), [22:16] SHARER_WIDTH,
                           [30:24] ADDR_WIDTH
0x08   CTRL           RW   [0] CLEAR: write 1 to zero every event counter (reads 0)
0x0C   STATUS         RO   [0] BUSY: a request in flight or a response / victim not yet taken
0x10   ENTRIES        RO   valid entries (lines tracked), not cleared by CTRL.CLEAR
0x14   LOOKUPS        RO   LOOKUP requests
0x18   HITS           RO   LOOKUPs that found the line
0x1C   MISSES         RO   LOOKUPs that did not
0x20   ALLOCATIONS    RO   ALLOCATEs that took a way (the line was absent)
0x24   VICTIMS        RO   ALLOCATEs that replaced a valid entry (one victim each)
0x28   DEALLOCATIONS  RO   entries freed by DEALLOCATE or by UPDATE to an empty vector
====== ============== ==== ================================================================

The event counters are ``SfCounters``' fields (modulo 2**32: they wrap).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from ..csrmap import counter_values as csr_counter_values
from ..csrmap import field_accessors
from .snoop_filter import SfCounters, SnoopFilter

SF_ID = 0x53460001
CSR_ADDR_WIDTH = 8
CSR_DATA_WIDTH = 32
COUNTER_WIDTH = 32
LINE_ADDR_WIDTH = 46  # a CXL.cache line address, Addr[51:6] (CXL_REFERENCE.md §1.2)
MAX_SETS = 1 << 16
MAX_WAYS = 64
MAX_SHARER_WIDTH = 64
MAX_ADDR_WIDTH = 64


class SfCsr(IntEnum):
    """CSR byte addresses (see the module docstring for each register's meaning)."""

    ID = 0x00
    INFO = 0x04
    CTRL = 0x08
    STATUS = 0x0C
    ENTRIES = 0x10
    LOOKUPS = 0x14
    HITS = 0x18
    MISSES = 0x1C
    ALLOCATIONS = 0x20
    VICTIMS = 0x24
    DEALLOCATIONS = 0x28


# Register fields as (lsb, width), rendered into the header as SF_<REG>_<FIELD>_LSB/_WIDTH.
CSR_FIELDS: dict[str, dict[str, tuple[int, int]]] = {
    "INFO": {
        "SETS_LOG2": (0, 5),
        "WAYS_LOG2": (8, 3),
        "SHARER_WIDTH": (16, 7),
        "ADDR_WIDTH": (24, 7),
    },
    "CTRL": {"CLEAR": (0, 1)},
    "STATUS": {"BUSY": (0, 1)},
}
# The event counters in CSR order, each named after its SfCounters field.
COUNTERS = ("LOOKUPS", "HITS", "MISSES", "ALLOCATIONS", "VICTIMS", "DEALLOCATIONS")


field_value, place_field = field_accessors(CSR_FIELDS)


def _power_of_two(value: int) -> bool:
    return value >= 1 and not value & (value - 1)


@dataclass(frozen=True, slots=True)
class SfParams:
    """The RTL parameters of one snoop filter (readable back from its ``INFO``)."""

    sets: int = 4
    ways: int = 4
    sharer_width: int = 4
    addr_width: int = LINE_ADDR_WIDTH

    def __post_init__(self) -> None:
        if not _power_of_two(self.sets) or self.sets > MAX_SETS:
            raise ValueError(f"SF sets must be a power of two in 1..{MAX_SETS}, not {self.sets}")
        if not _power_of_two(self.ways) or self.ways > MAX_WAYS:
            raise ValueError(f"SF ways must be a power of two in 1..{MAX_WAYS}, not {self.ways}")
        if not 1 <= self.sharer_width <= MAX_SHARER_WIDTH:
            raise ValueError(
                f"SF sharer_width must be in 1..{MAX_SHARER_WIDTH}, not {self.sharer_width}"
            )
        if not self.index_width < self.addr_width <= MAX_ADDR_WIDTH:
            raise ValueError(
                f"SF addr_width must be in {self.index_width + 1}..{MAX_ADDR_WIDTH} (a tag bit "
                f"above the {self.index_width} index bits), not {self.addr_width}"
            )

    @property
    def index_width(self) -> int:
        return self.sets.bit_length() - 1

    @property
    def entries(self) -> int:
        return self.sets * self.ways

    def model(self) -> SnoopFilter:
        """A fresh model with this geometry (the RTL's state after reset)."""
        return SnoopFilter(self.sets, self.ways, self.sharer_width)

    def info(self) -> int:
        """The value of the ``INFO`` register."""
        return (
            place_field(self.index_width, "INFO", "SETS_LOG2")
            | place_field(self.ways.bit_length() - 1, "INFO", "WAYS_LOG2")
            | place_field(self.sharer_width, "INFO", "SHARER_WIDTH")
            | place_field(self.addr_width, "INFO", "ADDR_WIDTH")
        )

    @classmethod
    def from_info(cls, info: int) -> SfParams:
        return cls(
            sets=1 << field_value(info, "INFO", "SETS_LOG2"),
            ways=1 << field_value(info, "INFO", "WAYS_LOG2"),
            sharer_width=field_value(info, "INFO", "SHARER_WIDTH"),
            addr_width=field_value(info, "INFO", "ADDR_WIDTH"),
        )

    @classmethod
    def from_rtl(cls, values: dict[str, int]) -> SfParams:
        """From the RTL parameter names (``SETS``, ``WAYS``, ``SHARER_WIDTH``, ``ADDR_WIDTH``)."""
        return cls(
            sets=values["SETS"],
            ways=values["WAYS"],
            sharer_width=values["SHARER_WIDTH"],
            addr_width=values.get("ADDR_WIDTH", LINE_ADDR_WIDTH),
        )


def counter_values(counters: SfCounters) -> dict[str, int]:
    """The event counters as the CSRs show them (CSR names, modulo 2**32)."""
    return csr_counter_values(counters, COUNTERS, COUNTER_WIDTH)


def csr_read(sf: SnoopFilter, params: SfParams, addr: int, busy: bool = False) -> int:
    """What a read of ``addr`` returns from a filter in the state of ``sf``."""
    try:
        reg = SfCsr(addr & ~0x3)
    except ValueError:
        return 0
    if reg is SfCsr.ID:
        return SF_ID
    if reg is SfCsr.INFO:
        return params.info()
    if reg is SfCsr.CTRL:
        return 0
    if reg is SfCsr.STATUS:
        return place_field(int(busy), "STATUS", "BUSY")
    if reg is SfCsr.ENTRIES:
        return len(sf.lines())
    return counter_values(sf.counters)[reg.name]


def csr_write(sf: SnoopFilter, addr: int, value: int) -> None:
    """A CSR write: ``CTRL.CLEAR`` zeroes the model's counters; the rest are read-only."""
    if addr & ~0x3 == SfCsr.CTRL and field_value(value, "CTRL", "CLEAR"):
        sf.counters = SfCounters()
