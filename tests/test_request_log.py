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
