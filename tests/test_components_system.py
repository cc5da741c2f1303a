"""Hosts, switches and Type-3 devices composed into small fabrics built by hand."""

from dataclasses import replace

import pytest
from slugsim.components import SLOT_BYTES, HostParams, LogicalDevice, Type3Params, slot_bandwidth
from slugsim.fabric import SystemBuilder, TopologyError
from slugsim.fabric.params import HdmWindow, LinkParams, RunOptions, SwitchParams, WorkloadParams
from slugsim.kernel import ns
from slugsim.sim import elaborate, run_system
from slugsim.sim.graphs import CXL_BASE, GIB

LINK = LinkParams(rate=32 * 10**9, width=8, latency=ns(10))
WINDOW = HdmWindow(base=CXL_BASE, size=GIB, targets=("mem0",))


def ser(nbytes: int, link: LinkParams = LINK) -> int:
    slots = -(-nbytes // SLOT_BYTES)
    return -(-slots * SLOT_BYTES * 10**12 // slot_bandwidth(link))


def chase_host(**kw) -> HostParams:
    workload = WorkloadParams(kind="pointer_chase", footprint=GIB, requests=200)
    return HostParams(hdm=(WINDOW,), workload=workload, **kw)


def run(graph):
    stats, _ = run_system(elaborate(graph))
    return stats


def test_unloaded_direct_latency_is_the_sum_of_the_parts():
    host, dev = HostParams(), Type3Params()
    f = SystemBuilder().host("host0", chase_host()).type3("mem0", dev).link("host0", "mem0", LINK)
    stats = run(f.build())
    dram_service = -(-64 * 10**12 // dev.dram_bandwidth)
    expected = (
        host.llc_latency  # miss path to the root port
        + ser(10)  # M2S Req: one slot
        + LINK.latency
        + dev.controller_latency
        + dram_service
        + dev.dram_latency
        + dev.controller_latency
        + ser(68)  # S2M DRS: five slots
        + LINK.latency
    )
    lat = stats["latency"]["read"]["paths"]["cxl:mem0"]
    assert lat["p50"] == lat["max"] == expected / 1000


def test_a_switch_adds_its_pipeline_and_a_link_each_way():
    sw = SwitchParams()
    f = SystemBuilder().host("host0", chase_host()).type3("mem0")
    direct = run(f.link("host0", "mem0", LINK).build())
    f = SystemBuilder().host("host0", chase_host()).switch("sw0", sw).type3("mem0")
    switched = run(f.link("host0", "sw0", LINK).link("sw0", "mem0", LINK).build())
    added = 2 * (sw.latency + LINK.latency) + ser(10) + ser(68)
    d = direct["latency"]["read"]["paths"]["cxl:mem0"]["p50"]
    s = switched["latency"]["read"]["paths"]["cxl:mem0"]["p50"]
    assert s == pytest.approx(d + added / 1000, abs=1e-3)
    port = switched["switches"]["sw0"]["ports"]
    assert sum(p["received"] for p in port.values()) == 2 * 200


def _two_hosts_one_device(outstanding: int, narrow: LinkParams) -> dict:
    workload = WorkloadParams(kind="random", footprint=GIB, requests=2000)
    f = SystemBuilder()
    for h in ("host0", "host1"):
        f.host(h, HostParams(outstanding=outstanding, hdm=(WINDOW,), workload=workload))
    f.switch("sw0").type3("mem0")
    f.link("host0", "sw0").link("host1", "sw0").link("sw0", "mem0", narrow)
    return run(f.build())


def test_contention_on_a_shared_egress_port_raises_latency_by_queueing():
    narrow = LinkParams(rate=8 * 10**9, width=2, latency=ns(10))  # 2 GB/s raw
    light = _two_hosts_one_device(1, narrow)
    heavy = _two_hosts_one_device(16, narrow)
    assert heavy["latency"]["read"]["all"]["p50"] > 2 * light["latency"]["read"]["all"]["p50"]
    to_host = [
        p for p in heavy["switches"]["sw0"]["ports"].values() if p["neighbour"].startswith("host")
    ]
    assert max(p["mean_queue_ns"] for p in to_host) == 0.0  # responses fan out: no queue
    to_dev = next(p for p in heavy["switches"]["sw0"]["ports"].values() if p["neighbour"] == "mem0")
    assert to_dev["mean_queue_ns"] > 0 and to_dev["queued"] > 0
    # The narrow link back from the device is the bottleneck: its response direction is busy.
    link = heavy["links"]["mem0<->sw0"]
    assert link["ab"]["from"] == "mem0" and link["ab"]["utilisation"] > 0.9


def test_stores_read_for_ownership_and_dirty_victims_are_written_back():
    workload = WorkloadParams(kind="random", footprint=GIB, requests=5000, read_ratio=0.0)
    host = HostParams(llc_size=64 * 1024, llc_ways=4, hdm=(WINDOW,), workload=workload)
    f = SystemBuilder().host("host0", host).type3("mem0").link("host0", "mem0", LINK)
    stats = run(f.build())
    h = stats["hosts"]["host0"]
    assert h["cxl"]["mem0"]["rfo"] == h["llc_misses"]
    # Every store dirties its line, so once the 1024-line LLC is full each miss evicts a dirty one.
    assert h["llc_writebacks"] == h["llc_misses"] - 1024
    assert stats["devices"]["mem0"]["writes"] == h["cxl"]["mem0"]["writebacks"]
    assert stats["devices"]["mem0"]["writes"] > 3000


def test_per_target_counts_of_a_many_core_host_match_the_device():
    """Reads and RFOs per target are derived from the cores' slots (completed plus in flight):
    with several cores, each count must still equal what the device served."""
    workload = WorkloadParams(kind="random", footprint=GIB, requests=300, read_ratio=0.5)
    host = HostParams(cores=4, outstanding=8, hdm=(WINDOW,), workload=workload)
    f = SystemBuilder().host("host0", host).type3("mem0").link("host0", "mem0", LINK)
    stats = run(f.build())
    cxl = stats["hosts"]["host0"]["cxl"]["mem0"]
    assert cxl["reads"] + cxl["rfo"] == stats["hosts"]["host0"]["llc_misses"]
    assert cxl["reads"] + cxl["rfo"] == stats["devices"]["mem0"]["reads"]
    assert cxl["reads"] > 0 and cxl["rfo"] > 0


def _mld_fabric(rogue_ld: int | None = None) -> SystemBuilder:
    lds = (LogicalDevice(0, "host0", 32 * GIB), LogicalDevice(1, "host1", 32 * GIB))
    f = SystemBuilder().switch("sw0").type3("mem0", Type3Params(lds=lds))
    for h in ("host0", "host1"):
        f.host(h, chase_host()).link(h, "sw0")
    return f.link("sw0", "mem0")


def test_mld_partitions_are_bound_to_their_hosts():
    stats = run(_mld_fabric().build())
    dev = stats["devices"]["mem0"]
    assert dev["lds"] == {"0": {"reads": 200, "writes": 0}, "1": {"reads": 200, "writes": 0}}
    assert dev["violations"] == 0


def test_mld_refuses_a_request_with_another_hosts_ld():
    system = elaborate(_mld_fabric().build())
    # host1 forges LD 0, which is bound to host0: the device answers MemData-NXM (poisoned).
    system.components["host1"].targets[0].ld_id = 0
    run_system(system)
    assert system.components["mem0"].violations == 200
    assert system.components["host1"].violations == 200


def test_the_builder_refuses_systems_the_models_cannot_run():
    lds = (LogicalDevice(0, "host9", GIB),)
    f = SystemBuilder().host("host0", chase_host()).type3("mem0", Type3Params(lds=lds))
    with pytest.raises(TopologyError, match="binds LD 0 to 'host9', which is not a host"):
        f.link("host0", "mem0").build()
    small = Type3Params(capacity=GIB // 2)
    f = SystemBuilder().host("host0", chase_host()).type3("mem0", small).link("host0", "mem0")
    with pytest.raises(TopologyError, match="shrink the window"):
        f.build()
    f = SystemBuilder().host("host0", chase_host()).type3("mem0")  # no link
    with pytest.raises(TopologyError, match="cannot reach 'mem0'"):
        f.build()
    bad = replace(chase_host(), workload=WorkloadParams(target="mem7"))
    f = SystemBuilder().host("host0", bad).type3("mem0").link("host0", "mem0")
    with pytest.raises(TopologyError, match="targets 'mem7'"):
        f.build()


def test_the_builder_applies_the_models_address_rules():
    # A device's share is summed over every window that maps it.
    windows = tuple(
        HdmWindow(base=CXL_BASE + i * 2 * GIB, size=GIB, targets=("mem0",)) for i in (0, 1)
    )
    f = (
        SystemBuilder()
        .host("host0", HostParams(hdm=windows))
        .type3("mem0", Type3Params(capacity=GIB))
    )
    with pytest.raises(
        TopologyError, match="HDM windows 0, 1 map 2GiB onto 'mem0' but 'mem0' holds 1GiB"
    ):
        f.link("host0", "mem0").build()
    # Target 'cxl' runs from the lowest window's base, so only gapless HDM counts.
    workload = WorkloadParams(footprint=2 * GIB)
    f = SystemBuilder().host("host0", HostParams(hdm=windows, workload=workload))
    f.type3("mem0", Type3Params(capacity=2 * GIB)).link("host0", "mem0")
    with pytest.raises(TopologyError, match="touches 2GiB but its target 'cxl' has 1GiB"):
        f.build()
    # A workload aimed at one device of an interleaved window gets that device's share.
    window = HdmWindow(base=CXL_BASE, size=2 * GIB, targets=("mem0", "mem1"))
    workload = WorkloadParams(footprint=2 * GIB, target="mem1")
    f = SystemBuilder().host("host0", HostParams(hdm=(window,), workload=workload))
    f.type3("mem0").type3("mem1").link("host0", "mem0").link("host0", "mem1")
    with pytest.raises(TopologyError, match="touches 2GiB but its target 'mem1' has 1GiB"):
        f.build()


def test_validation_refuses_windows_on_devices_without_memory():
    # A NIC holds no memory; a Type-2 device does (host bias): a window may target it.
    host = HostParams(hdm=(WINDOW,))
    builder = SystemBuilder().host("host0", host).nic("mem0").link("host0", "mem0")
    with pytest.raises(TopologyError, match="names nic 'mem0', which holds no memory"):
        builder.build()
    SystemBuilder().host("host0", host).type2("mem0").link("host0", "mem0").build()


def test_interleaved_window_spreads_lines_and_a_device_target_stays_on_its_device():
    window = HdmWindow(base=CXL_BASE, size=2 * GIB, targets=("mem0", "mem1"), granularity=256)
    host = HostParams(
        hdm=(window,), workload=WorkloadParams(kind="stream", footprint=GIB, requests=4000)
    )
    f = SystemBuilder().host("host0", host).type3("mem0").type3("mem1")
    stats = run(f.link("host0", "mem0").link("host0", "mem1").build())
    assert stats["devices"]["mem0"]["reads"] == stats["devices"]["mem1"]["reads"] == 2000
    only = replace(host, workload=WorkloadParams(kind="random", target="mem1", requests=500))
    f = SystemBuilder().host("host0", only).type3("mem0").type3("mem1")
    stats = run(f.link("host0", "mem0").link("host0", "mem1").build())
    assert stats["devices"]["mem0"]["reads"] == 0
    assert stats["devices"]["mem1"]["reads"] == 500 - stats["hosts"]["host0"]["llc_hits"]


def test_local_dram_and_llc_hits():
    workload = WorkloadParams(kind="stream", footprint=64 * 1024, target="local", requests=3000)
    stats = run(SystemBuilder().host("host0", HostParams(workload=workload)).build())
    h = stats["hosts"]["host0"]
    assert h["llc_misses"] == 1024 and h["llc_hits"] == 3000 - 1024
    assert stats["latency"]["read"]["paths"]["llc"]["max"] == HostParams().llc_latency / 1000


def test_request_budget_stops_the_run():
    f = SystemBuilder(RunOptions(requests=150)).host("host0", chase_host()).type3("mem0")
    stats = run(f.link("host0", "mem0").build())
    assert stats["run"]["requests"] == 150 and stats["run"]["stop"] == "requests"


def test_think_time_spaces_a_cores_requests():
    def sim_time(think: int) -> float:
        workload = WorkloadParams(
            kind="pointer_chase", footprint=GIB, requests=100, think_time=think
        )
        host = HostParams(hdm=(WINDOW,), workload=workload)
        f = SystemBuilder().host("host0", host).type3("mem0").link("host0", "mem0", LINK)
        return run(f.build())["run"]["sim_time_ns"]

    assert sim_time(ns(100)) == pytest.approx(sim_time(0) + 99 * 100, abs=1e-3)


def _incast(queue_depth: int) -> dict:
    """Two expanders answer one host whose own link is 16x narrower: the responses converge on
    the switch's port towards the host, which cannot drain them as fast as they arrive."""
    window = HdmWindow(base=CXL_BASE, size=2 * GIB, targets=("mem0", "mem1"), granularity=256)
    workload = WorkloadParams(kind="random", footprint=GIB, requests=300)
    host = HostParams(cores=4, outstanding=32, hdm=(window,), workload=workload)
    narrow = replace(LINK, width=1)
    switch = SwitchParams(queue_depth=queue_depth, hold_ingress=True)
    f = SystemBuilder().host("host0", host).switch("sw0", switch)
    f.type3("mem0").type3("mem1").link("host0", "sw0", narrow)
    f.link("sw0", "mem0", LINK).link("sw0", "mem1", LINK)
    return run(f.build())


def test_a_congested_switch_port_back_pressures_the_links_feeding_it():
    stats = _incast(queue_depth=4)
    assert stats["run"]["requests"] == 4 * 300  # no deadlock, nothing lost
    towards_host = next(
        p for p in stats["switches"]["sw0"]["ports"].values() if p["neighbour"] == "host0"
    )
    assert towards_host["credit_stalls"] > 0
    # Each waiting response holds its ingress buffer, so the backlog is bounded by the buffers
    # of the two ports it comes from; the rest of the 128 in flight wait in the devices.
    assert 0 < towards_host["max_backlog"] <= 2 * 4
    # With buffers deep enough for every request in flight, the same load piles up in the
    # switch instead.
    deep = _incast(queue_depth=1024)
    deep_port = next(
        p for p in deep["switches"]["sw0"]["ports"].values() if p["neighbour"] == "host0"
    )
    assert deep_port["max_backlog"] > 2 * 4
    assert deep["run"]["requests"] == 4 * 300
