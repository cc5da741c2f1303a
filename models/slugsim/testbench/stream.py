"""cocotb bus models for valid/ready streams carrying slugsim messages.

A stream is the bundle of RTL signals that share a name prefix: ``<prefix>_valid``,
``<prefix>_ready`` (optional for a monitor) and the payload, which is either

- one packed vector ``<prefix>_data``: a ``slugsim.cxl`` message (``pack()``/``unpack()``, the
  RTL layout of ``rtl/include/cxl_defs.vh``) or, with ``payload=None``, a plain ``int``; or
- one signal per field, ``<prefix>_<field>``: a ``slugsim.cxl`` message, or any dataclass or
  NamedTuple of ``int`` fields (a CSR request; a model's own transaction type, such as
  ``slugsim.coherence.Victim``).

Every stream has the same trio: ``StreamSource`` drives (with an idle-cycle generator),
``StreamSink`` receives and drives ``ready`` (with a pause generator, ``slugsim.testbench.pause``),
``StreamMonitor`` only observes. They share one queue API with the batched models
(``slugsim.testbench.batched``): ``send``/``send_nowait`` and ``wait()`` (until everything sent
was taken) on sources; ``recv``/``recv_nowait`` (payloads), ``recv_beat``/``recv_beat_nowait``
and ``drain()`` (``Beat`` values: payload, clock edge, time), ``idle()`` and ``wait()`` (until
something arrives) on monitors and sinks; ``count`` on all.

Timing: the clock is generated in HDL and Python wakes per transaction, not per clock edge. A
handshake is sampled in the ReadOnly phase (settled values for the coming edge) and completes
at the next rising edge; idle workers sleep on an ``Event`` (or on ``valid`` rising), and idle
gaps are one ``Timer``, not N clock edges. Only a back-pressure generator costs one wake-up per
cycle, because it changes ``ready`` every cycle.

Each model measures its clock (``ClockTiming``, two rising edges) when it starts and takes no
part in the stream before that: a sink holds ``ready`` low meanwhile. Build the models before
traffic starts (before the reset, as the testbenches do).
"""

from __future__ import annotations

import dataclasses
from collections import deque
from collections.abc import Iterator
from typing import Any

import cocotb
from cocotb.handle import SimHandleBase
from cocotb.triggers import Event, First, ReadOnly, RisingEdge, Timer

from slugsim.cxl import Message

from .beat import Beat, ClockTiming, now_ps
from .pause import pause_pattern

__all__ = [
    "Beat",
    "StreamBus",
    "StreamMonitor",
    "StreamSink",
    "StreamSource",
    "now_ps",
    "pause_pattern",
]


def _is_namedtuple(payload: object) -> bool:
    return isinstance(payload, type) and issubclass(payload, tuple) and hasattr(payload, "_fields")


def _resolved(handle: SimHandleBase) -> int:
    """Integer value of a signal, with X/Z read as 0 (a stream idles before reset)."""
    value = handle.value
    return int(value) if value.is_resolvable else 0


