"""Directed device-memory races (CXL_REFERENCE.md §3): early and late BIConflict, the blocking
rule, victim back-invalidation with a dirty flush, pooled hosts, bias flips racing the host."""

from __future__ import annotations

from slugsim.coherence.dcoh import DevOp
from slugsim.coherence.devmem import DevMemConfig
from slugsim.coherence.devmem_scenario import DevMemScenario
from slugsim.coherence.ops import CoreOp
from slugsim.coherence.scenario import op

TWO_HOSTS = DevMemConfig(hosts=2, lines=1)


def test_early_conflict_answers_as_i_and_the_request_is_served_after_the_bisnp() -> None:
    sc = DevMemScenario(TWO_HOSTS, host0=[op(CoreOp.Load, 0)], host1=[op(CoreOp.Load, 0)])
    sc.finish()
    assert (sc.state("host0", 0), sc.state("host1", 0), sc.state("dcoh", 0)) == ("S", "S", "S")
    store, dev_store = op(CoreOp.Store, 0), op(DevOp.Store, 0)
    sc.add("host0", store)
    sc.hold("host0", "dcoh", "M2S_REQ")
    sc.issue("host0")  # S dropped, MemRd A waits on the link
    sc.add("dcoh", dev_store)
    sc.issue("dcoh")  # BISnpInv to both sharers
    assert sc.state("dcoh", 0) == "SNP_DEV"
    sc.deliver("dcoh", "host0", "S2M_BISNP")
    assert sc.state("host0", 0) == "IXCD_K"  # BIConflict sent
    sc.release("host0", "dcoh", "M2S_REQ")
    assert not sc.can_deliver("host0", "dcoh", "M2S_REQ")  # blocked: a BISnp is pending
    sc.deliver("host0", "dcoh", "M2S_RWD")  # the BIConflict is not: RwD drains
    sc.deliver("dcoh", "host0", "S2M_NDR")  # Ack, no Cmp before it: early
    assert sc.state("host0", 0) == "IXCD"
    sc.finish()
    assert sc.completions("dcoh") == [(str(dev_store), None)]
    assert sc.completions("host0")[-1] == (str(store), None)
    assert (sc.state("host0", 0), sc.state("host1", 0), sc.state("dcoh", 0)) == ("M", "I", "A")
    assert sc.system.dcoh.counters["conflicts"] == 1  # type: ignore[union-attr]


def test_late_conflict_finishes_the_fill_then_answers_the_kept_bisnp() -> None:
    load, dev_store = op(CoreOp.Load, 0), op(DevOp.Store, 0)
    sc = DevMemScenario(DevMemConfig(), host0=[load])
    sc.hold("dcoh", "host0", "S2M_NDR")
    sc.hold("dcoh", "host0", "S2M_DRS")
    sc.issue("host0")
    sc.deliver("host0", "dcoh", "M2S_REQ")  # served: Cmp-E and data wait on the link
    assert sc.state("dcoh", 0) == "A"
    sc.add("dcoh", dev_store)
    sc.issue("dcoh")  # BISnpInv to host0, sent after the grant
    sc.deliver("dcoh", "host0", "S2M_BISNP")
    assert sc.state("host0", 0) == "IXCD_K"
    sc.deliver("host0", "dcoh", "M2S_RWD")  # BIConflict -> Ack, behind the Cmp-E on NDR
    sc.release("dcoh", "host0", "S2M_NDR")
    sc.deliver("dcoh", "host0", "S2M_NDR")
    assert sc.state("host0", 0) == "IXD_K"  # Cmp first: late
    sc.deliver("dcoh", "host0", "S2M_NDR")
    assert sc.state("host0", 0) == "IXD_L"
    assert sc.completions("dcoh") == []
    sc.release("dcoh", "host0", "S2M_DRS")
    sc.deliver("dcoh", "host0", "S2M_DRS")  # the load completes, then BIRspI
    assert sc.completions("host0") == [(str(load), 0)]
    assert sc.state("host0", 0) == "I"
    sc.finish()
    assert sc.completions("dcoh") == [(str(dev_store), None)]
    assert sc.system.dcoh.read(0) == dev_store.value


