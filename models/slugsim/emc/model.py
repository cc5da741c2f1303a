"""Transaction-level model of the EMC monitor (``rtl/emc/emc_monitor.v``).

The model behaves like the RTL one message at a time: it is the cocotb scoreboard of the RTL,
and, through ``EmcProbe`` (``slugsim.emc.probe``), the EMC on a port of the Python simulator.
Its registers are those of the CSR map in ``slugsim.emc.csr``.

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
to the record's 48 bits. ``channel``, ``direction`` and ``port`` are RTL parameters; a model
built with ``taps_every_channel=True`` (the EMC on a simulator port) records every recordable
channel and takes the direction and port with each message.

Timing (what the cocotb scoreboard relies on): a message handshaken at clock edge *t* is
governed by every CSR write accepted at an edge <= *t*; its record enters the FIFO at edge
*t* + 1, before a record leaves the FIFO at that same edge.
"""

from __future__ import annotations

from collections import deque

from slugsim.cxl import Direction, EmcRecord, Message, recordable_types

from .csr import (
    ADDR_MAX,
    COUNTER_WIDTH,
    COUNTERS,
    EMC_ID,
    EmcCsr,
    EmcParams,
    field_value,
    place_field,
)

_MASK32 = (1 << 32) - 1
_LINE_LO_MASK = _MASK32 & ~0x3F  # ADDR_*_LO holds byte-address bits [31:6]
_HI_MASK = (1 << 20) - 1  # ADDR_*_HI holds bits [51:32]
_RECORDABLE_TYPES = frozenset(recordable_types())


class EmcMonitorModel:
    """One EMC monitor: CSRs, filter, 1-in-N sampler, record FIFO and counters.

    ``observe(msg, cycle)`` is one handshake on the tapped stream at timestamp-counter value
    ``cycle``; ``pop()`` is one record taken from the output stream.
    """

    def __init__(
        self, params: EmcParams | None = None, *, taps_every_channel: bool = False
    ) -> None:
        self.params = params or EmcParams()
        # The RTL monitor taps one stream: params.channel in params.direction. A model on a
        # simulator port (EmcProbe) sees every channel crossing it, both ways, and records every
        # one an EMC can record; its records then carry the direction and port they were seen at.
        self.taps_every_channel = taps_every_channel
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
            self.enable = bool(field_value(value, "CTRL", "ENABLE"))
            if field_value(value, "CTRL", "CLEAR"):
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
            EmcCsr.STATUS: place_field(len(self.fifo), "STATUS", "FIFO_COUNT")
            | place_field(int(self.fifo_full), "STATUS", "FIFO_FULL")
            | place_field(int(self.enable), "STATUS", "ENABLED"),
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

    @staticmethod
    def can_record(msg: Message) -> bool:
        """Whether an EMC can record ``msg`` at all (``slugsim.cxl.recordable_types``)."""
        return type(msg) in _RECORDABLE_TYPES

    def taps(self, msg: Message, direction: Direction) -> bool:
        """Whether this monitor sees ``msg`` crossing its port in ``direction``."""
        if self.taps_every_channel:
            return self.can_record(msg)
        return self.params.channel == msg.CHANNEL and direction == self.params.direction

    def record_of(
        self,
        msg: Message,
        cycle: int,
        direction: Direction | None = None,
        port: int | None = None,
    ) -> EmcRecord:
        """The record the monitor makes of ``msg`` seen at timestamp-counter value ``cycle``;
        ``direction`` and ``port`` default to the RTL parameters."""
        if not self.taps_every_channel and self.params.channel != msg.CHANNEL:
            raise ValueError(
                f"this EMC taps {self.params.channel.name}, got a {type(msg).__name__}"
            )
        if not self.can_record(msg):
            raise ValueError(f"an EMC cannot record a {type(msg).__name__}")
        stamp = cycle & ((1 << self.params.ts_width) - 1)
        return EmcRecord.of(
            msg,
            stamp,
            self.params.direction if direction is None else direction,
            self.params.port if port is None else port,
        )

    def observe(
        self,
        msg: Message,
        cycle: int,
        direction: Direction | None = None,
        port: int | None = None,
    ) -> EmcRecord | None:
        """One handshake of ``msg``; returns the record put into the FIFO, if any.

        ``direction`` and ``port`` (default: the RTL parameters) are where it was seen."""
        record = self.record_of(msg, cycle, direction, port)
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
