"""Coherent devices in whole-system runs: the type1/type2 kinds, their workloads, the host's
timed home agent and the stats they write (issue 11, item 6)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from slugsim.components import DeviceWorkloadParams, HostParams, Type1Params, Type2Params
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
from slugsim.workloads.coherent import FIELD_BITS, item_value

TOPOLOGIES = Path(__file__).resolve().parents[1] / "topologies"
GIB = 1 << 30
BASE = 4 * GIB  # in the host's local DRAM, beyond its own cores' footprint


def coherent_system(
    workloads: dict[str, DeviceWorkloadParams | None],
    *,
    host: HostParams | None = None,
    kinds: dict[str, str] | None = None,
    device: dict[str, object] | None = None,
    seed: int = 1,
    requests: int | None = None,
):
    """A host, a switch and one coherent device per entry of ``workloads``."""
    builder = SystemBuilder(RunOptions(seed=seed, requests=requests))
    builder.host("host0", host or HostParams())
    builder.switch("sw0", SwitchParams(ports=16)).link("host0", "sw0")
    for name, workload in workloads.items():
        kind = (kinds or {}).get(name, "type1")
        cls = Type2Params if kind == "type2" else Type1Params
        builder.component(name, kind, cls(workload=workload, **(device or {})))
        builder.link("sw0", name, LinkParams())
    return builder.build()


def run(graph):
    system = elaborate(graph)
    stats, _outcome = run_system(system)
    validate(stats)
    return system, stats


def final_value(system, line: int) -> int:
    """The line's value now: an owning device's copy, else a host core's M copy, else memory."""
    from slugsim.coherence import CoreState, DeviceState

    host = system.components["host0"].home_agent.agent
    for component in system.components.values():
        cache = getattr(component, "cache", None)
        if cache is not None and cache.line_state(line) in (DeviceState.E, DeviceState.M):
            return cache.line_value(line)
    entry = host.lines.get(line)
    if entry is None:
        return 0
    for state, value in zip(entry.cores, entry.core_values, strict=True):
        if state is CoreState.M:
            return value
    return entry.memory


def check_consistent(stats) -> None:
    """What the host counted matches what the devices counted."""
    coherence = stats["hosts"]["host0"]["coherence"]
    devices = [stats["devices"][name] for name in coherence["devices"]]
    total = Counter()
    for key in ("d2h_requests", "snoops_received", "snoop_responses", "h2d_responses"):
        total[key] = Counter()
        for entry in devices:
            total[key].update(entry[key])
    assert total["d2h_requests"] == Counter(coherence["d2h_requests"])
    assert total["snoops_received"] == Counter(coherence["snoops_sent"])
    assert total["snoop_responses"] == Counter(coherence["snoop_responses"])
    assert total["h2d_responses"] == Counter(coherence["h2d_responses"])
    assert sum(e["go_received"] for e in devices) == coherence["go_sent"]
    for entry in devices:
        # every D2H request completed, and each got a GO of some kind (RdCurr excepted)
        assert entry["d2h_completed"] == sum(entry["d2h_requests"].values())
        rdcurr = entry["d2h_requests"].get("RdCurr", 0)
        assert entry["go_received"] == entry["d2h_completed"] - rdcurr
        assert entry["data_errors"] == 0
        assert entry["snoops_stalled"] >= 0


def test_shipped_topology_validates_and_runs():
    graph = load_topology(TOPOLOGIES / "coherent_accel.yaml")
    _, stats = run(graph)
    assert stats["run"]["stop"] == "quiescent"
    devices = stats["devices"]
    for name in ("acc0", "acc1"):
        # the producer/consumer channel passed every item, and the consumer checked each value
        assert devices[name]["items"] == graph.nodes[name]["params"].workload.requests == 200
        assert devices[name]["data_errors"] == 0
        # each device's cache was snooped for what the other wanted
        assert devices[name]["snoops_received"]
    # the lines live in the Type-2 device's memory, read through the host over CXL.mem
    assert devices["acc1"]["mem_reads"] > 0
    check_consistent(stats)
    # the host's own core still reaches the Type-3 device over CXL.mem
    assert stats["latency"]["read"]["paths"]["cxl:mem0"]["count"] == 2000
    assert (
        stats["run"]["requests"]
        == 2000 + devices["acc0"]["completed"] + devices["acc1"]["completed"]
    )


