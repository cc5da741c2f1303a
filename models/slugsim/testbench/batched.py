"""Batched cocotb bus models: Python wakes once per batch of beats, not once per beat.

They drive and read the HDL helpers of ``rtl/tb/``: ``tb_stream_player`` plays a batch of
beats loaded in one write of a wide vector, with per-beat idle gaps; ``tb_stream_recorder``
records every handshake of a stream with the cycle it happened at and hands them over a batch
at a time (optionally driving ``ready`` from an LFSR back-pressure pattern). A wrapper names
each helper instance like the prefix of the control ports it exposes, and the classes here bind
by that prefix: the narrow control signals are ports, the wide batch registers are read and
written through the instance (hierarchical VPI access), because Verilator copies a wide port on
every evaluation, which costs more per cycle than the whole EMC:

- ``BatchSource(dut, "src", clock, M2SReq)``: ports ``<p>_load_count``, ``<p>_load_go``,
  ``<p>_load_done``; registers ``<p>.bank0_data_reg`` ... ``<p>.bank1_gap_reg``;
- ``BatchMonitor(dut, "mem", clock, M2SReq)``: ports ``<p>_batch_count``, ``<p>_batch_seq``,
  ``<p>_flush``; registers ``<p>.buf0_reg``, ``<p>.buf1_reg``; ``BatchSink`` also the ports
  ``<p>_bp_seed``, ``<p>_bp_thresh``.

Under Verilator a VPI read returns at most ``VL_VALUE_STRING_MAX_WORDS`` 32-bit words and
truncates the rest: build with ``-CFLAGS -DVL_VALUE_STRING_MAX_WORDS=<n>`` (see
``slugsim.testbench.blocks.EMC_MONITOR_BATCHED``).

Same queue API as ``slugsim.testbench.stream``: ``send``/``send_nowait``, ``recv``/``recv_nowait``,
``idle()``/``wait()``, ``count``. Beats come back as ``Stamped(value, cycle)``: the cycle is the
0-based rising edge that took the beat (the wrapper's free-running ``cycle`` counter), which is
exact enough for a cycle-accurate scoreboard. Payloads are ``slugsim.cxl`` messages (or plain
ints with ``payload=None``); received words are unpacked lazily, when a consumer takes them.

Wake-ups per batch: a source wakes when a bank has been played out and once more at the edge
that takes the next load; a monitor wakes when its recorder closes a batch (full, or flushed).
Each signal a model sleeps on costs a VPI value-change callback, which the simulator checks
several times per time step whether it fires or not: when the wrapper has a ``batch_wake``
output that changes whenever any helper's counter does (a concatenation of them), every model
sleeps on that one signal instead (one callback in all) and checks its own counter on waking.
A reset of the wrapper discards what its helpers hold: reset only while they are idle, then
call ``resync()`` on each model (the helpers start again from bank/buffer 0).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from typing import Any, NamedTuple

import cocotb
from cocotb.handle import SimHandleBase
from cocotb.triggers import Edge, Event, FallingEdge, First, RisingEdge

from slugsim.cxl import Message

_XZ_TO_0 = str.maketrans("xXzZuUwW-", "000000000")


class Stamped(NamedTuple):
    """One transfer: its payload and the 0-based clock edge (cycle) that took it."""

    value: Any
    cycle: int


def read_int(handle: SimHandleBase) -> int:
    """A (possibly very wide) signal as an int, X/Z bits read as 0."""
    value = handle.value
    if value.is_resolvable:
        return int(value)
    return int(value.binstr.translate(_XZ_TO_0), 2)


def read_binstr(handle: SimHandleBase) -> str:
    """A signal's bits as a string, MSB first, straight from the simulator (no BinaryValue:
    building one costs ~100 us for a 40,000-bit signal)."""
    gpi = getattr(handle, "_handle", None)
    if gpi is not None and hasattr(gpi, "get_signal_val_binstr"):
        return str(gpi.get_signal_val_binstr())
    return str(handle.value.binstr)


def _signal(dut: Any, prefix: str, name: str, required: bool = True, instance: bool = False) -> Any:
    full = prefix if instance else f"{prefix}_{name}"
    if hasattr(dut, full):
        return getattr(dut, full)
    if required:
        raise ValueError(f"{dut._name} has no signal {full}")
    return None


def _wake_signal(dut: Any, own: SimHandleBase) -> SimHandleBase:
    """The signal a model sleeps on: the wrapper's shared ``batch_wake`` if any, else its own."""
    wake = getattr(dut, "batch_wake", None) if hasattr(dut, "batch_wake") else None
    return wake if wake is not None else own


