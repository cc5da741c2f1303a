"""Warm device migration (``migrate: [{..., warm: true}]``): the target re-acquires the lines
the source held through the protocol (RdShared for S, RdOwn for E/M) on resume. Exactly-once
and coherence hold as for a cold migration, and the target starts with the source's working
set."""

from __future__ import annotations

import dataclasses

import pytest
from slugsim.coherence.device import DeviceState
from slugsim.components import DeviceWorkloadParams, HostParams, Type1Params
from slugsim.config import TopologyError
from slugsim.fabric import LinkParams, RunOptions, SwitchParams, SystemBuilder, Where
from slugsim.kernel import US
from slugsim.sim.migration import MigrationSpec, WarmStart, attach, parse_cli
from test_coherent_system import BASE, check_consistent, final_value, run
from test_migration import fabric, host_fabric, migratory


def warm(graph, on=True):
    graph.graph["migrate"] = tuple(dataclasses.replace(s, warm=on) for s in graph.graph["migrate"])
    return graph


@pytest.mark.parametrize("at_us", [1, 3, 8])
def test_warm_migration_keeps_every_increment_exactly_once(at_us):
    workloads = {f"acc{i}": migratory() for i in range(3)}
    system, stats = run(warm(fabric(workloads, device={"outstanding": 4}, at=at_us * US)))
    lines = range(BASE >> 6, (BASE + 256) >> 6)
    assert sum(final_value(system, line) for line in lines) == 3 * 400
    entry = stats["migration"]["entries"]["acc0"]
    assert entry["phase"] == "resumed" and entry["warm"]
    target = system.components["acc9"]
    assert not isinstance(target.program, WarmStart)  # handed back once the lines arrived
    assert target.program.completed == target.program.issued == 400
    assert stats["devices"]["acc9"]["data_errors"] == 0
    assert not any(
        system.components["acc0"].cache.line_state(line) is not DeviceState.I for line in lines
    )
    check_consistent(stats)


def _private(on: bool, requests: int = 3000, at=8 * US):
    workload = DeviceWorkloadParams(
        kind="read_modify_write", base=BASE, footprint=4096, requests=requests
    )
    builder = SystemBuilder(RunOptions(seed=1))
    builder.host("host0", HostParams()).switch("sw0", SwitchParams(ports=8))
    builder.switch("sw1", SwitchParams(ports=4)).link("host0", "sw0").link("sw0", "sw1")
    builder.type1("acc0", Type1Params(workload=workload, outstanding=4)).link("sw0", "acc0")
    builder.type1("acc9", Type1Params(outstanding=4)).link("sw1", "acc9", LinkParams())
    graph = builder.build()
    attach(graph, [MigrationSpec("acc0", "acc9", at, Where("<test>"), warm=on)])
    return run(graph)


def test_the_target_starts_with_the_lines_the_source_held():
    """A private working set of 64 lines, all held (in M) when acc0 stops at 15 us: warm, the
    target takes all 64 back with RdOwn and the program never misses; cold, it misses each."""
    results = {on: _private(on, requests=6000, at=15 * US) for on in (False, True)}
    (system, stats), (_, cold) = results[True], results[False]
    entry = stats["migration"]["entries"]["acc0"]
    assert entry["lines_written_back"] == 64  # the cold write-back happened first
    assert entry["lines_reacquired"] == 64 and entry["warm_up_ns"] > 0
    # state: 64 B of context + 8 B per line, in 64 B chunks
    assert entry["bytes_moved"]["state"] == 64 * -(-(64 + 64 * 8) // 64)
    warm_cache = stats["devices"]["acc9"]["cache"]
    cold_cache = cold["devices"]["acc9"]["cache"]
    assert warm_cache["misses"] == 64  # the re-acquisitions, no program miss
    assert stats["devices"]["acc9"]["d2h_requests"] == {"RdOwn": 64}
    assert cold_cache["misses"] == 64 and warm_cache["hits"] == cold_cache["hits"] + 64
    lines = range(BASE >> 6, (BASE + 4096) >> 6)
    assert sum(final_value(system, line) for line in lines) == 6000
    check_consistent(stats)


def test_shared_lines_come_back_shared():
    """Loads leave S lines: the target re-acquires them with RdShared, not ownership."""
    workload = DeviceWorkloadParams(kind="stream_read", base=BASE, footprint=2048, requests=4000)
    builder = SystemBuilder(RunOptions(seed=1))
    builder.host("host0", HostParams()).switch("sw0", SwitchParams(ports=8))
    builder.switch("sw1", SwitchParams(ports=4)).link("host0", "sw0").link("sw0", "sw1")
    builder.type1("acc0", Type1Params(workload=workload, outstanding=4)).link("sw0", "acc0")
    builder.type1("acc9", Type1Params(outstanding=4)).link("sw1", "acc9")
    graph = builder.build()
    attach(graph, [MigrationSpec("acc0", "acc9", 10 * US, Where("<t>"), warm=True)])
    _, stats = run(graph)
    entry = stats["migration"]["entries"]["acc0"]
    assert entry["lines_reacquired"] == 32
    assert stats["devices"]["acc9"]["d2h_requests"] == {"RdShared": 32}
    assert stats["devices"]["acc9"]["cache"]["misses"] == 32
    check_consistent(stats)


def test_warm_is_for_devices_and_parsed_strictly(tmp_path):
    graph = host_fabric(3 * US)
    spec = dataclasses.replace(graph.graph["migrate"][0], warm=True)
    graph.graph["migrate"] = ()
    with pytest.raises(TopologyError, match="warm moves a device's cache"):
        attach(graph, [spec])
    assert parse_cli("acc0=acc9@2us:warm").warm
    assert not parse_cli("acc0=acc9@2us").warm
    topo = tmp_path / "t.yaml"
    topo.write_text(
        "components:\n"
        "  - {name: host0, kind: host}\n"
        "  - {name: acc0, kind: type1, params: {workload: {kind: stream_read, base: 4GiB,"
        " footprint: 1KiB, requests: 10}}}\n"
        "  - {name: acc1, kind: type1}\n"
        "links: [{between: [host0, acc0]}, {between: [host0, acc1]}]\n"
        "migrate: [{endpoint: acc0, to: acc1, at: 1us, warm: yes please}]\n"
    )
    from slugsim.config import load_topology

    with pytest.raises(TopologyError) as err:
        load_topology(topo)
    assert "migrate[0].warm must be true or false" in str(err.value)
    assert f"{topo}:" in str(err.value)
