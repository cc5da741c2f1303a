"""cocotb side of scripts/bench_cosim.py (not a test: pytest does not collect it).

Every mode runs the same traffic for BENCH_CYCLES cycles: one M2S Req every BENCH_GAP cycles,
the EMC enabled and recording all of them, the record stream always ready. The wall-clock time
of the traffic phase goes to BENCH_OUT as JSON.

``bench_python_clock`` and ``bench_hdl_clock`` run on tb_emc_monitor with the per-beat bus
models (``slugsim.testbench.stream``); ``bench_batched`` runs on tb_emc_monitor_batched with the
batched ones (``slugsim.testbench.batched``): Python wakes once per batch. Messages are built before
the timed phase in every mode and then frozen out of the garbage collector (``gc.freeze()``: a
real co-simulation makes them on the fly, not 100,000 up front); packing them is timed, and so
is unpacking what came back (the batched sinks unpack lazily, so their decoding is timed after
the traffic and added).
"""

from __future__ import annotations

import gc
import itertools
import json
import os
import time
from typing import Any

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import RisingEdge, Timer
from slugsim.cxl import EmcRecord, M2SReq, M2SReqOpcode
from slugsim.emc.csr import EmcCsr
from slugsim.testbench import testing
from slugsim.testbench.batched import BatchSink, BatchSource
from slugsim.testbench.csr import CsrMaster
from slugsim.testbench.stream import StreamBus, StreamSink, StreamSource

PERIOD_NS = 10


def _settings() -> tuple[int, int]:
    """(BENCH_CYCLES, BENCH_GAP)."""
    return int(os.environ.get("BENCH_CYCLES", "100000")), int(os.environ.get("BENCH_GAP", "20"))


async def _timed_traffic(dut: Any, csr: CsrMaster, source: Any, cycles: int, gap: int) -> float:
    """Reset, enable the EMC, queue the messages, then time ``cycles`` cycles of traffic."""
    await testing.reset(dut, dut.clk)
    await csr.write(EmcCsr.CTRL, 1)
    messages = cycles // gap if gap else 0
    for i in range(messages):
        source.send_nowait(M2SReq(M2SReqOpcode.MEMRD, tag=i & 0xFFFF, addr=(i & 0xFFFF) << 6))
    gc.collect()
    gc.freeze()
    await RisingEdge(dut.clk)
    start = time.perf_counter()
    await Timer(cycles * PERIOD_NS, "ns")
    return time.perf_counter() - start


def _report(dut: Any, result: dict[str, Any]) -> None:
    dut._log.info("bench: %s", result)
    with open(os.environ["BENCH_OUT"], "w") as handle:
        json.dump(result, handle)


async def _bench(dut: Any, python_clock: bool) -> None:
    cycles, gap = _settings()
    if python_clock:
        cocotb.start_soon(Clock(dut.clk, PERIOD_NS, "ns").start())
    dut.rst.setimmediatevalue(0)
    csr = CsrMaster(dut, dut.clk)
    records = StreamSink(StreamBus.from_prefix(dut, "m_rec", EmcRecord), dut.clk)
    memory = StreamSink(StreamBus.from_prefix(dut, "m_req", M2SReq), dut.clk)
    source = StreamSource(
        StreamBus.from_prefix(dut, "s_req", M2SReq), dut.clk, idle=itertools.repeat(gap - 1)
    )
    elapsed = await _timed_traffic(dut, csr, source, cycles, gap)
    recorded = await csr.read(EmcCsr.RECORDED)
    result = {
        "cycles": cycles,
        "seconds": elapsed,
        "messages": source.count,
        "records": records.count,
        "recorded_csr": recorded,
        "delivered": memory.count,
    }
    _report(dut, result)


@cocotb.test()
async def bench_python_clock(dut: Any) -> None:
    await _bench(dut, python_clock=True)


@cocotb.test()
async def bench_hdl_clock(dut: Any) -> None:
    await _bench(dut, python_clock=False)


@cocotb.test()
async def bench_batched(dut: Any) -> None:
    cycles, gap = _settings()
    dut.rst.setimmediatevalue(0)
    csr = CsrMaster(dut, dut.clk)
    records = BatchSink(dut, "rec", dut.clk, EmcRecord)
    memory = BatchSink(dut, "mem", dut.clk, M2SReq)
    source = BatchSource(dut, "src", dut.clk, M2SReq, idle=itertools.repeat(max(gap - 1, 0)))
    elapsed = await _timed_traffic(dut, csr, source, cycles, gap)
    await memory.flush()  # what the recorders still hold (a few cycles, not timed)
    await records.flush()
    start = time.perf_counter()
    delivered = memory.drain()
    taken = records.drain()
    decode = time.perf_counter() - start
    recorded = await csr.read(EmcCsr.RECORDED)
    result = {
        "cycles": cycles,
        "seconds": elapsed + decode,
        "decode_seconds": decode,
        "messages": len(delivered),
        "records": len(taken),
        "recorded_csr": recorded,
        "batches": source.batches,
        "batch_depth": source.depth,
    }
    _report(dut, result)
