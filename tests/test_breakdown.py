"""The per-hop breakdown: a request's stages add up exactly to its latency, the means match the
latency statistics, and following requests changes nothing."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from slugsim.config import load_topology
from slugsim.sim import elaborate, run_system
from slugsim.stats import to_json, validate
from slugsim.stats.breakdown import HopBreakdown

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("name", ["quickstart", "memory_pool", "fat_tree_k4"])
def test_stages_add_up_to_each_requests_latency(name):
    system = elaborate(load_topology(ROOT / "topologies" / f"{name}.yaml"))
    breakdown = HopBreakdown(keep_transactions=True)
    breakdown.attach(system)
    stats, _ = run_system(system)
    assert breakdown.kept, "transactions were followed"
    for latency, stages in breakdown.kept:
        assert sum(duration for _, duration, _ in stages) == latency
        assert all(duration >= fixed >= 0 for _, duration, fixed in stages)
    # Every read that completed over CXL is one transaction (writebacks are the rest).
    reads = sum(
        paths["count"]
        for cls in stats["latency"].values()
        for path, paths in cls["paths"].items()
        if path.startswith("cxl:")
    )
    writebacks = sum(t["writebacks"] for h in stats["hosts"].values() for t in h["cxl"].values())
    assert reads <= len(breakdown.kept) <= reads + writebacks
    assert breakdown.unmatched == 0
    # Every transaction answered by a Type-3 has its device time split at the DRAM's times.
    devices = [n for n, k in system.graph.nodes(data="kind") if k == "type3"]
    for _, stages in breakdown.kept:
        names = [stage for stage, _, _ in stages]
        (device,) = [d for d in devices if f"{d} controller" in names]
        at = names.index(f"{device} controller")
        assert names[at : at + 3] == [
            f"{device} controller", f"{device} DRAM queue", f"{device} DRAM service"
        ]  # fmt: skip
        assert device not in names  # no unsplit device stage


@pytest.mark.parametrize("dram_model", ["simple", "timing"])
def test_device_split_adds_up_and_p99_is_the_stages(dram_model):
    graph = load_topology(ROOT / "topologies" / "memory_pool.yaml")
    for name, kind in graph.nodes(data="kind"):
        if kind == "type3":
            params = graph.nodes[name]["params"]
            graph.nodes[name]["params"] = dataclasses.replace(params, dram_model=dram_model)
    system = elaborate(graph)
    breakdown = HopBreakdown(keep_transactions=True)
    breakdown.attach(system)
    run_system(system)
    by_stage: dict[str, list[int]] = {}
    for latency, stages in breakdown.kept:
        assert sum(duration for _, duration, _ in stages) == latency
        assert all(duration >= fixed >= 0 for _, duration, fixed in stages)
        for stage, duration, _ in stages:
            by_stage.setdefault(stage, []).append(duration)
    services = [d for s, ds in by_stage.items() if s.endswith("DRAM service") for d in ds]
    assert min(services) >= 0 and max(services) > 0
    # Each stage's p99 is the exact nearest-rank one, or at most 2^-7 above it (2 digits).
    summary = breakdown.summary()
    for totals in summary.values():
        for stage, figures in totals["stages"].items():
            values = sorted(by_stage[stage])
            exact = values[max(-(-99 * len(values) // 100), 1) - 1] / 1000
            if totals["transactions"] == len(values):
                assert exact <= figures["p99_ns"] <= exact * (1 + 2**-7) + 0.001
            assert figures["mean_ns"] <= figures["max_ns"]
            assert figures["p99_ns"] <= figures["max_ns"]


def test_the_breakdown_in_stats_json_matches_the_latency_and_changes_nothing():
    path = ROOT / "topologies" / "quickstart.yaml"
    plain, _ = run_system(elaborate(load_topology(path)))
    graph = load_topology(path)
    graph.graph["run"] = dataclasses.replace(graph.graph["run"], breakdown=True)
    stats, _ = run_system(elaborate(graph))
    validate(stats)
    route = stats.pop("breakdown")
    assert to_json(stats) == to_json(plain)
    (only,) = route.values()
    assert only["mean_ns"] == pytest.approx(stats["latency"]["read"]["paths"]["cxl:mem0"]["mean"])
    stages = only["stages"]
    assert list(stages) == [
        "host0", "host0->sw0", "sw0 (req)", "sw0->mem0", "mem0 controller", "mem0 DRAM queue",
        "mem0 DRAM service", "mem0->sw0", "sw0 (rsp)", "sw0->host0",
    ]  # fmt: skip
    # Idle device: the controller is its 75 ns each way, the DRAM a 55 ns access after its
    # 64 B transfer (Type3Params), with no wait for it.
    assert stages["mem0 controller"]["fixed_ns"] == 150.0
    assert stages["mem0 DRAM service"]["mean_ns"] == pytest.approx(55 + 64 / 38.4, abs=0.01)
    assert stages["mem0 DRAM queue"]["mean_ns"] < 1
    assert only["p99_ns"] >= only["mean_ns"]
    assert sum(s["mean_ns"] for s in stages.values()) == pytest.approx(only["mean_ns"], abs=0.01)
    # Idle fabric: the switch is its pipeline alone, a link its flight plus serialisation.
    assert stages["sw0 (req)"]["mean_ns"] == stages["sw0 (req)"]["fixed_ns"] == 113.0
    assert stages["host0->sw0"]["fixed_ns"] == 10.0 < stages["host0->sw0"]["mean_ns"] < 11
