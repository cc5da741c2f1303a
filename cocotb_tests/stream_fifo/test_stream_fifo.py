"""cocotb testbench of rtl/common/stream_fifo.v (through rtl/tb/tb_stream_fifo.v).

Random data through the FIFO with idle and back-pressure inserters (order and content kept),
exact capacity with the output stalled (``s_ready`` falls after DEPTH beats, ``count`` follows),
and a reset that empties it. Sizes come from the DUT (``len(dut.s_data)``, ``count`` width).
"""

from __future__ import annotations

import itertools
from typing import Any

import cocotb
import pytest
from cocotb.regression import TestFactory
from cocotb.triggers import ReadOnly, RisingEdge
from slugsim.testbench import testing
from slugsim.testbench.blocks import STREAM_FIFO
from slugsim.testbench.pause import pause_pattern
from slugsim.testbench.stream import StreamBus, StreamSink, StreamSource


class TB:
    def __init__(self, dut: Any) -> None:
        self.dut = dut
        self.clk = dut.clk
        self.rng = testing.seeded_rng(dut)
        self.width = len(dut.s_data)
        dut.rst.setimmediatevalue(0)
        self.source = StreamSource(StreamBus.from_prefix(dut, "s"), self.clk)
        self.sink = StreamSink(StreamBus.from_prefix(dut, "m"), self.clk)

    async def depth(self) -> int:
        """DEPTH read back from the DUT: fill it with the output stalled."""
        self.sink.set_pause_generator(itertools.repeat(True))
        for i in range(1 << (len(self.dut.count) - 1)):
            self.source.send_nowait(i)
        for _ in range(4 << (len(self.dut.count) - 1)):
            await RisingEdge(self.clk)
        await ReadOnly()
        depth = int(self.dut.count.value)
        assert not self.dut.s_ready.value, "a full FIFO must not be ready"
        return depth


async def random_data(dut: Any, idle: bool = False, stall: bool = False) -> None:
    tb = TB(dut)
    await testing.reset(dut, tb.clk)
    if idle:
        tb.source.set_idle_generator(tb.rng.choice([0, 0, 1, 3]) for _ in itertools.count())
    if stall:
        tb.sink.set_pause_generator(tb.rng.random() < 0.5 for _ in itertools.count())
    data = [tb.rng.getrandbits(tb.width) for _ in range(300)]
    for value in data:
        await tb.source.send(value)
    got = [await tb.sink.recv() for _ in data]
    assert got == data


factory = TestFactory(random_data)
factory.add_option("idle", [False, True])
factory.add_option("stall", [False, True])
factory.generate_tests()


@cocotb.test()
async def capacity_count_and_reset(dut: Any) -> None:
    tb = TB(dut)
    await testing.reset(dut, tb.clk)
    depth = await tb.depth()
    assert depth == 1 << (len(dut.count) - 1), f"holds {depth} entries"
    assert tb.sink.empty()
    # drain at 1 beat every other cycle: count falls one by one, order kept
    tb.sink.set_pause_generator(pause_pattern([1, 0]))
    got = [await tb.sink.recv() for _ in range(depth)]
    assert got == list(range(depth))
    # refill, then reset: empty and ready again
    tb.sink.set_pause_generator(itertools.repeat(True))
    for i in range(depth):
        tb.source.send_nowait(100 + i)
    await tb.source.wait()
    await testing.reset(dut, tb.clk)
    await ReadOnly()
    assert int(dut.count.value) == 0 and not dut.m_valid.value and dut.s_ready.value


COCOTB_TESTS = testing.cocotb_test_names(globals())


@pytest.mark.parametrize(("sim", "param_set", "testcase"), testing.cases(STREAM_FIFO, COCOTB_TESTS))
def test_stream_fifo(sim: str, param_set: str, testcase: str) -> None:
    testing.run_case(STREAM_FIFO, sim, param_set, testcase)
