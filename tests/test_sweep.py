"""slugsim sweep: override paths, sweep files (good and bad), results equal to serial runs,
the per-point cache (an interrupted sweep resumes without rerunning finished points)."""

from __future__ import annotations

import contextlib
import io
import json
import re
import threading
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
import yaml
from slugsim.cli import main
from slugsim.config import load_topology
from slugsim.fabric.errors import TopologyError
from slugsim.sim import elaborate, run_system
from slugsim.sim.sweep import load_sweep, parse_path
from slugsim.sim.sweep_run import execute, run_point
from slugsim.stats import to_json

TOPOLOGIES = Path(__file__).parent.parent / "topologies"
QUICKSTART = TOPOLOGIES / "quickstart.yaml"
THINK = "components.host0.params.workload.think_time"


def run_cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


def write_sweep(tmp_path: Path, text: str, name: str = "sweep.yaml") -> Path:
    path = tmp_path / name
    path.write_text(f"topology: {QUICKSTART}\n" + text)
    return path


def serial_stats(overrides: dict[str, Any], tmp_path: Path) -> str:
    """stats.json of the quickstart with the overrides, edited by hand and run directly."""
    data = yaml.safe_load(QUICKSTART.read_text())
    data["run"]["requests"] = overrides["run.requests"]
    data["run"]["seed"] = overrides["run.seed"]
    data["components"][0]["params"]["workload"]["think_time"] = overrides[THINK]
    path = tmp_path / "serial.yaml"
    path.write_text(yaml.safe_dump(data))
    stats, _ = run_system(elaborate(load_topology(path)))
    return to_json(stats)


# -- override paths -----------------------------------------------------------------------------


def test_override_paths_parse():
    assert parse_path("run.seed") == ["run", "seed"]
    assert parse_path("components.host0.params.hdm[0].size") == [
        "components", "host0", "params", "hdm", 0, "size",
    ]  # fmt: skip
    dotted = parse_path("components[cpu.a].params.cores")
    assert dotted == ["components", "cpu.a", "params", "cores"]
    assert parse_path("links[1].class_credits.m2s_req") == ["links", 1, "class_credits", "m2s_req"]
    for bad in ("", "seed", "run", "components.host0", "run..seed", ".run.seed", "links.x.width"):
        with pytest.raises(ValueError):
            parse_path(bad)


def test_grid_expands_first_key_slowest_and_applies_set(tmp_path):
    path = write_sweep(
        tmp_path,
        "set: {run.requests: 100}\n"
        f"grid:\n  {THINK}: [0ns, 5ns]\n  run.seed: [1, 2, 3]\n"
        "  links[0].width: [x8]\n",
    )
    sweep = load_sweep(path)
    assert [p.params[THINK] for p in sweep.points] == ["0ns"] * 3 + ["5ns"] * 3
    assert [p.seed for p in sweep.points] == [1, 2, 3] * 2
    assert sweep.swept == [THINK, "run.seed", "links[0].width"]
    first = sweep.points[0].document
    assert first["run"]["requests"] == 100 and first["links"][0]["width"] == "x8"
    assert len({p.key for p in sweep.points}) == 6
    # the topology itself is not changed, and points do not share parts
    assert sweep.points[1].document["links"][1].get("width") == "x16"


def test_counted_groups_are_addressed_by_group_name(tmp_path):
    (tmp_path / "pool.yaml").write_text((TOPOLOGIES / "memory_pool.yaml").read_text())
    text = (TOPOLOGIES / "memory_pool.yaml").read_text()
    group = next(c["name"] for c in yaml.safe_load(text)["components"] if c.get("count"))
    sweep = tmp_path / "s.yaml"
    sweep.write_text(f"topology: pool.yaml\npoints:\n  - {{components.{group}.params.cores: 2}}\n")
    assert load_sweep(sweep).points[0].params == {f"components.{group}.params.cores": 2}


# -- bad sweep files ----------------------------------------------------------------------------

