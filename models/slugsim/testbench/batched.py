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
  ``<p>_bp_seed``, ``<p>_bp_thresh`` of the recorder's back-pressure LFSR, set from an
  ``LfsrPause`` (``slugsim.testbench.pause``), the pause generator a per-beat sink takes too.

Under Verilator a VPI read returns at most ``VL_VALUE_STRING_MAX_WORDS`` 32-bit words and
truncates the rest: build with ``-CFLAGS -DVL_VALUE_STRING_MAX_WORDS=<n>`` (see
``slugsim.testbench.blocks.EMC_MONITOR_BATCHED``).

Same queue API as ``slugsim.testbench.stream``: ``send``/``send_nowait``, ``recv``/``recv_nowait``,
``recv_beat``/``recv_beat_nowait``, ``drain()``, ``idle()``/``wait()``, ``count``. Beats come
back as the same ``Beat(value, cycle, time_ps)`` as the per-beat models': the cycle is the 0-based
rising edge that took the beat (the wrapper's free-running ``cycle`` counter), which is exact
enough for a cycle-accurate scoreboard, and ``time_ps`` that edge's time. Payloads are
``slugsim.cxl`` messages (or plain ints with ``payload=None``); received words are unpacked
lazily, when a consumer takes them.

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
from typing import Any

import cocotb
from cocotb.handle import SimHandleBase
from cocotb.triggers import Edge, Event, FallingEdge, First, RisingEdge, Timer

from slugsim.cxl import Message

from .beat import Beat, ClockTiming
from .pause import LfsrPause

_XZ_TO_0 = str.maketrans("xXzZuUwW-", "000000000")


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
    """Reads a ``tb_stream_recorder``: every handshake with its cycle, a batch per wake-up.

    The recorder holds the beats of its open batch until the batch fills or ``flush()`` closes
    it, so Python learns of a beat up to a batch late: ``wait()`` flushes when it has nothing to
    hand over, and ``idle()`` reports what the last collected batch said.
    """

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
        self.timing = ClockTiming(clock)
        self.count = 0  # beats recorded so far
        self.batches = 0
        self.last_batch_size = 0
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
        # measured beside the recorder loop, which must not miss a batch meanwhile; beats are
        # stamped with their time only when taken (much later than two clock edges)
        cocotb.start_soon(self.timing.measure())
        self._task = cocotb.start_soon(self._run())

    # -- queue API ----------------------------------------------------------------------

    def empty(self) -> bool:
        return not self._raw

    def __len__(self) -> int:
        return len(self._raw)

    def _decode(self, raw: tuple[int, int]) -> Beat[Any]:
        word, cycle = raw
        value = self.payload.unpack(word) if self.payload is not None else word
        return Beat(value, cycle, self.timing.time_of(cycle))

    def recv_nowait(self) -> Any:
        return self._decode(self._raw.popleft()).value

    def recv_beat_nowait(self) -> Beat[Any]:
        return self._decode(self._raw.popleft())

    async def recv(self) -> Any:
        return (await self.recv_beat()).value

    async def recv_beat(self) -> Beat[Any]:
        """The next beat; flushes the recorder when nothing is buffered on the Python side."""
        await self.wait()
        return self._decode(self._raw.popleft())

    def drain(self) -> list[Beat[Any]]:
        """Every beat received so far, decoded, oldest first (and forgotten here)."""
        raw, self._raw = self._raw, deque()
        self.timing.time_of(0)  # raises when the clock is not measured yet
        phase, period = self.timing.phase_ps, self.timing.period_ps
        # NOTE: inlined for performance, as before Beat had a time: tuple.__new__ skips
        # NamedTuple's argument handling, and time_of() is two integer operations here
        new = tuple.__new__
        if self.payload is None:
            return [new(Beat, (word, cycle, phase + cycle * period)) for word, cycle in raw]
        unpack = self.payload.unpack
        return [new(Beat, (unpack(word), cycle, phase + cycle * period)) for word, cycle in raw]

    def idle(self) -> bool:
        """The stream carried nothing between the last two batches Python collected (refresh
        with ``flush()``); the recorder's open batch is out of sight until it closes."""
        return self.last_batch_size == 0

    async def wait(self) -> None:
        """Until at least one beat has reached Python.

        With nothing to hand over, it flushes the recorder; when that batch comes back empty it
        sleeps until a batch closes by itself or ``depth`` cycles pass, then flushes again: one
        wake-up per ``depth`` cycles while the stream is quiet, not one per cycle.
        """
        while not self._raw:
            await self.flush()
            if self._raw:
                return
            await self.timing.measure()
            self._has_items.clear()
            quiet = Timer(self.depth * self.timing.period_ps, "ps")
            await First(self._has_items.wait(), quiet)

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
        self.last_batch_size = n
        self.batches += 1
        self._got_batch.set()

    async def _run(self) -> None:
        seq_edge = Edge(self._wake)
        while True:
            await seq_edge
            self._collect()


class BatchSink(BatchMonitor):
    """A ``BatchMonitor`` whose recorder also drives ``ready`` from its LFSR pattern.

    ``pause`` / ``set_pause_generator(pause)``: an ``LfsrPause`` (or ``None``: always ready), as
    for a per-beat ``StreamSink``. Its ratio applies at once; its seed is loaded into the LFSR at
    the recorder's next reset (the HDL runs the pattern, so the Python generator itself is never
    stepped). Any other pause generator would need Python every cycle and is refused.
    The other arguments are ``BatchMonitor``'s.
    """

    def __init__(
        self,
        dut: Any,
        prefix: str,
        *args: Any,
        pause: LfsrPause | None = None,
        **kwargs: Any,
    ) -> None:
        self.bp_seed = _signal(dut, prefix, "bp_seed")
        self.bp_thresh = _signal(dut, prefix, "bp_thresh")
        self.pause_generator: LfsrPause | None = None
        self._program(pause, immediate=True)
        super().__init__(dut, prefix, *args, **kwargs)

    def _program(self, pause: Iterator[bool | int] | None, immediate: bool) -> None:
        if pause is not None and not isinstance(pause, LfsrPause):
            raise ValueError(
                f"{type(pause).__name__}: a batched sink's back-pressure is its recorder's "
                "LFSR; give it an LfsrPause (or None)"
            )
        threshold = pause.threshold if pause is not None else 0
        if immediate:
            self.bp_seed.setimmediatevalue(pause.seed if pause is not None else 1)
            self.bp_thresh.setimmediatevalue(threshold)
        else:
            if pause is not None:  # None leaves the seed for the next reset as it was
                self.bp_seed.value = pause.seed
            self.bp_thresh.value = threshold
        self.pause_generator = pause

    def set_pause_generator(self, pause: Iterator[bool | int] | None) -> None:
        self._program(pause, immediate=False)
