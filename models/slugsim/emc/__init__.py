"""The External Memory Controller: the recorder of Slug Architecture, and its trace files.

``csr``: the CSR map (the one source of truth, also of the generated RTL header, ``header``);
``model``: the transaction-level monitor model; ``probe``: that model on a simulator port;
``trace``: the trace file format.
"""

from .csr import COUNTERS, EmcCsr, EmcParams
from .model import EmcMonitorModel
from .probe import EmcProbe
from .trace import Trace, TraceError, TraceHeader, TraceWarning, TraceWriter, read_trace

__all__ = [
    "COUNTERS",
    "EmcCsr",
    "EmcMonitorModel",
    "EmcParams",
    "EmcProbe",
    "Trace",
    "TraceError",
    "TraceHeader",
    "TraceWarning",
    "TraceWriter",
    "read_trace",
]
