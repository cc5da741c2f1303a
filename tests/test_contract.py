"""The component contract: a kind defined here, in this file only, runs end to end; links whose
ports disagree in role or protocol are refused with file:line and a hint; probes observe
without changing anything."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from slugsim.cli import main
from slugsim.config import TopologyError, load_topology, topology_schema
from slugsim.contract import DOWNSTREAM, UPSTREAM, Component, PortSpec, component, unregister
from slugsim.cxl import S2MDRS, M2SReq, MessageClass, S2MDRSOpcode
from slugsim.emc import EmcCsr, EmcMonitorModel, EmcParams, EmcProbe
from slugsim.fabric.params import doc
from slugsim.kernel import NS, Crossing
from slugsim.sim import elaborate, run_system
from slugsim.stats import to_json

ROOT = Path(__file__).resolve().parents[1]

# -- a brand-new kind, defined only here --------------------------------------------------------


@dataclass(frozen=True)
class ScratchpadParams:
    capacity: int = field(default=1 << 30, metadata=doc("bytes it holds", unit="size", ge=1))
    access_latency: int = field(
        default=40 * NS, metadata=doc("time from request to response", unit="time")
    )


class Scratchpad(Component):
    """An SRAM scratchpad on CXL.mem: answers every MemRd after a fixed latency."""

    def build(self) -> None:
        self.reads = 0
        self.reply_port: dict[int, Any] = {}

    def connect(self) -> None:
        for attachment in self.attachments:
            attachment.port.handler = self.on_request

    def on_request(self, msg: M2SReq) -> None:
        self.reads += 1
        port = self.reply_port.get(msg.spid)
        if port is None:
            port = self.reply_port[msg.spid] = self.fabric.port_towards_pid(self.name, msg.spid)
        reply = S2MDRS(S2MDRSOpcode.MEMDATA, tag=msg.tag, dpid=msg.spid)
        self.sim.schedule(self.params.access_latency, port.send, reply)

    def stats(self, elapsed: int) -> dict[str, Any]:
        return {"reads": self.reads}


@pytest.fixture
def scratchpad_kind() -> Iterator[None]:
    component(
        "scratchpad",
        params=ScratchpadParams,
        ports=(PortSpec("usp", UPSTREAM, {"mem"}),),
        section="scratchpads",
        memory=True,
    )(Scratchpad)
    yield
    unregister("scratchpad")


SCRATCHPAD_TOPOLOGY = """\
description: a host reading an SRAM scratchpad through a switch
run: {seed: 7}
components:
  - name: host0
    kind: host
    params:
      hdm: [{base: 64GiB, size: 1GiB, targets: [pad0]}]
      workload: {kind: random, footprint: 1GiB, requests: 500}
  - {name: sw0, kind: switch, params: {ports: 4}}
  - {name: pad0, kind: scratchpad, params: {access_latency: 15ns}}
links:
  - {between: [host0, sw0]}
  - {between: [sw0, pad0]}
