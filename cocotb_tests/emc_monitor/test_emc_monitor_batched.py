"""cocotb tests of the EMC monitor with batched bus models (rtl/tb/tb_emc_monitor_batched.v).

Python wakes once per batch: a ``tb_stream_player`` plays the requests loaded in one write, and
two ``tb_stream_recorder``s (the memory on the tapped link, the sink of the record stream) stamp
every handshake with its cycle. The scoreboard is the EMC model replayed cycle-exactly from those
stamps (plus the CSR writes and resets), as in test_emc_monitor.py: records one by one
(timestamp included), counters and ``SEEN == RECORDED + DROPPED + FILTERED + SKIPPED``, and the
tapped link delivering every message unchanged and in order.

Random tests log their seed; rerun one with
``SLUGSIM_SEED=<seed> .venv/bin/pytest cocotb_tests/emc_monitor -k <name>``.
"""

from __future__ import annotations

import itertools
from typing import Any

import cocotb
import pytest
from cocotb.handle import SimHandleBase
from cocotb.triggers import ReadOnly, RisingEdge, Timer
from slugsim.cosim import testing
from slugsim.cosim.batched import BatchSink, BatchSource, Stamped, read_int
from slugsim.cosim.blocks import EMC_MONITOR_BATCHED
from slugsim.cosim.csr import CsrMaster
from slugsim.cosim.stream import now_ps
from slugsim.cxl import EmcRecord, Message
from slugsim.emc.model import COUNTERS, EmcCsr, EmcMonitorModel, EmcParams
from test_emc_monitor import (
    CTRL_CLEAR,
    CTRL_ENABLE,
    MESSAGE_OF_CHANNEL,
    TIMEOUT_US,
    ResetEvent,
    Stimulus,
    idle_cycles,
)


