"""Directed ordering races, one short scenario each (the Scenario API holds channels)."""

from __future__ import annotations

import pytest
from slugsim.coherence.device import DeviceEvent as Dev
from slugsim.coherence.monitor import Violation
from slugsim.coherence.ops import CoreOp
from slugsim.coherence.scenario import Scenario, op
from slugsim.coherence.system import SystemConfig


def test_snoop_pushes_go_and_a_snoop_waits_for_the_data_of_a_granted_read() -> None:
    store = op(Dev.StoreOwn, 0)
    sc = Scenario(SystemConfig(devices=1, cores=1), dev0=[store], core0=[op(CoreOp.Load, 0)])
    sc.hold("host", "dev0", "H2D_DATA")
    sc.issue("dev0")
    sc.deliver("dev0", "host", "D2H_REQ")  # RdOwn: GO-E and data leave the host
    sc.issue("core0")  # core load: SnpData to dev0, sent after the GO
    with pytest.raises(AssertionError, match="no deliverable head"):
        sc.deliver("host", "dev0", "H2D_REQ")  # may not pass the GO
    sc.deliver("host", "dev0", "H2D_RSP")
    assert sc.state("dev0", 0) == "IMD"
    with pytest.raises(AssertionError, match="no deliverable head"):
        sc.deliver("host", "dev0", "H2D_REQ")  # GO consumed, data missing: the snoop stalls
    sc.release("host", "dev0", "H2D_DATA")
    sc.deliver("host", "dev0", "H2D_DATA")
    assert sc.state("dev0", 0) == "M"
    sc.finish()
    assert sc.completions("core0") == [("Load(0)", store.value)]
    assert (sc.state("dev0", 0), sc.state("core0", 0)) == ("S", "F")


def test_data_before_go_is_kept_and_used_only_at_the_go() -> None:
    sc = Scenario(SystemConfig(devices=1, cores=0), dev0=[op(Dev.LoadShared, 0)])
    sc.hold("host", "dev0", "H2D_RSP")
    sc.run()
    assert sc.state("dev0", 0) == "ISA"
    assert sc.completions("dev0") == []
    sc.release("host", "dev0", "H2D_RSP")
    sc.finish()
    assert sc.completions("dev0") == [("LoadShared(0)", 0)]
    assert sc.state("dev0", 0) == "S"


def test_a_snoop_between_evict_and_writepull_makes_the_evict_data_bogus() -> None:
    first, second = op(Dev.StoreOwn, 0), op(CoreOp.Store, 0)
    sc = Scenario(SystemConfig(devices=1, cores=1), dev0=[first])
    sc.run()
    assert sc.state("dev0", 0) == "M"
    sc.hold("dev0", "host", "D2H_REQ")
    sc.add("dev0", op(Dev.Evict, 0))
    sc.issue("dev0")  # DirtyEvict waits on the link
    assert sc.state("dev0", 0) == "MIA"
    sc.add("core0", second)
    sc.issue("core0")  # core store: SnpInv reaches dev0 between its evict and the pull
    sc.deliver("host", "dev0", "H2D_REQ")
    assert sc.state("dev0", 0) == "IIA"
    sc.release("dev0", "host", "D2H_REQ")
    sc.finish()
    assert sc.system.home.bogus_dropped == 1
    assert "D2HData.bogus" in sc.system.monitor.seen_kinds()
    assert sc.system.checker.history(0).order == [0, first.value, second.value]
    assert sc.state("core0", 0) == "M"


def test_a_victim_with_a_request_of_its_own_is_back_invalidated_after_it() -> None:
    # one snoop-filter way: line 1's read must evict line 0, which is busy with dev1's RdOwn
    config = SystemConfig(devices=3, cores=0, lines=2, sf_sets=1, sf_ways=1)
    store = op(Dev.StoreOwn, 0)
    sc = Scenario(config, dev0=[op(Dev.LoadShared, 0)])
    sc.run()
    assert sc.system.home.sf.lines() == {0: 0b001}
    sc.hold("host", "dev0", "H2D_REQ")  # keep line 0 busy: its SnpInv to dev0 waits
    sc.add("dev1", store)
    sc.issue("dev1")
    sc.deliver("dev1", "host", "D2H_REQ")
    assert sc.state("host", 0) == "SNP_RO"
    sc.add("dev2", op(Dev.LoadShared, 1))
    sc.issue("dev2")
    sc.deliver("dev2", "host", "D2H_REQ")  # SF full; the victim (line 0) is busy: it waits
    assert sc.state("host", 1) == "I" and sc.system.home.entry(0).sf_waiters
    sc.release("host", "dev0", "H2D_REQ")
    sc.finish()
    home = sc.system.home
    assert home.sf.counters.victims == 0  # the way was freed by back-invalidation, not replaced
    assert home.sf.lines() == {1: 0b100}
    assert [sc.state(d, 0) for d in ("dev0", "dev1")] == ["I", "I"]
    assert sc.state("dev2", 1) == "S"
    assert home.entry(0).memory == store.value  # dev1's M data came back with RspIFwdM