@pytest.mark.parametrize(
    "kind", ["stream_read", "read_modify_write", "producer_consumer", "migratory", "false_sharing"]
)
def test_every_device_workload_completes_its_requests(kind):
    sharing = kind in ("migratory", "false_sharing")
    footprint = 1024 if sharing or kind == "producer_consumer" else 64 << 10
    workload = DeviceWorkloadParams(
        kind=kind, base=BASE, footprint=footprint, requests=300, partner="host0"
    )
    workloads = {"acc0": workload, "acc1": workload if sharing else None}
    _system, stats = run(coherent_system(workloads, device={"cache_size": 16 << 10}))
    assert stats["run"]["stop"] == "quiescent"
    entry = stats["devices"]["acc0"]
    if kind == "producer_consumer":
        assert entry["items"] == 300
        assert stats["hosts"]["host0"]["coherence"]["cores"]["items"] == 300
    else:
        assert entry["completed"] == entry["issued"] == 300
    if sharing:
        assert stats["devices"]["acc1"]["completed"] == 300
        assert sum(entry["snoops_received"].values()) > 0  # the lines moved between devices
    check_consistent(stats)
    assert (
        stats["run"]["requests"]
        == sum(e["completed"] for e in stats["devices"].values())
        + stats["hosts"]["host0"]["coherence"]["cores"]["completed"]
    )


def test_migratory_increments_are_never_lost():
    workload = DeviceWorkloadParams(kind="migratory", base=BASE, footprint=256, requests=500)
    devices = {f"acc{i}": workload for i in range(3)}
    system, stats = run(coherent_system(devices, device={"outstanding": 4}))
    lines = range(BASE >> 6, (BASE + 256) >> 6)
    assert sum(final_value(system, line) for line in lines) == 3 * 500
    assert stats["hosts"]["host0"]["coherence"]["snoops_sent"].get("SnpInv", 0) > 0


def test_false_sharing_keeps_every_agents_field():
    workload = DeviceWorkloadParams(kind="false_sharing", base=BASE, footprint=128, requests=400)
    system, stats = run(coherent_system({"acc0": workload, "acc1": workload, "acc2": workload}))
    lines = range(BASE >> 6, (BASE + 128) >> 6)
    for slot, name in enumerate(("acc0", "acc1", "acc2")):
        program = system.components[name].program
        assert program.errors == 0
        for line in lines:
            field = (final_value(system, line) >> (slot * FIELD_BITS)) & 0xFFFF
            assert field == program.counts.get(line, 0)
    check_consistent(stats)


@pytest.mark.parametrize("role", ["producer", "consumer"])
def test_the_consumer_reads_the_producers_values(role, monkeypatch):
    workload = DeviceWorkloadParams(
        kind="producer_consumer", role=role, partner="host0", base=BASE, footprint=512,
        requests=50,
    )  # fmt: skip
    system, stats = run(coherent_system({"acc0": workload}))
    cores = stats["hosts"]["host0"]["coherence"]["cores"]
    assert stats["devices"]["acc0"]["items"] == cores["items"] == 50
    assert stats["devices"]["acc0"]["data_errors"] == cores["data_errors"] == 0
    # the last item's values are where coherence left them
    data_lines = range((BASE >> 6) + 1, (BASE + 512) >> 6)
    assert [final_value(system, line) for line in data_lines] == [
        item_value(50, index) for index in range(1, 8)
    ]

    # The values travel in the messages: corrupt the data lines' values in flight (D2H data
    # into the host, or H2D data out of it) and the consumer notices.
    from slugsim.components import home_agent

    def corrupt(value: int) -> int:
        return value ^ (1 << 20) if value >= 1 << 16 else value  # data lines, not the flag

    if role == "producer":
        make = home_agent._D2H_DATA
        monkeypatch.setattr(
            home_agent, "_D2H_DATA", lambda u, b, p, d, data: make(u, b, p, d, corrupt(data))
        )
    else:
        produce = home_agent.TimedHomeAgent._produce

        def bad_produce(self, device, msg):
            if hasattr(msg, "data"):
                msg.data = corrupt(msg.data)
            produce(self, device, msg)

        monkeypatch.setattr(home_agent.TimedHomeAgent, "_produce", bad_produce)
    _, stats = run(coherent_system({"acc0": workload}))
    consumer = stats["devices"]["acc0"] if role == "consumer" else cores_of(stats)
    assert consumer["data_errors"] > 0


