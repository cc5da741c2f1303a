"""The slugsim command line: validate, draw, schema, run and calibrate wiring, argument errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from slugsim.cli import main
from slugsim.config import load_topology
from slugsim.cxl import MessageClass
from slugsim.sim import elaborate, run_system

TOPOLOGIES = Path(__file__).parent.parent / "topologies"
QUICKSTART = str(TOPOLOGIES / "quickstart.yaml")
POOL = str(TOPOLOGIES / "memory_pool.yaml")


def test_validate_prints_a_summary(capsys):
    assert main(["validate", POOL]) == 0
    out = capsys.readouterr().out
    assert f"{POOL}: ok" in out
    assert "4 host, 3 switch, 1 type3" in out
    assert "longest host-to-memory route: 3 links" in out
    assert "stop after 20000 requests" in out


def test_draw_writes_a_png(tmp_path, capsys):
    target = tmp_path / "fabric.png"
    assert main(["draw", POOL, "-o", str(target)]) == 0
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not list(tmp_path.glob(".draw-*")), "temporary file left behind"


@pytest.mark.parametrize("output", ["fabric.svg", "missing/dir/fabric.png"])
def test_draw_refuses_bad_outputs(tmp_path, capsys, output):
    assert main(["draw", POOL, "-o", str(tmp_path / output)]) == 2
    assert "hint:" in capsys.readouterr().err


def test_schema_to_stdout_and_file(tmp_path, capsys):
    assert main(["schema"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["title"] == "slugsim topology"
    assert main(["schema", "-o", str(tmp_path / "s.json")]) == 0
    assert json.loads((tmp_path / "s.json").read_text()) == printed


@pytest.mark.parametrize(
    "argv",
    [[], ["frobnicate"], ["run"], ["run", QUICKSTART, "--seed", "abc"], ["draw", QUICKSTART, "-x"]],
)
def test_argument_errors_exit_2_with_a_hint(capsys, argv):
    with pytest.raises(SystemExit) as info:
        if main(argv) == 2:  # no command: help and exit code 2 without argparse's exit
            raise SystemExit(2)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "usage:" in err


def test_missing_models_give_a_clear_error_and_no_output(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "slugsim.sim", None)  # as if the package did not exist
    out = tmp_path / "out"
    assert main(["run", QUICKSTART, "--out", str(out)]) == 1
    assert "simulation models are not available" in capsys.readouterr().err
    assert not out.exists()
    assert main(["calibrate"]) == 1
    assert "calibration needs the simulation models" in capsys.readouterr().err


def test_run_passes_graph_out_dir_seed_and_progress(tmp_path, monkeypatch):
    import slugsim.sim

    seen = {}

    def fake_run(graph, out_dir, seed, progress):
        seen.update(graph=graph, out_dir=out_dir, seed=seed, progress=progress)
        return {"run": {"stop": "quiescent"}}

    monkeypatch.setattr(slugsim.sim, "run_topology", fake_run)
    assert main(["run", QUICKSTART, "--out", str(tmp_path / "o"), "--seed", "7"]) == 0
    assert seen["out_dir"] == tmp_path / "o" and seen["seed"] == 7 and seen["progress"]
    assert seen["graph"].graph["run"].seed == 7
    assert main(["run", QUICKSTART, "--no-progress"]) == 0
    assert seen["out_dir"] is None and seen["seed"] is None and not seen["progress"]
    assert seen["graph"].graph["run"].seed == 1


def test_run_refuses_a_file_as_output_directory(tmp_path, capsys):
    (tmp_path / "f").write_text("x")
    assert main(["run", QUICKSTART, "--out", str(tmp_path / "f")]) == 2
    assert "is a file" in capsys.readouterr().err


def test_quickstart_runs_end_to_end_and_is_reproducible(tmp_path):
    """The real models (slugsim.sim): same seed and topology -> byte-identical stats.json."""
    for name in ("a", "b"):
        assert main(["run", QUICKSTART, "--out", str(tmp_path / name), "--seed", "5"]) == 0
    first, second = (tmp_path / "a" / "stats.json"), (tmp_path / "b" / "stats.json")
    assert first.read_bytes() == second.read_bytes()
    assert (tmp_path / "a" / "topology.png").read_bytes()[:4] == b"\x89PNG"


def test_stats_do_not_depend_on_the_process(tmp_path):
    """Two processes with different string-hash seeds write the same bytes (no set/dict order
    of names leaks into the results)."""
    outputs = []
    for hash_seed in ("1", "2"):
        out = tmp_path / hash_seed
        done = subprocess.run(
            [sys.executable, "-m", "slugsim", "run", POOL, "--out", str(out), "--no-progress"],
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, "PYTHONHASHSEED": hash_seed},
        )
        assert done.returncode == 0, done.stderr
        outputs.append((out / "stats.json").read_bytes() + (out / "stats.txt").read_bytes())
    assert outputs[0] == outputs[1]


def test_entry_point_runs_as_a_module():
    done = subprocess.run(
        [sys.executable, "-m", "slugsim", "validate", QUICKSTART, "no-such.yaml"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert f"{QUICKSTART}: ok" in done.stdout
    assert done.stderr.startswith("no-such.yaml: no such file")
    assert "Traceback" not in done.stderr


RING = """\
description: a loaded ring of switches
run: {{seed: 1}}
components:
  - name: host
    kind: host
    count: 6
    params:
      cores: 8
      outstanding: 32
      llc_size: 64KiB
      hdm:
        - {{base: 64GiB, size: 96GiB, granularity: 256,
           targets: [mem0, mem1, mem2, mem3, mem4, mem5]}}
      workload: {{kind: random, read_ratio: 0.5, footprint: 8GiB, target: cxl, requests: 100}}
  - {{name: mem, kind: type3, count: 6, params: {{capacity: 16GiB}}}}
