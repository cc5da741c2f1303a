"""cocotb testbench of the EMC monitor (rtl/emc/emc_monitor.v) through rtl/tb/tb_emc_monitor.v.

The scoreboard is the Python model (``slugsim.emc.model``), replayed cycle-exactly from what the
bus monitors saw: every tapped handshake, every record taken from the output stream, every CSR
write and every reset, each with the clock edge it happened at. Records must match the model one
by one (timestamp included), counters must match the model and satisfy
``SEEN == RECORDED + DROPPED + FILTERED + SKIPPED``, and the tapped link must deliver every
message unchanged and in order whatever the monitor does.

Sizes and parameters are read back from the DUT (``INFO``, port widths). Random tests log their
seed; rerun one with ``SLUGSIM_SEED=<seed> .venv/bin/pytest cocotb_tests/emc_monitor -k <name>``.
Run by pytest (bottom of this file): one pytest test per (simulator, parameter set, cocotb test).
"""

from __future__ import annotations

import itertools
import json
import os
from collections.abc import Iterable
from typing import Any

import cocotb
import pytest
from cocotb.regression import TestFactory
from emc_tb import (
    CTRL_ENABLE,
    TIMEOUT_US,
    EmcTB,
    Stimulus,
    back_pressure,
    check_link,
    idle_cycles,
)
from slugsim.cxl import EmcRecord, Message
from slugsim.emc.csr import ADDR_MAX, COUNTERS, CSR_FIELDS, EMC_ID, EmcCsr
from slugsim.emc.model import EmcMonitorModel
from slugsim.testbench import testing
from slugsim.testbench.beat import Beat
from slugsim.testbench.blocks import EMC_MONITOR
from slugsim.testbench.stream import StreamBus, StreamMonitor, StreamSink, StreamSource


class TB(EmcTB):
    """The EMC monitor with the per-beat bus models: Python wakes for every beat."""

    def __init__(self, dut: Any) -> None:
        super().__init__(dut)
        self.records = StreamSink(StreamBus.from_prefix(dut, "m_rec", EmcRecord), self.clk)
        self.source: StreamSource
        self.memory: StreamSink
        self.tap: StreamMonitor

    @classmethod
    async def create(cls, dut: Any) -> TB:
        tb = cls(dut)
        await tb.measure_period()
        await tb.reset()
        info = await tb.read_params()
        tb.log.info("INFO=%#x ID=%#x", info, await tb.csr.read(EmcCsr.ID))
        # binding checks the port width against the message layout
        tb.source = StreamSource(
            StreamBus.from_prefix(dut, "s_req", tb.msg_type), tb.clk, record=True
        )
        tb.memory = StreamSink(StreamBus.from_prefix(dut, "m_req", tb.msg_type), tb.clk)
        tb.tap = StreamMonitor(StreamBus.from_prefix(dut, "m_req", tb.msg_type), tb.clk)
        tb.stim = Stimulus(tb.rng, tb.msg_type)
        return tb

    # -- traffic --------------------------------------------------------------------------

    async def send(self, count: int, **fixed: Any) -> list[Message]:
        messages = [self.stim.message(**fixed) for _ in range(count)]
        for msg in messages:
            await self.source.send(msg)
        return messages

    async def quiesce(self) -> None:
        """Let all traffic finish and drain the record FIFO."""
        self.memory.set_pause_generator(None)
        await self.source.wait()
        self.records.set_pause_generator(None)
        await self.cycles(self.params.fifo_depth + 8)

    # -- scoreboard -----------------------------------------------------------------------

    def taps(self) -> Iterable[Beat[Message]]:
        return self.tap.queue

    def pops(self) -> Iterable[Beat[EmcRecord]]:
        return self.records.queue

    async def check(self) -> EmcMonitorModel:
        """Quiesce, replay the model, compare records, counters and the tapped link."""
        await self.quiesce()
        model = self.replay()
        assert not model.fifo, f"{len(model.fifo)} expected records never came out"
        counters = await self.check_counters(model)
        status = await self.csr.read(EmcCsr.STATUS)
        assert status == model.csr_read(EmcCsr.STATUS), f"STATUS {status:#x}"
        sent = [b.value for b in self.source.sent]
        check_link(sent, [b.value for b in self.memory.queue])
        self.log.info(
            "checked %d messages, %d records; counters %s; whole test %s",
            len(sent),
            len(self.records.queue),
            counters,
            self.coverage,
        )
        return model


