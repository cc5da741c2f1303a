"""cocotb testbench of rtl/common/rr_arbiter.v (through rtl/tb/tb_rr_arbiter.v).

Random request vectors and grant back-pressure, checked cycle by cycle against a Python
reference of round-robin arbitration; plus the no-starvation bound with every port asking.
This test drives inputs every cycle, so Python wakes per clock edge (fine for a small block).
"""

from __future__ import annotations

from typing import Any

import cocotb
import pytest
from cocotb.triggers import ReadOnly, RisingEdge
from slugsim.testbench import testing
from slugsim.testbench.blocks import RR_ARBITER


def reference_grant(req: int, ports: int, pointer: int) -> int | None:
    """The first requester at or after ``pointer`` (wrapping), or None."""
    for i in range(ports):
        port = (pointer + i) % ports
        if req >> port & 1:
            return port
    return None


async def run(dut: Any, cycles: int, req_of: Any, ready_of: Any) -> list[int]:
    ports = len(dut.req)
    dut.rst.setimmediatevalue(0)
    dut.req.setimmediatevalue(0)
    dut.m_grant_ready.setimmediatevalue(0)
    await testing.reset(dut, dut.clk)
    pointer = 0
    grants = []
    for cycle in range(cycles):
        req, ready = req_of(cycle), ready_of(cycle)
        dut.req.value = req
        dut.m_grant_ready.value = ready
        await ReadOnly()
        want = reference_grant(req, ports, pointer)
        assert int(dut.m_grant_valid.value) == (want is not None), f"cycle {cycle}: valid"
        if want is not None:
            assert int(dut.m_grant_index.value) == want, f"cycle {cycle}: req {req:b}"
            assert int(dut.m_grant_onehot.value) == 1 << want
            if ready:
                grants.append(want)
                pointer = (want + 1) % ports
        await RisingEdge(dut.clk)
    return grants


@cocotb.test()
async def random_requests(dut: Any) -> None:
    rng = testing.seeded_rng(dut)
    ports = len(dut.req)
    reqs = [rng.getrandbits(ports) for _ in range(2000)]
    readys = [int(rng.random() < 0.7) for _ in range(2000)]
    grants = await run(dut, 2000, reqs.__getitem__, readys.__getitem__)
    assert len(set(grants)) == ports, "every port should have been granted"


@cocotb.test()
async def no_starvation(dut: Any) -> None:
    ports = len(dut.req)
    grants = await run(dut, 10 * ports, lambda _c: (1 << ports) - 1, lambda _c: 1)
    assert grants == [i % ports for i in range(10 * ports)]


COCOTB_TESTS = testing.cocotb_test_names(globals())


@pytest.mark.parametrize(("sim", "param_set", "testcase"), testing.cases(RR_ARBITER, COCOTB_TESTS))
def test_rr_arbiter(sim: str, param_set: str, testcase: str) -> None:
    testing.run_case(RR_ARBITER, sim, param_set, testcase)
