"""What the EMC monitor's two testbenches share (test_emc_monitor.py, per-beat bus models, and
test_emc_monitor_batched.py, batched ones): constrained-random stimulus and ``EmcTB``, the
clock, reset, CSR master, configuration and the cycle-exact scoreboard (the EMC model replayed
over every observed event). Each testbench adds its bus models; both kinds hand back ``Beat``
values stamped with the clock edge (``cycle``) that took them, which the scoreboard orders by.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from cocotb.handle import SimHandleBase
from cocotb.triggers import RisingEdge, Timer
from slugsim.cxl import MESSAGE_TYPES, EmcRecord, Message
from slugsim.emc.csr import ADDR_MAX, COUNTERS, CSR_FIELDS, EmcCsr, EmcParams
from slugsim.emc.model import EmcMonitorModel
from slugsim.testbench import testing
from slugsim.testbench.beat import Beat, ClockTiming
from slugsim.testbench.csr import CsrMaster
from slugsim.testbench.pause import LfsrPause

MESSAGE_OF_CHANNEL = {cls.CHANNEL: cls for cls in MESSAGE_TYPES if cls.CHANNEL is not None}
CTRL_ENABLE = 1 << CSR_FIELDS["CTRL"]["ENABLE"][0]
CTRL_CLEAR = 1 << CSR_FIELDS["CTRL"]["CLEAR"][0]
TIMEOUT_US = 2000


# -- stimulus -------------------------------------------------------------------------------------


class Stimulus:
    """Constrained-random messages: addresses in a few clusters so address windows bite."""

    def __init__(self, rng: random.Random, msg_type: type[Message]) -> None:
        self.rng = rng
        self.msg_type = msg_type
        self.clusters = sorted(rng.randrange(ADDR_MAX >> 6) << 6 for _ in range(4))

    def address(self) -> int:
        base = self.rng.choice(self.clusters)
        return min(base + (self.rng.randrange(64) << 6), ADDR_MAX - 64)

    def message(self, **fixed: Any) -> Message:
        values: dict[str, Any] = {}
        for spec in self.msg_type.FIELDS:
            if spec.enum is not None:
                values[spec.name] = self.rng.choice(list(spec.enum))
            elif spec.name == self.msg_type.ADDR_FIELD:
                values[spec.name] = self.address()
            else:
                values[spec.name] = self.rng.getrandbits(spec.width) << spec.shift
        values.update(fixed)
        return self.msg_type(**values)

    def window(self) -> tuple[int, int]:
        """A random address window [base, limit] around the clusters (sometimes everything)."""
        if self.rng.random() < 0.25:
            return 0, ADDR_MAX - 1
        points = sorted(self.rng.sample([*self.clusters, 0, ADDR_MAX - 64], 2))
        base = max(points[0] + (self.rng.randrange(-8, 40) << 6), 0)
        limit = min(points[1] + (self.rng.randrange(-8, 40) << 6), ADDR_MAX - 64)
        return min(base, limit), max(base, limit) | 0x3F

    def opcode_mask(self) -> int:
        if self.rng.random() < 0.3:
            return 0xFFFFFFFF
        return sum(1 << i for i in range(32) if self.rng.random() < 0.7)

    def sample_period(self) -> int:
        return self.rng.choice([0, 1, 1, 1, 2, 3, 5])


def idle_cycles(rng: random.Random) -> Iterator[int]:
    """Idle-cycle generator: mostly back-to-back, sometimes a gap of up to 6 cycles."""
    while True:
        yield rng.choice([0, 0, 0, 0, 1, 2, 6])


def back_pressure(rng: random.Random, ratio: float = 0.4) -> LfsrPause:
    """Pause generator pausing about ``ratio`` of the cycles, for per-beat and batched sinks."""
    return LfsrPause(ratio, seed=rng.getrandbits(32))


# -- testbench ------------------------------------------------------------------------------------


@dataclass
class ResetEvent:
    first_edge_ps: int  # first edge that sampled rst = 1
    last_edge_ps: int  # last edge that sampled rst = 1


class EmcTB:
    """Clock (from the HDL wrapper), reset, CSR master, configuration and the scoreboard.

    Subclasses bind the bus models and list the beats the scoreboard replays (``taps()``: the
    tapped link, ``pops()``: records taken from the output stream).
    """

    def __init__(self, dut: Any) -> None:
        self.dut = dut
        self.clk: SimHandleBase = dut.clk
        self.log = dut._log
        self.rng = testing.seeded_rng(dut)
        dut.rst.setimmediatevalue(0)
        self.csr = CsrMaster(dut, self.clk)
        self.resets: list[ResetEvent] = []
        self.coverage: dict[str, int] = {}  # counter events over the whole test (across clears)
        self.timing = ClockTiming(self.clk)
        self.period_ps = 0
        self.params = EmcParams()
        self.msg_type: type[Message] = Message
        self.stim: Stimulus

    async def read_params(self) -> int:
        """The DUT's parameters from INFO (returned) and the message type it taps."""
        info = await self.csr.read(EmcCsr.INFO)
        self.params = EmcParams.from_info(info)
        self.msg_type = MESSAGE_OF_CHANNEL[self.params.channel]
        self.log.info("DUT: %s, tapping %s", self.params, self.msg_type.__name__)
        return info

    async def measure_period(self) -> None:
        await self.timing.measure()
        self.period_ps = self.timing.period_ps

    async def reset(self, cycles: int = 3) -> None:
        first, last = await testing.reset(self.dut, self.clk, cycles)
        self.resets.append(ResetEvent(first, last))

    async def cycles(self, n: int) -> None:
        """Sleep n clock cycles with one wake-up (ends just after a rising edge)."""
        if n > 0:
            await Timer(n * self.period_ps - self.period_ps // 2, "ps")
        await RisingEdge(self.clk)

    # -- configuration ------------------------------------------------------------------

    async def configure(
        self,
        window: tuple[int, int] = (0, ADDR_MAX - 1),
        opcode_mask: int = 0xFFFFFFFF,
        sample_period: int = 1,
        enable: bool = True,
        clear: bool = False,
    ) -> None:
        base, limit = window
        await self.csr.write(EmcCsr.ADDR_BASE_LO, base & 0xFFFFFFFF)
        await self.csr.write(EmcCsr.ADDR_BASE_HI, base >> 32)
        await self.csr.write(EmcCsr.ADDR_LIMIT_LO, limit & 0xFFFFFFFF)
        await self.csr.write(EmcCsr.ADDR_LIMIT_HI, limit >> 32)
        await self.csr.write(EmcCsr.OPCODE_MASK, opcode_mask)
        await self.csr.write(EmcCsr.SAMPLE_PERIOD, sample_period)
        await self.csr.write(EmcCsr.CTRL, (CTRL_ENABLE if enable else 0) | (CTRL_CLEAR * clear))

    async def random_configure(self) -> None:
        await self.configure(
            window=self.stim.window(),
            opcode_mask=self.stim.opcode_mask(),
            sample_period=self.stim.sample_period(),
            enable=True,
            clear=self.rng.random() < 0.5,
        )

    async def random_change(
        self, configure: float, period: float, clear: float, pause: float = 1.0
    ) -> bool:
        """One random change while traffic flows, drawn against cumulative thresholds: a new
        random configuration, a new sample period, a counter clear, or a short pause of the
        monitor; False (nothing done) when the draw is ``pause`` or more."""
        choice = self.rng.random()
        if choice < configure:
            await self.random_configure()
        elif choice < period:
            await self.csr.write(EmcCsr.SAMPLE_PERIOD, self.stim.sample_period())
        elif choice < clear:
            await self.csr.write(EmcCsr.CTRL, CTRL_ENABLE | CTRL_CLEAR)
        elif choice < pause:
            await self.csr.write(EmcCsr.CTRL, 0)
            await self.cycles(self.rng.randrange(1, 10))
            await self.csr.write(EmcCsr.CTRL, CTRL_ENABLE)
        else:
            return False
        return True

    async def counters(self) -> dict[str, int]:
        return {name: await self.csr.read(EmcCsr[name]) for name in COUNTERS}

    # -- scoreboard -----------------------------------------------------------------------

    def taps(self) -> Iterable[Beat[Message]]:
        raise NotImplementedError

    def pops(self) -> Iterable[Beat[EmcRecord]]:
        raise NotImplementedError

    def replay(self) -> EmcMonitorModel:
        """Run the model over everything observed, in clock-edge order; check every record.

        Keys are clock edges: a tap at edge t commits at t + 1 cycle, before a record pop at that
        edge; a reset at an edge follows the pop it ends; a CSR write at edge t follows both,
        so it governs taps from edge t on.
        """
        cycle_of = self.timing.cycle_of
        events: list[tuple[int, int, int, str, Any]] = []
        seq = itertools.count()
        for beat in self.taps():
            events.append((beat.cycle + 1, 1, next(seq), "tap", beat))
        for beat in self.pops():
            events.append((beat.cycle, 2, next(seq), "pop", beat))
        for event in self.resets:
            events.append((cycle_of(event.first_edge_ps), 3, next(seq), "reset", event))
        for write in self.csr.writes:
            events.append((write.cycle, 4, next(seq), "csr", write))
        events.sort(key=lambda e: e[:3])

        model = EmcMonitorModel(self.params)
        origin = 0
        popped = 0
        lifetime = dict.fromkeys(COUNTERS, 0)
        for _key, _order, _seq, kind, item in events:
            if kind == "tap":
                before = dict(model.counters)
                model.observe(item.value, item.cycle - origin)
                for name, value in model.counters.items():
                    lifetime[name] += value != before[name]
            elif kind == "pop":
                got: Any = item.value
                at = item.cycle
                assert model.fifo, f"record #{popped} {got} at edge {at} was not expected"
                want = model.pop()
                assert got == want, f"record #{popped} at edge {at}: RTL {got} != model {want}"
                popped += 1
            elif kind == "reset":
                model.reset()
                origin = cycle_of(item.last_edge_ps) + 1
            else:
                model.csr_write(item.value.addr, item.value.wdata)
        self.coverage = lifetime
        return model

    async def check_counters(self, model: EmcMonitorModel) -> dict[str, int]:
        """The counters against the model and ``SEEN == RECORDED + DROPPED + ...``."""
        counters = await self.counters()
        assert counters == model.counters, f"counters: RTL {counters} != model {model.counters}"
        total = sum(counters[k] for k in ("RECORDED", "DROPPED", "FILTERED", "SKIPPED"))
        assert counters["SEEN"] == total & 0xFFFFFFFF, f"invariant broken: {counters}"
        return counters


def check_link(sent: list[Any], delivered: list[Any]) -> None:
    """The tapped link: everything sent arrived, unchanged, in order."""
    if delivered != sent:
        first = next(
            (i for i, (a, b) in enumerate(zip(sent, delivered, strict=False)) if a != b),
            min(len(sent), len(delivered)),
        )
        raise AssertionError(
            f"the tapped link lost, reordered or altered a message: {len(sent)} sent, "
            f"{len(delivered)} delivered, first difference at #{first}: "
            f"sent {sent[first : first + 2]}, delivered {delivered[first : first + 2]}"
        )