def params_from_build() -> dict[str, int]:
    return json.loads(os.environ.get("SLUGSIM_PARAMS", "{}"))


# -- tests ----------------------------------------------------------------------------------------


@cocotb.test(timeout_time=TIMEOUT_US, timeout_unit="us")
async def csr_reset_values_and_readback(dut: Any) -> None:
    """Every CSR after reset, INFO against the build, RW read-back, RO and unmapped addresses."""
    tb = await TB.create(dut)
    model = EmcMonitorModel(tb.params)
    built = params_from_build()
    if built:
        assert tb.params.channel == built["CHANNEL"] and tb.params.port == built["PORT"]
        assert tb.params.direction == built["DIRECTION"]
        assert tb.params.ts_width == built["TS_WIDTH"]
        assert tb.params.fifo_depth == built["FIFO_DEPTH"]
    assert len(dut.s_req_data) == tb.msg_type.WIDTH
    assert len(dut.m_rec_data) == EmcRecord.WIDTH
    assert len(dut.s_csr_wdata) == 32
    assert await tb.csr.read(EmcCsr.ID) == EMC_ID

    origin = tb.resets[-1].last_edge_ps + tb.period_ps
    for reg in EmcCsr:
        got = await tb.csr.read(reg)
        cycle = (tb.csr.requests.sent[-1].time_ps - origin) // tb.period_ps
        assert got == model.csr_read(reg, cycle), f"{reg.name} after reset: {got:#x}"

    rw = [
        EmcCsr.ADDR_BASE_LO,
        EmcCsr.ADDR_BASE_HI,
        EmcCsr.ADDR_LIMIT_LO,
        EmcCsr.ADDR_LIMIT_HI,
        EmcCsr.OPCODE_MASK,
        EmcCsr.SAMPLE_PERIOD,
        EmcCsr.CTRL,
    ]
    ro = [EmcCsr.ID, EmcCsr.INFO, EmcCsr.STATUS, *(EmcCsr[c] for c in COUNTERS)]
    for _ in range(3):
        for reg in rw + ro:
            value = tb.rng.getrandbits(32)
            if reg == EmcCsr.CTRL:
                value &= ~CTRL_ENABLE  # keep the monitor off: no traffic in this test
            addr = int(reg) | tb.rng.randrange(4)  # the low address bits are ignored
            await tb.csr.write(addr, value)
            model.csr_write(addr, value)
        for reg in EmcCsr:
            if reg in (EmcCsr.TIME_LO, EmcCsr.TIME_HI):
                continue
            got = await tb.csr.read(reg)
            assert got == model.csr_read(reg), (
                f"{reg.name}: RTL {got:#x} != {model.csr_read(reg):#x}"
            )
    for addr in (0x44, 0x80, 0xFC):
        assert await tb.csr.read(addr) == 0, f"unmapped {addr:#x} must read 0"

    # the timestamp counter: TIME_LO advances by exactly the cycles between two reads
    first = await tb.csr.read(EmcCsr.TIME_LO)
    t_first = tb.csr.requests.sent[-1].time_ps
    await tb.cycles(37)
    second = await tb.csr.read(EmcCsr.TIME_LO)
    cycles = (tb.csr.requests.sent[-1].time_ps - t_first) // tb.period_ps
    wrap = 1 << min(tb.params.ts_width, 32)
    assert (second - first) % wrap == cycles % wrap