fabric:
  family: ring
  switches: 6
  switch: {{ports: 8, queue_depth: 2, hold_ingress: {hold}}}
  trunk: {{rate: 32GT/s, width: x1, credits: 2}}
"""


def test_in_a_held_ring_only_requests_wait_on_each_other(tmp_path):
    """Responses have their own virtual channels, so the held ring no longer deadlocks through
    them: what is left waiting is M2S requests alone, held in a cycle of switch buffers that
    shortest-path routing on a ring makes (a routing deadlock within one class; escaping it
    needs dateline channels or a routing restriction, not modelled)."""
    topo = tmp_path / "ring.yaml"
    topo.write_text(RING.format(hold="true"))
    system = elaborate(load_topology(topo))
    stats, _ = run_system(system)
    assert stats["run"]["stop"] == "deadlock"
    waiting = {
        vc.name: sum(
            port.backlog(vc) for c in system.components.values() for port in c.ports.values()
        )
        for vc in MessageClass
    }
    stuck = {name for name, count in waiting.items() if count}
    assert stuck == {"M2S_REQ"}, waiting


def test_a_deadlocked_run_says_so_and_fails(tmp_path, capsys):
    """Held ingress buffers on a ring of switches wait on each other under load: the run must
    end as a deadlock (exit 1, a message, stop: deadlock in stats.json), not as a short run."""
    topo = tmp_path / "ring.yaml"
    topo.write_text(RING.format(hold="true"))
    assert main(["run", str(topo), "--out", str(tmp_path / "held"), "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert "deadlocked" in err and "hint: " in err
    stats = json.loads((tmp_path / "held" / "stats.json").read_text())
    assert stats["run"]["stop"] == "deadlock" and stats["run"]["requests"] < 6 * 8 * 100
    # The same fabric without held buffers (the default) completes every request.
    topo.write_text(RING.format(hold="false"))
    assert main(["run", str(topo), "--out", str(tmp_path / "free"), "--no-progress"]) == 0
    stats = json.loads((tmp_path / "free" / "stats.json").read_text())
    assert stats["run"]["stop"] == "quiescent" and stats["run"]["requests"] == 6 * 8 * 100
