"""Trace files in the compact encoding (trace format version 5, ``emc: trace_format: compact``
or ``slugsim run --record-format compact``): the same records as a raw trace in fewer bytes,
told apart by the header, and damaged the same way raw traces are (a cut-off file reads as its
valid prefix, a flipped bit fails a CRC named by file and byte, exit 2, --salvage)."""

from __future__ import annotations

import json
import os
import random
import shutil
import warnings
import zlib
from pathlib import Path

import pytest
from slugsim.cxl import Channel, Direction, EmcRecord
from slugsim.emc import TraceWriter, read_trace
from slugsim.emc.trace import COMPACT_VERSION, VERSION, TraceWarning
from test_record_bad_input import TOPO, refused, replay, run_cli, truncate


def seed_for(name: str) -> int:
    """``SLUGSIM_SEED`` when set (to rerun a printed seed), else a fixed seed per test."""
    return int(os.environ.get("SLUGSIM_SEED") or zlib.crc32(name.encode()))


def _records(rng: random.Random, n: int) -> list[tuple[EmcRecord, int]]:
    out, t = [], 0
    for _ in range(n):
        t += rng.randrange(0, 5000)
        record = EmcRecord(
            timestamp=t,
            channel=Channel(rng.randrange(12)),
            opcode=rng.randrange(16),
            direction=Direction(rng.randrange(2)),
            tag=rng.randrange(1 << 16),
            addr=rng.choice([0, rng.randrange(1 << 30) << 6]),
            port=rng.randrange(4),
        )
        queued = rng.choice([0, rng.randrange(1 << 20)]) if record.direction else 0
        out.append((record, rng.randrange(1 << 31) | queued << 32))
    return out


def _write(path: Path, rows, encoding: str, chunk: int = 64) -> None:
    with TraceWriter(path, "x", 1, {"k": 1}, chunk_records=chunk, encoding=encoding) as w:
        for record, ext in rows:
            w.write(record, ext)


def test_compact_trace_reads_back_what_a_raw_one_holds(tmp_path):
    seed = seed_for("compact-roundtrip")
    print(f"seed {seed}")
    rows = _records(random.Random(seed), 1000)
    _write(tmp_path / "raw.emc", rows, "raw")
    _write(tmp_path / "c.emc", rows, "compact")
    raw, compact = read_trace(tmp_path / "raw.emc"), read_trace(tmp_path / "c.emc")
    assert (raw.header.version, compact.header.version) == (VERSION, COMPACT_VERSION)
    assert compact.complete and compact.records == raw.records and compact.ext == raw.ext
    assert compact.header.metadata == {"k": 1}


def test_a_cut_compact_trace_reads_as_whole_chunks(tmp_path):
    seed = seed_for("compact-cut")
    print(f"seed {seed}")
    rows = _records(random.Random(seed), 300)
    path = tmp_path / "c.emc"
    _write(path, rows, "compact", chunk=50)
    data = path.read_bytes()
    full = read_trace(path).records
    header_end = data.index(b"CHNK")
    for cut in range(header_end, len(data), 37):
        path.write_bytes(data[:cut])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", TraceWarning)
            trace = read_trace(path)
        n = len(trace.records)
        assert not trace.complete and n % 50 == 0 and trace.records == full[:n], cut


def test_a_flipped_bit_fails_the_chunk_crc(tmp_path):
    rows = _records(random.Random(5), 200)
    path = tmp_path / "c.emc"
    _write(path, rows, "compact", chunk=50)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x04
    path.write_bytes(bytes(data))
    with pytest.warns(TraceWarning, match="fails its CRC"):
        trace = read_trace(path)
    assert 0 < len(trace.records) < 200 and str(path) in trace.problems[0]


@pytest.fixture(scope="module")
def compact_rec(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("compact")
    topo = root / "t.yaml"
    topo.write_text(TOPO.format(seed=1))
    for fmt in ("raw", "compact"):
        code, _, err = run_cli(
            "run", topo, "--record", root / fmt, "--record-format", fmt, "--no-progress"
        )
        assert code == 0, err
    return root


@pytest.fixture
def rec(compact_rec, tmp_path) -> Path:
    return Path(shutil.copytree(compact_rec / "compact", tmp_path / "rec"))


def test_a_compact_recording_holds_the_raw_records_and_validates(compact_rec, rec):
    for name in ("host0", "mem0"):
        raw = read_trace(compact_rec / "raw" / "emc" / f"{name}.emc")
        compact = read_trace(rec / "emc" / f"{name}.emc")
        assert compact.header.version == COMPACT_VERSION
        assert compact.records == raw.records and compact.ext == raw.ext
        size = (rec / "emc" / f"{name}.emc").stat().st_size
        assert size < 0.6 * (compact_rec / "raw" / "emc" / f"{name}.emc").stat().st_size
    manifest = json.loads((rec / "manifest.json").read_text())
    assert manifest["emc"]["trace_format"] == "compact"
    code, out, err, _ = replay(rec, "--mode", "validate")
    assert code == 0 and "byte for byte" in out, err


def test_truncated_compact_trace(rec):
    trace = rec / "emc" / "host0.emc"
    truncate(trace)
    refused(rec, trace, "truncated")
    code, _, err, _ = replay(rec, "--salvage")
    assert code == 0, err
    assert f"salvage: {trace}" in err and "lost" in err


def test_flipped_bit_in_a_compact_trace(rec):
    trace = rec / "emc" / "mem0.emc"
    raw = bytearray(trace.read_bytes())
    raw[len(raw) // 2] ^= 0x10
    trace.write_bytes(bytes(raw))
    refused(rec, trace, "fails its CRC")
    code, _, err, _ = replay(rec, "--salvage")
    assert code == 0 and "fails its CRC" in err


def test_bad_trace_format_names_the_line(tmp_path):
    topo = tmp_path / "t.yaml"
    topo.write_text(TOPO.format(seed=1) + "emc: {trace_format: zip}\n")
    code, _, err = run_cli("run", topo, "--record", tmp_path / "r", "--no-progress")
    assert code == 2 and "trace_format" in err and "must be raw or compact" in err
    assert f"{topo}:" in err
    code, _, err = run_cli("run", topo, "--record-format", "compact", "--no-progress")
    assert code == 2