BAD = {
    # name: (sweep text after 'topology:', the marked line's expected message)
    "unknown_field": ("grd:  # <-- here\n  run.seed: [1]\n", "unknown field 'grd'"),
    "grid_not_list": ("grid:\n  run.seed: 3  # <-- here\n", "must be a non-empty list"),
    "bad_root": ("grid:\n  rn.seed: [1]  # <-- here\n", "must start with run, components"),
    "unknown_component": (
        f"grid:\n  {THINK.replace('host0', 'hots0')}: [1ns]  # <-- here\n",
        "no component 'hots0' (did you mean 'host0'?)",
    ),
    "unknown_param": (
        "grid:\n  components.host0.params.workload.thinktime: [1ns]  # <-- here\n",
        "unknown field 'workload.thinktime'",
    ),
    "bad_value": (f"grid:\n  {THINK}:\n    - 1ns\n    - 3 parsecs  # <-- here\n", "point 1"),
    "bad_link": ("grid:\n  links[7].width: [x8]  # <-- here\n", "links[0] ... [1]"),
    "no_fabric": ("grid:\n  fabric.spines: [2]  # <-- here\n", "no fabric: section"),
    "bad_point": (
        "points:\n  - {run.seed: 1}\n  - {run.requests: 0}  # <-- here\n",
        "point 1 (run.requests=0)",
    ),
    "both": ("grid: {run.seed: [1]}\npoints: [{run.seed: 2}]\n", "exactly one of grid: and"),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_sweep_files_give_file_line_and_exit_2(tmp_path, name):
    text, expected = BAD[name]
    path = write_sweep(tmp_path, text)
    lines = path.read_text().splitlines()
    marked = [i for i, line in enumerate(lines, 1) if "# <-- here" in line]
    code, _, err = run_cli("sweep", str(path), "--out", str(tmp_path / "out"), "--workers", "0")
    assert code == 2, err
    assert "Traceback" not in err
    assert not (tmp_path / "out").exists()
    line = marked[0] if marked else 1
    problems = [x for x in err.splitlines() if not x.startswith("  hint: ")]
    assert all(re.match(rf"{re.escape(str(path))}:\d+: \S", x) for x in problems), err
    assert any(x.startswith(f"{path}:{line}: ") and expected in x for x in problems), err
    assert err.splitlines()[1].startswith("  hint: "), err


def test_a_missing_topology_is_reported_at_its_line(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text("description: x\ntopology: nowhere.yaml\ngrid: {run.seed: [1]}\n")
    code, _, err = run_cli("sweep", str(path), "--out", str(tmp_path / "out"))
    assert code == 2 and err.startswith(f"{path}:2: ") and "nowhere.yaml" in err, err


def test_one_report_per_problem_shared_by_points(tmp_path):
    path = write_sweep(tmp_path, f"grid:\n  {THINK}: [bad]\n  run.seed: [1, 2, 3]\n")
    with pytest.raises(TopologyError) as info:
        load_sweep(path)
    assert len(info.value.issues) == 1
    assert "(and 2 more points)" in info.value.issues[0].message


# -- running ------------------------------------------------------------------------------------

SMALL = f"set: {{run.requests: 300}}\ngrid:\n  {THINK}: [0ns, 40ns]\n  run.seed: [1, 2]\n"


def test_sweep_on_a_local_cluster_equals_serial_runs(tmp_path):
    sweep = load_sweep(write_sweep(tmp_path, SMALL))
    outcome = execute(sweep, tmp_path / "out", workers=2, processes=False, progress=False)
    assert not outcome.failed and len(outcome.results) == 4
    for r in outcome.results:
        assert r.result is not None
        expected = serial_stats({**r.point.params, "run.requests": 300}, tmp_path)
        assert to_json(r.result["stats"]) == expected
        cached = json.loads((tmp_path / "out" / "cache" / f"{r.point.key}.json").read_text())
        assert to_json(cached["result"]["stats"]) == expected


CALLS: list[int] = []
_LOCK = threading.Lock()


def counting_runner(document: Any, source: str) -> dict[str, Any]:
    with _LOCK:
        CALLS.append(document["run"]["seed"])
    return run_point(document, source)


def failing_runner(document: Any, source: str) -> dict[str, Any]:
    if (
        document["run"]["seed"] == 2
        and document["components"][0]["params"]["workload"].get("think_time") == "40ns"
    ):
        raise RuntimeError("model fell over")
    return counting_runner(document, source)


def interrupting_runner(document: Any, source: str) -> dict[str, Any]:
    if len(CALLS) == 2:
        raise KeyboardInterrupt  # as Ctrl-C in the middle of a sweep
    return counting_runner(document, source)


def test_a_failing_point_is_reported_and_a_rerun_runs_only_it(tmp_path):
    sweep = load_sweep(write_sweep(tmp_path, SMALL))
    out = tmp_path / "out"
    CALLS.clear()
    first = execute(sweep, out, workers=2, processes=False, progress=False, runner=failing_runner)
    assert [r.point.index for r in first.failed] == [3]
    assert "model fell over" in (first.failed[0].error or "")
    assert f"{THINK}=40ns, run.seed=2" in first.failed[0].point.label()
    assert len(list((out / "cache").glob("*.json"))) == 3 and len(CALLS) == 3
    CALLS.clear()
    second = execute(sweep, out, workers=2, processes=False, progress=False, runner=counting_runner)
    assert not second.failed and CALLS == [2]
    assert [r.cached for r in second.results] == [True, True, True, False]
    for a, b in zip(first.results[:3], second.results[:3], strict=True):
        assert a.result is not None and b.result is not None
        assert to_json(a.result["stats"]) == to_json(b.result["stats"])


def test_an_interrupted_sweep_keeps_finished_points_and_resumes(tmp_path):
    sweep = load_sweep(write_sweep(tmp_path, SMALL))
    out = tmp_path / "out"
    CALLS.clear()
    with pytest.raises(KeyboardInterrupt):
        execute(sweep, out, workers=0, progress=False, runner=interrupting_runner)
    assert len(list((out / "cache").glob("*.json"))) == 2
    assert not list((out / "cache").glob(".*"))  # no half-written entry left behind
    CALLS.clear()
    resumed = execute(sweep, out, workers=0, progress=False, runner=counting_runner)
    assert len(CALLS) == 2 and not resumed.failed
    assert [r.cached for r in resumed.results] == [True, True, False, False]


def test_the_sweep_command_writes_table_and_plot_and_reuses_its_cache(tmp_path):
    path = write_sweep(tmp_path, SMALL)
    out = tmp_path / "out"
    code, stdout, err = run_cli("sweep", str(path), "--out", str(out), "--workers", "1")
    assert code == 0, err
    assert "4 points (4 run, 0 cached, 0 failed)" in stdout
    table = pq.read_table(out / "results.parquet").to_pylist()
    assert [row["run.seed"] for row in table] == [1, 2, 1, 2]
    assert {"read_p50_ns", "read_p99_ns", "read_mean_ns", "bandwidth_gbps"} <= set(table[0])
    assert table[0]["bandwidth_gbps"] > table[2]["bandwidth_gbps"]  # think time lowers load
    header = (out / "results.csv").read_text().splitlines()[0]
    assert header.startswith(f"point,{THINK},run.seed,key,status")
    assert (out / "sweep.png").read_bytes().startswith(b"\x89PNG")
    code, stdout, err = run_cli("sweep", str(path), "--out", str(out), "--workers", "0")
    assert code == 0 and "4 points (0 run, 4 cached, 0 failed)" in stdout, err


def test_the_sweep_command_exits_1_when_a_point_fails(tmp_path, monkeypatch):
    import slugsim.sim.sweep_run as sweep_run

    monkeypatch.setattr(sweep_run, "run_point", failing_runner)
    path = write_sweep(tmp_path, SMALL)
    out = tmp_path / "out"
    code, stdout, err = run_cli("sweep", str(path), "--out", str(out), "--workers", "0")
    assert code == 1
    assert "4 points (3 run, 0 cached, 1 failed)" in stdout
    assert f"{path}: point 3 ({THINK}=40ns, run.seed=2) failed: RuntimeError: model fell" in err
    assert [row["status"] for row in pq.read_table(out / "results.parquet").to_pylist()] == [
        "ran", "ran", "ran", "failed",
    ]  # fmt: skip


@pytest.mark.parametrize("path", sorted((Path(__file__).parent.parent / "sweeps").glob("*.yaml")))
def test_shipped_sweep_files_load(path):
    sweep = load_sweep(path)
    assert sweep.points and sweep.swept


def test_an_existing_cluster_is_used_through_its_scheduler_address(tmp_path):
    from distributed import LocalCluster

    sweep = load_sweep(write_sweep(tmp_path, "grid: {run.seed: [1, 2]}\nset: {run.requests: 200}"))
    with LocalCluster(n_workers=1, processes=False, dashboard_address=":0") as cluster:
        outcome = execute(
            sweep, tmp_path / "out", scheduler=cluster.scheduler_address, progress=False
        )
        assert not outcome.failed and len(outcome.results) == 2
        assert len(cluster.scheduler.workers) == 1  # the sweep added no cluster of its own


def test_an_unreachable_scheduler_is_bad_input(tmp_path, monkeypatch):
    import slugsim.sim.sweep_run as sweep_run

    monkeypatch.setattr(sweep_run, "CONNECT_TIMEOUT_S", 1)
    path = write_sweep(tmp_path, "grid: {run.seed: [1]}\nset: {run.requests: 100}\n")
    code, _, err = run_cli("sweep", str(path), "--scheduler", "tcp://127.0.0.1:1", "--no-progress")
    assert code == 2 and "cannot reach the Dask scheduler tcp://127.0.0.1:1" in err, err
    assert "hint:" in err and "Traceback" not in err
