"""Endpoint migration (issue 14 item 5): a coherent device's work moves to a spare device
mid-run; every operation completes exactly once, coherence holds, downtime and bytes moved are
reported, and bad entries are refused with file:line."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from slugsim.cli import main
from slugsim.coherence.device import DeviceState
from slugsim.coherence.migration import blockers, hand_over, run_with_migration
from slugsim.coherence.monitor import Violation
from slugsim.coherence.system import CoherentSystem, SystemConfig
from slugsim.coherence.tester import generate
from slugsim.components import DeviceWorkloadParams, HostParams, Type1Params
from slugsim.components.coherent_params import DeviceAtsParams
from slugsim.config import TopologyError, load_topology
from slugsim.fabric import LinkParams, RunOptions, SwitchParams, SystemBuilder, Where
from slugsim.kernel import NS, US
from slugsim.sim.migration import MigrationSpec, Phase, attach, parse_cli
from test_coherent_system import BASE, check_consistent, final_value, run

TOPOLOGIES = Path(__file__).resolve().parents[1] / "topologies"


def fabric(workloads, *, spare="acc9", device=None, at=5 * US, stop_time=None, moves=None):
    """host0 - sw0 - (the devices of ``workloads``); sw0 - sw1 - spares (no workload): a spare
    sits at another switch, so the migration moves the work to another attachment point.
    ``moves`` maps sources to spares (default: acc0 to ``spare``), all at ``at``."""
    moves = moves or {"acc0": spare}
    builder = SystemBuilder(RunOptions(seed=1, stop_time=stop_time))
    builder.host("host0", HostParams()).switch("sw0", SwitchParams(ports=16))
    builder.switch("sw1", SwitchParams(ports=4)).link("host0", "sw0").link("sw0", "sw1")
    for name, workload in workloads.items():
        builder.type1(name, Type1Params(workload=workload, **(device or {})))
        builder.link("sw0", name, LinkParams())
    for name in moves.values():
        builder.type1(name, Type1Params(**(device or {}))).link("sw1", name, LinkParams())
    graph = builder.build()
    specs = [MigrationSpec(a, b, at, Where("<test>")) for a, b in moves.items()]
    attach(graph, specs)
    return graph


def migratory(requests=400, footprint=256):
    return DeviceWorkloadParams(kind="migratory", base=BASE, footprint=footprint, requests=requests)


# -- timed runs -------------------------------------------------------------------------------


@pytest.mark.parametrize("at_us", [1, 3, 8])
def test_migratory_increments_complete_exactly_once_across_a_migration(at_us):
    """Three devices increment shared lines; acc0's work moves to acc9 at ``at_us``. Each
    increment is a read-modify-write, so a lost or repeated one changes the lines' sum."""
    workloads = {f"acc{i}": migratory() for i in range(3)}
    system, stats = run(fabric(workloads, device={"outstanding": 4}, at=at_us * US))
    lines = range(BASE >> 6, (BASE + 256) >> 6)
    assert sum(final_value(system, line) for line in lines) == 3 * 400
    entry = stats["migration"]["entries"]["acc0"]
    assert entry["phase"] == "resumed"
    # the program ran partly at the source, partly at the target, each operation once
    program = system.components["acc9"].program
    assert program.completed == program.issued == 400
    assert system.components["acc0"].program is None
    source_ops = sum(h.count for h in system.components["acc0"].latency_histograms().values())
    target_ops = sum(h.count for h in system.components["acc9"].latency_histograms().values())
    assert source_ops == entry["ops_at_source"] > 0
    assert source_ops + target_ops == 400
    assert stats["run"]["requests"] == 3 * 400 + stats["hosts"]["host0"]["completed"]
    # the source left nothing behind: no line, nothing in the host's filter
    assert not any(
        system.components["acc0"].cache.line_state(line) is not DeviceState.I for line in lines
    )
    check_consistent(stats)  # what the host counted is what the three devices and acc9 did


