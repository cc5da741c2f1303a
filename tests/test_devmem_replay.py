"""Replay of hosts on HDM-DB device memory (issue 12, record/devmem_player.py): their recorded
MemRd / MemClnEvct / MemWr become the HostMemAgent's loads, stores and evictions, so the same
table answers the device's BISnps during the replay. HDM-D hosts are refused (exit 2)."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import yaml
from slugsim.cli import main
from slugsim.cxl import Channel, Direction, M2SReqOpcode
from slugsim.record.recording import load_recording

TOPOLOGIES = Path(__file__).parent.parent / "topologies"


def run_cli(*argv: str | Path) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in argv])
    return code, out.getvalue(), err.getvalue()


def small_pool(
    dst: Path, emc: list[str] | None = None, farther: bool = False, requests: int = 50
) -> Path:
    """pooled_hdmdb.yaml with ``requests`` per core and as many device accesses; ``farther``
    puts the hosts behind a second switch."""
    data = yaml.safe_load((TOPOLOGIES / "pooled_hdmdb.yaml").read_text())
    for component in data["components"]:
        params = component.get("params") or {}
        if "workload" in params:
            params["workload"]["requests"] = requests
        if "device_ops" in params:
            params["device_ops"] = requests
    data["emc"] = {"at": emc or ["endpoints"]}
    if farther:
        data["components"].insert(2, {"name": "sw1", "kind": "switch", "params": {"ports": 8}})
        data["links"][0]["between"] = ["host", "sw1"]
        data["links"].append({"between": ["sw1", "sw0"], "rate": "32GT/s", "width": "x16"})
    dst.write_text(yaml.safe_dump(data, sort_keys=False))
    return dst


def memrds(recording: Path, host: str) -> int:
    trace = load_recording(recording).traces[host]
    return sum(
        r.channel == Channel.M2S_REQ
        and r.direction == Direction.EGRESS
        and r.opcode == M2SReqOpcode.MEMRD
        for r in trace.records
    )


def test_validate_reproduces_a_pooled_hdm_db_run(tmp_path):
    # 1,400 requests per core (of the shipped 2,000): far enough that a replay guessing loads
    # from stores (trace format 2 had no MetaValue) differed at pool0 record 18,385, and one
    # starting two hosts' operations of one instant in either order (no SendOrder) at 31,729.
    topo = small_pool(tmp_path / "pool.yaml", requests=1400)
    assert run_cli("run", topo, "--record", tmp_path / "rec", "--no-progress")[0] == 0
    code, out, err = run_cli(
        "replay", tmp_path / "rec", "--mode", "validate", "--out", tmp_path / "out",
        "--no-progress",
    )  # fmt: skip
    assert code == 0, out + err
    assert "every one of 5 traces reproduced byte for byte" in out
    stats = json.loads((tmp_path / "out" / "stats.json").read_text())
    assert stats["devices"]["pool0"]["dcoh"]["data_errors"] == 0
    assert sum(stats["devices"]["pool0"]["dcoh"]["bisnp"].values()) > 0  # snoops answered
    # The per-path report counts each host's fills (its MemRds), whose tags are lines.
    report = json.loads((tmp_path / "out" / "replay.json").read_text())
    paths = {row["path"]: row for row in report["paths"]}
    for host in ("host0", "host1", "host2", "host3"):
        row = paths[f"{host}->pool0"]
        assert row["recorded"]["requests"] == row["replayed"]["requests"]
        assert row["recorded"]["requests"] == memrds(tmp_path / "rec", host)


def test_dependency_replay_with_the_hosts_a_switch_farther(tmp_path):
    topo = small_pool(tmp_path / "pool.yaml")
    assert run_cli("run", topo, "--record", tmp_path / "rec", "--no-progress")[0] == 0
    far = small_pool(tmp_path / "far.yaml", farther=True)
    code, out, err = run_cli(
        "replay", tmp_path / "rec", "--topo", far, "--mode", "dependency", "--out",
        tmp_path / "out", "--no-progress",
    )  # fmt: skip
    assert code == 0, out + err
    assert "never sent" not in out
    stats = json.loads((tmp_path / "out" / "stats.json").read_text())
    assert stats["run"]["stop"] == "quiescent"
    assert stats["devices"]["pool0"]["dcoh"]["data_errors"] == 0
    assert stats["devices"]["pool0"]["dcoh"]["values_checked"] > 0
    for host in ("host0", "host1", "host2", "host3"):
        recorded = memrds(tmp_path / "rec", host)
        replayed = memrds(tmp_path / "out" / "recording", host)
        assert recorded > 50
        assert abs(replayed - recorded) <= recorded // 5, (host, recorded, replayed)


def test_a_pool_host_without_a_trace_runs_live(tmp_path):
    """Hosts without a trace are not replayed: with EMCs on the device alone they run their
    workload live, and validate reproduces the device's trace."""
    topo = small_pool(tmp_path / "pool.yaml", emc=["pool0"])
    assert run_cli("run", topo, "--record", tmp_path / "rec", "--no-progress")[0] == 0
    code, out, err = run_cli(
        "replay", tmp_path / "rec", "--mode", "validate", "--out", tmp_path / "out",
        "--no-progress",
    )  # fmt: skip
    assert code == 0, err
    assert "reproduced byte for byte" in out


