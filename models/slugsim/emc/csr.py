"""The EMC monitor's CSR map: register addresses, field placement and the ``INFO`` encoding.

This module is the **one source of truth** for the CSR map: ``rtl/emc/emc_monitor_csr.vh`` is
generated from it (``python -m slugsim.emc.header``; a test fails when the header is stale), the
model (``slugsim.emc.model``) decodes writes with it, and testbenches read the block's sizes back
from ``INFO`` through ``EmcParams.from_info``.

CSR map (byte addresses, 32-bit registers; unmapped addresses read 0 and ignore writes):

====== ============== ==== ================================================================
offset name           kind meaning
====== ============== ==== ================================================================
0x00   ID             RO   0x454D4301 ("EMC", version 1)
0x04   INFO           RO   [3:0] CHANNEL, [4] DIRECTION, [15:8] PORT, [21:16] TS_WIDTH,
                           [26:22] log2(FIFO_DEPTH)
0x08   CTRL           RW   [0] ENABLE (reset 0); [1] CLEAR: write 1 to zero every counter and
                           the sampling phase (reads 0)
0x0C   STATUS         RO   [15:0] FIFO occupancy, [16] FIFO full, [17] enabled
0x10   ADDR_BASE_LO   RW   address window base, byte address bits [31:6] in [31:6] (reset 0)
0x14   ADDR_BASE_HI   RW   base bits [51:32] in [19:0] (reset 0)
0x18   ADDR_LIMIT_LO  RW   window limit (inclusive) bits [31:6] in [31:6] (reset all ones)
0x1C   ADDR_LIMIT_HI  RW   limit bits [51:32] in [19:0] (reset 0xFFFFF)
0x20   OPCODE_MASK    RW   bit i lets opcode i through (reset 0xFFFFFFFF)
0x24   SAMPLE_PERIOD  RW   record 1 in N messages that pass the filter (reset 1)
0x28   SEEN           RO   messages seen while enabled
0x2C   RECORDED       RO   records written into the FIFO
0x30   DROPPED        RO   records lost because the FIFO was full
0x34   FILTERED       RO   messages outside the address window or opcode mask
0x38   SKIPPED        RO   messages passed over by 1-in-N sampling
0x3C   TIME_LO        RO   timestamp counter bits [31:0]
0x40   TIME_HI        RO   timestamp counter bits [47:32] in [15:0]
====== ============== ==== ================================================================
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from slugsim.cxl import Channel, Direction, EmcRecord, recordable_types

from ..csrmap import field_accessors

EMC_ID = 0x454D4301
CSR_ADDR_WIDTH = 8
CSR_DATA_WIDTH = 32
COUNTER_WIDTH = 32
TS_MAX_WIDTH = EmcRecord.FIELDS[0].width  # 48
ADDR_MAX = 1 << 52
# The channels a monitor can tap: the RTL selects their fields from the same list
# (rtl/include/cxl_channel_fields.vh).
RECORDABLE = frozenset(cls.CHANNEL for cls in recordable_types())


class EmcCsr(IntEnum):
    """CSR byte addresses (see the module docstring for each register's meaning)."""

    ID = 0x00
    INFO = 0x04
    CTRL = 0x08
    STATUS = 0x0C
    ADDR_BASE_LO = 0x10
    ADDR_BASE_HI = 0x14
    ADDR_LIMIT_LO = 0x18
    ADDR_LIMIT_HI = 0x1C
    OPCODE_MASK = 0x20
    SAMPLE_PERIOD = 0x24
    SEEN = 0x28
    RECORDED = 0x2C
    DROPPED = 0x30
    FILTERED = 0x34
    SKIPPED = 0x38
    TIME_LO = 0x3C
    TIME_HI = 0x40


# Register fields as (lsb, width), rendered into the header as EMC_<REG>_<FIELD>_LSB/_WIDTH.
CSR_FIELDS: dict[str, dict[str, tuple[int, int]]] = {
    "INFO": {
        "CHANNEL": (0, 4),
        "DIRECTION": (4, 1),
        "PORT": (8, 8),
        "TS_WIDTH": (16, 6),
        "FIFO_DEPTH_LOG2": (22, 5),
    },
    "CTRL": {"ENABLE": (0, 1), "CLEAR": (1, 1)},
    "STATUS": {"FIFO_COUNT": (0, 16), "FIFO_FULL": (16, 1), "ENABLED": (17, 1)},
}
# The event counters, in CSR order; SEEN == RECORDED + DROPPED + FILTERED + SKIPPED (mod 2**32).
COUNTERS = ("SEEN", "RECORDED", "DROPPED", "FILTERED", "SKIPPED")


field_value, place_field = field_accessors(CSR_FIELDS)


@dataclass(frozen=True, slots=True)
class EmcParams:
    """The RTL parameters of one EMC monitor instance (readable back from its ``INFO``)."""

    channel: Channel = Channel.M2S_REQ
    direction: Direction = Direction.INGRESS
    port: int = 0
    ts_width: int = 48
    fifo_depth: int = 16

    def __post_init__(self) -> None:
        object.__setattr__(self, "channel", Channel(self.channel))
        object.__setattr__(self, "direction", Direction(self.direction))
        if self.channel not in RECORDABLE:
            names = ", ".join(sorted(c.name for c in RECORDABLE))
            raise ValueError(
                f"an EMC cannot record {self.channel.name} (no opcode or tag, or fields wider "
                f"than its record); it records {names}"
            )
        if not 0 <= self.port < 256:
            raise ValueError(f"EMC port must be in 0..255, got {self.port}")
        if not 1 <= self.ts_width <= TS_MAX_WIDTH:
            raise ValueError(f"EMC ts_width must be in 1..{TS_MAX_WIDTH}, got {self.ts_width}")
        depth = self.fifo_depth
        if depth < 2 or depth > 32768 or depth & (depth - 1):
            raise ValueError(f"EMC fifo_depth must be a power of two in 2..32768, got {depth}")

    def info(self) -> int:
        """The value of the ``INFO`` register."""
        return (
            place_field(int(self.channel), "INFO", "CHANNEL")
            | place_field(int(self.direction), "INFO", "DIRECTION")
            | place_field(self.port, "INFO", "PORT")
            | place_field(self.ts_width, "INFO", "TS_WIDTH")
            | place_field(self.fifo_depth.bit_length() - 1, "INFO", "FIFO_DEPTH_LOG2")
        )

    @classmethod
    def from_info(cls, info: int) -> EmcParams:
        return cls(
            channel=Channel(field_value(info, "INFO", "CHANNEL")),
            direction=Direction(field_value(info, "INFO", "DIRECTION")),
            port=field_value(info, "INFO", "PORT"),
            ts_width=field_value(info, "INFO", "TS_WIDTH"),
            fifo_depth=1 << field_value(info, "INFO", "FIFO_DEPTH_LOG2"),
        )
