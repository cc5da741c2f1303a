"""Planted protocol bugs: the random tester or the explorer must catch every one."""

from __future__ import annotations

import pytest
from slugsim.coherence.explorer import explore, menu_programs
from slugsim.coherence.mutations import MUTATIONS
from slugsim.coherence.system import SystemConfig
from slugsim.coherence.tester import random_test

# The tester's system for the mutations: a one-way snoop filter so victims happen.
TESTER = SystemConfig(devices=3, cores=1, lines=2, sf_sets=1, sf_ways=1)
# ... and, for the mutations of the error path, the host's translation check refusing dev2
# (tester) or dev1 (explorer) on line 1 / line 0
REFUSING = {"ignore_go_err"}
# The explorer's systems: 2 devices, each a load or store then any operation; one line, or
# two lines and a one-way snoop filter (victims).
SETUP = ("LoadShared", "LoadAny", "StoreOwn")
ONE_LINE = SystemConfig(devices=2, cores=0, lines=1, sf_sets=1, sf_ways=4)
TWO_LINES = SystemConfig(devices=2, cores=0, lines=2, sf_sets=1, sf_ways=1)
EXPLORER_CATCHES = {
    "no_snoop_pushes_go": ONE_LINE,
    "go_before_snoop_returns": ONE_LINE,
    "go_e_for_rdshared": ONE_LINE,
    "answer_before_data": ONE_LINE,
    "keep_bogus_data": ONE_LINE,
    "forget_victim_sharer": TWO_LINES,
    "two_snoops_per_line": TWO_LINES,
    "ignore_go_err": SystemConfig(**{**vars(ONE_LINE), "refused": ((1, 0),)}),
}


def test_there_are_at_least_five_mutations() -> None:
    assert len(MUTATIONS) >= 5


@pytest.mark.parametrize("name", sorted(MUTATIONS))
def test_the_random_tester_catches(name: str) -> None:
    refused = ((2, 1),) if name in REFUSING else ()
    config = SystemConfig(**{**vars(TESTER), "mutation": name, "refused": refused})
    for seed in range(40):
        result, shrunk = random_test(config, seed, ops_per_agent=60, shrink_runs=60)
        if result.failure is not None:
            print(f"{name}: caught by the tester at seed {seed}: {result.failure}")
            assert shrunk is not None and shrunk.failure is not None
            return
    pytest.fail(f"the tester missed {name} over 40 seeds")


@pytest.mark.parametrize("name", sorted(EXPLORER_CATCHES))
def test_the_explorer_catches(name: str) -> None:
    config = SystemConfig(**{**vars(EXPLORER_CATCHES[name]), "mutation": name})
    result = explore(config, menu_programs(config, 2, 0, first_menu=SETUP), max_states=60_000)
    print(f"{name}: {result.summary()}")
    assert result.failure is not None


def test_the_correct_protocol_passes_the_same_seeds() -> None:
    for seed in range(10):
        result, _ = random_test(TESTER, seed, ops_per_agent=60)
        assert result.failure is None, f"seed {seed}: {result.failure}"
