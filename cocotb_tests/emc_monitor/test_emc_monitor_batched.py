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
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import cocotb
import pytest
from cocotb.triggers import ReadOnly, RisingEdge
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
from slugsim.emc.csr import EmcCsr
from slugsim.emc.model import EmcMonitorModel
from slugsim.testbench import runner, testing
from slugsim.testbench.batched import BatchSink, BatchSource, read_int
from slugsim.testbench.beat import Beat, now_ps
from slugsim.testbench.blocks import EMC_MONITOR_BATCHED


class BatchedTB(EmcTB):
    """The EMC monitor with the batched bus models: Python wakes once per batch."""

    def __init__(self, dut: Any) -> None:
        super().__init__(dut)
        self.source: BatchSource
        self.memory: BatchSink
        self.records: BatchSink
        self.delivered: list[Beat[Message]] = []
        self.popped: list[Beat[EmcRecord]] = []

    @classmethod
    async def create(cls, dut: Any, mem_pause: float = 0.0, rec_pause: float = 0.0) -> BatchedTB:
        tb = cls(dut)
        await tb.measure_clock()
        await tb.reset()
        await tb.read_params()
        tb.source = BatchSource(dut, "src", tb.clk, tb.msg_type, record=True)
        mem = back_pressure(tb.rng, mem_pause)
        rec = back_pressure(tb.rng, rec_pause)
        tb.memory = BatchSink(dut, "mem", tb.clk, tb.msg_type, pause=mem)
        tb.records = BatchSink(dut, "rec", tb.clk, EmcRecord, pause=rec)
        tb.log.info("batch depth %d, back-pressure %s %s", tb.source.depth, mem, rec)
        assert tb.memory.depth == tb.records.depth == tb.source.depth
        await tb.reset()  # loads the back-pressure LFSR seeds
        for model in (tb.source, tb.memory, tb.records):
            model.resync()
        tb.stim = Stimulus(tb.rng, tb.msg_type)
        return tb

    async def measure_clock(self) -> None:
        """The clock's timing, checked against the wrapper's cycle counter (the recorders'
        stamps): both number the rising edges from 0."""
        await self.measure_period()
        now = now_ps()
        await ReadOnly()
        counted = read_int(self.dut.cycle) - 1  # counts edges, this one included
        assert counted == self.timing.cycle_of(now), f"edge {counted} at {now} ps: timing off"
        await RisingEdge(self.clk)

    async def quiesce(self) -> None:
        """Release back-pressure, let all traffic finish, drain the FIFO, collect everything."""
        self.memory.set_pause_generator(None)
        await self.source.wait()
        self.records.set_pause_generator(None)
        await self.cycles(self.params.fifo_depth + 8)
        await self.memory.flush()
        await self.records.flush()
        self.delivered.extend(self.memory.drain())
        self.popped.extend(self.records.drain())

    # -- scoreboard (EmcTB.replay) ----------------------------------------------------------

    def taps(self) -> Iterable[Beat[Message]]:
        return self.delivered

    def pops(self) -> Iterable[Beat[EmcRecord]]:
        return self.popped

    async def check(self) -> EmcMonitorModel:
        await self.quiesce()
        sent = self.source.sent
        check_link(sent, [b.value for b in self.delivered])
        model = self.replay()
        assert not model.fifo, f"{len(model.fifo)} expected records never came out"
        counters = await self.check_counters(model)
        assert model.invariant_holds
        self.log.info(
            "checked %d messages in %d batches, %d records; counters %s; whole test %s",
            len(sent),
            self.source.batches,
            len(self.popped),
            counters,
            self.coverage,
        )
        # What the run did, for the pytest side to compare across simulators.
        summary = {
            "messages": len(sent),
            "batches": self.source.batches,
            "records": [(r.cycle, r.value.pack()) for r in self.popped],
            "whole_test": self.coverage,
            "end_ps": now_ps(),
        }
        results = os.environ.get("COCOTB_RESULTS_FILE")
        if results:
            (Path(results).parent / "summary.json").write_text(json.dumps(summary))
        return model


@cocotb.test(timeout_time=TIMEOUT_US * 5, timeout_unit="us")
async def batched_random_traffic(dut: Any) -> None:
    """Constrained random: idle gaps, LFSR back-pressure on both sinks, reconfiguration."""
    tb = await BatchedTB.create(dut, mem_pause=0.3, rec_pause=0.6)
    tb.source.set_idle_generator(idle_cycles(tb.rng))
    await tb.random_configure()
    for _ in range(1500):
        tb.source.send_nowait(tb.stim.message())
    while not tb.source.idle():
        await tb.cycles(tb.rng.randrange(50, 400))
        if not await tb.random_change(configure=0.4, period=0.6, clear=0.75, pause=0.85):
            tb.memory.set_pause_generator(back_pressure(tb.rng, tb.rng.choice([0.0, 0.3, 0.8])))
            tb.records.set_pause_generator(back_pressure(tb.rng, tb.rng.choice([0.0, 0.6, 0.95])))
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


