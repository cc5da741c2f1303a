"""The device ATC model: hits, misses and merging, 2 MiB pages, permissions, pLRU,
invalidation (entries, stale MSHRs, when the completion may go) and the counters."""

from __future__ import annotations

import random

import pytest
from slugsim.ats import (
    Atc,
    AtcOverflow,
    AtcRequest,
    AtcResponse,
    InvalidateCompletion,
    InvalidateRequest,
    InvSize,
    Status,
    TranslationCompletion,
    TranslationRequest,
    TreePlru,
)
from slugsim.ats.csr import AtcParams


def fill(atc: Atc, page: int, ppn: int, tag: int = 0, **perm: int) -> list[AtcResponse]:
    """Miss on ``page`` and complete it with ``ppn``; the responses of the completion."""
    out = atc.request(AtcRequest(tag, page))
    (treq,) = out.translation_requests
    return atc.complete(TranslationCompletion(treq.tag, 1, ppn, **perm)).responses


def test_miss_sends_one_translation_request_and_the_completion_answers_and_fills() -> None:
    atc = Atc(entries=8, ways=2)
    out = atc.request(AtcRequest(tag=7, page=0x1234, write=1))
    assert out.responses == []
    assert out.translation_requests == [TranslationRequest(0, 0x1234)]
    out = atc.complete(TranslationCompletion(0, ok=1, page=0xABC))
    assert out.responses == [AtcResponse(7, Status.OK, 0, 0xABC)]
    assert atc.request(AtcRequest(8, 0x1234)).responses == [AtcResponse(8, Status.OK, 1, 0xABC)]
    c = atc.counters
    assert (c.lookups, c.hits, c.misses, c.merged, c.treqs, c.fills) == (2, 1, 1, 0, 1, 1)


def test_requests_to_one_page_merge_and_are_answered_in_arrival_order() -> None:
    atc = Atc(mshrs=2, waiters=3)
    asked = [atc.request(AtcRequest(t, 0x40, write=t & 1)).translation_requests for t in range(3)]
    assert asked == [[TranslationRequest(0, 0x40)], [], []]
    assert atc.counters.merged == 2 and not atc.can_accept()  # the waiter list is full
    with pytest.raises(AtcOverflow):
        atc.request(AtcRequest(3, 0x40))
    out = atc.complete(TranslationCompletion(0, 1, 0x99, r=1, w=0))
    assert out.responses == [
        AtcResponse(0, Status.OK, 0, 0x99),
        AtcResponse(1, Status.PERM, 0, 0),
        AtcResponse(2, Status.OK, 0, 0x99),
    ]
    assert atc.pending() == {} and atc.can_accept()


def test_mshrs_are_taken_lowest_first_and_running_out_is_an_overflow() -> None:
    atc = Atc(mshrs=2)
    assert atc.request(AtcRequest(0, 1)).translation_requests[0].tag == 0
    assert atc.request(AtcRequest(1, 2)).translation_requests[0].tag == 1
    with pytest.raises(AtcOverflow):
        atc.request(AtcRequest(2, 3))
    atc.complete(TranslationCompletion(0, 1, 5))
    assert atc.request(AtcRequest(3, 4)).translation_requests[0].tag == 0


def test_a_2mib_page_covers_its_512_small_pages_and_a_4kib_entry_wins() -> None:
    atc = Atc()
    base = 0x3 << 9
    fill(atc, base + 17, ppn=(0x55 << 9) | 0x1FF, large=1)  # the completion's low 9 bits ignored
    for offset in (0, 17, 511):
        (rsp,) = atc.request(AtcRequest(1, base + offset)).responses
        assert rsp == AtcResponse(1, Status.OK, 1, (0x55 << 9) | offset)
    assert atc.request(AtcRequest(1, base + 512)).translation_requests  # the next region misses
    assert atc.request(AtcRequest(2, base + 3)).responses[0].hit == 1  # no miss, no fill
    assert atc.counters.fills == 1
    atc.invalidate(InvalidateRequest(0, base + 3, InvSize.PAGE))  # drops the 2 MiB entry
    fill(atc, base + 3, ppn=0x777)
    fill(atc, base + 4, ppn=0xAA << 9, large=1)
    assert atc.request(AtcRequest(1, base + 3)).responses[0].page == 0x777
    assert atc.request(AtcRequest(1, base + 5)).responses[0].page == (0xAA << 9) | 5