class StreamBus:
    """The signals of one stream, found by name prefix on a DUT handle."""

    def __init__(self, dut: Any, prefix: str, payload: type | None = None) -> None:
        self.prefix = prefix
        self.payload = payload
        self.valid = self._get(dut, "valid")
        self.ready = self._get(dut, "ready", required=False)
        self.data = self._get(dut, "data", required=False)
        self.fields: list[tuple[str, int, SimHandleBase]] = []  # (field, shift, handle)
        if self.data is not None:
            if payload is not None and not (
                isinstance(payload, type) and issubclass(payload, Message)
            ):
                raise ValueError(f"{prefix}_data carries a packed Message or an int, not {payload}")
            if payload is not None and len(self.data) != payload.WIDTH:
                raise ValueError(
                    f"{prefix}_data is {len(self.data)} bits but {payload.__name__} is "
                    f"{payload.WIDTH}: RTL and slugsim.cxl disagree"
                )
            return
        if payload is None:
            raise ValueError(f"{dut._name} has no {prefix}_data and no payload type was given")
        if isinstance(payload, type) and issubclass(payload, Message):
            specs = [(spec.name, spec.shift) for spec in payload.FIELDS]
        elif dataclasses.is_dataclass(payload):
            specs = [(field.name, 0) for field in dataclasses.fields(payload)]
        elif _is_namedtuple(payload):
            specs = [(name, 0) for name in payload._fields]  # a NamedTuple
        else:
            raise ValueError(
                f"payload must be a Message subclass, a dataclass or a NamedTuple, not {payload}"
            )
        missing = [name for name, _ in specs if not hasattr(dut, f"{prefix}_{name}")]
        if missing:
            raise ValueError(f"{dut._name} lacks {', '.join(f'{prefix}_{m}' for m in missing)}")
        self.fields = [(name, shift, getattr(dut, f"{prefix}_{name}")) for name, shift in specs]

    @classmethod
    def from_prefix(cls, dut: Any, prefix: str, payload: type | None = None) -> StreamBus:
        return cls(dut, prefix, payload)

    def _get(self, dut: Any, name: str, required: bool = True) -> Any:
        full = f"{self.prefix}_{name}"
        if hasattr(dut, full):
            return getattr(dut, full)
        if required:
            raise ValueError(f"{dut._name} has no signal {full}")
        return None

    def drive(self, value: Any) -> None:
        if self.data is not None:
            self.data.value = value.pack() if isinstance(value, Message) else int(value)
            return
        for name, shift, handle in self.fields:
            handle.value = int(getattr(value, name)) >> shift

    def sample(self) -> Any:
        if self.data is not None:
            word = _resolved(self.data)
            return self.payload.unpack(word) if self.payload is not None else word
        assert self.payload is not None
        values = {name: _resolved(handle) << shift for name, shift, handle in self.fields}
        return self.payload(**values)


class _Clocked:
    def __init__(self, bus: StreamBus, clock: SimHandleBase) -> None:
        self.bus = bus
        self.clock = clock
        self.timing = ClockTiming(clock)
        self._edge = RisingEdge(clock)
        self._readonly = ReadOnly()
        self.count = 0


