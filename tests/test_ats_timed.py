"""Devices that use virtual addresses: the timed type1/type2 with ``params.ats``."""

from __future__ import annotations

import pytest
from slugsim.components import DeviceWorkloadParams
from slugsim.components.coherent_params import DeviceAtsParams
from test_coherent_system import BASE, check_consistent, coherent_system, run

KINDS = ["stream_read", "read_modify_write", "producer_consumer", "migratory", "false_sharing"]


def _workload(kind: str, footprint: int, requests: int = 300) -> DeviceWorkloadParams:
    return DeviceWorkloadParams(
        kind=kind, base=BASE, footprint=footprint, requests=requests, partner="host0"
    )


@pytest.mark.parametrize("kind", KINDS)
def test_every_workload_runs_through_the_atc_and_stays_coherent(kind: str) -> None:
    sharing = kind in ("migratory", "false_sharing")
    footprint = 1024 if sharing or kind == "producer_consumer" else 64 << 10
    workload = _workload(kind, footprint)
    workloads = {"acc0": workload, "acc1": workload if sharing else None}
    ats = DeviceAtsParams(atc_entries=8, atc_ways=2)
    _system, stats = run(coherent_system(workloads, device={"cache_size": 16 << 10, "ats": ats}))
    assert stats["run"]["stop"] == "quiescent"
    check_consistent(stats)  # values checked too: data_errors == 0
    entry = stats["devices"]["acc0"]
    ats_stats = entry["ats"]
    assert ats_stats["lookups"] == ats_stats["hits"] + ats_stats["misses"] > 0
    host = stats["hosts"]["host0"]["ats"]
    translated = sum(stats["devices"][d]["ats"]["translation_requests"] for d in workloads if
                     workloads[d] is not None)  # fmt: skip
    assert host["translations"] == translated == host["walks"] + host["iotlb_hits"]
    assert host["unsupported"] == 0


def _stream(atc_entries: int, atc_ways: int, large: bool = False) -> dict:
    workload = _workload("stream_read", 16 << 10, requests=1024)  # 4 pages, 4 passes
    ats = DeviceAtsParams(atc_entries=atc_entries, atc_ways=atc_ways, large_pages=large)
    device = {"cache_size": 4 << 10, "ats": ats}  # the cache cannot hold the span
    _system, stats = run(coherent_system({"acc0": workload}, device=device))
    return stats


def test_hit_rate_follows_atc_size_and_page_size() -> None:
    fits = _stream(4, 4)["devices"]["acc0"]["ats"]
    assert fits["translation_requests"] == 4  # compulsory misses only
    small = _stream(2, 2)["devices"]["acc0"]["ats"]
    assert small["translation_requests"] == 16  # LRU thrash: every page of all 4 passes misses
    assert small["hit_rate"] < fits["hit_rate"]
    large = _stream(2, 2, large=True)
    assert large["devices"]["acc0"]["ats"]["translation_requests"] == 1  # one 2 MiB page
    assert large["hosts"]["host0"]["ats"]["walks"] == 1


def test_a_miss_costs_the_walk_and_the_io_round_trip() -> None:
    stats = _stream(4, 4)
    miss = stats["devices"]["acc0"]["ats"]["miss_latency_ns"]
    assert miss > 523  # 3 ns IOTLB lookup + 4 x 130 ns walk, plus the CXL.io round trip
    workload = _workload("stream_read", 16 << 10, requests=1024)
    _system, plain = run(coherent_system({"acc0": workload}, device={"cache_size": 4 << 10}))
    assert "ats" not in plain["devices"]["acc0"] and "ats" not in plain["hosts"]["host0"]
    assert stats["run"]["sim_time_ns"] > plain["run"]["sim_time_ns"]