@pytest.mark.parametrize(
    ("write", "cache", "r", "w", "io", "status"),
    [
        (0, 1, 1, 0, 0, Status.OK),
        (1, 1, 1, 0, 0, Status.PERM),
        (0, 1, 0, 1, 0, Status.PERM),
        (1, 1, 1, 1, 0, Status.OK),
        (0, 1, 1, 1, 1, Status.IO_ONLY),
        (1, 1, 1, 0, 1, Status.IO_ONLY),  # CXL.io-only is checked first
        (0, 0, 1, 1, 1, Status.OK),  # a CXL.io use of a CXL.io-only page
        (1, 0, 1, 0, 1, Status.PERM),
    ],
)
def test_permissions(write: int, cache: int, r: int, w: int, io: int, status: Status) -> None:
    atc = Atc()
    fill(atc, 0x10, 0x20, r=r, w=w, io=io)
    faults = atc.counters.faults
    (rsp,) = atc.request(AtcRequest(3, 0x10, write, cache)).responses
    assert rsp == AtcResponse(3, status, 1, 0x20 if status is Status.OK else 0)
    assert atc.counters.faults - faults == (status is not Status.OK)


def test_a_failed_completion_faults_every_waiter_and_caches_nothing() -> None:
    atc = Atc()
    atc.request(AtcRequest(1, 9))
    atc.request(AtcRequest(2, 9))
    out = atc.complete(TranslationCompletion(0, ok=0, page=0x5))
    assert [r.status for r in out.responses] == [Status.FAILED] * 2
    assert atc.translations() == {} and atc.counters.fills == 0
    assert atc.request(AtcRequest(3, 9)).translation_requests  # asks again


def test_invalidation_removes_overlapping_entries_and_completes_after_earlier_responses() -> None:
    atc = Atc(entries=16, ways=4)
    fill(atc, 0x200, 0x1)  # region 1
    fill(atc, 0x201, 0x2)
    fill(atc, 0x400, 0x3)  # region 2
    fill(atc, 0x600, 0x4 << 9, large=1)  # region 3
    assert atc.responses_out == 4
    atc.request(AtcRequest(9, 0x200))
    out = atc.invalidate(InvalidateRequest(itag=5, page=0x201, size=InvSize.PAGE))
    assert out.invalidations[0].completion == InvalidateCompletion(5)
    assert out.invalidations[0].after == 5  # the hit just before must leave first
    assert set(atc.translations()) == {(0x200, False), (0x400, False), (3, True)}
    atc.invalidate(InvalidateRequest(6, 0x3FF, InvSize.LARGE))  # region 1: page 0x200
    assert set(atc.translations()) == {(0x400, False), (3, True)}
    atc.invalidate(InvalidateRequest(7, 0x6AB, InvSize.PAGE))  # inside the 2 MiB entry
    assert set(atc.translations()) == {(0x400, False)}
    atc.invalidate(InvalidateRequest(8, 0, InvSize.ALL))
    assert atc.translations() == {} and atc.counters.invalidations == 4


def test_an_invalidated_pending_translation_is_thrown_away_and_asked_again() -> None:
    atc = Atc()
    atc.request(AtcRequest(1, 0x205))
    atc.request(AtcRequest(2, 0x400))  # another region: not stale
    atc.invalidate(InvalidateRequest(0, 0x3FF, InvSize.PAGE))  # same 2 MiB region as 0x205
    # 0x205's own page is not in the range: only a 2 MiB translation of it would overlap
    assert atc.pending() == {0: (0x205, 1, False, True), 1: (0x400, 1, False, False)}
    atc.request(AtcRequest(3, 0x205))  # merges into the MSHR
    large = TranslationCompletion(0, 1, 0xDEA00, large=1)  # covers 0x3FF: maybe the old mapping
    assert atc.discards(large)
    out = atc.complete(large)
    assert out.responses == [] and out.translation_requests == [TranslationRequest(0, 0x205)]
    atc.invalidate(InvalidateRequest(1, 0x205, InvSize.PAGE))  # now its own page
    assert atc.pending()[0] == (0x205, 2, True, False)
    out = atc.complete(TranslationCompletion(0, 1, 0xDEAD))  # 4 KiB, but of the page: discarded
    assert out.responses == [] and out.translation_requests == [TranslationRequest(0, 0x205)]
    out = atc.complete(TranslationCompletion(0, 1, 0xBEEF))
    assert [r.page for r in out.responses] == [0xBEEF, 0xBEEF]
    assert atc.counters.treqs == 4 and atc.counters.fills == 1


