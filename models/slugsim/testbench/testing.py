"""Shared pieces of every block's testbench: seeds, reset, and the pytest side of the runner.

A block's ``cocotb_tests/<block>/test_<block>.py`` holds its cocotb tests and ends with::

    COCOTB_TESTS = testing.cocotb_test_names(globals())

    @pytest.mark.parametrize(("sim", "param_set", "testcase"), testing.cases(BLOCK, COCOTB_TESTS))
    def test_<block>(sim, param_set, testcase):
        testing.run_case(BLOCK, sim, param_set, testcase)

so pytest runs one test per (simulator, parameter set, cocotb test), each on a cached build.
"""

from __future__ import annotations

import os
import random
import zlib
from collections.abc import Mapping
from typing import Any

from . import runner
from .runner import Block

SEED_ENV = "SLUGSIM_SEED"


def cocotb_test_names(module_globals: Mapping[str, object]) -> list[str]:
    """Names of the cocotb tests defined in a test module (incl. TestFactory ones)."""
    return [
        name
        for name, obj in module_globals.items()
        if getattr(obj, "im_test", False) and getattr(obj, "name", None) == name
    ]


def cases(block: Block, testcases: list[str]) -> list[Any]:
    import pytest

    return [
        pytest.param(sim, param_set, name, id=f"{sim}-{param_set}-{name}")
        for sim in runner.selected_simulators()
        for param_set in block.param_sets
        for name in testcases
    ]


def seed_for(block: Block, param_set: str, testcase: str) -> int:
    """``SLUGSIM_SEED`` when set, else a fixed seed per test (reproducible CI)."""
    env = os.environ.get(SEED_ENV)
    if env:
        return int(env)
    return zlib.crc32(f"{block.name}/{param_set}/{testcase}".encode())


def run_case(block: Block, sim: str, param_set: str, testcase: str) -> None:
    result = runner.run(
        block,
        sim,
        block.params(param_set),
        testcase=testcase,
        seed=seed_for(block, param_set, testcase),
        run_name=testcase,
    )
    runner.check(result)


# -- inside the simulator -------------------------------------------------------------------


def seeded_rng(dut: Any) -> random.Random:
    """The test's RNG, seeded from cocotb's RANDOM_SEED; logs how to rerun with that seed."""
    import cocotb

    seed = int(cocotb.RANDOM_SEED)
    test = os.environ.get("TESTCASE", "<cocotb test>")
    dut._log.info(
        "seed=%d (rerun: %s=%d .venv/bin/pytest cocotb_tests -k %s)", seed, SEED_ENV, seed, test
    )
    return random.Random(seed)


async def reset(dut: Any, clock: Any, cycles: int = 3) -> tuple[int, int]:
    """Hold ``dut.rst`` for ``cycles`` rising edges; returns the first and last such edge (ps)."""
    from cocotb.triggers import ClockCycles, RisingEdge

    from .beat import now_ps

    await RisingEdge(clock)
    dut.rst.value = 1
    await RisingEdge(clock)
    first = now_ps()
    if cycles > 1:
        await ClockCycles(clock, cycles - 1)
    last = now_ps()
    dut.rst.value = 0
    return first, last
