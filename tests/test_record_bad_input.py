"""Bad recordings (issue 14 item 6): each gets a message naming the file, exit code 2, no
traceback and no replay output; ``--salvage`` replays the valid prefixes and says what was
lost."""

from __future__ import annotations

import contextlib
import io
import json
import shutil
from pathlib import Path

import pytest
from slugsim.cli import main

TOPO = """
run: {{seed: {seed}}}
components:
  - name: host0
    kind: host
    params:
      llc_size: 4KiB
      llc_ways: 4
      hdm: [{{base: 64GiB, size: 16GiB, targets: [mem0]}}]
      workload: {{kind: random, read_ratio: 0.5, footprint: 64KiB, target: cxl, requests: 3000}}
  - {{name: mem0, kind: type3, params: {{capacity: 16GiB}}}}
links:
  - {{between: [host0, mem0]}}
"""


def run_cli(*argv: str | Path) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in argv])
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def recordings(tmp_path_factory) -> Path:
    """Two good recordings of two different topologies (seeds), made once."""
    root = tmp_path_factory.mktemp("recordings")
    for seed in (1, 2):
        topo = root / f"t{seed}.yaml"
        topo.write_text(TOPO.format(seed=seed))
        code, _, err = run_cli("run", topo, "--record", root / f"rec{seed}", "--no-progress")
        assert code == 0, err
    return root


@pytest.fixture
def rec(recordings, tmp_path) -> Path:
    """A fresh copy of a good recording to damage."""
    return Path(shutil.copytree(recordings / "rec1", tmp_path / "rec"))


def replay(rec: Path, *extra: str) -> tuple[int, str, str, Path]:
    out = rec.parent / "out"
    code, stdout, err = run_cli("replay", rec, "--out", out, "--no-progress", *extra)
    return code, stdout, err, out


def refused(rec: Path, names: str | Path, says: str, *extra: str) -> str:
    code, _, err, out = replay(rec, *extra)
    assert code == 2, err
    assert "Traceback" not in err
    assert str(names) in err and says in err, err
    assert "hint:" in err
    assert not out.exists()
    return err


def truncate(path: Path, keep: float = 0.6) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])


def test_a_good_recording_replays(rec):
    code, _, err, out = replay(rec, "--mode", "validate")
    assert code == 0, err
    assert (out / "replay.json").exists()


def test_truncated_trace(rec):
    trace = rec / "emc" / "host0.emc"
    truncate(trace)
    refused(rec, trace, "truncated")
    code, _, err, out = replay(rec, "--salvage")
    assert code == 0, err
    assert f"salvage: {trace}" in err and "lost" in err
    report = json.loads((out / "replay.json").read_text())
    assert report["losses"] and "kept" in report["losses"][0]


def test_flipped_bit(rec):
    trace = rec / "emc" / "mem0.emc"
    raw = bytearray(trace.read_bytes())
    raw[len(raw) // 2] ^= 0x10  # inside a chunk's records
    trace.write_bytes(bytes(raw))
    refused(rec, trace, "fails its CRC")
    code, _, err, _ = replay(rec, "--salvage")
    assert code == 0 and "fails its CRC" in err and "lost" in err


def test_flipped_bit_in_a_trace_header(rec):
    trace = rec / "emc" / "host0.emc"
    raw = bytearray(trace.read_bytes())
    raw[30] ^= 0x01
    trace.write_bytes(bytes(raw))
    refused(rec, trace, "header CRC")
    code, _, err, _ = replay(rec, "--salvage")
    assert code == 0 and "records lost" in err


def test_missing_trace(rec):
    trace = rec / "emc" / "mem0.emc"
    trace.unlink()
    refused(rec, trace, "missing trace")
    code, _, err, _ = replay(rec, "--salvage")
    assert code == 0 and "missing" in err


def test_manifest_of_another_topology(rec, recordings):
    shutil.copy(recordings / "rec2" / "manifest.json", rec / "manifest.json")
    refused(rec, rec / "topology.yaml", "another topology")


def test_trace_of_another_recording(rec, recordings):
    shutil.copy(recordings / "rec2" / "emc" / "mem0.emc", rec / "emc" / "mem0.emc")
    refused(rec, rec / "emc" / "mem0.emc", "another recording")


@pytest.mark.parametrize(
    ("field", "value", "says"),
    [
        ("format_version", 99, "recording format version 99"),
        ("slugsim_version", "0.0.1", "recorded by slugsim 0.0.1"),
    ],
)
def test_version_mismatch(rec, field, value, says):
    manifest = json.loads((rec / "manifest.json").read_text())
    manifest[field] = value
    (rec / "manifest.json").write_text(json.dumps(manifest))
    refused(rec, rec / "manifest.json", says)


def test_trace_format_version_mismatch(rec):
    import struct

    trace = rec / "emc" / "host0.emc"
    raw = trace.read_bytes()
    trace.write_bytes(raw[:8] + struct.pack("<H", 7) + raw[10:])
    refused(rec, trace, "version 7 is not supported")


def test_missing_or_broken_manifest(rec):
    (rec / "manifest.json").write_text("{not json")
    refused(rec, rec / "manifest.json", "unreadable manifest")
    (rec / "manifest.json").unlink()
    refused(rec, rec / "manifest.json", "not a complete recording")


def test_not_a_recording(tmp_path):
    refused(tmp_path / "nope", tmp_path / "nope", "no such recording directory")


def test_validate_on_another_topology_is_refused(rec, recordings):
    refused(rec, recordings / "t2.yaml", "validate replays on the recorded topology",
            "--mode", "validate", "--topo", str(recordings / "t2.yaml"))  # fmt: skip


def test_bad_map(rec):
    refused(rec, "--map", "expected OLD=NEW", "--map", "host0")


def test_record_into_a_file_or_a_foreign_directory(tmp_path):
    topo = tmp_path / "t.yaml"
    topo.write_text(TOPO.format(seed=1))
    (tmp_path / "f").write_text("x")
    code, _, err = run_cli("run", topo, "--record", tmp_path / "f", "--no-progress")
    assert code == 2 and "is a file" in err
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "keep.txt").write_text("mine")
    code, _, err = run_cli("run", topo, "--record", tmp_path / "d", "--no-progress")
    assert code == 2 and "is not a recording" in err
    assert (tmp_path / "d" / "keep.txt").read_text() == "mine"