def test_a_4k_translation_of_another_page_survives_an_invalidation_of_its_region_mate() -> None:
    """The livelock fix: unmapping page P does not discard a 4 KiB translation of page Q on
    its way, even in P's 2 MiB region; a 2 MiB region or global invalidation still does."""
    atc = Atc()
    atc.request(AtcRequest(1, 0x205))
    for itag in range(5):  # an unmap storm on the region's other pages
        atc.invalidate(InvalidateRequest(itag, 0x200 + itag, InvSize.PAGE))
    out = atc.complete(TranslationCompletion(0, 1, 0xBEEF))
    assert [(r.tag, r.page) for r in out.responses] == [(1, 0xBEEF)]
    assert out.translation_requests == [] and atc.counters.treqs == 1
    for page, size in ((0x206, InvSize.LARGE), (0x207, InvSize.ALL)):
        atc.request(AtcRequest(2, page))
        atc.invalidate(InvalidateRequest(6, 0x3FF, size))
        assert atc.pending()[0][2]  # any completion is thrown away
        assert atc.complete(TranslationCompletion(0, 1, 0xCAFE)).responses == []
        assert atc.complete(TranslationCompletion(0, 1, 0xCAFE)).responses[0].page == 0xCAFE


def test_tree_plru_replaces_in_bit_reversed_order_and_a_hit_protects() -> None:
    atc = Atc(entries=4, ways=4, large_entries=1)
    for page in range(4):
        fill(atc, page, 0x100 + page)
    atc.request(AtcRequest(0, 0))  # page 0 (way 0) most recently used
    fill(atc, 4, 0x104)  # replaces way 2 (page 2): the root points away from way 0
    assert {k for k, _ in atc.translations()} == {0, 1, 3, 4}
    plru = TreePlru(8)
    order = []
    for _ in range(8):
        order.append(plru.victim())
        plru.touch(order[-1])
    assert order == [0, 4, 2, 6, 1, 5, 3, 7]


def test_random_traffic_keeps_the_invariants() -> None:
    rng = random.Random(1)
    atc = Atc(entries=8, ways=2, large_entries=2, mshrs=3, waiters=2)
    responses = 0
    asked = 0
    for _ in range(3000):
        choice = rng.random()
        pending = atc.pending()
        if choice < 0.5 and atc.can_accept():
            out = atc.request(AtcRequest(rng.randrange(16), rng.randrange(2048), rng.randrange(2)))
        elif choice < 0.85 and pending:
            tag = rng.choice(list(pending))
            out = atc.complete(
                TranslationCompletion(
                    tag, rng.random() < 0.9, rng.randrange(1 << 20), rng.randrange(2)
                )
            )
        else:
            out = atc.invalidate(InvalidateRequest(0, rng.randrange(2048), rng.randrange(3)))
            assert out.invalidations[0].after == responses
        responses += len(out.responses)
        asked += len(out.translation_requests)
        assert len(atc.translations()) <= 8 + 2
    c = atc.counters
    assert c.treqs == asked and c.lookups == c.hits + c.misses
    assert responses + sum(w for _, w, _ in atc.pending().values()) == c.lookups


@pytest.mark.parametrize(
    "bad",
    [{"entries": 12}, {"ways": 3}, {"entries": 4, "ways": 8}, {"large_entries": 0}, {"mshrs": 0}],
)
def test_bad_geometry_is_refused(bad: dict[str, int]) -> None:
    with pytest.raises(ValueError):
        Atc(**bad)


def test_params_round_trip_through_info() -> None:
    params = AtcParams(entries=64, ways=2, large_entries=8, mshrs=5, waiters=3, inv_depth=7)
    assert AtcParams.from_info(params.info(), params.widths()) == params
    assert params.mshr_tag_width == 3 and AtcParams(mshrs=1).mshr_tag_width == 1


def test_port_formats_convert_to_and_from_the_cxl_io_messages() -> None:
    from slugsim.cxl import AtsInvalidationReq, AtsStatus, AtsTranslationCpl

    msg = TranslationRequest(3, 0x12345).to_message(requester_id=7)
    assert (msg.tag, msg.addr, msg.requester_id, msg.cxl_src) == (3, 0x12345000, 7, 1)
    cpl = AtsTranslationCpl(tag=3, addr=0x400000, read=1, write=0, page_shift=21, cxl_io=1)
    assert TranslationCompletion.from_message(cpl) == TranslationCompletion(3, 1, 0x400, 1, 1, 0, 1)
    failed = AtsTranslationCpl(tag=1, status=AtsStatus.UNSUPPORTED_REQUEST)
    assert TranslationCompletion.from_message(failed).ok == 0
    with pytest.raises(ValueError):
        TranslationCompletion.from_message(AtsTranslationCpl(page_shift=16))
    sizes = [
        InvalidateRequest.from_message(AtsInvalidationReq(itag=4, addr=0x5000, page_shift=s)).size
        for s in (12, 16, 21, 30)
    ]
    assert sizes == [InvSize.PAGE, InvSize.LARGE, InvSize.LARGE, InvSize.ALL]
    glob = AtsInvalidationReq(itag=4, global_=1)
    assert InvalidateRequest.from_message(glob).size == InvSize.ALL
    assert InvalidateCompletion(9).to_message().itag_vector == 1 << 9