class BatchedTB:
    """HDL clock, reset, batched bus models, CSR master and the cycle-exact scoreboard."""

    def __init__(self, dut: Any) -> None:
        self.dut = dut
        self.clk: SimHandleBase = dut.clk
        self.log = dut._log
        self.rng = testing.seeded_rng(dut)
        dut.rst.setimmediatevalue(0)
        self.csr = CsrMaster(dut, self.clk)
        self.resets: list[ResetEvent] = []
        self.period_ps = 0
        self.ref_ps = 0  # a rising edge's time ...
        self.ref_cycle = 0  # ... and its 0-based index (the wrapper's cycle counter)
        self.params = EmcParams()
        self.msg_type: type[Message] = Message
        self.source: BatchSource
        self.memory: BatchSink
        self.records: BatchSink
        self.stim: Stimulus
        self.delivered: list[Stamped] = []
        self.popped: list[Stamped] = []
        self.coverage: dict[str, int] = {}

    @classmethod
    async def create(cls, dut: Any, mem_pause: float = 0.0, rec_pause: float = 0.0) -> BatchedTB:
        tb = cls(dut)
        await tb.measure_clock()
        await tb.reset()
        info = await tb.csr.read(EmcCsr.INFO)
        tb.params = EmcParams.from_info(info)
        tb.msg_type = MESSAGE_OF_CHANNEL[tb.params.channel]
        tb.log.info("DUT: %s, tapping %s", tb.params, tb.msg_type.__name__)
        tb.source = BatchSource(dut, "src", tb.clk, tb.msg_type, record=True)
        seeds = [tb.rng.getrandbits(32) | 1 for _ in range(2)]
        tb.memory = BatchSink(dut, "mem", tb.clk, tb.msg_type, seed=seeds[0], pause=mem_pause)
        tb.records = BatchSink(dut, "rec", tb.clk, EmcRecord, seed=seeds[1], pause=rec_pause)
        tb.log.info(
            "batch depth %d, LFSR seeds %#x %#x, pause %.2f %.2f",
            tb.source.depth,
            *seeds,
            mem_pause,
            rec_pause,
        )
        assert tb.memory.depth == tb.records.depth == tb.source.depth
        await tb.reset()  # loads the back-pressure LFSR seeds
        for model in (tb.source, tb.memory, tb.records):
            model.resync()
        tb.stim = Stimulus(tb.rng, tb.msg_type)
        return tb

    async def measure_clock(self) -> None:
        await RisingEdge(self.clk)
        start = now_ps()
        await RisingEdge(self.clk)
        self.period_ps = now_ps() - start
        self.ref_ps = now_ps()
        await ReadOnly()
        self.ref_cycle = read_int(self.dut.cycle) - 1  # counts edges, this one included
        await RisingEdge(self.clk)

    def cycle_of(self, time_ps: int) -> int:
        """The 0-based index of the rising edge at ``time_ps``."""
        return self.ref_cycle + (time_ps - self.ref_ps) // self.period_ps

    async def reset(self, cycles: int = 3) -> None:
        first, last = await testing.reset(self.dut, self.clk, cycles)
        self.resets.append(ResetEvent(first, last))

    async def cycles(self, n: int) -> None:
        if n > 0:
            await Timer(n * self.period_ps - self.period_ps // 2, "ps")
        await RisingEdge(self.clk)

    async def configure_random(self) -> None:
        base, limit = self.stim.window()
        mask = self.stim.opcode_mask()
        writes = [
            (EmcCsr.ADDR_BASE_LO, base & 0xFFFFFFFF),
            (EmcCsr.ADDR_BASE_HI, base >> 32),
            (EmcCsr.ADDR_LIMIT_LO, limit & 0xFFFFFFFF),
            (EmcCsr.ADDR_LIMIT_HI, limit >> 32),
            (EmcCsr.OPCODE_MASK, mask),
            (EmcCsr.SAMPLE_PERIOD, self.stim.sample_period()),
            (EmcCsr.CTRL, CTRL_ENABLE | (CTRL_CLEAR if self.rng.random() < 0.5 else 0)),
        ]
        for addr, value in writes:
            await self.csr.write(addr, value)

    async def counters(self) -> dict[str, int]:
        return {name: await self.csr.read(EmcCsr[name]) for name in COUNTERS}

    async def quiesce(self) -> None:
        """Release back-pressure, let all traffic finish, drain the FIFO, collect everything."""
        self.memory.set_back_pressure(0.0)
        await self.source.wait()
        self.records.set_back_pressure(0.0)
        await self.cycles(self.params.fifo_depth + 8)
        await self.memory.wait()
        await self.records.wait()
        self.delivered.extend(self.memory.drain())
        self.popped.extend(self.records.drain())

    def replay(self) -> EmcMonitorModel:
        """The model over every event in clock-edge order (see test_emc_monitor.TB.replay)."""
        events: list[tuple[int, int, int, str, Any]] = []
        seq = itertools.count()
        for beat in self.delivered:
            events.append((beat.cycle + 1, 1, next(seq), "tap", beat))
        for beat in self.popped:
            events.append((beat.cycle, 2, next(seq), "pop", beat))
        for event in self.resets:
            events.append((self.cycle_of(event.first_edge_ps), 3, next(seq), "reset", event))
        for write in self.csr.writes:
            events.append((self.cycle_of(write.time_ps), 4, next(seq), "csr", write))
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
                assert model.fifo, (
                    f"record #{popped} {item.value} at cycle {item.cycle} was not expected "
                    f"({len(self.delivered)} delivered, {len(self.popped)} records)"
                )
                want = model.pop()
                assert item.value == want, (
                    f"record #{popped} at cycle {item.cycle}: RTL {item.value} != model {want}"
                )
                popped += 1
            elif kind == "reset":
                model.reset()
                origin = self.cycle_of(item.last_edge_ps) + 1
            else:
                model.csr_write(item.value.addr, item.value.wdata)
        self.coverage = lifetime
        return model

    async def check(self) -> EmcMonitorModel:
        await self.quiesce()
        sent = self.source.sent
        delivered = [b.value for b in self.delivered]
        if delivered != sent:
            first = next(
                (i for i, (a, b) in enumerate(zip(sent, delivered, strict=False)) if a != b),
                min(len(sent), len(delivered)),
            )
            raise AssertionError(
                f"the tapped link lost, reordered or altered a message: {len(sent)} sent, "
                f"{len(delivered)} delivered, first difference at #{first}: "
                f"sent {sent[first : first + 2]}, delivered {self.delivered[first : first + 2]}"
            )
        model = self.replay()
        assert not model.fifo, f"{len(model.fifo)} expected records never came out"
        counters = await self.counters()
        assert counters == model.counters, f"counters: RTL {counters} != model {model.counters}"
        total = sum(counters[k] for k in ("RECORDED", "DROPPED", "FILTERED", "SKIPPED"))
        assert counters["SEEN"] == total & 0xFFFFFFFF, f"invariant broken: {counters}"
        assert model.invariant_holds
        self.log.info(
            "checked %d messages in %d batches, %d records; counters %s; whole test %s",
            len(sent),
            self.source.batches,
            len(self.popped),
            counters,
            self.coverage,
        )
        return model


@cocotb.test(timeout_time=TIMEOUT_US * 5, timeout_unit="us")
async def batched_random_traffic(dut: Any) -> None:
    """Constrained random: idle gaps, LFSR back-pressure on both sinks, reconfiguration."""
    tb = await BatchedTB.create(dut, mem_pause=0.3, rec_pause=0.6)
    tb.source.set_idle_generator(idle_cycles(tb.rng))
    await tb.configure_random()
    for _ in range(1500):
        tb.source.send_nowait(tb.stim.message())
    while not tb.source.idle():
        await tb.cycles(tb.rng.randrange(50, 400))
        choice = tb.rng.random()
        if choice < 0.4:
            await tb.configure_random()
        elif choice < 0.6:
            await tb.csr.write(EmcCsr.SAMPLE_PERIOD, tb.stim.sample_period())
        elif choice < 0.75:
            await tb.csr.write(EmcCsr.CTRL, CTRL_ENABLE | CTRL_CLEAR)
        elif choice < 0.85:
            await tb.csr.write(EmcCsr.CTRL, 0)
            await tb.cycles(tb.rng.randrange(1, 10))
            await tb.csr.write(EmcCsr.CTRL, CTRL_ENABLE)
        else:
            tb.memory.set_back_pressure(tb.rng.choice([0.0, 0.3, 0.8]))
            tb.records.set_back_pressure(tb.rng.choice([0.0, 0.6, 0.95]))
    await tb.check()
    assert tb.coverage["SEEN"] > 0 and tb.coverage["RECORDED"] > 0
    # the recorders saw real stalls and gaps
    cycles = [b.cycle for b in tb.delivered]
    assert any(b - a > 1 for a, b in itertools.pairwise(cycles))


@cocotb.test(timeout_time=TIMEOUT_US * 5, timeout_unit="us")
async def batched_back_to_back(dut: Any) -> None:
    """No gaps, no stalls: one beat per cycle across batch boundaries; every message recorded."""
    tb = await BatchedTB.create(dut)
    await tb.csr.write(EmcCsr.CTRL, CTRL_ENABLE)
    count = 8 * tb.source.depth + 3
    tag = tb.msg_type.TAG_FIELD
    for i in range(count):
        tb.source.send_nowait(tb.stim.message(**({tag: i & 0xFF} if tag else {})))
    await tb.check()
    cycles = [b.cycle for b in tb.delivered]
    if tb.source.depth >= 2:  # a one-beat bank cannot hide Python's reload
        assert cycles == list(range(cycles[0], cycles[0] + count)), "bubbles in the stream"
    records = [b.value for b in tb.popped]
    recorded = await tb.csr.read(EmcCsr.RECORDED)
    assert len(records) == recorded == count - (await tb.csr.read(EmcCsr.DROPPED))
    assert tb.source.batches >= count // tb.source.depth


# -- pytest: one test per (simulator, parameter set, cocotb test) -------------------------------

COCOTB_TESTS = testing.cocotb_test_names(globals())


@pytest.mark.parametrize(
    ("sim", "param_set", "testcase"), testing.cases(EMC_MONITOR_BATCHED, COCOTB_TESTS)
)
def test_emc_monitor_batched(sim: str, param_set: str, testcase: str) -> None:
    testing.run_case(EMC_MONITOR_BATCHED, sim, param_set, testcase)
