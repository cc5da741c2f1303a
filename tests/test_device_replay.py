"""Replay of coherent accelerators (issue 14): a Type-1/Type-2 device is re-driven from its
recorded D2H requests through its own cache controller (slugsim.record.device_player), on the
recorded topology and on one with the accelerators a switch further away, and the coherence
outcomes the recording states exactly (per-line grant order, the value every load reads, each
line's final value) come out the same."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from slugsim.cxl import Channel, Direction
from slugsim.record.device_player import (
    device_requests_of,
    epochs,
    grant_history,
    name_value,
    order_grants,
)
from slugsim.record.recording import load_recording
from test_record_replay import TOPOLOGIES, run_cli, shrunk


def further(src: Path, dst: Path) -> Path:
    """``src`` with its accelerators moved behind a second switch (one more switch and link
    each way between them and the host)."""
    data = yaml.safe_load(src.read_text())
    data["components"].append({"name": "sw1", "kind": "switch", "params": {"ports": 8}})
    for link in data["links"]:
        if link["between"][1] in ("acc0", "acc1"):
            link["between"][0] = "sw1"
    data["links"].append({"between": ["sw0", "sw1"], "rate": "32GT/s", "width": "x16"})
    dst.write_text(yaml.safe_dump(data, sort_keys=False))
    return dst


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("accel")
    topo = shrunk(TOPOLOGIES / "coherent_accel.yaml", tmp / "ca.yaml", 40, {"at": ["endpoints"]})
    assert run_cli("run", topo, "--record", tmp / "rec", "--no-progress")[0] == 0
    return tmp, topo


def _replay(tmp: Path, mode: str, out: str, topo: Path | None = None) -> tuple[str, dict]:
    extra = ["--topo", topo] if topo is not None else []
    code, text, err = run_cli(
        "replay", tmp / "rec", "--mode", mode, "--out", tmp / out, "--no-progress", *extra
    )
    assert code == 0, err
    return text, json.loads((tmp / out / "replay.json").read_text())


def _d2h(recording_dir: Path, name: str) -> list[tuple[int, int, int]]:
    rec = load_recording(recording_dir)
    return [(r.time, r.opcode, r.addr) for r in device_requests_of(rec.traces[name], 1)]


def test_accelerators_replayed_a_switch_further_keep_every_coherence_outcome(recorded):
    tmp, topo = recorded
    far = further(topo, tmp / "far.yaml")
    text, report = _replay(tmp, "dependency", "far", far)
    c = report["coherence"]
    assert c["same_grant_order"], c
    assert c["loads_checked"] > 100 and c["load_errors"] == 0, c["first_load_errors"]
    assert c["final_values_checked"] == c["lines"] == 16 and c["final_values_wrong"] == 0
    assert c["hits_instead_of_misses"] == {"acc0": 0, "acc1": 0}
    assert "coherence outcomes the same" in " ".join(text.split())
    # Re-driven, not re-run: the same requests in the same order, and only those.
    stats = json.loads((tmp / "far" / "stats.json").read_text())
    for name in ("acc0", "acc1"):
        before = _d2h(tmp / "rec", name)
        after = _d2h(tmp / "far" / "recording", name)
        assert [x[1:] for x in after] == [x[1:] for x in before]
        assert stats["devices"][name]["completed"] == len(before)
        assert stats["devices"][name]["data_errors"] == 0
        # one more switch and link each way: every request takes longer
        rec = load_recording(tmp / "rec").traces[name]
        rep = load_recording(tmp / "far" / "recording").traces[name]
        assert _mean_latency(rep) > _mean_latency(rec) + 200_000  # two switch traversals more


def _mean_latency(trace) -> float:
    found = [x for x in device_requests_of(trace, 1) if x.response is not None]
    return sum(x.response - x.time for x in found) / len(found)


def test_timing_replay_on_the_recorded_topology_sends_at_the_recorded_times(recorded):
    tmp, _ = recorded
    _, report = _replay(tmp, "timing", "same")
    assert report["coherence"]["same_grant_order"]
    for name in ("acc0", "acc1"):
        assert _d2h(tmp / "same" / "recording", name) == _d2h(tmp / "rec", name)


def test_timing_replay_elsewhere_reports_the_races_it_loses(recorded):
    """Recorded times on a slower fabric: the devices' requests for a line cross, so the
    checks must see loads read other values (the check can fail)."""
    tmp, topo = recorded
    text, report = _replay(tmp, "timing", "far_t", further(topo, tmp / "far_t.yaml"))
    c = report["coherence"]
    assert not c["same_grant_order"] and c["load_errors"] > 0
    assert "coherence outcomes DIFFERENT" in " ".join(text.split())


def test_validate_reproduces_the_accelerators_from_their_traces(recorded):
    """validate re-drives the accelerators too (recorded times, and a request whose CQID is
    freed later in its instant waits for it): every trace byte for byte."""
    tmp, _ = recorded
    _, report = _replay(tmp, "validate", "val")
    assert report["validate"]["passed"], report["validate"]
    assert report["coherence"]["same_grant_order"] and report["coherence"]["load_errors"] == 0
    stats = json.loads((tmp / "val" / "stats.json").read_text())
    assert stats["devices"]["acc0"]["completed"] == len(_d2h(tmp / "rec", "acc0"))


def test_grant_order_gives_dependencies_and_expected_values(recorded):
    tmp, _ = recorded
    rec = load_recording(tmp / "rec")
    devices = {n: device_requests_of(rec.traces[n], rec.cycle_ps) for n in ("acc0", "acc1")}
    history = grant_history(devices)
    numbers = {"acc0": 0, "acc1": 1}
    assert order_grants(devices, history, numbers) > 0
    for grants in history.values():
        last_write = None
        for device, index, write in grants:
            r = devices[device][index]
            if write:
                last_write = (device, index)
            else:
                want = (
                    0 if last_write is None else name_value(numbers[last_write[0]], last_write[1])
                )
                assert r.expect == want
            if last_write is not None and last_write[0] != device and not write:
                assert last_write in r.after
    # epochs: reads between two writes form one set, whatever their order
    addr = next(a for a, g in history.items() if sum(not w for _, _, w in g) > 1)
    swapped = {addr: list(reversed(history[addr]))}
    assert epochs(swapped) != epochs({addr: history[addr]})


def test_an_accelerator_mapped_onto_a_host_is_refused(recorded):
    tmp, _ = recorded
    code, _, err = run_cli(
        "replay", tmp / "rec", "--mode", "dependency", "--map", "acc0=mem0",
        "--out", tmp / "bad", "--no-progress",
    )  # fmt: skip
    assert code == 2
    assert "'mem0' is a type3, but it replays the recorded accelerator 'acc0'" in err
    assert not (tmp / "bad").exists()


def test_device_traces_hold_d2h_requests(recorded):
    tmp, _ = recorded
    trace = load_recording(tmp / "rec").traces["acc1"]
    assert any(
        r.channel == Channel.D2H_REQ and r.direction == Direction.EGRESS for r in trace.records
    )


@pytest.mark.parametrize("warm", [False, True])
def test_a_recorded_migration_replays_with_its_devices_re_driven(tmp_path, warm):
    """coherent_accel_migrate: the producer's work moves acc0 -> acc2 at 5 us. Each device is
    re-driven from its own trace (acc2's holds the work after the move, and with warm its
    re-acquisitions); the replayed migration pauses acc0 and resumes acc2 as recorded."""
    topo = shrunk(
        TOPOLOGIES / "coherent_accel_migrate.yaml", tmp_path / "m.yaml", 40, {"at": ["endpoints"]}
    )
    if warm:
        data = yaml.safe_load(topo.read_text())
        data["migrate"][0]["warm"] = True
        topo.write_text(yaml.safe_dump(data, sort_keys=False))
    assert run_cli("run", topo, "--record", tmp_path / "rec", "--no-progress")[0] == 0
    _, report = _replay(tmp_path, "validate", "val")
    assert report["validate"]["passed"], report["validate"]["mismatches"]
    assert report["coherence"]["same_grant_order"]
    assert report["coherence"]["load_errors"] == 0
    assert _d2h(tmp_path / "rec", "acc2")  # the target's part of the program was re-driven
