"""The exhaustive explorer: every interleaving of host + 2 devices, from the same tables."""

from __future__ import annotations

from slugsim.coherence.explorer import explore, menu_programs
from slugsim.coherence.system import SystemConfig


def test_one_line_every_interleaving_of_two_operations_per_device() -> None:
    # each device: a load or store, then any of the 15 device operations
    config = SystemConfig(devices=2, cores=0, lines=1, sf_sets=1, sf_ways=4)
    first = ("LoadShared", "LoadAny", "StoreOwn")
    result = explore(config, menu_programs(config, 2, 0, first_menu=first))
    print(result.summary())
    assert result.failure is None, "\n".join([result.failure or "", *result.trace])
    assert result.complete and result.states > 20_000 and result.terminal > 50
    reached = set(result.coverage)
    # the races the protocol exists for were among the interleavings
    assert ("device", "MIA", "SnpInv") in reached  # snoop between evict and WritePull
    assert ("device", "EIA", "SnpData") in reached
    assert ("home", "PULL_EV", "BogusData") in reached  # ... so the data comes Bogus
    assert ("device", "SMA", "SnpInv") in reached  # upgrade loses its S copy on the way
    assert ("device", "ISA", "GO_S") in reached  # data before GO


def test_one_line_with_a_host_core() -> None:
    config = SystemConfig(devices=2, cores=1, lines=1, sf_sets=1, sf_ways=4)
    result = explore(config, menu_programs(config, device_ops=1, core_ops=1))
    print(result.summary())
    assert result.failure is None, "\n".join([result.failure or "", *result.trace])
    assert result.complete and result.states > 10_000
    reached = set(result.coverage)
    assert ("device", "IXA", "GO_M") in reached  # RdAny handed a core's dirty line
    assert ("home", "SNP_CL", "Done") in reached and ("home", "SNP_CS", "Done") in reached


def test_two_lines_with_a_one_way_snoop_filter_forcing_victims() -> None:
    config = SystemConfig(devices=2, cores=0, lines=2, sf_sets=1, sf_ways=1)
    result = explore(config, menu_programs(config, device_ops=1, core_ops=0))
    print(result.summary())
    assert result.failure is None, "\n".join([result.failure or "", *result.trace])
    assert result.complete and result.states > 5_000
    reached = {(state, event) for kind, state, event in result.coverage if kind == "home"}
    assert {("I", "SfFull"), ("I", "SfVictim"), ("D", "SfVictim")} <= reached
    assert ("SNP_BI", "Done") in reached


def test_a_failure_comes_with_the_shortest_trace_to_it() -> None:
    config = SystemConfig(devices=2, cores=1, lines=1, mutation="no_snoop_pushes_go")
    result = explore(config, menu_programs(config, device_ops=1, core_ops=1))
    assert result.failure is not None and "impossible" in result.failure
    trace = "\n".join(result.trace)
    assert "issues" in trace and "deliver host->dev" in trace
    assert trace.splitlines()[-1].startswith("!! ProtocolError")


def test_a_state_budget_stops_the_search_and_says_so() -> None:
    config = SystemConfig(devices=2, cores=1, lines=1)
    result = explore(config, menu_programs(config, device_ops=1, core_ops=1), max_states=500)
    assert not result.complete and "budget" in result.summary()