"""


def test_a_kind_defined_in_this_file_validates_runs_and_reports(scratchpad_kind, tmp_path, capsys):
    assert main(["kinds"]) == 0
    listed = capsys.readouterr().out
    assert "scratchpad: An SRAM scratchpad on CXL.mem" in listed
    assert "port usp (upstream; mem)" in listed
    topo = tmp_path / "pad.yaml"
    topo.write_text(SCRATCHPAD_TOPOLOGY)
    schema = topology_schema()
    kinds_in_schema = {
        entry["title"] for entry in schema["properties"]["components"]["items"]["oneOf"]
    }
    assert "scratchpad" in kinds_in_schema
    assert main(["validate", str(topo)]) == 0
    assert main(["run", str(topo), "--out", str(tmp_path / "out"), "--no-progress"]) == 0
    stats = json.loads((tmp_path / "out" / "stats.json").read_text())
    reads = stats["scratchpads"]["pad0"]["reads"]
    assert reads == 500 - stats["hosts"]["host0"]["llc_hits"] and reads > 400
    assert stats["hosts"]["host0"]["cxl"]["pad0"]["reads"] == reads
    # host miss path 20 + 2 x (link + switch) each way + the scratchpad's 15 ns, all idle
    p50 = stats["latency"]["read"]["paths"]["cxl:pad0"]["p50"]
    assert 15 + 20 + 2 * 113 + 4 * 10 < p50 < 15 + 20 + 2 * 113 + 4 * 10 + 10


def test_a_new_kinds_params_get_file_line_errors(scratchpad_kind, tmp_path, capsys):
    topo = tmp_path / "pad.yaml"
    topo.write_text(
        SCRATCHPAD_TOPOLOGY.replace("access_latency: 15ns", "access_latency: 15 parsecs")
    )
    assert main(["validate", str(topo)]) == 2
    err = capsys.readouterr().err
    assert f"{topo}:10" in err and "access_latency" in err and "Traceback" not in err


# -- ports with roles and protocols --------------------------------------------------------------


class Quiet(Component):
    """Test kinds that only need to exist in a graph."""


@pytest.fixture
def test_kinds() -> Iterator[None]:
    component(
        "cache_host",
        params=ScratchpadParams,
        ports=(PortSpec("root", DOWNSTREAM, {"cache", "io"}),),
    )(Quiet)
    component(
        "mem_host",
        params=ScratchpadParams,
        ports=(PortSpec("root", DOWNSTREAM, {"mem", "io"}),),
    )(type("MemHost", (Quiet,), {}))
    component(
        "accel",
        params=ScratchpadParams,
        ports=(PortSpec("usp", UPSTREAM, {"cache", "io"}),),
    )(type("Accel", (Quiet,), {}))
    yield
    for kind in ("cache_host", "mem_host", "accel"):
        unregister(kind)


def _errors(tmp_path: Path, text: str) -> list[Any]:
    topo = tmp_path / "t.yaml"
    topo.write_text(text)
    with pytest.raises(TopologyError) as info:
        load_topology(topo)
    return info.value.issues


def test_two_upstream_ends_are_refused(tmp_path):
    issues = _errors(
        tmp_path,
        "components:\n"
        "  - {name: m0, kind: type3}\n"
        "  - {name: m1, kind: type3}\n"
        "links:\n"
        "  - {between: [m0, m1]}\n",
    )
    (issue,) = issues
    assert issue.where.line == 5
    assert "link m0 -- m1 joins two upstream ends" in issue.message
    assert "put a switch between them" in issue.hint


def test_a_type3_on_a_cache_only_port_is_refused(test_kinds, tmp_path):
    issues = _errors(
        tmp_path,
        "components:\n"
        "  - {name: h, kind: cache_host}\n"
        "  - {name: m, kind: type3}\n"
        "links:\n"
        "  - {between: [h, m]}\n",
    )
    messages = [(i.where.line, i.message, i.hint) for i in issues]
    assert any(
        line == 5
        and "type3 'm' speaks mem but cache_host 'h' port root" in message
        and "carries mem" in hint
        for line, message, hint in messages
    ), messages


def test_a_cache_device_needs_a_path_to_a_cache_capable_host(test_kinds, tmp_path):
    text = (
        "components:\n"
        "  - {name: h, kind: mem_host}\n"
        "  - {name: sw, kind: switch}\n"
        "  - {name: acc, kind: accel}\n"
        "links:\n"
        "  - {between: [h, sw]}\n"
        "  - {between: [sw, acc]}\n"
    )
    (issue,) = _errors(tmp_path, text)
    assert issue.where.line == 4
    assert "accel 'acc' speaks cache, but no host is reachable from it" in issue.message
    assert "root port carries cache" in issue.hint
    # The same device behind the same switch is fine once a host that speaks cache joins it.
    topo = tmp_path / "ok.yaml"
    topo.write_text(text + "  - {between: [sw, h2]}\n".replace("h2", "h2") + "")
    topo.write_text(
        text.replace("components:\n", "components:\n  - {name: h2, kind: host}\n")
        + "  - {between: [h2, sw]}\n"
    )
    graph = load_topology(topo)
    edge = graph.edges["sw", "acc"]
    assert edge["roles"] == {"sw": "downstream", "acc": "upstream"}
    assert edge["protocols"] == {"cache", "io"}


# -- probes --------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["quickstart", "memory_pool", "fat_tree_k4"])
def test_probes_on_every_port_change_nothing(name):
    path = ROOT / "topologies" / f"{name}.yaml"
    plain = elaborate(load_topology(path))
    plain_stats, _ = run_system(plain)
    probed = elaborate(load_topology(path))
    seen: list[tuple[str, Crossing, int]] = []
    last: dict[tuple[str, Crossing], int] = {}

    def probe(port: Any, msg: Any, direction: Crossing, time: int) -> None:
        key = (port.path, direction)
        assert time >= last.get(key, 0), "a port's crossings are seen in time order"
        last[key] = time
        seen.append((port.path, direction, time))

    for comp in probed.components.values():
        for port in comp.ports.values():
            port.add_probe(probe)
    probed_stats, _ = run_system(probed)
    assert to_json(probed_stats) == to_json(plain_stats)
    # Every message was seen leaving its sender and entering its receiver, except those still
    # on the wire when the request budget stopped the run.
    sent = sum(link.ab.messages + link.ba.messages for link in probed.links.values())
    outs = sum(1 for _, d, _ in seen if d is Crossing.OUT)
    ins = sum(1 for _, d, _ in seen if d is Crossing.IN)
    assert outs == sent and 0 <= sent - ins <= 4 * len(probed.links) * 64


def test_credits_are_per_message_class_and_capped_by_a_switch(tmp_path):
    topo = tmp_path / "t.yaml"
    topo.write_text(
        (ROOT / "topologies" / "quickstart.yaml").read_text()
        + "  - {between: [host0, mem1], credits: 8, class_credits: {m2s_req: 2, s2m_drs: 100}}\n"
        "  # (a second device, directly attached)\n"
    )
    text = topo.read_text().replace(
        "  - {name: mem0, kind: type3, params: {capacity: 64GiB}}\n",
        "  - {name: mem0, kind: type3, params: {capacity: 64GiB}}\n  - {name: mem1, kind: type3}\n",
    )
    text = text.replace("{ports: 8}", "{ports: 8, queue_depth: 4}")
    topo.write_text(text)
    system = elaborate(load_topology(topo))
    direct = system.links["host0<->mem1"]
    credits = {vc: direct.ab.virtual_channel(vc).credits for vc in (0, 1)}
    assert credits == {MessageClass.M2S_REQ: 2, MessageClass.M2S_RWD: 8}
    assert direct.ba.virtual_channel(MessageClass.S2M_DRS).credits == 100
    # A switch buffers queue_depth messages per class and port: its links advertise no more.
    switched = system.links["host0<->sw0"]
    assert switched.ab.virtual_channel(MessageClass.M2S_REQ).credits == 4
    assert switched.ba.virtual_channel(MessageClass.S2M_DRS).credits == 4


def test_the_json_schema_names_each_kinds_ports():
    entries = {
        e["title"]: e for e in topology_schema()["properties"]["components"]["items"]["oneOf"]
    }
    assert "root (downstream; cache, io, mem)" in entries["host"]["description"]
    assert "usp (upstream; io, mem)" in entries["type3"]["description"]
    assert "port (downstream/upstream; cache, io, mem)" in entries["switch"]["description"]


def test_the_emc_model_records_a_running_system_as_a_probe():
    """An EMC on the host's root port and one on the switch port facing the device: each
    records exactly the recordable messages crossing its port, in order, with direction and
    time, and the run's stats do not change."""
    path = ROOT / "topologies" / "quickstart.yaml"
    plain, _ = run_system(elaborate(load_topology(path)))
    system = elaborate(load_topology(path))
    seen: dict[str, list[tuple[Any, Crossing, int]]] = {}
    emcs: dict[str, EmcProbe] = {}
    for number, (name, port) in enumerate(
        [("host0", system.components["host0"].ports["p0"]), ("sw0", _towards(system, "mem0"))]
    ):
        model = EmcMonitorModel(EmcParams(fifo_depth=1 << 15), taps_every_channel=True)
        model.csr_write(EmcCsr.CTRL, 1)
        emcs[name] = EmcProbe(model, port_number=number, cycle_ps=1000)
        port.add_probe(emcs[name])
        port.add_probe(lambda p, m, d, t, key=name: seen.setdefault(key, []).append((m, d, t)))
    stats, _ = run_system(system)
    assert to_json(stats) == to_json(plain)
    for name, emc in emcs.items():
        records = list(emc.model.fifo)
        crossings = seen[name]
        assert emc.accounted and emc.model.invariant_holds
        assert emc.offered == len(crossings) and emc.unrecordable == 0  # MemRd and MemData only
        assert len(records) == len(crossings) == emc.model.counters["RECORDED"]
        for record, (msg, direction, time) in zip(records, crossings, strict=True):
            assert record.tag == msg.tag and record.channel == msg.CHANNEL
            assert record.direction == direction and record.timestamp == time // 1000
        outs = sum(1 for _, d, _ in crossings if d is Crossing.OUT)
        # The host sends requests and receives responses; the switch port the other way round.
        assert 0 < outs < len(crossings)


def _towards(system: Any, neighbour: str) -> Any:
    switch = system.components["sw0"]
    return next(a.port for a in switch.attachments if a.peer == neighbour)
