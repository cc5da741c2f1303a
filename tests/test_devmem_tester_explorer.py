"""The random tester and the explorer over device memory (HDM-DB and HDM-D): no violation,
and the races that matter are actually reached."""

from __future__ import annotations

import random

import pytest
from slugsim.coherence.devmem import DevMemConfig, menu_programs
from slugsim.coherence.explorer import explore
from slugsim.coherence.tester import report, run

CONFIGS = {
    "db-1host-victims": DevMemConfig(hosts=1, lines=2, sf_sets=1, sf_ways=1),
    "db-3hosts-pooled": DevMemConfig(hosts=3, lines=3, sf_sets=1, sf_ways=2, outstanding=2),
    "db-2hosts-IA": DevMemConfig(hosts=2, lines=2, sf_sets=1, sf_ways=1, isa=False),
    "db-device-cache": DevMemConfig(hosts=2, lines=2, sf_ways=1, device_cache=True),
    "d-software": DevMemConfig(mode="hdm_d", lines=4, page_lines=2, outstanding=2),
    "d-predictor": DevMemConfig(mode="hdm_d", lines=2, page_lines=1, predictor=2),
}
# Rules each random soak must reach: both conflict orderings, victims, flips and their races.
MUST_FIRE = {
    "db-1host-victims": {
        ("host", "IXCD_K", "ConflictAck"),  # early conflict
        ("host", "IXD_L", "Data"),  # late conflict, data last
        ("host", "IX_K", "ConflictAck"),  # late conflict, data before the Ack
        ("host", "M", "BISnpInv"),  # dirty flush before BIRspI
        ("dcoh", "SNP_VIC", "Snooped"),
        ("dcoh", "WAIT_VIC", "VictimGone"),
    },
    "db-3hosts-pooled": {("dcoh", "SNP_REQ", "Snooped"), ("dcoh", "A", "MemRdS")},
    "d-software": {
        ("dcoh", "FLIP", "HostRead"),  # a flip racing a host access
        ("dcoh", "FLIP_X", "FlipDone"),
        ("dcoh", "FLIP", "FlipDone"),
        ("dcoh", "DEVICE", "HostRead"),
        ("host", "M", "RdOwnNoData"),
    },
    "d-predictor": {("dcoh", "HOST", "Predict")},
}


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_random_runs_pass_and_reach_the_races(name: str) -> None:
    config = CONFIGS[name]
    fired: set[tuple[str, str, str]] = set()
    for seed in range(8):
        result = run(config, config.generate(random.Random(seed), 150), seed, coverage=True)
        assert result.failure is None, report(result, None)  # rerun: random_test(config, seed)
        fired |= result.coverage
    missing = MUST_FIRE.get(name, set()) - fired
    assert not missing, f"{name}: never fired {sorted(missing)}"


EXPLORE = [
    ("db 1 host 1 line", DevMemConfig(hosts=1, lines=1, sf_ways=1), 2, 2),
    ("db 1 host 2 lines SF 1x1", DevMemConfig(hosts=1, lines=2, sf_ways=1), 2, 1),
    ("db 2 hosts 1 line", DevMemConfig(hosts=2, lines=1, sf_ways=1), 2, 0),
    ("db device cache", DevMemConfig(hosts=1, lines=1, sf_ways=1, device_cache=True), 2, 2),
    ("d 1 line", DevMemConfig(mode="hdm_d", lines=1), 2, 2),
    ("d predictor", DevMemConfig(mode="hdm_d", lines=1, predictor=1), 2, 2),
]


@pytest.mark.parametrize(("label", "config", "host_ops", "device_ops"), EXPLORE)
def test_the_explorer_finds_no_violation(
    label: str, config: DevMemConfig, host_ops: int, device_ops: int
) -> None:
    result = explore(config, menu_programs(config, host_ops, device_ops))
    print(f"{label}: {result.summary()}")
    assert result.failure is None, "\n".join([result.failure or "", *result.trace])
    assert result.complete and result.states > 500
    if config.mode == "hdm_db" and config.lines == 1:
        for rule in (("IXCD_K", "ConflictAck"), ("IXD_L", "Data"), ("WBS", "Cmp")):
            assert ("host", *rule) in result.coverage, rule