class StreamSource(_Clocked):
    """Drives a stream from a queue; ``idle`` yields how many idle cycles precede each beat."""

    def __init__(
        self,
        bus: StreamBus,
        clock: SimHandleBase,
        idle: Iterator[int] | None = None,
        queue_limit: int = 0,
        record: bool = False,
    ) -> None:
        super().__init__(bus, clock)
        self.idle_generator = idle
        self.queue_limit = queue_limit  # 0: unbounded
        self.record = record  # keep every sent Beat in ``sent``
        self.sent: list[Beat[Any]] = []
        self._queue: deque[Any] = deque()
        self._has_items = Event()
        self._idle = Event()
        self._idle.set()
        self._space = Event()
        self._space.set()
        self.active = False
        bus.valid.setimmediatevalue(0)
        self._task = cocotb.start_soon(self._run())

    def set_idle_generator(self, idle: Iterator[int] | None) -> None:
        self.idle_generator = idle

    def full(self) -> bool:
        return bool(self.queue_limit) and len(self._queue) >= self.queue_limit

    async def send(self, value: Any) -> None:
        while self.full():
            self._space.clear()
            await self._space.wait()
        self.send_nowait(value)

    def send_nowait(self, value: Any) -> None:
        if self.full():
            raise RuntimeError(f"{self.bus.prefix} source queue is full")
        self._queue.append(value)
        self._idle.clear()
        self._has_items.set()

    def idle(self) -> bool:
        return not self._queue and not self.active

    async def wait(self) -> None:
        """Until every queued beat has been accepted."""
        while not self.idle():
            await self._idle.wait()

    def clear(self) -> None:
        self._queue.clear()

    async def _run(self) -> None:
        bus = self.bus
        ready = bus.ready
        valid = bus.valid
        timing = self.timing
        await timing.measure()  # we are now just after a rising edge
        period = timing.period_ps
        phase = timing.phase_ps
        while True:
            if not self._queue:
                valid.value = 0
                self.active = False
                self._idle.set()
                self._has_items.clear()
                await self._has_items.wait()
            self.active = True
            gap = next(self.idle_generator) if self.idle_generator is not None else 0
            if gap:
                valid.value = 0
                # sleep through the gap in one Timer, to mid-cycle before the edge that ends it
                await Timer(gap * period - period // 2, "ps")
                await self._edge
            elif now_ps() % period != phase:
                # woken mid-cycle: signals only ever change just after a rising edge
                await self._edge
            value = self._queue.popleft()
            self._space.set()
            bus.drive(value)
            valid.value = 1
            while True:
                await self._readonly
                taken = ready is None or _resolved(ready)
                await self._edge
                if taken:
                    break
            self.count += 1
            if self.record:
                self.sent.append(timing.beat(value, now_ps()))


class StreamMonitor(_Clocked):
    """Observes a stream and queues every transferred beat as a ``Beat``.

    ``idle()``: no beat is on offer (``valid`` was low when last looked at); ``wait()``: until a
    beat has arrived. Both cost no wake-ups of their own.
    """

    def __init__(self, bus: StreamBus, clock: SimHandleBase) -> None:
        super().__init__(bus, clock)
        self.queue: deque[Beat[Any]] = deque()
        self.active = False  # valid seen high and the beat not yet taken
        self._has_items = Event()
        self._task = cocotb.start_soon(self._start())

    def empty(self) -> bool:
        return not self.queue

    def __len__(self) -> int:
        return len(self.queue)

    def idle(self) -> bool:
        return not self.active

    async def wait(self) -> None:
        """Until at least one beat is queued."""
        while not self.queue:
            self._has_items.clear()
            await self._has_items.wait()

    def recv_nowait(self) -> Any:
        return self.queue.popleft().value

    def recv_beat_nowait(self) -> Beat[Any]:
        return self.queue.popleft()

    async def recv(self) -> Any:
        return (await self.recv_beat()).value

    async def recv_beat(self) -> Beat[Any]:
        await self.wait()
        return self.queue.popleft()

    def drain(self) -> list[Beat[Any]]:
        """Every beat received so far, oldest first (and forgotten here)."""
        beats = list(self.queue)
        self.queue.clear()
        return beats

    def _accept(self, value: Any) -> None:
        self.queue.append(self.timing.beat(value, now_ps()))
        self.count += 1
        self._has_items.set()

    async def _start(self) -> None:
        await self.timing.measure()
        await self._run()

    async def _run(self) -> None:
        valid, ready, bus = self.bus.valid, self.bus.ready, self.bus
        valid_rise = RisingEdge(valid)
        while True:
            await self._readonly
            if not _resolved(valid):
                self.active = False
                await valid_rise
                continue
            self.active = True
            fire = ready is None or _resolved(ready)
            value = bus.sample() if fire else None
            await self._edge
            if fire:
                self._accept(value)


class StreamSink(StreamMonitor):
    """Receives a stream and drives ``ready``: low for a cycle when the pause generator
    (``slugsim.testbench.pause``) yields true, always high without one."""

    def __init__(
        self,
        bus: StreamBus,
        clock: SimHandleBase,
        pause: Iterator[bool | int] | None = None,
    ) -> None:
        if bus.ready is None:
            raise ValueError(f"a sink needs {bus.prefix}_ready")
        self.pause_generator = pause
        self._pause_changed = Event()
        bus.ready.setimmediatevalue(0)  # until the clock is measured and the sink listens
        super().__init__(bus, clock)

    def set_pause_generator(self, pause: Iterator[bool | int] | None) -> None:
        self.pause_generator = pause
        self._pause_changed.set()

    async def _run(self) -> None:
        valid, ready, bus = self.bus.valid, self.bus.ready, self.bus
        assert ready is not None
        valid_rise = RisingEdge(valid)
        while True:
            pause = self.pause_generator
            if pause is not None:
                # per-cycle: ready follows the generator
                ready.value = 0 if next(pause) else 1
                await self._readonly
                self.active = bool(_resolved(valid))
                fire = self.active and _resolved(ready)
                value = bus.sample() if fire else None
                await self._edge
                if fire:
                    self._accept(value)
                continue
            # always ready: sleep until valid rises (or the pause generator changes)
            if not _resolved(ready):
                ready.value = 1
            await self._readonly
            if not _resolved(valid):
                self.active = False
                self._pause_changed.clear()
                await First(valid_rise, self._pause_changed.wait())
                if self.pause_generator is not None:
                    await self._edge
                continue
            self.active = True
            value = bus.sample()
            await self._edge
            self._accept(value)
