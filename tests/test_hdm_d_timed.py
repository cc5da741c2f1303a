"""HDM-D memory in whole-system runs: a Type-2 device whose DCOH is the bias table, with
device accesses through the host in host bias and inside the device in device bias, and
predictor flips (issue 12; components/devmem_timing.py)."""

from __future__ import annotations

import pytest
from slugsim.components import HostParams, Type2Params
from slugsim.fabric import (
    HdmWindow,
    LinkParams,
    RunOptions,
    SwitchParams,
    SystemBuilder,
    WorkloadParams,
)
from slugsim.sim import elaborate
from slugsim.sim.runner import run_system
from slugsim.stats.schema import validate

GIB = 1 << 30


def hdm_d(*, predictor: int, host_requests: int = 200, device_ops: int = 300, stores=0.5):
    """One host and one HDM-D Type-2 behind a switch, both on the device's first 16 KiB."""
    builder = SystemBuilder(RunOptions(seed=1))
    window = HdmWindow(base=64 * GIB, size=GIB, targets=("acc0",))
    workload = None
    if host_requests:
        workload = WorkloadParams(
            kind="random", read_ratio=0.7, footprint=16 << 10, target="acc0",
            requests=host_requests,
        )  # fmt: skip
    host = HostParams(outstanding=2, devmem_cache=4096, hdm=(window,), workload=workload)
    device = Type2Params(
        capacity=GIB, coherence="hdm_d", predictor=predictor, page_lines=4,
        device_ops=device_ops, device_store_ratio=stores, device_footprint=16 << 10,
    )  # fmt: skip
    builder.host("host0", host).switch("sw0", SwitchParams(ports=8)).link("host0", "sw0")
    builder.component("acc0", "type2", device).link("sw0", "acc0", LinkParams())
    stats, _ = run_system(elaborate(builder.build()))
    validate(stats)
    return stats


def test_host_bias_goes_through_the_host():
    """Without flips every device access is a D2H request the host completes with a Fwd."""
    stats = hdm_d(predictor=0, host_requests=0)
    bias = stats["devices"]["acc0"]["bias"]
    assert bias["counters"]["via_host"] == 300 and bias["counters"]["local"] == 0
    assert bias["counters"]["flips_to_device"] == 0
    requests = stats["hosts"]["host0"]["hdm_d"]["device_requests"]
    assert requests["RDCURR"] + requests["WOWRINV"] == 300
    assert bias["data_errors"] == 0


def test_predictor_flips_pages_to_device_bias():
    """With the predictor and no host traffic, pages flip once (RdOwnNoData per line) and the
    accesses after the flip complete in the device, much faster than through the host."""
    stats = hdm_d(predictor=1, host_requests=0)
    bias = stats["devices"]["acc0"]["bias"]
    counters = bias["counters"]
    assert counters["flips_to_device"] > 0 and counters["rdownnodata"] == 4 * (
        counters["flips_to_device"] + counters["flips_failed"]
    )
    assert counters["local"] > counters["via_host"]
    access = bias["device_access"]
    assert access["device_bias"]["p50"] * 4 < access["host_bias"]["p50"]
    assert bias["flip_time"]["count"] == counters["flips_to_device"]
    assert bias["data_errors"] == 0


def test_host_and_device_share_pages_with_flips():
    """Host loads and stores and the device's accesses on the same pages: host accesses take
    device-bias pages back, the predictor flips them again, every value checks."""
    stats = hdm_d(predictor=2, host_requests=400, device_ops=400)
    bias = stats["devices"]["acc0"]["bias"]
    counters = bias["counters"]
    assert counters["forced_to_host"] > 0 and counters["flips_to_device"] > 0
    assert bias["values_checked"] > 300
    assert bias["data_errors"] == 0
    host = stats["hosts"]["host0"]
    assert host["completed"] == host["issued"] == 400


@pytest.mark.parametrize("value", [3, 6])
def test_bias_cache_must_be_a_power_of_two(value):
    from slugsim.fabric.errors import TopologyError

    with pytest.raises(TopologyError, match=r"bias_ways = \d+ is not a power of two"):
        builder = SystemBuilder(RunOptions(seed=1))
        window = HdmWindow(base=64 * GIB, size=GIB, targets=("acc0",))
        builder.host("host0", HostParams(hdm=(window,))).link("host0", "acc0")
        builder.component("acc0", "type2", Type2Params(coherence="hdm_d", bias_ways=value))
        builder.build()
