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
        "host0", "host0->sw0", "sw0 (req)", "sw0->mem0", "mem0", "mem0->sw0", "sw0 (rsp)",
        "sw0->host0",
    ]  # fmt: skip
    assert sum(s["mean_ns"] for s in stages.values()) == pytest.approx(only["mean_ns"], abs=0.01)
    # Idle fabric: the switch is its pipeline alone, a link its flight plus serialisation.
    assert stages["sw0 (req)"]["mean_ns"] == stages["sw0 (req)"]["fixed_ns"] == 113.0
    assert stages["host0->sw0"]["fixed_ns"] == 10.0 < stages["host0->sw0"]["mean_ns"] < 11