def cores_of(stats):
    return stats["hosts"]["host0"]["coherence"]["cores"]


def test_a_small_snoop_filter_back_invalidates_its_victims():
    host = HostParams(sf_sets=2, sf_ways=2)
    workload = DeviceWorkloadParams(kind="stream_read", base=BASE, footprint=4096, requests=400)
    workloads = {"acc0": workload, "acc1": workload}
    _system, stats = run(coherent_system(workloads, host=host))
    sf = stats["hosts"]["host0"]["coherence"]["snoop_filter"]
    assert sf["victims"] > 0
    assert sf["back_invalidation_snoops"] >= sf["victims"]
    assert sf["entries"] <= 4
    received = sum(e["snoops_received"].get("SnpInv", 0) for e in stats["devices"].values())
    assert received == stats["hosts"]["host0"]["coherence"]["snoops_sent"]["SnpInv"] > 0
    check_consistent(stats)


def test_latency_per_d2h_opcode_is_in_stats():
    workload = DeviceWorkloadParams(
        kind="read_modify_write", base=BASE, footprint=8192, requests=300
    )
    _, stats = run(
        coherent_system({"acc0": workload}, device={"cache_size": 4096, "cache_ways": 4})
    )
    latency = stats["latency"]
    assert latency["d2h:RdOwn"]["paths"]["acc0"]["count"] == 300
    assert latency["d2h:RdOwn"]["all"]["mean"] > 0
    entry = stats["devices"]["acc0"]
    assert entry["cache"]["dirty_evictions"] > 0
    assert entry["eviction_latency_ns"]["DirtyEvict"] > 0


def test_type2_memory_is_reached_by_the_host_and_through_the_host():
    window = HdmWindow(base=64 * GIB, size=16 * GIB, targets=("acc0",))
    host = HostParams(hdm=(window,))
    workload = DeviceWorkloadParams(kind="read_modify_write", base=64 * GIB, footprint=4096,
                                    requests=100)  # fmt: skip
    _, stats = run(coherent_system({"acc0": workload}, host=host, kinds={"acc0": "type2"}))
    entry = stats["devices"]["acc0"]
    assert entry["completed"] == 100
    assert entry["mem_reads"] == stats["hosts"]["host0"]["coherence"]["memory_reads"] > 0


def test_runs_are_deterministic():
    graph = load_topology(TOPOLOGIES / "coherent_accel.yaml")
    _, first = run(graph)
    _, second = run(load_topology(TOPOLOGIES / "coherent_accel.yaml"))
    assert first == second


def test_direct_attached_devices_and_two_homes():
    """No switch between a host and its device; two hosts behind one switch, each the home of
    the device that names it."""
    workload = DeviceWorkloadParams(kind="migratory", base=BASE, footprint=256, requests=200)
    builder = SystemBuilder(RunOptions(seed=3))
    builder.host("host0", HostParams()).host("host1", HostParams())
    builder.switch("sw0", SwitchParams(ports=8))
    builder.type1("acc0", Type1Params(workload=workload)).link("host0", "acc0")
    builder.link("host0", "sw0").link("host1", "sw0")
    for name in ("acc1", "acc2"):
        builder.type1(name, Type1Params(host="host1", workload=workload)).link("sw0", name)
    builder.type1("acc3", Type1Params(host="host0", workload=workload)).link("sw0", "acc3")
    system, stats = run(builder.build())
    assert stats["hosts"]["host0"]["coherence"]["devices"] == ["acc0", "acc3"]
    assert stats["hosts"]["host1"]["coherence"]["devices"] == ["acc1", "acc2"]
    for name in ("acc0", "acc1", "acc2", "acc3"):
        assert stats["devices"][name]["completed"] == 200
    # each host's lines were incremented by its own two devices only
    lines = range(BASE >> 6, (BASE + 256) >> 6)
    for host in ("host0", "host1"):
        agent = system.components[host].home_agent
        values = {}
        for line in lines:
            value = 0
            for device in agent.devices:
                cache = system.components[device].cache
                if cache.line_state(line).name in ("E", "M"):
                    value = cache.line_value(line)
                    break
            else:
                entry = agent.agent.lines.get(line)
                value = entry.memory if entry is not None else 0
            values[line] = value
        assert sum(values.values()) == 400


