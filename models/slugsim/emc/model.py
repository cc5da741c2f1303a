"""Transaction-level model of the EMC monitor (``rtl/emc/emc_monitor.v``), and its CSR map.

The model behaves like the RTL one message at a time: it is the cocotb scoreboard of the RTL,
and the EMC of a Python endpoint model. This module is the **one source of truth** for the CSR
map: ``rtl/emc/emc_monitor_csr.vh`` is generated from it (``python -m slugsim.emc.model``; a test
fails when the header is stale), and testbenches read the block's sizes back from ``INFO``.

What the monitor does with each message it sees on the tapped stream (a valid/ready handshake):

1. nothing at all while ``CTRL.ENABLE`` is 0;
2. ``SEEN`` += 1;
3. *filter*: the record's line address must lie in ``[ADDR_BASE, ADDR_LIMIT]`` (both inclusive,
   compared at 64-byte line granularity; a message without an address has address 0) and bit
   ``opcode`` of ``OPCODE_MASK`` must be set (a message without an opcode has opcode 0),
   else ``FILTERED`` += 1;
4. *sample* 1-in-N (PEBS-like): a phase counter starts at 0; a message that passes the filter is
   recorded when the phase is 0 (the phase then reloads to ``SAMPLE_PERIOD`` - 1), else it is
   skipped (``SKIPPED`` += 1, phase -= 1). ``SAMPLE_PERIOD`` 0 and 1 both record every message.
   Writing ``SAMPLE_PERIOD`` or ``CTRL.CLEAR`` sets the phase back to 0;
5. the record (``EmcRecord``: timestamp, channel, opcode, direction, tag, line address, port)
   goes into a ``FIFO_DEPTH``-entry FIFO (``RECORDED`` += 1), or, when the FIFO is full, is
   dropped and counted (``DROPPED`` += 1).

So ``SEEN == RECORDED + DROPPED + FILTERED + SKIPPED`` always (modulo 2**32: counters wrap).
The timestamp is a free-running ``TS_WIDTH``-bit cycle counter, zero after reset, zero-extended
to the record's 48 bits. ``channel``, ``direction`` and ``port`` are RTL parameters.

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

Timing (what the cocotb scoreboard relies on): a message handshaken at clock edge *t* is
governed by every CSR write accepted at an edge <= *t*; its record enters the FIFO at edge
*t* + 1, before a record leaves the FIFO at that same edge.
"""

from __future__ import annotations

import argparse
import sys
from collections import deque
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path

from slugsim.cxl import Channel, Direction, EmcRecord, Message, recordable_types

HEADER_PATH = Path(__file__).resolve().parents[3] / "rtl" / "emc" / "emc_monitor_csr.vh"

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
COUNTERS = ("SEEN", "RECORDED", "DROPPED", "FILTERED", "SKIPPED")

_MASK32 = (1 << 32) - 1
_LINE_LO_MASK = _MASK32 & ~0x3F  # ADDR_*_LO holds byte-address bits [31:6]
_HI_MASK = (1 << 20) - 1  # ADDR_*_HI holds bits [51:32]


def _field(value: int, reg: str, name: str) -> int:
    lsb, width = CSR_FIELDS[reg][name]
    return (value >> lsb) & ((1 << width) - 1)


def _place(value: int, reg: str, name: str) -> int:
    lsb, width = CSR_FIELDS[reg][name]
    if not 0 <= value < 1 << width:
        raise ValueError(f"{reg}.{name}={value} does not fit in {width} bits")
    return value << lsb


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
            _place(int(self.channel), "INFO", "CHANNEL")
            | _place(int(self.direction), "INFO", "DIRECTION")
            | _place(self.port, "INFO", "PORT")
            | _place(self.ts_width, "INFO", "TS_WIDTH")
            | _place(self.fifo_depth.bit_length() - 1, "INFO", "FIFO_DEPTH_LOG2")
        )

    @classmethod
    def from_info(cls, info: int) -> EmcParams:
        return cls(
            channel=Channel(_field(info, "INFO", "CHANNEL")),
            direction=Direction(_field(info, "INFO", "DIRECTION")),
            port=_field(info, "INFO", "PORT"),
            ts_width=_field(info, "INFO", "TS_WIDTH"),
            fifo_depth=1 << _field(info, "INFO", "FIFO_DEPTH_LOG2"),
        )