def _data_width(payload: type | None, data_width: int | None) -> int:
    if payload is not None:
        if not (isinstance(payload, type) and issubclass(payload, Message)):
            raise ValueError(f"payload must be a slugsim.cxl Message subclass, not {payload}")
        if data_width is not None and data_width != payload.WIDTH:
            raise ValueError(f"data_width {data_width} != {payload.__name__}.WIDTH")
        return int(payload.WIDTH)
    if data_width is None or data_width < 1:
        raise ValueError("a plain-int stream needs data_width >= 1")
    return data_width


class BatchSource:
    """Drives a ``tb_stream_player``: queued beats go out DEPTH at a time, two banks in flight.

    ``idle`` yields how many idle cycles precede each beat (as ``StreamSource``'s does).
    """

    def __init__(
        self,
        dut: Any,
        prefix: str,
        clock: SimHandleBase,
        payload: type | None = None,
        idle: Iterator[int] | None = None,
        data_width: int | None = None,
        record: bool = False,
    ) -> None:
        self.prefix = prefix
        self.payload = payload
        self.width = _data_width(payload, data_width)
        self.load_count = _signal(dut, prefix, "load_count")
        self.go = _signal(dut, prefix, "load_go")
        self.done = _signal(dut, prefix, "load_done")
        player = _signal(dut, prefix, "", instance=True)
        self.banks = [
            (_signal(player, "bank0", "data_reg"), _signal(player, "bank0", "gap_reg")),
            (_signal(player, "bank1", "data_reg"), _signal(player, "bank1", "gap_reg")),
        ]
        data, gap = self.banks[0]
        if len(data) % self.width:
            raise ValueError(f"{prefix}.bank0_data_reg is not a whole number of {self.width} bits")
        self.depth = len(data) // self.width
        self.gap_width = len(gap) // self.depth
        if len(self.load_count) < self.depth.bit_length():
            raise ValueError(f"{prefix}_load_count cannot count to {self.depth}")
        self.idle_generator = idle
        self.record = record  # keep every sent value in ``sent``
        self.sent: list[Any] = []
        self.count = 0  # beats handed to the player
        self.batches = 0
        self._queue: deque[Any] = deque()
        self._has_items = Event()
        self._idle = Event()
        self._idle.set()
        self._go = 0
        self._bank = 0  # the bank the next load goes to
        self._done_seen = 0
        self._in_flight = 0  # banks loaded and not yet played out (0..2)
        self.go.setimmediatevalue(0)
        self.load_count.setimmediatevalue(0)
        self._edge = RisingEdge(clock)
        self._falling = FallingEdge(clock)
        self._wake = _wake_signal(dut, self.done)
        self._task = cocotb.start_soon(self._run())

    def set_idle_generator(self, idle: Iterator[int] | None) -> None:
        self.idle_generator = idle

    async def send(self, value: Any) -> None:
        self.send_nowait(value)

    def send_nowait(self, value: Any) -> None:
        if self.payload is not None and not isinstance(value, self.payload):
            raise ValueError(f"{self.prefix} carries {self.payload.__name__}, not {value!r}")
        self._queue.append(value)
        self._idle.clear()
        self._has_items.set()

    def idle(self) -> bool:
        """Nothing queued and every loaded beat accepted."""
        return not self._queue and not self._in_flight

    async def wait(self) -> None:
        while not self.idle():
            self._idle.clear()
            await self._idle.wait()

    def _load(self) -> None:
        n = min(len(self._queue), self.depth)
        queue, width, gap_width = self._queue, self.width, self.gap_width
        idle = self.idle_generator
        gap_max = (1 << gap_width) - 1
        data = 0
        gaps = 0
        values = [queue.popleft() for _ in range(n)]
        for i, value in enumerate(values):
            word = value.pack() if isinstance(value, Message) else int(value)
            data |= word << (i * width)
            if idle is not None:
                gap = next(idle)
                if not 0 <= gap <= gap_max:
                    raise ValueError(f"idle gap {gap} does not fit {gap_width} bits")
                gaps |= gap << (i * gap_width)
        if self.record:
            self.sent.extend(values)
        data_reg, gap_reg = self.banks[self._bank]
        self._bank ^= 1
        data_reg.value = data
        gap_reg.value = gaps
        self.load_count.value = n
        self._go ^= 1
        self.go.value = self._go
        self._in_flight += 1
        self.count += n
        self.batches += 1

    def resync(self) -> None:
        """After a reset of the player (taken while idle): bank 0 next, done count 0."""
        if not self.idle():
            raise RuntimeError(f"{self.prefix}: reset while beats were in flight")
        self._bank = 0
        self._done_seen = 0

    def _update_done(self) -> None:
        done = read_int(self.done)
        self._in_flight -= (done - self._done_seen) & 0xFF
        self._done_seen = done

    async def _run(self) -> None:
        done_edge = Edge(self._wake)
        while True:
            # read the counter before each wait: it may have moved while we waited for an edge
            self._update_done()
            if self._queue and self._in_flight < 2:
                # Load between edges: written in the wake-up's own time step, the bank reached
                # the player one edge earlier under one simulator than under the other, so the
                # same seed made different traffic under Verilator and Icarus.
                await self._falling
                self._update_done()
                self._load()
                await self._edge  # the player takes the load at this edge
                continue
            if not self._in_flight:
                self._idle.set()
                self._has_items.clear()
                await self._has_items.wait()
                continue
            if self._queue:
                await done_edge
            else:
                self._has_items.clear()
                await First(done_edge, self._has_items.wait())


