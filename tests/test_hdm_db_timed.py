"""Pooled HDM-DB memory in whole-system runs: hosts sharing a Type-3 device whose DCOH is the
device snoop filter with back-invalidation (issue 12, item 3; components/devmem_timing.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from slugsim.coherence.devmem_mutations import ForgetVictimSharer, NoBISnpBlocking
from slugsim.components import HostParams, Type3Params, devmem_timing
from slugsim.config import load_topology
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

TOPOLOGIES = Path(__file__).resolve().parents[1] / "topologies"
GIB = 1 << 30


def pooled(
    hosts: int = 2,
    *,
    footprint: int = 4 * 64,
    cache: int = 2 * 64,
    read_ratio: float = 0.5,
    requests: int = 300,
    sf_sets: int = 1,
    sf_ways: int = 4,
    sf_states: str = "isa",
    device_ops: int = 0,
    seed: int = 1,
):
    """``hosts`` hosts behind a switch sharing one HDM-DB Type-3 device's first lines."""
    builder = SystemBuilder(RunOptions(seed=seed))
    builder.switch("sw0", SwitchParams(ports=16))
    workload = WorkloadParams(
        kind="random", read_ratio=read_ratio, footprint=footprint, target="pool0",
        requests=requests,
    )  # fmt: skip
    for index in range(hosts):
        name = f"host{index}"
        window = HdmWindow(base=64 * GIB, size=GIB, targets=("pool0",))
        params = HostParams(
            cores=2, outstanding=2, devmem_cache=cache, hdm=(window,), workload=workload
        )
        builder.host(name, params).link(name, "sw0")
    device = Type3Params(
        capacity=GIB, coherence="hdm_db", sf_sets=sf_sets, sf_ways=sf_ways,
        sf_states=sf_states, device_ops=device_ops, device_footprint=footprint,
    )  # fmt: skip
    builder.component("pool0", "type3", device).link("sw0", "pool0", LinkParams())
    return builder.build()


def run(graph):
    system = elaborate(graph)
    stats, _ = run_system(system)
    validate(stats)
    return system, stats


def test_hosts_read_what_other_hosts_wrote():
    """Four lines, two hosts, half stores: every load's value is checked against the stores
    (a host reading a line another host wrote gets that write, after the BISnp that took the
    writer's copy), and every request completes."""
    _, stats = run(pooled())
    dcoh = stats["devices"]["pool0"]["dcoh"]
    assert dcoh["data_errors"] == 0
    assert dcoh["values_checked"] > 200
    assert dcoh["bisnp_by_cause"]["request"] > 50  # the hosts took lines from each other
    assert dcoh["bisnp"]["BISNPDATA"] > 0 and dcoh["bisnp"]["BISNPINV"] > 0
    for host in ("host0", "host1"):
        side = stats["hosts"][host]
        assert side["completed"] == side["issued"] == 600
        assert side["hdm_db"]["birsp_sent"]
        assert side["hdm_db"]["bisnp_to_birsp"]["count"] > 0
    # the dirty copies a BISnp found went back before their BIRsp
    assert dcoh["received"]["M2SRwD"] > 0


def test_blocking_rule_stalls_requests_and_rwd_drains():
    """Requests to a line with a BISnp pending wait at the head of their queue, while the
    writebacks the BISnp causes (RwD) are taken meanwhile."""
    _, stats = run(pooled(footprint=64, read_ratio=0.3))
    dcoh = stats["devices"]["pool0"]["dcoh"]
    blocked = dcoh["req_blocked"]
    assert blocked["requests"] > 0 and blocked["total_ns"] > 0
    assert dcoh["rwd_while_blocked"] > 0
    assert dcoh["data_errors"] == 0


def test_filter_victims_back_invalidate_across_hosts():
    """A 1x2 filter over 16 lines: victims are back-invalidated at every host caching them,
    and the values stay right."""
    _, stats = run(pooled(hosts=3, footprint=16 * 64, cache=4 * 64, sf_ways=2, read_ratio=0.7))
    dcoh = stats["devices"]["pool0"]["dcoh"]
    assert dcoh["bisnp_by_cause"]["victim"] > 100
    assert dcoh["sf_occupancy"]["max"] <= 2
    assert dcoh["data_errors"] == 0


@pytest.mark.parametrize("states", ["isa", "ia"])
def test_device_accesses_snoop_the_hosts(states):
    """The device's own loads and stores back-invalidate the hosts (I/S/A and I/A filters)."""
    _, stats = run(pooled(device_ops=200, sf_states=states, sf_ways=8))
    dcoh = stats["devices"]["pool0"]["dcoh"]
    assert dcoh["sf_states"] == ("I/S/A" if states == "isa" else "I/A")
    assert dcoh["bisnp_by_cause"]["device"] > 0
    accesses = dcoh["device_access"]
    assert accesses["loads"]["count"] + accesses["stores"]["count"] == 200
    assert dcoh["data_errors"] == 0


@pytest.mark.parametrize("bug", [NoBISnpBlocking, ForgetVictimSharer])
def test_planted_bugs_are_caught(monkeypatch, bug):
    """The value checks are not vacuous: a DCOH without the blocking rule, or one that forgets
    all but one sharer of a filter victim, is caught by them (or by the table)."""
    monkeypatch.setattr(devmem_timing, "DeviceSnoopFilter", bug)
    try:
        _, stats = run(pooled(hosts=3, footprint=8 * 64, cache=4 * 64, sf_ways=2, read_ratio=0.3))
    except Exception as error:
        assert "line" in str(error) or "impossible" in str(error) or "rule" in str(error)
        return
    assert stats["devices"]["pool0"]["dcoh"]["data_errors"] > 0


def test_shipped_pooled_topology_runs():
    graph = load_topology(TOPOLOGIES / "pooled_hdmdb.yaml")
    _, stats = run(graph)
    dcoh = stats["devices"]["pool0"]["dcoh"]
    assert dcoh["hosts"] == ["host0", "host1", "host2", "host3"]
    assert dcoh["data_errors"] == 0
    assert all(dcoh["bisnp_by_cause"][cause] > 0 for cause in ("request", "device"))
    assert sum(h["completed"] for h in stats["hosts"].values()) == 4 * 2 * 2000


def test_no_host_starves_while_requests_wait_for_victims():
    """Requests wait for filter victims one at a time (the table's rule), so the order the
    DCOH takes the hosts' queues in decides who waits: in turn, no request waits much longer
    than the others (serving host 0's queue first left one waiting 1 ms, 157x the mean)."""
    _, stats = run(pooled(hosts=4, footprint=64 * 64, cache=8 * 64, sf_ways=4, read_ratio=0.7))
    reads = stats["latency"]["read"]["all"]
    assert stats["devices"]["pool0"]["dcoh"]["bisnp_by_cause"]["victim"] > 1000
    assert reads["max"] < 3 * reads["mean"]