@cocotb.test(timeout_time=TIMEOUT_US, timeout_unit="us")
async def record_fields_and_timestamps(dut: Any) -> None:
    """Directed: records carry the message's fields and the cycle distance between messages."""
    tb = await TB.create(dut)
    await tb.configure()
    gaps = [0, 0, 3, 1, 7, 0, 12, 2]
    tb.source.set_idle_generator(iter(gaps))
    sent = await tb.send(len(gaps))
    await tb.source.wait()
    records = [await tb.records.recv() for _ in sent]
    for msg, rec in zip(sent, records, strict=True):
        want = EmcRecord.of(msg, rec.timestamp, tb.params.direction, tb.params.port)
        assert rec == want, f"{rec} != {want}"
    wrap = 1 << tb.params.ts_width
    for i in range(1, len(gaps)):
        distance = (records[i].timestamp - records[i - 1].timestamp) % wrap
        assert distance == gaps[i] + 1, f"message {i}: {distance} cycles, want {gaps[i] + 1}"
    await tb.quiesce()
    counters = await tb.counters()
    assert counters["SEEN"] == counters["RECORDED"] == len(gaps)


@cocotb.test(timeout_time=TIMEOUT_US, timeout_unit="us")
async def enable_switches_recording(dut: Any) -> None:
    """Nothing is seen while disabled; switching on and off mid-stream is exact."""
    tb = await TB.create(dut)
    await tb.configure(enable=False)
    await tb.send(20)
    await tb.quiesce()
    assert all(v == 0 for v in (await tb.counters()).values())
    assert tb.records.empty()
    # switch on and off while traffic flows
    tb.source.set_idle_generator(idle_cycles(tb.rng))
    await tb.send(120)
    for _ in range(6):
        await tb.cycles(tb.rng.randrange(5, 40))
        await tb.csr.write(EmcCsr.CTRL, CTRL_ENABLE if tb.rng.random() < 0.6 else 0)
    model = await tb.check()
    assert 0 < model.counters["SEEN"] < 140


@cocotb.test(timeout_time=TIMEOUT_US, timeout_unit="us")
async def filters_and_sampling(dut: Any) -> None:
    """Directed filters: window edges, opcode mask, 1-in-N sampling; then counters."""
    tb = await TB.create(dut)
    has_addr = tb.msg_type.ADDR_FIELD is not None
    base = tb.stim.clusters[1]
    limit = base + (15 << 6) + 0x3F
    window = (base, limit) if has_addr else (0, ADDR_MAX - 1)
    spec = next(f for f in tb.msg_type.FIELDS if f.name == tb.msg_type.OPCODE_FIELD)
    assert spec.enum is not None
    opcodes = sorted(int(m) for m in spec.enum)
    allowed = {o for i, o in enumerate(opcodes) if i % 2 == 0}
    await tb.configure(window=window, opcode_mask=sum(1 << o for o in allowed), sample_period=3)
    msgs = []
    for i in range(60):
        fixed: dict[str, Any] = {"opcode": opcodes[i % len(opcodes)]}
        if has_addr:
            fixed[tb.msg_type.ADDR_FIELD] = tb.rng.choice(
                [base - 64 if base else base, base, limit & ~0x3F, limit + 1, base + (7 << 6)]
            )
        msgs.extend(await tb.send(1, **fixed))
    model = await tb.check()
    assert model.counters["FILTERED"] > 0 and model.counters["SKIPPED"] > 0
    assert model.counters["RECORDED"] > 0
    # independent of the replay: what passed is exactly what the rules say
    passing = [
        m
        for m in msgs
        if int(m.opcode) in allowed  # type: ignore[attr-defined]
        and window[0] >> 6
        <= (getattr(m, tb.msg_type.ADDR_FIELD) if has_addr else 0) >> 6
        <= window[1] >> 6
    ]
    assert model.counters["RECORDED"] == len(passing[::3])


