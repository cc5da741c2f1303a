"""The DCOH bias / back-invalidation model (slugsim.coherence.dcoh_bias), directed."""

import pytest
from slugsim.coherence.dcoh_bias import (
    BIRsp,
    BIRspOp,
    BISnp,
    BISnpOp,
    DcohError,
    DcohParams,
    DevAccess,
    DevRsp,
    Flip,
    FlipCpl,
    M2SGo,
    M2SReq,
    M2SReqOp,
    M2SRwd,
    M2SRwdOp,
    MetaValue,
    Ndr,
    NdrOp,
    RdOwnNoData,
    Want,
)


def flipped(page=0):
    dcoh = DcohParams().model()
    dcoh.flip(Flip(page, 1))
    for out in list(dcoh.outputs["rdownnodata"]):
        dcoh.flip_completion(FlipCpl(out.line))
    return dcoh


def test_host_bias_goes_via_host_and_flip_waits_for_every_completion():
    dcoh = DcohParams().model()
    dcoh.device_access(DevAccess(1, 5, 0, Want.SHARED))
    assert dcoh.outputs["dev_rsp"] == [DevRsp(1, 0, 0)]
    dcoh.flip(Flip(1, 1))
    assert dcoh.outputs["rdownnodata"] == [RdOwnNoData(line) for line in range(4, 8)]
    for line in (4, 5, 6):
        dcoh.flip_completion(FlipCpl(line))
    assert dcoh.bias[1] == 0
    dcoh.flip_completion(FlipCpl(7))
    assert dcoh.bias[1] == 1 and dcoh.counters.flips_to_device == 1
    dcoh.device_access(DevAccess(2, 5, 1, Want.OWN))
    assert dcoh.outputs["dev_rsp"][-1] == DevRsp(2, 1, 0)
    assert dcoh.counters.bias_hits == 1 and dcoh.counters.bias_misses == 1
    dcoh.flip(Flip(1, 0))
    assert dcoh.bias[1] == 0 and dcoh.counters.flips_to_host == 1


def test_sf_victim_snoop_blocks_the_req_until_birsp():
    dcoh = DcohParams(sf_sets=1, sf_ways=2).model()
    for i, line in enumerate((1, 2, 3)):
        dcoh.m2s_req(M2SReq(M2SReqOp.MEM_RD, line, i, MetaValue.A))
    assert dcoh.outputs["m2s_go"] == [M2SGo(1, 1, 0), M2SGo(1, 2, 1)]
    assert dcoh.outputs["bisnp"] == [BISnp(BISnpOp.INV, 0, 1)]
    assert not dcoh.can_req(4) and dcoh.pending(1)
    with pytest.raises(DcohError):
        dcoh.m2s_req(M2SReq(M2SReqOp.MEM_RD, 1, 9, MetaValue.A))
    dcoh.m2s_rwd(M2SRwd(M2SRwdOp.MEM_WR, 1, 7, MetaValue.I))  # RwD passes
    assert dcoh.outputs["rwd_go"] == [M2SGo(1, 1, 7)]
    dcoh.bi_rsp(BIRsp(BIRspOp.I, 0))
    assert dcoh.outputs["m2s_go"][-1] == M2SGo(1, 3, 2)
    assert set(dcoh.sf.lines()) == {2, 3} and dcoh.counters.bisnp_victim == 1


def test_device_write_hitting_the_sf_snoops_first():
    dcoh = flipped(0)
    dcoh.m2s_req(M2SReq(M2SReqOp.MEM_RD_DATA, 2, 0, MetaValue.I))
    dcoh.device_access(DevAccess(3, 2, 1, Want.CUR))
    assert dcoh.outputs["bisnp"] == [BISnp(BISnpOp.INV, 0, 2)]
    assert dcoh.outputs["dev_rsp"] == [] and not dcoh.can_access(2)
    dcoh.device_access(DevAccess(4, 1, 0, Want.CUR))  # another line passes
    assert dcoh.outputs["dev_rsp"] == [DevRsp(4, 1, 0)]
    dcoh.bi_rsp(BIRsp(BIRspOp.I, 0))
    assert dcoh.outputs["dev_rsp"][-1] == DevRsp(3, 1, 1) and not dcoh.sf.lines()
    dcoh.m2s_req(M2SReq(M2SReqOp.MEM_RD, 2, 1, MetaValue.S))
    dcoh.device_access(DevAccess(5, 2, 0, Want.CUR))
    dcoh.bi_rsp(BIRsp(BIRspOp.S, 0))  # the host keeps its copy
    assert dcoh.outputs["bisnp"][-1] == BISnp(BISnpOp.CUR, 0, 2) and 2 in dcoh.sf.lines()


def test_illegal_inputs_and_params():
    dcoh = DcohParams().model()
    with pytest.raises(DcohError):
        dcoh.bi_rsp(BIRsp(0, 0))
    with pytest.raises(DcohError):
        dcoh.flip_completion(FlipCpl(0))
    dcoh.flip(Flip(0, 1))
    with pytest.raises(DcohError):
        dcoh.flip(Flip(1, 0))
    bads = (
        {"sf_ways": 3},
        {"bi_trackers": 0},
        {"addr_width": 17},
        {"page_lines_log2": 7},
        {"sf_isa": 2},
    )
    for bad in bads:
        with pytest.raises(ValueError):
            DcohParams(**bad)


