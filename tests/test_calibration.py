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


def test_calibrate_prints_the_table_and_returns_zero():
    console = Console(record=True, width=160)
    assert calibrate(console) == 0
    text = console.export_text()
    assert "250.0 ns" in text and "48.0 GB/s" in text