class EmcMonitorModel:
    """One EMC monitor: CSRs, filter, 1-in-N sampler, record FIFO and counters.

    ``observe(msg, cycle)`` is one handshake on the tapped stream at timestamp-counter value
    ``cycle``; ``pop()`` is one record taken from the output stream.
    """

    def __init__(self, params: EmcParams | None = None) -> None:
        self.params = params or EmcParams()
        self.fifo: deque[EmcRecord] = deque()
        self.reset()

    # -- state ---------------------------------------------------------------------------

    def reset(self) -> None:
        """The state after ``rst``: disabled, filters open, counters and FIFO empty."""
        self.enable = False
        self.addr_base = 0
        self.addr_limit = ADDR_MAX - 1
        self.opcode_mask = _MASK32
        self.sample_period = 1
        self.phase = 0
        self.fifo.clear()
        self.counters = dict.fromkeys(COUNTERS, 0)

    def _count(self, name: str) -> None:
        self.counters[name] = (self.counters[name] + 1) & ((1 << COUNTER_WIDTH) - 1)

    def clear(self) -> None:
        """What a write of ``CTRL.CLEAR`` does: counters and sampling phase to zero."""
        self.counters = dict.fromkeys(COUNTERS, 0)
        self.phase = 0

    @property
    def invariant_holds(self) -> bool:
        c = self.counters
        total = c["RECORDED"] + c["DROPPED"] + c["FILTERED"] + c["SKIPPED"]
        return c["SEEN"] == total & ((1 << COUNTER_WIDTH) - 1)

    # -- CSR port ------------------------------------------------------------------------

    def csr_write(self, addr: int, value: int) -> None:
        if not 0 <= value <= _MASK32:
            raise ValueError(f"CSR write data must be a 32-bit unsigned int, got {value!r}")
        addr &= ~0x3  # byte address: the low two bits are ignored, as in the RTL
        if addr == EmcCsr.CTRL:
            self.enable = bool(_field(value, "CTRL", "ENABLE"))
            if _field(value, "CTRL", "CLEAR"):
                self.clear()
        elif addr == EmcCsr.ADDR_BASE_LO:
            self.addr_base = (self.addr_base & ~_MASK32) | (value & _LINE_LO_MASK)
        elif addr == EmcCsr.ADDR_BASE_HI:
            self.addr_base = (self.addr_base & _MASK32) | ((value & _HI_MASK) << 32)
        elif addr == EmcCsr.ADDR_LIMIT_LO:
            self.addr_limit = (self.addr_limit & ~_MASK32) | (value & _LINE_LO_MASK)
        elif addr == EmcCsr.ADDR_LIMIT_HI:
            self.addr_limit = (self.addr_limit & _MASK32) | ((value & _HI_MASK) << 32)
        elif addr == EmcCsr.OPCODE_MASK:
            self.opcode_mask = value
        elif addr == EmcCsr.SAMPLE_PERIOD:
            self.sample_period = value
            self.phase = 0

    def csr_read(self, addr: int, cycle: int = 0) -> int:
        """The value a read returns; ``cycle`` is the timestamp counter for ``TIME_*``."""
        addr &= ~0x3
        now = cycle & ((1 << self.params.ts_width) - 1)
        values = {
            EmcCsr.ID: EMC_ID,
            EmcCsr.INFO: self.params.info(),
            EmcCsr.CTRL: int(self.enable),
            EmcCsr.STATUS: _place(len(self.fifo), "STATUS", "FIFO_COUNT")
            | _place(int(self.fifo_full), "STATUS", "FIFO_FULL")
            | _place(int(self.enable), "STATUS", "ENABLED"),
            EmcCsr.ADDR_BASE_LO: self.addr_base & _LINE_LO_MASK,
            EmcCsr.ADDR_BASE_HI: self.addr_base >> 32,
            EmcCsr.ADDR_LIMIT_LO: self.addr_limit & _LINE_LO_MASK,
            EmcCsr.ADDR_LIMIT_HI: self.addr_limit >> 32,
            EmcCsr.OPCODE_MASK: self.opcode_mask,
            EmcCsr.SAMPLE_PERIOD: self.sample_period,
            EmcCsr.TIME_LO: now & _MASK32,
            EmcCsr.TIME_HI: now >> 32,
        }
        values.update({EmcCsr[name]: value for name, value in self.counters.items()})
        return values.get(addr, 0)  # type: ignore[call-overload]

    # -- the tapped stream and the record stream -----------------------------------------

    @property
    def fifo_full(self) -> bool:
        return len(self.fifo) >= self.params.fifo_depth

    def record_of(self, msg: Message, cycle: int) -> EmcRecord:
        """The record the monitor makes of ``msg`` seen at timestamp-counter value ``cycle``."""
        if self.params.channel != msg.CHANNEL:
            raise ValueError(
                f"this EMC taps {self.params.channel.name}, got a {type(msg).__name__}"
            )
        stamp = cycle & ((1 << self.params.ts_width) - 1)
        return EmcRecord.of(msg, stamp, self.params.direction, self.params.port)

    def observe(self, msg: Message, cycle: int) -> EmcRecord | None:
        """One handshake of ``msg``; returns the record put into the FIFO, if any."""
        record = self.record_of(msg, cycle)
        if not self.enable:
            return None
        self._count("SEEN")
        line = record.addr >> 6
        in_window = self.addr_base >> 6 <= line <= self.addr_limit >> 6
        if not in_window or not self.opcode_mask >> record.opcode & 1:
            self._count("FILTERED")
            return None
        if self.phase:
            self.phase -= 1
            self._count("SKIPPED")
            return None
        self.phase = max(self.sample_period, 1) - 1
        if self.fifo_full:
            self._count("DROPPED")
            return None
        self._count("RECORDED")
        self.fifo.append(record)
        return record

    def pop(self) -> EmcRecord:
        """The output stream takes the oldest record."""
        if not self.fifo:
            raise IndexError("EMC record FIFO is empty")
        return self.fifo.popleft()