@pytest.mark.parametrize("seed", range(6))
def test_random_migration_times_keep_every_increment(seed):
    """A migration at a random time (0.1 to 12 us) with a random outstanding limit; rerun one
    with its seed."""
    rng = random.Random(seed)
    at = rng.randrange(100, 12_000) * NS
    outstanding = rng.randrange(1, 9)
    print(f"seed={seed}: acc0 -> acc9 at {at / NS:g} ns, outstanding {outstanding}")
    workloads = {f"acc{i}": migratory(requests=300) for i in range(3)}
    system, stats = run(fabric(workloads, device={"outstanding": outstanding}, at=at))
    lines = range(BASE >> 6, (BASE + 256) >> 6)
    assert sum(final_value(system, line) for line in lines) == 3 * 300
    assert stats["migration"]["entries"]["acc0"]["phase"] == "resumed"
    check_consistent(stats)


def test_downtime_and_bytes_moved_are_reported():
    workloads = {f"acc{i}": migratory() for i in range(2)}
    _, stats = run(fabric(workloads, device={"outstanding": 4}, at=3 * US))
    section = stats["migration"]
    entry = section["entries"]["acc0"]
    # the phases follow each other: quiesce, drained, written back, resumed
    assert entry["at_ns"] <= entry["drained_ns"] <= entry["written_back_ns"] < entry["resumed_ns"]
    assert entry["downtime_ns"] == pytest.approx(entry["resumed_ns"] - entry["at_ns"], abs=1e-3)
    assert entry["downtime_ns"] == pytest.approx(
        entry["drain_ns"] + entry["write_back_ns"] + entry["transfer_ns"], abs=1e-2
    )
    # each dirty line went home with its 64 B; the context crossed in one 64 B chunk
    moved = entry["bytes_moved"]
    assert moved["written_back"] == 64 * entry["lines_written_back"]
    assert moved["state"] == 64 * entry["state_chunks"] == 64
    assert section["bytes_moved"] == moved["total"] == moved["written_back"] + moved["state"]
    assert section["downtime_ns"] == entry["downtime_ns"]
    # the transfer is timed by the fabric: acc0 -> sw0 -> sw1 -> acc9 takes three links
    assert entry["transfer_ns"] > 3 * LinkParams().latency / NS


def test_dirty_lines_are_written_back_before_the_target_resumes():
    """A device that only writes holds M lines when it stops: the write-back carries them."""
    workload = DeviceWorkloadParams(
        kind="read_modify_write", base=BASE, footprint=4096, requests=300
    )
    system, stats = run(fabric({"acc0": workload}, at=2 * US))
    entry = stats["migration"]["entries"]["acc0"]
    assert entry["lines_written_back"] > 0
    assert stats["devices"]["acc0"]["d2h_requests"]["DirtyEvict"] >= entry["lines_written_back"]
    lines = range(BASE >> 6, (BASE + 4096) >> 6)
    assert sum(final_value(system, line) for line in lines) == 300


def _ats_run():
    ats = DeviceAtsParams(atc_entries=8, atc_ways=2)
    workload = DeviceWorkloadParams(kind="stream_read", base=BASE, footprint=64 << 10, requests=600)
    return run(fabric({"acc0": workload}, device={"ats": ats}, at=2 * US))[1]


