"""Constant-memory latency histograms: HdrHistogram bucketing, the error bound, exact counts."""

import random

import numpy as np
import pytest
from hdrh.histogram import HdrHistogram
from slugsim.sim import elaborate, run_system
from slugsim.stats import RELATIVE_ERROR, LatencyHistogram, nearest_rank, summarise
from slugsim.stats.histogram import BATCH, HIGHEST_PS, LOWEST_PS, SIGNIFICANT_DIGITS
from test_sim import small


def _draws(seed: int, n: int) -> list[int]:
    rng = random.Random(seed)
    return (
        [rng.randint(0, 4096) for _ in range(n // 4)]
        + [int(rng.lognormvariate(13, 1)) for _ in range(n // 4)]  # ~440 ns, long tail
        + [rng.randint(100_000, 2_000_000) for _ in range(n // 4)]
        + [rng.randint(0, HIGHEST_PS) for _ in range(n // 4)]
    )


def test_batched_recording_matches_hdrhistogram_record_value():
    values = [*_draws(1, 3 * BATCH), 0, 1, 2047, 2048, 2049, HIGHEST_PS]
    ours = LatencyHistogram(values)
    reference = HdrHistogram(LOWEST_PS, HIGHEST_PS, SIGNIFICANT_DIGITS)
    for value in values:
        reference.record_value(value)
    hdr = ours.hdr
    assert np.array_equal(
        np.ctypeslib.as_array(hdr.counts), np.ctypeslib.as_array(reference.counts)
    )
    assert hdr.get_total_count() == reference.get_total_count() == len(values)
    # The standard encoding round-trips (other HdrHistogram tools can read it).
    decoded = HdrHistogram.decode(hdr.encode())
    assert decoded.get_total_count() == len(values)
    assert decoded.get_value_at_percentile(50) == reference.get_value_at_percentile(50)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_percentiles_are_within_the_bound_and_count_mean_max_exact(seed):
    values = _draws(seed, 20_000)
    random.Random(seed).shuffle(values)
    histogram = LatencyHistogram(values)
    ordered = sorted(values)
    for name, percent in (("p50", 50), ("p90", 90), ("p99", 99)):
        exact = nearest_rank(ordered, percent)
        got = histogram.percentiles()[name]
        assert exact <= got <= exact * (1 + RELATIVE_ERROR), name
    exact999 = ordered[-(-999 * len(ordered) // 1000) - 1]
    assert exact999 <= histogram.percentiles()["p999"] <= exact999 * (1 + RELATIVE_ERROR)
    assert histogram.count == len(values)
    assert histogram.mean() == sum(values) / len(values)
    assert histogram.maximum == max(values) and histogram.minimum == min(values)


def test_values_below_2048_ps_are_exact():
    values = list(range(2048))
    summary = summarise(values)
    assert summary["p50"] == nearest_rank(values, 50) / 1000
    assert summary["p99"] == nearest_rank(values, 99) / 1000


def test_merge_equals_recording_everything_into_one():
    a, b = _draws(4, 5000), _draws(5, 7000)
    merged = LatencyHistogram.merged([LatencyHistogram(a), LatencyHistogram(), LatencyHistogram(b)])
    assert summarise(merged) == summarise(LatencyHistogram(a + b))
    assert merged.count == len(a) + len(b)


def test_memory_does_not_grow_with_values():
    histogram = LatencyHistogram()
    histogram.record(1000)
    histogram.flush()
    size = len(np.ctypeslib.as_array(histogram.hdr.counts))
    rng = random.Random(6)
    for _ in range(20 * BATCH):
        histogram.record(rng.randint(0, 10**9))
        assert len(histogram.pending) < BATCH
    assert len(np.ctypeslib.as_array(histogram.hdr.counts)) == size
    assert histogram.count == 20 * BATCH + 1


def test_out_of_range_latency_is_an_error_not_a_silent_drop():
    with pytest.raises(ValueError, match="outside the histogram range"):
        LatencyHistogram([HIGHEST_PS + 1]).flush()
    with pytest.raises(ValueError, match="outside the histogram range"):
        LatencyHistogram([-1]).flush()


def test_host_counts_stay_exact_and_agree_with_the_histograms():
    system = elaborate(small(requests=3000), None)
    stats, _ = run_system(system)
    host = system.components["host0"]
    histograms = host.latency_histograms()
    completed = sum(h.count for h in histograms.values())
    assert completed == stats["hosts"]["host0"]["completed"] == stats["run"]["requests"]
    assert stats["hosts"]["host0"]["completed"] == stats["hosts"]["host0"]["issued"]
    for device, entry in stats["hosts"]["host0"]["cxl"].items():
        assert entry["reads"] == histograms["read", f"cxl:{device}"].count
        assert entry["rfo"] == histograms["write", f"cxl:{device}"].count
    for (cls, path), histogram in histograms.items():
        assert stats["latency"][cls]["paths"][path]["count"] == histogram.count


def test_cdf_rises_from_zero_at_the_minimum_to_one_at_the_maximum():
    values = [500_000] * 10 + [1_000_000] * 30 + [1_500_000] * 60
    xs, ys = LatencyHistogram(values).cdf()
    assert xs[0] == 500.0 and ys[0] == 0.0
    assert xs[-1] == 1500.0 and ys[-1] == 1.0
    assert ys == sorted(ys) and xs == sorted(xs)
    assert ys[1:] == [0.1, 0.4, 1.0]
