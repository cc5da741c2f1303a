"""EMC trace files: round trip, and every way a file can be cut off or damaged."""

from __future__ import annotations

import dataclasses
import random
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from slugsim.cxl import Channel, Direction, EmcRecord
from slugsim.emc import TraceError, TraceWarning, TraceWriter, read_trace
from slugsim.emc.trace import MAGIC, TraceHeader


def make_records(n: int, seed: int) -> list[EmcRecord]:
    rng = random.Random(seed)
    return [
        EmcRecord(
            timestamp=i * 100 + rng.randrange(100),
            channel=rng.choice(list(Channel)),
            opcode=rng.randrange(32),
            direction=rng.choice(list(Direction)),
            tag=rng.randrange(1 << 16),
            addr=rng.randrange(1 << 46) << 6,
            port=rng.randrange(256),
        )
        for i in range(n)
    ]


def write(path, records, chunk_records=8, close=True, **meta):
    writer = TraceWriter(
        path, "host0.emc", time_unit_ps=500, metadata=meta, chunk_records=chunk_records
    )
    writer.write_all(records)
    if close:
        writer.close()
    else:
        writer.flush()
    return writer


def test_round_trip_with_header_fields(tmp_path):
    records = make_records(50, seed=1)
    write(tmp_path / "t.emc", records, topology="quickstart.yaml", seed=7)
    trace = read_trace(tmp_path / "t.emc")
    assert trace.complete and trace.problems == []
    assert trace.records == records
    assert trace.header.source == "host0.emc"
    assert trace.header.time_unit_ps == 500
    assert trace.header.metadata == {"topology": "quickstart.yaml", "seed": 7}


def test_empty_trace_is_complete(tmp_path):
    write(tmp_path / "t.emc", [])
    trace = read_trace(tmp_path / "t.emc")
    assert trace.complete and trace.records == []


def test_unclosed_writer_leaves_a_readable_prefix(tmp_path):
    path = tmp_path / "t.emc"
    writer = TraceWriter(path, "sw0.p3", chunk_records=4)
    records = make_records(10, seed=2)
    writer.write_all(records)  # two chunks on disk, two records pending
    assert writer.records_written == 8
    with pytest.warns(TraceWarning, match="no end marker"):
        trace = read_trace(path)
    assert trace.records == records[:8]
    assert not trace.complete
    writer.close()
    assert read_trace(path).records == records


def test_truncation_at_every_offset_returns_a_prefix(tmp_path):
    path = tmp_path / "t.emc"
    records = make_records(12, seed=3)
    write(path, records, chunk_records=5)
    data = path.read_bytes()
    header_len = len(TraceHeader("host0.emc", 500).encode())
    cut = tmp_path / "cut.emc"
    for length in range(len(data)):
        cut.write_bytes(data[:length])
        if length < header_len:
            with pytest.raises(TraceError):
                read_trace(cut, warn=False)
            continue
        trace = read_trace(cut, warn=False)
        assert not trace.complete, length
        assert trace.records == records[: len(trace.records)]
        assert len(trace.records) in (0, 5, 10, 12)