class BatchMonitor:
    """Reads a ``tb_stream_recorder``: every handshake with its cycle, a batch per wake-up."""

    def __init__(
        self,
        dut: Any,
        prefix: str,
        clock: SimHandleBase,
        payload: type | None = None,
        data_width: int | None = None,
        time_width: int = 32,
    ) -> None:
        self.prefix = prefix
        self.payload = payload
        self.width = _data_width(payload, data_width)
        self.time_width = time_width
        self.batch_count = _signal(dut, prefix, "batch_count")
        self.seq = _signal(dut, prefix, "batch_seq")
        self.flush_signal = _signal(dut, prefix, "flush")
        recorder = _signal(dut, prefix, "", instance=True)
        self.buffers = [_signal(recorder, "buf0", "reg"), _signal(recorder, "buf1", "reg")]
        self.entry_width = time_width + self.width
        if len(self.buffers[0]) % self.entry_width:
            raise ValueError(
                f"{prefix}.buf0_reg is not a whole number of {self.entry_width}-bit entries"
            )
        self.depth = len(self.buffers[0]) // self.entry_width
        self.clock = clock
        self.count = 0  # beats recorded so far
        self.batches = 0
        self._raw: deque[tuple[int, int]] = deque()  # (word, cycle), unpacked on demand
        self._has_items = Event()
        self._got_batch = Event()
        self._seq = 0
        self._buffer = 0  # the recorder buffer the next batch closes in
        self._flush = 0
        self._cycle_hi = 0  # unwrapping the recorder's TIME_WIDTH-bit stamps
        self._last_cycle = 0
        self.flush_signal.setimmediatevalue(0)
        self._wake = _wake_signal(dut, self.seq)
        self._task = cocotb.start_soon(self._run())

    # -- queue API ----------------------------------------------------------------------

    def empty(self) -> bool:
        return not self._raw

    def __len__(self) -> int:
        return len(self._raw)

    def _decode(self, raw: tuple[int, int]) -> Stamped:
        word, cycle = raw
        return Stamped(self.payload.unpack(word) if self.payload is not None else word, cycle)

    def recv_nowait(self) -> Any:
        return self._decode(self._raw.popleft()).value

    def recv_stamped_nowait(self) -> Stamped:
        return self._decode(self._raw.popleft())

    async def recv(self) -> Any:
        return (await self.recv_stamped()).value

    async def recv_stamped(self) -> Stamped:
        """The next beat; flushes the recorder when nothing is buffered on the Python side."""
        while not self._raw:
            await self.flush()
            if not self._raw:
                self._has_items.clear()
                await self._has_items.wait()
        return self._decode(self._raw.popleft())

    def drain(self) -> list[Stamped]:
        """Every beat received so far, decoded, oldest first (and forgotten here)."""
        raw, self._raw = self._raw, deque()
        new = tuple.__new__
        if self.payload is None:
            return [new(Stamped, item) for item in raw]
        unpack = self.payload.unpack
        return [new(Stamped, (unpack(word), cycle)) for word, cycle in raw]

    def idle(self) -> bool:
        return True  # a recorder never holds anything back for long: see wait()

    async def wait(self) -> None:
        """Until everything recorded so far has reached Python (one flush)."""
        await self.flush()

    async def flush(self) -> None:
        """Close the recorder's current batch at the next edge and collect it."""
        target = self.batches + 1
        self._flush ^= 1
        self.flush_signal.value = self._flush
        while self.batches < target:
            self._got_batch.clear()
            await self._got_batch.wait()

    def resync(self) -> None:
        """After a reset of the recorder: buffer 0 next, batch_seq 0 (a partial batch is lost)."""
        self._seq = 0
        self._buffer = 0

    # -- the recorder side -------------------------------------------------------------------

    def _collect(self) -> None:
        seq = read_int(self.seq)
        if seq == self._seq:
            return  # X -> 0 at reset (Icarus): nothing closed
        if seq != (self._seq + 1) & 0xFFFF:
            raise RuntimeError(
                f"{self.prefix}: recorder batch {seq} after {self._seq}: a batch was missed"
            )
        self._seq = seq
        n = read_int(self.batch_count)
        closed = self.buffers[self._buffer]
        self._buffer ^= 1  # the recorder alternates, buffer 0 first
        if n:
            # slicing the bit string beats converting one huge int and shifting it
            bits = read_binstr(closed)
            top, entry_width, width = len(bits), self.entry_width, self.width
            time_wrap, mask = 1 << self.time_width, (1 << width) - 1
            hi, last = self._cycle_hi, self._last_cycle
            append = self._raw.append
            # one int() per entry (stamp and word together), newest entries at the top
            for end in range(top, top - n * entry_width, -entry_width):
                entry = bits[end - entry_width : end]
                try:
                    value = int(entry, 2)
                except ValueError:  # X/Z bits (Icarus, a beat with undriven payload bits)
                    value = int(entry.translate(_XZ_TO_0), 2)
                stamp = value >> width
                if stamp < last:
                    hi += time_wrap
                last = stamp
                append((value & mask, hi + stamp))
            self._cycle_hi, self._last_cycle = hi, last
            self.count += n
            self._has_items.set()
        self.batches += 1
        self._got_batch.set()

    async def _run(self) -> None:
        seq_edge = Edge(self._wake)
        while True:
            await seq_edge
            self._collect()


