"""cocotb testbench of rtl/common/skid_buffer.v (through rtl/tb/tb_skid_buffer.v).

Order and content under idle and back-pressure inserters; full throughput (one beat per cycle)
without stalls; registered s_ready (it never falls in the cycle the output stalls first).
"""

from __future__ import annotations

import itertools
from typing import Any

import cocotb
import pytest
from cocotb.regression import TestFactory
from slugsim.testbench import testing
from slugsim.testbench.blocks import SKID_BUFFER
from slugsim.testbench.stream import StreamBus, StreamSink, StreamSource


async def random_data(dut: Any, idle: bool = False, stall: bool = False) -> None:
    rng = testing.seeded_rng(dut)
    dut.rst.setimmediatevalue(0)
    source = StreamSource(StreamBus.from_prefix(dut, "s"), dut.clk)
    sink = StreamSink(StreamBus.from_prefix(dut, "m"), dut.clk)
    await testing.reset(dut, dut.clk)
    if idle:
        source.set_idle_generator(rng.choice([0, 0, 1, 2]) for _ in itertools.count())
    if stall:
        sink.set_pause_generator(rng.random() < 0.5 for _ in itertools.count())
    data = [rng.getrandbits(len(dut.s_data)) for _ in range(300)]
    for value in data:
        await source.send(value)
    beats = [await sink.recv_beat() for _ in data]
    assert [b.value for b in beats] == data
    await cocotb.triggers.ClockCycles(dut.clk, 2)
    assert sink.idle() and sink.empty() and source.idle(), "the stream should have gone quiet"
    if not idle and not stall:
        cycles = [b.cycle for b in beats]
        assert all(b - a == 1 for a, b in itertools.pairwise(cycles)), "not 1 beat per cycle"


factory = TestFactory(random_data)
factory.add_option("idle", [False, True])
factory.add_option("stall", [False, True])
factory.generate_tests()


@cocotb.test()
async def stall_holds_two_beats(dut: Any) -> None:
    """With the output stalled, exactly two beats enter (output + skid register), in order."""
    dut.rst.setimmediatevalue(0)
    source = StreamSource(StreamBus.from_prefix(dut, "s"), dut.clk)
    sink = StreamSink(StreamBus.from_prefix(dut, "m"), dut.clk, pause=itertools.repeat(True))
    await testing.reset(dut, dut.clk)
    for i in range(5):
        source.send_nowait(i)
    await cocotb.triggers.ClockCycles(dut.clk, 20)
    assert source.count == 2 and sink.empty()
    sink.set_pause_generator(None)
    assert [await sink.recv() for _ in range(5)] == list(range(5))


COCOTB_TESTS = testing.cocotb_test_names(globals())


@pytest.mark.parametrize(("sim", "param_set", "testcase"), testing.cases(SKID_BUFFER, COCOTB_TESTS))
def test_skid_buffer(sim: str, param_set: str, testcase: str) -> None:
    testing.run_case(SKID_BUFFER, sim, param_set, testcase)
