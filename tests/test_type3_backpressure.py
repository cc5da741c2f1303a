"""A Type-3 device's bounded request queue pushes back through link credits (issue 10)."""

from __future__ import annotations

import pytest
from slugsim.components import HostParams
from slugsim.components.type3 import Type3Params
from slugsim.fabric import SystemBuilder
from slugsim.fabric.params import (
    HdmWindow,
    LinkParams,
    RunOptions,
    SwitchParams,
    WorkloadParams,
)
from slugsim.sim import elaborate, run_system
from slugsim.sim.graphs import CXL_BASE, GIB

CREDITS = 8  # M2S Req buffers of each link direction in these systems
IN_FLIGHT = 4 * 16  # the host's cores x outstanding: far more than a small queue + credits


def pooled_read_system(request_queue: int, dram_model: str):  # type: ignore[no-untyped-def]
    """One host reading at random through a switch (which holds its ingress buffers) from one
    Type-3 device; every link with ``CREDITS`` buffers per class."""
    host = HostParams(
        cores=4,
        outstanding=16,
        hdm=(HdmWindow(base=CXL_BASE, size=64 * GIB, targets=("mem0",)),),
        workload=WorkloadParams(kind="random", footprint=GIB, target="cxl", requests=400),
    )
    device = Type3Params(request_queue=request_queue, dram_model=dram_model)
    link = LinkParams(credits=CREDITS)
    f = SystemBuilder(RunOptions(seed=3)).host("host0", host).type3("mem0", device)
    f.switch("sw0", SwitchParams(hold_ingress=True))
    f.link("host0", "sw0", link).link("sw0", "mem0", link)
    system = elaborate(f.build())
    stats, _ = run_system(system)
    return system, stats


@pytest.mark.parametrize("dram_model", ["simple", "timing"])
def test_a_full_device_queue_stalls_the_sender_on_credits(dram_model):
    small, small_stats = pooled_read_system(request_queue=4, dram_model=dram_model)
    roomy, roomy_stats = pooled_read_system(request_queue=256, dram_model=dram_model)
    device = small.components["mem0"]
    # Every request completed; the queue never held more than its size, and the requests it
    # could not take waited in the link's receive buffers, of which there are CREDITS.
    assert small_stats["run"]["requests"] == roomy_stats["run"]["requests"] == 4 * 400
    assert device.max_queued == 4
    assert device.held_requests > 0
    assert 0 < device.max_held <= CREDITS
    # So the switch's port towards the device ran out of credits for nearly every request, its
    # backlog filled the switch's ingress buffers (CREDITS), and the port facing the host, the
    # bottleneck while the device took everything, no longer stalls at all: the wait moved to
    # the device. (With room for every request the links' own CREDITS, fewer than the host's
    # IN_FLIGHT, stall at times: a credit comes back a link latency after delivery.)
    towards_small = small_stats["switches"]["sw0"]["ports"]
    towards_roomy = roomy_stats["switches"]["sw0"]["ports"]
    port = next(p for p, s in towards_small.items() if s["neighbour"] == "mem0")
    assert towards_small[port]["credit_stalls"] > towards_roomy[port]["credit_stalls"]
    assert towards_small[port]["credit_stalls"] > 0.9 * 4 * 400
    assert towards_small[port]["max_backlog"] == CREDITS
    host_port = next(p for p, s in towards_small.items() if s["neighbour"] == "host0")
    assert towards_small[host_port]["credit_stalls"] == 0
    assert towards_roomy[host_port]["credit_stalls"] > 0
    # The host's requests take longer: the device's DRAM queue moved upstream into the fabric.
    small_p50 = small_stats["latency"]["read"]["all"]["p50"]
    assert small_p50 > 2 * roomy_stats["latency"]["read"]["all"]["p50"]
    assert roomy.components["mem0"].held_requests == 0
    assert roomy.components["mem0"].max_queued <= IN_FLIGHT


def test_queue_bound_holds_at_every_instant():
    # Sample the device while it runs: queued never exceeds the queue, and queued + held never
    # exceeds the queue plus the link's M2S Req buffers.
    system, _ = pooled_read_system(request_queue=4, dram_model="simple")
    device = system.components["mem0"]
    assert device.queued == 0 and not device.held  # drained at the end
    assert device.max_queued + device.max_held <= 4 + CREDITS