# -- the generated Verilog header ---------------------------------------------------------------


def render_csr_header() -> str:
    out = [
        "// Generated by `python -m slugsim.emc.model` from models/slugsim/emc/model.py. Do not",
        "// edit: change the Python CSR map and regenerate (a test fails when this file is stale).",
        "// Include inside a module body; every name is a localparam of the including module.",
        "/* verilator lint_off UNUSEDPARAM */",
        f"localparam integer EMC_CSR_ADDR_WIDTH = {CSR_ADDR_WIDTH};",
        f"localparam integer EMC_CSR_DATA_WIDTH = {CSR_DATA_WIDTH};",
        f"localparam integer EMC_COUNTER_WIDTH = {COUNTER_WIDTH};",
        f"localparam [31:0] EMC_ID_VALUE = 32'h{EMC_ID:08X};",
    ]
    for reg in EmcCsr:
        width = CSR_ADDR_WIDTH
        out.append(f"localparam [{width - 1}:0] EMC_CSR_{reg.name} = {width}'h{reg.value:02X};")
    for reg, fields in CSR_FIELDS.items():
        for name, (lsb, width) in fields.items():
            out.append(f"localparam integer EMC_{reg}_{name}_LSB = {lsb};")
            out.append(f"localparam integer EMC_{reg}_{name}_WIDTH = {width};")
    out.append("/* verilator lint_on UNUSEDPARAM */")
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Generate rtl/emc/emc_monitor_csr.vh")
    parser.add_argument("--check", action="store_true", help="only compare; exit 1 when stale")
    args = parser.parse_args(argv)
    text = render_csr_header()
    if args.check:
        if not HEADER_PATH.exists() or HEADER_PATH.read_text() != text:
            print(f"{HEADER_PATH} is stale: run `python -m slugsim.emc.model`", file=sys.stderr)
            return 1
        return 0
    HEADER_PATH.write_text(text)
    print(f"wrote {HEADER_PATH}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