@cocotb.test(timeout_time=TIMEOUT_US * 5, timeout_unit="us")
async def batched_back_pressure_is_the_lfsr_pause_pattern(dut: Any) -> None:
    """The recorder's back-pressure runs the pattern ``LfsrPause`` yields in Python, so one pause
    generator means the same stalls to a per-beat and to a batched sink: between two beats the
    memory took, every cycle was a pause of the pattern, and every beat came on a ready one."""
    tb = await BatchedTB.create(dut, mem_pause=0.5)
    pause = tb.memory.pause_generator
    assert pause is not None
    # the LFSR loads the seed at every reset edge: its first value governs the next edge
    first_edge = tb.timing.cycle_of(tb.resets[-1].last_edge_ps) + 1
    count = 4 * tb.source.depth
    for _ in range(count):
        tb.source.send_nowait(tb.stim.message())
    await tb.source.wait()
    await tb.memory.flush()
    cycles = [b.cycle for b in tb.memory.drain()]
    assert len(cycles) == count
    paused = list(itertools.islice(pause, cycles[-1] - first_edge + 1))
    for a, b in itertools.pairwise(cycles):
        assert not paused[a - first_edge] and not paused[b - first_edge], f"edges {a}, {b}"
        stalls = paused[a - first_edge + 1 : b - first_edge]
        assert all(stalls), f"the memory stalled between edges {a} and {b} against the pattern"
    assert len(cycles) < cycles[-1] - cycles[0], "no back-pressure at all"


@cocotb.test(timeout_time=TIMEOUT_US * 5, timeout_unit="us")
async def batched_monitor_wait_and_idle(dut: Any) -> None:
    """wait() returns once a beat has reached Python, even a beat short of a full batch;
    idle() says whether the last batch collected was empty."""
    tb = await BatchedTB.create(dut)
    assert tb.memory.idle() and tb.memory.empty()
    few = max(tb.source.depth // 2, 1)
    sent = [tb.stim.message() for _ in range(few)]
    for msg in sent:
        tb.source.send_nowait(msg)
    await tb.memory.wait()  # flushes: the recorder's batch is not full
    assert not tb.memory.empty()
    got = [await tb.memory.recv() for _ in sent]  # recv() flushes again when it must
    assert got == sent
    await tb.cycles(3)
    await tb.memory.flush()
    await tb.memory.flush()
    assert tb.memory.idle() and tb.memory.empty()
    late = tb.stim.message()
    tb.source.send_nowait(late)
    beat = await tb.memory.recv_beat()
    assert beat.value == late and tb.timing.cycle_of(beat.time_ps) == beat.cycle
    assert not tb.memory.idle()  # the batch that brought it was not empty


# -- pytest: one test per (simulator, parameter set, cocotb test) -------------------------------

COCOTB_TESTS = testing.cocotb_test_names(globals())


@pytest.mark.parametrize("param_set", list(EMC_MONITOR_BATCHED.param_sets))
def test_same_seed_same_run_under_verilator_and_icarus(param_set: str) -> None:
    """The batched models act only on clock edges, so the constrained-random test with one
    seed makes the same traffic, records and counters under both simulators. (They used to
    differ: the source loaded a bank in the wake-up's time step, which the simulators order
    differently against the player's sampling edge.)"""
    if len(runner.selected_simulators()) < 2:
        pytest.skip("needs both simulators (SIM restricts the run to one)")
    summaries = []
    for sim in ("verilator", "icarus"):
        result = runner.run(
            EMC_MONITOR_BATCHED,
            sim,
            EMC_MONITOR_BATCHED.params(param_set),
            testcase="batched_random_traffic",
            seed=testing.seed_for(EMC_MONITOR_BATCHED, param_set, "batched_random_traffic"),
            run_name="batched_random_traffic-both-simulators",
        )
        runner.check(result)
        summaries.append(json.loads((result.test_dir / "summary.json").read_text()))
    verilator, icarus = summaries
    assert verilator["records"], "the run recorded nothing: the comparison would be empty"
    assert verilator == icarus


@pytest.mark.parametrize(
    ("sim", "param_set", "testcase"), testing.cases(EMC_MONITOR_BATCHED, COCOTB_TESTS)
)
def test_emc_monitor_batched(sim: str, param_set: str, testcase: str) -> None:
    testing.run_case(EMC_MONITOR_BATCHED, sim, param_set, testcase)
