"""The host translation agent: tables, IOTLB, walks, PRI, invalidation, unmap/remap, checks."""

from __future__ import annotations

import pytest
from slugsim.ats import Atc, AtcRequest, InvalidateRequest, Status, TranslationCompletion
from slugsim.ats.iommu import (
    CLOCK_PS,
    FAULT_PS,
    IOTLB_HIT_CYCLES,
    WALK_READ_PS,
    Iommu,
    Policy,
    PrgResponseCode,
    queue_depth,
)
from slugsim.cxl import (
    AtsInvalidationCpl,
    AtsPageReq,
    AtsStatus,
    AtsTranslationReq,
    D2HReqOpcode,
)

KIB4, MIB2 = 1 << 12, 1 << 21
DEV = 3


def _iommu(**kw: object) -> Iommu:
    iommu = Iommu(**kw)  # type: ignore[arg-type]
    iommu.attach(DEV)
    return iommu


def _treq(addr: int, tag: int = 0) -> AtsTranslationReq:
    return AtsTranslationReq(requester_id=DEV, tag=tag, addr=addr)


def test_a_4k_translation_walks_four_levels_then_hits_the_iotlb() -> None:
    iommu = _iommu()
    iommu.map(DEV, 0x10_0000, 0x8000_0000, w=False)
    first = iommu.translate(DEV, _treq(0x10_0000, tag=5))
    lookup = IOTLB_HIT_CYCLES * CLOCK_PS
    assert not first.iotlb_hit and first.latency == lookup + 4 * WALK_READ_PS
    cpl = first.completion
    assert (cpl.tag, cpl.status, cpl.addr, cpl.read, cpl.write, cpl.page_shift, cpl.cxl_io) == (
        5,
        AtsStatus.SUCCESS,
        0x8000_0000,
        1,
        0,
        12,
        0,
    )
    again = iommu.translate(DEV, _treq(0x10_0000))
    assert again.iotlb_hit and again.latency == lookup
    assert (iommu.counters.walks, iommu.counters.iotlb_hits) == (1, 1)


def test_a_2m_mapping_translates_every_page_in_it_with_three_levels_and_the_io_bit() -> None:
    iommu = _iommu()
    iommu.map(DEV, 2 * MIB2, 7 * MIB2, large=True, io=True)
    walk = iommu.translate(DEV, _treq(2 * MIB2 + 5 * KIB4))
    assert walk.latency == IOTLB_HIT_CYCLES * CLOCK_PS + 3 * WALK_READ_PS
    cpl = walk.completion
    assert (cpl.addr, cpl.page_shift, cpl.cxl_io) == (7 * MIB2, 21, 1)
    # another page of the same 2 MiB mapping hits the one IOTLB entry
    assert iommu.translate(DEV, _treq(2 * MIB2 + 300 * KIB4)).iotlb_hit
    # the device ATC caches it and refuses a CXL.cache use
    atc = Atc()
    atc.request(AtcRequest(0, (2 * MIB2 + 5 * KIB4) >> 12, 0, 1))
    out = atc.complete(TranslationCompletion.from_message(cpl))
    assert out.responses[0].status == Status.IO_ONLY


def test_iotlb_is_lru_and_bounded() -> None:
    iommu = _iommu(iotlb_entries=2)
    for i in range(3):
        iommu.map(DEV, i * KIB4, (100 + i) * KIB4)
    iommu.translate(DEV, _treq(0))
    iommu.translate(DEV, _treq(KIB4))
    iommu.translate(DEV, _treq(0))  # page 0 most recent: page 1 is the victim
    iommu.translate(DEV, _treq(2 * KIB4))
    assert iommu.translate(DEV, _treq(0)).iotlb_hit
    assert not iommu.translate(DEV, _treq(KIB4)).iotlb_hit


def test_an_address_outside_the_space_is_unsupported_request() -> None:
    iommu = _iommu()
    cpl = iommu.translate(DEV, _treq(0x5000)).completion
    assert cpl.status == AtsStatus.UNSUPPORTED_REQUEST and (cpl.read, cpl.write) == (0, 0)
    atc = Atc()
    atc.request(AtcRequest(0, 5))
    assert atc.complete(TranslationCompletion.from_message(cpl)).responses[0].status == (
        Status.FAILED
    )


def test_pri_success_invalid_and_failure_which_disables_pri() -> None:
    iommu = _iommu()
    iommu.add_frames(0x900, 1)
    iommu.reserve(DEV, 0x4000, w=False)
    iommu.reserve(DEV, 0x5000)
    # not resident: the completion grants nothing, the device asks with a Page Request
    cpl = iommu.translate(DEV, _treq(0x4000)).completion
    assert cpl.status == AtsStatus.SUCCESS and (cpl.read, cpl.write) == (0, 0)
    ok = iommu.page_request(DEV, AtsPageReq(requester_id=DEV, prg_index=1, addr=0x4000))
    assert ok.response.code == PrgResponseCode.SUCCESS and ok.response.prg_index == 1
    assert ok.latency == FAULT_PS
    cpl = iommu.translate(DEV, _treq(0x4000)).completion
    assert (cpl.addr, cpl.read, cpl.write) == (0x900 << 12, 1, 0)
    # never mapped, or a write to a read-only page: Invalid Request
    for addr, write in ((0x7000, 0), (0x4000, 1)):
        bad = iommu.page_request(DEV, AtsPageReq(requester_id=DEV, addr=addr, write=write))
        assert bad.response.code == PrgResponseCode.INVALID_REQUEST
    # no frame left: Response Failure, and PRI is off for the device from then on
    fail = iommu.page_request(DEV, AtsPageReq(requester_id=DEV, addr=0x5000))
    assert fail.response.code == PrgResponseCode.RESPONSE_FAILURE
    iommu.add_frames(0xA00, 4)
    again = iommu.page_request(DEV, AtsPageReq(requester_id=DEV, addr=0x5000))
    assert again.response.code == PrgResponseCode.RESPONSE_FAILURE
    c = iommu.counters
    assert (c.page_requests, c.prg_success, c.prg_invalid, c.prg_failure) == (5, 1, 2, 2)


