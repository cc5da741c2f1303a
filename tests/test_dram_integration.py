"""The timing DRAM model selected by HostParams / Type3Params (dram_model: timing)."""

from dataclasses import replace

import pytest
from slugsim.components import HostParams, Type3Params
from slugsim.components.dram import DramChannel
from slugsim.components.dram_timing import DramTiming
from slugsim.fabric import SystemBuilder
from slugsim.fabric.params import HdmWindow, RunOptions, WorkloadParams
from slugsim.sim import elaborate, run_system
from slugsim.sim.graphs import CXL_BASE, GIB, VISTARA_LINK, chase


def local(host: HostParams):
    return SystemBuilder(RunOptions(seed=1)).host("host0", host).build()


def direct(host: HostParams, device: Type3Params):
    host = replace(host, hdm=(HdmWindow(base=CXL_BASE, size=64 * GIB, targets=("mem0",)),))
    f = SystemBuilder(RunOptions(seed=1)).host("host0", host).type3("mem0", device)
    return f.link("host0", "mem0", VISTARA_LINK).build()


def test_the_default_is_the_simple_model():
    assert HostParams().dram_model == "simple" and Type3Params().dram_model == "simple"
    system = elaborate(local(HostParams(workload=chase("local", 10))))
    assert isinstance(system.components["host0"].dram, DramChannel)


@pytest.mark.parametrize("preset", ["ddr4-2400", "ddr5-4800", "ddr5-6400"])
def test_a_host_with_timing_dram_runs_a_local_chase(preset):
    host = HostParams(
        dram_model="timing", dram_preset=preset, dram_channels=2, workload=chase("local", 500)
    )
    system = elaborate(local(host))
    assert isinstance(system.components["host0"].dram, DramTiming)
    stats, _ = run_system(system)
    assert stats["hosts"]["host0"]["local_reads"] == 500
    p50 = stats["latency"]["read"]["paths"]["local"]["p50"]
    # Idle: llc + controller + a row miss or conflict (DDR5-6400 default: about 130 ns).
    assert 100 <= p50 <= 160


def test_default_timing_host_keeps_the_idle_local_latency():
    stats, _ = run_system(
        elaborate(local(HostParams(dram_model="timing", workload=chase("local", 2000))))
    )
    assert stats["latency"]["read"]["paths"]["local"]["p50"] == pytest.approx(130, rel=0.1)


def test_default_timing_device_keeps_the_direct_attached_latency():
    graph = direct(HostParams(workload=chase("cxl", 2000)), Type3Params(dram_model="timing"))
    stats, _ = run_system(elaborate(graph))
    assert stats["latency"]["read"]["paths"]["cxl:mem0"]["p50"] == pytest.approx(250, rel=0.1)


def test_loaded_timing_dram_queues_and_completes_writes():
    workload = WorkloadParams(
        kind="random", footprint=GIB, target="cxl", requests=400, read_ratio=0.5
    )
    host = HostParams(cores=8, outstanding=16, llc_size=64 << 10, workload=workload)
    graph = direct(host, Type3Params(dram_model="timing"))
    system = elaborate(graph)
    stats, _ = run_system(system)
    device = stats["devices"]["mem0"]
    assert stats["hosts"]["host0"]["completed"] == 8 * 400
    assert device["writes"] > 0 and device["dram_mean_queue_ns"] > 0
    assert 0 < device["dram_utilisation"] <= 1
    dram = system.components["mem0"].dram
    counters = dram.counters()
    assert counters["writes"] == device["writes"] and dram.in_flight() == 0
    assert counters["row_conflicts"] + counters["row_misses"] > 0


TIMING_YAML = """
run: {seed: 1, requests: 200}
components:
  - name: host0
    kind: host
    params:
      dram_model: timing
      dram_preset: ddr5-4800
      dram_channels: 1
      dram_page_policy: closed
      dram_controller_latency: 50ns
      workload: {kind: random, footprint: 1GiB, target: local, requests: 200}
  - {name: mem0, kind: type3, params: {dram_model: timing, dram_preset: ddr4-2400}}
links:
  - {between: [host0, mem0]}
"""


def test_a_topology_file_selects_the_timing_model():
    from slugsim.config import parse_yaml
    from slugsim.config.document import builder_from

    system = elaborate(builder_from(parse_yaml(TIMING_YAML)).build())
    dram = system.components["host0"].dram
    assert isinstance(dram, DramTiming) and dram.device.name == "ddr5-4800"
    assert dram.channel_count == 2 and dram.read_latency == 50_000
    assert dram.controllers[0].closed_page
    assert system.components["mem0"].dram.device.name == "ddr4-2400"
    stats, _ = run_system(system)
    assert stats["hosts"]["host0"]["local_reads"] == 200


def test_an_unknown_preset_is_refused_with_its_line():
    from slugsim.config import TopologyError, parse_yaml
    from slugsim.config.document import builder_from

    with pytest.raises(TopologyError) as error:
        builder_from(parse_yaml(TIMING_YAML.replace("ddr5-4800", "ddr5-9999"))).build()
    assert "ddr5-9999" in str(error.value) and "<string>:8:" in str(error.value)


@pytest.mark.parametrize("params", [HostParams, Type3Params])
def test_the_preset_choices_are_the_presets(params):
    from dataclasses import fields
    from typing import get_args, get_type_hints

    from slugsim.components.dram_presets import PRESET_NAMES

    preset_field = next(f for f in fields(params) if f.name == "dram_preset")
    assert get_args(get_type_hints(params)[preset_field.name]) == PRESET_NAMES


def test_ranks_per_channel_reach_the_timing_model():
    """``dram_ranks`` (docs/dram.md: Vistara's two DIMMs per channel): every channel
    controller gets that many ranks, and their refreshes are staggered, one per rank."""
    graph = direct(
        HostParams(workload=chase("cxl", 200)),
        Type3Params(dram_model="timing", dram_channels=2, dram_ranks=4),
    )
    system = elaborate(graph)
    dram = system.components["mem0"].dram
    assert [len(c.ranks) for c in dram.controllers] == [4, 4]
    refreshes = [rank.next_refresh_at for rank in dram.controllers[0].ranks]
    assert len(set(refreshes)) == 4
    stats, _ = run_system(system)
    assert stats["latency"]["read"]["paths"]["cxl:mem0"]["p50"] == pytest.approx(250, rel=0.1)