@cocotb.test(timeout_time=TIMEOUT_US, timeout_unit="us")
async def fifo_full_drop_accounting(dut: Any) -> None:
    """Output stalled: the FIFO fills, further records are counted as dropped, none lost."""
    tb = await TB.create(dut)
    depth = tb.params.fifo_depth
    extra = 5
    tb.records.set_pause_generator(itertools.repeat(True))
    await tb.configure()
    sent = await tb.send(depth + extra)
    await tb.source.wait()
    await tb.cycles(4)
    status = await tb.csr.read(EmcCsr.STATUS)
    count_lsb, count_width = CSR_FIELDS["STATUS"]["FIFO_COUNT"]
    assert (status >> count_lsb) & ((1 << count_width) - 1) == depth
    assert status >> CSR_FIELDS["STATUS"]["FIFO_FULL"][0] & 1
    counters = await tb.counters()
    assert counters["SEEN"] == depth + extra
    assert counters["RECORDED"] == depth and counters["DROPPED"] == extra
    assert tb.records.empty()
    await tb.check()  # releases the output: exactly the first `depth` messages come out
    got = [b.value for b in tb.records.queue]
    assert [(r.tag, r.addr) for r in got] == [
        (EmcRecord.of(m, 0).tag, EmcRecord.of(m, 0).addr) for m in sent[:depth]
    ]


async def random_traffic(dut: Any, idle: bool = False, stall: bool = False) -> None:
    """Constrained random: random filters, reconfiguration while traffic flows, stalls."""
    tb = await TB.create(dut)
    if idle:
        tb.source.set_idle_generator(idle_cycles(tb.rng))
    if stall:
        tb.memory.set_pause_generator(back_pressure(tb.rng, 0.3))
        tb.records.set_pause_generator(back_pressure(tb.rng, 0.6))
    await tb.random_configure()
    await tb.send(400)
    while not tb.source.idle():
        await tb.cycles(tb.rng.randrange(20, 120))
        await tb.random_change(configure=0.5, period=0.7, clear=0.85)
    await tb.check()
    assert tb.coverage["SEEN"] > 0, "the random test exercised nothing"


factory = TestFactory(random_traffic)
factory.add_option("idle", [False, True])
factory.add_option("stall", [False, True])
factory.generate_tests()


@cocotb.test(timeout_time=TIMEOUT_US, timeout_unit="us")
async def reset_in_mid_traffic(dut: Any) -> None:
    """A reset while messages and records are moving: back to reset state, then exact again."""
    tb = await TB.create(dut)
    tb.source.set_idle_generator(idle_cycles(tb.rng))
    tb.memory.set_pause_generator(back_pressure(tb.rng, 0.2))
    tb.records.set_pause_generator(back_pressure(tb.rng, 0.7))
    await tb.configure()
    await tb.send(300)
    await tb.cycles(tb.rng.randrange(60, 150))
    assert not tb.source.idle()
    before = tb.records.count
    await tb.reset(cycles=tb.rng.randrange(1, 5))
    model = EmcMonitorModel(tb.params)
    for reg in EmcCsr:
        if reg in (EmcCsr.TIME_LO, EmcCsr.TIME_HI):
            continue
        got = await tb.csr.read(reg)
        assert got == model.csr_read(reg), f"{reg.name} after reset: {got:#x}"
    await tb.cycles(30)
    await tb.random_configure()
    await tb.send(100)
    await tb.check()
    assert before > 0, "no record came out before the reset"
    assert tb.coverage["SEEN"] > 0
    assert len(tb.resets) == 2


# -- pytest: one test per (simulator, parameter set, cocotb test) -------------------------------

COCOTB_TESTS = testing.cocotb_test_names(globals())


@pytest.mark.parametrize(("sim", "param_set", "testcase"), testing.cases(EMC_MONITOR, COCOTB_TESTS))
def test_emc_monitor(sim: str, param_set: str, testcase: str) -> None:
    testing.run_case(EMC_MONITOR, sim, param_set, testcase)