def test_bi_conflict_is_acked_on_ndr_behind_earlier_cmps_and_not_written():
    dcoh = flipped(0)
    dcoh.m2s_req(M2SReq(M2SReqOp.MEM_RD, 2, 5, MetaValue.A))
    dcoh.cmp(Ndr(NdrOp.CMP_E, 5))  # late: the grant's Cmp is already on NDR
    dcoh.device_access(DevAccess(1, 2, 1, Want.OWN))
    dcoh.m2s_rwd(M2SRwd(M2SRwdOp.BI_CONFLICT, 2, 5, MetaValue.I))
    assert dcoh.outputs["ndr"] == [Ndr(NdrOp.CMP_E, 5), Ndr(NdrOp.BI_CONFLICT_ACK, 5)]
    assert dcoh.outputs["rwd_go"] == [] and dcoh.counters.conflicts == 1
    dcoh.bi_rsp(BIRsp(BIRspOp.I, 0))
    dcoh.m2s_rwd(M2SRwd(M2SRwdOp.BI_CONFLICT, 2, 6, MetaValue.I))  # nothing pending: stray
    assert dcoh.counters.conflicts_stray == 1
    assert dcoh.outputs["ndr"][-1] == Ndr(NdrOp.BI_CONFLICT_ACK, 6)


@pytest.mark.parametrize("isa", [0, 1])
def test_isa_filter_lets_device_reads_of_s_lines_skip_the_snoop(isa):
    dcoh = DcohParams(sf_isa=isa).model()
    dcoh.flip(Flip(0, 1))
    for out in list(dcoh.outputs["rdownnodata"]):
        dcoh.flip_completion(FlipCpl(out.line))
    dcoh.m2s_req(M2SReq(M2SReqOp.MEM_RD, 1, 0, MetaValue.S))  # alone: A
    dcoh.device_access(DevAccess(1, 1, 0, Want.SHARED))
    assert dcoh.outputs["bisnp"] == [BISnp(BISnpOp.DATA, 0, 1)]
    dcoh.bi_rsp(BIRsp(BIRspOp.S, 0))
    assert (1 in dcoh.shared) == bool(isa)
    dcoh.device_access(DevAccess(2, 1, 0, Want.CUR))
    assert len(dcoh.outputs["bisnp"]) == 2 - isa
    if not isa:
        dcoh.bi_rsp(BIRsp(BIRspOp.S, 0))
    dcoh.m2s_req(M2SReq(M2SReqOp.MEM_RD_DATA, 1, 1, MetaValue.I))  # a shared ask keeps S
    assert (1 in dcoh.shared) == bool(isa)
    dcoh.m2s_req(M2SReq(M2SReqOp.MEM_INV, 1, 2, MetaValue.A))  # an exclusive ask: A
    assert 1 not in dcoh.shared
    dcoh.device_access(DevAccess(3, 1, 0, Want.CUR))
    assert dcoh.outputs["bisnp"][-1] == BISnp(BISnpOp.CUR, 0, 1)


@pytest.mark.parametrize("depth", [0, 1, 2])
def test_replay_queue_lets_other_lines_pass_a_blocked_req(depth):
    dcoh = DcohParams(replay_depth=depth).model()
    dcoh.flip(Flip(1, 1))
    for out in list(dcoh.outputs["rdownnodata"]):
        dcoh.flip_completion(FlipCpl(out.line))
    dcoh.m2s_req(M2SReq(M2SReqOp.MEM_RD, 4, 0, MetaValue.A))
    dcoh.device_access(DevAccess(1, 4, 1, Want.OWN))  # BISnpInv: line 4 pending
    if not depth:
        with pytest.raises(DcohError):  # head-of-line: the input may not take it
            dcoh.m2s_req(M2SReq(M2SReqOp.MEM_RD, 4, 1, MetaValue.A))
        return
    dcoh.m2s_req(M2SReq(M2SReqOp.MEM_RD, 4, 1, MetaValue.A))  # parked
    with pytest.raises(DcohError):
        dcoh.replay()  # its line is still pending
    dcoh.m2s_req(M2SReq(M2SReqOp.MEM_RD, 5, 2, MetaValue.A))  # another line passes
    assert [g.tag for g in dcoh.outputs["m2s_go"]] == [0, 2]
    if depth == 1:
        with pytest.raises(DcohError):  # full
            dcoh.m2s_req(M2SReq(M2SReqOp.MEM_RD, 4, 3, MetaValue.A))
    else:
        dcoh.m2s_req(M2SReq(M2SReqOp.MEM_RD, 6, 3, MetaValue.I))  # not pending: goes
        dcoh.m2s_req(M2SReq(M2SReqOp.MEM_RD, 4, 4, MetaValue.A))  # behind the parked one
    dcoh.bi_rsp(BIRsp(BIRspOp.I, 0))
    dcoh.replay()
    assert dcoh.outputs["m2s_go"][-1].tag == 1
    assert dcoh.counters.m2s_parked == (1 if depth == 1 else 2)