def test_queue_depth_field_zero_means_32() -> None:
    assert queue_depth(0) == 32 and queue_depth(1) == 1 and queue_depth(31) == 31
    with pytest.raises(ValueError, match="5-bit"):
        queue_depth(32)


def test_invalidations_wait_for_the_device_queue_depth() -> None:
    iommu = Iommu()
    iommu.attach(DEV, invalidate_queue_depth=2)
    for i in range(4):
        iommu.map(DEV, i * KIB4, (50 + i) * KIB4)
    sent = [iommu.unmap(DEV, i * KIB4) for i in range(4)]
    assert [r.itag if r else None for r in sent] == [0, 1, None, None]
    assert iommu.counters.invalidations_queued == 2
    more = iommu.invalidation_complete(DEV, AtsInvalidationCpl(requester_id=DEV, itag_vector=0b1))
    assert [(r.itag, r.addr) for r in more] == [(0, 2 * KIB4)]
    more = iommu.invalidation_complete(DEV, AtsInvalidationCpl(requester_id=DEV, itag_vector=0b11))
    assert [(r.itag, r.addr) for r in more] == [(0, 3 * KIB4)]
    assert len(iommu.devices[DEV].inflight) == 1


def test_unmap_takes_effect_at_once_but_the_frame_is_reusable_only_after_completion() -> None:
    iommu = _iommu()
    iommu.attach(4)
    iommu.map(DEV, 0x1000, 0x77000)
    iommu.translate(DEV, _treq(0x1000))
    inv = iommu.unmap(DEV, 0x1000)
    assert inv is not None and inv.addr == 0x1000 and inv.page_shift == 12
    # the table and IOTLB forgot it: a new translation fails
    assert iommu.translate(DEV, _treq(0x1000)).completion.status != AtsStatus.SUCCESS
    # the device may still use its cached translation: still granted, frame not reusable
    assert iommu.check(DEV, 0x77040, D2HReqOpcode.RDSHARED).allowed
    with pytest.raises(ValueError, match="invalidation has not completed"):
        iommu.remap(4, 0x3000, 0x77000)
    # the device's ATC drops the entry and completes; only then is the frame free
    atc = Atc()
    atc.request(AtcRequest(0, 1))
    atc.complete(TranslationCompletion(0, 1, 0x77))
    done = atc.invalidate(InvalidateRequest.from_message(inv))
    iommu.invalidation_complete(DEV, done.invalidations[0].completion.to_message(DEV))
    assert not iommu.check(DEV, 0x77040, D2HReqOpcode.RDSHARED).allowed
    iommu.remap(4, 0x3000, 0x77000, w=False)
    assert iommu.check(4, 0x77000, D2HReqOpcode.RDCURR).allowed


def test_check_refuses_each_kind_of_violation_and_logs_it() -> None:
    iommu = _iommu()
    iommu.map(DEV, 0x1000, 0x20000, w=False)
    iommu.map(DEV, 0x2000, 0x21000, io=True)
    assert iommu.check(DEV, 0x20000, D2HReqOpcode.RDSHARED) == (True, "granted")
    assert iommu.check(DEV, 0x20040, D2HReqOpcode.RDOWN) == (False, "read_only")
    assert iommu.check(DEV, 0x21000, D2HReqOpcode.RDCURR) == (False, "io_only")
    assert iommu.check(DEV, 0x99000, D2HReqOpcode.RDCURR) == (False, "ungranted")
    assert [(d.device, d.addr, d.reason) for d in iommu.denials] == [
        (DEV, 0x20040, "read_only"),
        (DEV, 0x21000, "io_only"),
        (DEV, 0x99000, "ungranted"),
    ]
    assert iommu.counters.blocked == 3
    trusting = _iommu(policy=Policy.TRUST_TRANSLATED)
    assert trusting.check(DEV, 0x99000, D2HReqOpcode.WRCUR) == (True, "trusted")
    assert trusting.counters.blocked == 0 and trusting.denials == []


def test_bad_maps_are_refused() -> None:
    iommu = _iommu()
    with pytest.raises(ValueError, match="not aligned"):
        iommu.map(DEV, 0x1000, 0x200000, large=True)
    iommu.map(DEV, 0, 0x200000, large=True)
    with pytest.raises(ValueError, match="mapped already"):
        iommu.map(DEV, 0x3000, 0x900000)
    iommu.map(DEV, 0x400000, 0x201000)  # an alias of a mapped frame is legal (sharing)
    with pytest.raises(ValueError, match="not attached"):
        iommu.translate(9, _treq(0))