def test_victim_bisnp_flushes_dirty_data_before_birsp_and_blocks_only_requests() -> None:
    config = DevMemConfig(hosts=2, lines=2, sf_sets=1, sf_ways=1)
    store = op(CoreOp.Store, 1)
    sc = DevMemScenario(config, host0=[store])
    sc.finish()
    assert sc.state("host0", 1) == "M" and sc.system.dcoh.read(1) == 0
    sc.add("host0", op(CoreOp.Load, 0))
    sc.issue("host0")
    sc.deliver("host0", "dcoh", "M2S_REQ")  # misses a full filter: BISnpInv to line 1
    assert (sc.state("dcoh", 0), sc.state("dcoh", 1)) == ("WAIT_VIC", "SNP_VIC")
    sc.add("host1", op(CoreOp.Load, 1))
    sc.issue("host1")
    assert not sc.can_deliver("host1", "dcoh", "M2S_REQ")  # no Req while the victim is out
    sc.deliver("dcoh", "host0", "S2M_BISNP")
    assert sc.state("host0", 1) == "WBS"  # MemWr sent, BIRsp not yet
    assert not sc.can_deliver("host0", "dcoh", "M2S_BIRSP")
    sc.deliver("host0", "dcoh", "M2S_RWD")  # the writeback drains during the BISnp
    assert sc.system.dcoh.read(1) == store.value
    sc.deliver("dcoh", "host0", "S2M_NDR")  # its Cmp: now BIRspI
    sc.deliver("host0", "dcoh", "M2S_BIRSP")  # the way is free: line 0 allocated, Cmp-E
    assert (sc.state("dcoh", 0), sc.state("dcoh", 1)) == ("A", "I")
    sc.finish()
    assert sc.completions("host1") == [("Load(1)", store.value)]
    assert sc.system.dcoh.counters["bisnp_victim"] >= 1  # type: ignore[union-attr]


def test_a_pooled_filter_back_invalidates_every_host_sharing_the_line() -> None:
    config = DevMemConfig(hosts=3, lines=1)
    loads = {f"host{h}": [op(CoreOp.Load, 0)] for h in range(3)}
    sc = DevMemScenario(config, **loads)
    sc.finish()
    assert sc.system.dcoh.sharers(0) == 0b111  # type: ignore[union-attr]
    dev_store = op(DevOp.Store, 0)
    sc.add("dcoh", dev_store)
    sc.issue("dcoh")
    assert sc.system.dcoh.entry(0).pending == 0b111  # type: ignore[union-attr]
    sc.finish()
    assert [sc.state(f"host{h}", 0) for h in range(3)] == ["I", "I", "I"]
    assert sc.state("dcoh", 0) == "I" and sc.system.dcoh.read(0) == dev_store.value


def test_a_host_request_during_a_flip_spoils_it_and_the_page_stays_host_bias() -> None:
    config = DevMemConfig(mode="hdm_d", lines=2, page_lines=2)
    flip, load = op(DevOp.FlipToDevice, 0), op(CoreOp.Load, 1)
    sc = DevMemScenario(config, dcoh=[flip], host0=[load])
    sc.issue("dcoh")  # RdOwnNoData for lines 0 and 1
    assert sc.state("dcoh", 0) == "FLIP"
    sc.issue("host0")  # MemRd line 1
    sc.deliver("dcoh", "host0", "D2H_REQ")  # RdOwnNoData(0): MemRdFwd(0) queued
    assert not sc.can_deliver("dcoh", "host0", "D2H_REQ")  # line 1 busy at the host
    sc.deliver("host0", "dcoh", "M2S_REQ")  # the MemRd first: ordered as sent
    sc.deliver("host0", "dcoh", "M2S_REQ")  # MemRdFwd(0)
    assert sc.state("dcoh", 0) == "FLIP_X"
    sc.finish()
    assert sc.state("dcoh", 0) == "HOST"
    assert sc.completions("dcoh") == [(str(flip), None)]
    assert sc.system.dcoh.counters["flips_failed"] == 1  # type: ignore[union-attr]


