"""GO-Err: requests the host's translation check refuses are answered, and fail cleanly."""

from __future__ import annotations

import os
import random

from slugsim.coherence.device import HOLDS_COPY
from slugsim.coherence.explorer import explore, menu_programs
from slugsim.coherence.system import CoherentSystem, SystemConfig
from slugsim.coherence.tester import generate, random_test, report, run

SEED = int(os.environ.get("COHERENCE_SEED", random.randrange(1 << 30)))
# dev1 may never touch line 0; everybody else (and dev1 on line 1) is served as usual
REFUSED = SystemConfig(devices=2, cores=1, lines=2, sf_sets=1, sf_ways=2, refused=((1, 0),))


def test_random_runs_with_refused_requests_complete_every_operation() -> None:
    print(f"seed {SEED} (rerun with COHERENCE_SEED={SEED})")
    reached: set[tuple[str, str, str]] = set()
    for seed in range(SEED, SEED + 5):
        result, shrunk = random_test(REFUSED, seed, ops_per_agent=150)
        assert result.failure is None, report(result, shrunk)
        # no operation hangs: every one of dev1's refused operations completed (as failed)
        assert result.ops == 150 * 3
        programs = generate(REFUSED, random.Random(seed), 150)
        reached |= run(REFUSED, programs, seed, coverage=True).coverage
    device = {(s, e) for kind, s, e in reached if kind == "device"}
    home = {(s, e) for kind, s, e in reached if kind == "home"}
    assert ("IRD", "ErrData") in device or ("IRA", "GO_Err") in device
    assert ("IVD", "ErrData") in device  # RdCurr: the flagged data alone says it failed
    assert ("IWA", "GO_ERR_WritePull") in device and ("IWX", "ExtCmp") in device
    assert {e for _, e in home} >= {"RefusedRead", "RefusedWrite", "RefusedWOWrInv"}


def test_a_refused_device_never_holds_or_owns_the_line() -> None:
    rng = random.Random(SEED)
    print(f"seed {SEED} (rerun with COHERENCE_SEED={SEED})")
    system = CoherentSystem(REFUSED, generate(REFUSED, rng, 200))
    dev1 = system.devices[1]
    while steps := system.enabled():
        system.apply(steps[rng.randrange(len(steps))])
        state = dev1.line_state(0)
        assert state not in HOLDS_COPY, state
        assert system.home.entry(0).owner != 1
        assert not system.home.sf.sharers(0) >> 1 & 1
    assert system.done()
    system.final_check()
    assert system.stats.failed > 0 and system.home.refused == system.stats.failed


def test_every_interleaving_with_a_refused_device() -> None:
    config = SystemConfig(devices=2, cores=0, lines=1, sf_sets=1, sf_ways=4, refused=((1, 0),))
    result = explore(config, menu_programs(config, 2, 0, first_menu=("LoadShared", "StoreOwn")))
    print(result.summary())
    assert result.failure is None, "\n".join([result.failure or "", *result.trace])
    assert result.complete and result.terminal > 10
    reached = {(s, e) for kind, s, e in result.coverage if kind == "device"}
    assert ("IRA", "GO_Err") in reached and ("IRD", "ErrData") in reached  # either order
