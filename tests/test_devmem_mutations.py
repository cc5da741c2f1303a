"""Planted device-memory protocol bugs: the random tester and the explorer must catch each."""

from __future__ import annotations

import dataclasses

import pytest
from slugsim.coherence.devmem import DevMemConfig, menu_programs
from slugsim.coherence.devmem_mutations import DEVMEM_MUTATIONS
from slugsim.coherence.explorer import explore
from slugsim.coherence.tester import random_test

# The tester's systems: three hosts sharing two lines through a one-way filter (victims,
# cross-host back-invalidation, conflicts), and HDM-D with two-line pages.
TESTER = {
    "hdm_db": DevMemConfig(hosts=3, lines=2, sf_sets=1, sf_ways=1, device_cache=True),
    "hdm_d": DevMemConfig(mode="hdm_d", lines=2, page_lines=2),
}
# The explorer's: the smallest system that shows each bug.
EXPLORER = {
    "no_bisnp_blocking": (DevMemConfig(hosts=1, lines=1), 2, 2),
    "birsp_before_writeback": (DevMemConfig(hosts=1, lines=1), 2, 2),
    "late_conflict_as_early": (DevMemConfig(hosts=1, lines=1), 2, 2),
    "forget_victim_sharer": (DevMemConfig(hosts=2, lines=2, sf_ways=1), 2, 0),
    "flip_without_completion": (DevMemConfig(mode="hdm_d", lines=1), 2, 2),
    "ignore_device_copy": (DevMemConfig(hosts=1, lines=1, device_cache=True), 2, 2),
}


def test_there_are_at_least_four_mutations() -> None:
    assert len(DEVMEM_MUTATIONS) >= 4
    assert set(EXPLORER) == set(DEVMEM_MUTATIONS)


@pytest.mark.parametrize("name", sorted(DEVMEM_MUTATIONS))
def test_the_random_tester_catches(name: str) -> None:
    mutation = DEVMEM_MUTATIONS[name]
    config = dataclasses.replace(TESTER[mutation.mode], mutation=name)
    for seed in range(40):
        result, shrunk = random_test(config, seed, ops_per_agent=60, shrink_runs=60)
        if result.failure is not None:
            print(f"{name}: caught by the tester at seed {seed}: {result.failure}")
            assert shrunk is not None and shrunk.failure is not None
            return
    pytest.fail(f"the tester missed {name} over 40 seeds")


@pytest.mark.parametrize("name", sorted(EXPLORER))
def test_the_explorer_catches(name: str) -> None:
    base, host_ops, device_ops = EXPLORER[name]
    config = dataclasses.replace(base, mutation=name)
    result = explore(config, menu_programs(config, host_ops, device_ops), max_states=60_000)
    print(f"{name}: {result.summary()}")
    assert result.failure is not None


@pytest.mark.parametrize("mode", sorted(TESTER))
def test_the_correct_protocol_passes_the_same_seeds(mode: str) -> None:
    for seed in range(10):
        result, _ = random_test(TESTER[mode], seed, ops_per_agent=60)
        assert result.failure is None, f"seed {seed}: {result.failure}"
