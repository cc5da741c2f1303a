"""Isolation on the timed path: the host checks every translated D2H request against its IOMMU's
grants (``iommu_policy: check``) or trusts them; PRI faults and run-time unmap/remap."""

from __future__ import annotations

import pytest
from slugsim.ats.iommu import Policy
from slugsim.ats.isolation_timed import (
    BASE,
    PAGE,
    SECRET,
    build,
    cache_on_io_only,
    grant_victim,
    held,
    never_granted,
    run,
    stale_translation,
    v_lines,
    write_read_only,
)
from slugsim.components import DeviceWorkloadParams, HostParams, Type1Params
from slugsim.components.coherent_params import DeviceAtsParams
from slugsim.kernel.units import NS
from slugsim.sim.runner import collect
from slugsim.stats.schema import validate
from test_coherent_system import check_consistent, coherent_system
from test_coherent_system import run as run_graph

ATTACKS = {
    "never_granted": (never_granted, "ungranted", "RDSHARED"),
    "stale_translation": (stale_translation, "ungranted", None),
    "write_read_only": (write_read_only, "read_only", "RDOWN"),
    "cache_on_io_only": (cache_on_io_only, "io_only", "RDSHARED"),
}
V = range(BASE + PAGE, BASE + 2 * PAGE)


@pytest.mark.parametrize("name", ATTACKS)
def test_check_blocks_logs_and_counts_the_attack_on_the_timed_path(name: str) -> None:
    attack, reason, opcode = ATTACKS[name]
    outcome = attack(Policy.CHECK)
    assert not outcome.leaked, outcome.evidence
    assert "V's memory unchanged" in outcome.evidence
    assert outcome.denials, outcome.evidence
    for denial in outcome.denials:
        assert denial.device == 0 and denial.addr in V and denial.reason == reason
    if opcode is not None:
        assert {d.opcode for d in outcome.denials} == {opcode}
    if name != "stale_translation":  # there V was granted (and used) until the completion
        assert " 0 requests to V reached the home agent" in outcome.evidence
        # every forged request was answered GO-Err; the device ran its program to the end
        assert "64 blocked" in outcome.evidence
        assert "completed 128 of 128 operations, 64 requests answered with an error" in (
            outcome.evidence
        )
    else:  # 2 passes over V after the completion: each read fails, none hangs
        assert "completed 384 of 384 operations, 128 requests answered with an error" in (
            outcome.evidence
        )


@pytest.mark.parametrize("name", ATTACKS)
def test_trust_translated_leaks_on_the_timed_path(name: str) -> None:
    outcome = ATTACKS[name][0](Policy.TRUST_TRANSLATED)
    assert outcome.leaked, outcome.evidence
    assert outcome.denials == ()
    assert ", 0 blocked" in outcome.evidence


def test_the_leak_is_the_secret_or_a_changed_line() -> None:
    leak = never_granted(Policy.TRUST_TRANSLATED).evidence
    assert leak.startswith("device holds 64 lines of V, 64 = secret")
    wrote = write_read_only(Policy.TRUST_TRANSLATED).evidence
    assert wrote.startswith("device owns 64 lines of V, 64 changed")


def test_denials_reach_stats_json_per_device_and_per_host() -> None:
    bench = build(Policy.CHECK, "stream_read", atc=False)
    grant_victim(bench, granted=False)
    stats = collect(bench.system, run(bench).info)
    validate(stats)
    ats = stats["hosts"]["host0"]["ats"]
    assert ats["policy"] == "check"
    assert ats["blocked"] == 64  # every forged read of V, each answered GO-Err
    assert ats["devices"]["acc0"] == {
        "checked": ats["checked"],
        "blocked": 64,
        "blocked_by_reason": {"ungranted": 64},
    }
    device = stats["devices"]["acc0"]
    assert device["completed"] == 128 and device["errored"] == {"RdShared": 64}
    assert device["h2d_responses"]["GO-Err"] == 64 and device["cache"]["misses"] >= 64
    assert stats["hosts"]["host0"]["coherence"]["refused"] == 64
    first = ats["denials"][0]
    assert first["device"] == "acc0" and int(first["addr"], 16) == BASE + PAGE
    assert first["reason"] == "ungranted" and first["time_ns"] > 0


def test_an_honest_device_never_sends_what_it_was_not_granted() -> None:
    """With its ATC, the device asks for V, gets Unsupported Request and drops the
    operations: nothing reaches the host's check."""
    bench = build(Policy.CHECK, "stream_read")
    grant_victim(bench, granted=False)
    run(bench)
    assert bench.host.iommu.counters.blocked == 0 and bench.to_victim == []
    assert bench.device.abandoned == 64 and bench.device.program.completed == 64
    assert held(bench) == {}