def test_two_devices_rdown_the_same_line_one_after_the_other() -> None:
    a, b = op(Dev.StoreOwn, 0), op(Dev.StoreOwn, 0)
    sc = Scenario(SystemConfig(devices=2, cores=0), dev0=[a], dev1=[b])
    sc.issue("dev0")
    sc.issue("dev1")
    sc.deliver("dev0", "host", "D2H_REQ")
    sc.deliver("dev1", "host", "D2H_REQ")  # dev0 already granted: SnpInv to it
    assert sc.state("host", 0) == "SNP_RO"
    with pytest.raises(AssertionError, match="no deliverable head"):
        sc.deliver("host", "dev0", "H2D_REQ")  # behind dev0's GO-E
    sc.finish()
    assert sc.system.checker.history(0).order == [0, a.value, b.value]
    assert (sc.state("dev0", 0), sc.state("dev1", 0)) == ("I", "M")


def test_core_store_against_device_rdshared_reads_the_old_value_first() -> None:
    store = op(CoreOp.Store, 0)
    sc = Scenario(SystemConfig(devices=1, cores=1), dev0=[op(Dev.LoadShared, 0)], core0=[store])
    sc.hold("host", "dev0", "H2D_DATA")
    sc.issue("dev0")
    sc.deliver("dev0", "host", "D2H_REQ")
    sc.deliver("host", "dev0", "H2D_RSP")  # GO-S here, data still held
    sc.issue("core0")  # SnpInv to dev0 stalls in ISD until the data arrives
    assert sc.state("host", 0) == "SNP_CS"
    sc.release("host", "dev0", "H2D_DATA")
    sc.finish()
    assert sc.completions("dev0") == [("LoadShared(0)", 0)]
    assert sc.state("dev0", 0) == "I" and sc.state("core0", 0) == "M"


def test_every_d2h_opcode_is_served_with_legal_responses() -> None:
    program = [
        op(Dev.LoadShared, 0),
        op(Dev.StoreOwn, 0),  # RdOwnNoData upgrade from S
        op(Dev.Evict, 0),  # DirtyEvict
        op(Dev.LoadAny, 0),  # GO-E
        op(Dev.Evict, 0),  # CleanEvict
        op(Dev.LoadAny, 0),
        op(Dev.EvictNoData, 0),  # CleanEvictNoData
        op(Dev.StoreOwn, 1),  # RdOwn
        op(Dev.LoadCur, 0),
        op(Dev.StoreFull, 2),
        op(Dev.StoreItoMWr, 0),
        op(Dev.StoreWrCur, 0),
        op(Dev.StoreWrInv, 0),
        op(Dev.StoreWOWrInv, 0),
        op(Dev.StoreWOWrInvF, 0),
        op(Dev.Flush, 0),
        op(Dev.Flush, 1),  # from M: evicted
        op(Dev.Evict, 2),
        op(Dev.FlushAll, 0),
    ]
    sc = Scenario(SystemConfig(devices=2, cores=1, lines=4), core0=[op(CoreOp.Store, 3)])
    sc.run()  # core0 holds line 3 in M: dev1's RdAny gets GO-M with the dirty data
    sc.add("dev1", op(Dev.LoadAny, 3), op(Dev.LoadCur, 3))
    sc.add("dev0", *program)
    sc.add("core0", op(CoreOp.Load, 3))
    sc.finish()
    seen = sc.system.monitor.seen_kinds()
    requests = {k.split(".")[1] for k in seen if k.startswith("D2HReq.")}
    assert len(requests) == 15, sorted(requests)
    for kind in ("GO-S", "GO-E", "GO-M", "GO-I"):
        assert f"H2DRsp.{kind}" in seen
    for rsp in ("GO_WRITEPULL", "WRITEPULL", "FAST_GO_WRITEPULL", "EXTCMP"):
        assert f"H2DRsp.{rsp}" in seen


def test_a_rule_breach_is_reported_with_its_rule() -> None:
    config = SystemConfig(devices=1, cores=1, mutation="go_before_snoop_returns")
    sc = Scenario(config, dev0=[op(Dev.LoadAny, 0)])
    sc.run()  # dev0 now holds E
    sc.add("core0", op(CoreOp.Load, 0))
    sc.add("dev0", op(Dev.LoadAny, 1))
    with pytest.raises(Violation) as caught:
        sc.finish()  # SnpData to dev0, and (mutated) the core is served without waiting
    assert caught.value.kind in {"swmr", "stale-copy", "unexpected-response"}
