"""The cache (LRU, a coherence state per line, named results) and the HDM decoder."""

import pytest
from slugsim.components import Cache, HdmDecoder, Hit, HostParams, LineState, Miss
from slugsim.fabric import SystemBuilder, TopologyError
from slugsim.fabric.params import HdmWindow

E, M, S = LineState.EXCLUSIVE, LineState.MODIFIED, LineState.SHARED
INVALID = LineState.INVALID
COLD = Miss(None, INVALID)


def test_hits_misses_and_lru_order():
    cache = Cache(size=4 * 64, ways=2)  # 2 sets x 2 ways
    assert cache.nsets == 2
    assert cache.access(0, False) == COLD
    assert cache.access(2, False) == COLD  # same set (even lines)
    assert cache.access(0, False) == Hit(E)  # 0 becomes most recently used
    assert cache.access(4, False) == Miss(2, E)  # evicts 2, the LRU, clean
    assert cache.access(0, False) == Hit(E)
    assert cache.access(2, False) == Miss(4, E)
    assert (cache.hits, cache.misses, cache.evictions) == (2, 4, 2)


def test_modified_victims_are_named_for_writeback():
    cache = Cache(size=2 * 64, ways=1)  # 2 sets x 1 way
    assert cache.access(1, True) == COLD  # store miss: allocated Modified
    evicted = cache.access(3, False)
    assert evicted == Miss(1, M) and evicted.writeback
    assert not cache.access(5, False).writeback  # 3 was clean
    assert cache.access(5, True) == Hit(M)  # a store hit dirties the line
    assert cache.access(7, False) == Miss(5, M)
    assert cache.writebacks == 2


def test_states_per_line_for_coherence_controllers():
    cache = Cache(size=4 * 64, ways=2)
    cache.access(0, False)
    cache.access(2, False)
    cache.set_state(0, S)  # a snoop downgraded it; LRU order is kept
    assert cache.state(0) is S and cache.access(0, False) == Hit(S)
    assert cache.invalidate(2) is E and cache.state(2) is INVALID
    assert cache.invalidate(2) is INVALID  # absent: nothing to drop
    with pytest.raises(KeyError):
        cache.set_state(6, S)
    cache.set_state(0, INVALID)
    assert cache.lines() == 0


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
