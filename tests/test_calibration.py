"""The default models reproduce the calibration targets of CXL_REFERENCE.md §7b within ±10%."""

import pytest
from rich.console import Console
from slugsim.sim import calibrate
from slugsim.sim.calibration import TOLERANCE, measure


@pytest.fixture(scope="module")
def figures():
    return {f.name: f for f in measure()}


@pytest.mark.parametrize(
    "name, target",
    [
        ("local DDR, idle", 130.0),
        ("Type-3 direct, idle", 250.0),
        ("Type-3 behind 1 switch, idle", 500.0),
        ("peak read, 2 interleaved Type-3", 48.0),
        ("3:1 read:write, 2 interleaved Type-3", 41.5),
        ("2:1 read:write, 2 interleaved Type-3", 41.5),
    ],
)
def test_figure_within_ten_percent(figures, name, target):
    figure = figures[name]
    assert figure.target == target
    assert abs(figure.model - target) <= TOLERANCE * target, f"{name}: model {figure.model}"


def test_switch_roughly_doubles_the_direct_latency(figures):
    direct = figures["Type-3 direct, idle"].model
    switched = figures["Type-3 behind 1 switch, idle"].model
    assert switched / direct == pytest.approx(2.0, rel=TOLERANCE)


def test_loaded_latency_comes_from_queueing(figures):
    # At peak bandwidth the links are saturated, so reads wait: loaded latency must exceed idle.
    from slugsim.sim import elaborate, run_system
    from slugsim.sim.graphs import interleaved_system

    stats, _ = run_system(elaborate(interleaved_system(requests_per_core=500)))
    loaded = stats["latency"]["read"]["all"]["p50"]
    assert loaded > 1.5 * figures["Type-3 direct, idle"].model
    busiest = max(
        ch["utilisation"] for link in stats["links"].values() for ch in (link["ab"], link["ba"])
    )
    assert busiest > 0.9


def test_calibrate_prints_every_row_and_fails_only_on_the_known_gaps():
    # Every row of issue 10: idle, peak, three mixes, five MLC points. While any row is outside
    # ±10 % calibrate exits 1, and the only rows outside are the documented gaps.
    from slugsim.sim.calibration import KNOWN_GAPS, MLC_LOADED_TARGETS

    console = Console(record=True, width=200)
    assert calibrate(console) == 1
    text = console.export_text()
    assert "250.0 ns" in text and "48.0 GB/s" in text and "41.5 GB/s" in text
    for label in ("3:1", "2:1", "1:1"):
        assert f"{label} read:write" in text
    for delay, target, _ in MLC_LOADED_TARGETS:
        assert f"MLC delay {delay}," in text and f"{target:.1f} ns" in text
    failing = [line for line in text.splitlines() if " NO" in line]
    assert len(failing) == len(KNOWN_GAPS)
    assert all("known gap" in line for line in failing)


def test_known_gaps_are_the_only_failing_figures(figures):
    from slugsim.sim.calibration import KNOWN_GAPS

    assert sorted(name for name, f in figures.items() if not f.ok) == sorted(KNOWN_GAPS)


def test_one_to_one_mix_is_the_known_gap(figures):
    # Known gap (docs/dram.md): the simple device DRAM pays a bus turnaround per batch of 4
    # writes, so bandwidth falls with the write share (3:1 > 2:1 > 1:1) while Vistara measures
    # 41-42 GB/s flat from 3:1 to 1:1. All stores come out about a quarter low.
    one = figures["1:1 read:write, 2 interleaved Type-3"]
    assert one.target == 41.5
    assert 0.65 * 41.5 < one.model < 0.8 * 41.5


def test_mixed_traffic_is_slower_than_all_reads(figures):
    # Vistara: 41-42 GB/s of read+write traffic against 48 GB/s all-reads (§7b). Without the
    # DRAM turnaround the model's mixes beat all-reads, as the link carries writes the other way.
    peak = figures["peak read, 2 interleaved Type-3"].model
    three = figures["3:1 read:write, 2 interleaved Type-3"].model
    two = figures["2:1 read:write, 2 interleaved Type-3"].model
    one = figures["1:1 read:write, 2 interleaved Type-3"].model
    assert one < two < three < peak


def test_mixed_figure_counts_rfo_reads_and_writebacks():
    # MLC's traffic: a 2:1 mix (read_ratio 1/2) moves one writeback per two line reads once the
    # LLC is warm, and the figure is their sum.
    from slugsim.sim import elaborate, run_system
    from slugsim.sim.calibration import MIXED_LLC_BYTES, mixed_bandwidth
    from slugsim.sim.graphs import interleaved_system

    graph = interleaved_system(requests_per_core=500, read_ratio=0.5, llc_size=MIXED_LLC_BYTES)
    stats, _ = run_system(elaborate(graph))
    bw = stats["bandwidth"]
    assert bw["cxl_write_gbps"] == pytest.approx(bw["cxl_read_gbps"] / 2, rel=0.1)
    assert mixed_bandwidth(0.5, 500) == pytest.approx(bw["cxl_read_gbps"] + bw["cxl_write_gbps"])
    turnaround = [dev["dram_turnaround"] for dev in stats["devices"].values()]
    assert all(t > 0 for t in turnaround)


# -- MLC loaded latency on a Xeon w3-2423, local DDR5 through the timing DRAM model ----------


@pytest.fixture(scope="module")
def mlc_points():
    from slugsim.sim.calibration import mlc_loaded_latency

    return {p.delay: p for p in mlc_loaded_latency()}


@pytest.mark.parametrize(
    ("delay", "target"), [(20000, 110.1), (1000, 113.0), (200, 125.1), (0, 370.1)]
)
def test_mlc_loaded_latency_within_ten_percent(mlc_points, delay, target):
    point = mlc_points[delay]
    assert point.target_ns == target
    assert point.ok, f"delay {delay}: model {point.p50_ns} ns, MLC {target} ns"


@pytest.mark.parametrize("delay", [20000, 1000, 200, 100])
def test_mlc_think_time_offers_the_measured_load(mlc_points, delay):
    point = mlc_points[delay]
    assert point.bandwidth_gbps == pytest.approx(point.target_gbps, rel=0.05)


def test_mlc_system_is_the_artifacts_dimm():
    # dmidecode.txt beside the MLC output: one 1-rank DDR5 RDIMM configured at 4400 MT/s.
    from slugsim.components.dram_presets import preset
    from slugsim.sim.graphs import SPR_MLC_DRAM_CHANNELS, SPR_MLC_DRAM_PRESET

    device = preset(SPR_MLC_DRAM_PRESET)
    assert device.data_rate == 4400 and SPR_MLC_DRAM_CHANNELS == 1
    assert device.peak_bytes_per_s == 35.2e9


def test_mlc_knee_is_the_known_gap(mlc_points):
    # Known gap (docs/dram.md): the model saturates near 30.7 GB/s (DDR5-4400 less refresh and
    # bank timing), MLC at 28.4, so at MLC's 28.0 GB/s (delay 100, 98.6 % of MLC's peak) the
    # model is at 91 % of its own, below its knee: its latency there is about half of the
    # 238.5 ns measured. This test pins that, to be revisited.
    knee = mlc_points[100]
    saturated = mlc_points[0]
    assert 1.05 * saturated.target_gbps < saturated.bandwidth_gbps < 1.1 * saturated.target_gbps
    assert knee.p50_ns < 0.9 * knee.target_ns
    assert mlc_points[20000].p50_ns <= mlc_points[200].p50_ns < saturated.p50_ns