def attach_spec_monitor(system, host: str = "host0"):
    """Hold every CXL.cache message of a timed run against the spec tables
    (``slugsim.coherence.monitor``), as each agent produces it (with wire UQIDs) and as the
    host takes it in."""
    from slugsim.coherence.monitor import HOST, SpecMonitor
    from slugsim.components import home_agent

    timed = system.components[host].home_agent
    devices = [system.components[name] for name in timed.devices]

    def state_of(index: int, line: int | None) -> str:
        cache = devices[index].cache
        if line is None:
            return "I" if all(e.state.name == "I" for e in cache.lines.values()) else "S"
        return cache.line_state(line).name

    monitor = SpecMonitor(state_of)
    for index, device in enumerate(devices):
        produce = device._produce_message

        def on_device_send(msg, produce=produce, index=index):
            produce(msg)
            monitor.on_send(index, HOST, msg)

        device.cache.send = on_device_send
    produce_h2d = timed._produce

    def on_host_send(device, msg):
        produce_h2d(device, msg)
        monitor.on_send(HOST, device, msg)

    timed.agent.send = on_host_send
    receive = timed.receive

    def on_host_receive(msg):
        if msg.__class__ is not home_agent.D2HReq:
            device = timed.wires[msg.uqid].device
            monitor.on_deliver(device, HOST, msg)
        receive(msg)

    system.components[host].home_agent.receive = on_host_receive
    return monitor


@pytest.mark.parametrize(
    "kind, devices, sf",
    [
        ("migratory", 3, (1024, 16)),
        ("false_sharing", 3, (1024, 16)),
        ("read_modify_write", 2, (2, 2)),
        ("stream_read", 2, (2, 2)),
        ("producer_consumer", 1, (4, 2)),
    ],
)
def test_timed_runs_keep_the_spec_rules(kind, devices, sf):
    shared = kind in ("migratory", "false_sharing")
    workload = DeviceWorkloadParams(
        kind=kind, base=BASE, footprint=512 if shared or kind == "producer_consumer" else 8192,
        requests=300, partner="host0",
    )  # fmt: skip
    host = HostParams(sf_sets=sf[0], sf_ways=sf[1])
    graph = coherent_system(
        {f"acc{i}": workload for i in range(devices)},
        host=host,
        device={"cache_size": 2048, "cache_ways": 2, "outstanding": 6},
    )
    system = elaborate(graph)
    monitor = attach_spec_monitor(system)
    stats, _ = run_system(system)
    assert stats["run"]["stop"] == "quiescent"
    assert monitor.messages > 0 and not monitor.requests and not monitor.snoops
    check_consistent(stats)


def test_the_host_loads_from_type2_memory_over_cxl_mem():
    window = HdmWindow(base=64 * GIB, size=16 * GIB, targets=("acc0",))
    workload = WorkloadParams(kind="random", read_ratio=0.5, footprint=GIB, target="acc0",
                              requests=500)  # fmt: skip
    graph = coherent_system({"acc0": None}, host=HostParams(hdm=(window,), workload=workload),
                            kinds={"acc0": "type2"})  # fmt: skip
    _, stats = run(graph)
    entry = stats["devices"]["acc0"]
    sent = stats["hosts"]["host0"]["cxl"]["acc0"]
    assert entry["mem_reads"] == sent["reads"] + sent["rfo"] == 500
    assert entry["mem_writes"] == sent["writebacks"]
    assert stats["latency"]["read"]["paths"]["cxl:acc0"]["count"] > 0
    assert "coherence" in stats["hosts"]["host0"]  # the device is still the host's to serve