def test_a_flip_completes_at_the_last_mem_rd_fwd_and_device_accesses_turn_local() -> None:
    config = DevMemConfig(mode="hdm_d", lines=2, page_lines=2)
    store = op(CoreOp.Store, 0)
    sc = DevMemScenario(config, host0=[store])
    sc.finish()
    sc.add("dcoh", op(DevOp.FlipToDevice, 0))
    sc.hold("host0", "dcoh", "M2S_REQ")
    sc.run()
    assert sc.state("dcoh", 0) == "FLIP"  # the host wrote line 0 back; completions held
    assert sc.state("host0", 0) == "I"
    sc.release("host0", "dcoh", "M2S_REQ")
    sc.finish()
    assert sc.state("dcoh", 0) == "DEVICE"
    dev_store = op(DevOp.Store, 1)
    sc.add("dcoh", op(DevOp.Load, 0), dev_store)
    sc.finish()
    assert sc.completions("dcoh")[-2:] == [("Load(0)", store.value), (str(dev_store), None)]
    assert not sc.system.network.count and sc.system.dcoh.counters["local"] == 2  # type: ignore[union-attr]
    # a host read of the device-bias page: the DCOH flushes its copy and flips to host bias
    sc.add("host0", op(CoreOp.Load, 1))
    sc.finish()
    assert sc.completions("host0")[-1] == ("Load(1)", dev_store.value)
    assert sc.state("dcoh", 1) == "HOST"


def test_the_predictor_flips_a_page_the_device_keeps_reaching_through_the_host() -> None:
    config = DevMemConfig(mode="hdm_d", lines=1, predictor=2)
    sc = DevMemScenario(config, dcoh=[op(DevOp.Load, 0), op(DevOp.Load, 0)])
    sc.finish()
    assert sc.state("dcoh", 0) == "DEVICE"
    counters = sc.system.dcoh.counters  # type: ignore[union-attr]
    assert counters["via_host"] == 2 and counters["predicted"] == 1
    sc.add("dcoh", op(DevOp.Load, 0))
    sc.finish()
    assert counters["local"] == 1


def test_the_bias_cache_is_finite_and_counts_hits_and_misses() -> None:
    config = DevMemConfig(mode="hdm_d", lines=4, page_lines=1, bias_sets=1, bias_ways=2)
    loads = [op(DevOp.Load, line) for line in (0, 1, 0, 1, 2, 0)]  # the third page evicts 1
    sc = DevMemScenario(config, dcoh=loads)
    sc.finish()
    counters = sc.system.dcoh.counters  # type: ignore[union-attr]
    assert (counters["bias_hits"], counters["bias_misses"]) == (2, 4)


def test_host_requests_snoop_the_devices_own_cache_by_snp_type() -> None:
    config = DevMemConfig(hosts=1, lines=1, device_cache=True)
    dev_store = op(DevOp.Store, 0)
    sc = DevMemScenario(config, dcoh=[dev_store])
    sc.finish()
    dcoh = sc.system.dcoh
    assert dcoh.copies[0] == ("M", dev_store.value) and dcoh.read(0) == 0  # type: ignore[union-attr]
    sc.add("host0", op(CoreOp.Load, 0))  # MemRd SnpData: the dirty copy is written, kept S
    sc.finish()
    assert sc.completions("host0") == [("Load(0)", dev_store.value)]
    assert dcoh.copies[0] == ("S", dev_store.value) and dcoh.read(0) == dev_store.value  # type: ignore[union-attr]
    assert (sc.state("host0", 0), sc.state("dcoh", 0)) == ("S", "S")  # Cmp-S: the device shares
    store = op(CoreOp.Store, 0)
    sc.add("host0", store)  # MemRd SnpInv: the device's copy goes
    sc.finish()
    assert 0 not in dcoh.copies and sc.state("host0", 0) == "M"  # type: ignore[union-attr]
    sc.add("dcoh", op(DevOp.Load, 0), op(DevOp.Evict, 0))  # BISnpData, fill S, then drop it
    sc.finish()
    assert sc.completions("dcoh")[1] == ("Load(0)", store.value)
    assert 0 not in dcoh.copies  # type: ignore[union-attr]
