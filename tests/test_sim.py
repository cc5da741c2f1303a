"""Whole runs: outputs, determinism, atomic output directories, progress and stop conditions."""

import json
from pathlib import Path

import pytest
from rich.console import Console
from slugsim.components import HostParams
from slugsim.config import load_topology
from slugsim.fabric import SystemBuilder
from slugsim.fabric.params import HdmWindow, RunOptions, WorkloadParams
from slugsim.sim import run_topology
from slugsim.sim import runner as runner_module
from slugsim.sim.graphs import CXL_BASE, GIB
from slugsim.stats import validate

SEED = 7


def quiet() -> Console:
    return Console(file=open("/dev/null", "w"), width=120)


def small(seed: int = SEED, requests: int = 300):
    """A host with 4 cores, one switch and two interleaved expanders."""
    workload = WorkloadParams(kind="random", footprint=4 * GIB, requests=requests, read_ratio=0.75)
    host = HostParams(
        cores=4,
        hdm=(HdmWindow(base=CXL_BASE, size=128 * GIB, targets=("mem0", "mem1")),),
        workload=workload,
    )
    f = SystemBuilder(RunOptions(seed=seed)).host("host0", host).switch("sw0")
    f.type3("mem0").type3("mem1")
    return f.link("host0", "sw0").link("sw0", "mem0").link("sw0", "mem1").build()


def test_run_writes_every_output_and_a_valid_stats_json(tmp_path):
    out = tmp_path / "out"
    stats = run_topology(small(), out, None, False, console=quiet())
    assert sorted(p.name for p in out.iterdir()) == [
        "latency.png",
        "stats.json",
        "stats.txt",
        "topology.png",
    ]
    on_disk = json.loads((out / "stats.json").read_text())
    assert on_disk == stats
    validate(on_disk)
    assert on_disk["run"]["seed"] == SEED
    assert (out / "latency.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "latency.read.all.p99" in (out / "stats.txt").read_text()
    # Nothing temporary is left beside the output directory.
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_same_seed_gives_byte_identical_stats_and_another_seed_differs(tmp_path):
    run_topology(small(), tmp_path / "a", None, False, console=quiet())
    run_topology(small(), tmp_path / "b", None, True, console=quiet())  # progress on
    run_topology(small(), tmp_path / "c", SEED + 1, False, console=quiet())
    a, b, c = ((tmp_path / d / "stats.json").read_bytes() for d in "abc")
    assert a == b, f"seed {SEED}"
    assert a != c


def test_a_failure_leaves_no_output_and_keeps_the_previous_one(tmp_path, monkeypatch):
    out = tmp_path / "out"
    run_topology(small(), out, None, False, console=quiet())
    before = (out / "stats.json").read_bytes()

    def broken_plot(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(runner_module, "plot_latency", broken_plot)
    with pytest.raises(RuntimeError, match="disk full"):
        run_topology(small(seed=SEED + 1), out, None, False, console=quiet())
    assert (out / "stats.json").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    fresh = tmp_path / "fresh"
    with pytest.raises(RuntimeError):
        run_topology(small(), fresh, None, False, console=quiet())
    assert not fresh.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_rerun_replaces_an_existing_output_directory(tmp_path):
    out = tmp_path / "out"
    run_topology(small(), out, None, False, console=quiet())
    (out / "stale.txt").write_text("old")
    run_topology(small(), out, SEED + 1, False, console=quiet())
    assert not (out / "stale.txt").exists()
    assert json.loads((out / "stats.json").read_text())["run"]["seed"] == SEED + 1


def test_summary_table_is_printed(capsys):
    run_topology(small(), None, None, False, console=Console(width=120))
    out = capsys.readouterr().out
    assert "latency (ns)" in out and "p99" in out and "cxl:mem0" in out


def test_stop_time_ends_the_run():
    host = HostParams(
        hdm=(HdmWindow(base=CXL_BASE, size=GIB, targets=("mem0",)),),
        workload=WorkloadParams(requests=10**6),
    )
    graph = SystemBuilder(RunOptions(stop_time=20_000_000)).host("host0", host).type3("mem0")
    stats = run_topology(graph.link("host0", "mem0").build(), None, None, False, console=quiet())
    assert stats["run"]["stop"] == "stop_time"
    assert stats["run"]["sim_time_ns"] == 20_000.0
    assert 0 < stats["run"]["requests"] < 10**6


def test_slicing_for_the_progress_bar_does_not_change_results(monkeypatch):
    base = run_topology(small(), None, None, False, console=quiet())
    monkeypatch.setattr(runner_module, "SLICE", 1_000)
    assert run_topology(small(), None, None, False, console=quiet()) == base


def test_graphs_from_the_front_end_run():
    path = Path(__file__).resolve().parents[1] / "topologies" / "quickstart.yaml"
    stats = run_topology(load_topology(path), None, None, False, console=quiet())
    validate(stats)
    assert stats["run"]["requests"] > 0