class BatchSink(BatchMonitor):
    """A ``BatchMonitor`` whose recorder also drives ``ready`` from its LFSR pattern.

    ``seed`` loads the LFSR at the next reset; ``set_back_pressure(p)`` pauses about a fraction
    ``p`` of the cycles (0: always ready), at once. The other arguments are ``BatchMonitor``'s.
    """

    def __init__(
        self,
        dut: Any,
        prefix: str,
        *args: Any,
        seed: int = 1,
        pause: float = 0.0,
        **kwargs: Any,
    ) -> None:
        self.bp_seed = _signal(dut, prefix, "bp_seed")
        self.bp_thresh = _signal(dut, prefix, "bp_thresh")
        if not 0 <= seed < 1 << 32:
            raise ValueError(f"LFSR seed {seed} is not a 32-bit unsigned int")
        self.bp_seed.setimmediatevalue(seed)
        self.bp_thresh.setimmediatevalue(self._thresh(pause))
        super().__init__(dut, prefix, *args, **kwargs)

    @staticmethod
    def _thresh(pause: float) -> int:
        if not 0.0 <= pause < 1.0:
            raise ValueError(f"back-pressure ratio {pause} must be in [0, 1)")
        return min(round(pause * 256), 255)

    def set_back_pressure(self, pause: float) -> None:
        self.bp_thresh.value = self._thresh(pause)
