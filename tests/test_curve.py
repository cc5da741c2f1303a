"""slugsim curve: an MLC-style loaded-latency table on a small system that saturates its link."""

from __future__ import annotations

import contextlib
import io
import re
from itertools import pairwise
from pathlib import Path

import pytest
from slugsim.cli import main
from slugsim.sim.curve import parse_delays

SMALL = """\
description: four cores with 16 misses each behind a x2 link, enough to saturate it
run: {seed: 1}
components:
  - name: host0
    kind: host
    params:
      cores: 4
      outstanding: 16
      hdm: [{base: 64GiB, size: 64GiB, targets: [mem0]}]
      workload: {kind: random, footprint: 1GiB, target: cxl, requests: 1000}
  - {name: mem0, kind: type3}
links:
  - {between: [host0, mem0], width: x2}
"""
ROW = re.compile(r" (\d{5,})  +([0-9.]+)  +([0-9.]+)")


def run_cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def small(tmp_path: Path) -> Path:
    path = tmp_path / "small.yaml"
    path.write_text(SMALL)
    return path


def test_curve_prints_mlc_table_bandwidth_falls_latency_does_not_rise(small, tmp_path):
    out = tmp_path / "out"
    code, stdout, err = run_cli(
        "curve", str(small), "--delays", "0,1000,3000,10000", "--requests", "1500",
        "--out", str(out), "--workers", "0", "--no-progress",
    )  # fmt: skip
    assert code == 0, err
    lines = stdout.splitlines()
    assert lines[1:4] == ["Inject  Latency Bandwidth", "Delay   (ns)    MB/sec", "=" * 26]
    rows = [ROW.fullmatch(line) for line in lines[4:]]
    assert len(rows) == 4 and all(rows), stdout
    delays = [int(m[1]) for m in rows if m]
    latency = [float(m[2]) for m in rows if m]
    bandwidth = [float(m[3]) for m in rows if m]
    assert delays == [0, 1000, 3000, 10000]
    assert all(a > b for a, b in pairwise(bandwidth)), stdout
    assert all(b <= a * 1.005 for a, b in pairwise(latency)), stdout
    assert latency[0] > 1.5 * latency[-1]  # the saturated link queues requests
    assert (out / "curve.png").read_bytes().startswith(b"\x89PNG")
    assert (out / "curve.csv").read_text().startswith("inject_delay_ns,latency_ns,bandwidth_mb_s")
    assert len(list((out / "cache").glob("*.json"))) == 4


def test_delays_take_units_and_bare_numbers_are_ns():
    assert parse_delays("0, 100,1us,2.5") == [0, 100_000, 1_000_000, 2_500]
    for bad in ("", "1,,2", "-5", "3 parsecs"):
        with pytest.raises(ValueError):
            parse_delays(bad)


def test_curve_bad_input_exits_2(small, tmp_path):
    out = str(tmp_path / "out")
    code, _, err = run_cli("curve", str(small), "--host", "mem0", "--out", out)
    assert code == 2 and "--host mem0 is not a host with a workload" in err, err
    code, _, err = run_cli("curve", str(small), "--delays", "1,x", "--out", out)
    assert code == 2 and "hint:" in err, err
    idle = tmp_path / "idle.yaml"
    idle.write_text(SMALL.replace("      workload:", "      # workload:"))
    code, _, err = run_cli("curve", str(idle), "--out", out)
    assert code == 2 and err.startswith(f"{idle}:3: no host has a workload"), err
    assert "Traceback" not in err and not Path(out).exists()


def test_the_vistara_topology_file_is_graphs_interleaved_system():
    from slugsim.config import load_topology
    from slugsim.sim.graphs import interleaved_system

    path = Path(__file__).parent.parent / "topologies" / "vistara_interleaved.yaml"
    from_file, from_code = load_topology(path), interleaved_system()
    assert from_file.graph["run"] == from_code.graph["run"]
    for graph in (from_file, from_code):
        assert sorted(graph.nodes) == ["host0", "mem0", "mem1"]
    for name in from_code.nodes:
        for field in ("kind", "params"):
            assert from_file.nodes[name][field] == from_code.nodes[name][field]
    for u, v, data in from_code.edges(data=True):
        assert from_file.edges[u, v]["params"] == data["params"]
