"""SnoopFilter.victim_for: the home agent's look at the way an allocation would take."""

from __future__ import annotations

from slugsim.coherence import SnoopFilter, Victim


def test_victim_for_names_what_allocate_would_replace_and_changes_nothing() -> None:
    sf = SnoopFilter(sets=2, ways=2, sharer_bits=2)
    assert sf.victim_for(0) is None  # free way
    sf.allocate(0, 0b01)
    sf.allocate(2, 0b10)
    assert sf.victim_for(2) is None  # present
    before = sf.key()
    peek = sf.victim_for(4)
    assert sf.key() == before and sf.counters.victims == 0
    assert peek == Victim(0, 0b01)  # way 0: way 1 was touched last
    assert sf.allocate(4, 0b01).victim == peek
    assert sf.victim_for(1) is None  # the other set is empty
