"""slugsim run --log-requests: one Parquet row per completed request, written atomically."""

from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from slugsim.cli import main
from slugsim.sim import run_topology
from slugsim.stats import request_log
from slugsim.stats.histogram import RELATIVE_ERROR
from slugsim.stats.latency import nearest_rank
from test_sim import quiet, small

QUICKSTART = Path(__file__).resolve().parents[1] / "topologies" / "quickstart.yaml"


def test_rows_are_the_completed_requests_and_match_the_histograms(tmp_path, monkeypatch):
    monkeypatch.setattr(request_log, "ROW_GROUP", 500)  # several row groups
    path = tmp_path / "requests.parquet"
    stats = run_topology(small(requests=800), None, None, False, console=quiet(), log_requests=path)
    assert [p.name for p in tmp_path.iterdir()] == ["requests.parquet"]  # no temporary left
    parquet = pq.ParquetFile(path)
    assert parquet.metadata.num_row_groups > 1
    table = parquet.read()
    rows = table.to_pydict()
    assert table.num_rows == stats["run"]["requests"] == stats["hosts"]["host0"]["completed"]
    assert set(rows["host"]) == {"host0"}
    assert all(
        d - i == lat
        for i, d, lat in zip(
            rows["issue_ps"], rows["completion_ps"], rows["latency_ps"], strict=True
        )
    )
    assert all(a % 64 == 0 for a in rows["address"])
    by_stream = Counter(zip(rows["class"], rows["path"], strict=True))
    for cls, data in stats["latency"].items():
        for path_name, summary in data["paths"].items():
            assert by_stream[cls, path_name] == summary["count"]
            latencies = sorted(
                lat
                for c, p, lat in zip(rows["class"], rows["path"], rows["latency_ps"], strict=True)
                if (c, p) == (cls, path_name)
            )
            assert summary["max"] == round(latencies[-1] / 1000, 3)
            exact = nearest_rank(latencies, 50) / 1000
            assert exact <= summary["p50"] <= round(exact * (1 + RELATIVE_ERROR), 3) + 0.001
    assert sum(by_stream.values()) == table.num_rows


def test_rows_carry_their_stages_with_the_breakdown(tmp_path):
    # With run.breakdown each row lists the request's stages, named as in stats.json, and
    # they add up exactly to its latency; without it there is no stages column.
    import dataclasses

    from slugsim.config import load_topology

    graph = load_topology(QUICKSTART)
    graph.graph["run"] = dataclasses.replace(graph.graph["run"], breakdown=True)
    path = tmp_path / "requests.parquet"
    stats = run_topology(graph, None, None, False, console=quiet(), log_requests=path)
    rows = pq.read_table(path).to_pylist()
    assert len(rows) == stats["run"]["requests"]
    routes = stats["breakdown"]
    crossed = [r for r in rows if r["path"].startswith("cxl:")]
    assert crossed and all(not r["stages"] for r in rows if not r["path"].startswith("cxl:"))
    for row in crossed:
        names = [s["stage"] for s in row["stages"]]
        assert sum(s["ps"] for s in row["stages"]) == row["latency_ps"]
        assert any(list(route["stages"]) == names for route in routes.values())
        assert {"mem0 controller", "mem0 DRAM queue", "mem0 DRAM service"} <= set(names)
    # The mean of each stage over the rows is the breakdown's mean for it.
    (route,) = routes.values()
    for name, stage in route["stages"].items():
        values = [s["ps"] for r in crossed for s in r["stages"] if s["stage"] == name]
        assert sum(values) / len(values) / 1000 == pytest.approx(stage["mean_ns"], abs=0.001)
    plain = tmp_path / "plain.parquet"
    run_topology(load_topology(QUICKSTART), None, None, False, console=quiet(), log_requests=plain)
    assert "stages" not in pq.read_schema(plain).names
    # docs/stats.md lists every column the file has.
    from slugsim.stats.schema import REQUEST_LOG_COLUMNS

    assert [name for name, _, _ in REQUEST_LOG_COLUMNS] == pq.read_schema(path).names


def test_a_failed_run_leaves_no_file(tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("simulated failure")

    monkeypatch.setattr("slugsim.sim.run_system", broken)
    path = tmp_path / "requests.parquet"
    with pytest.raises(RuntimeError):
        run_topology(small(), None, None, False, console=quiet(), log_requests=path)
    assert list(tmp_path.iterdir()) == []


def test_log_leaves_stats_unchanged(tmp_path):
    plain = run_topology(small(), None, None, False, console=quiet())
    logged = run_topology(
        small(), None, None, False, console=quiet(), log_requests=tmp_path / "r.parquet"
    )
    assert plain == logged


@pytest.mark.parametrize("where", ["missing/requests.parquet", "."])
def test_unwritable_log_path_is_bad_input(tmp_path, capsys, where):
    target = tmp_path / where
    code = main(["run", str(QUICKSTART), "--log-requests", str(target)])
    assert code == 2
    err = capsys.readouterr().err
    assert "--log-requests" in err and "hint:" in err
