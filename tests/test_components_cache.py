"""LLC and HDM decoder behaviour."""

import pytest
from slugsim.components import HdmDecoder, Llc
from slugsim.fabric import SystemBuilder, TopologyError
from slugsim.fabric.params import HdmWindow, HostParams

HIT, CLEAN_MISS = -2, -1


def test_llc_hits_misses_and_lru_order():
    llc = Llc(size=4 * 64, ways=2)  # 2 sets x 2 ways
    assert llc.nsets == 2
    assert llc.access(0, False) == CLEAN_MISS
    assert llc.access(2, False) == CLEAN_MISS  # same set (even lines)
    assert llc.access(0, False) == HIT  # 0 becomes most recently used
    assert llc.access(4, False) == CLEAN_MISS  # evicts 2, the LRU
    assert llc.access(0, False) == HIT
    assert llc.access(2, False) == CLEAN_MISS
    assert (llc.hits, llc.misses) == (2, 4)


def test_dirty_victims_are_returned_for_writeback():
    llc = Llc(size=2 * 64, ways=1)  # 2 sets x 1 way
    assert llc.access(1, True) == CLEAN_MISS  # store miss: allocated dirty
    assert llc.access(3, False) == 1  # evicts dirty line 1
    assert llc.access(5, False) == CLEAN_MISS  # 3 was clean
    assert llc.access(5, True) == HIT  # a store hit dirties the line
    assert llc.access(7, False) == 5
    assert llc.writebacks == 2


def test_hdm_interleave_and_device_addresses():
    window = HdmWindow(base=1 << 40, size=1 << 30, targets=("m0", "m1", "m2"), granularity=256)
    dec = HdmDecoder([window], {"m0": 0, "m1": 1, "m2": 2})
    assert [dec.decode((1 << 40) + i * 256) for i in range(7)] == [0, 1, 2, 0, 1, 2, 0]
    assert dec.decode((1 << 40) + 255) == 0
    assert dec.decode((1 << 40) - 64) == -1
    assert dec.decode((1 << 40) + (1 << 30)) == -1
    for way in range(3):
        for offset in (0, 64, 255, 256, 4096 + 64):
            assert dec.decode(dec.device_address(window, way, offset)) == way


def test_the_builder_rejects_overlapping_windows_and_addresses_beyond_52_bits():
    # The decoder trusts validation for both (slugsim.fabric.validate).
    low = HdmWindow(base=64 << 30, size=1 << 30, targets=("m0",))
    overlapping = HdmWindow(base=(64 << 30) + (1 << 29), size=1 << 30, targets=("m0",))
    too_high = HdmWindow(base=(1 << 52) - (1 << 30), size=2 << 30, targets=("m0",))
    for windows, words in [((low, overlapping), "overlaps"), ((too_high,), "52-bit")]:
        builder = SystemBuilder().host("h", HostParams(hdm=windows)).type3("m0").link("h", "m0")
        with pytest.raises(TopologyError, match=words):
            builder.build()
