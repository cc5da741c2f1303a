"""Replay of recordings whose hosts run device-coherent memory (HDM-DB, issue 12): not
re-driven yet, so replay refuses them with a message naming what is missing (exit 2, no output)
instead of replaying nothing and failing validate on every trace."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import pytest
import yaml
from slugsim.cli import main

TOPOLOGIES = Path(__file__).parent.parent / "topologies"


def run_cli(*argv: str | Path) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in argv])
    return code, out.getvalue(), err.getvalue()


def small_pool(dst: Path) -> Path:
    """pooled_hdmdb.yaml with 50 requests per core and 50 device accesses."""
    data = yaml.safe_load((TOPOLOGIES / "pooled_hdmdb.yaml").read_text())
    for component in data["components"]:
        params = component.get("params") or {}
        if "workload" in params:
            params["workload"]["requests"] = 50
        if "device_ops" in params:
            params["device_ops"] = 50
    data["emc"] = {"at": ["endpoints"]}
    dst.write_text(yaml.safe_dump(data, sort_keys=False))
    return dst


@pytest.mark.parametrize("mode", ["validate", "dependency"])
def test_replay_refuses_hdm_db_hosts_by_name(tmp_path, mode):
    topo = small_pool(tmp_path / "pool.yaml")
    code, _, err = run_cli("run", topo, "--record", tmp_path / "rec", "--no-progress")
    assert code == 0, err
    code, out, err = run_cli(
        "replay", tmp_path / "rec", "--mode", mode, "--out", tmp_path / "out", "--no-progress"
    )
    assert code == 2
    assert "Traceback" not in err
    first = err.splitlines()[0]
    assert first.startswith(str(tmp_path / "rec" / "topology.yaml"))
    assert "'host0', 'host1', 'host2', 'host3'" in first
    assert "HDM-DB" in first and "'pool0'" in first and "does not re-drive" in first
    assert "hint:" in err
    assert "replayed" not in out  # nothing ran
    assert not (tmp_path / "out").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_a_pool_host_without_a_trace_does_not_block_replay(tmp_path):
    """Only traced hosts would need re-driving: with EMCs on the device alone the hosts run
    live, and validate reproduces the device's trace."""
    topo = small_pool(tmp_path / "pool.yaml")
    data = yaml.safe_load(topo.read_text())
    data["emc"] = {"at": ["pool0"]}
    topo.write_text(yaml.safe_dump(data, sort_keys=False))
    code, _, err = run_cli("run", topo, "--record", tmp_path / "rec", "--no-progress")
    assert code == 0, err
    code, out, err = run_cli(
        "replay", tmp_path / "rec", "--mode", "validate", "--out", tmp_path / "out",
        "--no-progress",
    )  # fmt: skip
    assert code == 0, err
    assert "reproduced byte for byte" in out