@settings(max_examples=200, deadline=None, derandomize=True)
@given(st.data())
def test_bit_flips_are_detected(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("flip") / "t.emc"
    records = make_records(20, seed=4)
    write(path, records, chunk_records=6)
    raw = bytearray(path.read_bytes())
    bit = data.draw(st.integers(0, len(raw) * 8 - 1), label="bit")
    raw[bit // 8] ^= 1 << (bit % 8)
    path.write_bytes(bytes(raw))
    try:
        trace = read_trace(path, warn=False)
    except TraceError:
        return  # header damage: refused outright
    assert not trace.complete
    assert trace.records == records[: len(trace.records)]


def test_corrupt_chunk_warns_and_keeps_earlier_chunks(tmp_path):
    path = tmp_path / "t.emc"
    records = make_records(20, seed=5)
    write(path, records, chunk_records=10)
    raw = bytearray(path.read_bytes())
    raw[-40] ^= 0xFF  # inside the second chunk's records
    path.write_bytes(bytes(raw))
    with pytest.warns(TraceWarning, match="fails its CRC; returning the 10 valid records"):
        trace = read_trace(path)
    assert trace.records == records[:10]


@pytest.mark.parametrize(
    ("mangle", "message"),
    [
        (lambda raw: b"NOTATRACE" + raw[9:], "bad magic"),
        (lambda raw: raw[:8] + struct.pack("<H", 99) + raw[10:], "version 99"),
        (lambda raw: raw[:16], "ends inside its header"),
        (lambda raw: raw[:20] + bytes([raw[20] ^ 1]) + raw[21:], "header CRC"),
    ],
)
def test_unusable_files_are_refused_with_a_reason(tmp_path, mangle, message):
    path = tmp_path / "t.emc"
    write(path, make_records(3, seed=6))
    path.write_bytes(mangle(path.read_bytes()))
    with pytest.raises(TraceError, match=message):
        read_trace(path)


def test_missing_file(tmp_path):
    with pytest.raises(TraceError, match="cannot open"):
        read_trace(tmp_path / "nope.emc")


def test_data_after_end_marker_is_reported(tmp_path):
    path = tmp_path / "t.emc"
    records = make_records(3, seed=8)
    write(path, records)
    path.write_bytes(path.read_bytes() + b"junk")
    with pytest.warns(TraceWarning, match="after the end marker"):
        trace = read_trace(path)
    assert trace.records == records


def test_magic_is_versioned():
    assert MAGIC == b"SLUGEMC1"


@settings(max_examples=50, deadline=None, derandomize=True)
@given(st.integers(0, 2**32 - 1), st.integers(0, 60))
def test_compact_encoding_round_trips(seed, n):
    from slugsim.emc.compact import decode, encode

    rng = random.Random(seed)
    records = make_records(n, seed)
    # Responses carry no address; timestamps may step back (egress stamps lead).
    records = [r if rng.random() < 0.7 else dataclasses.replace(r, addr=0) for r in records]
    # the high 32 bits (the wait at the port) only on egress records
    exts = [
        rng.choice([0, 5 | 9 << 12, rng.randrange(1 << 31)])
        | (rng.choice([0, rng.randrange(1 << 32)]) << 32 if r.direction == Direction.EGRESS else 0)
        for r in records
    ]
    pairs = list(zip(records, exts, strict=True))
    data = encode(pairs)
    assert list(decode(data)) == pairs
    assert len(data) <= 23 * n  # never much worse than the 20-byte fixed record


def test_version_1_traces_still_read_with_zero_extensions(tmp_path):
    import zlib

    from slugsim.emc.trace import CHUNK_MAGIC, END_MAGIC, record_layout

    records = make_records(5, seed=9)
    header = TraceHeader("old", 1, {}, record_layout(1), record_bytes=16, version=1).encode()
    payload = b"".join(r.pack().to_bytes(16, "little") for r in records)
    chunk = struct.pack("<4sIQI", CHUNK_MAGIC, 5, 0, zlib.crc32(payload)) + payload
    end = END_MAGIC + struct.pack("<Q", 5)
    path = tmp_path / "v1.emc"
    path.write_bytes(header + chunk + struct.pack("<4sQI", END_MAGIC, 5, zlib.crc32(end)))
    trace = read_trace(path)
    assert trace.complete and trace.records == records and trace.ext == [0] * 5
    assert trace.header.version == 1 and not trace.has_meta


def test_version_2_traces_still_read_their_pids(tmp_path):
    import zlib

    from slugsim.emc.trace import CHUNK_MAGIC, END_MAGIC, record_layout

    records = make_records(3, seed=11)
    header = TraceHeader("old", 1, {}, record_layout(2), record_bytes=19, version=2).encode()
    payload = b"".join(
        r.pack().to_bytes(16, "little") + (i | (7 + i) << 12).to_bytes(3, "little")
        for i, r in enumerate(records)
    )
    chunk = struct.pack("<4sIQI", CHUNK_MAGIC, 3, 0, zlib.crc32(payload)) + payload
    end = END_MAGIC + struct.pack("<Q", 3)
    path = tmp_path / "v2.emc"
    path.write_bytes(header + chunk + struct.pack("<4sQI", END_MAGIC, 3, zlib.crc32(end)))
    trace = read_trace(path)
    assert trace.complete and trace.records == records and not trace.has_meta
    assert [(trace.spid(i), trace.dpid(i)) for i in range(3)] == [(i, 7 + i) for i in range(3)]


def test_records_carry_pids_and_the_coherence_hint(tmp_path):
    from slugsim.cxl import MetaField, MetaValue, SnpType
    from slugsim.emc.trace import extension

    records = make_records(4, seed=10)
    hints = [
        (MetaField.NO_OP, MetaValue.I, SnpType.NO_OP),
        (MetaField.META0_STATE, MetaValue.A, SnpType.SNPINV),
        (MetaField.META0_STATE, MetaValue.S, SnpType.SNPDATA),
        (MetaField.EMS, MetaValue.I, SnpType.SNPCUR),
    ]
    path = tmp_path / "t.emc"
    with TraceWriter(path, "host0") as writer:
        for i, (record, (field, value, snp)) in enumerate(zip(records, hints, strict=True)):
            writer.write(record, extension(i, 4095 - i, field, value, snp))
    trace = read_trace(path)
    assert trace.records == records and trace.has_meta
    assert [(trace.spid(i), trace.dpid(i)) for i in range(4)] == [(i, 4095 - i) for i in range(4)]
    assert [
        (trace.meta_field(i), trace.meta_value(i), trace.snp_type(i)) for i in range(4)
    ] == hints