HDM_D = """
run: {seed: 1}
emc: {at: [endpoints]}
components:
  - name: host0
    kind: host
    params:
      outstanding: 2
      devmem_cache: 4KiB
      hdm: [{base: 64GiB, size: 1GiB, targets: [acc0]}]
      workload: {kind: random, read_ratio: 0.7, footprint: 16KiB, target: acc0, requests: 40}
  - {name: sw0, kind: switch, params: {ports: 8}}
  - name: acc0
    kind: type2
    params: {capacity: 1GiB, coherence: hdm_d, device_ops: 40, device_footprint: 16KiB}
links:
  - {between: [host0, sw0]}
  - {between: [sw0, acc0]}
"""


def test_replay_refuses_hdm_d_hosts_by_name(tmp_path):
    topo = tmp_path / "hdm_d.yaml"
    topo.write_text(HDM_D)
    code, _, err = run_cli("run", topo, "--record", tmp_path / "rec", "--no-progress")
    assert code == 0, err
    code, out, err = run_cli(
        "replay", tmp_path / "rec", "--mode", "validate", "--out", tmp_path / "out",
        "--no-progress",
    )  # fmt: skip
    assert code == 2
    assert "Traceback" not in err
    first = err.splitlines()[0]
    assert first.startswith(str(tmp_path / "rec" / "topology.yaml"))
    assert "'host0'" in first and "HDM-D device 'acc0'" in first and "does not re-drive" in first
    assert "hint:" in err
    assert "replayed" not in out
    assert not (tmp_path / "out").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_host_memrds_carry_the_coherence_hint(tmp_path):
    """Trace format 4: a host's MemRd says whether it was for a load (MetaValue S, SnpData)
    or a store (A, SnpInv), and its MemWr what it keeps (CXL_REFERENCE.md §2.3)."""
    from slugsim.cxl import M2SRwDOpcode, MetaField, MetaValue, SnpType

    topo = small_pool(tmp_path / "pool.yaml")
    assert run_cli("run", topo, "--record", tmp_path / "rec", "--no-progress")[0] == 0
    hints: dict[tuple[int, int, int], int] = {}
    writes: set[int] = set()
    for host in ("host0", "host1", "host2", "host3"):
        trace = load_recording(tmp_path / "rec").traces[host]
        assert trace.has_meta
        for i, r in enumerate(trace.records):
            if r.direction != Direction.EGRESS:
                continue
            hint = (trace.meta_field(i), trace.meta_value(i), trace.snp_type(i))
            if r.channel == Channel.M2S_REQ and r.opcode == M2SReqOpcode.MEMRD:
                hints[hint] = hints.get(hint, 0) + 1
            if r.channel == Channel.M2S_RWD and r.opcode == M2SRwDOpcode.MEMWR:
                writes.add(trace.meta_value(i))
    load = (MetaField.META0_STATE, MetaValue.S, SnpType.SNPDATA)
    store = (MetaField.META0_STATE, MetaValue.A, SnpType.SNPINV)
    assert set(hints) == {load, store}, hints  # read_ratio 0.7: both kinds
    assert hints[load] > hints[store] > 0
    assert MetaValue.I in writes  # evictions and BISnpInv writebacks keep nothing


def test_replay_refuses_hdm_db_traces_without_the_hint(tmp_path):
    """A version-2 trace (PIDs only) of an HDM-DB host cannot tell its loads from its stores:
    the replay names the trace and exits 2 rather than guess."""
    import struct
    import zlib

    from slugsim.emc.trace import CHUNK_MAGIC, END_MAGIC, TraceHeader, read_trace, record_layout

    topo = small_pool(tmp_path / "pool.yaml")
    assert run_cli("run", topo, "--record", tmp_path / "rec", "--no-progress")[0] == 0
    path = tmp_path / "rec" / "emc" / "host2.emc"
    trace = read_trace(path)
    header = TraceHeader(
        trace.header.source,
        trace.header.time_unit_ps,
        trace.header.metadata,
        record_layout(2),
        record_bytes=19,
        version=2,
    ).encode()
    payload = b"".join(
        r.pack().to_bytes(16, "little") + (ext & 0xFFFFFF).to_bytes(3, "little")
        for r, ext in zip(trace.records, trace.ext, strict=True)
    )
    count = len(trace.records)
    chunk = struct.pack("<4sIQI", CHUNK_MAGIC, count, 0, zlib.crc32(payload)) + payload
    end = END_MAGIC + struct.pack("<Q", count)
    path.write_bytes(header + chunk + struct.pack("<4sQI", END_MAGIC, count, zlib.crc32(end)))
    code, out, err = run_cli(
        "replay", tmp_path / "rec", "--mode", "validate", "--out", tmp_path / "out",
        "--no-progress",
    )  # fmt: skip
    assert code == 2, out + err
    assert "host2.emc" in err and "holds no MetaValue" in err and "record the run again" in err
    assert not (tmp_path / "out").exists()


def test_egress_records_carry_their_wait_for_the_wire(tmp_path):
    """Trace format 4 records how long an egress message waited at the port after its
    pipeline (``queued``): on these links every message that waited went on the wire the
    moment the one before it was off, one serialisation later (267 ps for a header-only
    message, 1,334 ps for a MemWr or DRS with its data, Gen5 x16)."""
    topo = small_pool(tmp_path / "pool.yaml", requests=200)
    assert run_cli("run", topo, "--record", tmp_path / "rec", "--no-progress")[0] == 0
    waited = 0
    for name, trace in load_recording(tmp_path / "rec").traces.items():
        previous = None
        for i, r in enumerate(trace.records):
            if r.direction != Direction.EGRESS:
                assert trace.queued(i) == 0
                continue
            if trace.queued(i):
                waited += 1
                assert previous is not None and r.timestamp - previous in (267, 1334), (name, i)
            previous = r.timestamp
    assert waited > 100