def _pri_system(fault_every: int, requests: int = 512, **host: object):
    workload = DeviceWorkloadParams(
        kind="read_modify_write", base=BASE, footprint=8 * PAGE, requests=requests
    )
    ats = DeviceAtsParams(atc_entries=8, atc_ways=2, fault_every=fault_every)
    graph = coherent_system(
        {"acc0": workload}, host=HostParams(**host), device={"cache_size": 4 << 10, "ats": ats}
    )
    return run_graph(graph)


def test_a_non_resident_page_takes_one_pri_fault_then_works() -> None:
    _system, stats = _pri_system(fault_every=2)
    check_consistent(stats)
    device = stats["devices"]["acc0"]
    assert device["completed"] == 512
    ats, host = device["ats"], stats["hosts"]["host0"]["ats"]
    assert ats["page_requests"] == ats["prg_success"] == host["prg_success"] == 4  # pages 0,2,4,6
    assert ats["abandoned"] == 0 and host["blocked"] == 0
    # fault = translation (R = W = 0) + 10 us at the host + translation again, plus links
    assert 10_000 + 2 * 523 < ats["fault_latency_ns"] < 13_000


def test_pri_invalid_request_and_response_failure_drop_the_operations() -> None:
    bench = build(Policy.CHECK, "read_modify_write")
    iommu, pid = bench.host.iommu, bench.device.pid or 0
    grant_victim(bench, granted=False)
    iommu.reserve(pid, BASE + PAGE)  # V not resident, and no free frame: Response Failure
    run(bench)
    # the first Page Request fails and disables PRI; later faults fail at once
    assert bench.device.prg_failed == bench.device.page_requests == iommu.counters.prg_failure
    assert bench.device.abandoned == 64 and not iommu.devices[pid].pri_enabled

    bench = build(Policy.CHECK, "read_modify_write")
    grant_victim(bench, w=False)  # the device writes V: its Page Request asks for W
    run(bench)
    counters = bench.host.iommu.counters
    assert bench.device.prg_failed == counters.prg_invalid == counters.page_requests >= 1
    assert bench.device.abandoned == 64 and counters.blocked == 0
    agent = bench.host.home_agent.agent
    assert all(agent.entry(line).memory == SECRET for line in v_lines())


def test_run_time_unmap_remap_honours_the_queue_depth_and_blocks_nothing() -> None:
    workload = DeviceWorkloadParams(
        kind="read_modify_write", base=BASE, footprint=16 * PAGE, requests=2048
    )
    ats = DeviceAtsParams(
        atc_entries=8, atc_ways=2, unmap_interval=2000 * NS, unmap_batch=3,
        invalidate_queue_depth=2,
    )  # fmt: skip
    graph = coherent_system({"acc0": workload}, device={"cache_size": 4 << 10, "ats": ats})
    _system, stats = run_graph(graph)
    check_consistent(stats)  # the values too: no update lost across unmaps and faults
    host = stats["hosts"]["host0"]["ats"]
    assert host["invalidations_sent"] == host["invalidations_completed"] > 0
    assert host["invalidations_queued"] > 0  # 3 per batch, 2 at a time
    assert host["blocked"] == 0 and host["checked"] > 0
    assert host["invalidation_latency_ns"] > 0
    assert stats["devices"]["acc0"]["completed"] == 2048


def test_an_unmap_storm_faster_than_a_translation_round_trip_does_not_starve_the_device() -> None:
    """3 unmaps every 500 ns at queue depth 2 on 16 pages: before the ATC's per-page-size
    staleness, every unmap of another page of a miss's 2 MiB region threw its translation away
    and 0 of 300 operations completed in 200 µs (scripts/ats_unmap_storm.py)."""
    from slugsim.fabric import SystemBuilder
    from slugsim.fabric.params import LinkParams, RunOptions, SwitchParams
    from slugsim.kernel.units import US
    from slugsim.sim import elaborate
    from slugsim.sim.runner import run_system

    workload = DeviceWorkloadParams(
        kind="read_modify_write", base=BASE, footprint=16 * PAGE, requests=300
    )
    ats = DeviceAtsParams(
        atc_entries=8, atc_ways=2, unmap_interval=500 * NS, unmap_batch=3,
        invalidate_queue_depth=2,
    )  # fmt: skip
    builder = SystemBuilder(RunOptions(seed=1, stop_time=200 * US))
    builder.host("host0").switch("sw0", SwitchParams(ports=4)).link("host0", "sw0")
    params = Type1Params(cache_size=4 << 10, cache_ways=4, workload=workload, ats=ats)
    builder.component("acc0", "type1", params).link("sw0", "acc0", LinkParams())
    stats, _ = run_system(elaborate(builder.build()))
    validate(stats)
    device = stats["devices"]["acc0"]
    assert device["completed"] == 300 and device["data_errors"] == 0
    assert stats["run"]["sim_time_ns"] < 200_000  # finished, not stopped by the clock
    assert device["ats"]["invalidations"] > 100  # the storm did rage meanwhile
    assert stats["hosts"]["host0"]["ats"]["blocked"] == 0
