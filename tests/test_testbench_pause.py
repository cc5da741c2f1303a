"""Pause generators (slugsim.testbench.pause): the Python side of the sinks' back-pressure."""

import itertools

import pytest
from slugsim.testbench.pause import LFSR_TAPS, LfsrPause, pause_pattern


def test_lfsr_pause_steps_the_recorders_galois_lfsr():
    pause = LfsrPause(0.5, seed=1)
    assert pause.threshold == 128
    # seed 1: low byte 1 pauses; then 1 >> 1 ^ taps, whose low byte 0x03 pauses too
    state = 1
    for got in itertools.islice(pause, 64):
        assert got == ((state & 0xFF) < 128)
        state = (state >> 1) ^ (LFSR_TAPS if state & 1 else 0)


def test_lfsr_pause_ratio_seed_and_reproducibility():
    assert not any(itertools.islice(LfsrPause(0.0, seed=99), 1000))
    a = list(itertools.islice(LfsrPause(0.3, seed=0xDEADBEEF), 20000))
    assert a == list(itertools.islice(LfsrPause(0.3, seed=0xDEADBEEF), 20000))
    assert a != list(itertools.islice(LfsrPause(0.3, seed=0xDEADBEF0), 20000))
    assert abs(sum(a) / len(a) - 0.3) < 0.02
    assert list(itertools.islice(LfsrPause(0.3, seed=0), 50)) == list(
        itertools.islice(LfsrPause(0.3, seed=1), 50)
    ), "seed 0 would lock the LFSR: it reads as 1, as in the RTL"
    assert LfsrPause(0.9999).threshold == 255


@pytest.mark.parametrize(("ratio", "seed"), [(1.0, 1), (-0.1, 1), (0.5, 1 << 32), (0.5, -1)])
def test_lfsr_pause_refuses_bad_arguments(ratio: float, seed: int):
    with pytest.raises(ValueError):
        LfsrPause(ratio, seed)


def test_pause_pattern_cycles_forever():
    assert list(itertools.islice(pause_pattern([1, 0, 0]), 7)) == [
        True,
        False,
        False,
        True,
        False,
        False,
        True,
    ]