def test_the_atc_moves_with_the_work(monkeypatch):
    stats = _ats_run()
    entry = stats["migration"]["entries"]["acc0"]
    assert entry["phase"] == "resumed"
    assert entry["atc_entries"] > 0
    assert entry["state_chunks"] == -(-(8 * entry["atc_entries"] + 64) // 64)
    target = stats["devices"]["acc9"]
    assert target["completed"] == 600
    # the moved entries are used: without them the target asks the host for more
    from slugsim.sim import migration

    monkeypatch.setattr(migration, "_install", lambda atc, translations: None)
    cold = _ats_run()["devices"]["acc9"]["ats"]
    assert cold["translation_requests"] > target["ats"]["translation_requests"]


def test_a_migration_after_the_workload_ended_moves_only_the_state():
    workload = DeviceWorkloadParams(kind="stream_read", base=BASE, footprint=1024, requests=20)
    system, stats = run(fabric({"acc0": workload}, at=200 * US))
    entry = stats["migration"]["entries"]["acc0"]
    assert entry["phase"] == "resumed"
    assert entry["ops_at_source"] == 20
    assert entry["in_flight_at_quiesce"] == 0
    assert system.components["acc9"].program.completed == 20


def test_a_run_that_stops_mid_migration_reports_where_it_was():
    workloads = {f"acc{i}": migratory(requests=100000) for i in range(2)}
    _, stats = run(fabric(workloads, at=9 * US, stop_time=20 * US))
    assert stats["migration"]["entries"]["acc0"]["phase"] == Phase.RESUMED.value
    _, stats = run(fabric(workloads, at=9 * US, stop_time=9 * US + 1000))
    entry = stats["migration"]["entries"]["acc0"]
    assert entry["phase"] in ("quiescing", "writing_back", "transferring")
    assert entry["downtime_ns"] == -1.0


def test_two_devices_migrate_at_once():
    workloads = {f"acc{i}": migratory() for i in range(3)}
    moves = {"acc0": "acc9", "acc1": "acc8"}
    system, stats = run(fabric(workloads, device={"outstanding": 4}, at=3 * US, moves=moves))
    lines = range(BASE >> 6, (BASE + 256) >> 6)
    assert sum(final_value(system, line) for line in lines) == 3 * 400
    entries = stats["migration"]["entries"]
    assert {e["phase"] for e in entries.values()} == {"resumed"}
    assert stats["migration"]["bytes_moved"] == sum(
        e["bytes_moved"]["total"] for e in entries.values()
    )


def test_a_migration_that_cannot_end_is_reported_stuck_and_the_run_ends(monkeypatch):
    from slugsim.sim import migration

    monkeypatch.setattr(migration.DeviceMigration, "_drained", lambda self: False)
    workloads = {f"acc{i}": migratory(requests=50) for i in range(2)}
    _, stats = run(fabric(workloads, at=1 * US))
    entry = stats["migration"]["entries"]["acc0"]
    assert entry["phase"] == "stuck"
    assert entry["downtime_ns"] == -1.0


# -- the untimed system: the cache moves as it is to a new device identity ----------------------

CONFIG = SystemConfig(devices=3, cores=1, lines=2, sf_sets=1, sf_ways=4, outstanding=2)


@pytest.mark.parametrize("seed", range(12))
def test_random_tester_invariants_hold_across_a_hand_over(seed):
    """dev0's lines (S, E or M with its dirty data), filter entries and remaining program go
    to the spare dev2 mid-run; SWMR, data values, filter inclusion and message legality are
    checked at every step, and every operation completes exactly once."""
    at_step = random.Random(seed).randrange(20, 400)
    print(f"seed={seed}: rerun run_with_migration(CONFIG, programs, {seed}, at_step={at_step})")
    programs = generate(CONFIG, random.Random(seed), 120)
    programs["dev2"] = ()
    result = run_with_migration(CONFIG, programs, seed, at_step=at_step)
    assert result.failure is None, result.failure
    assert result.hand_over is not None
    assert result.ops == result.expected


def test_hand_overs_move_modified_lines():
    """Over the seeds above, some hand-overs move M lines (dirty data) and S lines."""
    moved: dict[str, int] = {}
    for seed in range(12):
        programs = generate(CONFIG, random.Random(seed), 120)
        programs["dev2"] = ()
        result = run_with_migration(CONFIG, programs, seed, at_step=150)
        assert result.hand_over is not None
        for state, count in result.hand_over.lines.items():
            moved[state] = moved.get(state, 0) + count
    assert moved.get("M", 0) > 0 and moved.get("S", 0) > 0


def _system_with_dirty_line() -> CoherentSystem:
    from slugsim.coherence.device import DeviceEvent
    from slugsim.coherence.ops import Op

    system = CoherentSystem(CONFIG, {"dev0": (Op(DeviceEvent.StoreOwn, 0, 7),)})
    while system.enabled():
        system.apply(system.enabled()[0])
    assert system.devices[0].line_state(0) is DeviceState.M
    return system


def test_a_hand_over_that_forgets_the_filter_is_caught():
    system = _system_with_dirty_line()
    hand_over(system, 0, 2)
    assert system.devices[2].line_state(0) is DeviceState.M
    system.home.sf.update(0, 1 << 0)  # the filter still names the source
    with pytest.raises(Violation, match="sf-inclusion"):
        system.check()


def test_a_hand_over_that_drops_dirty_data_is_caught():
    system = _system_with_dirty_line()
    hand_over(system, 0, 2)
    system.devices[2].lines[0].value = 0  # the moved copy lost the store
    with pytest.raises(Violation, match="stale-copy"):
        system.check()


def test_no_hand_over_while_the_source_has_work_in_flight():
    from slugsim.coherence.device import DeviceEvent
    from slugsim.coherence.ops import Op

    system = CoherentSystem(CONFIG, {"dev0": (Op(DeviceEvent.StoreOwn, 0, 7),)})
    system.apply(system.enabled()[0])  # issued: its RdOwn is in flight
    assert blockers(system, 0, 2)
    with pytest.raises(ValueError, match="cannot hand dev0 over"):
        hand_over(system, 0, 2)


# -- configuration ----------------------------------------------------------------------------


SMALL = """
run: {seed: 1}
components:
  - {name: host0, kind: host}
  - {name: sw0, kind: switch}
  - name: acc0
    kind: type1
    params:
      workload: {kind: read_modify_write, base: 4GiB, footprint: 1KiB, requests: 40}
  - {name: acc1, kind: type1}
links:
  - {between: [host0, sw0]}
  - {between: [sw0, acc0]}
  - {between: [sw0, acc1]}
"""


def test_cli_migrate_runs_and_reports(tmp_path, capsys):
    topology = tmp_path / "small.yaml"
    topology.write_text(SMALL)
    out = tmp_path / "out"
    argv = ["run", str(topology), "--out", str(out), "--no-progress", "--migrate", "acc0=acc1@1us"]
    assert main(argv) == 0
    assert "migration acc0 -> acc1" in capsys.readouterr().out  # the summary table
    import json

    stats = json.loads((out / "stats.json").read_text())
    entry = stats["migration"]["entries"]["acc0"]
    assert entry["phase"] == "resumed" and entry["target"] == "acc1"
    assert stats["devices"]["acc1"]["completed"] == 40


@pytest.mark.parametrize(
    ("arg", "message"),
    [
        ("acc0-acc1@1us", "not of the form NAME=TARGET@TIME"),
        ("acc0=acc2@soon", "the time"),
        ("accX=acc1@1us", "unknown endpoint 'accX'"),
        ("acc0=host0@1us", "moves onto a type1 or type2 device, not a host"),
        ("acc0=mem0@1us", "is a type3"),
        ("acc0=acc1@1us", "runs a workload of its own"),
    ],
)
def test_cli_migrate_bad_arguments_exit_2(arg, message, tmp_path, capsys):
    out = tmp_path / "out"
    code = main(
        ["run", str(TOPOLOGIES / "coherent_accel.yaml"), "--out", str(out), "--migrate", arg]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert message in err and "Traceback" not in err and "hint:" in err
    assert not out.exists()


def test_parse_cli():
    spec = parse_cli("acc0=acc2@1.5us")
    assert (spec.endpoint, spec.target, spec.at) == ("acc0", "acc2", 1_500_000)
    with pytest.raises(TopologyError):
        parse_cli("acc0=acc2")


def test_shipped_example_validates():
    graph = load_topology(TOPOLOGIES / "coherent_accel_migrate.yaml")
    (spec,) = graph.graph["migrate"]
    assert (spec.endpoint, spec.target) == ("acc0", "acc2")


# -- host workloads ---------------------------------------------------------------------------


def host_fabric(at, *, read_ratio=1.0, requests=3000):
    """host0 runs a workload on mem0; host1 (same HDM windows, behind another switch) is the
    spare it migrates to at ``at`` (None: no migration)."""
    from slugsim.fabric import HdmWindow, WorkloadParams
    from slugsim.fabric.params import RunOptions as Run

    window = (HdmWindow(base=64 << 30, size=64 << 30, targets=("mem0",)),)
    workload = WorkloadParams(
        kind="random", read_ratio=read_ratio, footprint=1 << 30, target="cxl", requests=requests
    )
    builder = SystemBuilder(Run(seed=3))
    builder.host("host0", HostParams(hdm=window, workload=workload))
    builder.host("host1", HostParams(hdm=window))
    builder.switch("sw0", SwitchParams(ports=8)).switch("sw1", SwitchParams(ports=8))
    builder.type3("mem0").link("host0", "sw0").link("sw0", "mem0").link("sw0", "sw1")
    builder.link("sw1", "host1")
    graph = builder.build()
    if at is not None:
        attach(graph, [MigrationSpec("host0", "host1", at, Where("<test>"))])
    return graph


def _requests(graph, tmp_path, name):
    """Every completed request of the run: (address, read/write), from the request log."""
    import io

    import pyarrow.parquet as pq
    from rich.console import Console
    from slugsim.sim import run_topology

    log = tmp_path / f"{name}.parquet"
    stats = run_topology(graph, None, None, False, Console(file=io.StringIO()), log)
    table = pq.read_table(log).to_pydict()
    return stats, table


def test_a_host_workload_migrates_and_every_request_completes_once(tmp_path):
    """With loads only, the address streams are the same with or without the migration, so
    the requests completed over both hosts must be exactly the unmigrated run's."""
    stats, moved = _requests(host_fabric(3 * US), tmp_path, "moved")
    _, plain = _requests(host_fabric(None), tmp_path, "plain")
    assert sorted(moved["address"]) == sorted(plain["address"])
    assert len(moved["address"]) == 3000
    hosts = stats["hosts"]
    entry = stats["migration"]["entries"]["host0"]
    assert entry["phase"] == "resumed"
    assert hosts["host0"]["completed"] == hosts["host0"]["issued"] == entry["ops_at_source"] > 0
    assert hosts["host0"]["completed"] + hosts["host1"]["completed"] == 3000
    assert hosts["host1"]["issued"] == hosts["host1"]["completed"]
    # after the resume the target's requests take its own root port and routes
    assert set(moved["host"]) == {"host0", "host1"}
    assert (
        min(c for h, c in zip(moved["host"], moved["issue_ps"], strict=True) if h == "host1")
        >= entry["resumed_ns"] * 1000
    )
    assert (
        max(c for h, c in zip(moved["host"], moved["completion_ps"], strict=True) if h == "host0")
        <= entry["drained_ns"] * 1000
    )


def test_a_host_writes_back_its_modified_lines_before_moving():
    _, stats = run(host_fabric(3 * US, read_ratio=0.5))
    entry = stats["migration"]["entries"]["host0"]
    assert entry["lines_written_back"] > 0
    assert entry["bytes_moved"]["written_back"] == 64 * entry["lines_written_back"]
    assert entry["written_back_ns"] > entry["drained_ns"]
    # the MemWr of the write-back reached the device: its writes are the LLC victims' plus these
    device = stats["devices"]["mem0"]
    victims = sum(stats["hosts"][h]["llc_writebacks"] for h in ("host0", "host1"))
    assert device["writes"] == victims + entry["lines_written_back"]


def test_a_sweep_varies_the_migration_time(tmp_path):
    """Sweep points carry their migrate: entries; a point whose time is out of range is
    reported at the sweep file's line."""
    from slugsim.sim.sweep import load_sweep

    topology = tmp_path / "small.yaml"
    topology.write_text(SMALL + "migrate: [{endpoint: acc0, to: acc1, at: 1us}]\n")
    (tmp_path / "ok.yaml").write_text(
        'topology: small.yaml\ngrid:\n  "migrate[0].at": [1us, 2us]\n'
    )
    sweep = load_sweep(tmp_path / "ok.yaml")
    assert [p.document["migrate"][0]["at"] for p in sweep.points] == ["1us", "2us"]
    (tmp_path / "bad.yaml").write_text(
        'topology: small.yaml\nset: {run.stop_time: 5us}\ngrid:\n  "migrate[0].at": [1us, 9us]\n'
    )
    with pytest.raises(TopologyError, match="out of range"):
        load_sweep(tmp_path / "bad.yaml")


TYPE2 = """
run: {seed: 1}
components:
  - name: host0
    kind: host
    params: {hdm: [{base: 128GiB, size: 16GiB, targets: [acc1]}]}
  - {name: sw0, kind: switch}
  - {name: sw1, kind: switch}
  - name: acc0
    kind: type1
    params:
      workload: {kind: producer_consumer, role: producer, partner: acc1, base: 128GiB,
                 footprint: 1KiB, requests: 30}
  - name: acc1
    kind: type2
    params:
      capacity: 16GiB
      workload: {kind: producer_consumer, role: consumer, partner: acc0, base: 128GiB,
                 footprint: 1KiB, requests: 30}
  - {name: acc2, kind: type1}
links:
  - {between: [host0, sw0]}
  - {between: [sw0, acc0]}
  - {between: [sw0, acc1]}
  - {between: [sw0, sw1]}
  - {between: [sw1, acc2]}
migrate: [{endpoint: acc1, to: acc2, at: 3us}]
"""


def test_a_type2_consumer_moves_and_its_memory_stays(tmp_path):
    """The consumer (a Type-2 whose memory holds the lines) moves to a Type-1 spare: its
    program and cache move, its device memory keeps serving the host; every value the consumer
    reads is checked, before and after the move."""
    topology = tmp_path / "type2.yaml"
    topology.write_text(TYPE2)
    _system, stats = run(load_topology(topology))
    devices = stats["devices"]
    assert stats["migration"]["entries"]["acc1"]["phase"] == "resumed"
    assert devices["acc2"]["items"] == devices["acc0"]["items"] == 30
    assert all(d["data_errors"] == 0 for d in devices.values())
    ops_at_source = stats["migration"]["entries"]["acc1"]["ops_at_source"]
    assert 0 < ops_at_source < devices["acc2"]["completed"]
    assert devices["acc1"]["mem_reads"] > 0  # the host still reads the lines from acc1


HDM_D_SOURCE = """
run: {seed: 1}
components:
  - name: host0
    kind: host
    params:
      hdm: [{base: 64GiB, size: 1GiB, targets: [acc0]}]
      devmem_cache: 4KiB
      workload: {kind: random, footprint: 16KiB, target: acc0, requests: 40}
  - {name: sw0, kind: switch, params: {ports: 8}}
  - name: acc0
    kind: type2
    params: {capacity: 1GiB, coherence: hdm_d, device_ops: 40, device_footprint: 16KiB}
  - {name: acc1, kind: type2}
links:
  - {between: [host0, sw0]}
  - {between: [sw0, acc0]}
  - {between: [sw0, acc1]}
"""


def test_an_hdm_d_device_is_refused_with_why(tmp_path, capsys):
    """Its bias table describes the memory it holds, which does not move: refused by name
    (exit 2), not as "no workload" (an HDM-D device's accesses are its device_ops)."""
    topology = tmp_path / "hdm_d.yaml"
    topology.write_text(HDM_D_SOURCE)
    out = tmp_path / "out"
    code = main(["run", str(topology), "--out", str(out), "--migrate", "acc0=acc1@1us"])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "'acc0' holds HDM-D memory: its bias table" in err and "hint:" in err
    assert "Traceback" not in err and not out.exists()
