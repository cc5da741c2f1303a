"""CXL.cache coherence: the host home agent, device caches and the snoop filter."""

from slugsim.coherence.snoop_filter import SfCounters, SfOp, SfResult, SnoopFilter, Victim

__all__ = ["SfCounters", "SfOp", "SfResult", "SnoopFilter", "Victim"]
